"""Network coverage: nearest facility, cost matrices, service areas and indicators.

All searches are multi-source or cutoff-limited Dijkstra runs of
:func:`scipy.sparse.csgraph.dijkstra` on a :class:`geoplan.network.Network`;
nothing here builds an all-pairs matrix.

The main entry point is :func:`assess`, which returns a :class:`CoverageResult`
holding per-demand-point travel times, service areas, per-unit indicators and
the summary checked against targets.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from geoplan.coverage import _checks
from geoplan._errors import InputError
from geoplan.network._network import MAX_SNAP_M, Network, snap
from geoplan.coverage.standards import Catalogue, default_catalogue, unit_kind

log = logging.getLogger("geoplan")

#: Bytes of dense distance rows scipy may allocate at once in batched searches.
_CHUNK_BYTES = 256 * 2**20


def _progress(iterable, *, total=None, desc=None, disable=None):
    from tqdm.auto import tqdm

    if disable is None:
        disable = not log.isEnabledFor(logging.INFO)
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=None, leave=False)


def _graph(net: Network, weight: str, towards: bool):
    # Travel *towards* a set of nodes on a directed graph = search from them on the reversed graph.
    return net.csr(weight, reverse=towards)


def _is_points(obj) -> bool:
    """A snap table (:func:`geoplan.network.snap`) rather than plain node positions."""
    return isinstance(obj, pd.DataFrame) and "edge" in obj.columns and "frac" in obj.columns


def _node_array(obj, n: int, what: str) -> np.ndarray:
    arr = np.asarray(list(obj) if not isinstance(obj, np.ndarray) else obj, dtype=np.int64)
    if len(arr) and (arr.min() < 0 or arr.max() >= n):
        raise InputError(f"{what}: node position out of range", field=what)
    return arr


def _as_points(net: Network, obj, what: str) -> pd.DataFrame:
    """A snap table; plain node positions become points sitting on their node (no access, no edge)."""
    if _is_points(obj):
        return obj
    nodes = _node_array(obj, net.n_nodes, what)
    return pd.DataFrame({"node": nodes, "snap_m": np.zeros(len(nodes)), "edge": np.full(len(nodes), -1, np.int64),
                         "frac": np.zeros(len(nodes))})


def _weights(net: Network, weight: str) -> np.ndarray:
    if weight not in ("time", "length"):
        raise InputError(f"weight must be 'time' or 'length', not {weight!r}", field="weight")
    return net.time if weight == "time" else net.length


def access_cost(net: Network, snap_m, weight: str = "time") -> np.ndarray:
    """Cost of the straight stretch from a point to its road: metres, or seconds at the access speed."""
    d = np.asarray(snap_m, dtype=float)
    return d if weight == "length" else d / (net.access_speed_kmh / 3.6)


def point_ends(net: Network, points: pd.DataFrame, weight: str = "time", *, leaving: bool = True):
    """Where a snapped point joins the graph: its edge's two end nodes and the cost to/from each.

    Parameters
    ----------
    points
        A snap table (:func:`geoplan.network.snap`).
    leaving
        True: cost of going *from* the point to each end node (access + the
        part of the edge travelled in an allowed direction); False: from each
        end node *to* the point.

    Returns
    -------
    nodes : ndarray of int, shape (k, 2)
        End nodes ``u``, ``v`` of the snapped edge (the node twice for a point without an edge).
    cost : ndarray of float, shape (k, 2)
        Costs including the access stretch; ``inf`` where the edge may not be
        travelled that way (a one-way street).
    """
    _weights(net, weight)
    ways = net.ways()  # the snapped way's own length/time, also for parallel ways and loops
    w = ways.weights(weight)
    edge = points["edge"].to_numpy(np.int64)
    frac = points["frac"].to_numpy(float)
    acc = access_cost(net, points["snap_m"].to_numpy(float), weight)
    on = edge >= 0
    e = np.where(on, edge, 0)
    tails, heads = ways.tails, ways.heads
    twin = ways.twin[e]
    node = points["node"].to_numpy(np.int64) if "node" in points else np.zeros(len(points), np.int64)
    u = np.where(on, tails[e], node)
    v = np.where(on, heads[e], node)
    along = w[e]  # the edge u→v itself
    back = np.where(twin >= 0, w[np.maximum(twin, 0)], np.inf)  # the same road v→u
    with np.errstate(invalid="ignore"):
        if leaving:  # point → v along u→v; point → u along v→u
            cu, cv = frac * back, (1.0 - frac) * along
        else:  # u → point along u→v; v → point along v→u
            cu, cv = frac * along, (1.0 - frac) * back
    cu = np.where(np.isnan(cu), 0.0, cu)  # 0 × inf: the point is on that end node, nothing to travel
    cv = np.where(np.isnan(cv), 0.0, cv)
    cu = np.where(on, cu, 0.0)
    cv = np.where(on, cv, np.inf)
    return np.column_stack([u, v]), np.column_stack([cu, cv]) + acc[:, None]


def _augmented(net: Network, weight: str, towards: bool, points: pd.DataFrame):
    """The search graph plus one virtual node per point, wired to its edge's ends.

    Searching from virtual node ``n + k`` gives costs that start at point ``k``:
    outwards (``towards=False``, forward graph, edges point → end) or towards
    it (``towards=True``, reversed graph, edges carry the end → point cost).
    """
    g = _graph(net, weight, towards)
    nodes, cost = point_ends(net, points, weight, leaving=not towards)
    fin = np.isfinite(cost)
    n, k = net.n_nodes, len(points)
    indptr = np.concatenate([g.indptr.astype(np.int64), g.indptr[-1] + np.cumsum(fin.sum(axis=1))])
    indices = np.concatenate([g.indices.astype(np.int64), nodes[fin]])
    data = np.concatenate([g.data, cost[fin]])
    return sparse.csr_array((data, indices, indptr), shape=(n + k, n + k))


def _same_road(net: Network, a: pd.DataFrame, b: pd.DataFrame, weight: str):
    """Direct costs from points ``a`` to points ``b`` snapped onto the same road (not via its ends).

    Returns (positions in a, positions in b, cost) for every such pair; the
    cost is access of both plus the stretch of road between them, in an
    allowed direction (``inf`` against a one-way street).
    """
    ea, eb = a["edge"].to_numpy(np.int64), b["edge"].to_numpy(np.int64)
    if not ((ea >= 0).any() and (eb >= 0).any()):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    _weights(net, weight)
    ways = net.ways()
    w = ways.weights(weight)
    twin = ways.twin

    def canon(e, f):
        # Either direction of a two-way road names the same road: use the lower position.
        t = np.where(e >= 0, twin[np.maximum(e, 0)], -1)
        flip = (t >= 0) & (t < e)
        return np.where(flip, t, e), np.where(flip, 1.0 - f, f)

    ca, fa = canon(ea, a["frac"].to_numpy(float))
    cb, fb = canon(eb, b["frac"].to_numpy(float))
    left = pd.DataFrame({"i": np.arange(len(a)), "e": ca, "f": fa})[ca >= 0]
    right = pd.DataFrame({"j": np.arange(len(b)), "e": cb, "g": fb})
    right = right[right["e"].isin(left["e"].unique())]
    pairs = left.merge(right, on="e")
    if pairs.empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    i, j, e = pairs["i"].to_numpy(), pairs["j"].to_numpy(), pairs["e"].to_numpy()
    d = pairs["g"].to_numpy() - pairs["f"].to_numpy()
    back = np.where(twin[e] >= 0, w[np.maximum(twin[e], 0)], np.inf)
    with np.errstate(invalid="ignore"):
        road = np.where(d >= 0, d * w[e], -d * back)
    road = np.where(np.isnan(road), 0.0, road)  # 0 × inf: the same spot
    acc = access_cost(net, a["snap_m"].to_numpy(float), weight)[i] + access_cost(net, b["snap_m"].to_numpy(float), weight)[j]
    return i, j, road + acc


def nearest(
    net: Network,
    source_nodes,
    *,
    cutoff: float | None = None,
    weight: str = "time",
    towards: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost from every node to its nearest source (one multi-source Dijkstra).

    Parameters
    ----------
    net
        The network.
    source_nodes
        Node positions of the sources (facilities), repeats allowed; or a snap
        table (:func:`geoplan.network.snap`): then each source starts at its
        snapped point, and a node's cost includes the part of the source's
        edge and its access stretch.
    cutoff
        Stop searching beyond this cost (seconds or metres); nodes farther away get ``inf``.
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    towards
        True: cost of travelling from each node *to* a source (what a resident
        faces); False: from the source outwards.  Equal on a walk network.

    Returns
    -------
    cost : ndarray of float, shape (n_nodes,)
    source : ndarray of int, shape (n_nodes,)
        Position in ``source_nodes`` of the nearest source (first one when
        several share a node), ``-1`` where none is reachable.
    """
    n = net.n_nodes
    limit = np.inf if cutoff is None else float(cutoff)
    if _is_points(source_nodes):
        if len(source_nodes) == 0:
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        g = _augmented(net, weight, towards, source_nodes)
        dist, _pred, sources = csgraph.dijkstra(
            g, directed=True, indices=n + np.arange(len(source_nodes)), min_only=True,
            return_predecessors=True, limit=limit,
        )
        src = np.where(sources[:n] >= 0, sources[:n] - n, -1).astype(np.int64)
        return dist[:n], src
    src = _node_array(source_nodes, n, "source_nodes")
    if len(src) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    uniq, first_pos = np.unique(src, return_index=True)
    dist, _pred, sources = csgraph.dijkstra(
        _graph(net, weight, towards),
        directed=True,
        indices=uniq,
        min_only=True,
        return_predecessors=True,
        limit=limit,
    )
    pos_of_node = dict(zip(uniq.tolist(), first_pos.tolist()))
    out = np.full(n, -1, dtype=np.int64)
    reached = sources >= 0
    out[reached] = [pos_of_node[s] for s in sources[reached]] if reached.sum() < 50_000 else pd.Series(
        pos_of_node
    ).reindex(sources[reached]).to_numpy()
    return dist, out


