"""Boundaries inputs: undecodable text, tables without geometry, empty inspection records, datums never guessed.

Every case is built from the shipped Xiangtan files (data/boundaries/) or the Helsinki demo units;
expected values come from the source files themselves (read independently with geopandas).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geoplan.registers import boundaries as B
from geoplan._errors import InputError
from geoplan.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"
XIANGTAN = DATA / "xiangtan_fastgeocn_wgs84.geojson"  # WGS-84, labelled only as lon/lat (CRS84)
CNMAPS = DATA / "xiangtan_cnmaps_gcj02.geojson"  # Amap-derived: GCJ-02, labelled as lon/lat


def _cli(*args: str):
    return CliRunner().invoke(main, ["-q", *args])


# ----------------------------------------------------------------------------- 1. undecodable attribute text
def test_invalid_utf8_attribute_is_an_input_error_naming_the_file(tmp_path):
    """Reported: the seed file with "430302" replaced by b"\\x8030302" raised pyogrio's UnicodeDecodeError."""
    bad = tmp_path / "坏编码.geojson"
    bad.write_bytes(XIANGTAN.read_bytes().replace(b"430302", b"\x8030302"))
    with pytest.raises(InputError) as ei:
        B.import_divisions(bad, valid_from="2020-01-01")
    assert ei.value.file == str(bad) and ei.value.field == "encoding"
    assert "GBK" in str(ei.value) and "坏编码.geojson" in str(ei.value)
    store = tmp_path / "s.gpkg"
    r = _cli("boundaries", "import", str(bad), "--store", str(store), "--valid-from", "2020-01-01",
             "--datum", "wgs84")
    assert r.exit_code == 2 and "坏编码.geojson" in r.output and "Traceback" not in r.output
    assert not store.exists()


def test_gbk_geojson_is_read_like_a_gbk_csv(tmp_path):
    """A GeoJSON saved as GBK by a Chinese tool: names come out as in the UTF-8 original."""
    src = gpd.read_file(XIANGTAN)
    gbk = tmp_path / "gbk.geojson"
    gbk.write_bytes(XIANGTAN.read_bytes().decode("utf-8").encode("gbk"))
    div = B.import_divisions(gbk, valid_from="2020-01-01", datum="wgs84")
    assert div["name"].tolist() == src["name"].tolist()
    assert div["code"].tolist() == [c.ljust(12, "0") for c in src["code"].astype(str)]


# ----------------------------------------------------------------------------- 2. no geometry
def test_table_without_geometry_is_an_input_error(tmp_path):
    """Reported: a CSV of codes and names gave AttributeError: 'DataFrame' object has no attribute 'crs'."""
    table = tmp_path / "区划.csv"
    table.write_bytes(b"code,name\n430302,x\n")
    with pytest.raises(InputError, match="no geometry") as ei:
        B.import_divisions(table, valid_from="2020-01-01")
    assert ei.value.file == str(table) and "polygon layer" in str(ei.value)
    for cmd in (["check", str(table)], ["lines", str(table)]):
        r = _cli("boundaries", *cmd, "-o", str(tmp_path / "out"), "--datum", "wgs84")
        assert r.exit_code == 2 and "no geometry" in r.output and "区划.csv" in r.output, r.output
    assert not (tmp_path / "out").exists()


def test_geojson_without_geometry_is_an_input_error(tmp_path):
    """The same units with every geometry removed (GDAL then returns no geometry column at all)."""
    src = gpd.read_file(XIANGTAN)
    nogeom = tmp_path / "nogeom.geojson"
    gpd.GeoDataFrame(src.drop(columns="geometry"), geometry=[None] * len(src), crs=src.crs).to_file(
        nogeom, driver="GeoJSON")
    with pytest.raises(InputError) as ei:
        B.import_divisions(nogeom, valid_from="2020-01-01")
    assert ei.value.file == str(nogeom) and ei.value.field == "geometry"


