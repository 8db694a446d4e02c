"""The readers geoplan.io offers other subpackages (issue 14): read_table, decode_text, read_vector, resolve_datum.

They are the pieces read_points/read_polygons are built from, made public so that registers and
batch use one encoding sniffer and one datum rule instead of copies.  Fixture rows are the real
division codes and town centres of 湘潭市 used in test_io.py (WGS-84, rounded to ~100 m); the
polygon layer is the mainland outline shipped with geoplan.
"""

from __future__ import annotations

import importlib.resources

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from geoplan import InputError
from geoplan import io as gio

XIANGTAN = [("430302", "雨湖区", 112.944, 27.829), ("430304", "岳塘区", 112.970, 27.860)]
HELSINKI = (24.941, 60.170)  # Helsinki railway station: outside mainland China


def _mainland_file():
    return importlib.resources.files("geoplan").joinpath("data").joinpath("mainland").joinpath(
        "mainland_wgs84.geojson")


def _csv(path, lines, encoding):
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


# ----------------------------------------------------------------------------- decode_text
def test_decode_text_gbk_utf8_utf16():
    text = "代码,名称\n430302,雨湖区\n"
    assert gio.decode_text(text.encode("gbk")) == text
    assert gio.decode_text(text.encode("utf-8-sig")) == text
    assert gio.decode_text(text.encode("utf-16")) == text  # with a byte-order mark, as Excel writes it
    with pytest.raises(InputError) as exc:
        gio.decode_text(text.encode("gbk"), encoding="utf-8", file="x.csv")
    assert exc.value.field == "encoding" and exc.value.file == "x.csv"


# ----------------------------------------------------------------------------- read_table
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_read_table_csv_keeps_spreadsheet_rows_and_skips_a_title(tmp_path, encoding):
    lines = ["湘潭市界桩联检记录", "marker_code,result,notes"] + [f"{c},完好,{n}" for c, n, _, _ in XIANGTAN]
    path = _csv(tmp_path / "联检.csv", lines, encoding)
    frame = gio.read_table(path, header=["marker_code", "result"])
    assert list(frame.columns) == ["marker_code", "result", "notes"]
    assert frame.index.tolist() == [3, 4] and frame.index.name == "row"  # title = row 1, header = row 2
    assert frame["marker_code"].tolist() == ["430302", "430304"]  # text: codes keep their digits
    assert frame["notes"].tolist() == ["雨湖区", "岳塘区"]
    assert frame.attrs["source"] == str(path)


def test_read_table_excel_same_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["湘潭市界桩联检记录"])
    ws.append(["marker_code", "result"])
    for code, _, _, _ in XIANGTAN:
        ws.append([code, None])
    path = tmp_path / "联检.xlsx"
    wb.save(path)
    frame = gio.read_table(path, header=["marker_code"])
    assert frame.index.tolist() == [3, 4]
    assert frame["result"].isna().all()  # empty cells are None


def test_read_table_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        gio.read_table(tmp_path / "none.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=".xlsx") as exc:
        gio.read_table(tmp_path / "old.xls")
    assert exc.value.file == str(tmp_path / "old.xls")
    path = _csv(tmp_path / "header_only.csv", ["marker_code,result"], "utf-8")
    with pytest.raises(InputError, match="no data rows"):
        gio.read_table(path)
    (tmp_path / "a.geojson").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="CSV/TXT/TSV or Excel"):
        gio.read_table(tmp_path / "a.geojson")


# ----------------------------------------------------------------------------- read_vector
def test_read_vector_reads_the_shipped_outline_and_refuses_to_guess_a_layer(tmp_path):
    with importlib.resources.as_file(_mainland_file()) as src:
        gdf = gio.read_vector(src)
        assert isinstance(gdf, gpd.GeoDataFrame) and len(gdf) == 1 and gdf.crs.to_epsg() == 4326
        two = tmp_path / "two.gpkg"
        gdf.to_file(two, layer="a", driver="GPKG")
        gdf.to_file(two, layer="b", driver="GPKG")
    with pytest.raises(InputError) as exc:
        gio.read_vector(two)
    assert exc.value.field == "layer" and exc.value.file == str(two)
    assert len(gio.read_vector(two, layer="b")) == 1
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"not a geopackage at all")
    with pytest.raises(InputError) as exc:
        gio.read_vector(bad)
    assert exc.value.file == str(bad)


# ----------------------------------------------------------------------------- resolve_datum
def test_resolve_datum_follows_the_readers_rule():
    lon = np.array([p[2] for p in XIANGTAN])
    lat = np.array([p[3] for p in XIANGTAN])
    assert gio.resolve_datum("高德", lon=lon, lat=lat) == ("gcj02", "argument")
    table = pd.DataFrame({"代码": ["430302", "430304"], "坐标系": ["百度", "bd09"]})
    assert gio.resolve_datum(None, lon=lon, lat=lat, table=table) == ("bd09", "column 坐标系")
    assert gio.resolve_datum(None, lon=lon, lat=lat, crs="EPSG:4490") == ("cgcs2000", "crs EPSG:4490")
    # EPSG:4326 states nothing (Amap exports carry it): in the mainland the caller must say
    with pytest.raises(InputError, match="--units-datum") as exc:
        gio.resolve_datum(None, lon=lon, lat=lat, crs="EPSG:4326", file="u.geojson", option="--units-datum")
    assert exc.value.field == "datum" and exc.value.file == "u.geojson"
    datum, how = gio.resolve_datum(None, lon=np.array([HELSINKI[0]]), lat=np.array([HELSINKI[1]]))
    assert datum == "wgs84" and how.startswith("outside mainland")


def test_resolve_datum_conflict_and_mixed_column_name_the_row():
    lon = np.array([p[2] for p in XIANGTAN])
    lat = np.array([p[3] for p in XIANGTAN])
    table = pd.DataFrame({"坐标系": ["gcj02", "gcj02"]})
    with pytest.raises(InputError, match="which is right") as exc:
        gio.resolve_datum("wgs84", lon=lon, lat=lat, table=table, file="f.csv")
    assert exc.value.field == "坐标系"
    mixed = pd.DataFrame({"坐标系": ["gcj02", "wgs84"]})
    with pytest.raises(InputError, match="mixes") as exc:
        gio.resolve_datum(None, lon=lon, lat=lat, table=mixed, rows=[5, 9], file="f.csv")
    assert exc.value.row == 9


def test_resolve_datum_agrees_with_read_polygons(tmp_path):
    with importlib.resources.as_file(_mainland_file()) as src:
        gdf = gpd.read_file(src)
    gdf["code"] = ["100000"]
    path = tmp_path / "cgcs.gpkg"
    gdf.set_crs(4490, allow_override=True).to_file(path, driver="GPKG")
    read = gio.read_polygons(path)
    raw = gio.read_vector(path)
    xy = raw.get_coordinates()
    stated = gio.resolve_datum(None, lon=xy["x"].to_numpy(), lat=xy["y"].to_numpy(),
                               table=pd.DataFrame(raw.drop(columns=raw.geometry.name)), crs=raw.crs)
    assert stated == (read.attrs["datum"], read.attrs["datum_source"]) == ("cgcs2000", "crs EPSG:4490")