def nearest_points(
    net: Network,
    sources: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    cutoff: float | None = None,
    weight: str = "time",
    towards: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost between each target point and its nearest source point, door to door.

    The cost is the access stretch of both points (straight to the road, at
    :attr:`~geoplan.network.Network.access_speed_kmh`), the parts of their
    edges to the nodes the route passes, and the network path between; two
    points on the same road may also go straight along it.

    Parameters
    ----------
    sources, targets
        Snap tables (:func:`geoplan.network.snap`) of facilities and demand points.
    cutoff
        Costs beyond it are ``inf`` (and the search stops there).
    towards
        True (default): from each target *to* its nearest source (a resident
        going to a facility); False: from the source to the target.

    Returns
    -------
    cost : ndarray, aligned to ``targets``
    source : ndarray of int
        Position in ``sources`` of the nearest one, ``-1`` where none is within reach.
    """
    node_cost, node_src = nearest(net, sources, cutoff=cutoff, weight=weight, towards=towards)
    ends, c = point_ends(net, targets, weight, leaving=towards)
    total = node_cost[ends] + c
    pick = np.argmin(total, axis=1)
    rows = np.arange(len(targets))
    cost = total[rows, pick]
    src = np.where(np.isfinite(cost), node_src[ends[rows, pick]], -1)
    a, b = (targets, sources) if towards else (sources, targets)
    i, j, d = _same_road(net, a, b, weight)
    if len(d):
        t_pos, s_pos = (i, j) if towards else (j, i)
        order = np.argsort(d, kind="stable")
        t_pos, s_pos, d = t_pos[order], s_pos[order], d[order]
        first = np.unique(t_pos, return_index=True)[1]
        t_pos, s_pos, d = t_pos[first], s_pos[first], d[first]
        better = d < cost[t_pos]
        cost[t_pos[better]] = d[better]
        src[t_pos[better]] = s_pos[better]
    if cutoff is not None:
        beyond = cost > float(cutoff)
        cost[beyond] = np.inf
        src[beyond] = -1
    return cost, src.astype(np.int64)


def _chunks(n_sources: int, n_nodes: int) -> int:
    return max(1, min(n_sources, _CHUNK_BYTES // max(1, 8 * n_nodes)))


def od_matrix(
    net: Network,
    origin_nodes,
    dest_nodes,
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = False,
    progress: bool | None = None,
) -> sparse.csr_array:
    """Sparse origin–destination costs within a cutoff.

    Parameters
    ----------
    origin_nodes, dest_nodes
        Node positions (repeats allowed: each row/column is one input item), or
        snap tables (:func:`geoplan.network.snap`): then costs run door to door
        (access stretches and partial edges counted, as :func:`nearest_points`).
    cutoff
        Only pairs within this cost are stored.
    towards
        False: cost from origin to destination.  True: from destination to
        origin (e.g. origins = candidate sites, destinations = residents who
        travel to them).

    Returns
    -------
    scipy.sparse.csr_array, shape (len(origins), len(dests))
        Stored entries only for reachable pairs; explicit zeros are kept (a
        stored 0 means the same place).
    """
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise InputError(f"cutoff must be a positive finite number, got {cutoff}", field="cutoff")
    disable = None if progress is None else not progress
    if _is_points(origin_nodes) or _is_points(dest_nodes):
        return _od_points(net, _as_points(net, origin_nodes, "origin_nodes"), _as_points(net, dest_nodes, "dest_nodes"),
                          cutoff=float(cutoff), weight=weight, towards=towards, disable=disable)
    orig = _node_array(origin_nodes, net.n_nodes, "origin_nodes")
    dest = _node_array(dest_nodes, net.n_nodes, "dest_nodes")
    g = _graph(net, weight, towards)
    uniq, inverse = np.unique(orig, return_inverse=True)
    step = _chunks(len(uniq), net.n_nodes)
    rows, cols, vals = [], [], []
    for start in _progress(range(0, len(uniq), step), total=-(-len(uniq) // step), desc="OD", disable=disable):
        block = uniq[start : start + step]
        d = csgraph.dijkstra(g, directed=True, indices=block, limit=float(cutoff))
        sub = d[:, dest]
        r, c = np.nonzero(np.isfinite(sub))
        rows.append(r + start)
        cols.append(c)
        vals.append(sub[r, c])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals) if vals else np.zeros(0)
    by_uniq = sparse.csr_array((v, (r, c)), shape=(len(uniq), len(dest)))
    by_uniq.sort_indices()
    # Expand unique origins back to one row per input origin, keeping explicit zeros.
    return _take_rows(by_uniq, inverse)


def _od_points(net: Network, orig: pd.DataFrame, dest: pd.DataFrame, *, cutoff: float, weight: str, towards: bool,
               disable) -> sparse.csr_array:
    """:func:`od_matrix` between snapped points: one search per distinct origin point."""
    n = net.n_nodes
    key = pd.MultiIndex.from_arrays([orig["edge"].to_numpy(), orig["frac"].to_numpy(), orig["snap_m"].to_numpy(),
                                     orig["node"].to_numpy() if "node" in orig else np.zeros(len(orig), np.int64)])
    codes, uniq_keys = pd.factorize(key)
    first = np.unique(codes, return_index=True)[1]
    uo = orig.iloc[first]
    g = _augmented(net, weight, towards, uo)
    ends, c = point_ends(net, dest, weight, leaving=towards)
    m = len(dest)
    step = _chunks(len(uo), max(n + len(uo), 3 * m))
    rows, cols, vals = [], [], []
    for start in _progress(range(0, len(uo), step), total=-(-len(uo) // step), desc="OD", disable=disable):
        block = np.arange(start, min(start + step, len(uo)))
        d = np.atleast_2d(csgraph.dijkstra(g, directed=True, indices=n + block, limit=cutoff))
        sub = np.minimum(d[:, ends[:, 0]] + c[:, 0], d[:, ends[:, 1]] + c[:, 1])
        r, cc = np.nonzero(sub <= cutoff)
        rows.append(r + start)
        cols.append(cc)
        vals.append(sub[r, cc])
    a, b = (dest, uo) if towards else (uo, dest)
    i, j, dd = _same_road(net, a, b, weight)
    if len(dd):
        o_pos, d_pos = (j, i) if towards else (i, j)
        ok = dd <= cutoff
        rows.append(o_pos[ok])
        cols.append(d_pos[ok])
        vals.append(dd[ok])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cc = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals) if vals else np.zeros(0)
    # Several entries for one pair (network and along the same road): keep the least.
    frame = pd.DataFrame({"r": r, "c": cc, "v": v}).groupby(["r", "c"], sort=True)["v"].min()
    rr = frame.index.get_level_values(0).to_numpy(np.int64)
    ci = frame.index.get_level_values(1).to_numpy(np.int64)
    indptr = np.zeros(len(uo) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rr, minlength=len(uo)), out=indptr[1:])
    by_uniq = sparse.csr_array((frame.to_numpy(float), ci, indptr), shape=(len(uo), m))
    return _take_rows(by_uniq, codes)


def _take_rows(m: sparse.csr_array, rows: np.ndarray) -> sparse.csr_array:
    counts = np.diff(m.indptr)[rows]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    take = np.concatenate([np.arange(m.indptr[r], m.indptr[r + 1]) for r in rows]) if len(rows) else np.zeros(0, np.int64)
    return sparse.csr_array((m.data[take], m.indices[take], indptr), shape=(len(rows), m.shape[1]))


def reachable_nodes(
    net: Network,
    source_nodes,
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = True,
) -> list[np.ndarray]:
    """For each source, the node positions within ``cutoff`` (cutoff-limited searches in batches).

    ``source_nodes`` are node positions or a snap table (costs then start at the snapped point).
    """
    n = net.n_nodes
    if _is_points(source_nodes):
        g = _augmented(net, weight, towards, source_nodes)
        src = n + np.arange(len(source_nodes))
    else:
        src = _node_array(source_nodes, n, "source_nodes")
        g = _graph(net, weight, towards)
    out: list[np.ndarray] = []
    step = _chunks(len(src), g.shape[0])
    for start in range(0, len(src), step):
        d = csgraph.dijkstra(g, directed=True, indices=src[start : start + step], limit=float(cutoff))
        out.extend(np.flatnonzero(np.isfinite(row[:n])) for row in np.atleast_2d(d))
    return out


def service_areas(
    net: Network,
    facilities,
    *,
    cutoff: float,
    weight: str = "time",
    nodes=None,
    buffer_m: float | None = None,
    method: str = "edges",
):
    """Service-area polygons: the part of the network within ``cutoff`` of each facility.

    Parameters
    ----------
    facilities
        GeoDataFrame of facilities (index kept).
    nodes
        Their snap table (:func:`geoplan.network.snap`; default: snapped here) or node positions.
    buffer_m
        Half-width of the polygon around reachable roads (default 50 m walk, 150 m drive).
    method
        ``"edges"``: union of buffered road segments whose both ends are
        reachable (follows the streets); ``"hull"``: a concave hull of reachable nodes (faster, coarser).

    Returns
    -------
    geopandas.GeoDataFrame
        Index aligned to ``facilities``; a polygon in the network CRS (empty if nothing reachable).
    """
    import geopandas as gpd
    import shapely

    if buffer_m is None:
        buffer_m = 50.0 if net.mode == "walk" else 150.0
    if nodes is None:
        nodes = snap(net, facilities)
    reach = reachable_nodes(net, nodes, cutoff=cutoff, weight=weight, towards=True)
    # The snapped point itself belongs to its area (a facility may sit mid-edge, far from a node).
    here = (np.column_stack([nodes["x"].to_numpy(), nodes["y"].to_numpy()]) if _is_points(nodes) and "x" in nodes
            else None)
    tails, heads = net.edge_arrays()
    polys = []
    for k, r in enumerate(reach):
        own = shapely.Point(here[k]).buffer(buffer_m) if here is not None else None
        if method == "hull":
            pts = shapely.multipoints(np.column_stack([net.x[r], net.y[r]]))
            poly = shapely.concave_hull(pts, ratio=0.3).buffer(buffer_m)
            polys.append(poly if own is None else shapely.union(poly, own))
            continue
        mask = np.zeros(net.n_nodes, bool)
        mask[r] = True
        e = np.flatnonzero(mask[tails] & mask[heads])
        if len(e) == 0:
            if own is not None:
                polys.append(own)
            else:
                polys.append(shapely.Point(net.x[r[0]], net.y[r[0]]).buffer(buffer_m) if len(r) else shapely.Polygon())
            continue
        lines = shapely.linestrings(
            np.stack([np.column_stack([net.x[tails[e]], net.y[tails[e]]]), np.column_stack([net.x[heads[e]], net.y[heads[e]]])], axis=1)
        )
        poly = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
        polys.append(poly if own is None else shapely.union(poly, own))
    return gpd.GeoDataFrame(geometry=polys, index=facilities.index, crs=net.crs)


def two_step_fca(
    net: Network,
    supply_nodes,
    supply: np.ndarray,
    demand_nodes,
    demand: np.ndarray,
    *,
    cutoff: float,
    weight: str = "time",
) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) accessibility per demand point.

    Step 1: each facility's supply-to-demand ratio ``R_j = S_j / sum(P_k for k within cutoff of j)``.
    Step 2: each demand point's accessibility ``A_i = sum(R_j for j within cutoff of i)``
    (Luo & Wang 2003).  With beds as supply and people aged 60+ as demand, ``A_i × 1000`` is
    beds per 1,000 elderly reachable.  ``supply_nodes``/``demand_nodes`` are node
    positions or snap tables (door-to-door costs).

    Returns
    -------
    ndarray, aligned to ``demand_nodes``; 0 where no facility is within reach.
    """
    supply = np.nan_to_num(np.asarray(supply, dtype=float))
    demand = np.nan_to_num(np.asarray(demand, dtype=float))
    m = od_matrix(net, supply_nodes, demand_nodes, cutoff=cutoff, weight=weight, towards=True, progress=False)
    reach = sparse.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)  # 1 where within cutoff
    pop_in_reach = reach @ demand
    ratio = np.divide(supply, pop_in_reach, out=np.zeros_like(supply), where=pop_in_reach > 0)
    return reach.T @ ratio


