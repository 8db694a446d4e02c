"""Time the coverage map (``map.html``) at 10k / 100k / 1M SYNTHETIC demand points.

    python benchmarks/map_scale.py [--sizes 10000,100000,1000000] [--out /tmp/map_scale]

The demo's real coverage result is tiled into SYNTHETIC results of the given sizes
(``tests/map_synthetic.py``: demand copied side by side over a county-sized square, facilities and
units of the first tiles); for each, the map is built and written, and the time, the file size and the
number of grid cells are printed with the load average (other jobs on the machine slow it down).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from map_synthetic import synthetic_result  # noqa: E402


def _demo_result():
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards

    d = gdemo.load_demo()
    return coverage.assess({d.network.mode: d.network}, d.facilities, d.demand, units=d.units,
                           catalogue=standards.default_catalogue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--out", default="/tmp/map_scale")
    args = ap.parse_args()
    from geoplan.outputs._coverage_map import coverage_map

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = _demo_result()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    print(f"{'points':>10} {'build s':>8} {'map s':>7} {'MB':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        res = synthetic_result(base, n)
        t1 = time.perf_counter()
        path = coverage_map(res, out / f"map_{n}.html", overwrite=True)
        t2 = time.perf_counter()
        print(f"{n:>10,} {t1 - t0:>8.1f} {t2 - t1:>7.1f} {path.stat().st_size / 1e6:>6.2f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak RSS {peak:.2f} GB; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
