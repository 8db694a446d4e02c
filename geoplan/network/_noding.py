"""Noding of road centre-lines (private; used by :mod:`geoplan.network._lines`).

Everything here works on plain arrays of shapely LineStrings in a metric CRS
and returns plain arrays plus a list of repair records; no pandas, no CRS.

The steps, in order (:func:`node_lines`):

1. drop empty and zero-length lines;
2. move dead-end nodes onto another line end within ``snap_tolerance``;
3. move dead-end nodes that lie within ``snap_tolerance`` of another line onto
   that line (near-miss T junctions) and split the line there; ends within
   ``node_tolerance`` of a line are joined the same way without a repair
   record (real layers stop micrometres short of the street they meet);
4. split lines where they cross or touch — except interior crossings of lines
   whose *level* differs (bridges, tunnels): those stay unsplit;
5. merge segment ends within ``node_tolerance`` into one node and drop exact
   duplicate segments (same two nodes, same shape in either direction).

Steps 2–3 work on nodes (ends within ``node_tolerance`` of each other), not
single ends.  A node is a *dead end* when all its ends leave it the same way,
so copies of one line (duplicates, a line and a piece of it) still count as
one dead end and are moved together.  A dead end that already lies on
another line's interior is a T junction as drawn and is not moved in step 2.
Moves beyond ``node_tolerance`` only go to ends and lines of the same
*level*; ends that touch a line within ``node_tolerance`` join it whatever
the levels (the layer draws them joined, like a ramp landing on a road).

Steps 2–3 use a KD-tree and an STRtree, step 4 one vectorised
``shapely.intersection`` over the STRtree's intersecting pairs; no step is
quadratic in the number of lines.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geoplan.network._noding_cut import _clusters, _nodes_and_duplicates, _split_at_crossings
from geoplan.network._repairs import REPAIR_TYPES, Noded, Repair

def _share_node(labels: np.ndarray, n: int, la: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Whether lines ``la[i]`` and ``lb[i]`` have an end on the same node."""
    a1, a2, b1, b2 = labels[la], labels[la + n], labels[lb], labels[lb + n]
    return (a1 == b1) | (a1 == b2) | (a2 == b1) | (a2 == b2)


