"""The scaled path end to end (issue 17): 100,000 SYNTHETIC demand points through ``geoplan coverage`` on the
real Helsinki walk network, and the fast CSV reader against the record-by-record one.

Correctness only, no timing: row counts, every point has a time, unit shares equal a recount from the
per-point layer, no Excel sheet over the row limit.  Inputs come from ``benchmarks/end_to_end.py``
(:func:`write_inputs`: SYNTHETIC points near real network nodes, a GBK CSV, a 10 × 10 unit grid).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import InputError
from geoplan.cli import main
from geoplan.io import _tables

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from end_to_end import TYPES_ZH, write_inputs  # noqa: E402

N = 100_000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from geoplan import demo as gdemo
    from geoplan.network import _build

    net = _build.from_osm_file(gdemo.helsinki_pbf(), mode="walk")
    folder = tmp_path_factory.mktemp("scale")
    paths = write_inputs(net, N, folder / "in", per_type=10)
    out = folder / "out"
    # Service areas cost per facility, not per demand point: left out to keep the test short.
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(gdemo.helsinki_pbf()),
                                    "--facilities", str(paths["facilities"]), "--demand", str(paths["demand"]),
                                    "--units", str(paths["units"]), "-o", str(out), "--no-service-areas",
                                    "--allow-empty-units"])
    assert res.exit_code == 0, res.output
    return paths, out


def test_every_demand_point_is_in_the_layer_with_a_time(run):
    import geopandas as gpd

    paths, out = run
    src = pd.read_csv(paths["demand"], encoding="gbk", dtype={"编号": str})
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    assert len(src) == len(dem) == N
    assert dem["id"].tolist() == src["编号"].tolist()  # same order, nothing lost or repeated
    np.testing.assert_allclose(dem["pop"].to_numpy(), src["人口"].to_numpy())
    for t in ("elder_care_centre", "elder_care_station", "minor_protection", "social_work"):
        assert dem[f"{t}_min"].notna().all(), t
        assert dem[f"{t}_nearest"].notna().all(), t


def test_unit_shares_equal_a_recount_of_the_points(run):
    import geopandas as gpd

    _, out = run
    dem = pd.DataFrame(gpd.read_file(out / "layers.gpkg", layer="demand").drop(columns="geometry"))
    units = pd.DataFrame(gpd.read_file(out / "layers.gpkg", layer="unit_indicators").drop(columns="geometry"))
    checked = 0
    for t, rows in units.groupby("type"):
        covered = dem[f"{t}_covered"].astype(bool)
        for u in rows.itertuples():
            here = (dem["unit_code"].astype(str) == str(u.unit_code)).to_numpy()
            people = dem.loc[here, "pop"].sum()
            assert u.pop == pytest.approx(people)
            if people > 0:
                assert u.share_pop_covered == pytest.approx(dem.loc[here & covered, "pop"].sum() / people)
                checked += 1
    assert checked > 100  # most of the 100 grid cells hold people, for each of the 4 types
    assert units["pop"].groupby(units["type"]).sum().eq(dem["pop"].sum()).all()


def test_no_sheet_over_the_excel_limit(run):
    import openpyxl

    _, out = run
    wb = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    try:
        for ws in wb.worksheets:
            assert ws.max_row <= 1_048_576
            assert ws.max_row < N  # per-point tables are not in the workbook
    finally:
        wb.close()


def test_a_table_over_the_limit_gets_a_note_not_a_sheet(tmp_path, monkeypatch):
    import openpyxl

    from geoplan.outputs import _report

    monkeypatch.setattr(_report, "EXCEL_MAX_ROWS", 5)
    table = pd.DataFrame({"id": [f"D{i}" for i in range(10)], "pop": np.arange(10.0)})
    paths = _report.write_report(tmp_path, title="t", sections=[_report.Section("逐点", table=table, sheet="逐点")])
    ws = openpyxl.load_workbook(paths["xlsx"]).worksheets[0]
    assert ws.max_row == 1 and "10 行" in ws["A1"].value and "layers.gpkg" in ws["A1"].value


def _plain_table(n: int) -> str:
    rng = np.random.default_rng(3)
    lines = ["合成需求点表（SYNTHETIC）", "", "编号,名称,经度,纬度,人口,,人口"]
    for i in range(n):
        note = rng.choice(["", " ", "NA", "null", "１２"])
        lines.append(f"D{i},{note},{rng.uniform(24.9, 25.0):.5f},{rng.uniform(60.1, 60.2):.5f},{i % 7},,x")
    lines.insert(500, ",,,,,,")  # line 501: a row of empty cells is dropped, the rows after keep their numbers
    return "\r\n".join(lines) + "\r\n"


def test_fast_reader_equals_the_record_reader():
    text = _plain_table(5000)
    wanted = ["经度", "纬度"]
    fast = _tables._fast_frame(text, ",", wanted, "t.csv")
    assert fast is not None
    slow = _tables._rows_to_frame(_tables._CsvText(text, ",").parse(), wanted, "t.csv")
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.index[0] == 4 and 501 not in fast.index and 502 in fast.index and fast.index[-1] == 5004


@pytest.mark.parametrize("edit", ['D7,"a,b",', "D7,1,"])
def test_fast_reader_leaves_quotes_and_ragged_rows_to_the_record_reader(edit):
    text = _plain_table(3000).replace("D7,", edit, 1)
    assert _tables._fast_frame(text, ",", ["经度"], "t.csv") is None


def test_large_gbk_csv_names_the_row_of_a_bad_cell(tmp_path):
    from geoplan import io

    lines = _plain_table(4000).split("\r\n")
    row = 2500  # spreadsheet row (1-based line number: records are lines without quotes)
    cells = lines[row - 1].split(",")
    cells[3] = "北纬"
    lines[row - 1] = ",".join(cells)
    path = tmp_path / "需求点.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    with pytest.raises(InputError) as err:
        io.read_points(path, kind="demand", datum="wgs84")
    assert f"row {row}" in str(err.value) and "纬度" in str(err.value)


def test_types_written_are_the_catalogue_names():
    from geoplan.coverage import standards

    cat = standards.load_catalogue(None)
    assert {cat.resolve(t) for t in TYPES_ZH} == set(cat.keys)
