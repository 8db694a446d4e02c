"""Differential sweep: every site model and solver against an independent reference, on many cases.

Run from the repository root::

    python benchmarks/differential.py                 # 2,000 cases
    python benchmarks/differential.py --cases 10000 --first-seed 500000
    python benchmarks/differential.py --models lscp,pmedian

Instances are SYNTHETIC (seeded random; geometric and adversarial: ties, odd cycles with
fractional LP relaxations, tiny cutoffs, zero weights, existing sites; every 4th of medium size).
The references and the checks are those of the test suite (``tests/differential_reference.py``):
plain dense ``scipy.optimize.milp`` models or brute-force enumeration.  Checked per case: the
answer is feasible and its objective is that of its sites; status "Optimal" ⇒ the reference
optimum; a reported bound is valid; a reported gap holds.

Prints, per model and solver, the cases checked and the mismatches, and exits with status 1 on
any mismatch (an exception counts as one).  "not proven" counts right answers whose status is not
"Optimal" (all of them for heuristics, which may still be optimal; should be 0 for exact solvers
on these small instances).  Seeds start at 100,000 by default, so the sweep does
not repeat the test run's cases.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import differential_reference as ref  # noqa: E402  (tests/differential_reference.py)

# Share of the cases per (model, solver): the cheap covering models get more.
WEIGHT = {
    ("lscp", "exact"): 4, ("lscp", "greedy"): 2,
    ("mclp", "exact"): 3, ("mclp", "greedy"): 2,
    ("reach_target", "exact"): 3, ("reach_target", "greedy"): 1,
    ("reach_target_units", "exact"): 1,
    ("pmedian", "exact"): 2, ("pmedian", "greedy"): 2,
    ("pcenter", "exact"): 2,
    ("capacitated_mclp", "exact"): 1,
    ("capacitated_pmedian", "exact"): 1, ("capacitated_pmedian", "greedy"): 1,
    ("colocate", "exact"): 2, ("colocate", "greedy"): 1,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=2000, help="total number of cases (default 2000)")
    ap.add_argument("--first-seed", type=int, default=100_000, help="first seed (default 100000)")
    ap.add_argument("--models", default="", help="comma-separated models to run (default: all)")
    ap.add_argument("--show", type=int, default=5, help="mismatches printed per model/solver (default 5)")
    a = ap.parse_args(argv)
    logging.getLogger("geoplan").setLevel(logging.ERROR)  # uncoverable-demand warnings are expected
    wanted = {m for m in a.models.split(",") if m}
    unknown = wanted - {m for m, _ in ref.CASES}
    if unknown:
        ap.error(f"unknown model(s) {sorted(unknown)}; known: {sorted({m for m, _ in ref.CASES})}")
    combos = [k for k in ref.CASES if not wanted or k[0] in wanted]
    total_w = sum(WEIGHT[k] for k in combos)
    counts = {k: max(1, round(a.cases * WEIGHT[k] / total_w)) for k in combos}
    print(f"Differential sweep: {sum(counts.values())} SYNTHETIC cases from seed {a.first_seed}")
    print(f"{'model':22s} {'solver':7s} {'checked':>8s} {'mismatches':>11s} {'not proven':>11s} {'seconds':>8s}")
    failed = 0
    for (model, solver), n in counts.items():
        t0 = time.perf_counter()
        bad = []
        unproven = 0  # answers (right ones) whose status is not "Optimal": expected for heuristics only
        for seed in range(a.first_seed, a.first_seed + n):
            try:
                problems = ref.run_case(model, solver, seed)
            except Exception as e:  # noqa: BLE001 — a crash is a mismatch too, reported with the seed
                problems = [f"{type(e).__name__}: {e}"]
            if problems:
                bad.append((seed, problems))
            elif ref.LAST["status"] not in (None, "Optimal"):
                unproven += 1
        failed += len(bad)
        print(f"{model:22s} {solver:7s} {n:8d} {len(bad):11d} {unproven:11d} {time.perf_counter() - t0:8.1f}",
              flush=True)
        for seed, problems in bad[:a.show]:
            print(f"    seed {seed}: {'; '.join(problems)}")
    print("all cases agree with the reference" if not failed else f"{failed} MISMATCH(ES)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
