"""Road networks as compact arrays, built from OSM files, GraphML, osmnx or networkx.

A :class:`Network` holds a directed graph in CSR form (``indptr``/``indices``)
with two edge weights, ``length`` in metres and ``time`` in seconds, and node
coordinates in a projected CRS.  Every search in geoplan runs on this form with
:mod:`scipy.sparse.csgraph`; networkx is only an input/output format.

Builders
--------
- :func:`from_osm_file` — ``.osm.pbf`` (pyrosm) or ``.osm``/``.xml`` (osmnx), offline.
- :func:`from_graphml` — a GraphML file saved by osmnx.
- :func:`from_place`, :func:`from_polygon` — download with osmnx (online).
- :func:`from_networkx` — any osmnx-style MultiDiGraph.

Edge lengths are ellipsoidal (WGS-84) metres along each way (pyproj ``Geod``).
Each edge also says whether a point may be snapped onto it (:func:`surface_edges`:
not tunnels, underground or indoor ways, motorways); :func:`snap` puts points on
the nearest point of such an edge, and :mod:`geoplan.coverage` counts the access
stretch and the partial edge in every travel time.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyproj
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geoplan._errors import CRSError, InputError, NetworkError
from geoplan.io._crs import utm_crs

log = logging.getLogger("geoplan")

MODES = ("walk", "drive")

#: Default walking speed in km/h (osmnx examples use 4.5; DESIGN.md §2: 4.5–5 in the field,
#: r5r uses 3.6 for the elderly).
WALK_SPEED_KMH = 4.5

#: Default driving speeds in km/h by OSM ``highway`` class, used where ``maxspeed`` is absent.
#: Source: typical Chinese urban design speeds (CJJ 37-2012 城市道路工程设计规范: 快速路 60–100,
#: 主干路 40–60, 次干路 30–50, 支路 20–40), taking the lower-middle value for planning.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 30.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "motorway_link": 40.0,
    "trunk_link": 40.0,
    "primary_link": 30.0,
    "secondary_link": 30.0,
    "tertiary_link": 25.0,
}
_FALLBACK_DRIVE_KMH = 25.0

#: Speed (km/h) of the access stretch from a point to its road on a drive network (a service road's).
DRIVE_ACCESS_KMH = 15.0

#: The ellipsoid every edge length is measured on (OSM coordinates are WGS-84).
GEOD = pyproj.Geod(ellps="WGS84")


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
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "twins" not in cache:
            tails, heads = self.edge_arrays()
            n = np.int64(self.n_nodes)
            key = tails.astype(np.int64) * n + heads
            rkey = heads.astype(np.int64) * n + tails
            # CSR edges are sorted by (tail, head) and unique: binary search for the reverse key.
            pos = np.searchsorted(key, rkey)
            pos = np.minimum(pos, len(key) - 1)
            ok = key[pos] == rkey
            ok &= np.isclose(self.length[pos], self.length, rtol=1e-9, atol=1e-6)
            cache["twins"] = np.where(ok, pos, -1).astype(np.int64)
        return cache["twins"]

    def ways(self) -> "_Ways":
        """Every snap target: the CSR edges (positions ``0 .. n_edges-1``) then the :attr:`side_ways`.

        Snap tables (:func:`snap`) name their ``edge`` by a position in this list,
        so the partial-edge arithmetic uses the snapped way's own length and time.
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "ways" not in cache:
            cache["ways"] = _build_ways(self)
        return cache["ways"]

    def edge_lines(self) -> np.ndarray:
        """Edge geometries in ``crs`` (kept geometry, else straight lines), aligned with ``indices``."""
        cache = self.__dict__.setdefault("_cache", {})
        if "lines" not in cache:
            import shapely

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
        return len(self.x)

    @property
    def n_edges(self) -> int:
        return len(self.indices)

    def csr(self, weight: str = "time", *, reverse: bool = False) -> sparse.csr_array:
        """The adjacency as a scipy CSR array weighted by ``"time"`` (s) or ``"length"`` (m).

        ``reverse=True`` gives the transposed graph (edges pointing the other way),
        for searches *towards* a set of nodes on a directed (drive) network.
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
        """Tail and head node index of every edge (CSR order)."""
        tails = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        return tails, self.indices

    def nodes_gdf(self):
        """Nodes as a GeoDataFrame in the network's CRS (index = node position)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {"node_id": self.node_ids},
            geometry=gpd.points_from_xy(self.x, self.y),
            crs=self.crs,
        )

    def edges_gdf(self):
        """Edges as a GeoDataFrame in the network's CRS (straight lines unless geometry was kept)."""
        import geopandas as gpd

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
class _Ways:
    """Snap targets: CSR edges first (same positions), then the side ways (see :attr:`Network.side_ways`)."""

    tails: np.ndarray
    heads: np.ndarray
    length: np.ndarray
    time: np.ndarray
    lines: np.ndarray
    snappable: np.ndarray
    twin: np.ndarray  # position of the same way travelled the other way round, -1 if none
    copy: np.ndarray  # True for a side way drawn exactly like a way before it (a duplicated OSM way)

    def weights(self, weight: str) -> np.ndarray:
        return self.time if weight == "time" else self.length


