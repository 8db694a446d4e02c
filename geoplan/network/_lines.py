"""Road networks from the line layers planners actually have.

Bureaus often get road centre-lines from the natural-resources bureau or a
survey as a Shapefile, GeoPackage or CAD (DXF) export: lines that cross
without sharing a vertex, tiny gaps at junctions, duplicated segments, no
direction or speed.  Taken as they are such layers fall apart into many
disconnected pieces.  This module reads them, nodes and repairs them, maps
their attributes, and returns an osmnx-style graph plus a report of every
change so a planner can check it.  Reading, CRS and attribute columns live in
:mod:`geoplan.network._lines_read`, noding in :mod:`geoplan.network._noding`, the
repair and connectivity reports in :mod:`geoplan.network._lines_report`; this
module builds the graph.

Main functions
--------------
- :func:`read_lines` — any layer pyogrio/GDAL reads (Shapefile, GeoPackage,
  GeoJSON, DXF...).
- :func:`graph_from_lines` — noded, repaired ``networkx.MultiDiGraph`` in
  osmnx form and a :class:`RepairReport`.
- :func:`network_from_lines` — the same as a compact
  :class:`geoplan.network.Network` for coverage and site suggestion.
- :func:`components_report` — connected parts and the points that fall on
  small ones.

Attribute mapping
-----------------
Columns are found by name (case-insensitive), or given with ``field_map``:

============  ==========================================================
attribute     column names recognised
============  ==========================================================
``highway``   道路等级, 等级, 道路类型, 道路类别, 公路等级, highway, fclass,
              class, road_class, roadclass
``name``      名称, 路名, 道路名称, 道路名, name, road_name, roadname
``oneway``    单行, 单向, 单行线, 是否单行, oneway, one_way
``maxspeed``  限速, 车速, 设计车速, 设计速度, 速度, maxspeed, speed,
              speed_kph, speedlimit
============  ==========================================================

Road class values are mapped to OSM ``highway`` classes by
:data:`CLASS_VALUES` (高速公路→motorway, 快速路→trunk, 主干路→primary,
次干路→secondary, 支路→tertiary, 国道/省道/县道/乡道/村道, 街巷, 步行街...);
OSM class names pass through; anything else becomes ``"road"`` and is
counted in the report.  One-way values: 是/单行/正向/yes/true/1/Y/T → along
the line, 反向/逆向/-1/reverse → against it, 否/双向/双行/no/false/0/N → both
ways (a Geofabrik-style column holding only F/T/B means F = along, T =
against, B = both).  Speeds come from the speed column where readable, else
the class default (:data:`geoplan.network._speeds.DRIVE_SPEEDS_KMH`, the one table
also used for OSM; overridable with
``defaults``).  Walking graphs ignore one-way.
"""


from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geoplan._errors import CRSError, InputError, NetworkError
from geoplan.network._build import from_networkx
from geoplan.network._lines_read import (  # noqa: F401 - the rest re-exported for the deprecated geoplan.lines
    CLASS_VALUES, FIELD_NAMES, NODE_TOLERANCE_M, NOT_DRIVABLE, NOT_WALKABLE, SNAP_TOLERANCE_M, _attributes,
    _level_codes, _shift_datum, geodesic_lengths, metric_crs, oneway_direction, read_lines, road_class,
)
from geoplan.network._lines_report import (  # noqa: F401 - the rest re-exported for the deprecated geoplan.lines
    ComponentsReport, RepairReport, components_report, graph_to_gdfs, _repairs_layer, save_graph,
)
from geoplan.network._network import MODES
from geoplan.network._noding import node_lines
from geoplan.network._repairs import Repair
from geoplan.network._speeds import DRIVE_SPEEDS_KMH, parse_speed  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from pathlib import Path

    from geoplan.network._network import Network

log = logging.getLogger("geoplan")

#: The one speed table (:data:`geoplan.network._speeds.DRIVE_SPEEDS_KMH`), under its old name here.
DEFAULT_SPEEDS_KMH = DRIVE_SPEEDS_KMH