def _pair_network_distance(labels: np.ndarray, n: int, length: np.ndarray, src: np.ndarray, dst: np.ndarray,
                           limit: float) -> np.ndarray:
    """Distance along the lines as they are (joined only at shared nodes) between node pairs; inf beyond ``limit``."""
    out = np.full(len(src), np.inf)
    if len(src) == 0:
        return out
    k = int(labels.max()) + 1
    g = sparse.coo_array((length, (labels[:n], labels[n:])), shape=(k, k)).tocsr()
    uniq, inv = np.unique(src, return_inverse=True)
    inv = inv.ravel()
    chunk = max(1, int(2**22 // max(k, 1)))  # about 32 MB of distances at a time
    for c0 in range(0, len(uniq), chunk):
        rows = csgraph.dijkstra(g, directed=False, indices=uniq[c0:c0 + chunk], limit=limit)
        sel = (inv >= c0) & (inv < c0 + chunk)
        out[sel] = rows[inv[sel] - c0, dst[sel]]
    return out


def _end_directions(lines: np.ndarray) -> np.ndarray:
    """Unit vector from each line end along the line, shape ``(2n, 2)`` (starts, then ends).

    Lines must have no repeated consecutive vertices and non-zero length.
    """
    coords = shapely.get_coordinates(lines)
    count = shapely.get_num_coordinates(lines)
    first = np.r_[0, np.cumsum(count)[:-1]]
    last = first + count - 1
    vec = np.vstack([coords[first + 1] - coords[first], coords[last - 1] - coords[last]])
    norm = np.hypot(*vec.T)
    return vec / np.where(norm > 0, norm, 1.0)[:, None]


#: Two ends at one node whose directions differ by less than this (unit-vector
#: distance, about 0.6 degrees) leave the node the same way: copies of one line.
_SAME_WAY = 0.01


def _cluster_tables(labels: np.ndarray, ends: np.ndarray, direction: np.ndarray):
    """Per node cluster: first end (representative), position, and whether all its ends leave the same way.

    A cluster whose ends all leave the same way is a dead end however many
    copies of the line meet there (duplicates, or a line and a piece of it),
    so duplicates do not stop gap repair.
    """
    k = int(labels.max()) + 1
    order = np.argsort(labels, kind="stable")
    first = order[np.searchsorted(labels[order], np.arange(k))]
    off = np.hypot(*(direction - direction[first[labels]]).T) > _SAME_WAY
    one_way = np.bincount(labels, weights=off, minlength=k) == 0
    return first, ends[first], one_way


def _members(labels: np.ndarray, n: int):
    """CSR of line positions per cluster: ``lines[ptr[c]:ptr[c+1]]`` have an end in cluster ``c``."""
    k = int(labels.max()) + 1
    order = np.argsort(labels, kind="stable")
    ptr = np.searchsorted(labels[order], np.arange(k + 1))
    return ptr, order % n, order


def _on_other_line(tree, lines: np.ndarray, labels: np.ndarray, n: int, cpos: np.ndarray, cand: np.ndarray,
                   tol: float, cdir: np.ndarray) -> np.ndarray:
    """Which clusters in ``cand`` lie within ``tol`` of another line's interior (already a T junction).

    A point within ``tol`` of the other line's end is a near-miss of two ends,
    not a T; nor is an end whose own line (direction ``cdir[c]``) runs along
    the other one, within about 6 degrees: collinear pieces that overlap.
    Those are left to end merging.
    """
    out = np.zeros(len(cpos), bool)
    if len(cand) == 0:
        return out
    pts = shapely.points(cpos[cand])
    q_pt, q_line = tree.query(pts, predicate="dwithin", distance=max(tol, 0.0))
    c = cand[q_pt]
    foreign = (labels[q_line] != c) & (labels[q_line + n] != c)
    q_pt, q_line, c = q_pt[foreign], q_line[foreign], c[foreign]
    if len(c):
        other = lines[q_line]
        at = shapely.line_locate_point(other, pts[q_pt])
        total = shapely.length(other)
        inside = (at > tol) & (at < total - tol)
        # direction of the other line around the point (a 1 m window)
        a = shapely.get_coordinates(shapely.line_interpolate_point(other, np.maximum(at - 0.5, 0.0)))
        b = shapely.get_coordinates(shapely.line_interpolate_point(other, np.minimum(at + 0.5, total)))
        d = b - a
        d /= np.maximum(np.hypot(*d.T), 1e-12)[:, None]
        along = np.abs(cdir[c, 0] * d[:, 1] - cdir[c, 1] * d[:, 0]) < 0.1
        out[np.unique(c[inside & ~along])] = True
    return out


def _line_targets(tree, lines: np.ndarray, labels: np.ndarray, n: int, length: np.ndarray, level: np.ndarray,
                  first: np.ndarray, cpos: np.ndarray, clusters: np.ndarray, *, node_tolerance: float,
                  snap_tolerance: float):
    """Lines a dead-end node may be joined to: (cluster, line, distance) triples.

    Within ``node_tolerance`` any line that has no end at the node (the join is
    as drawn).  Beyond it, up to ``snap_tolerance``, only lines of the node's
    level (a footway end is not moved onto the tunnel under it) that the node
    does not already reach along the lines within twice ``snap_tolerance`` (a
    chain of short pieces would fold onto itself).
    """
    tol = max(snap_tolerance, node_tolerance)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(clusters) == 0 or tol <= 0:
        return empty
    pts = shapely.points(cpos[clusters])
    q_pt, q_line = tree.query(pts, predicate="dwithin", distance=tol)
    cl = clusters[q_pt]
    own = (labels[q_line] == cl) | (labels[q_line + n] == cl)
    q_pt, q_line, cl = q_pt[~own], q_line[~own], cl[~own]
    if len(q_pt) == 0:
        return empty
    d = shapely.distance(pts[q_pt], lines[q_line])
    lim = 2 * snap_tolerance
    du = _pair_network_distance(labels, n, length, cl, labels[q_line], lim)
    dv = _pair_network_distance(labels, n, length, cl, labels[q_line + n], lim)
    at = shapely.line_locate_point(lines[q_line], pts[q_pt])
    reach = np.minimum(du + at, dv + (length[q_line] - at))
    same_level = level[first[cl] % n] == level[q_line]
    ok = (d <= node_tolerance) | ((d <= snap_tolerance) & ~(reach <= lim) & same_level)
    return cl[ok], q_line[ok], d[ok]


def _merge_dangling_ends(ends: np.ndarray, labels: np.ndarray, n: int, radius: float,
                         length: np.ndarray, *, movable: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Move dead-end nodes onto the nearest other line end within ``radius``.

    Works on node clusters: all ends at a movable cluster (``movable[c]``: a
    dead end that does not already lie on another line) move together, at most
    ``radius``, onto a line end of the same ``level``; the end they move to
    stays put (no chains).  A cluster never moves onto an end of its own lines
    or onto an end it already reaches along the lines within twice
    ``radius``, so a road drawn as many short pieces is not folded up.
    Nearest pairs are settled first.
    """
    pos = ends.copy()
    dc = np.flatnonzero(movable)
    if len(dc) == 0:
        return pos
    first, cpos, _ = _cluster_tables(labels, ends, np.zeros_like(ends))
    k_cl = len(first)
    near = cKDTree(ends).query_ball_point(cpos[dc], r=radius)
    c = np.repeat(dc, [len(x) for x in near])
    t = np.fromiter((j for x in near for j in x), dtype=np.int64, count=len(c))
    tc = labels[t]
    ok = (tc != c) & (level[first[c] % n] == level[t % n])
    c, tc = c[ok], tc[ok]
    if len(c) == 0:
        return pos
    pair = np.unique(c * k_cl + tc)
    c, tc = pair // k_cl, pair % k_cl
    along = _pair_network_distance(labels, n, length, c, tc, 2 * radius)
    c, tc = c[~np.isfinite(along)], tc[~np.isfinite(along)]
    if len(c) == 0:
        return pos
    dist = np.hypot(*(cpos[c] - cpos[tc]).T)
    order = np.lexsort((tc, c, dist))
    ptr, mem_line, _ = _members(labels, n)
    node = np.arange(k_cl)
    cur = cpos.copy()
    moved = np.zeros(k_cl, bool)
    anchored = np.zeros(k_cl, bool)

    def nodes_of(cl: int) -> set:
        ln = mem_line[ptr[cl]:ptr[cl + 1]]
        return set(node[labels[ln]].tolist()) | set(node[labels[ln + n]].tolist())

    for j in order:
        a, b = int(c[j]), int(tc[j])
        if moved[a] or anchored[a]:
            continue
        if nodes_of(a) & nodes_of(b):
            continue  # already neighbours (own line, or through an earlier move): would fold
        if np.hypot(*(cpos[a] - cur[b])) > radius:
            continue
        cur[a] = cur[b]
        node[a] = node[b]
        moved[a] = True
        anchored[b] = True
    shift = moved[labels]
    pos[shift] = cur[labels[shift]]
    return pos


def _set_ends(lines: np.ndarray, start_xy: np.ndarray, end_xy: np.ndarray) -> np.ndarray:
    out = np.empty(len(lines), dtype=object)
    for i, ln in enumerate(lines):
        c = shapely.get_coordinates(ln)
        c[0] = start_xy[i]
        c[-1] = end_xy[i]
        out[i] = shapely.linestrings(c)
    return out


def _ends_onto_lines(lines: np.ndarray, ends: np.ndarray, labels: np.ndarray, length: np.ndarray, lev: np.ndarray,
                     src: np.ndarray, repairs: list, counts: dict, *, node_tolerance: float, snap_tolerance: float):
    """Step 3 of :func:`node_lines`: dead ends onto the line they nearly meet, the line cut there.

    Returns ``(lines, ends, tree, extra)``: the lines with their moved ends, the STRtree over
    them, and the cut points ``(line, NaN, x, y)`` (distance along found once ends are final).
    """
    n = len(lines)
    tol = max(snap_tolerance, node_tolerance)
    tree = shapely.STRtree(lines)
    # split points: (line, distance along, x, y)
    extra: list[tuple[int, float, float, float]] = []
    if tol > 0 and n:
        first, cpos, dead_end = _cluster_tables(labels, ends, _end_directions(lines))
        pts = shapely.points(cpos)
        cl, q_line, d = _line_targets(tree, lines, labels, n, length, lev, first, cpos, np.flatnonzero(dead_end),
                                      node_tolerance=node_tolerance, snap_tolerance=snap_tolerance)
        cl2, q_line2, d2 = _line_targets(tree, lines, labels, n, length, lev, first, cpos,
                                         np.flatnonzero(~dead_end), node_tolerance=node_tolerance,
                                         snap_tolerance=0.0)
        q_pt, q_line, d = np.r_[cl, cl2], np.r_[q_line, q_line2], np.r_[d, d2]  # q_pt: cluster number
        if len(q_pt):
            order = np.lexsort((q_line, d, q_pt))
            best = np.r_[True, q_pt[order][1:] != q_pt[order][:-1]]
            q_pt, q_line, d = q_pt[order][best], q_line[order][best], d[order][best]
            ptr, mem_line, mem_end = _members(labels, n)
            new_start = ends[:n].copy()
            new_end = ends[n:].copy()
            touched = np.zeros(n, bool)
            snapped_pts = []
            for p, li, dist in zip(q_pt, q_line, d):
                c = int(p)
                target = lines[li]
                along = float(shapely.line_locate_point(target, pts[p]))
                on = shapely.get_coordinates(shapely.line_interpolate_point(target, along))[0]
                extra.append((int(li), np.nan, on[0], on[1]))  # distance once the line's own ends are final
                snapped_pts.append((int(li), on, c))
                for k in mem_end[ptr[c]:ptr[c + 1]]:
                    line_i = k % n
                    if dist > node_tolerance:
                        repairs.append(Repair("end_snapped_to_line", shapely.linestrings([ends[k], on]),
                                              int(src[line_i]), float(np.hypot(*(ends[k] - on)))))
                        counts["end_snapped_to_line"] += 1
                    if k < n:
                        new_start[line_i] = on
                    else:
                        new_end[line_i] = on
                    touched[line_i] = True
            # other lines through the new junction (copies of the target line) are cut there too
            if snapped_pts:
                at_pts = shapely.points(np.array([o for _, o, _ in snapped_pts]))
                s_i, o_line = tree.query(at_pts, predicate="dwithin", distance=node_tolerance)
                tgt = np.array([li for li, _, _ in snapped_pts], dtype=np.int64)[s_i]
                cls = np.array([cc for _, _, cc in snapped_pts], dtype=np.int64)[s_i]
                keep_o = ((o_line != tgt) & (lev[o_line] == lev[tgt])
                          & (labels[o_line] != cls) & (labels[o_line + n] != cls))
                for si, oi in zip(s_i[keep_o], o_line[keep_o]):
                    o = snapped_pts[si][1]
                    extra.append((int(oi), np.nan, o[0], o[1]))
            if touched.any():
                idx = np.flatnonzero(touched)
                lines[idx] = _set_ends(lines[idx], new_start[idx], new_end[idx])
                ends = np.vstack([new_start, new_end])
                tree = shapely.STRtree(lines)
    return lines, ends, tree, extra


def node_lines(
    lines: np.ndarray,
    *,
    level: np.ndarray | None = None,
    node_tolerance: float = 0.01,
    snap_tolerance: float = 1.0,
) -> Noded:
    """Node an array of LineStrings (metric CRS).

    Parameters
    ----------
    lines
        Object array of shapely LineStrings (multi-parts exploded beforehand).
    level
        Integer level code per line; interior crossings of lines with
        different codes are not split (ends always connect).  ``None``: all on
        one level.
    node_tolerance
        Segment ends closer than this (metres) are one node; silent, meant for
        coordinate noise.
    snap_tolerance
        Largest gap (metres) closed by moving line ends; every move is a
        repair record.  0 disables snapping.

    Returns
    -------
    Noded
    """
    lines = np.asarray(lines, dtype=object)
    n_in = len(lines)
    src = np.arange(n_in)
    lev = np.zeros(n_in, dtype=np.int64) if level is None else np.asarray(level, dtype=np.int64)
    repairs: list[Repair] = []
    counts: dict[str, int] = {k: 0 for k in REPAIR_TYPES if k not in ("non_line_dropped", "small_component_dropped", "empty_dropped")}

    # 1. zero length
    length = shapely.length(lines)
    zero = ~(length > 0)
    for i in np.flatnonzero(zero):
        repairs.append(Repair("zero_length_dropped", shapely.get_point(lines[i], 0), int(src[i])))
    counts["zero_length_dropped"] = int(zero.sum())
    lines, src, lev = lines[~zero], src[~zero], lev[~zero]
    # repeated vertices carry no shape and would hide the direction a line leaves its end
    lines = shapely.remove_repeated_points(lines)
    n = len(lines)
    if n == 0:
        return Noded(np.empty(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros((0, 2)), repairs, counts)

    # 2. ends onto ends
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(lines, 0)),
                      shapely.get_coordinates(shapely.get_point(lines, -1))])  # (2n, 2)
    tol = max(snap_tolerance, node_tolerance)
    labels = _clusters(ends, node_tolerance)
    if snap_tolerance > node_tolerance:
        tree = shapely.STRtree(lines)
        length = shapely.length(lines)
        direction = _end_directions(lines)
        first, cpos, dead_end = _cluster_tables(labels, ends, direction)
        # an end already on another line is a T junction as drawn: it stays
        movable = dead_end & ~_on_other_line(tree, lines, labels, n, cpos, np.flatnonzero(dead_end), node_tolerance,
                                             direction[first])
        new_ends = _merge_dangling_ends(ends, labels, n, snap_tolerance, length, movable=movable, level=lev)
        moved = np.hypot(*(new_ends - ends).T)
        for k in np.flatnonzero(moved > 0):
            repairs.append(Repair("ends_merged", shapely.linestrings([ends[k], new_ends[k]]), int(src[k % n]), float(moved[k])))
        counts["ends_merged"] = int((moved > 0).sum())
        if (moved > 0).any():
            lines = _set_ends(lines, new_ends[:n], new_ends[n:])
            ends = new_ends
            labels = _clusters(ends, node_tolerance)

    # lines whose new ends collapsed onto each other
    length = shapely.length(lines)
    zero = (np.hypot(*(ends[:n] - ends[n:]).T) <= node_tolerance) & (length <= 2 * tol)
    if zero.any():
        for i in np.flatnonzero(zero):
            repairs.append(Repair("zero_length_dropped", lines[i], int(src[i]), float(length[i]), "shorter than the snap tolerance"))
        counts["zero_length_dropped"] += int(zero.sum())
        keep = ~zero
        lines, src, lev = lines[keep], src[keep], lev[keep]
        ends = np.vstack([ends[:n][keep], ends[n:][keep]])
        n = len(lines)
        labels = _clusters(ends, node_tolerance)
        length = length[keep]

    # 3. dead ends onto lines (every end of a dead-end node moves together, so copies stay together);
    # other nodes only onto lines within the node tolerance (a junction drawn on a road, or the
    # cut between two pieces of a line that is also drawn whole)
    lines, ends, tree, extra = _ends_onto_lines(lines, ends, labels, length, lev, src, repairs, counts,
                                                node_tolerance=node_tolerance, snap_tolerance=snap_tolerance)

    # 4. crossings and touches
    seg_geoms, seg_src = _split_at_crossings(lines, tree, ends, lev, src, extra, repairs, counts,
                                             node_tolerance=node_tolerance)
    # 5. nodes and duplicates
    return _nodes_and_duplicates(seg_geoms, seg_src, src, repairs, counts, node_tolerance=node_tolerance)
