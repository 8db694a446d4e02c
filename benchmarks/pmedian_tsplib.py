"""p-median heuristic against the published state of the art (issue 17).

One command::

    python benchmarks/pmedian_tsplib.py                      # fl1400, pcb3038, rl5934, --time-limit 30
    python benchmarks/pmedian_tsplib.py --instances fl1400 --time-limit 10
    python benchmarks/pmedian_tsplib.py --orlib               # OR-Library pmed1-40 against pmedopt
    python benchmarks/pmedian_tsplib.py --orlib --solver exact

TSPLIB instances (fl1400, pcb3038, rl5934): every point is a customer and a candidate, unit weights, distance =
Euclidean distance rounded DOWN to an integer (the definition of Duran-Mateluna, Ales & Elloumi 2023, EJOR 308:84-96,
whose Tables 2-3 give the published values).  OR-Library pmed1-40 (Beasley 1985): all-pairs shortest paths on the
given graph, edges read in turn (a repeated edge keeps the last cost).  The files and the published values are read
from ``--data`` (default ``/work/shared/data/pmedian``, see SOURCES.md there); they are not shipped with geoplan.

Each instance runs in its own child process so that its peak memory (ru_maxrss of the child) is its own; the cost
matrix's size (data + indices + indptr of the CSR matrix handed to ``pmedian``) is printed beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

DATA = Path("/work/shared/data/pmedian")


def read_tsp(path: Path) -> np.ndarray:
    xy, on = [], False
    for line in path.read_text().splitlines():
        s = line.strip()
        if s.startswith("NODE_COORD_SECTION"):
            on = True
            continue
        if s in ("EOF", "") or not on:
            continue
        _, x, y = s.split()[:3]
        xy.append((float(x), float(y)))
    return np.array(xy)


def tsp_costs(xy: np.ndarray) -> sparse.csr_array:
    """Full n × n matrix of floor(Euclidean distance), zeros (a point to itself) stored explicitly."""
    n = len(xy)
    data = np.empty(n * n, dtype=np.float64)
    for a in range(0, n, 256):
        b = min(n, a + 256)
        d = np.sqrt((xy[a:b, None, 0] - xy[None, :, 0]) ** 2 + (xy[a:b, None, 1] - xy[None, :, 1]) ** 2)
        data[a * n:b * n] = np.floor(d).ravel()
    indices = np.tile(np.arange(n, dtype=np.int32), n)
    indptr = np.arange(0, n * n + 1, n, dtype=np.int32 if n * n < 2**31 else np.int64)
    return sparse.csr_array((data, indices, indptr), shape=(n, n))


def read_orlib(path: Path) -> tuple[sparse.csr_array, int]:
    from scipy.sparse.csgraph import shortest_path

    rows = path.read_text().split("\n")
    n, m, p = (int(v) for v in rows[0].split())
    edge = {}
    for line in rows[1:1 + m]:
        i, j, c = (int(v) for v in line.split())
        edge[(min(i, j), max(i, j))] = c  # a repeated edge keeps the last cost
    ij = np.array(list(edge.keys())) - 1
    g = sparse.coo_array((np.array(list(edge.values()), float), (ij[:, 0], ij[:, 1])), shape=(n, n))
    D = shortest_path(g.tocsr(), directed=False)
    data = D.ravel().astype(np.float64)
    indices = np.tile(np.arange(n, dtype=np.int32), n)
    return sparse.csr_array((data, indices, np.arange(0, n * n + 1, n, dtype=np.int32)), shape=(n, n)), p


def published(data: Path) -> dict:
    out = {}
    with open(data / "reference_values.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[(r["instance"], int(r["p"]) if r["p"] else None)] = (float(r["value"]), r["status"])
    return out


def run_one(args) -> dict:
    """Child process: build the matrix, solve, report (peak RSS of this process included)."""
    kind, data, name, p, time_limit, solver = args
    from geoplan.suggest import pmedian

    if kind == "tsplib":
        cost = tsp_costs(read_tsp(Path(data) / f"{name}.tsp"))
    else:
        cost, p = read_orlib(Path(data) / "orlib" / f"{name}.txt")
    # Warm-up on a small SYNTHETIC matrix of the same dtypes: loading numba's cached kernels takes seconds on a
    # busy machine, once per process, and is not the solver's work.
    rng = np.random.default_rng(0)
    warm = tsp_costs(rng.uniform(0, 1000, (700, 2)))
    pmedian(warm, None, 60, solver=solver, time_limit=2)
    mat_mb = (cost.data.nbytes + cost.indices.nbytes + cost.indptr.nbytes) / 2**20
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    sol = pmedian(cost, None, p, solver=solver, time_limit=time_limit)
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    # Independent recount of the objective from the chosen sites (dense min over their rows).
    rows = cost[np.sort(sol.selected)].toarray() if len(sol.selected) else np.zeros((0, cost.shape[1]))
    recount = float(rows.min(axis=0).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(instance=name, p=int(p), objective=sol.objective, recount=recount, bound=sol.bound, gap=sol.gap,
                status=sol.status, time=t, cpu=cpu, load=os.getloadavg()[0], peak_mb=peak, before_mb=rss0, matrix_mb=mat_mb,
                stopped=sol.diagnostics.get("stopped", ""))


def machine() -> str:
    model = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores (nproc), {model}, Python {platform.python_version()}; load average "
            f"{load} at start (the machine is shared with other jobs, so times vary)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the .tsp files, orlib/ and reference_values.csv")
    ap.add_argument("--instances", default="fl1400,pcb3038,rl5934", help="comma-separated TSPLIB instances")
    ap.add_argument("--p", default="", help="comma-separated p values (default: every p in reference_values.csv)")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--solver", default="greedy", choices=["greedy", "exact"])
    ap.add_argument("--orlib", action="store_true", help="run OR-Library pmed1-40 against pmedopt instead")
    a = ap.parse_args(argv)
    ref = published(a.data)
    if a.orlib:
        jobs = [("orlib", str(a.data), f"pmed{k}", None, a.time_limit, a.solver) for k in range(1, 41)]
    else:
        want_p = {int(v) for v in a.p.split(",") if v}
        jobs = [("tsplib", str(a.data), name, p, a.time_limit, a.solver)
                for name in a.instances.split(",") for (inst, p) in sorted(ref, key=lambda k: (k[0], k[1] or 0))
                if inst == name and (not want_p or p in want_p)]
    print(machine())
    print(f"solver={a.solver} time_limit={a.time_limit:g} s; excess = (objective - published) / published; "
          "gap = (objective - proven bound) / objective; time_s = wall time of the call, cpu_s = its CPU time (all "
          "threads of the child), load1 = 1-minute load average when it returned; peak = max RSS of the child process, rss0 = its RSS "
          "with the matrix built, before the call; solve/mat = (matrix + what the call added) / matrix; each "
          "instance in a fresh process, after a 2 s warm-up call on a small synthetic matrix (numba kernels loaded)")
    head = (f"{'instance':9} {'p':>5} {'objective':>11} {'published':>11} {'status':10} {'excess%':>8} {'bound':>12} "
            f"{'gap%':>7} {'time_s':>7} {'cpu_s':>6} {'load1':>5} {'stopped':>14} {'matrix_MB':>9} {'rss0_MB':>8} {'peak_MB':>8} {'peak/mat':>8} {'solve/mat':>9}")
    print(head, flush=True)
    ctx = mp.get_context("spawn")
    worst, slow, bad = 0.0, 0.0, []
    for job in jobs:
        with ctx.Pool(1) as pool:
            r = pool.apply(run_one, (job,))
        pub, pstat = ref[(r["instance"], None if a.orlib else r["p"])]
        excess = 100 * (r["objective"] - pub) / pub
        worst, slow = max(worst, excess), max(slow, r["time"])
        if abs(r["recount"] - r["objective"]) > 1e-6 * max(1.0, r["objective"]):
            bad.append(f"{r['instance']} p={r['p']}: objective {r['objective']} != recount {r['recount']}")
        if r["bound"] is not None and r["bound"] > pub * (1 + 1e-9) and pstat == "optimal":
            bad.append(f"{r['instance']} p={r['p']}: bound {r['bound']} above the proven optimum {pub}")
        gap = "" if r["gap"] is None else f"{100 * r['gap']:.3f}"
        bnd = "" if r["bound"] is None else f"{r['bound']:.1f}"
        print(f"{r['instance']:9} {r['p']:>5} {r['objective']:>11.0f} {pub:>11.0f} {pstat[:10]:10} {excess:>8.3f} "
              f"{bnd:>12} {gap:>7} {r['time']:>7.1f} {r['cpu']:>6.1f} {r['load']:>5.2f} {r['stopped']:>14} {r['matrix_mb']:>9.0f} {r['before_mb']:>8.0f} "
              f"{r['peak_mb']:>8.0f} {r['peak_mb'] / r['matrix_mb']:>8.2f} "
              f"{(r['peak_mb'] - r['before_mb'] + r['matrix_mb']) / r['matrix_mb']:>9.2f}", flush=True)
    print(f"worst excess over published: {worst:.3f} %; slowest: {slow:.1f} s; load average now "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for b in bad:
        print("CHECK FAILED:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
