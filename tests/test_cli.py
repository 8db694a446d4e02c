"""The coverage CLI end to end on the embedded demo and on small files."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pytest
from click.testing import CliRunner

from geoplan.cli import main


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "report"
    res = CliRunner().invoke(main, ["-q", "demo", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_demo_writes_report_workbook_layers(demo_out):
    for name in ("report.md", "report.html", "report.xlsx", "layers.gpkg"):
        assert (demo_out / name).exists(), name
    md = (demo_out / "report.md").read_text(encoding="utf-8")
    assert "民政服务设施网络覆盖评估报告" in md and "赫尔辛基" in md
    wb = openpyxl.load_workbook(demo_out / "report.xlsx")
    assert "指标与目标" in wb.sheetnames
    # CJK intact in cells.
    values = [c.value for row in wb["指标与目标"].iter_rows() for c in row]
    assert any(isinstance(v, str) and "养老" in v for v in values)
    fac = gpd.read_file(demo_out / "layers.gpkg", layer="facilities")
    assert fac.crs.to_epsg() == 4326 and len(fac) >= 10


def test_demo_refuses_to_overwrite(demo_out):
    before = sorted(p.name for p in demo_out.iterdir())
    res = CliRunner().invoke(main, ["-q", "demo", "-o", str(demo_out)])
    assert res.exit_code == 2
    assert "--overwrite" in res.output
    assert sorted(p.name for p in demo_out.iterdir()) == before


def test_demo_english(tmp_path):
    res = CliRunner().invoke(main, ["-q", "demo", "-o", str(tmp_path / "en"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "en" / "report.md").read_text(encoding="utf-8")
    assert "Network coverage of civil-affairs facilities" in md and "Helsinki" in md


def _write_inputs(tmp_path, demo):
    """CSV inputs with Chinese headers from the real demo features."""
    fac = demo.facilities.copy()
    fac_csv = tmp_path / "设施.csv"
    type_zh = {"elder_care_centre": "综合养老服务中心", "elder_care_station": "社区养老服务站",
               "minor_protection": "未保站", "social_work": "社工站"}
    fac_csv.write_text(
        "编号,名称,类型,经度,纬度\n"
        + "".join(f"{r.id},{r.name},{type_zh[r.type]},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in fac.itertuples()),
        encoding="utf-8-sig",
    )
    dem_csv = tmp_path / "需求点.csv"
    dem_csv.write_text(
        "编号,人口,60岁以上,0-17岁,经度,纬度\n"
        + "".join(f"{r.id},{r.pop},{r.pop_60},{r.pop_0_17},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in demo.demand.itertuples()),
        encoding="utf-8",
    )
    units = tmp_path / "units.geojson"
    demo.units.to_file(units, driver="GeoJSON")
    return fac_csv, dem_csv, units


def test_coverage_command_from_files(tmp_path, demo):
    from geoplan.demo import helsinki_pbf

    fac_csv, dem_csv, units = _write_inputs(tmp_path, demo)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "--units", str(units), "-o", str(out), "--no-service-areas"])
    assert res.exit_code == 0, res.output
    assert (out / "report.xlsx").exists()
    assert "xlsx\t" in res.output  # paths on stdout


def test_coverage_bad_type_leaves_nothing(tmp_path, demo):
    from geoplan.demo import helsinki_pbf

    fac_csv, dem_csv, units = _write_inputs(tmp_path, demo)
    text = fac_csv.read_text(encoding="utf-8-sig").replace("社工站", "游乐场", 1)
    fac_csv.write_text(text, encoding="utf-8-sig")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "-o", str(out)])
    assert res.exit_code == 2
    assert "游乐场" in res.output and "'type'" in res.output
    # The spreadsheet row of the edited line (header = row 1).
    row = 1 + [ln.split(",")[2] for ln in text.splitlines()].index("游乐场")
    assert f"row {row}" in res.output and "设施.csv" in res.output
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_demo_with_a_drive_type(tmp_path):
    """``geoplan demo --mode 社工站=drive``: the drive graph is built from the same extract, the report says so."""
    out = tmp_path / "drive"
    res = CliRunner().invoke(main, ["-q", "demo", "-o", str(out), "--mode", "社工站=drive"])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "乡镇/街道社工站（驾车 15 分钟）" in md and "未成年人保护工作站（步行 15 分钟）" in md
    assert "驾车路网节点" in md and "步行路网节点" in md
    assert "输入数据检查" in md  # the two buildings outside the postal areas are listed
