"""Tests for geoplan.io: planners' files in, clean EPSG:4326 layers out.

Fixtures are written into ``tmp_path`` at test time.  Their coordinates are
real places in 湘潭市 (Xiangtan, Hunan), town centres rounded to ~0.001°
(about 100 m) as read off OpenStreetMap, WGS-84:

    雨湖区 (Xiangtan city centre)  112.944, 27.829
    岳塘区                          112.970, 27.860
    湘潭县 易俗河镇                  112.950, 27.780
    湘乡市                          112.533, 27.735
    韶山市                          112.527, 27.918

The 6-digit division codes are the real ones (430302 雨湖区, 430304 岳塘区,
430321 湘潭县, 430381 湘乡市, 430382 韶山市).  Facility names, ids, bed
counts and populations are illustrative, not official figures.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPoint, Point, box

from geoplan import CRSError, InputError, OutputExistsError
from geoplan import io as gcrs
from geoplan import io as gio


def read_points(path, **kw):
    """gio.read_points with the fixtures' datum stated (they are WGS-84 points in Xiangtan)."""
    kw.setdefault("datum", "wgs84")
    return gio.read_points(path, **kw)


def read_polygons(path, **kw):
    kw.setdefault("datum", "wgs84")
    return gio.read_polygons(path, **kw)

PLACES = [
    # id, name, type, beds, lon, lat, admin_code
    ("001", "雨湖区养老服务中心", "养老院", 120, 112.944, 27.829, "430302"),
    ("002", "岳塘区养老服务中心", "养老院", 80, 112.970, 27.860, "430304"),
    ("003", "易俗河镇敬老院", "敬老院", 60, 112.950, 27.780, "430321"),
    ("004", "湘乡市社会福利院", "福利院", 200, 112.533, 27.735, "430381"),
    ("005", "韶山市敬老院", "敬老院", 50, 112.527, 27.918, "430382"),
]

ZH_HEADER = ["编号", "名称", "类型", "床位数", "经度", "纬度", "行政区划代码", "备注"]


def _zh_lines(rows=PLACES):
    lines = [",".join(ZH_HEADER)]
    for r in rows:
        lines.append(",".join(str(v) for v in r) + ",")
    return lines


def write_csv(path, lines, encoding="utf-8-sig", newline="\r\n"):
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


@pytest.fixture
def zh_csv(tmp_path):
    return write_csv(tmp_path / "养老机构.csv", _zh_lines())


def assert_error(exc, *, file=None, row=None, field=None, text=None):
    err = exc.value
    if file is not None:
        assert err.file == str(file)
    assert err.row == row
    if field is not None:
        assert err.field == field
    if text is not None:
        assert text in str(err), str(err)


# --------------------------------------------------------------------------
# reading points: formats


def test_csv_with_chinese_headers(zh_csv):
    gdf = read_points(zh_csv)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["id", "name", "type", "capacity", "admin_code", "备注", "geometry"]
    assert gdf["id"].tolist() == ["001", "002", "003", "004", "005"]  # leading zeros kept
    assert gdf["capacity"].tolist() == [120, 80, 60, 200, 50]
    assert gdf["admin_code"].iloc[3] == "430381"
    assert gdf.geometry.iloc[0].x == 112.944 and gdf.geometry.iloc[0].y == 27.829
    assert gio.source_rows(gdf).tolist() == [2, 3, 4, 5, 6]
    assert gdf.attrs["row_ranges"] == "2-6" and gdf.attrs["datum"] == "wgs84"
    assert gdf.attrs["source"] == str(zh_csv)


def test_gbk_csv_as_excel_writes_it(tmp_path):
    # Excel on Chinese Windows saves "CSV (逗号分隔)" in GBK with CRLF.
    path = write_csv(tmp_path / "gbk.csv", _zh_lines(), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    gdf = read_points(path)
    assert gdf["name"].iloc[0] == "雨湖区养老服务中心"
    assert gdf["type"].iloc[4] == "敬老院"


def test_explicit_encoding(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", _zh_lines(), encoding="gbk")
    assert read_points(path, encoding="gbk")["name"].iloc[1] == "岳塘区养老服务中心"
    with pytest.raises(InputError) as exc:
        read_points(path, encoding="utf-8")
    assert_error(exc, file=path, field="encoding", text="not valid utf-8")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"lon,lat,name\n112.9,27.8,\xff\xff\xff\n")
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, field="encoding", text="UTF-8")


