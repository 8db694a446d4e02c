"""The coverage engine: nearest facility, cost matrices and reachable nodes on a road network.

All searches are multi-source or cutoff-limited Dijkstra runs of
:func:`scipy.sparse.csgraph.dijkstra` on a :class:`geoplan.network.Network`;
nothing here builds an all-pairs matrix.  Points (not only nodes) are measured door to
door: the access stretch to the road, the partial edge and the network (:func:`point_ends`).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from geoplan._errors import InputError
from geoplan.network._network import Network

from geoplan.coverage._dijkstra import bounded_dijkstra

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

log = logging.getLogger("geoplan")

#: Bytes of dense distance rows scipy may allocate at once in batched searches.
_CHUNK_BYTES = 256 * 2**20


def _progress(iterable, *, total=None, desc=None, disable=None):
    if disable is None:  # bars only when asked for (the CLI's -v): never in a default run's log
        disable = not logging.getLogger("geoplan.progress").isEnabledFor(logging.DEBUG)
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


def access_cost(net: Network, snap_m: ArrayLike, weight: str = "time") -> np.ndarray:
    """Cost of the straight stretch from a point to its road: metres, or seconds at the access speed.

    Parameters
    ----------
    net
        The network; its ``access_speed_kmh`` converts metres to seconds.
    snap_m
        Straight-line distances from the points to their roads, in metres.
    weight
        ``"time"`` (seconds at the access speed) or ``"length"`` (metres, returned as given).

    Returns
    -------
    ndarray of float
        The access costs, one per input distance.
    """
    d = np.asarray(snap_m, dtype=float)
    return d if weight == "length" else d / (net.access_speed_kmh / 3.6)


def point_ends(net: Network, points: pd.DataFrame, weight: str = "time", *,
               leaving: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Where a snapped point joins the graph: its edge's two end nodes and the cost to/from each.

    Parameters
    ----------
    net
        The network the points were snapped to.
    points
        A snap table (:func:`geoplan.network.snap`).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
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

    Raises
    ------
    InputError
        ``weight`` is neither ``"time"`` nor ``"length"``.
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
    source_nodes: ArrayLike | pd.DataFrame,
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
    net
        The network the points were snapped to.
    sources, targets
        Snap tables (:func:`geoplan.network.snap`) of facilities and demand points.
    cutoff
        Costs beyond it are ``inf`` (and the search stops there).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
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
    origin_nodes: ArrayLike | pd.DataFrame,
    dest_nodes: ArrayLike | pd.DataFrame,
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = False,
    progress: bool | None = None,
) -> sparse.csr_array:
    """Sparse origin–destination costs within a cutoff.

    Parameters
    ----------
    net
        The network.
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
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    progress
        Show a progress bar over the search batches; None: only when the ``geoplan`` logger is at INFO.

    Returns
    -------
    scipy.sparse.csr_array, shape (len(origins), len(dests))
        Stored entries only for reachable pairs; explicit zeros are kept (a
        stored 0 means the same place).

    Raises
    ------
    InputError
        ``cutoff`` is not a positive finite number, or ``weight`` is unknown.
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
    source_nodes: ArrayLike | pd.DataFrame,
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = True,
) -> list[np.ndarray]:
    """For each source, the node positions within ``cutoff`` (cutoff-limited searches in batches).

    Parameters
    ----------
    net
        The network.
    source_nodes
        Node positions, or a snap table (:func:`geoplan.network.snap`): costs then start at the snapped point.
    cutoff
        Largest cost kept (seconds or metres).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    towards
        True: cost of travelling from each node *to* the source; False: from the source outwards.

    Returns
    -------
    list of ndarray of int
        One array per source (in input order): the node positions reached within ``cutoff``.
    """
    if not cutoff >= 0:  # NaN too: a search with no limit or a negative one is a caller's mistake
        raise InputError(f"cutoff must be a number >= 0, got {cutoff}", field="cutoff")
    n = net.n_nodes
    if _is_points(source_nodes):
        g = _augmented(net, weight, towards, source_nodes)
        src = n + np.arange(len(source_nodes))
    else:
        src = _node_array(source_nodes, n, "source_nodes")
        g = _graph(net, weight, towards)
    # cost per source follows the nodes it reaches, not n (scipy's rows are dense: 8 MB each at 1M nodes)
    reach = bounded_dijkstra(g, src, float(cutoff))
    cols = reach.indices
    return [cols[a:b][cols[a:b] < n] for a, b in zip(reach.indptr[:-1], reach.indptr[1:])]