def _build_ways(net: Network) -> _Ways:
    import shapely

    tails, heads = net.edge_arrays()
    tails, heads = tails.astype(np.int64), heads.astype(np.int64)
    snappable = np.ones(net.n_edges, bool) if net.snappable is None else np.asarray(net.snappable, bool)
    side = net.side_ways
    if side is None or len(side) == 0:
        return _Ways(tails, heads, net.length, net.time, net.edge_lines(), snappable, net.twins(),
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
    lines = np.concatenate([np.asarray(net.edge_lines(), dtype=object), geoms])
    # Two loops (or parallel ways) of equal length are still different ways: the shapes must
    # be each other reversed.
    same = shapely.equals_exact(lines[pairs["pos"].to_numpy()],
                                shapely.reverse(lines[pairs["pos2"].to_numpy()]), tolerance=1e-6)
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
        eq = shapely.equals_exact(lines[same_dir["pos"].to_numpy()], lines[same_dir["pos2"].to_numpy()],
                                  tolerance=1e-6)
        copy[same_dir["pos"].to_numpy()[eq]] = True
    csr_twin = net.twins()
    twin[: net.n_edges] = np.where(csr_twin >= 0, csr_twin, twin[: net.n_edges])
    return _Ways(
        tails=all_t, heads=all_h, length=length,
        time=np.concatenate([net.time, side["time"].to_numpy(float)]),
        lines=lines,
        snappable=np.concatenate([snappable, side["snappable"].to_numpy(bool)]),
        twin=twin,
        copy=copy,
    )



def _parse_speed(value: Any) -> float:
    """OSM ``maxspeed`` to km/h; NaN when absent or unreadable ("30", "50 mph", "30;40", "CN:urban")."""
    if value is None:
        return math.nan
    if isinstance(value, (list, tuple)):
        speeds = [_parse_speed(v) for v in value]
        speeds = [s for s in speeds if not math.isnan(s)]
        return min(speeds) if speeds else math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if v > 0 else math.nan
    text = str(value).strip().lower()
    if not text or text == "nan":
        return math.nan
    parts = re.split(r"[;|,]", text)
    speeds = []
    for part in parts:
        m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?\s*$", part)
        if m:
            v = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
            if v > 0:
                speeds.append(v)
    return min(speeds) if speeds else math.nan


def _highway_class(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).split(";")[0].strip()


def _drive_speeds(highway: pd.Series, maxspeed: pd.Series | None, speeds: Mapping[str, float]) -> tuple[np.ndarray, int]:
    """Speed in km/h per edge: OSM maxspeed where readable, else by highway class. Returns (speeds, n_assumed)."""
    by_class = highway.map(lambda h: speeds.get(_highway_class(h), _FALLBACK_DRIVE_KMH)).to_numpy(float)
    if maxspeed is None:
        return by_class, len(by_class)
    parsed = np.array([_parse_speed(v) for v in maxspeed], dtype=float)
    have = ~np.isnan(parsed)
    return np.where(have, parsed, by_class), int((~have).sum())


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
) -> Network:
    """The one place a :class:`Network` is assembled: ids → positions, parallel edges, components.

    ``edge_geometry`` and ``snappable`` (optional, aligned with ``u_ids``) follow the edges
    through every filter.
    """
    report = dict(report or {})
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
        else:
            report["components"] = 1
            report["nodes_dropped_not_strongly_connected"] = 0
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
    )


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, not {mode!r}", field="mode")
    return mode


def _edge_speeds(
    mode: str,
    highway: pd.Series,
    maxspeed: pd.Series | None,
    *,
    walk_speed_kmh: float,
    drive_speeds: Mapping[str, float] | None,
    report: dict,
) -> np.ndarray:
    if mode == "walk":
        if not walk_speed_kmh > 0:
            raise InputError(f"walk speed must be positive, got {walk_speed_kmh}", field="walk_speed_kmh")
        report["walk_speed_kmh"] = float(walk_speed_kmh)
        return np.full(len(highway), float(walk_speed_kmh))
    speeds = dict(DRIVE_SPEEDS_KMH)
    speeds.update(drive_speeds or {})
    kmh, assumed = _drive_speeds(highway, maxspeed, speeds)
    report["edges_speed_from_class"] = assumed
    return kmh


def _project_lonlat(lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS | None = None):
    if crs is None:
        crs = utm_crs(float(np.nanmedian(lon)), float(np.nanmedian(lat)))
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x), np.asarray(y), pyproj.CRS(crs)


