"""`boundaries inspect` with Chinese records: headers, values, the proposed-marker rule, --help (issue 16).

The register is the real Xiangtan boundaries demo (48 proposed markers); the records are written
here the way a 联检 team fills them in (Chinese headers, 完好/移位/损坏/缺失, GBK from Excel).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import InputError
from geoplan.cli import main
from geoplan.registers import boundaries as B


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("bd") / "demo"
    r = CliRunner().invoke(main, ["boundaries", "demo", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out / "boundaries.gpkg"


@pytest.fixture(scope="module")
def codes(demo_store):
    mk = gpd.read_file(demo_store, layer="markers")
    assert (mk["status"] == "proposed").all()  # the demo proposes, nobody has surveyed yet
    return list(mk["marker_code"])


def _inspect(store, rec, out, *extra):
    return CliRunner().invoke(main, ["boundaries", "inspect", str(store), str(rec), "--markers-layer", "markers",
                                     "--date", "2026-11-20", "-o", str(out), *extra])


def test_chinese_headers_and_values_gbk(demo_store, codes, tmp_path):
    a, b, c, d = codes[:4]
    rec = tmp_path / "联检记录.csv"
    text = ("界桩编号,检查结果,日期,备注\n"
            f"{a},完好,2026-11-18,桩体清晰\n{b},损坏,,被车辆撞歪\n{c},缺失,2026-11-19,\n{d},damaged,,\n")
    rec.write_bytes(text.encode("gbk"))
    r = _inspect(demo_store, rec, tmp_path / "out")
    assert r.exit_code == 0, r.output
    hist = pd.read_csv(tmp_path / "out" / "history.csv", dtype=str, keep_default_na=False).set_index("marker_code")
    # found on a proposal keeps it proposed (only a survey makes it surveyed); the rest as recorded
    assert hist.loc[a, "new_status"] == "proposed"
    assert hist.loc[b, "new_status"] == "damaged" and hist.loc[c, "new_status"] == "missing"
    assert hist.loc[d, "new_status"] == "damaged"
    assert hist.loc[a, "date"] == "2026-11-18" and hist.loc[b, "date"] == "2026-11-20"  # a row's own date wins
    assert hist.loc[b, "notes"] == "被车辆撞歪"
    reg = gpd.read_file(tmp_path / "out" / "markers.gpkg").set_index("marker_code")
    assert reg.loc[c, "status"] == "missing" and reg.loc[c, "last_inspection"] == "2026-11-19"


def test_alternative_headers_xlsx(demo_store, codes, tmp_path):
    rec = tmp_path / "rec.xlsx"
    pd.DataFrame({"编号": [codes[5]], "状态": ["缺失"], "说明": ["冲毁"]}).to_excel(rec, index=False)
    r = _inspect(demo_store, rec, tmp_path / "out")
    assert r.exit_code == 0, r.output
    hist = pd.read_csv(tmp_path / "out" / "history.csv", dtype=str)
    assert hist.loc[0, "new_status"] == "missing" and hist.loc[0, "notes"] == "冲毁"


def test_proposed_marker_moved_needs_a_survey(demo_store, codes, tmp_path):
    rec = tmp_path / "rec.csv"
    rec.write_text(f"界桩编号,检查结果\n{codes[0]},完好\n{codes[1]},移位\n", encoding="utf-8")
    r = _inspect(demo_store, rec, tmp_path / "out")
    assert r.exit_code == 2
    msg = r.output.strip().splitlines()[-1]
    assert "rec.csv" in msg and "row 3" in msg and "result" in msg and codes[1] in msg
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_proposed_marker_moved_with_survey(demo_store, codes, tmp_path):
    mk = gpd.read_file(demo_store, layer="markers").set_index("marker_code")
    p = mk.loc[codes[2]].geometry
    lon, lat = round(p.x + 0.0004, 6), round(p.y - 0.0003, 6)
    rec = tmp_path / "rec.csv"
    rec.write_text(f"界桩编号,检查结果,测量经度,测量纬度\n{codes[2]},移位,{lon},{lat}\n", encoding="utf-8-sig")
    r = _inspect(demo_store, rec, tmp_path / "out")
    assert r.exit_code == 0, r.output
    reg = gpd.read_file(tmp_path / "out" / "markers.gpkg").set_index("marker_code").to_crs(4326)
    got = reg.loc[codes[2]]
    assert got["status"] == "surveyed" and bool(got["surveyed"])
    assert got.geometry.x == pytest.approx(lon, abs=1e-9) and got.geometry.y == pytest.approx(lat, abs=1e-9)
    # the others are untouched
    other = reg.loc[codes[3]].geometry
    assert (other.x, other.y) == pytest.approx((mk.loc[codes[3]].geometry.x, mk.loc[codes[3]].geometry.y))


def test_bad_survey_names_row_and_field(demo_store, codes, tmp_path):
    rec = tmp_path / "rec.csv"
    rec.write_text(f"界桩编号,检查结果,测量经度,测量纬度\n{codes[2]},移位,东经112度,27.9\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        B.record_inspection(gpd.read_file(demo_store, layer="markers"), B.read_inspection(rec), date="2026-11-20")
    assert e.value.row == 2 and e.value.field == "lon"


def test_chinese_columns_given_directly():
    # The old crash: itertuples renames Chinese columns, so r.marker_code did not exist.
    mk = gpd.GeoDataFrame({"marker_code": ["x-001Q"], "status": ["surveyed"], "last_inspection": [""],
                           "photo": [""]}, geometry=gpd.points_from_xy([112.9], [27.9]), crs=4326)
    reg, hist = B.record_inspection(mk, pd.DataFrame({"界桩编号": ["x-001Q"], "检查结果": ["移位"]}), date="2026-01-02")
    assert reg.loc[0, "status"] == "moved" and hist.loc[0, "old_status"] == "surveyed"
    with pytest.raises(InputError) as e:
        B.record_inspection(mk, pd.DataFrame({"界桩编号": ["x-001Q"], "检查结果": ["被盗"]}), date="2026-01-02")
    assert e.value.field == "result" and e.value.row == 2


def test_help_lists_the_record_columns():
    r = CliRunner().invoke(main, ["boundaries", "inspect", "--help"])
    assert r.exit_code == 0
    for word in ("界桩编号", "检查结果", "完好/移位/损坏/缺失", "测量经度", "说明/备注", "日期", "marker_code", "result"):
        assert word in r.output
