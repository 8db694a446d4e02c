"""Service areas (the polygon each facility reaches within its cutoff) and the two-step floating catchment (2SFCA)."""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import contourpy
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geoplan._errors import InputError
from geoplan._fork import fork_map, started
from geoplan.network._network import Network
from geoplan.network._snap import snap

from geoplan.coverage._engine import _is_points, od_matrix, reachable_nodes
from geoplan.coverage._raster import mark_cells, marked_distance

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

log = logging.getLogger("geoplan")


#: Grid cells per buffer width for ``method="grid"`` (cell = ``buffer_m / GRID_CELLS_PER_BUFFER``).
GRID_CELLS_PER_BUFFER = 5
#: Largest grid (cells) for one area; a larger reach gets coarser cells (per-type areas of wide districts).
MAX_GRID_CELLS = 6_000_000  # about 60 bytes a cell at the peak (distance transform): ~360 MB
METHODS = ("grid", "edges", "hull")


def service_areas(
    net: Network,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff: float,
    weight: str = "time",
    nodes: pd.DataFrame | ArrayLike | None = None,
    buffer_m: float | None = None,
    method: str = "grid",
) -> gpd.GeoDataFrame:
    """Service-area polygons: the part of the network within ``cutoff`` of each facility.

    Parameters
    ----------
    net
        The network.
    facilities
        GeoDataFrame of facilities (index kept).
    cutoff
        Largest cost inside the area (seconds or metres, per ``weight``).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    nodes
        Their snap table (:func:`geoplan.network.snap`; default: snapped here) or node positions.
    buffer_m
        Half-width of the polygon around reachable roads (default 50 m walk, 150 m drive).
    method
        ``"grid"`` (default): the ground within ``buffer_m`` of the road segments whose both ends are
        reachable, traced on a raster of cells ``buffer_m / 5`` wide (a distance transform, then filled
        contours; tens of times faster than ``"edges"``, and wherever the two differ the point lies within about
        two cells of the exact boundary — holes smaller than a few cells, gaps of a few m² between buffered
        roads, are filled, so the outlines' Hausdorff distance can be larger); ``"edges"``: the exact
        union of the buffered segments; ``"hull"``: a concave hull of reachable nodes (coarse).

    Returns
    -------
    geopandas.GeoDataFrame
        Index aligned to ``facilities``; a polygon in the network CRS (empty if nothing reachable).
    """
    polys, _, _ = _areas(net, facilities, cutoff=cutoff, weight=weight, nodes=nodes, buffer_m=buffer_m, method=method)
    return gpd.GeoDataFrame(geometry=polys, index=facilities.index, crs=net.crs)


def type_areas(
    net: Network,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff: float,
    nodes: pd.DataFrame | ArrayLike | None = None,
    buffer_m: float | None = None,
) -> tuple[gpd.GeoDataFrame, shapely.Geometry]:
    """The service areas of one facility type: per facility (grid) and dissolved, from one reach search.

    The dissolved area is traced once on one grid over every segment any facility reaches (not as
    the union of the per-facility polygons, which is slow for hundreds of facilities).

    Parameters
    ----------
    net
        The network.
    facilities
        GeoDataFrame of the type's facilities.
    cutoff
        Largest cost inside the area (seconds).
    nodes
        Their snap table (:func:`geoplan.network.snap`) or node positions.
    buffer_m
        Half-width around reachable roads (default 50 m walk, 150 m drive).

    Returns
    -------
    per_facility : geopandas.GeoDataFrame
        As :func:`service_areas`.
    dissolved : shapely.Geometry
        The type's area in the network CRS.
    """
    polys, edges, points = _areas(net, facilities, cutoff=cutoff, weight="time", nodes=nodes, buffer_m=buffer_m,
                                  method="grid", dissolved=True)
    return (gpd.GeoDataFrame(geometry=polys, index=facilities.index, crs=net.crs),
            _dissolved_area(net, edges, points, buffer_m))