def _oneway_flags(oneway: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(forward allowed, backward allowed) from OSM ``oneway`` values."""
    s = oneway.astype("string").str.strip().str.lower().fillna("no")
    fwd_only = s.isin(["yes", "true", "1"]).to_numpy()
    rev_only = s.isin(["-1", "reverse"]).to_numpy()
    return ~rev_only, ~fwd_only


# --------------------------------------------------------------------------- edge geometry, lengths, snap rules


def _geod_lengths(lines_lonlat: np.ndarray) -> np.ndarray:
    """Ellipsoidal (WGS-84) length in metres of each lon/lat LineString, vectorised."""
    import shapely

    coords, idx = shapely.get_coordinates(np.asarray(lines_lonlat, dtype=object), return_index=True)
    out = np.zeros(len(lines_lonlat))
    if len(coords) < 2:
        return out
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return np.bincount(idx[:-1][same], weights=d, minlength=len(lines_lonlat))


def _transform_lines(lines: np.ndarray, src: Any, dst: Any) -> np.ndarray:
    """Reproject an array of geometries in one vectorised pass."""
    import shapely

    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(
        np.asarray(lines, dtype=object), lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
    )


def _orient_lines(lines: np.ndarray, ux, uy, vx, vy) -> np.ndarray:
    """Lines made to run from (ux, uy) to (vx, vy): reversed where they start nearer the head."""
    import shapely

    lines = np.asarray(lines, dtype=object)
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    d_u = np.hypot(first[:, 0] - ux, first[:, 1] - uy)
    d_v = np.hypot(first[:, 0] - vx, first[:, 1] - vy)
    flip = d_v < d_u
    if flip.any():
        lines = lines.copy()
        lines[flip] = shapely.reverse(lines[flip])
    return lines


#: OSM ``highway`` classes nobody enters from a building, per mode (still routable).
NO_SNAP_HIGHWAY: dict[str, frozenset[str]] = {
    "walk": frozenset({"motorway", "motorway_link", "trunk_link", "corridor", "elevator"}),
    "drive": frozenset({"motorway", "motorway_link", "trunk_link"}),
}
#: ``tunnel`` values that are still at street level (a passage through a building).
_SURFACE_TUNNEL = frozenset({"", "no", "false", "0", "building_passage", "avalanche_protector"})


def _tag_text(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[key].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                          else (";".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)).strip().lower())


def _any_negative(text: pd.Series) -> np.ndarray:
    """True where a ``layer``/``level`` value has a negative part ("-1", "-3;-2", "0;-1")."""
    nums = text.str.extractall(r"(-?\d+(?:\.\d+)?)")
    out = np.zeros(len(text), bool)
    if len(nums):
        neg = nums[0].astype(float).lt(0).groupby(level=0).any()
        out[text.index.get_indexer(neg.index[neg.to_numpy()])] = True
    return out


def surface_edges(tags: pd.DataFrame, mode: str) -> np.ndarray:
    """Default snap rule: True for edges a point may be snapped onto.

    Not snappable: ``tunnel`` other than no/building_passage, a negative ``layer``
    or ``level``, ``indoor`` ways, ``location=underground``, and the
    :data:`NO_SNAP_HIGHWAY` classes of the mode (motorways, trunk links;
    indoor corridors and lifts for walking).  These ways stay in the network for
    routing: a pedestrian may still use an underpass, but a building is entered
    from the street above it.

    Parameters
    ----------
    tags
        One row per edge with any of the columns ``highway``, ``tunnel``,
        ``layer``, ``level``, ``indoor``, ``location`` (missing columns are
        taken as absent tags).
    mode
        ``"walk"`` or ``"drive"``.
    """
    tags = tags.reset_index(drop=True)
    highway = _tag_text(tags, "highway").map(lambda h: h.split(";")[0].strip().strip("[]'\""))
    tunnel = _tag_text(tags, "tunnel")
    indoor = _tag_text(tags, "indoor")
    location = _tag_text(tags, "location")
    bad = np.array(highway.isin(NO_SNAP_HIGHWAY.get(mode, frozenset())), dtype=bool)
    bad |= ~tunnel.isin(_SURFACE_TUNNEL).to_numpy()
    bad |= ~indoor.isin({"", "no", "false", "0"}).to_numpy()
    bad |= location.isin({"underground", "underwater"}).to_numpy()
    bad |= _any_negative(_tag_text(tags, "layer"))
    bad |= _any_negative(_tag_text(tags, "level"))
    return ~bad


#: Tags the snap rule reads; asked from pyrosm as extra attributes.
SNAP_TAGS = ("highway", "tunnel", "layer", "level", "indoor", "location")


def _snap_rule(snap_to: Any, tags: pd.DataFrame, mode: str) -> np.ndarray:
    if snap_to is None or (isinstance(snap_to, str) and snap_to == "surface"):
        return surface_edges(tags, mode)
    if isinstance(snap_to, str) and snap_to == "all":
        return np.ones(len(tags), bool)
    if callable(snap_to):
        out = np.asarray(snap_to(tags.reset_index(drop=True), mode), dtype=bool)
        if out.shape != (len(tags),):
            raise InputError(f"snap_to must give one True/False per edge ({len(tags)}), got shape {out.shape}",
                             field="snap_to")
        return out
    raise InputError(f"snap_to must be 'surface', 'all' or a function (tags, mode) -> bool array, not {snap_to!r}",
                     field="snap_to")


# --------------------------------------------------------------------------- builders


def from_osm_file(
    path: str | Path,
    *,
    mode: str = "walk",
    walk_speed_kmh: float = WALK_SPEED_KMH,
    drive_speeds: Mapping[str, float] | None = None,
    largest_component: bool = True,
    bounding_box: Any = None,
    crs: Any = None,
    snap_to: Any = "surface",
) -> Network:
    """Build a network from an OpenStreetMap file, offline.

    Edge lengths are ellipsoidal (WGS-84) metres along each way's geometry
    (pyproj ``Geod``), not pyrosm's or osmnx's spherical figures, which are
    0.2–0.4 % short.  The edge geometry is kept (projected) for snapping.

    Parameters
    ----------
    path
        ``.osm.pbf`` (read with pyrosm) or ``.osm``/``.xml`` (read with osmnx).
    mode
        ``"walk"`` (all ways walkable, both directions) or ``"drive"`` (one-way
        streets respected; OSM ``maxspeed`` where present, else
        :data:`DRIVE_SPEEDS_KMH` by ``highway`` class).
    walk_speed_kmh
        Walking speed.
    drive_speeds
        Overrides of the per-class driving speeds (km/h).
    largest_component
        Keep only the largest strongly connected part; what was dropped is in
        ``network.report``.
    bounding_box
        Optional ``[minx, miny, maxx, maxy]`` in lon/lat or a shapely polygon, passed to pyrosm.
    crs
        Projected CRS to compute in; default the UTM zone of the data.
    snap_to
        Which edges points may be snapped onto: ``"surface"`` (default,
        :func:`surface_edges`: no tunnels, underground layers/levels, indoor
        ways, motorways), ``"all"``, or a function ``(tags DataFrame, mode) ->
        bool array``.  Edges left out stay routable.

    Raises
    ------
    InputError
        The file is missing.
    NetworkError
        The file is not readable OSM data, or holds no roads for the mode.
    """
    _check_mode(mode)
    path = Path(path)
    if not path.exists():
        raise InputError("OSM file not found", file=path)
    if path.is_dir() or path.stat().st_size == 0:
        raise NetworkError(f"{path}: the OSM file is empty" if not path.is_dir() else f"{path} is a folder, not an OSM file")
    name = path.name.lower()
    if not name.endswith(".pbf"):
        import osmnx as ox

        # osmnx keeps only its "useful" way tags: add the ones the snap rule reads, for this read only.
        saved = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = list(dict.fromkeys(saved + list(SNAP_TAGS)))
        try:
            G = ox.graph_from_xml(path, simplify=True, retain_all=True, bidirectional=(mode == "walk"))
        except Exception as exc:  # XML parse errors, no data elements, bad encoding...
            raise NetworkError(f"{path}: cannot read this as OSM XML ({type(exc).__name__}: {exc})") from exc
        finally:
            ox.settings.useful_tags_way = saved
        if G.number_of_edges() == 0:
            raise NetworkError(f"{path}: no {mode} roads in the file")
        net = from_networkx(
            G,
            mode=mode,
            walk_speed_kmh=walk_speed_kmh,
            drive_speeds=drive_speeds,
            largest_component=largest_component,
            crs=crs,
            lengths="geodesic",
            snap_to=snap_to,
        )
        net.report["source"] = str(path)
        return net
    import pyrosm

    network_type = "walking" if mode == "walk" else "driving"
    try:
        osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
        nodes, edges = osm.get_network(
            network_type=network_type, nodes=True, extra_attributes=[t for t in SNAP_TAGS if t not in ("highway", "tunnel")]
        )
    except Exception as exc:  # pyrosm: InvalidOSMFileError, or a parse error deep in its reader
        raise NetworkError(f"{path}: cannot read this as an OSM PBF file ({type(exc).__name__}: {exc})") from exc
    if nodes is None or edges is None or len(edges) == 0:
        raise NetworkError(f"{path}: no {mode} roads in the file (or in the bounding box)")
    report: dict = {"source": str(path), "length": "ellipsoidal (WGS-84, pyproj Geod)"}
    x, y, pcrs = _project_lonlat(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float), crs)
    geom = edges.geometry.to_numpy()
    has_geom = ~(pd.isna(geom))
    length = edges["length"].to_numpy(float).copy()
    length[has_geom] = _geod_lengths(geom[has_geom])
    report["length_pyrosm_m"] = float(edges["length"].to_numpy(float).sum())
    report["length_ellipsoidal_m"] = float(length.sum())
    maxspeed = edges["maxspeed"] if "maxspeed" in edges else None
    highway = edges["highway"] if "highway" in edges else pd.Series([""] * len(edges))
    kmh = _edge_speeds(mode, highway, maxspeed, walk_speed_kmh=walk_speed_kmh, drive_speeds=drive_speeds, report=report)
    snappable = _snap_rule(snap_to, pd.DataFrame(edges[[c for c in SNAP_TAGS if c in edges.columns]]), mode)
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    # Projected geometry running from u to v (pyrosm's does; _orient_lines makes sure).
    pos = pd.Index(nodes["id"].to_numpy())
    iu, iv = pos.get_indexer(u), pos.get_indexer(v)
    known = (iu >= 0) & (iv >= 0)
    lines = np.full(len(edges), None, dtype=object)
    proj = _transform_lines(geom[has_geom & known], 4326, pcrs)
    lines[has_geom & known] = _orient_lines(
        proj, x[iu[has_geom & known]], y[iu[has_geom & known]], x[iv[has_geom & known]], y[iv[has_geom & known]]
    )
    straight = ~has_geom & known
    if straight.any():
        import shapely

        lines[straight] = shapely.linestrings(
            np.stack([np.column_stack([x[iu[straight]], y[iu[straight]]]),
                      np.column_stack([x[iv[straight]], y[iv[straight]]])], axis=1)
        )
    if mode == "walk":
        fwd = np.ones(len(edges), bool)
        bwd = fwd
    else:
        oneway = edges["oneway"] if "oneway" in edges else pd.Series(["no"] * len(edges))
        fwd, bwd = _oneway_flags(oneway)
    uu = np.concatenate([u[fwd], v[bwd]])
    vv = np.concatenate([v[fwd], u[bwd]])
    ll = np.concatenate([length[fwd], length[bwd]])
    ss = np.concatenate([kmh[fwd], kmh[bwd]])
    gg = np.concatenate([lines[fwd], _reverse_lines(lines[bwd])])
    sn = np.concatenate([snappable[fwd], snappable[bwd]])
    return _from_edge_table(
        nodes["id"].to_numpy(),
        x,
        y,
        pcrs,
        uu,
        vv,
        ll,
        ss,
        mode=mode,
        largest_component=largest_component,
        report=report,
        edge_geometry=gg,
        snappable=sn,
    )


def from_networkx(
    G,
    *,
    mode: str = "walk",
    walk_speed_kmh: float = WALK_SPEED_KMH,
    drive_speeds: Mapping[str, float] | None = None,
    largest_component: bool = True,
    crs: Any = None,
    keep_geometry: bool = True,
    lengths: str = "auto",
    snap_to: Any = "surface",
) -> Network:
    """Convert an osmnx-style networkx graph to a :class:`Network`.

    The graph needs node attributes ``x``, ``y`` and ``G.graph["crs"]``.
    Speeds: ``speed_kph`` when present, else OSM ``maxspeed``, else by
    ``highway`` class (drive); the walking speed (walk).  Undirected graphs are
    taken as two-way.  Geographic coordinates are projected to ``crs``
    (default: the data's UTM zone).

    Parameters
    ----------
    keep_geometry
        Keep each edge's geometry (projected; a straight line where the edge has
        none) for snapping points onto the road.
    lengths
        ``"auto"``: ellipsoidal (WGS-84) metres along the geometry when the graph
        is in lon/lat (osmnx's own ``length`` is spherical), the edge ``length``
        attribute when the graph is projected (planar length where missing);
        ``"geodesic"``: always ellipsoidal from the geometry; ``"given"``: the
        ``length`` attribute (planar where missing).
    snap_to
        Which edges points may be snapped onto: see :func:`from_osm_file`.
    """
    import shapely

    _check_mode(mode)
    if lengths not in ("auto", "geodesic", "given"):
        raise InputError(f"lengths must be 'auto', 'geodesic' or 'given', not {lengths!r}", field="lengths")
    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise NetworkError("the road network is empty (no nodes or no edges)")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise CRSError("the graph has no CRS (G.graph['crs']); set it to the CRS of the node x/y coordinates")
    gcrs = pyproj.CRS(gcrs)
    node_ids = np.array(list(G.nodes), dtype=object)
    try:
        node_ids = node_ids.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        pass
    xs = np.array([d.get("x", np.nan) for _, d in G.nodes(data=True)], dtype=float)
    ys = np.array([d.get("y", np.nan) for _, d in G.nodes(data=True)], dtype=float)
    if np.isnan(xs).any() or np.isnan(ys).any():
        raise NetworkError("some nodes lack x/y coordinates")
    if gcrs.is_geographic:
        x, y, pcrs = _project_lonlat(xs, ys, crs)
    elif crs is not None and pyproj.CRS(crs) != gcrs:
        tr = pyproj.Transformer.from_crs(gcrs, crs, always_xy=True)
        x, y = tr.transform(xs, ys)
        pcrs = pyproj.CRS(crs)
    else:
        x, y, pcrs = xs, ys, gcrs
    pos = {nid: i for i, nid in enumerate(G.nodes)}
    directed = G.is_directed()
    us, vs, given, maxspeeds, kph, geoms = [], [], [], [], [], []
    tag_rows: dict[str, list] = {t: [] for t in SNAP_TAGS}
    for a, b, d in G.edges(data=True):
        us.append(a)
        vs.append(b)
        given.append(d.get("length", np.nan))
        maxspeeds.append(d.get("maxspeed"))
        kph.append(d.get("speed_kph", np.nan))
        geoms.append(d.get("geometry"))
        for t in SNAP_TAGS:
            tag_rows[t].append(d.get(t, "" if t == "highway" else None))
    iu = np.array([pos[a] for a in us], dtype=np.int64)
    iv = np.array([pos[b] for b in vs], dtype=np.int64)
    # Every edge as a line in the graph's CRS (straight where it has no geometry), running u → v.
    geo_src = np.array(geoms, dtype=object)
    missing = pd.isna(geo_src)
    if missing.any():
        geo_src[missing] = shapely.linestrings(
            np.stack([np.column_stack([xs[iu[missing]], ys[iu[missing]]]),
                      np.column_stack([xs[iv[missing]], ys[iv[missing]]])], axis=1)
        )
    geo_src = _orient_lines(geo_src, xs[iu], ys[iu], xs[iv], ys[iv])
    if lengths == "geodesic" or (lengths == "auto" and gcrs.is_geographic):
        lonlat = geo_src if gcrs.is_geographic else _transform_lines(geo_src, gcrs, 4326)
        length = _geod_lengths(lonlat)
        report: dict = {"length": "ellipsoidal (WGS-84, pyproj Geod)"}
    else:
        length = np.array(given, dtype=float)
        miss = np.isnan(length)
        if miss.any():
            length[miss] = np.hypot(x[iu[miss]] - x[iv[miss]], y[iu[miss]] - y[iv[miss]])
        report = {"length": "as given (edge attribute length)"}
    tags = pd.DataFrame(tag_rows)
    kmh = _edge_speeds(
        mode,
        pd.Series(tag_rows["highway"], dtype=object),
        pd.Series(maxspeeds, dtype=object),
        walk_speed_kmh=walk_speed_kmh,
        drive_speeds=drive_speeds,
        report=report,
    )
    if mode == "drive":
        kph_given = np.array(kph, dtype=float)
        kmh = np.where(np.isfinite(kph_given) & (kph_given > 0), kph_given, kmh)
    snappable = _snap_rule(snap_to, tags, mode)
    u_ids = np.array(us, dtype=node_ids.dtype) if node_ids.dtype != object else np.array(us, dtype=object)
    v_ids = np.array(vs, dtype=node_ids.dtype) if node_ids.dtype != object else np.array(vs, dtype=object)
    edge_geometry = None
    if keep_geometry:
        edge_geometry = geo_src if pcrs == gcrs else _transform_lines(geo_src, gcrs, pcrs)
    if not directed or mode == "walk":
        # Walking ignores one-way rules; undirected graphs are two-way.
        u_ids, v_ids = np.concatenate([u_ids, v_ids]), np.concatenate([v_ids, u_ids])
        length = np.concatenate([length, length])
        kmh = np.concatenate([kmh, kmh])
        snappable = np.concatenate([snappable, snappable])
        if edge_geometry is not None:
            edge_geometry = np.concatenate([edge_geometry, _reverse_lines(edge_geometry)])
    return _from_edge_table(
        node_ids,
        x,
        y,
        pcrs,
        u_ids,
        v_ids,
        length,
        kmh,
        mode=mode,
        largest_component=largest_component,
        report=report,
        edge_geometry=edge_geometry,
        snappable=snappable,
    )


def _reverse_lines(geoms: np.ndarray) -> np.ndarray:
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    ok = ~pd.isna(geoms)
    out[ok] = shapely.reverse(geoms[ok])
    return out


def from_graphml(path: str | Path, *, mode: str = "walk", **kwargs) -> Network:
    """Build a network from a GraphML file saved by osmnx (``ox.save_graphml``).

    Lengths are recomputed as ellipsoidal metres from the edge geometry
    (``lengths="geodesic"``; pass ``lengths="given"`` to keep the file's).
    Other keywords go to :func:`from_networkx`.
    """
    kwargs.setdefault("lengths", "geodesic")
    import osmnx as ox

    path = Path(path)
    if not path.exists():
        raise InputError("GraphML file not found", file=path)
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # osmnx raises many kinds on a bad file
        raise InputError(f"cannot read GraphML: {exc}", file=path) from exc
    return from_networkx(G, mode=mode, **kwargs)


def from_place(query: str | dict, *, mode: str = "walk", **kwargs) -> Network:
    """Download a network for a place name with osmnx (needs internet).

    ``query`` is anything osmnx geocodes, e.g. ``"雨湖区, 湘潭市, 湖南省, 中国"``.
    """
    import osmnx as ox

    _check_mode(mode)
    G = ox.graph_from_place(query, network_type=mode, simplify=True)
    return from_networkx(G, mode=mode, **kwargs)


def from_polygon(polygon, *, mode: str = "walk", **kwargs) -> Network:
    """Download a network inside a lon/lat (WGS-84) polygon with osmnx (needs internet)."""
    import osmnx as ox

    _check_mode(mode)
    G = ox.graph_from_polygon(polygon, network_type=mode, simplify=True)
    return from_networkx(G, mode=mode, **kwargs)


def to_networkx(net: Network, *, weight_names: tuple[str, str] = ("length", "travel_time")):
    """The network as a networkx DiGraph (nodes keyed by position; attrs x, y, node_id)."""
    import networkx as nx

    G = nx.DiGraph(crs=net.crs)
    for i in range(net.n_nodes):
        G.add_node(i, x=float(net.x[i]), y=float(net.y[i]), node_id=net.node_ids[i])
    u, v = net.edge_arrays()
    lw, tw = weight_names
    G.add_edges_from(
        (int(a), int(b), {lw: float(l), tw: float(t)}) for a, b, l, t in zip(u, v, net.length, net.time)
    )
    return G


# --------------------------------------------------------------------------- snapping


#: Default largest distance (m) from a point to the nearest snappable edge before it is flagged.
MAX_SNAP_M = {"walk": 300.0, "drive": 1000.0}

#: Columns of :func:`snap`'s result.
SNAP_COLUMNS = ("node", "snap_m", "too_far", "edge", "u", "v", "frac", "x", "y")


#: Densify edges to this spacing (m) for the segment index that pre-selects snap candidates.
_SNAP_SPACING_M = 10.0
#: Nearest segments looked at per point, first pass and second pass; points the bound cannot settle
#: after both go to the STRtree (exact, slower).
_SNAP_K = (8, 32)
#: Points per block in the vectorised search (bounds the temporary arrays).
_SNAP_BLOCK = 100_000


@dataclasses.dataclass(frozen=True)
class _SnapIndex:
    cand: np.ndarray  # CSR positions of the candidate edges
    tree: Any  # shapely STRtree over their lines (fallback, exact)
    kd: cKDTree  # midpoints of the densified segments
    a: np.ndarray  # (S, 2) segment starts
    b: np.ndarray  # (S, 2) segment ends
    line: np.ndarray  # (S,) candidate position of each segment's line
    cum: np.ndarray  # (S,) planar distance along the line to the segment's start
    total: np.ndarray  # (n_cand,) planar line length
    half: float  # half the longest segment


def _snap_index(net: Network, edges: Any) -> _SnapIndex:
    """Candidate edges and their spatial indexes, cached per edge selection."""
    import shapely

    ways = net.ways()
    n_ways = len(ways.tails)
    if edges is None or (isinstance(edges, str) and edges == "snappable"):
        mask = ways.snappable.copy()
        key = "snappable"
    elif isinstance(edges, str) and edges == "all":
        mask, key = np.ones(n_ways, bool), "all"
    else:
        mask = np.array(edges, dtype=bool)
        if mask.shape == (net.n_edges,) and n_ways > net.n_edges:
            # A mask over the CSR edges: side ways follow their own snappable flag.
            mask = np.concatenate([mask, ways.snappable[net.n_edges:]])
        if mask.shape != (n_ways,):
            raise InputError(f"edges must be 'snappable', 'all' or one True/False per edge ({net.n_edges})",
                             field="edges")
        key = None
    cache = net.__dict__.setdefault("_cache", {})
    if key is not None and ("snapindex", key) in cache:
        return cache[("snapindex", key)]
    # One road, one entry: of the two directions of a two-way road keep the lower position.
    twin = ways.twin
    mask &= ~ways.copy
    mask &= ~((twin >= 0) & (twin < np.arange(n_ways)) & mask[np.maximum(twin, 0)])
    cand = np.flatnonzero(mask)
    # A zero-length way (a loop drawn without a shape) is a point at its junction: the other ways there cover it,
    # and GEOS cannot segmentize it.
    cand = cand[shapely.length(ways.lines[cand]) > 0]
    if len(cand) == 0:
        raise NetworkError("no edge of the network may be snapped to (all are tunnels, underground or excluded)")
    lines = ways.lines[cand]
    xy, line = shapely.get_coordinates(shapely.segmentize(lines, _SNAP_SPACING_M), return_index=True)
    ok = line[1:] == line[:-1]
    a, b, sline = xy[:-1][ok], xy[1:][ok], line[:-1][ok]
    seg_len = np.hypot(*(b - a).T)
    # Distance along the line to each segment's start: a cumulative sum restarted at every line.
    csum = np.concatenate([[0.0], np.cumsum(seg_len)[:-1]])
    first = np.r_[True, sline[1:] != sline[:-1]]
    starts = np.flatnonzero(first)
    cum = csum - np.repeat(csum[starts], np.diff(np.r_[starts, len(sline)]))
    total = np.bincount(sline, weights=seg_len, minlength=len(cand))
    if len(a) == 0:  # only degenerate lines: keep one zero-length segment per line so the index is not empty
        pts = shapely.get_coordinates(shapely.get_point(lines, 0))
        a = b = pts
        sline, cum, seg_len = np.arange(len(cand)), np.zeros(len(cand)), np.zeros(len(cand))
    idx = _SnapIndex(cand=cand, tree=shapely.STRtree(lines), kd=cKDTree((a + b) / 2.0), a=a, b=b, line=sline,
                     cum=cum, total=total, half=float(seg_len.max()) / 2.0)
    if key is not None:
        cache[("snapindex", key)] = idx
    return idx


def _nearest_segments(idx: _SnapIndex, p: np.ndarray, k: int):
    """Best of the k segments with the nearest midpoints; ``settled`` where no other segment can be nearer.

    A segment whose midpoint is at distance ``d`` lies at least ``d − half`` away, so the
    best distance found is exact when it is at most (k-th midpoint distance − half).
    """
    n = len(p)
    k = min(k, len(idx.a))
    dk, sk = idx.kd.query(p, k=k, workers=-1)
    dk, sk = dk.reshape(n, k), sk.reshape(n, k)
    ax, ay = idx.a[sk, 0], idx.a[sk, 1]
    dx, dy = idx.b[sk, 0] - ax, idx.b[sk, 1] - ay
    px, py = p[:, :1], p[:, 1:2]
    l2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(l2 > 0, ((px - ax) * dx + (py - ay) * dy) / l2, 0.0), 0.0, 1.0)
    qx, qy = ax + t * dx, ay + t * dy
    d = np.hypot(px - qx, py - qy)
    best = np.argmin(d, axis=1)
    r = np.arange(n)
    s_best, t_best = sk[r, best], t[r, best]
    dist = d[r, best]
    c = idx.line[s_best]
    along = idx.cum[s_best] + t_best * np.sqrt(l2[r, best])
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(idx.total[c] > 0, along / idx.total[c], 0.0)
    settled = (dist <= dk[:, -1] - idx.half) | (k == len(idx.a))
    return c, dist, frac, np.column_stack([qx[r, best], qy[r, best]]), settled


def _nearest_on_edges(idx: _SnapIndex, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(candidate position, distance, fraction along, snapped x/y) of the nearest candidate edge per point."""
    import shapely

    c, dist, frac, xy, settled = _nearest_segments(idx, p, _SNAP_K[0])
    rest = np.flatnonzero(~settled)
    if len(rest):
        c2, d2, f2, xy2, ok2 = _nearest_segments(idx, p[rest], _SNAP_K[1])
        c[rest], dist[rest], frac[rest], xy[rest] = c2, d2, f2, xy2
        rest = rest[~ok2]
    if len(rest):
        pts = shapely.points(p[rest])
        (ip, ie), dd = idx.tree.query_nearest(pts, return_distance=True, all_matches=False)
        lines = idx.tree.geometries[ie]
        f = np.clip(np.nan_to_num(shapely.line_locate_point(lines, pts[ip], normalized=True)), 0.0, 1.0)
        on = shapely.get_coordinates(shapely.line_interpolate_point(lines, f, normalized=True))
        c[rest[ip]], dist[rest[ip]], frac[rest[ip]], xy[rest[ip]] = ie, dd, f, on
    return c, dist, np.clip(frac, 0.0, 1.0), xy


def snap(net: Network, points, *, max_distance: float | None = None, edges: Any = "snappable") -> pd.DataFrame:
    """Snap points to the nearest point on a road they may enter the network from.

    Each point goes to the nearest point of the nearest edge that is
    ``snappable`` (not a tunnel, an underground or indoor way or a motorway:
    see :func:`surface_edges`).  Travel times then count the straight access
    stretch (``snap_m`` at :attr:`Network.access_speed_kmh`) and the part of
    the edge from the snapped point to its end nodes (see
    :func:`geoplan.coverage.nearest_points`).

    Parameters
    ----------
    net
        The network.
    points
        GeoDataFrame/GeoSeries of points (any CRS; reprojected to the network's).
        Non-point geometries are represented by their representative point.
    max_distance
        Points farther than this (metres) from every snappable edge are flagged
        ``too_far``.  Default: 300 m walking, 1,000 m driving.
    edges
        ``"snappable"`` (default), ``"all"`` (tunnels too), or a boolean mask
        over the network's edges.

    Returns
    -------
    pandas.DataFrame
        Index aligned to ``points``; columns ``node`` (the end node of the
        snapped edge nearer along the road, for node-based searches),
        ``snap_m`` (straight distance to the road, metres), ``too_far``,
        ``edge`` (position in :meth:`Network.ways` of the way snapped onto, running
        ``u`` → ``v``: the CSR position for ordinary edges, beyond ``n_edges`` for a
        slower parallel way or a loop, which keeps its own length and time),
        ``u``, ``v`` (its end nodes), ``frac`` (position along it from ``u``,
        0–1) and ``x``, ``y`` (the snapped point, network CRS).
    """
    import geopandas as gpd
    import shapely

    if max_distance is None:
        max_distance = MAX_SNAP_M[net.mode]
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise CRSError("points have no CRS: say which coordinates they are in")
    geo = geo.to_crs(net.crs)
    if len(geo) == 0:
        return pd.DataFrame(
            {"node": np.zeros(0, np.int64), "snap_m": np.zeros(0), "too_far": np.zeros(0, bool),
             "edge": np.zeros(0, np.int64), "u": np.zeros(0, np.int64), "v": np.zeros(0, np.int64),
             "frac": np.zeros(0), "x": np.zeros(0), "y": np.zeros(0)},
            index=geo.index,
        )
    g = geo.to_numpy()
    empty = shapely.is_empty(g) | pd.isna(g)
    if empty.any():
        bad = geo.index[empty][0]
        raise InputError("empty geometry", row=bad, field="geometry")
    is_pt = shapely.get_type_id(g) == 0
    pts = g if is_pt.all() else np.where(is_pt, g, shapely.point_on_surface(g))
    xy = shapely.get_coordinates(pts)
    idx = _snap_index(net, edges)
    edge = np.empty(len(xy), dtype=np.int64)
    snap_m = np.empty(len(xy))
    frac = np.empty(len(xy))
    on = np.empty((len(xy), 2))
    for start in range(0, len(xy), _SNAP_BLOCK):
        sl = slice(start, start + _SNAP_BLOCK)
        c, snap_m[sl], frac[sl], on[sl] = _nearest_on_edges(idx, xy[sl])
        edge[sl] = idx.cand[c]
    ways = net.ways()
    eu, ev = ways.tails[edge], ways.heads[edge]
    twin = ways.twin[edge]
    # Node-based fallback: the end reached first (u only when the road may be walked/driven back to it).
    back = np.where(twin >= 0, frac * ways.time[np.maximum(twin, 0)], np.inf)
    node = np.where(back < (1.0 - frac) * ways.time[edge], eu, ev)
    return pd.DataFrame(
        {"node": node, "snap_m": snap_m, "too_far": snap_m > max_distance, "edge": edge, "u": eu, "v": ev,
         "frac": frac, "x": on[:, 0], "y": on[:, 1]},
        index=geo.index,
    )