def test_english_headers_plain_utf8_and_demand(tmp_path):
    lines = ["code,Name,lng,lat,population,pop_60,minors,other"]
    lines += ["A1,雨湖区,112.944,27.829,\"557,000\",120000,90000,x",
              "A2,韶山市,112.527,27.918,100000,25000,15000,y"]
    path = write_csv(tmp_path / "demand.csv", lines, encoding="utf-8", newline="\n")
    gdf = read_points(path, kind="demand")
    assert gdf["id"].tolist() == ["A1", "A2"]
    assert gdf["pop"].tolist() == [557000, 100000]  # thousands separator understood
    assert gdf["pop_60"].tolist() == [120000, 25000]
    assert gdf["pop_0_17"].tolist() == [90000, 15000]
    assert gdf["other"].tolist() == ["x", "y"]


def test_headers_with_notes_and_fullwidth(tmp_path):
    lines = ["名称,经度（WGS84）,纬度 (°),60岁以上人口（人）",
             "雨湖区,１１２．９４４,27.829,120000"]
    path = write_csv(tmp_path / "notes.csv", lines)
    gdf = read_points(path, kind="demand")
    assert gdf.geometry.iloc[0].x == pytest.approx(112.944)
    assert gdf["pop_60"].iloc[0] == 120000
    assert gdf["id"].tolist() == ["2"]  # no id column: the source row


def test_dms_coordinates(tmp_path):
    lines = ["名称,经度,纬度", "雨湖区,112°56'38.4\"E,27°49'44.4\"N"]
    gdf = read_points(write_csv(tmp_path / "dms.csv", lines))
    assert gdf.geometry.iloc[0].x == pytest.approx(112.944, abs=1e-9)
    assert gdf.geometry.iloc[0].y == pytest.approx(27.829, abs=1e-9)


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_datum_conversion_for_tables(tmp_path, datum):
    # Write the points as an Amap/Baidu user would copy them, read them back.
    rows = []
    for r in PLACES:
        x, y = gcrs.from_wgs84(r[4], r[5], datum)
        rows.append((*r[:4], f"{x:.9f}", f"{y:.9f}", r[6]))
    path = write_csv(tmp_path / "amap.csv", _zh_lines(rows))
    gdf = read_points(path, datum=datum)
    for g, r in zip(gdf.geometry, PLACES):
        assert abs(g.x - r[4]) < 1e-7 and abs(g.y - r[5]) < 1e-7
    plain = read_points(path)  # the same file read as WGS-84 is ~500 m off
    assert plain.geometry.iloc[0].distance(gdf.geometry.iloc[0]) > 0.003


def test_xlsx_with_title_row_blank_rows_and_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "机构"
    ws.append(["湘潭市养老机构一览表"])  # title row, as official lists have
    ws.append(ZH_HEADER)
    for i, r in enumerate(PLACES):
        ws.append([int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), None])
        if i == 1:
            ws.append([])  # a blank row in the middle
    other = wb.create_sheet("说明")
    other.append(["no coordinates here"])
    path = tmp_path / "机构.xlsx"
    wb.save(path)
    gdf = read_points(path)
    assert gdf["id"].tolist() == ["1", "2", "3", "4", "5"]  # numbers stored in Excel
    assert gdf["admin_code"].tolist() == [r[6] for r in PLACES]
    assert gio.source_rows(gdf).tolist() == [3, 4, 6, 7, 8]
    assert gdf.attrs["row_ranges"] == "3-4,6-8"
    assert read_points(path, sheet="机构").equals(gdf)
    with pytest.raises(InputError) as exc:
        read_points(path, sheet="不存在")
    assert_error(exc, file=path, field="sheet", text="机构, 说明")