# --------------------------------------------------------------------------- indicators


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return math.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1])])


class Note(str):
    """A note in English (the string itself) that also carries its Chinese text (``.zh``)."""

    def __new__(cls, zh: str, en: str):
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj

    def text(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else str(self)


@dataclasses.dataclass
class CoverageResult:
    """Everything :func:`assess` computed; tables use canonical English column names.

    Attributes
    ----------
    demand
        GeoDataFrame aligned to the input demand, with ``unit_code``, ``snap_m``,
        ``too_far`` and per type ``{type}_min`` (minutes to the nearest, door to door: access stretch, partial edges and network),
        ``{type}_nearest`` (facility id) and ``{type}_covered``.
    facilities
        GeoDataFrame aligned to the input facilities with ``type``, ``unit_code``, ``snap_m``, ``too_far``.
    service_areas
        One polygon per facility (``facility_id``, ``type``).
    service_areas_by_type
        Dissolved per type.
    units
        GeoDataFrame of admin units × types: ``unit_code``, ``unit_name``, ``unit_kind``,
        ``type``, ``n_facilities``, ``has_facility`` (facilities registered in the unit, also
        those too far from the road to take part in the travel times), people and covered people for
        pop/pop_60/pop_0_17 with shares, ``median_min``, ``p90_min``.
    summary
        One row per type and indicator with ``value``, ``target``, ``passed`` and ``shortfall``.
    gaps
        Uncovered demand per unit and type, ranked by people affected.
    notes
        Plain-language notes about the run (assumptions, dropped parts).
    network_report
        What the first network's builder dropped/repaired.
    modes
        Travel mode actually used per type (``walk``/``drive``): the mode of the
        network each type was measured on.  Reports print this, never the config.
    checks
        Input checks found (repaired units, overlaps, units without demand, demand
        outside the units, facilities/demand far from the network): ``check``, ``item``,
        ``name``, ``file``, ``row``, ``detail_zh``, ``detail_en``.
    network_reports
        Builder report per mode.
    snaps
        Per mode, the snap tables (:func:`geoplan.network.snap`) of ``"demand"`` and
        ``"facilities"``, aligned to the inputs: snapped way (position in
        :meth:`geoplan.network.Network.ways`), end nodes, position
        along the edge, access distance — for later steps to reuse.
    """

    demand: Any
    facilities: Any
    service_areas: Any
    service_areas_by_type: Any
    units: Any
    summary: pd.DataFrame
    gaps: pd.DataFrame
    catalogue: Catalogue
    notes: list[Note]
    network_report: dict
    modes: dict = dataclasses.field(default_factory=dict)
    checks: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame())
    network_reports: dict = dataclasses.field(default_factory=dict)
    snaps: dict = dataclasses.field(default_factory=dict)

    def save(self, folder, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm", data_note: str = "",
             title: str | None = None) -> dict:
        """Write the report folder (Markdown/HTML/Excel report, GeoPackage and GeoJSON layers, HTML map).

        The folder is written all-or-nothing; an existing folder is replaced only with ``overwrite=True``.
        Returns the paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``geojson``, ``map``.
        """
        from geoplan.outputs._coverage_outputs import write_coverage

        return write_coverage(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note, title=title)


