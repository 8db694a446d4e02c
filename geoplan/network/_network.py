"""The :class:`Network`: a road network as compact arrays (CSR), and the one place it is assembled.

A :class:`Network` holds a directed graph in CSR form (``indptr``/``indices``)
with two edge weights, ``length`` in metres and ``time`` in seconds, and node
coordinates in a projected CRS.  Every search in geoplan runs on this form with
:mod:`scipy.sparse.csgraph`; networkx is only an input/output format.

Builders live in :mod:`geoplan.network._build` (OSM, GraphML, networkx, online)
and :mod:`geoplan.network._lines` (road line layers); speeds in
:mod:`geoplan.network._speeds`; snapping in :mod:`geoplan.network._snap`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geoplan._errors import CRSError, InputError, NetworkError
from geoplan.network._speeds import DRIVE_ACCESS_KMH, WALK_SPEED_KMH

log = logging.getLogger("geoplan")

MODES = ("walk", "drive")


@dataclasses.dataclass(frozen=True, eq=False)
class Network:
    """A directed road network in compressed sparse row form.

    Attributes
    ----------
    indptr, indices
        CSR adjacency: the out-edges of node ``i`` are ``indices[indptr[i]:indptr[i+1]]``.
    length
        Edge length in metres, aligned with ``indices``.
    time
        Edge travel time in seconds, aligned with ``indices``.
    x, y
        Node coordinates in ``crs`` (metres).
    node_ids
        The nodes' original ids (OSM ids, GraphML ids...).
    crs
        A projected CRS (metres).
    mode
        ``"walk"`` or ``"drive"``.
    report
        What was done while building: nodes/edges read, dropped as not strongly
        connected, parallel edges merged, speeds assumed.
    edge_geometry
        Optional shapely LineStrings aligned with ``indices``, in ``crs``, each
        running from the edge's tail to its head (None when not kept: snapping
        then uses the straight line between the two nodes).
    snappable
        Optional booleans aligned with ``indices``: may a point (a building, a
        facility) be snapped onto this edge?  False for tunnels, underground
        layers/levels, indoor corridors and motorways — they stay routable but
        nobody enters the network there.  None means every edge.
    access_kmh
        Speed (km/h) for the straight stretch from a point to the road it is
        snapped to; default the walking speed on a walk network, 15 km/h (a
        service road) on a drive network.
    side_ways
        Ways kept only as snap targets: the slower of parallel edges (two ways
        joining the same two junctions) and self-loops (a way starting and ending
        at one junction).  Routing keeps the quickest parallel edge in the CSR,
        but a building beside the other way must still be snapped onto it.
        Columns ``u_id``, ``v_id`` (node ids: the table survives cutting the
        network), ``length``, ``time``, ``geometry`` (or None), ``snappable``.
    way_names
        Optional named ways, for addresses (the road beside a suggested site):
        columns ``name`` (OSM ``name``) and ``geometry`` (lines in ``crs``);
        None when the source has no names.
    """

    indptr: np.ndarray
    indices: np.ndarray
    length: np.ndarray
    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    node_ids: np.ndarray
    crs: pyproj.CRS
    mode: str
    report: dict = dataclasses.field(default_factory=dict)
    edge_geometry: np.ndarray | None = None
    snappable: np.ndarray | None = None
    access_kmh: float | None = None
    side_ways: pd.DataFrame | None = None
    way_names: pd.DataFrame | None = None

    @property
    def access_speed_kmh(self) -> float:
        """Speed of the access stretch from a point to the road (km/h)."""
        if self.access_kmh is not None:
            return float(self.access_kmh)
        if self.mode == "walk":
            return float(self.report.get("walk_speed_kmh", WALK_SPEED_KMH))
        return DRIVE_ACCESS_KMH

    def twins(self) -> np.ndarray:
        """For every edge u→v, the position of the edge v→u of the same road, -1 if none.

        Two edges are taken as the two directions of one road when they join the
        same nodes the other way round and have the same length (parallel roads
        between two nodes of different lengths stay separate one-way pieces).

        Returns
        -------
        ndarray of int64, shape (n_edges,)
            Edge position of the reverse edge, ``-1`` for a one-way edge.
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "twins" not in cache:
            from geoplan.network._kernels import reverse_edges  # numba: compiled on first use

            cache["twins"] = reverse_edges(self.indptr, self.indices, np.asarray(self.length, float))
        return cache["twins"]

    def ways(self) -> "_Ways":
        """Every snap target: the CSR edges (positions ``0 .. n_edges-1``) then the :attr:`side_ways`.

        Snap tables (:func:`snap`) name their ``edge`` by a position in this list,
        so the partial-edge arithmetic uses the snapped way's own length and time.

        Returns
        -------
        _Ways
            Tails, heads, twins, lengths and times of every way (cached).
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "ways" not in cache:
            cache["ways"] = _build_ways(self)
        return cache["ways"]

    def edge_lines(self) -> np.ndarray:
        """Edge geometries in ``crs`` (kept geometry, else straight lines), aligned with ``indices``.

        Returns
        -------
        ndarray of shapely.LineString, shape (n_edges,)
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "lines" not in cache:

            if self.edge_geometry is not None:
                cache["lines"] = np.asarray(self.edge_geometry, dtype=object)
            else:
                u, v = self.edge_arrays()
                coords = np.stack(
                    [np.column_stack([self.x[u], self.y[u]]), np.column_stack([self.x[v], self.y[v]])], axis=1
                )
                cache["lines"] = shapely.linestrings(coords)
        return cache["lines"]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.x)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (a two-way road counts twice)."""
        return len(self.indices)

    def csr(self, weight: str = "time", *, reverse: bool = False) -> sparse.csr_array:
        """The adjacency as a scipy CSR array weighted by ``"time"`` (s) or ``"length"`` (m).

        Parameters
        ----------
        weight
            ``"time"`` (seconds) or ``"length"`` (metres).
        reverse
            True gives the transposed graph (edges pointing the other way),
            for searches *towards* a set of nodes on a directed (drive) network.

        Returns
        -------
        scipy.sparse.csr_array, shape (n_nodes, n_nodes)
            Cached; do not modify it.

        Raises
        ------
        InputError
            ``weight`` is neither ``"time"`` nor ``"length"``.
        """
        if weight not in ("time", "length"):
            raise InputError(f"weight must be 'time' or 'length', not {weight!r}", field="weight")
        key = ("_csr", weight, reverse)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            data = self.time if weight == "time" else self.length
            m = sparse.csr_array((data, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))
            cache[key] = m.T.tocsr() if reverse else m
        return cache[key]

    def edge_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Tail and head node index of every edge (CSR order).

        Returns
        -------
        tails, heads : ndarray of int, shape (n_edges,)
        """
        tails = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        return tails, self.indices

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Nodes as a GeoDataFrame in the network's CRS (index = node position).

        Returns
        -------
        geopandas.GeoDataFrame
            Column ``node_id`` and point geometry.
        """
        return gpd.GeoDataFrame(
            {"node_id": self.node_ids},
            geometry=gpd.points_from_xy(self.x, self.y),
            crs=self.crs,
        )

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in the network's CRS (straight lines unless geometry was kept).

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``u``, ``v`` (node positions), ``length_m``, ``time_s``, ``snappable`` and line geometry.
        """
        u, v = self.edge_arrays()
        snappable = np.ones(self.n_edges, bool) if self.snappable is None else self.snappable
        return gpd.GeoDataFrame(
            {"u": u, "v": v, "length_m": self.length, "time_s": self.time, "snappable": snappable},
            geometry=self.edge_lines(),
            crs=self.crs,
        )

    def __repr__(self) -> str:
        return (
            f"Network(mode={self.mode!r}, nodes={self.n_nodes:,}, edges={self.n_edges:,}, "
            f"crs={self.crs.to_string()!r})"
        )


