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
from geoplan.crs import utm_crs

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
        Optional shapely LineStrings aligned with ``indices`` (None when not kept).
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
        import shapely

        u, v = self.edge_arrays()
        if self.edge_geometry is not None:
            geom = self.edge_geometry
        else:
            coords = np.stack(
                [np.column_stack([self.x[u], self.y[u]]), np.column_stack([self.x[v], self.y[v]])], axis=1
            )
            geom = shapely.linestrings(coords)
        return gpd.GeoDataFrame(
            {"u": u, "v": v, "length_m": self.length, "time_s": self.time},
            geometry=geom,
            crs=self.crs,
        )

    def __repr__(self) -> str:
        return (
            f"Network(mode={self.mode!r}, nodes={self.n_nodes:,}, edges={self.n_edges:,}, "
            f"crs={self.crs.to_string()!r})"
        )


# --------------------------------------------------------------------------- helpers


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
) -> Network:
    """The one place a :class:`Network` is assembled: ids → positions, parallel edges, components."""
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
    ok = (u >= 0) & (v >= 0) & (u != v)
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
    time = length / (speed_kmh / 3.6)
    n = len(node_ids)

    # Parallel edges: keep the quickest (sort by time, then take the first per (u, v)).
    key = u.astype(np.int64) * n + v
    srt = np.lexsort((time, key))
    first = np.ones(len(srt), dtype=bool)
    first[1:] = key[srt][1:] != key[srt][:-1]
    keep = srt[first]
    if len(keep) < len(u):
        report["parallel_edges_merged"] = int(len(u) - len(keep))
    keep = keep[np.argsort(key[keep], kind="stable")]  # CSR order: by tail, then head
    u, v, length, time = u[keep], v[keep], length[keep], time[keep]
    if edge_geometry is not None:
        edge_geometry = edge_geometry[keep]

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
) -> Network:
    """Build a network from an OpenStreetMap file, offline.

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
    """
    _check_mode(mode)
    path = Path(path)
    if not path.exists():
        raise InputError("OSM file not found", file=path)
    name = path.name.lower()
    if not name.endswith(".pbf"):
        import osmnx as ox

        G = ox.graph_from_xml(path, simplify=True, retain_all=True, bidirectional=(mode == "walk"))
        return from_networkx(
            G,
            mode=mode,
            walk_speed_kmh=walk_speed_kmh,
            drive_speeds=drive_speeds,
            largest_component=largest_component,
            crs=crs,
        )
    import pyrosm

    osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
    network_type = "walking" if mode == "walk" else "driving"
    nodes, edges = osm.get_network(network_type=network_type, nodes=True)
    if nodes is None or edges is None or len(edges) == 0:
        raise NetworkError(f"no {mode} roads in {path}")
    report: dict = {"source": str(path)}
    x, y, pcrs = _project_lonlat(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float), crs)
    length = edges["length"].to_numpy(float)
    maxspeed = edges["maxspeed"] if "maxspeed" in edges else None
    highway = edges["highway"] if "highway" in edges else pd.Series([""] * len(edges))
    kmh = _edge_speeds(mode, highway, maxspeed, walk_speed_kmh=walk_speed_kmh, drive_speeds=drive_speeds, report=report)
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
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
    )