_where = _checks._where  # one helper, in _checks (which _coverage imports): no import cycle


def _require_columns(df, cols, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {missing}; columns present: {list(df.columns)}",
                         file=df.attrs.get("source"), field=missing[0])


def _assign_units(points, units, *, crs=None) -> pd.Series:
    """Code of the unit containing each point (representative point, in ``crs``), NaN outside all.

    A point in several overlapping units goes to the first in file order (the checks table lists overlaps).
    """
    return _checks.assign_units(points, units, crs=crs or points.crs)[0]


def assess(
    network: Network | Mapping[str, Network],
    facilities,
    demand,
    *,
    units=None,
    catalogue: Catalogue | None = None,
    types: Iterable[str] | None = None,
    modes: str | Mapping[str, str] | None = None,
    max_snap_m: float | None = None,
    with_service_areas: bool = True,
    invalid_units: str = "repair",
    allow_empty_units: bool = False,
    allow_outside: bool = False,
    max_outside_share: float = _checks.MAX_OUTSIDE_SHARE,
    allow_far_facilities: bool = False,
    allow_zero_weight: bool = False,
) -> CoverageResult:
    """Assess how well facilities cover demand by the road network.

    Parameters
    ----------
    network
        A :class:`~geoplan.network.Network`, or a mapping ``{"walk": net, "drive": net}``
        (built from the same source).  Each type is measured on the network of its
        mode (catalogue ``mode``, overridden by ``modes``); a type whose mode has no
        network is a :class:`~geoplan.NetworkError`, never a fallback to another mode.
    facilities
        GeoDataFrame with ``id`` and ``type`` (a catalogue key or alias) columns.
    demand
        GeoDataFrame of demand points with ``pop`` and optionally ``pop_60``, ``pop_0_17``.
    units
        Optional GeoDataFrame of admin units with ``code`` and ``name``.
    catalogue
        Facility types and targets (default :func:`geoplan.standards.default_catalogue`).
    types
        Limit to these types (keys or Chinese names; default: every catalogue type).
    modes
        Override of the travel modes: ``"walk"``/``"drive"`` for every type, or
        ``{type: mode}`` (key or Chinese name) for some.
    max_snap_m
        Distance from the network beyond which a point is flagged (default per mode).
    with_service_areas
        Compute service-area polygons (the slowest step on big networks).
    invalid_units
        ``"repair"`` (default): invalid unit polygons (e.g. self-intersecting) are
        repaired with shapely ``make_valid`` and listed in ``checks``; ``"refuse"``: an InputError.
    allow_empty_units
        Continue when a unit contains no demand point (default: InputError naming the unit).
    allow_outside
        Continue when more than ``max_outside_share`` of the demand (points or people)
        lies outside every unit (default: InputError).
    allow_far_facilities
        Leave facilities beyond the snap limit out of the travel times and continue
        (default: InputError naming the facility).  Such a facility still counts for
        ``has_facility`` of the unit it lies in: "the unit has a centre" is a register
        fact (the centre exists there), not a travel time.  The checks table and the
        notes say so for each one (未参与出行时间计算，但计入所在单位的设施覆盖).
    allow_zero_weight
        Continue when the weight column of an assessed type (``pop``, ``pop_60``,
        ``pop_0_17``) is 0 for every demand point; its people indicators are then
        reported as not computable, never as a shortfall of 0 (default: InputError
        naming the file and column).

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        Bad inputs, and the geometry checks above unless allowed.
    NetworkError
        No network for a type's mode.
    """
    import geopandas as gpd
    import shapely

    catalogue = (catalogue or default_catalogue()).with_modes(modes, source="mode override (modes=)")
    notes: list[str] = []
    _require_columns(facilities, ["id", "type"], "facilities")
    _require_columns(demand, ["pop"], "demand points")
    if len(demand) == 0:
        raise InputError("no demand points", field="geometry")
    for frame, what in ((facilities, "facilities"), (demand, "demand points")):
        if frame.crs is None:
            from geoplan._errors import CRSError

            raise CRSError(f"{what} have no CRS")
    dup = facilities["id"].duplicated(keep=False)
    if dup.any():
        rows = facilities.index[dup].tolist()[:2]
        first, second = (_where(facilities, r)["row"] for r in rows)
        raise InputError(f"duplicate facility id {facilities['id'][dup].iloc[0]!r} (rows {first} and {second})",
                         **_where(facilities, rows[1]), field="id")

    resolved = facilities["type"].map(catalogue.resolve)
    if resolved.isna().any():
        bad = resolved.index[resolved.isna()][0]
        raise InputError(
            f"unknown facility type {facilities.loc[bad, 'type']!r}; known: {', '.join(catalogue.keys)} "
            "(or their Chinese names)",
            **_where(facilities, bad),
            field="type",
        )
    fac = facilities.copy()
    fac["type"] = resolved
    type_list = list(dict.fromkeys(catalogue.resolve(t) or t for t in types)) if types is not None else catalogue.keys
    for t in type_list:
        catalogue[t]  # raises on unknown
    if not type_list:
        raise InputError("no facility types to assess", field="types")

    from geoplan.io._io import datum_note  # the datum of every input goes into the report (issue 12 item 8)

    for frame, zh, en in ((facilities, "设施", "facilities"), (demand, "需求点", "demand"), (units, "行政单位", "units")):
        line = datum_note(frame, zh, en) if frame is not None else None
        if line is not None:
            notes.append(Note(*line))
    # The API gets the checks of geoplan.io's readers, with the same helpers and messages
    # (index labels, or the source rows when the frame came from geoplan.io).
    from geoplan.io import _io

    for frame, what in ((facilities, "facility"), (demand, "demand")):
        rows = _io.source_rows(frame)
        labels = frame.index if rows is None else rows
        _io._check_point_geometry(frame.geometry.to_numpy(), labels, file=frame.attrs.get("source"),
                                  points_only=False)
        if what == "demand" and "id" in frame.columns:
            _io._check_duplicates([_io._code_text(v) for v in frame["id"].tolist()], list(labels), field="id",
                                  file=frame.attrs.get("source"), what="demand id")
    dem = demand.copy()
    rows = _io.source_rows(demand)
    labels = demand.index if rows is None else rows
    pops = {}
    for col in ("pop", "pop_60", "pop_0_17"):
        if col not in dem.columns:
            dem[col] = np.nan
            notes.append(Note(f"需求点没有 {col} 列：以其加权的指标留空", f"demand has no {col} column: indicators weighted by it are left empty"))
            continue
        pops[col] = dem[col] = _io._numeric_column(demand, col, what="population", file=demand.attrs.get("source"),
                                                   rows=labels, required=True, nonneg=True)
    _io._check_pop_parts(pops, fields={}, file=demand.attrs.get("source"), rows=labels)

    for t in type_list:
        wcol = catalogue[t].weight
        if wcol in pops and not allow_zero_weight and not np.nansum(pops[wcol]) > 0:
            raise InputError(
                f"{wcol} is 0 for every demand point: coverage of people for {t} cannot be computed "
                f"(wrong column, or a template without numbers?); pass allow_zero_weight=True to continue "
                "without those indicators",
                file=demand.attrs.get("source"), field=wcol)
        if wcol in pops and not np.nansum(pops[wcol]) > 0:
            notes.append(Note(f"需求点的 {wcol} 全为 0：{catalogue[t].name_zh}的人口覆盖指标无法计算",
                              f"{wcol} is 0 for every demand point: people indicators of {t} cannot be computed"))

    has_capacity = "capacity" in fac.columns and pd.to_numeric(fac["capacity"], errors="coerce").notna().any()
    if has_capacity:
        fac["capacity"] = pd.to_numeric(fac["capacity"], errors="coerce")
    # Each type on the network of its own mode; a missing mode is an error, never a fallback.
    nets = _checks.networks_by_mode(network)
    _checks.require_modes(nets, catalogue, type_list)
    used = {t: nets[catalogue[t].mode] for t in type_list}
    used_modes = list(dict.fromkeys(net.mode for net in used.values()))
    first_net = used[type_list[0]]
    check_rows: list[dict] = []

    if units is not None:
        # Unit checks first: they are cheap and a wrong unit layer makes every later number wrong.
        _require_columns(units, ["code", "name"], "admin units")
        if units.crs is None:
            from geoplan._errors import CRSError

            raise CRSError("admin units have no CRS", file=units.attrs.get("source"))
        units = units.copy()
        units["code"] = units["code"].astype(str)
        units, rows = _checks.repair_units(units, how=invalid_units, crs=first_net.crs)
        check_rows += rows
        repaired = rows
        for r in rows:
            notes.append(Note(f"行政单位 {r['item']}（{r['name']}）的面无效，已修复：{r['detail_zh']}",
                              f"admin unit {r['item']} ({r['name']}): invalid polygon repaired: {r['detail_en']}"))
        dem["unit_code"], rows = _checks.assign_units(dem, units, crs=first_net.crs)
        check_rows += rows
        fac["unit_code"] = _checks.assign_units(fac, units, crs=first_net.crs)[0]
        rows, unit_notes = _checks.check_unit_demand(
            dem, units, demand_src=demand.attrs.get("source"), allow_outside=allow_outside,
            allow_empty_units=allow_empty_units, max_outside_share=max_outside_share, repaired=repaired)
        check_rows += rows
        notes.extend(Note(zh, en) for zh, en in unit_notes)

    snaps: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {
        m: (snap(nets[m], dem, max_distance=max_snap_m), snap(nets[m], fac, max_distance=max_snap_m)) for m in used_modes
    }
    dsnap, fsnap = snaps[first_net.mode]
    dem["snap_m"] = dsnap["snap_m"]
    dem["too_far"] = dsnap["too_far"]
    fac["snap_m"] = fsnap["snap_m"]
    fac["too_far"] = fsnap["too_far"]
    for m in used_modes[1:]:
        # A facility is judged against the network of its own type's mode.
        own = fac["type"].map(lambda t: t in used and used[t].mode == m).to_numpy(bool)
        fac.loc[own, "snap_m"] = snaps[m][1].loc[own, "snap_m"]
        fac.loc[own, "too_far"] = snaps[m][1].loc[own, "too_far"]
    fac["too_far"] = fac["too_far"].astype(bool)
    for frame, what, src in ((dem, "demand points", demand), (fac, "facilities", facilities)):
        far = frame["too_far"].to_numpy()
        if len(frame) and far.mean() > 0.5:
            first = frame.index[far][0]
            raise InputError(
                f"{int(far.sum())} of {len(frame)} {what} are farther than the snap limit from the road network "
                f"(first: {frame.loc[first, 'snap_m']:.0f} m away): are they in the network's area, is the datum right "
                "(wgs84/gcj02/bd09) and are lon/lat swapped?",
                **_where(src, first), field="geometry",
            )
    limits = {m: float(max_snap_m) if max_snap_m is not None else MAX_SNAP_M[m] for m in MAX_SNAP_M}
    check_rows += _checks.check_far_facilities(fac, facilities, type_list=type_list, catalogue=catalogue, limits=limits,
                                               allow=allow_far_facilities)
    if dem["too_far"].any():
        n_far = int(dem["too_far"].sum())
        notes.append(Note(f"{n_far} 个需求点距路网超过吸附限值，计为未覆盖", f"{n_far} demand point(s) lie farther than the snap limit from any road: counted as not covered"))
        first = dem.index[dem["too_far"].to_numpy()][0]
        check_rows.append(_checks._row(
            "demand_far_from_network", dem.at[first, "id"] if "id" in dem else first, None, demand.attrs.get("source"),
            _where(demand, first)["row"],
            f"{n_far} 个需求点距{_checks.MODE_ZH[first_net.mode]}路网超过 {limits[first_net.mode]:,.0f} 米（首个见本行），计为未覆盖。",
            f"{n_far} demand point(s) beyond {limits[first_net.mode]:,.0f} m of the {first_net.mode} network (first on "
            "this row): counted as not covered."))
    far_fac = fac["type"].isin(type_list).to_numpy() & fac["too_far"].to_numpy()
    if far_fac.any():
        # Presence in a unit is a register fact (the centre exists there): far facilities still
        # count for has_facility; only the travel times leave them out.
        notes.append(Note(f"{int(far_fac.sum())} 处设施距路网超过吸附限值，未参与出行时间计算，但仍计入所在单位的设施覆盖（有设施）",
                          f"{int(far_fac.sum())} facility(ies) lie farther than the snap limit from any road: left out "
                          "of travel times, but still counted as present in their unit (a register fact)"))

    sa_rows, sa_type_rows = [], []
    for t in type_list:
        ft = catalogue[t]
        net = used[t]
        dsn, fsn = snaps[net.mode]
        sel = fac.index[(fac["type"] == t) & ~fsn["too_far"]]
        cutoff_s = ft.cutoff_min * 60.0
        # Door to door: access stretch + partial edges + network (geoplan.network.snap).
        cost, src = nearest_points(net, fsn.loc[sel], dsn, towards=True)
        minutes = cost / 60.0
        nearest_id = np.where(src >= 0, fac.loc[sel, "id"].to_numpy()[np.maximum(src, 0)] if len(sel) else None, None)
        covered = (minutes <= ft.cutoff_min + 1e-9) & ~dsn["too_far"].to_numpy()
        dem[f"{t}_min"] = minutes
        dem[f"{t}_nearest"] = nearest_id
        dem[f"{t}_covered"] = covered
        if has_capacity and len(sel):
            # Beds (or places) per person of the served group reachable within the cutoff (2SFCA).
            dem[f"{t}_2sfca"] = two_step_fca(
                net, fsn.loc[sel], fac.loc[sel, "capacity"].to_numpy(float),
                dsn, np.where(dsn["too_far"], 0.0, np.nan_to_num(dem[ft.weight].to_numpy())), cutoff=cutoff_s,
            )
        if with_service_areas and len(sel):
            sa = service_areas(net, fac.loc[sel], cutoff=cutoff_s, nodes=fsn.loc[sel])
            if sa.crs != first_net.crs:  # walk and drive graphs may fall in different UTM zones
                sa = sa.to_crs(first_net.crs)
            sa["facility_id"] = fac.loc[sel, "id"].to_numpy()
            sa["type"] = t
            sa_rows.append(sa)
            sa_type_rows.append({"type": t, "geometry": shapely.union_all(sa.geometry.to_numpy())})

    crs = first_net.crs
    if sa_rows:
        sa_all = pd.concat(sa_rows)
        sa_by_type = gpd.GeoDataFrame(sa_type_rows, geometry="geometry", crs=crs)
    else:
        sa_all = gpd.GeoDataFrame({"facility_id": [], "type": []}, geometry=[], crs=crs)
        sa_by_type = gpd.GeoDataFrame({"type": []}, geometry=[], crs=crs)

    unit_table, summary, gaps = _indicators(dem, fac, units, catalogue, type_list)
    report = dict(first_net.report)
    for m in used_modes:
        rep = nets[m].report
        if rep.get("nodes_dropped_not_strongly_connected"):
            dropped, read = rep["nodes_dropped_not_strongly_connected"], rep.get("nodes_read")
            notes.append(Note(f"{_checks.MODE_ZH[m]}路网：保留最大连通部分，去除 {dropped} / {read} 个节点",
                              f"{m} network: kept the largest connected part; {dropped} of {read} nodes dropped"))
    return CoverageResult(
        demand=dem,
        facilities=fac,
        service_areas=sa_all,
        service_areas_by_type=sa_by_type,
        units=unit_table,
        summary=summary,
        gaps=gaps,
        catalogue=catalogue.subset(type_list),
        notes=notes,
        network_report=report,
        modes={t: used[t].mode for t in type_list},
        checks=pd.DataFrame(check_rows, columns=_checks.CHECK_COLUMNS),
        network_reports={m: dict(nets[m].report) for m in used_modes},
        snaps={m: {"demand": snaps[m][0], "facilities": snaps[m][1]} for m in used_modes},
    )