# ----------------------------------------------------------------------------- 3. inspection records
@pytest.fixture(scope="module")
def marker_store(tmp_path_factory) -> tuple[Path, gpd.GeoDataFrame]:
    """Proposed markers on the shared lines of Xiangtan's five county-level units (real polygons)."""
    fg = gpd.read_file(XIANGTAN)
    fg["code"] = fg["code"].astype(str)
    xt = fg[fg["code"].str.startswith("4303")].reset_index(drop=True)
    lines = B.shared_lines(xt)
    prop = B.propose_markers(lines)
    path = tmp_path_factory.mktemp("m") / "m.gpkg"
    prop.to_file(path, layer="markers", driver="GPKG")
    return path, prop


def test_empty_inspection_csv_is_an_input_error(tmp_path, marker_store):
    """Reported: an empty inspection CSV gave pandas' EmptyDataError traceback."""
    store, _ = marker_store
    empty = tmp_path / "联检记录.csv"
    empty.write_bytes(b"")
    r = _cli("boundaries", "inspect", str(store), str(empty), "--markers-layer", "markers", "--date", "2026-11-20",
             "-o", str(tmp_path / "insp"))
    assert r.exit_code == 2 and "联检记录.csv" in r.output and "EmptyDataError" not in r.output, r.output
    assert not (tmp_path / "insp").exists()
    with pytest.raises(InputError) as ei:
        B.read_inspection(empty)
    assert ei.value.file == str(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("marker_code,result\n", encoding="utf-8")
    with pytest.raises(InputError, match="no data rows"):
        B.read_inspection(header_only)
    no_result = tmp_path / "no_result.csv"
    no_result.write_text("marker_code,notes\nX,y\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        B.read_inspection(no_result)
    assert ei.value.field == "result" and ei.value.file == str(no_result)


def test_gbk_inspection_csv_with_title_line(tmp_path, marker_store):
    """Excel on Chinese Windows saves GBK; a title line above the header shifts the rows named in errors."""
    store, prop = marker_store
    code = prop["marker_code"].iloc[0]
    rec = tmp_path / "联检记录.csv"
    rec.write_bytes(f"2026年联检记录\nmarker_code,result,notes\n{code},missing,冲毁\n".encode("gbk"))
    r = _cli("boundaries", "inspect", str(store), str(rec), "--markers-layer", "markers", "--date", "2026-11-20",
             "-o", str(tmp_path / "insp"))
    assert r.exit_code == 0, r.output
    assert "冲毁" in (tmp_path / "insp" / "report.md").read_text(encoding="utf-8")
    reg = gpd.read_file(tmp_path / "insp" / "markers.gpkg")
    assert reg.set_index("marker_code").loc[code, "status"] == "missing"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(f"2026年联检记录\nmarker_code,result\n{code},found\n{code},lost\n".encode("gbk"))
    with pytest.raises(InputError) as ei:
        B.record_inspection(prop, B.read_inspection(bad), date="2026-11-20")
    assert (ei.value.file, ei.value.row, ei.value.field) == (str(bad), 4, "result")


# ----------------------------------------------------------------------------- 4. datums never guessed
@pytest.mark.parametrize("cmd", ["import", "check", "lines"])
def test_cli_asks_for_the_datum_in_mainland_china(tmp_path, cmd):
    """The shipped WGS-84 file only says EPSG:4326 (Amap files say the same): without --datum, stop and ask."""
    args = (["import", str(XIANGTAN), "--store", str(tmp_path / "s.gpkg"), "--valid-from", "2018-01-01"]
            if cmd == "import" else [cmd, str(XIANGTAN), "-o", str(tmp_path / "out")])
    r = _cli("boundaries", *args)
    assert r.exit_code == 2, r.output
    assert "--datum" in r.output and XIANGTAN.name in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []  # no store, no output folder
    r = _cli("boundaries", *args, "--datum", "wgs84")
    assert r.exit_code == 0, r.output


def test_python_import_without_datum_asks_too():
    with pytest.raises(InputError) as ei:
        B.import_divisions(XIANGTAN, valid_from="2018-01-01", datum=None)
    assert ei.value.field == "datum" and ei.value.file == str(XIANGTAN)


def test_gcj02_cli_lines_match_python_conversion(tmp_path):
    """`lines --datum gcj02` on the Amap file gives the lines of the polygons converted in Python."""
    r = _cli("boundaries", "lines", str(CNMAPS), "--datum", "gcj02", "-o", str(tmp_path / "l"))
    assert r.exit_code == 0, r.output
    got = pd.read_csv(tmp_path / "l" / "lines.csv", dtype={"unit_a": str, "unit_b": str})
    want = B.shared_lines(B.import_divisions(CNMAPS, valid_from="2018-01-01", datum="gcj02"))
    assert len(got) == len(want)
    assert got["length_m"].to_numpy() == pytest.approx(want["length_m"].to_numpy(), rel=1e-9)


@pytest.mark.parametrize("epsg,expected", [(4490, "cgcs2000"), (32649, "wgs84")])
def test_crs_that_states_the_datum_needs_no_option(tmp_path, epsg, expected):
    """CGCS2000 (EPSG:4490) and projected metres state the datum; the units come back where they were."""
    src = gpd.read_file(XIANGTAN)
    f = tmp_path / f"xt_{epsg}.gpkg"
    src.to_crs(epsg).to_file(f, driver="GPKG")
    units = B.read_units(f)
    assert units.attrs["datum"] == expected and units.attrs["datum_source"] == f"crs EPSG:{epsg}"
    assert units.geometry.geom_equals_exact(src.geometry, tolerance=1e-6).all()
    r = _cli("boundaries", "check", str(f), "-o", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output


def test_datum_column_states_the_datum(tmp_path):
    """A 坐标系 column saying 高德 on the Amap file is the same as --datum gcj02; contradicting it is refused."""
    src = gpd.read_file(CNMAPS)
    src["坐标系"] = "高德"
    f = tmp_path / "amap.geojson"
    src.to_file(f, driver="GeoJSON")
    by_column = B.read_units(f)
    by_option = B.read_units(CNMAPS, datum="gcj02")
    assert by_column.attrs["datum"] == "gcj02" and by_column.attrs["datum_source"] == "column 坐标系"
    assert by_column.geometry.geom_equals_exact(by_option.geometry, tolerance=1e-12).all()
    with pytest.raises(InputError, match="datum column says gcj02"):
        B.read_units(f, datum="wgs84")


def test_outside_mainland_needs_no_datum(tmp_path):
    """Helsinki (the demo units): GCJ-02 does not apply, so there is nothing to ask."""
    from geoplan import demo as gdemo

    f = tmp_path / "helsinki.geojson"
    gdemo.demo_units().to_file(f, driver="GeoJSON")
    units = B.read_units(f)
    assert units.attrs["datum"] == "wgs84"
    assert shapely.equals_exact(units.geometry.iloc[0], gpd.read_file(f).geometry.iloc[0], tolerance=0)
    r = _cli("boundaries", "lines", str(f), "-o", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output


# ----------------------------------------------------------------------------- property: any encoding, same text
from hypothesis import HealthCheck, given, settings, strategies as st

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notes=st.text(alphabet="界桩冲毁移位完好损坏湘潭岳塘雨湖区号abc 123", min_size=1, max_size=20)
       .filter(lambda s: s.strip() and "," not in s),
       enc=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_inspection_notes_survive_any_encoding(tmp_path_factory, notes, enc):
    f = tmp_path_factory.mktemp("rec") / "rec.csv"
    f.write_bytes(f"marker_code,result,notes\nM1,found,{notes}\n".encode(enc))
    rec = B.read_inspection(f)
    assert rec["notes"].tolist() == [notes.strip()] and rec.index.tolist() == [2]
