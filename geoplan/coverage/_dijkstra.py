"""Cutoff-limited Dijkstra whose cost follows the nodes reached, not the size of the graph.

``scipy.sparse.csgraph.dijkstra(..., limit=)`` returns a dense row of length ``n_nodes`` per source:
on a 1M-node graph every facility then costs several MB and a scan of the whole row, although a
15-minute walk reaches a few thousand nodes.  This search keeps one distance array for all sources
and resets only the entries it touched, so a source costs what it reaches.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse

_NB = dict(cache=True, nogil=True)


@numba.njit(**_NB)
def _push(heap_d, heap_v, size, d, v):
    i = size
    heap_d[i] = d
    heap_v[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if heap_d[parent] <= heap_d[i]:
            break
        heap_d[i], heap_d[parent] = heap_d[parent], heap_d[i]
        heap_v[i], heap_v[parent] = heap_v[parent], heap_v[i]
        i = parent
    return size + 1


@numba.njit(**_NB)
def _pop(heap_d, heap_v, size):
    d, v = heap_d[0], heap_v[0]
    size -= 1
    heap_d[0], heap_v[0] = heap_d[size], heap_v[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and heap_d[left + 1] < heap_d[left]:
            child = left + 1
        if heap_d[i] <= heap_d[child]:
            break
        heap_d[i], heap_d[child] = heap_d[child], heap_d[i]
        heap_v[i], heap_v[child] = heap_v[child], heap_v[i]
        i = child
    return d, v, size


@numba.njit(**_NB)
def _search(indptr, indices, data, source, limit, dist, done, heap_d, heap_v, out_v, out_d):
    """One search from ``source``: writes the settled nodes (in settling order) and costs; returns their count.

    ``dist`` must be all inf and ``done`` all False on entry; both are restored before returning.
    """
    size = _push(heap_d, heap_v, 0, 0.0, source)
    dist[source] = 0.0
    n_out = 0
    while size > 0:
        d, u, size = _pop(heap_d, heap_v, size)
        if done[u] or d > dist[u]:
            continue  # a stale heap entry
        done[u] = True
        out_v[n_out] = u
        out_d[n_out] = d
        n_out += 1
        for k in range(indptr[u], indptr[u + 1]):
            w = indices[k]
            nd = d + data[k]
            if nd <= limit and nd < dist[w] and not done[w]:
                dist[w] = nd
                size = _push(heap_d, heap_v, size, nd, w)
    # settled nodes are the only ones whose dist matters; pushed-but-unsettled ones were all settled
    # too (anything pushed is <= limit and is popped before the heap empties)
    for i in range(n_out):
        dist[out_v[i]] = np.inf
        done[out_v[i]] = False
    return n_out


def bounded_dijkstra(graph: sparse.csr_array, sources: np.ndarray, limit: float) -> sparse.csr_array:
    """Costs from each source to every node within ``limit`` on a directed graph.

    Parameters
    ----------
    graph
        Square CSR matrix of non-negative edge costs (row = tail, column = head).
    sources
        Node positions to search from.
    limit
        Largest cost kept (nodes at exactly ``limit`` are kept).

    Returns
    -------
    scipy.sparse.csr_array, shape (len(sources), n_nodes)
        Row ``k`` holds the cost from ``sources[k]`` to each node reached, columns sorted; the source itself
        is stored as an explicit 0.
    """
    n = graph.shape[0]
    sources = np.asarray(sources, dtype=np.int64)
    if len(sources) and (sources.min() < 0 or sources.max() >= n):  # the kernel does not check bounds
        raise ValueError(f"source node positions must lie in 0..{n - 1}")
    if not limit >= 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    data = graph.data.astype(np.float64)
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    cap = len(data) + 1  # every settled node relaxes each of its edges once: at most nnz + 1 pushes
    heap_d, heap_v = np.empty(cap), np.empty(cap, np.int64)
    out_v, out_d = np.empty(n, np.int64), np.empty(n)
    rows_v, rows_d, counts = [], [], np.zeros(len(sources), np.int64)
    for k, s in enumerate(sources):
        m = _search(indptr, indices, data, s, float(limit), dist, done, heap_d, heap_v, out_v, out_d)
        order = np.argsort(out_v[:m], kind="stable")
        rows_v.append(out_v[:m][order])
        rows_d.append(out_d[:m][order])
        counts[k] = m
    ptr = np.zeros(len(sources) + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    cols = np.concatenate(rows_v) if rows_v else np.zeros(0, np.int64)
    vals = np.concatenate(rows_d) if rows_d else np.zeros(0)
    return sparse.csr_array((vals, cols, ptr), shape=(len(sources), n))