# --------------------------------------------------------------------------- building


def _prepare(lines, drop_non_lines: bool):
    """Validate geometry; explode multi-parts; return (gdf of LineStrings, repairs, counts)."""

    if isinstance(lines, gpd.GeoSeries):
        lines = gpd.GeoDataFrame(geometry=lines)
    if not isinstance(lines, gpd.GeoDataFrame):
        raise InputError(f"expected a GeoDataFrame of road lines, got {type(lines).__name__}")
    if lines.crs is None:
        raise CRSError("the road layer has no CRS; set it (gdf.set_crs(...)) or pass crs= to read_lines")
    if len(lines) == 0:
        raise InputError("the road layer is empty: no features")
    gdf = lines.copy()
    gdf["_src_label"] = lines.index
    gdf = gdf.reset_index(drop=True)
    geom = gdf.geometry
    repairs: list[Repair] = []
    counts = {"lines_read": int(len(gdf))}
    empty = geom.isna() | geom.is_empty
    counts["empty_dropped"] = int(empty.sum())
    for lab in gdf.loc[empty, "_src_label"]:
        repairs.append(Repair("empty_dropped", None, lab))
    gdf = gdf[~empty]
    types = gdf.geom_type
    is_line = types.isin(["LineString", "MultiLineString", "LinearRing"])
    if not is_line.any():
        found = ", ".join(f"{t} × {k}" for t, k in types.value_counts().items()) or "nothing"
        raise InputError(f"the layer has no lines (found {found}): a road network needs LineStrings")
    if (~is_line).any():
        bad = gdf.loc[~is_line]
        found = ", ".join(f"{t} × {k}" for t, k in bad.geom_type.value_counts().items())
        if not drop_non_lines:
            raise InputError(
                f"the layer mixes lines with other geometry ({found}); pass drop_non_lines=True "
                "(CLI: --drop-non-lines) to leave those out",
                row=bad["_src_label"].iloc[0],
                field="geometry",
            )
        for lab, g in zip(bad["_src_label"], bad.geometry):
            repairs.append(Repair("non_line_dropped", g, lab, detail=g.geom_type))
        counts["non_line_dropped"] = int(len(bad))
        gdf = gdf[is_line]
    gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.to_numpy()), crs=gdf.crs)
    parts = gdf.explode(index_parts=False, ignore_index=True)
    counts["parts_after_explode"] = int(len(parts))
    return parts, repairs, counts


def _projected_parts(lines, *, drop_non_lines: bool, datum: str | None, crs: Any):
    """Single-part lines in the CRS to compute in: (parts, repairs, counts, CRS, why that CRS)."""
    parts, repairs, counts = _prepare(lines, drop_non_lines)
    if datum is not None:
        parts = _shift_datum(parts, datum)
    if crs is None:
        target, note = metric_crs(parts.crs, parts.total_bounds)
    else:
        target = pyproj.CRS.from_user_input(crs)
        if not target.is_projected:
            raise CRSError(f"crs must be a projected CRS in metres, got {target.name}", field="crs")
        note = "given"
    if pyproj.CRS(parts.crs) != target:
        parts = parts.to_crs(target)
    return parts, repairs, counts, target, note


def _naive_components(geoms: np.ndarray) -> int:

    if len(geoms) == 0:
        return 0
    a = shapely.get_coordinates(shapely.get_point(geoms, 0))
    b = shapely.get_coordinates(shapely.get_point(geoms, -1))
    _, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(geoms)
    k = inv.max() + 1
    g = sparse.coo_array((np.ones(m), (inv[:m], inv[m:])), shape=(k, k))
    return int(csgraph.connected_components(g, directed=False)[0])


