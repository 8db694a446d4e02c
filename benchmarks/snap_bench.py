"""Snapping at scale — SYNTHETIC points on the real Helsinki walk network (issue 12, item 3).

Uniform random points over the network's extent (SYNTHETIC: for timing only) are snapped to the
nearest snappable edge with :func:`geoplan.network.snap`, then door-to-door costs to 50 of them
are computed with :func:`geoplan.coverage.nearest_points`.  Target: 1,000,000 points snapped in < 5 s.

Run: ``python benchmarks/snap_bench.py``
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np

from geoplan import coverage
from geoplan import demo as gdemo
from geoplan import network


def main() -> None:
    net = network.from_osm_file(gdemo.helsinki_pbf(), mode="walk")
    rng = np.random.default_rng(0)
    for n in (100_000, 1_000_000):
        x = rng.uniform(net.x.min(), net.x.max(), n)
        y = rng.uniform(net.y.min(), net.y.max(), n)
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=net.crs)
        network.snap(net, pts.iloc[:10])  # builds and caches the index
        t0, c0 = time.perf_counter(), time.process_time()
        s = network.snap(net, pts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        coverage.nearest_points(net, s.iloc[:50], s)
        near = time.perf_counter() - t0
        verdict = "" if n < 1_000_000 else ("  target < 5 s: met" if wall < 5 else "  target < 5 s: NOT met")
        print(f"SYNTHETIC {n:>9,} points: snap {wall:.2f} s wall ({cpu:.2f} s CPU), "
              f"nearest_points from 50 sources {near:.2f} s{verdict}")


if __name__ == "__main__":
    main()