def measured_areas(per_type: list[tuple[str, Network, gpd.GeoDataFrame, pd.DataFrame, float]],
                   crs) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The service areas of :func:`geoplan.coverage.assess`: per facility and per type, in ``crs``.

    Parameters
    ----------
    per_type
        ``(type key, network, facilities with an id column, their snap table, cutoff in seconds)`` per type.
    crs
        The CRS of the result (walk and drive graphs may fall in different UTM zones).

    Returns
    -------
    per_facility : geopandas.GeoDataFrame
        ``facility_id``, ``type``, geometry (index of the facilities).
    by_type : geopandas.GeoDataFrame
        ``type``, geometry: each type's dissolved area (:func:`type_areas`).
    """
    with areas_begun(per_type) as areas:
        return areas.result(crs)


#: Below this many facilities in all, the types' areas are traced in this process (a fork costs more).
PARALLEL_MIN_FACILITIES = 200
#: Facilities per task when the areas are shared out (a few tasks per type, so neither process waits long).
CHUNK_FACILITIES = 125


class _Begun:
    """The areas of :func:`areas_begun`: ``result(crs)`` as :func:`measured_areas` returns them."""

    def __init__(self, per_type: list, chunks: list[tuple[int, slice]], work):
        self._per_type, self._chunks, self._work = per_type, chunks, work

    def result(self, crs) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        parts = self._work.results()
        per_type = self._per_type
        if not per_type:
            return (gpd.GeoDataFrame({"facility_id": [], "type": []}, geometry=[], crs=crs),
                    gpd.GeoDataFrame({"type": []}, geometry=[], crs=crs))
        mine = [[p for (k, _), p in zip(self._chunks, parts) if k == t] for t in range(len(per_type))]
        # each type's dissolved area from every segment any of its facilities reaches (the union of the chunks')
        wholes = fork_map([functools.partial(_dissolved_area, net, [p[1] for p in ps],
                                             np.concatenate([p[2] for p in ps]), None)
                           for (_, net, _, _, _), ps in zip(per_type, mine)], workers=self._work.workers)
        rows, type_rows = [], []
        for (key, net, fac, _, _), ps, whole in zip(per_type, mine, wholes):
            sa = gpd.GeoDataFrame(geometry=[g for p in ps for g in p[0]], index=fac.index, crs=net.crs)
            sa = sa.to_crs(crs) if sa.crs != crs else sa
            sa["facility_id"] = fac["id"].to_numpy()
            sa["type"] = key
            rows.append(sa)
            type_rows.append({"type": key, "geometry": gpd.GeoSeries([whole], crs=net.crs).to_crs(crs).iloc[0]})
        return pd.concat(rows), gpd.GeoDataFrame(type_rows, geometry="geometry", crs=crs)


def _chunks(per_type: list) -> list[tuple[int, slice]]:
    """(type position, facility slice) of each task: every type in pieces of about ``CHUNK_FACILITIES``."""
    out = []
    for t, (_, _, fac, _, _) in enumerate(per_type):
        n = max(1, round(len(fac) / CHUNK_FACILITIES))
        bounds = np.linspace(0, len(fac), n + 1).round().astype(int)
        out += [(t, slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
    return out


@contextmanager
def areas_begun(per_type: list[tuple[str, Network, gpd.GeoDataFrame, pd.DataFrame, float]]) -> Iterator[_Begun]:
    """:func:`measured_areas`, begun now in a forked child (:func:`geoplan._fork.started`) beside the caller's next
    steps; ``.result(crs)`` gives them (this process takes the pieces the child has not begun)."""
    chunks = _chunks(per_type)
    tasks = [functools.partial(_areas, per_type[t][1], per_type[t][2].iloc[part], cutoff=per_type[t][4], weight="time",
                               nodes=per_type[t][3].iloc[part], buffer_m=None, method="grid", dissolved=True)
             for t, part in chunks]
    few = sum(len(t[2]) for t in per_type) < PARALLEL_MIN_FACILITIES
    with started(tasks, workers=1 if few else None) as work:
        yield _Begun(per_type, chunks, work)


def _areas(net: Network, facilities, *, cutoff: float, weight: str, nodes, buffer_m: float | None, method: str,
           dissolved: bool = False) -> tuple[list, np.ndarray | None, np.ndarray | None]:
    """Per-facility polygons and (when ``dissolved``) what the dissolved area is traced from: the reached
    edges (CSR positions) and the facilities' own points (:func:`_dissolved_area`)."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}", field="method")
    buffer_m = _buffer(net, buffer_m)
    if nodes is None:
        nodes = snap(net, facilities)
    reach = reachable_nodes(net, nodes, cutoff=cutoff, weight=weight, towards=True) if len(facilities) else []
    # The snapped point itself belongs to its area (a facility may sit mid-edge, far from a node).
    here = (np.column_stack([nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)])
            if _is_points(nodes) and "x" in nodes else None)
    tails = net.edge_arrays()[0]
    # a two-way road is one segment: keep one of its two edges (fewer samples, same ground)
    keep = (net.twins() < 0) | (tails < net.indices)
    mask = np.zeros(net.n_nodes, bool)
    used = np.zeros(net.n_edges, bool) if dissolved else None
    polys, all_points = [], []
    for k, r in enumerate(reach):
        e = _reached_edges(net, r, mask, keep)
        # points of their own: the snapped point, else (no segment) the first reached node, as "edges" does
        pts = (here[k:k + 1] if here is not None
               else np.column_stack([net.x[r[:1]], net.y[r[:1]]]) if len(e) == 0 else np.zeros((0, 2)))
        segs = _segments(net, e, tails)
        if dissolved:
            used[e] = True
            all_points.append(pts)
        if method == "grid":
            polys.append(_grid_area(*segs, pts, buffer_m))
        elif method == "hull":
            hull = shapely.concave_hull(shapely.multipoints(np.column_stack([net.x[r], net.y[r]])), ratio=0.3)
            polys.append(_with_points(hull.buffer(buffer_m), here[k:k + 1] if here is not None else None, buffer_m))
        else:
            polys.append(_exact_area(*segs, pts, buffer_m))
    if not dissolved:
        return polys, None, None
    return polys, np.flatnonzero(used), np.concatenate(all_points) if all_points else np.zeros((0, 2))


