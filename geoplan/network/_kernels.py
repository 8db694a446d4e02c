"""Compiled loops for the network's million-edge arrays (cutting lines into snap segments, finding the reverse
edges, the nearest of a point's candidate segments).

The numpy forms of these make several full-size temporaries each; on a 1M-node network they cost seconds
that these loops do in tens of milliseconds.  Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_NB = dict(cache=True, nogil=True)


@numba.njit(**_NB)
def cut_segments(xy, which, spacing):
    """Every vertex-to-vertex stretch of the lines (vertices ``xy`` of line ``which``, grouped) cut into
    ceil(L / spacing) equal pieces, as :func:`shapely.segmentize` does: ``(starts, ends, line, piece length)``.
    Repeated vertices (zero-length stretches) give no piece, as in GEOS."""
    m = len(which)
    total = 0
    for i in range(m - 1):
        if which[i + 1] == which[i]:
            length = math.hypot(xy[i + 1, 0] - xy[i, 0], xy[i + 1, 1] - xy[i, 1])
            if length > 0:
                total += max(int(math.ceil(length / spacing)), 1)
    a = np.empty((total, 2))
    b = np.empty((total, 2))
    line = np.empty(total, np.int64)
    seg_len = np.empty(total)
    j = 0
    for i in range(m - 1):
        if which[i + 1] != which[i]:
            continue
        ax, ay = xy[i, 0], xy[i, 1]
        dx, dy = xy[i + 1, 0] - ax, xy[i + 1, 1] - ay
        length = math.hypot(dx, dy)
        if not length > 0:
            continue
        n = max(int(math.ceil(length / spacing)), 1)
        px, py = ax, ay
        for k in range(n):
            if k + 1 == n:  # the last piece ends exactly on the vertex
                qx, qy = xy[i + 1, 0], xy[i + 1, 1]
            else:
                t = (k + 1) / n
                qx, qy = ax + t * dx, ay + t * dy
            a[j, 0], a[j, 1], b[j, 0], b[j, 1] = px, py, qx, qy
            line[j] = which[i]
            seg_len[j] = math.hypot(qx - px, qy - py)
            px, py = qx, qy
            j += 1
    return a, b, line, seg_len


@numba.njit(**_NB)
def reverse_edges(indptr, indices, length):
    """Per CSR edge u→v, the position of the edge v→u of equal length (within 1e-9 relative, 1e-6 m), else -1."""
    n = len(indptr) - 1
    out = np.full(len(indices), -1, np.int64)
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            for f in range(indptr[v], indptr[v + 1]):
                if indices[f] == u:
                    # np.isclose(length[f], length[e], rtol=1e-9, atol=1e-6)
                    if abs(length[f] - length[e]) <= 1e-6 + 1e-9 * abs(length[e]):
                        out[e] = f
                    break
    return out


@numba.njit(**_NB)
def best_of(px, py, sk, ax, ay, bx, by):
    """For each point, the nearest of its candidate segments ``sk[i, :]``: ``(column, distance, t along)``."""
    n, k = sk.shape
    col = np.empty(n, np.int64)
    dist = np.empty(n)
    tt = np.empty(n)
    for i in range(n):
        best, bj, bt = np.inf, 0, 0.0
        for j in range(k):
            s = sk[i, j]
            x0, y0 = ax[s], ay[s]
            dx, dy = bx[s] - x0, by[s] - y0
            l2 = dx * dx + dy * dy
            t = 0.0
            if l2 > 0:
                t = min(max(((px[i] - x0) * dx + (py[i] - y0) * dy) / l2, 0.0), 1.0)
            d = math.hypot(px[i] - (x0 + t * dx), py[i] - (y0 + t * dy))
            if d < best:
                best, bj, bt = d, j, t
        col[i], dist[i], tt[i] = bj, best, bt
    return col, dist, tt