# --------------------------------------------------------------------------- helpers

@dataclasses.dataclass(frozen=True)
class _Shapes:
    """Where the shape of each way comes from, so shapes are made only for the ways asked about: the network's
    kept edge geometry (or a straight line between the end nodes), then the side ways' own lines."""

    n_csr: int
    edge_geometry: np.ndarray | None
    side_lines: np.ndarray
    x0: np.ndarray  # (n_csr,) tail x of each CSR edge, and so on
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray

    def lines_at(self, pos: np.ndarray) -> np.ndarray:
        """Shapely lines of the ways at positions ``pos``."""
        pos = np.asarray(pos, dtype=np.int64)
        out = np.empty(len(pos), dtype=object)
        side = pos >= self.n_csr
        out[side] = self.side_lines[pos[side] - self.n_csr]
        e = pos[~side]
        if self.edge_geometry is not None:
            out[~side] = self.edge_geometry[e]
        elif len(e):
            out[~side] = shapely.linestrings(np.stack(
                [np.column_stack([self.x0[e], self.y0[e]]), np.column_stack([self.x1[e], self.y1[e]])], axis=1))
        return out

    def coords(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vertices of the ways at ``pos`` in drawing order: ``(xy (V, 2), which (V,))``, ``which`` the index into
        ``pos``, non-decreasing.  Straight edges come from the node arrays: no shapely lines on a large network."""
        pos = np.asarray(pos, dtype=np.int64)
        straight = (pos < self.n_csr) if self.edge_geometry is None else np.zeros(len(pos), bool)
        i_st = np.flatnonzero(straight)
        e = pos[i_st]
        xy_st = np.stack([np.column_stack([self.x0[e], self.y0[e]]),
                          np.column_stack([self.x1[e], self.y1[e]])], axis=1).reshape(-1, 2)
        which_st = np.repeat(i_st, 2)
        i_sh = np.flatnonzero(~straight)
        if not len(i_sh):
            return xy_st, which_st
        xy_sh, k = shapely.get_coordinates(self.lines_at(pos[i_sh]), return_index=True)
        xy = np.concatenate([xy_st, xy_sh[:, :2]])
        which = np.concatenate([which_st, i_sh[k]])
        if len(i_st):  # both kinds: back into the order of pos (stable keeps each line's vertex order)
            o = np.argsort(which, kind="stable")
            xy, which = xy[o], which[o]
        return xy, which


@dataclasses.dataclass(frozen=True)
class _Ways:
    """Snap targets: CSR edges first (same positions), then the side ways (see :attr:`Network.side_ways`)."""

    tails: np.ndarray
    heads: np.ndarray
    length: np.ndarray
    time: np.ndarray
    shapes: _Shapes
    snappable: np.ndarray
    twin: np.ndarray  # position of the same way travelled the other way round, -1 if none
    copy: np.ndarray  # True for a side way drawn exactly like a way before it (a duplicated OSM way)

    def weights(self, weight: str) -> np.ndarray:
        return self.time if weight == "time" else self.length

    @functools.cached_property
    def lines(self) -> np.ndarray:
        """Every way's shapely line (made on first use: snapping works from :meth:`_Shapes.coords`)."""
        return self.shapes.lines_at(np.arange(len(self.tails)))


def _build_ways(net: Network) -> _Ways:

    tails, heads = net.edge_arrays()
    tails, heads = tails.astype(np.int64), heads.astype(np.int64)
    snappable = np.ones(net.n_edges, bool) if net.snappable is None else np.asarray(net.snappable, bool)
    side = net.side_ways

    def shapes(side_lines: np.ndarray) -> _Shapes:
        geometry = None if net.edge_geometry is None else np.asarray(net.edge_geometry, dtype=object)
        return _Shapes(net.n_edges, geometry, side_lines, net.x[tails], net.y[tails], net.x[heads], net.y[heads])

    if side is None or len(side) == 0:
        return _Ways(tails, heads, net.length, net.time, shapes(np.zeros(0, object)), snappable, net.twins(),
                     np.zeros(net.n_edges, bool))
    order = pd.Index(net.node_ids)
    su = order.get_indexer(side["u_id"].to_numpy())
    sv = order.get_indexer(side["v_id"].to_numpy())
    keep = (su >= 0) & (sv >= 0)  # a cut network (clipped, largest part) may have lost their nodes
    su, sv, side = su[keep], sv[keep], side[keep]
    geoms = side["geometry"].to_numpy(dtype=object).copy()
    missing = pd.isna(geoms)
    if missing.any():
        geoms[missing] = shapely.linestrings(np.stack(
            [np.column_stack([net.x[su[missing]], net.y[su[missing]]]),
             np.column_stack([net.x[sv[missing]], net.y[sv[missing]]])], axis=1))
    all_t = np.concatenate([tails, su])
    all_h = np.concatenate([heads, sv])
    length = np.concatenate([net.length, side["length"].to_numpy(float)])
    # Twins: the same way the other way round = reversed ends, same length (as Network.twins),
    # never itself (a two-way loop has both directions on the same pair of ends).
    frame = pd.DataFrame({"pos": np.arange(len(all_t)), "t": all_t, "h": all_h, "len": length})
    other = frame.rename(columns={"pos": "pos2", "t": "h", "h": "t", "len": "len2"})
    pairs = frame.merge(other, on=["t", "h"])
    # CSR edges keep Network.twins(); only pairs touching a side way are needed here.
    pairs = pairs[((pairs["pos"] >= net.n_edges) | (pairs["pos2"] >= net.n_edges))
                  & (pairs["pos"] != pairs["pos2"])
                  & np.isclose(pairs["len"], pairs["len2"], rtol=1e-9, atol=1e-6)]
    shape = shapes(geoms)
    # Two loops (or parallel ways) of equal length are still different ways: the shapes must
    # be each other reversed.
    same = shapely.equals_exact(shape.lines_at(pairs["pos"].to_numpy()),
                                shapely.reverse(shape.lines_at(pairs["pos2"].to_numpy())), tolerance=1e-6)
    pairs = pairs[same]
    pairs = pairs.sort_values(["pos", "pos2"], kind="stable").drop_duplicates("pos")
    twin = np.full(len(all_t), -1, np.int64)
    twin[pairs["pos"].to_numpy()] = pairs["pos2"].to_numpy()
    # A way drawn twice (same ends, same shape, same length): one snap target is enough, else
    # two points beside it may land on different copies and miss the stretch between them.
    same_dir = frame.merge(frame.rename(columns={"pos": "pos2", "len": "len2"}), on=["t", "h"])
    same_dir = same_dir[(same_dir["pos2"] < same_dir["pos"]) & (same_dir["pos"] >= net.n_edges)
                        & np.isclose(same_dir["len"], same_dir["len2"], rtol=1e-9, atol=1e-6)]
    copy = np.zeros(len(all_t), bool)
    if len(same_dir):
        eq = shapely.equals_exact(shape.lines_at(same_dir["pos"].to_numpy()),
                                  shape.lines_at(same_dir["pos2"].to_numpy()), tolerance=1e-6)
        copy[same_dir["pos"].to_numpy()[eq]] = True
    csr_twin = net.twins()
    twin[: net.n_edges] = np.where(csr_twin >= 0, csr_twin, twin[: net.n_edges])
    return _Ways(
        tails=all_t, heads=all_h, length=length,
        time=np.concatenate([net.time, side["time"].to_numpy(float)]),
        shapes=shape,
        snappable=np.concatenate([snappable, side["snappable"].to_numpy(bool)]),
        twin=twin,
        copy=copy,
    )


def _largest_part(n: int, u: np.ndarray, v: np.ndarray, report: dict) -> np.ndarray | None:
    """Nodes (boolean mask) of the largest strongly connected part, None when there is one part; noted in ``report``."""
    g = sparse.csr_array((np.ones(len(u)), (u, v)), shape=(n, n))
    ncomp, labels = csgraph.connected_components(g, directed=True, connection="strong")
    if ncomp > 1:
        sizes = np.bincount(labels)
        big = int(np.argmax(sizes))
        keep_nodes = labels == big
        report["components"] = int(ncomp)
        report["nodes_dropped_not_strongly_connected"] = int((~keep_nodes).sum())
        log.info(
            "kept the largest strongly connected part: %d of %d nodes (%d parts)",
            keep_nodes.sum(),
            n,
            ncomp,
        )
        return keep_nodes
    report["components"] = 1
    report["nodes_dropped_not_strongly_connected"] = 0
    return None


def _from_edge_table(
    node_ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    crs: pyproj.CRS,
    u_ids: np.ndarray,
    v_ids: np.ndarray,
    length: np.ndarray,
    speed_kmh: np.ndarray,
    *,
    mode: str,
    largest_component: bool,
    report: dict | None = None,
    edge_geometry: np.ndarray | None = None,
    snappable: np.ndarray | None = None,
    access_kmh: float | None = None,
    edge_names: np.ndarray | None = None,
) -> Network:
    """The one place a :class:`Network` is assembled: ids → positions, parallel edges, components.

    ``edge_geometry`` and ``snappable`` (optional, aligned with ``u_ids``) follow the edges
    through every filter.  ``edge_names`` (optional, aligned with ``u_ids``) become
    :attr:`Network.way_names`.
    """
    report = dict(report or {})
    way_names = _named_ways(edge_names, edge_geometry)
    if len(node_ids) == 0 or len(u_ids) == 0:
        raise NetworkError("the road network is empty (no nodes or no edges): check the area and the network mode")
    if pyproj.CRS(crs).is_geographic:
        raise CRSError("internal: network coordinates must be projected (metres) before assembly")
    node_ids = np.asarray(node_ids)
    order = pd.Index(node_ids)
    if order.has_duplicates:
        raise NetworkError("node ids are not unique")
    u = order.get_indexer(u_ids)
    v = order.get_indexer(v_ids)
    ok = (u >= 0) & (v >= 0)
    if (~ok).any():
        report["edges_dropped_unknown_node_or_loop"] = int((~ok).sum())
    length = np.asarray(length, dtype=float)
    speed_kmh = np.asarray(speed_kmh, dtype=float)
    bad = ~np.isfinite(length) | (length < 0) | ~np.isfinite(speed_kmh) | (speed_kmh <= 0)
    if (bad & ok).any():
        report["edges_dropped_bad_length_or_speed"] = int((bad & ok).sum())
    ok &= ~bad
    u, v, length, speed_kmh = u[ok], v[ok], length[ok], speed_kmh[ok]
    if edge_geometry is not None:
        edge_geometry = np.asarray(edge_geometry, dtype=object)[ok]
    if snappable is not None:
        snappable = np.asarray(snappable, dtype=bool)[ok]
    time = length / (speed_kmh / 3.6)
    n = len(node_ids)

    # Parallel edges: route on the quickest (sort by time, then take the first per (u, v)).
    # Self-loops never shorten a route.  Both stay snap targets (side_ways): a building
    # beside a footway parallel to a street, or beside a loop, enters the network there.
    key = u.astype(np.int64) * n + v
    srt = np.lexsort((time, key))
    first = np.ones(len(srt), dtype=bool)
    first[1:] = key[srt][1:] != key[srt][:-1]
    first &= u[srt] != v[srt]
    keep = srt[first]
    side = np.setdiff1d(np.arange(len(u)), keep)
    loops = int((u[side] == v[side]).sum())
    if len(side) - loops:
        report["parallel_edges_merged"] = int(len(side) - loops)
    if loops:
        report["loops_kept_for_snapping_only"] = loops
    side_ways = None
    if len(side):
        side_ways = pd.DataFrame({
            "u_id": node_ids[u[side]], "v_id": node_ids[v[side]], "length": length[side], "time": time[side],
            "geometry": edge_geometry[side] if edge_geometry is not None else np.full(len(side), None, object),
            "snappable": snappable[side] if snappable is not None else np.ones(len(side), bool),
        })
    keep = keep[np.argsort(key[keep], kind="stable")]  # CSR order: by tail, then head
    u, v, length, time = u[keep], v[keep], length[keep], time[keep]
    if edge_geometry is not None:
        edge_geometry = edge_geometry[keep]
    if snappable is not None:
        snappable = snappable[keep]

    report.setdefault("nodes_read", int(n))
    report.setdefault("edges_read", int(len(u_ids)))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if largest_component:
        keep_nodes = _largest_part(n, u, v, report)
        if keep_nodes is not None:
            newpos = np.full(n, -1, dtype=np.int64)
            newpos[keep_nodes] = np.arange(keep_nodes.sum())
            ek = keep_nodes[u] & keep_nodes[v]
            u, v, length, time = newpos[u[ek]], newpos[v[ek]], length[ek], time[ek]
            if edge_geometry is not None:
                edge_geometry = edge_geometry[ek]
            if snappable is not None:
                snappable = snappable[ek]
            node_ids, x, y = node_ids[keep_nodes], x[keep_nodes], y[keep_nodes]
            n = len(node_ids)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    index_dtype = np.int32 if n < 2**31 - 1 else np.int64
    report["nodes"] = int(n)
    report["edges"] = int(len(v))
    if snappable is not None:
        report["edges_not_snappable"] = int((~snappable).sum())
    return Network(
        indptr=indptr,
        indices=v.astype(index_dtype),
        length=length,
        time=time,
        x=x,
        y=y,
        node_ids=node_ids,
        crs=pyproj.CRS(crs),
        mode=mode,
        report=report,
        edge_geometry=edge_geometry,
        snappable=snappable,
        access_kmh=access_kmh,
        side_ways=side_ways,
        way_names=way_names,
    )


def _named_ways(names, geometry) -> pd.DataFrame | None:
    """The ways that have a name and a line, once each (both directions of a road are one way)."""
    if names is None or geometry is None:
        return None
    frame = pd.DataFrame({"name": np.asarray(names, dtype=object), "geometry": np.asarray(geometry, dtype=object)})
    frame = frame[frame["name"].map(lambda v: isinstance(v, str) and bool(v.strip())) & frame["geometry"].notna()]
    if frame.empty:
        return None
    frame = frame.assign(name=frame["name"].str.strip())
    key = frame["geometry"].map(lambda g: tuple(sorted((g.coords[0], g.coords[-1]))))
    return frame[~pd.DataFrame({"n": frame["name"], "k": key}).duplicated()].reset_index(drop=True)