def from_networkx(
    G,
    *,
    mode: str = "walk",
    walk_speed_kmh: float = WALK_SPEED_KMH,
    drive_speeds: Mapping[str, float] | None = None,
    largest_component: bool = True,
    crs: Any = None,
    keep_geometry: bool = False,
) -> Network:
    """Convert an osmnx-style networkx graph to a :class:`Network`.

    The graph needs node attributes ``x``, ``y`` and ``G.graph["crs"]``.  Edge
    ``length`` (metres) is used when present, otherwise the straight-line
    length in the projected CRS.  Speeds: ``speed_kph`` when present, else OSM
    ``maxspeed``, else by ``highway`` class (drive); the walking speed (walk).
    Undirected graphs are taken as two-way.  Geographic coordinates are
    projected to ``crs`` (default: the data's UTM zone).
    """
    _check_mode(mode)
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
    us, vs, lengths, highways, maxspeeds, kph, geoms = [], [], [], [], [], [], []
    for a, b, d in G.edges(data=True):
        us.append(a)
        vs.append(b)
        lengths.append(d.get("length", np.nan))
        highways.append(d.get("highway", ""))
        maxspeeds.append(d.get("maxspeed"))
        kph.append(d.get("speed_kph", np.nan))
        geoms.append(d.get("geometry"))
    length = np.array(lengths, dtype=float)
    miss = np.isnan(length)
    if miss.any():
        iu = np.array([pos[a] for a in us])
        iv = np.array([pos[b] for b in vs])
        length[miss] = np.hypot(x[iu[miss]] - x[iv[miss]], y[iu[miss]] - y[iv[miss]])
    report: dict = {}
    kmh = _edge_speeds(
        mode,
        pd.Series(highways, dtype=object),
        pd.Series(maxspeeds, dtype=object),
        walk_speed_kmh=walk_speed_kmh,
        drive_speeds=drive_speeds,
        report=report,
    )
    if mode == "drive":
        given = np.array(kph, dtype=float)
        kmh = np.where(np.isfinite(given) & (given > 0), given, kmh)
    u_ids = np.array(us, dtype=node_ids.dtype) if node_ids.dtype != object else np.array(us, dtype=object)
    v_ids = np.array(vs, dtype=node_ids.dtype) if node_ids.dtype != object else np.array(vs, dtype=object)
    edge_geometry = None
    if keep_geometry:
        edge_geometry = _project_geoms(geoms, gcrs, pcrs, x, y, [pos[a] for a in us], [pos[b] for b in vs])
    if not directed or mode == "walk":
        # Walking ignores one-way rules; undirected graphs are two-way.
        u_ids, v_ids = np.concatenate([u_ids, v_ids]), np.concatenate([v_ids, u_ids])
        length = np.concatenate([length, length])
        kmh = np.concatenate([kmh, kmh])
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
    )


def _project_geoms(geoms, src, dst, x, y, iu, iv) -> np.ndarray:
    import shapely

    out = np.empty(len(geoms), dtype=object)
    tr = None if src == dst else pyproj.Transformer.from_crs(src, dst, always_xy=True)
    for k, g in enumerate(geoms):
        if g is None:
            out[k] = shapely.LineString([(x[iu[k]], y[iu[k]]), (x[iv[k]], y[iv[k]])])
        elif tr is None:
            out[k] = g
        else:
            out[k] = shapely.transform(g, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return out


def _reverse_lines(geoms: np.ndarray) -> np.ndarray:
    import shapely

    return np.array([shapely.reverse(g) for g in geoms], dtype=object)


def from_graphml(path: str | Path, *, mode: str = "walk", **kwargs) -> Network:
    """Build a network from a GraphML file saved by osmnx (``ox.save_graphml``)."""
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


#: Default largest distance (m) from a point to its nearest network node before it is flagged.
MAX_SNAP_M = {"walk": 300.0, "drive": 1000.0}


def snap(net: Network, points, *, max_distance: float | None = None) -> pd.DataFrame:
    """Snap points to their nearest network node.

    Parameters
    ----------
    net
        The network.
    points
        GeoDataFrame/GeoSeries of points (any CRS; reprojected to the network's).
        Non-point geometries are represented by their representative point.
    max_distance
        Points farther than this (metres) from any node are flagged ``too_far``.
        Default: 300 m walking, 1,000 m driving.

    Returns
    -------
    pandas.DataFrame
        Index aligned to ``points``; columns ``node`` (node position), ``snap_m``
        (straight-line distance to it) and ``too_far``.
    """
    import geopandas as gpd

    if max_distance is None:
        max_distance = MAX_SNAP_M[net.mode]
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise CRSError("points have no CRS: say which coordinates they are in")
    geo = geo.to_crs(net.crs)
    if len(geo) == 0:
        return pd.DataFrame({"node": np.zeros(0, np.int64), "snap_m": np.zeros(0), "too_far": np.zeros(0, bool)}, index=geo.index)
    if geo.is_empty.any() or geo.isna().any():
        bad = geo.index[geo.is_empty | geo.isna()][0]
        raise InputError("empty geometry", row=bad, field="geometry")
    pts = geo.representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    tree = net.__dict__.setdefault("_cache", {}).get("kdtree")
    if tree is None:
        tree = cKDTree(np.column_stack([net.x, net.y]))
        net.__dict__["_cache"]["kdtree"] = tree
    dist, node = tree.query(xy)
    return pd.DataFrame(
        {"node": node.astype(np.int64), "snap_m": dist, "too_far": dist > max_distance},
        index=geo.index,
    )
