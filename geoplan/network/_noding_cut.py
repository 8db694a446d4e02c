"""Steps 4–5 of noding road centre-lines (:func:`geoplan.network._noding.node_lines`): cut lines where they
cross or touch, then merge segment ends into nodes and drop duplicate segments.

Plain arrays of shapely LineStrings in a metric CRS, as in :mod:`geoplan.network._noding`.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geoplan.network._repairs import Noded, Repair


def _clusters(xy: np.ndarray, radius: float) -> np.ndarray:
    """Label points so that points within ``radius`` (transitively) share a label."""
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if radius <= 0:
        _, labels = np.unique(xy, axis=0, return_inverse=True)
        return labels.ravel()
    pairs = cKDTree(xy).query_pairs(radius, output_type="ndarray")
    # exact coincidence is always one node, whatever the radius
    g = sparse.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else sparse.coo_array((n, n))
    _, labels = csgraph.connected_components(g, directed=False)
    return labels


def _split_line(line, dists: np.ndarray, pts: np.ndarray, tol: float = 0.0) -> list:
    """Cut ``line`` at the given distances along it; cut points get the exact ``pts`` coordinates."""
    coords = shapely.get_coordinates(line)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    total = cum[-1]
    order = np.argsort(dists, kind="stable")
    pieces = []
    start_pt = coords[0]
    start_d = 0.0
    lo = 1  # first vertex strictly after start_d
    for k in order:
        d = dists[k]
        if d - start_d <= tol or total - d <= tol:
            continue
        hi = int(np.searchsorted(cum, d, side="left"))  # vertices with cum < d
        pieces.append(np.concatenate([start_pt[None], coords[lo:hi], pts[k][None]]))
        start_pt, start_d = pts[k], d
        lo = int(np.searchsorted(cum, d, side="right"))
    pieces.append(np.concatenate([start_pt[None], coords[lo:-1], coords[-1][None]]))
    return [p for p in pieces if len(p) >= 2]



def _split_at_crossings(lines: np.ndarray, tree, ends: np.ndarray, lev: np.ndarray, src: np.ndarray, extra: list,
                        repairs: list, counts: dict, *, node_tolerance: float) -> tuple[list, list]:
    """Step 4: cut every line where it crosses or touches another (not across levels) and at ``extra`` points.

    ``extra`` holds further cut points ``(line, distance along or NaN, x, y)`` from step 3.
    Returns the pieces' coordinate arrays or LineStrings and, per piece, its line's position.
    """
    n = len(lines)
    a, b = tree.query(lines, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    pair_idx = [np.zeros(0, np.int64)]
    pair_xy = [np.zeros((0, 2))]
    if len(a):
        inter = shapely.intersection(lines[a], lines[b])
        tid = shapely.get_type_id(inter)
        pointy = (tid == 0) | (tid == 4)  # Point, MultiPoint: the common case, vectorised
        xy, idx = shapely.get_coordinates(inter[pointy], return_index=True)
        pair_idx.append(np.flatnonzero(pointy)[idx])
        pair_xy.append(xy)
        for k in np.flatnonzero(~pointy & ~shapely.is_empty(inter)):
            # collinear overlaps: cut at the ends of every shared piece, and at points
            parts = shapely.get_parts(inter[k])
            lin = [p for p in parts if p.geom_type == "LineString"]
            other = [p for p in parts if p.geom_type != "LineString"]
            merged = list(shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lin)))) if lin else []
            pts = [shapely.get_coordinates(shapely.boundary(p)) for p in merged] + [shapely.get_coordinates(p) for p in other]
            pts = np.vstack(pts) if pts else np.zeros((0, 2))
            pair_idx.append(np.full(len(pts), k, dtype=np.int64))
            pair_xy.append(pts)
    P = np.concatenate(pair_idx)
    C = np.vstack(pair_xy)
    if len(P):
        pa, pb = a[P], b[P]
        cross_levels = lev[pa] != lev[pb]
        if cross_levels.any():
            dmin = np.full(len(P), np.inf)
            for e in (ends[pa], ends[pa + n], ends[pb], ends[pb + n]):
                dmin = np.minimum(dmin, np.hypot(*(C - e).T))
            kept = cross_levels & (dmin > node_tolerance)
            for k in np.flatnonzero(kept):
                repairs.append(Repair("level_crossing_kept", shapely.points(C[k]), int(src[pa[k]]),
                                      detail=f"rows {int(src[pa[k]])} and {int(src[pb[k]])}"))
            counts["level_crossing_kept"] = int(kept.sum())
            P, C, pa, pb = P[~kept], C[~kept], pa[~kept], pb[~kept]
    else:
        pa = pb = P
    cut_line = np.concatenate([pa, pb])
    cut_xy = np.vstack([C, C])
    cut_d = shapely.line_locate_point(lines[cut_line], shapely.points(cut_xy)) if len(cut_line) else np.zeros(0)
    # self-crossings of single lines
    simple = shapely.is_simple(lines)
    for li in np.flatnonzero(~simple):
        # GEOS returns the pieces of a self-noded line in order along it
        parts = shapely.get_parts(shapely.node(lines[li]))
        plen = np.cumsum(shapely.length(parts))[:-1]
        pts = shapely.get_coordinates(shapely.get_point(parts[1:], 0))
        for d, p in zip(plen, pts):
            extra.append((int(li), float(d), p[0], p[1]))
    if extra:
        ex = np.array(extra, dtype=float)
        late = np.isnan(ex[:, 1])
        if late.any():
            ex[late, 1] = shapely.line_locate_point(lines[ex[late, 0].astype(np.int64)], shapely.points(ex[late, 2:]))
        cut_line = np.concatenate([cut_line, ex[:, 0].astype(np.int64)])
        cut_d = np.concatenate([cut_d, ex[:, 1]])
        cut_xy = np.vstack([cut_xy, ex[:, 2:]])
    order = np.argsort(cut_line, kind="stable")
    cut_line, cut_d, cut_xy = cut_line[order], cut_d[order], cut_xy[order]
    bounds = np.searchsorted(cut_line, np.arange(n + 1))

    seg_geoms: list = []
    seg_src: list = []
    n_split = 0
    all_coords = shapely.get_coordinates(lines)
    starts_at = np.r_[0, np.cumsum(shapely.get_num_coordinates(lines))]
    for li in range(n):
        lo_, hi_ = bounds[li], bounds[li + 1]
        if hi_ > lo_:
            pieces = _split_line(lines[li], cut_d[lo_:hi_], cut_xy[lo_:hi_], node_tolerance)
            if len(pieces) > 1:
                n_split += 1
            seg_geoms.extend(pieces)
            seg_src.extend([li] * len(pieces))
        else:
            seg_geoms.append(all_coords[starts_at[li]:starts_at[li + 1]])
            seg_src.append(li)
    counts["split"] = n_split
    counts["segments_after_split"] = len(seg_geoms)
    return seg_geoms, seg_src


def _nodes_and_duplicates(seg_geoms: list, seg_src: list, src: np.ndarray, repairs: list, counts: dict, *,
                          node_tolerance: float) -> Noded:
    """Step 5: segment ends within ``node_tolerance`` become one node; exact duplicate segments are dropped."""
    lens = np.fromiter((len(g) for g in seg_geoms), dtype=np.int64, count=len(seg_geoms))
    coords = np.vstack(seg_geoms)
    first_row = np.r_[0, np.cumsum(lens)[:-1]]
    last_row = first_row + lens - 1
    m = len(seg_geoms)
    allpts = np.vstack([coords[first_row], coords[last_row]])
    lab = _clusters(allpts, node_tolerance)
    uniq_lab, first_idx, inv = np.unique(lab, return_index=True, return_inverse=True)
    node_xy = allpts[first_idx]
    u = inv[:m].ravel()
    v = inv[m:].ravel()
    coords[first_row] = node_xy[u]
    coords[last_row] = node_xy[v]
    seg_id = np.repeat(np.arange(m), lens)
    # drop repeated vertices inside each segment (a 1-point segment keeps two copies of its point)
    rep_v = np.r_[False, np.all(coords[1:] == coords[:-1], axis=1) & (seg_id[1:] == seg_id[:-1])]
    coords, seg_id = coords[~rep_v], seg_id[~rep_v]
    single = np.flatnonzero(np.bincount(seg_id, minlength=m) < 2)
    if len(single):
        pos = np.searchsorted(seg_id, single)
        coords = np.insert(coords, pos, coords[pos], axis=0)
        seg_id = np.insert(seg_id, pos, single)
    geoms = shapely.linestrings(coords, indices=seg_id)
    seg_src_arr = np.array(seg_src, dtype=np.int64)
    seg_len = shapely.length(geoms)
    tiny = (u == v) & (seg_len <= node_tolerance * 2)
    counts["tiny_pieces_dropped"] = int(tiny.sum())
    # duplicates: same node pair and same shape (either direction)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    norm = shapely.normalize(geoms)
    keep = ~tiny
    seen: dict = {}
    for k in range(m):
        if not keep[k]:
            continue
        key = (int(lo[k]), int(hi[k]))
        lst = seen.setdefault(key, [])
        dup = False
        for j in lst:
            if abs(seg_len[j] - seg_len[k]) <= 2 * node_tolerance and (
                shapely.equals_exact(norm[j], norm[k], tolerance=node_tolerance) or shapely.equals(geoms[j], geoms[k])
            ):
                dup = True
                break
        if dup:
            keep[k] = False
            repairs.append(Repair("duplicate_dropped", geoms[k], int(src[seg_src_arr[k]]), float(seg_len[k]),
                                  f"same as a segment of row {int(src[seg_src_arr[j]])}"))
            counts["duplicate_dropped"] += 1
        else:
            lst.append(k)
    geoms, u, v, seg_src_arr = geoms[keep], u[keep], v[keep], seg_src_arr[keep]
    # renumber nodes that are still used
    used = np.unique(np.r_[u, v])
    remap = np.full(len(node_xy), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return Noded(geoms, remap[u], remap[v], src[seg_src_arr], node_xy[used], repairs, counts)