def _dissolved_area(net: Network, edges: np.ndarray | list[np.ndarray], points: np.ndarray, buffer_m: float | None):
    """A type's area traced once on one grid over the reached ``edges`` (CSR positions; several arrays: their
    union) and ``points`` (of :func:`_areas`)."""
    if isinstance(edges, list):
        used = np.zeros(net.n_edges, bool)
        for e in edges:
            used[e] = True
        edges = np.flatnonzero(used)
    tails = net.edge_arrays()[0]
    return _grid_area(*_segments(net, edges, tails), points, _buffer(net, buffer_m))


def _buffer(net: Network, buffer_m: float | None) -> float:
    """``buffer_m``, or the default half-width around reachable roads: 50 m walk, 150 m drive."""
    return (50.0 if net.mode == "walk" else 150.0) if buffer_m is None else buffer_m


def _segments(net: Network, e: np.ndarray, tails: np.ndarray) -> tuple[np.ndarray, ...]:
    """Straight pieces ``(ax, ay, bx, by)`` of the edges ``e``: each edge's own shape where the network keeps one.

    A network read from a planner's road lines keeps curved edges between junctions; their chord would
    put the area across the fields (OSM edges are already straight pieces).
    """
    chords = (net.x[tails[e]], net.y[tails[e]], net.x[net.indices[e]], net.y[net.indices[e]])
    if net.edge_geometry is None or len(e) == 0:
        return chords
    lines = np.asarray(net.edge_lines(), dtype=object)[e]
    missing = pd.isna(lines)
    coords, idx = shapely.get_coordinates(lines[~missing], return_index=True)
    inner = idx[1:] == idx[:-1]  # consecutive vertices of one line
    a, b = coords[:-1][inner], coords[1:][inner]
    return tuple(np.concatenate([c[missing], d]) for c, d in zip(chords, (a[:, 0], a[:, 1], b[:, 0], b[:, 1])))