def test_xlsx_error_row_numbers_match_excel(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度"])
    ws.append(["雨湖区", 112.944, 27.829])
    ws.append([])
    ws.append(["韶山市", "未知", 27.918])  # Excel row 4
    path = tmp_path / "rows.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=4, field="经度", text="not a number")


def test_xls_is_refused_clearly(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    with pytest.raises(InputError, match=r"\.xlsx"):
        read_points(path)


def _points_gdf(crs=4326):
    return gpd.GeoDataFrame(
        {"编号": [r[0] for r in PLACES], "名称": [r[1] for r in PLACES], "床位": [r[3] for r in PLACES]},
        geometry=[Point(r[4], r[5]) for r in PLACES],
        crs=4326,
    ).to_crs(crs)


def test_geojson_points(tmp_path):
    path = tmp_path / "pts.geojson"
    _points_gdf().to_file(path)
    gdf = read_points(path)
    assert gdf["id"].tolist() == [r[0] for r in PLACES]
    assert gdf["capacity"].tolist() == [r[3] for r in PLACES]
    assert gdf.geometry.iloc[2].equals_exact(Point(112.950, 27.780), 1e-9)


def test_gpkg_in_projected_crs_is_reprojected(tmp_path):
    path = tmp_path / "pts.gpkg"
    _points_gdf(crs=4547).to_file(path)  # CGCS2000 3° Gauss-Krüger CM 114°E
    gdf = read_points(path)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].distance(Point(112.944, 27.829)) < 1e-7


def test_amap_export_labelled_4326_but_gcj02(tmp_path):
    shifted = gcrs.geometry_from_wgs84(_points_gdf(), "gcj02")
    path = tmp_path / "amap.geojson"
    shifted.to_file(path)
    assert pyogrio.read_info(path)["crs"] == "EPSG:4326"
    gdf = read_points(path, datum="gcj02")
    assert gdf.geometry.iloc[0].distance(Point(112.944, 27.829)) < 1e-8


def test_shapefile_without_prj(tmp_path):
    path = tmp_path / "pts.shp"
    _points_gdf().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(CRSError) as exc:
        read_points(path)
    assert_error(exc, file=path, field="geometry", text="no coordinate reference system")


def test_non_point_geometry(tmp_path):
    gdf = _points_gdf()
    gdf.loc[3, "geometry"] = LineString([(112.5, 27.7), (112.6, 27.8)])
    path = tmp_path / "mixed.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError) as exc:
        read_points(path)
    # GIS features are numbered from 1 ("feature 4" is the 4th feature, index 3)
    assert_error(exc, file=path, row=4, field="geometry", text="LineString")


# --------------------------------------------------------------------------
# reading points: errors name file, row, field


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as exc:
        read_points(tmp_path / "nope.csv")
    assert_error(exc, file=tmp_path / "nope.csv", text="not found")


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", "编号,名称,经度,纬度\r\n".encode("utf-8-sig")])
def test_empty_files(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert exc.value.file == str(path)
    assert "empty" in str(exc.value) or "no data rows" in str(exc.value)


def test_missing_coordinate_columns_lists_columns(tmp_path):
    path = write_csv(tmp_path / "nocoords.csv", ["编号,名称,地址", "001,雨湖区养老服务中心,湘潭市雨湖区"])
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, field="lon", text="columns are: 编号, 名称, 地址")


def test_explicit_column_not_found(zh_csv):
    with pytest.raises(InputError) as exc:
        read_points(zh_csv, lon="X坐标")
    assert_error(exc, file=zh_csv, field="X坐标", text="columns are")


def test_ambiguous_longitude_columns(tmp_path):
    lines = ["名称,经度(高德),纬度(高德),经度(WGS84),纬度(WGS84)",
             "雨湖区,112.9495,27.8261,112.944,27.829"]
    path = write_csv(tmp_path / "two.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, text="经度(高德), 经度(WGS84)")
    gdf = read_points(path, lon="经度(WGS84)", lat="纬度(WGS84)")
    assert gdf.geometry.iloc[0].x == 112.944
    assert "经度(高德)" in gdf.columns


@pytest.mark.parametrize(
    "lon, lat, row_field, text",
    [
        ("abc", "27.829", "经度", "not a number"),
        ("", "27.829", "经度", "empty longitude"),
        ("112.944", "", "纬度", "empty latitude"),
        ("112.944", "95", "纬度", "outside -90..90"),
        ("200", "27.829", "经度", "outside -180..180"),
        ("27.829", "112.944", "纬度", "look swapped"),
        ("-27.8", "-112.9", "纬度", "look swapped"),
        ("0", "0", "经度", "missing location"),
    ],
)
def test_bad_coordinates(tmp_path, lon, lat, row_field, text):
    lines = ["编号,名称,经度,纬度", "001,雨湖区,112.944,27.829", f"002,韶山市,{lon},{lat}"]
    path = write_csv(tmp_path / "bad.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=3, field=row_field, text=text)


def test_swapped_whole_file(tmp_path):
    lines = ["名称,经度,纬度"] + [f"{r[1]},{r[5]},{r[4]}" for r in PLACES]
    path = write_csv(tmp_path / "swapped.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=2, field="纬度", text="look swapped")


def test_duplicate_ids_name_both_rows(tmp_path):
    rows = list(PLACES)
    rows[3] = ("002", *rows[3][1:])
    path = write_csv(tmp_path / "dup.csv", _zh_lines(rows))
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=5, field="编号", text="rows 3 and 5")
    # duplicates are fine for plain points
    assert len(read_points(path, kind="points")) == 5


def test_negative_population(tmp_path):
    lines = ["名称,经度,纬度,人口", "雨湖区,112.944,27.829,1000", "韶山市,112.527,27.918,-5"]
    path = write_csv(tmp_path / "neg.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=3, field="人口", text="negative")


def test_elderly_more_than_total(tmp_path):
    lines = ["名称,经度,纬度,人口,老年人口", "雨湖区,112.944,27.829,1000,1200"]
    path = write_csv(tmp_path / "old.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=2, field="老年人口", text="exceeds")


def test_demand_needs_population(zh_csv):
    with pytest.raises(InputError) as exc:
        read_points(zh_csv, kind="demand")
    assert_error(exc, file=zh_csv, field="pop", text="population column")


def test_demand_empty_population(tmp_path):
    lines = ["名称,经度,纬度,人口", "雨湖区,112.944,27.829,"]
    path = write_csv(tmp_path / "emptypop.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=2, field="人口", text="empty population")


def test_bad_options(zh_csv):
    with pytest.raises(InputError, match="gcj02"):
        read_points(zh_csv, datum="amap")
    with pytest.raises(InputError, match="facilities, demand, points"):
        read_points(zh_csv, kind="schools")


# --------------------------------------------------------------------------
# check_within


def test_check_within(zh_csv):
    gdf = read_points(zh_csv)
    gio.check_within(gdf, (112.4, 27.6, 113.1, 28.0))
    city = box(112.85, 27.75, 113.05, 27.95)  # the urban districts only
    with pytest.raises(InputError) as exc:
        gio.check_within(gdf, city, what="facilities")
    # 湘乡 and 韶山 (source rows 5 and 6) are outside.
    assert_error(exc, file=zh_csv, row=5, text="2 of 5 facilities lie outside the area (rows 5, 6)")
    area = gpd.GeoDataFrame(geometry=[city], crs=4326).to_crs(32649)
    with pytest.raises(InputError, match="rows 5, 6"):
        gio.check_within(gdf, area, file="x.csv")
    with pytest.raises(InputError):
        gio.check_within(gdf, "湘潭")


# --------------------------------------------------------------------------
# polygons


def _units(code_values=None, crs=4326):
    codes = code_values or [int(r[6]) for r in PLACES]
    geoms = [box(r[4] - 0.02, r[5] - 0.02, r[4] + 0.02, r[5] + 0.02) for r in PLACES]
    names = ["雨湖区", "岳塘区", "湘潭县", "湘乡市", "韶山市"]
    return gpd.GeoDataFrame({"区划代码": codes, "名称": names, "level": 3}, geometry=geoms,
                            crs=4326).to_crs(crs)


def test_read_polygons_numeric_codes(tmp_path):
    path = tmp_path / "units.geojson"
    _units().to_file(path)
    gdf = read_polygons(path)
    assert gdf["code"].tolist() == [r[6] for r in PLACES]
    assert gdf["name"].iloc[4] == "韶山市"
    assert list(gdf.columns) == ["code", "name", "level", "geometry"]
    assert gdf.crs.to_epsg() == 4326


def test_read_polygons_gcj02_shapefile(tmp_path):
    # Chinese shapefiles are usually GBK; field names are limited to 10 bytes,
    # which "区划代码" fits only in GBK.
    path = tmp_path / "units.shp"
    gcrs.geometry_from_wgs84(_units(), "gcj02").to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    names = ["雨湖区", "岳塘区", "湘潭县", "湘乡市", "韶山市"]
    # Without a .cpg GDAL reads Latin-1 mojibake; geoplan detects GBK like for CSV.
    assert read_polygons(path, datum="gcj02")["name"].tolist() == names
    gdf = read_polygons(path, datum="gcj02", encoding="gbk")
    assert gdf["name"].tolist() == names
    ref = _units()
    # Shapefiles store outer rings clockwise, hence normalize() before comparing.
    assert gdf.geometry.iloc[0].normalize().equals_exact(ref.geometry.iloc[0].normalize(), 1e-8)


def test_read_polygons_lost_leading_zeros(tmp_path):
    path = tmp_path / "units.gpkg"
    _units([430302, 430304, 43032, 430381, 430382]).to_file(path)
    with pytest.raises(InputError) as exc:
        read_polygons(path)
    assert_error(exc, file=path, row=3, field="区划代码", text="leading zeros")


def test_read_polygons_duplicate_and_missing_codes(tmp_path):
    path = tmp_path / "dup.geojson"
    _units(["430302", "430304", "430302", "430381", "430382"]).to_file(path)
    with pytest.raises(InputError) as exc:
        read_polygons(path)
    assert_error(exc, file=path, row=3, field="区划代码", text="rows 1 and 3")
    path2 = tmp_path / "nocode.geojson"
    _units().drop(columns="区划代码").to_file(path2)
    with pytest.raises(InputError) as exc:
        read_polygons(path2)
    assert_error(exc, file=path2, field="code", text="columns are: 名称, level")


def test_read_polygons_rejects_points(tmp_path):
    path = tmp_path / "pts.geojson"
    _points_gdf().rename(columns={"编号": "code"}).to_file(path)
    with pytest.raises(InputError) as exc:
        read_polygons(path)
    assert_error(exc, file=path, row=1, field="geometry", text="polygon is needed")


# --------------------------------------------------------------------------
# writers


def test_write_geojson_utf8_unescaped(tmp_path, zh_csv):
    pts = read_points(zh_csv).to_crs(32649)
    path = tmp_path / "设施.geojson"
    gio.write_geojson(path, pts)
    raw = path.read_bytes()
    assert "雨湖区养老服务中心".encode("utf-8") in raw
    assert b"\\u" not in raw
    doc = json.loads(raw.decode("utf-8"))
    assert "crs" not in doc
    x, y = doc["features"][0]["geometry"]["coordinates"]
    assert x == pytest.approx(112.944, abs=1e-8) and y == pytest.approx(27.829, abs=1e-8)
    back = read_points(path)
    assert back["id"].tolist() == pts["id"].tolist()
    with pytest.raises(OutputExistsError):
        gio.write_geojson(path, pts)
    gio.write_geojson(path, pts.iloc[:1], overwrite=True)
    assert len(json.loads(path.read_text(encoding="utf-8"))["features"]) == 1
    with pytest.raises(CRSError):
        gio.write_geojson(tmp_path / "x.geojson", pts.set_crs(None, allow_override=True))


def test_write_geojson_odd_values(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"when": pd.to_datetime(["2024-01-01"]), "n": [np.nan], "名称": ["韶山市"]},
        geometry=[Point(112.527, 27.918)], crs=4326,
    )
    path = gio.write_geojson(tmp_path / "odd.geojson", gdf)
    props = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["n"] is None and props["名称"] == "韶山市" and props["when"].startswith("2024-01-01")


# --------------------------------------------------------------------------
# column types and less common layouts


def test_extra_columns_types(tmp_path):
    lines = ["名称,经度,纬度,村代码,楼层,备注",
             "雨湖区,112.944,27.829,007,3,",
             "韶山市,112.527,27.918,012,5,老楼"]
    gdf = read_points(write_csv(tmp_path / "types.csv", lines), kind="points")
    assert gdf["村代码"].tolist() == ["007", "012"]  # codes stay text
    assert gdf["楼层"].tolist() == [3, 5] and gdf["楼层"].dtype.kind in "if"
    assert pd.isna(gdf["备注"].iloc[0]) and gdf["备注"].iloc[1] == "老楼"


def test_geojson_extra_columns_keep_their_types(tmp_path):
    gdf = _points_gdf().assign(code_txt=["430302"] * 5, floors=[1, 2, 3, 4, 5])
    path = tmp_path / "typed.geojson"
    gdf.to_file(path)
    out = read_points(path)
    assert out["code_txt"].tolist() == ["430302"] * 5
    assert out["floors"].dtype.kind == "i"


def test_gpkg_attribute_table_with_lonlat(tmp_path):
    path = tmp_path / "table.gpkg"
    table = pd.DataFrame({"name": [r[1] for r in PLACES], "lng": [r[4] for r in PLACES],
                          "lat": [r[5] for r in PLACES]})
    pyogrio.write_dataframe(table, path, layer="facilities", driver="GPKG")
    gdf = read_points(path)
    assert gdf.geometry.iloc[4].equals(Point(112.527, 27.918))
    assert gdf["name"].iloc[4] == "韶山市敬老院"


def test_single_part_multipoints_accepted(tmp_path):
    gdf = _points_gdf()
    gdf.geometry = [MultiPoint([g]) for g in gdf.geometry]
    path = tmp_path / "multi.gpkg"
    gdf.to_file(path)
    out = read_points(path)
    assert out.geom_type.unique().tolist() == ["Point"]
    gdf.loc[1, "geometry"] = MultiPoint([(112.9, 27.8), (112.95, 27.85)])
    gdf.to_file(path)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=2, field="geometry", text="MultiPoint")


def test_gcj02_outside_china_is_logged(tmp_path, caplog):
    lines = ["名称,经度,纬度", "Helsinki,24.94,60.17", "雨湖区,112.944,27.829"]
    path = write_csv(tmp_path / "far.csv", lines)
    with caplog.at_level("WARNING", logger="geoplan"):
        gdf = read_points(path, datum="gcj02", kind="points")
    assert gdf.geometry.iloc[0].equals(Point(24.94, 60.17))  # no offset applied
    assert "outside mainland China" in caplog.text and "row 2" in caplog.text


def test_explicit_column_normalised_and_ambiguous(tmp_path):
    lines = ["名称,经度(WGS84),纬度(WGS84)", "雨湖区,112.944,27.829"]
    path = write_csv(tmp_path / "n.csv", lines)
    assert len(read_points(path, lon="经度", lat="纬度")) == 1
    lines = ["名称,经度(高德),经度(WGS84),纬度", "雨湖区,112.95,112.944,27.829"]
    path = write_csv(tmp_path / "a.csv", lines)
    with pytest.raises(InputError, match="ambiguous"):
        read_points(path, lon="经度")


def test_semicolon_and_tab_delimiters(tmp_path):
    for sep, name in ((";", "semi.csv"), ("\t", "tab.tsv")):
        lines = [sep.join(["名称", "经度", "纬度"]), sep.join(["雨湖区", "112.944", "27.829"])]
        gdf = read_points(write_csv(tmp_path / name, lines))
        assert gdf.geometry.iloc[0].equals(Point(112.944, 27.829))


def test_quoted_newline_keeps_row_numbers(tmp_path):
    lines = ['名称,经度,纬度', '"雨湖区\n养老服务中心",112.944,27.829', '韶山市,x,27.918']
    path = write_csv(tmp_path / "q.csv", lines, newline="\n")
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=3, field="经度")


def test_gbk_shapefile_values_without_cpg(tmp_path):
    # ASCII field names, Chinese values: only the values reveal the encoding.
    gdf = _points_gdf().rename(columns={"编号": "id", "名称": "name", "床位": "beds"})
    path = tmp_path / "gbk_pts.shp"
    gdf.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    out = read_points(path)
    assert out["name"].tolist() == [r[1] for r in PLACES]


def test_gpkg_layer_choice(tmp_path):
    path = tmp_path / "two.gpkg"
    _points_gdf().to_file(path, layer="养老")
    _points_gdf().iloc[:2].to_file(path, layer="未保站")
    assert len(read_points(path, layer="未保站")) == 2
    assert len(read_points(path, layer=0)) == 5
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, field="layer", text="养老, 未保站")
    with pytest.raises(InputError) as exc:
        read_points(path, layer="社工站")
    assert_error(exc, file=path, text="cannot read")


def test_read_polygons_without_name_and_with_explicit_columns(tmp_path):
    path = tmp_path / "u.geojson"
    _units().rename(columns={"区划代码": "XZQDM", "名称": "XZQMC"}).to_file(path)
    with pytest.raises(InputError, match="pass code_col"):
        read_polygons(path)
    gdf = read_polygons(path, code_col="XZQDM", name_col="XZQMC")
    assert gdf["code"].iloc[0] == "430302" and gdf["name"].iloc[0] == "雨湖区"
    gdf = read_polygons(path, code_col="XZQDM")
    assert gdf["name"].isna().all() and "XZQMC" in gdf.columns


def test_combined_lonlat_column_as_amap_gives_it(tmp_path):
    lines = ["名称,经纬度", '雨湖区,"112.944,27.829"', "韶山市,112.527，27.918"]
    path = write_csv(tmp_path / "amap.csv", lines)
    gdf = read_points(path)
    assert gdf.geometry.iloc[1].equals(Point(112.527, 27.918))
    assert "经纬度" not in gdf.columns
    bad = write_csv(tmp_path / "bad.csv", ["名称,经纬度", "雨湖区,112.944"])
    with pytest.raises(InputError) as exc:
        read_points(bad)
    assert_error(exc, file=bad, row=2, field="经纬度", text="longitude,latitude")


def test_projected_metres_in_lonlat_columns(tmp_path):
    # CGCS2000 3° Gauss-Krüger (zone 38) easting/northing of Xiangtan.
    lines = ["名称,X,Y", "雨湖区,38397000,3079000"]
    path = write_csv(tmp_path / "gk.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=2, field="X", text="projected metres")


# --------------------------------------------------------------------------
# property: whatever the encoding Excel used, a CSV reads back exactly

_NAME_CHARS = "雨湖岳塘湘潭乡韶山易俗河镇街道社区村敬老院福利中心站"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.lists(
        st.tuples(
            st.floats(73.5, 135.0), st.floats(18.0, 53.5),
            st.text(_NAME_CHARS, min_size=1, max_size=8), st.integers(0, 100000),
        ),
        min_size=1, max_size=20,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]),
    datum=st.sampled_from(["wgs84", "gcj02", "bd09"]),
)
def test_csv_roundtrip_property(tmp_path, points, encoding, datum):
    lines = ["名称,经度,纬度,人口"] + [f"{n},{x!r},{y!r},{p}" for x, y, n, p in points]
    path = write_csv(tmp_path / "p.csv", lines, encoding=encoding)
    gdf = read_points(path, kind="demand", datum=datum)
    assert gdf["name"].tolist() == [p[2] for p in points]
    assert gdf["pop"].tolist() == [p[3] for p in points]
    x, y = gcrs.to_wgs84(np.array([p[0] for p in points]), np.array([p[1] for p in points]), datum)
    assert np.array_equal(gdf.geometry.x.to_numpy(), x) and np.array_equal(gdf.geometry.y.to_numpy(), y)
    assert gio.source_rows(gdf).tolist() == list(range(2, len(points) + 2))


def test_excel_unicode_text_export(tmp_path):
    # Excel's "Unicode 文本 (*.txt)": UTF-16 LE with BOM, tab-separated.
    lines = ["\t".join(ZH_HEADER[:6])] + ["\t".join(str(v) for v in r[:6]) for r in PLACES]
    path = tmp_path / "导出.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    gdf = read_points(path)
    assert gdf["name"].tolist() == [r[1] for r in PLACES]
    assert gdf.geometry.iloc[3].equals(Point(112.533, 27.735))


# --------------------------------------------------------------------------
# issue 13: numbers are never read wrongly, codes never lose digits, clean errors


@pytest.mark.parametrize("text, value", [("1,234", 1234.0), ("12,345,678", 12345678.0), ("1,234.5", 1234.5),
                                         ("1 234", 1234.0), ("１２０", 120.0), ("120", 120.0), ("1e3", 1000.0)])
def test_thousands_in_groups_of_three_accepted(tmp_path, text, value):
    lines = ["名称,经度,纬度,人口", f'雨湖区,112.944,27.829,"{text}"']
    gdf = read_points(write_csv(tmp_path / "n.csv", lines), kind="demand")
    assert gdf["pop"].iloc[0] == value


@pytest.mark.parametrize("text", ["1,2", "1.234,5", "12,34", "1,2345", "1_000", "1,234,5", "1 2"])
def test_ambiguous_numbers_refused(tmp_path, text):
    # "1,2" used to become 12 and "1.234,5" 1.2345: each is refused, naming file, row and field.
    lines = ["名称,经度,纬度,人口", "韶山市,112.527,27.918,100", f'雨湖区,112.944,27.829,"{text}"']
    path = write_csv(tmp_path / "n.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=3, field="人口")


def test_decimal_comma_coordinates_refused(tmp_path):
    # "112,944" would pass as 112944 with thousands separators: coordinates never have them.
    lines = ["名称;经度;纬度", "雨湖区;112,944;27,829"]
    path = write_csv(tmp_path / "eu.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=2, field="经度", text="decimal")


@pytest.mark.parametrize("code, text", [("4.30302E+11", "scientific"), ("43030200100", "11 digits"),
                                        ("4303", "4 digits"), ("43030A", "digits only")])
def test_point_table_admin_codes_checked(tmp_path, code, text):
    lines = ["名称,经度,纬度,行政区划代码", "雨湖区,112.944,27.829,430302", f"韶山市,112.527,27.918,{code}"]
    path = write_csv(tmp_path / "c.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="points")
    assert_error(exc, file=path, row=3, field="行政区划代码", text=text)


def test_point_table_admin_codes_kept(tmp_path):
    lines = ["名称,经度,纬度,行政区划代码", "雨湖区,112.944,27.829,430302", "韶山市,112.527,27.918,430382100000",
             "湘潭县,112.950,27.780,430321101"]
    gdf = read_points(write_csv(tmp_path / "c.csv", lines), kind="points")
    assert gdf["admin_code"].tolist() == ["430302", "430382100000", "430321101"]  # not padded


def test_excel_numeric_admin_code_with_lost_digit(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度", "行政区划代码"])
    ws.append(["雨湖区", 112.944, 27.829, 430302001001])
    ws.append(["韶山市", 112.527, 27.918, 43038210000])  # 11 digits: a digit is missing
    path = tmp_path / "codes.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="points")
    assert_error(exc, file=path, row=3, field="行政区划代码", text="11 digits")


def test_polygon_code_in_scientific_notation_refused(tmp_path):
    path = tmp_path / "sci.geojson"
    _units(["430302", "4.30304E+11", "430321", "430381", "430382"]).to_file(path)
    with pytest.raises(InputError) as exc:
        read_polygons(path)
    assert_error(exc, file=path, row=2, field="区划代码", text="scientific")


def test_empty_and_blank_csv(tmp_path):
    for name, data in (("empty.csv", b""), ("bom.csv", "\ufeff\r\n\r\n".encode("utf-8")),
                       ("header.csv", "名称,经度,纬度\r\n".encode("utf-8"))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError) as exc:
            read_points(path)
        assert exc.value.file == str(path)


def test_corrupted_geopackage_is_a_clean_error(tmp_path):
    path = tmp_path / "units.gpkg"
    _units().to_file(path)
    raw = bytearray(path.read_bytes())
    # Overwrite pages in the middle of the file (schema/data pages of SQLite).
    for start in (8192, len(raw) // 2):
        bad = bytearray(raw)
        bad[start:start + 4096] = b"\xde\xad\xbe\xef" * 1024
        broken = tmp_path / f"broken_{start}.gpkg"
        broken.write_bytes(bytes(bad))
        for reader in (read_polygons, read_points):
            try:
                reader(broken)
            except InputError as err:
                assert err.file == str(broken)


def test_wkt_or_garbage_where_a_polygon_file_is_expected(tmp_path):
    with pytest.raises(InputError, match="WKT") as exc:
        read_polygons("POINT (112.944 27.829)")
    assert exc.value.file == "POINT (112.944 27.829)"
    path = tmp_path / "units.geojson"
    path.write_text("POINT (112.944 27.829)", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_polygons(path)
    assert exc.value.file == str(path)
    path = tmp_path / "units.csv"
    path.write_text("代码,名称\n430302,雨湖区\n", encoding="utf-8")
    with pytest.raises(InputError, match="polygon file"):
        read_polygons(path)
    with pytest.raises(InputError, match="folder"):
        read_polygons(tmp_path)


def test_gis_features_are_numbered_from_one(tmp_path):
    gdf = _points_gdf()
    gdf.loc[0, "geometry"] = None
    path = tmp_path / "first_missing.geojson"
    gdf.to_file(path)
    with pytest.raises(InputError) as exc:
        read_points(path)
    assert_error(exc, file=path, row=1, field="geometry", text="missing")


def test_row_ranges_are_a_scalar_in_attrs(tmp_path):
    # Issue 17: per-row lists in attrs made every pandas operation copy them.
    lines = ["名称,经度,纬度"] + [f"p{i},112.{i % 900 + 100},27.8" for i in range(2000)]
    gdf = read_points(write_csv(tmp_path / "many.csv", lines), kind="points")
    assert isinstance(gdf.attrs["row_ranges"], str) and gdf.attrs["row_ranges"] == "2-2001"
    assert all(not isinstance(v, (list, tuple, np.ndarray)) for v in gdf.attrs.values())
    assert gio.source_rows(gdf.iloc[:10]) is None  # a subset no longer matches
    assert gio.source_rows(gdf)[[0, -1]].tolist() == [2, 2001]


def test_duplicate_demand_ids_name_both_rows(tmp_path):
    """Review: a demand row pasted twice (same id, same place) used to count its people twice."""
    lines = ["编号,人口,经度,纬度", "A1,1000,112.944,27.829", "A2,500,112.970,27.860", "A1,1000,112.944,27.829"]
    path = write_csv(tmp_path / "dup_demand.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=4, field="编号", text="rows 2 and 4")
    # The same id at another place is refused the same way.
    lines[3] = "A1,1000,112.950,27.780"
    path = write_csv(tmp_path / "dup_demand2.csv", lines)
    with pytest.raises(InputError) as exc:
        read_points(path, kind="demand")
    assert_error(exc, file=path, row=4, field="编号", text="rows 2 and 4")


def test_gbk_text_that_is_also_valid_utf8_reads_as_chinese():
    """GBK "位" (bytes CE BB) is also valid UTF-8 ("λ"): a Chinese table must read as Chinese.

    Found by hypothesis in tests/test_boundaries_inputs.py; accented Latin text (Finnish names in the
    demo) and real UTF-8 Chinese must keep their UTF-8 reading.
    """
    from geoplan.io._encoding import _decode

    assert _decode("位".encode("gbk"), None, "t.csv") == "位"
    assert _decode("编号,备注\nM1,移位\n".encode("gbk"), None, "t.csv") == "编号,备注\nM1,移位\n"
    for text in ("位置λ", "Töölönkatu", "Ωmega café", "湘潭 界桩"):
        assert _decode(text.encode("utf-8"), None, "t.csv") == text


def test_utf8_bom_settles_the_encoding():
    """Found by hypothesis: an ASCII table saved as 'CSV UTF-8' (BOM) must not be read as GBK."""
    from geoplan.io._encoding import _decode

    text = "marker_code,result,notes\nM1,found,1\n"
    assert _decode(b"\xef\xbb\xbf" + text.encode("utf-8"), None, "t.csv") == text