def _indicators(dem, fac, units, catalogue: Catalogue, type_list: list[str]):
    """Per-unit tables, the summary against targets, and ranked gaps."""
    import geopandas as gpd

    rows = []
    summary = []
    gaps = []
    if units is not None:
        unit_index = units[["code", "name"]].copy()
        unit_index["kind"] = units["kind"] if "kind" in units else units["code"].map(unit_kind)
    else:
        unit_index = pd.DataFrame({"code": ["ALL"], "name": ["全部 / all"], "kind": [None]})
        dem = dem.assign(unit_code="ALL")
        fac = fac.assign(unit_code="ALL")
    for t in type_list:
        ft = catalogue[t]
        cov = dem[f"{t}_covered"].to_numpy()
        mins = dem[f"{t}_min"].to_numpy()
        wcol = ft.weight
        for _, u in unit_index.iterrows():
            in_u = (dem["unit_code"] == u["code"]).to_numpy()
            nf = int(((fac["unit_code"] == u["code"]) & (fac["type"] == t)).sum())
            rec = {
                "unit_code": u["code"],
                "unit_name": u["name"],
                "unit_kind": u["kind"],
                "type": t,
                "mode": ft.mode,
                "n_facilities": nf,
                "has_facility": nf > 0,
            }
            if "capacity" in fac.columns:
                cap = float(np.nansum(fac.loc[(fac["unit_code"] == u["code"]) & (fac["type"] == t), "capacity"]))
                pw = float(np.nansum(dem[wcol].to_numpy()[in_u]))
                rec["capacity"] = cap
                rec[f"capacity_per_1000_{wcol}"] = 1000.0 * cap / pw if pw > 0 else math.nan
            for col in ("pop", "pop_60", "pop_0_17"):
                w = dem[col].to_numpy()[in_u]
                tot = float(np.nansum(w))
                c = float(np.nansum(w[cov[in_u]]))
                rec[col] = tot
                rec[f"{col}_covered"] = c
                rec[f"share_{col}_covered"] = c / tot if tot > 0 else math.nan
            wts = np.nan_to_num(dem[wcol].to_numpy()[in_u])
            if not (wts > 0).any():
                wts = np.nan_to_num(dem["pop"].to_numpy()[in_u])
            rec["median_min"] = _weighted_quantile(mins[in_u], wts, 0.5)
            rec["p90_min"] = _weighted_quantile(mins[in_u], wts, 0.9)
            rows.append(rec)
            uncovered = float(np.nansum(dem[wcol].to_numpy()[in_u][~cov[in_u]]))
            if uncovered > 0:
                gaps.append({"unit_code": u["code"], "unit_name": u["name"], "type": t, "mode": ft.mode, "weight": wcol, "people_uncovered": uncovered,
                             "demand_points_uncovered": int((~cov[in_u]).sum())})
        table = pd.DataFrame([r for r in rows if r["type"] == t])
        # Units with a facility, per unit kind that has a target.
        kinds = table["unit_kind"].astype(object).where(table["unit_kind"].notna(), "any")
        for kind in sorted(set(kinds)):
            target = ft.unit_target(None if kind == "any" else kind)
            sub = table[kinds == kind]
            n, have = len(sub), int(sub["has_facility"].sum())
            value = have / n if n else math.nan
            need = max(0, math.ceil(round(target * n, 9)) - have) if target is not None else None
            summary.append({
                "type": t, "mode": ft.mode, "indicator": "share_units_with_facility", "unit_kind": kind, "value": value,
                "numerator": have, "denominator": n, "target": target,
                "passed": None if target is None else bool(value >= target - 1e-12),
                "shortfall": need, "shortfall_unit": "units",
            })
        tot = float(np.nansum(dem[wcol]))
        c = float(np.nansum(dem[wcol].to_numpy()[cov]))
        value = c / tot if tot > 0 else math.nan
        pt = ft.people_target
        summary.append({
            "type": t, "mode": ft.mode, "indicator": f"share_{wcol}_covered", "unit_kind": "all", "value": value,
            "numerator": c, "denominator": tot, "target": pt,
            "passed": None if pt is None or math.isnan(value) else bool(value >= pt - 1e-12),
            # Nobody of the group counted (no people, or no column): nothing computed, never "0 missing".
            "shortfall": None if pt is None or math.isnan(value) else max(0.0, math.ceil(pt * tot - c - 1e-9)),
            "shortfall_unit": wcol,
        })
        wts = np.nan_to_num(dem[wcol].to_numpy())
        summary.append({
            "type": t, "mode": ft.mode, "indicator": "median_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.5),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
        summary.append({
            "type": t, "mode": ft.mode, "indicator": "p90_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.9),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
    unit_table = pd.DataFrame(rows)
    if units is not None:
        geo = units.set_index("code").geometry
        unit_table = gpd.GeoDataFrame(unit_table, geometry=unit_table["unit_code"].map(geo).to_numpy(), crs=units.crs)
    gaps_df = pd.DataFrame(gaps, columns=["unit_code", "unit_name", "type", "mode", "weight", "people_uncovered",
                                         "demand_points_uncovered"])
    gaps_df = gaps_df.sort_values("people_uncovered", ascending=False, kind="stable").reset_index(drop=True)
    return unit_table, pd.DataFrame(summary), gaps_df