def _reached_edges(net: Network, r: np.ndarray, mask: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """CSR positions of the ``keep`` edges whose both ends are in ``r`` (``mask``: all False, left so)."""
    if len(r) == 0:
        return np.zeros(0, np.int64)
    mask[r] = True
    lo, hi = net.indptr[r], net.indptr[r + 1]
    n = hi - lo
    # the out-edges of every reached node, as one array of CSR positions
    e = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
    e = e[mask[net.indices[e]] & keep[e]]
    mask[r] = False
    return e


def _with_points(poly, pts: np.ndarray | None, buffer_m: float):
    """``poly`` with a disc of ``buffer_m`` around each point."""
    if pts is None or not len(pts):
        return poly
    return shapely.union_all([poly, *shapely.buffer(shapely.points(pts), buffer_m)])


def _exact_area(ax, ay, bx, by, pts: np.ndarray, buffer_m: float):
    """The exact method: union of the buffered segments (quad_segs=4) and discs around ``pts``."""
    if len(ax) == 0:
        return _with_points(shapely.Polygon(), pts, buffer_m)
    lines = shapely.linestrings(np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], axis=1))
    return _with_points(shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4)), pts, buffer_m)


def _grid_area(ax, ay, bx, by, pts: np.ndarray, buffer_m: float):
    """Ground within ``buffer_m`` of the segments ``(ax, ay)–(bx, by)`` and the points ``pts``, on a raster.

    Cells on a lattice anchored at multiples of the cell size (the same cells for every facility);
    a cell is marked when a sample of a segment (spaced at most half a cell) or a point falls in it;
    each cell centre's distance to the nearest marked centre (the Euclidean distance transform,
    :mod:`geoplan.coverage._raster`), and the filled contour ``distance <= buffer_m`` (interpolated
    between centres) is the area.
    """
    if len(ax) == 0 and len(pts) == 0:
        return shapely.Polygon()
    xs = np.concatenate([ax, bx, pts[:, 0]])
    ys = np.concatenate([ay, by, pts[:, 1]])
    cell = buffer_m / GRID_CELLS_PER_BUFFER
    span = (xs.max() - xs.min() + 2 * buffer_m) * (ys.max() - ys.min() + 2 * buffer_m)
    if span / cell**2 > MAX_GRID_CELLS:  # a very wide reach (a district's dissolved area): coarser cells
        cell = float(np.sqrt(span / MAX_GRID_CELLS))
        log.info("service area: %.0f km² traced on %.1f m cells", span / 1e6, cell)
    pad = buffer_m + 2 * cell
    i0 = np.floor((xs.min() - pad) / cell)
    j0 = np.floor((ys.min() - pad) / cell)
    nx = int(np.ceil((xs.max() + pad) / cell) - i0) + 1
    ny = int(np.ceil((ys.max() + pad) / cell) - j0) + 1
    # cells holding a sample of a segment (at most half a cell apart) or a point, then each cell centre's
    # distance to the nearest of them (the Euclidean distance transform)
    c = np.ascontiguousarray
    marked = mark_cells(c(ax, float), c(ay, float), c(bx, float), c(by, float), c(pts[:, 0], float),
                        c(pts[:, 1], float), cell, i0, j0, nx, ny)
    dist = marked_distance(marked, nx, ny, cell)
    # traced in cell units, then moved to cell centres in metres (contourpy's own set-up cost twice the tracing)
    ix, iy = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    gen = contourpy.SerialContourGenerator(ix, iy, dist, None, corner_mask=True, line_type=contourpy.LineType.Separate,
                                           fill_type=contourpy.FillType.OuterOffset, quad_as_tri=False,
                                           z_interp=contourpy.ZInterp.Linear)
    points, offsets = gen.filled(-1.0, buffer_m)
    points = [(p + (i0 + 0.5, j0 + 0.5)) * cell for p in points]
    # marching squares puts a vertex on every cell edge it crosses; a 0.2-cell simplification drops two thirds
    # of them (smaller layers and maps) and stays inside the bound the tests check (2.27 + 2 × 0.2 < 2.7 cells: a
    # ring's start point may move by twice the tolerance, tests/test_service_grid.py)
    return _polygons(points, offsets, simplify=0.2 * cell)