def _components(noded, seg_len: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Connected parts of the undirected segment graph: (table, part per node with 0 = largest, number of parts)."""
    nn = len(noded.node_xy)
    g = sparse.coo_array((np.ones(len(noded.u)), (noded.u, noded.v)), shape=(nn, nn))
    ncomp, comp = csgraph.connected_components(g, directed=False)
    comp_df = (
        pd.DataFrame({"c": comp[noded.u], "len": seg_len})
        .groupby("c")
        .agg(edges=("len", "size"), length_m=("len", "sum"))
    )
    comp_df["nodes"] = np.bincount(comp, minlength=ncomp)[comp_df.index]
    comp_df = comp_df.sort_values(["nodes", "length_m"], ascending=False)
    rank = np.empty(ncomp, dtype=np.int64)
    rank[comp_df.index.to_numpy()] = np.arange(ncomp)  # 0 = largest
    comp_df = comp_df.reset_index(drop=True)
    comp_df.insert(0, "component", np.arange(ncomp))
    comp_df = comp_df[["component", "nodes", "edges", "length_m"]]
    comp = rank[comp]
    return comp_df, comp, ncomp


def _to_graph(noded, attrs: pd.DataFrame, keep_seg: np.ndarray, comp: np.ndarray, seg_len: np.ndarray,
              src_labels: np.ndarray, *, crs, mode: str, counts: dict):
    """The osmnx-style MultiDiGraph of the kept segments (both directions unless one-way on a drive graph)."""
    target = crs
    G = nx.MultiDiGraph(crs=target, mode=mode, created_by="geoplan.lines.graph_from_lines")
    used_nodes = np.unique(np.r_[noded.u[keep_seg], noded.v[keep_seg]])
    for i in used_nodes:
        G.add_node(int(i), x=float(noded.node_xy[i, 0]), y=float(noded.node_xy[i, 1]), component=int(comp[i]))
    a = attrs.to_dict("records")
    n_oneway = 0
    rev_geoms = shapely.reverse(noded.segments)
    for k in np.flatnonzero(keep_seg):
        u, v = int(noded.u[k]), int(noded.v[k])
        row = a[noded.source[k]]
        geom = noded.segments[k]
        d = {
            "length": float(seg_len[k]),
            "highway": row["highway"],
            "name": row["name"],
            "speed_kph": float(row["speed_kph"]),
            "source_row": src_labels[noded.source[k]],
            "segment": int(k),
        }
        if math.isfinite(row["maxspeed"]):
            d["maxspeed"] = float(row["maxspeed"])
        direction = int(row["direction"]) if mode == "drive" else 0
        oneway = direction != 0
        n_oneway += oneway
        if direction in (0, 1):
            G.add_edge(u, v, **d, oneway=oneway, reversed=False, geometry=geom)
        if direction in (0, -1):
            G.add_edge(v, u, **d, oneway=oneway, reversed=True, geometry=rev_geoms[k])
    counts["oneway_segments"] = int(n_oneway)
    return G


def graph_from_lines(
    lines: gpd.GeoDataFrame | gpd.GeoSeries | str | Path,
    *,
    mode: str = "walk",
    datum: str | None = None,
    node_tolerance: float = NODE_TOLERANCE_M,
    snap_tolerance: float = SNAP_TOLERANCE_M,
    level_col: str | Sequence[str] | None = None,
    field_map: Mapping[str, str] | None = None,
    defaults: Mapping[str, float] | None = None,
    largest_component: bool = False,
    drop_non_lines: bool = False,
    crs: Any = None,
    layer: str | int | None = None,
) -> tuple[nx.MultiDiGraph, RepairReport]:
    """Build a noded, repaired road graph (osmnx form) from a line layer.

    Parameters
    ----------
    lines
        GeoDataFrame (or GeoSeries) of LineStrings/MultiLineStrings with a CRS:
        any projected or geographic CRS, e.g. CGCS2000 Gauss–Krüger
        (EPSG:4526–4554), UTM, WGS-84; or a path, read with :func:`read_lines`.
    mode
        ``"walk"`` (every line two-way; motorways left out) or ``"drive"``
        (one-way respected; footways/paths left out).
    datum
        ``"gcj02"``/``"bd09"`` when lon/lat are in a shifted Chinese datum (they
        are moved to WGS-84 first); ``None`` to trust the CRS.
    node_tolerance
        Ends closer than this (m) are one node, silently (coordinate noise).
    snap_tolerance
        Gaps up to this size (m) are closed: dead ends (line ends meeting no
        other line; copies of one line count as one) are moved onto the
        nearest other end, then onto the nearest line (splitting it).  An end
        that already lies on another line (a T junction as drawn) is not
        moved.  An end is never moved onto a place it already reaches along
        the lines within twice this distance, so roads drawn as many short
        pieces do not fold up.  Every move is reported.  0 disables snapping
        (ends within ``node_tolerance`` of a line are still joined).
    level_col
        Column(s) giving the vertical level (e.g. ``"layer"``, ``["bridge",
        "tunnel"]``, ``"层级"``).  Lines whose level values differ are not
        joined where their interiors cross (bridges, tunnels), and ends are
        snapped only to ends and lines of their own level (a footway end near
        a tunnel stays where it is).  Ends that touch a line (within
        ``node_tolerance``) still connect whatever the levels, as drawn (a
        ramp landing on a road).  ``None``: every crossing is a junction.
    field_map
        Override the column used for ``"highway"`` (road class), ``"name"``,
        ``"oneway"``, ``"maxspeed"``; ``None`` as a value means "no such column".
    defaults
        Driving speed (km/h) per ``highway`` class where the layer gives none,
        merged over :data:`DEFAULT_SPEEDS_KMH` (e.g. ``{"residential": 20}``).
    largest_component
        Keep only the largest connected part; dropped segments go to the repairs layer.
    drop_non_lines
        Leave out points/polygons mixed into the layer (reported) instead of raising.
    crs
        Metric CRS to compute in; default: the layer's own when it is metric and
        undistorted, else the UTM zone (see :func:`metric_crs`).
    layer
        Layer to read when ``lines`` is a path to a multi-layer file.

    Returns
    -------
    G : networkx.MultiDiGraph
        Nodes ``x``, ``y``, ``component``; edges ``length`` (m on the
        WGS-84 ellipsoid, :func:`geodesic_lengths`), ``highway``,
        ``oneway`` (bool), ``reversed``, ``name``, ``speed_kph``, ``maxspeed``
        (only where the layer gives one), ``geometry`` (in ``G.graph["crs"]``),
        ``source_row`` (input index label), ``segment``.  ``G.graph["crs"]`` is
        projected (metres).  Walk graphs have both directions of every segment.
    report : RepairReport

    Raises
    ------
    CRSError
        The layer has no CRS, or ``crs`` is not projected.
    InputError
        No lines, lines mixed with other geometry (without ``drop_non_lines``),
        bad options or unknown columns.
    NetworkError
        Nothing usable is left after repair.

    Notes
    -----
    Over 120 lines only because of this parameter reference: the code is the
    sequence of steps, each in a helper (``_projected_parts``, ``node_lines``,
    ``_components``, ``_to_graph``, ``_repairs_layer``).
    """

    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, not {mode!r}", field="mode")
    if isinstance(lines, (str, os.PathLike)):
        lines = read_lines(lines, layer=layer)
    for nm, v in (("node_tolerance", node_tolerance), ("snap_tolerance", snap_tolerance)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise InputError(f"{nm} must be a non-negative number of metres, got {v!r}", field=nm)
    parts, repairs, counts, target, note = _projected_parts(lines, drop_non_lines=drop_non_lines, datum=datum, crs=crs)
    levels = _level_codes(parts, level_col)
    attrs, acounts, info = _attributes(parts, mode, field_map, defaults)
    counts.update(acounts)
    excluded = NOT_DRIVABLE if mode == "drive" else NOT_WALKABLE
    usable = ~attrs["highway"].isin(excluded).to_numpy()
    counts[f"not_{mode}able_left_out"] = int((~usable).sum())
    if not usable.any():
        raise NetworkError(f"no line in the layer can be used for {mode} (all classes are {sorted(excluded)})")
    parts = parts[usable]
    attrs = attrs[usable]
    if levels is not None:
        levels = levels[usable]
    geoms = parts.geometry.to_numpy()
    naive = _naive_components(geoms[shapely.length(geoms) > 0])

    noded = node_lines(geoms, level=levels, node_tolerance=node_tolerance, snap_tolerance=snap_tolerance)
    counts.update({k: v for k, v in noded.counts.items()})
    src_labels = parts["_src_label"].to_numpy()
    for r in noded.repairs:
        r.source_row = src_labels[r.source_row] if isinstance(r.source_row, (int, np.integer)) and r.source_row >= 0 else r.source_row
    repairs.extend(noded.repairs)
    if len(noded.segments) == 0:
        raise NetworkError("no usable line is left after dropping empty, zero-length and duplicate lines")

    # ground lengths: planar lengths in the projected CRS are off by its scale factor
    seg_len = geodesic_lengths(noded.segments, target)
    comp_df, comp, ncomp = _components(noded, seg_len)

    keep_seg = np.ones(len(noded.segments), bool)
    if largest_component and ncomp > 1:
        keep_seg = comp[noded.u] == 0
        for k in np.flatnonzero(~keep_seg):
            repairs.append(Repair("small_component_dropped", noded.segments[k], src_labels[noded.source[k]],
                                  float(seg_len[k]), f"component {comp[noded.u[k]]}"))
        counts["small_component_dropped"] = int((~keep_seg).sum())

    G = _to_graph(noded, attrs, keep_seg, comp, seg_len, src_labels, crs=target, mode=mode, counts=counts)
    counts["nodes"] = G.number_of_nodes()
    counts["edges"] = G.number_of_edges()
    counts["components"] = int(ncomp)

    rep_gdf = _repairs_layer(repairs, lines.crs, target)
    info.update(
        mode=mode,
        node_tolerance_m=node_tolerance,
        snap_tolerance_m=snap_tolerance,
        level_col=level_col,
        datum=datum,
    )
    report = RepairReport(counts, rep_gdf, comp_df, naive, target, note, info)
    log.debug("%s", report)
    return G, report


def network_from_lines(
    lines: gpd.GeoDataFrame | gpd.GeoSeries | str | Path,
    *,
    mode: str = "walk",
    walk_speed_kmh: float | None = None,
    largest_component: bool = True,
    **kwargs: Any,
) -> Network:
    """Build a compact :class:`geoplan.network.Network` from a line layer.

    Runs :func:`graph_from_lines` (all keyword options pass through) and then
    :func:`geoplan.network.from_networkx`, so coverage and site suggestion run
    on it exactly as on an OSM network.

    Parameters
    ----------
    lines
        The road layer (see :func:`graph_from_lines`).
    mode
        ``"walk"`` or ``"drive"``.
    walk_speed_kmh
        Walking speed; default :data:`geoplan.network.WALK_SPEED_KMH`.
    largest_component
        Keep only the largest connected part (default True, as for OSM networks).
    **kwargs
        Passed to :func:`graph_from_lines`.

    Returns
    -------
    geoplan.network.Network
        ``network.report["lines"]`` holds the repair counts and
        ``network.report["repairs"]`` the :class:`RepairReport`.
    """
    G, report = graph_from_lines(lines, mode=mode, largest_component=largest_component, **kwargs)
    opts = {} if walk_speed_kmh is None else {"walk_speed_kmh": walk_speed_kmh}
    net = from_networkx(G, mode=mode, largest_component=largest_component, **opts)
    net.report["lines"] = dict(report.counts)
    net.report["repairs"] = report
    return net


__all__ = [
    "CLASS_VALUES",
    "DEFAULT_SPEEDS_KMH",
    "FIELD_NAMES",
    "ComponentsReport",
    "RepairReport",
    "components_report",
    "graph_from_lines",
    "geodesic_lengths",
    "graph_to_gdfs",
    "metric_crs",
    "network_from_lines",
    "read_lines",
    "save_graph",
]
