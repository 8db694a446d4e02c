"""Builders of a :class:`~geoplan.network._network.Network` from OSM files, GraphML, networkx and osmnx (online).

- :func:`from_osm_file` — ``.osm.pbf`` (pyrosm) or ``.osm``/``.xml`` (osmnx), offline.
- :func:`from_graphml` — a GraphML file saved by osmnx.
- :func:`from_place`, :func:`from_polygon` — download with osmnx (online).
- :func:`from_networkx` — any osmnx-style MultiDiGraph.

Edge lengths are ellipsoidal (WGS-84) metres along each way (pyproj ``Geod``).
Each edge also says whether a point may be snapped onto it
(:func:`geoplan.network._snap.surface_edges`).  osmnx and pyrosm are imported
inside the functions that use them: they are slow to import, and each is needed
only for its own file types (pyrosm for ``.pbf``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoplan._errors import CRSError, InputError, NetworkError
from geoplan.io._crs import utm_crs
from geoplan.network._geometry import _orient_lines, _reverse_lines, _transform_lines, geodesic_lengths
from geoplan.network._network import MODES, Network, _from_edge_table
from geoplan.network._snap import SNAP_TAGS, _snap_rule
from geoplan.network._speeds import WALK_SPEED_KMH, _edge_speeds

def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, not {mode!r}", field="mode")
    return mode



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




def _from_osm_xml(path: Path, *, mode: str, walk_speed_kmh: float, drive_speeds: Mapping[str, float] | None,
                  largest_component: bool, crs: Any, snap_to: Any) -> Network:
    """:func:`from_osm_file` for OSM XML (``.osm``, ``.xml``), read by osmnx."""
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

    Returns
    -------
    Network
        In the projected ``crs``; ``network.report`` says what was dropped or repaired.

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
        return _from_osm_xml(path, mode=mode, walk_speed_kmh=walk_speed_kmh, drive_speeds=drive_speeds,
                             largest_component=largest_component, crs=crs, snap_to=snap_to)
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
    length[has_geom] = geodesic_lengths(geom[has_geom], 4326)
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
    names = edges["name"].to_numpy(object) if "name" in edges else None
    nm = None if names is None else np.concatenate([names[fwd], names[bwd]])
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
        edge_names=nm,
    )


def _graph_nodes(G, gcrs: pyproj.CRS, crs: Any):
    """Node ids and coordinates of ``G``: (ids, x and y in the graph's CRS, x and y and CRS to compute in)."""
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
    return node_ids, xs, ys, x, y, pcrs


def from_networkx(
    G: nx.Graph,
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
    G
        The graph (directed or undirected; a MultiDiGraph as osmnx makes it).
    mode, walk_speed_kmh, drive_speeds, largest_component, crs
        As in :func:`from_osm_file`.
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

    Returns
    -------
    Network

    Raises
    ------
    InputError
        An unknown ``mode`` or ``lengths``.
    NetworkError
        The graph has no nodes or no edges.
    CRSError
        The graph has no CRS.
    """

    _check_mode(mode)
    if lengths not in ("auto", "geodesic", "given"):
        raise InputError(f"lengths must be 'auto', 'geodesic' or 'given', not {lengths!r}", field="lengths")
    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise NetworkError("the road network is empty (no nodes or no edges)")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise CRSError("the graph has no CRS (G.graph['crs']); set it to the CRS of the node x/y coordinates")
    gcrs = pyproj.CRS(gcrs)
    node_ids, xs, ys, x, y, pcrs = _graph_nodes(G, gcrs, crs)
    pos = {nid: i for i, nid in enumerate(G.nodes)}
    directed = G.is_directed()
    us, vs, given, maxspeeds, kph, geoms, names = [], [], [], [], [], [], []
    tag_rows: dict[str, list] = {t: [] for t in SNAP_TAGS}
    for a, b, d in G.edges(data=True):
        us.append(a)
        vs.append(b)
        given.append(d.get("length", np.nan))
        maxspeeds.append(d.get("maxspeed"))
        kph.append(d.get("speed_kph", np.nan))
        geoms.append(d.get("geometry"))
        names.append(d.get("name"))
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
        length = geodesic_lengths(lonlat, 4326)
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
    # osmnx keeps a list of names on a simplified edge: its first name is the road's.
    names = np.array([n[0] if isinstance(n, list) and n else n for n in names], dtype=object)
    if len(names) != len(u_ids):
        names = np.concatenate([names, names])
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
        edge_names=names,
    )


def from_graphml(path: str | Path, *, mode: str = "walk", **kwargs: Any) -> Network:
    """Build a network from a GraphML file saved by osmnx (``ox.save_graphml``).

    Lengths are recomputed as ellipsoidal metres from the edge geometry
    (``lengths="geodesic"``; pass ``lengths="given"`` to keep the file's).

    Parameters
    ----------
    path
        The ``.graphml`` file.
    mode
        ``"walk"`` or ``"drive"``.
    **kwargs
        Passed to :func:`from_networkx`.

    Returns
    -------
    Network

    Raises
    ------
    InputError
        The file is missing or osmnx cannot read it.
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


def from_place(query: str | dict, *, mode: str = "walk", **kwargs: Any) -> Network:
    """Download a network for a place name with osmnx (needs internet).

    Parameters
    ----------
    query
        Anything osmnx geocodes, e.g. ``"雨湖区, 湘潭市, 湖南省, 中国"``.
    mode
        ``"walk"`` or ``"drive"`` (also the osmnx ``network_type``).
    **kwargs
        Passed to :func:`from_networkx`.

    Returns
    -------
    Network

    Raises
    ------
    InputError
        An unknown ``mode``.
    """
    import osmnx as ox

    _check_mode(mode)
    G = ox.graph_from_place(query, network_type=mode, simplify=True)
    return from_networkx(G, mode=mode, **kwargs)


def from_polygon(polygon: shapely.Polygon | shapely.MultiPolygon, *, mode: str = "walk", **kwargs: Any) -> Network:
    """Download a network inside a lon/lat (WGS-84) polygon with osmnx (needs internet).

    Parameters
    ----------
    polygon
        The area, in lon/lat.
    mode
        ``"walk"`` or ``"drive"`` (also the osmnx ``network_type``).
    **kwargs
        Passed to :func:`from_networkx`.

    Returns
    -------
    Network

    Raises
    ------
    InputError
        An unknown ``mode``.
    """
    import osmnx as ox

    _check_mode(mode)
    G = ox.graph_from_polygon(polygon, network_type=mode, simplify=True)
    return from_networkx(G, mode=mode, **kwargs)


def to_networkx(net: Network, *, weight_names: tuple[str, str] = ("length", "travel_time")) -> nx.DiGraph:
    """The network as a networkx DiGraph (nodes keyed by position; attrs x, y, node_id).

    Parameters
    ----------
    net
        The network.
    weight_names
        Edge attribute names for the length (metres) and the travel time (seconds).

    Returns
    -------
    networkx.DiGraph
        ``G.graph["crs"]`` is the network's CRS; no edge geometry.
    """
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