def _polygons(points: list[np.ndarray], offsets: list[np.ndarray], *, simplify: float = 0.0):
    """Shapely (Multi)Polygon from contourpy's OuterOffset output (each outer ring followed by its holes).

    ``simplify`` > 0: each ring Douglas-Peucker simplified by that tolerance first (a ring that collapses is
    left out, a shell with its holes), and the polygons repaired where that made them invalid.  GEOS's own
    polygon simplification repairs with ``buffer(0)``, three times slower than ``make_valid`` on a district's
    area with 2,000 holes, to the same result.
    """
    if not points:
        return shapely.Polygon()
    coords = np.concatenate(points)
    ring_len = np.concatenate([np.diff(o) for o in offsets])
    rings = shapely.linearrings(coords, indices=np.repeat(np.arange(len(ring_len)), ring_len))
    owner = np.repeat(np.arange(len(points)), [len(o) - 1 for o in offsets])
    if simplify > 0:
        rings = shapely.simplify(rings, simplify, preserve_topology=False)
        kept = (shapely.get_type_id(rings) == shapely.GeometryType.LINEARRING) & (shapely.get_num_coordinates(rings) >= 4)
        shell = np.r_[True, owner[1:] != owner[:-1]]
        kept &= kept[shell][owner]  # a hole goes with its shell (owner numbers the shells 0, 1, 2, ...)
        if not kept.any():
            return shapely.Polygon()
        rings, owner = rings[kept], np.cumsum(shell[kept]) - 1
    polys = shapely.polygons(rings, indices=owner)
    area = polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))
    if simplify <= 0 or shapely.is_valid(area):
        return area
    fixed = shapely.make_valid(area, method="structure", keep_collapsed=False)
    if shapely.get_type_id(fixed) in (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON):
        return fixed
    whole = _polygons(points, offsets)  # not expected: the slower simplification that keeps the topology
    return shapely.simplify(whole, simplify, preserve_topology=True)


def two_step_fca(
    net: Network,
    supply_nodes: ArrayLike | pd.DataFrame,
    supply: ArrayLike,
    demand_nodes: ArrayLike | pd.DataFrame,
    demand: ArrayLike,
    *,
    cutoff: float,
    weight: str = "time",
) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) accessibility per demand point.

    Step 1: each facility's supply-to-demand ratio ``R_j = S_j / sum(P_k for k within cutoff of j)``.
    Step 2: each demand point's accessibility ``A_i = sum(R_j for j within cutoff of i)``
    (Luo & Wang 2003).  With beds as supply and people aged 60+ as demand, ``A_i × 1000`` is
    beds per 1,000 elderly reachable.

    Parameters
    ----------
    net
        The network.
    supply_nodes, demand_nodes
        Node positions or snap tables (:func:`geoplan.network.snap`; door-to-door costs) of the
        facilities and of the demand points.
    supply, demand
        Capacity per facility and population per demand point (NaN counts as 0).
    cutoff
        Catchment size (seconds or metres, per ``weight``).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).

    Returns
    -------
    ndarray of float
        Accessibility aligned to ``demand_nodes``; 0 where no facility is within reach.
    """
    supply = np.nan_to_num(np.asarray(supply, dtype=float))
    demand = np.nan_to_num(np.asarray(demand, dtype=float))
    m = od_matrix(net, supply_nodes, demand_nodes, cutoff=cutoff, weight=weight, towards=True, progress=False)
    reach = sparse.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)  # 1 where within cutoff
    pop_in_reach = reach @ demand
    ratio = np.divide(supply, pop_in_reach, out=np.zeros_like(supply), where=pop_in_reach > 0)
    return reach.T @ ratio
