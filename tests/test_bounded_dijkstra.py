"""The cutoff-limited search (``coverage._dijkstra``) against scipy's ``csgraph.dijkstra`` over many generated
graphs, and ``reachable_nodes`` on the real Helsinki walk graph against scipy's dense rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from geoplan.coverage._dijkstra import bounded_dijkstra


def _random_graph(rng, n, density, integer):
    m = max(1, int(n * n * density))
    r, c = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.integers(0, 20, m).astype(float) if integer else rng.exponential(5.0, m)
    g = sparse.coo_array((w, (r, c)), shape=(n, n)).tocsr()  # duplicate pairs summed: still a valid graph
    g.eliminate_zeros()  # scipy reads a stored 0 as "no edge"; ours would read it as a free edge
    return g


@pytest.mark.parametrize("seed", range(60))
def test_equals_scipy_dijkstra(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    g = _random_graph(rng, n, float(rng.uniform(0.01, 0.2)), integer=seed % 2 == 0)
    limit = float(rng.choice([0.0, 3.0, 10.0, 25.0, np.inf]))
    src = rng.integers(0, n, int(rng.integers(1, 10)))  # repeats allowed
    got = bounded_dijkstra(g, src, limit)
    ref = np.atleast_2d(csgraph.dijkstra(g, directed=True, indices=src, limit=limit))
    assert got.shape == ref.shape
    dense = np.full(ref.shape, np.inf)
    for k in range(len(src)):
        a, b = got.indptr[k], got.indptr[k + 1]
        assert np.all(np.diff(got.indices[a:b]) > 0)  # sorted, no repeats
        dense[k, got.indices[a:b]] = got.data[a:b]
    # integer weights make exact ties with the limit: kept by both (cost <= limit)
    np.testing.assert_allclose(dense, ref, rtol=1e-12, atol=0)


def test_reachable_nodes_on_the_real_graph_equal_scipy_rows():
    from geoplan.coverage._engine import _graph, reachable_nodes
    from geoplan.demo import helsinki_pbf
    from geoplan.network import load_networks

    net = load_networks(helsinki_pbf(), modes={"walk"})["walk"]
    rng = np.random.default_rng(7)
    src = rng.choice(net.n_nodes, 40, replace=False)
    for cutoff in (60.0, 300.0, 900.0):
        got = reachable_nodes(net, src, cutoff=cutoff, weight="time", towards=True)
        d = csgraph.dijkstra(_graph(net, "time", True), directed=True, indices=src, limit=cutoff)
        for k in range(len(src)):
            assert got[k].tolist() == np.flatnonzero(np.isfinite(d[k])).tolist()


def test_bad_sources_and_limits_are_refused():
    from geoplan import InputError
    from geoplan.coverage._engine import reachable_nodes
    from geoplan.network import load_networks
    from geoplan.demo import helsinki_pbf

    g = sparse.csr_array(np.array([[0, 1.0, 0], [0, 0, 2.0], [0, 0, 0]]))
    for bad in ([3], [-1]):
        with pytest.raises(ValueError, match="source"):
            bounded_dijkstra(g, np.array(bad), 5.0)
    for limit in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="limit"):
            bounded_dijkstra(g, np.array([0]), limit)
    net = load_networks(helsinki_pbf(), modes={"walk"})["walk"]
    for cutoff in (-10.0, float("nan")):
        with pytest.raises(InputError, match="cutoff"):
            reachable_nodes(net, [0], cutoff=cutoff)
