"""Facility register columns (状态, 建成年份, 星级, 床位, 护理型床位, 工作人员, 村/乡镇代码), ``as_of``,
types outside the catalogue, any demand column as a weight, ``coverage --type`` and per-type modes (issue 15)."""

from __future__ import annotations

import csv
import datetime as dt

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import InputError
from geoplan.cli import main
from geoplan.coverage import assess, default_catalogue
from geoplan.io import read_points
from geoplan.io._register import parse_stars, parse_status, parse_year

HEAD = "编号,名称,类型,经度,纬度"


def _csv(tmp_path, text, name="台账.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- values, one by one


@pytest.mark.parametrize("cell, want", [
    ("规划", "planned"), ("拟建", "planned"), ("在建", "under_construction"), ("建设中", "under_construction"),
    ("建成", "built"), ("已建成", "built"), ("运营", "built"), ("运营中", "built"), ("在用", "built"),
    ("停用", "closed"), ("已停用", "closed"), ("关闭", "closed"), ("撤销", "closed"), (" 在 建 ", "under_construction"),
    ("built", "built"), ("Under_Construction", "under_construction"), (None, None), ("", None),
])
def test_status_values(cell, want):
    assert parse_status(cell) == want


@pytest.mark.parametrize("cell, want", [
    (2019, 2019), (2019.0, 2019), ("2019", 2019), ("2019年", 2019), ("2019-05-01", 2019), ("2019/5/1", 2019),
    ("2019.5", 2019), ("2019年5月", 2019), ("2019年5月1日", 2019), ("201905", 2019), ("20190501", 2019),
    ("２０１９", 2019), (dt.date(2018, 3, 1), 2018), (pd.Timestamp("2017-01-02"), 2017),
    ("2019-05-01 00:00:00", 2019), (None, None),
])
def test_year_values(cell, want):
    assert parse_year(cell) == want


@pytest.mark.parametrize("cell", ["去年", "19", "2019-13-01", 1850, 2019.5, "2019/5/1/2"])
def test_year_refused(cell):
    with pytest.raises(ValueError):
        parse_year(cell)


@pytest.mark.parametrize("cell, want", [
    (3, 3), (3.0, 3), ("3", 3), ("3星", 3), ("三星", 3), ("三星级", 3), ("★★★", 3), ("五星", 5), ("1星级", 1),
    ("★", 1), (None, None),
])
def test_star_values(cell, want):
    assert parse_stars(cell) == want


@pytest.mark.parametrize("cell", [0, 6, "六星", "★★★★★★", "3.5", "高"])
def test_stars_refused(cell):
    with pytest.raises(ValueError):
        parse_stars(cell)


# --------------------------------------------------------------------------- the reader


def test_register_columns_read(tmp_path):
    p = _csv(tmp_path, HEAD + ",状态,建成时间,星级,床位,护理型床位,工作人员数,所属村（社区）代码,所属乡镇（街道）代码\n"
             "A,甲,社工站,24.94,60.17,在建,2019-05-01,三星,30,10,5,430302001001,430302001\n"
             "B,乙,社工站,24.95,60.17,,2021年,★★★★,40,40,3,430302001002,430302002000\n"
             "C,丙,社工站,24.96,60.17,运营中,2020,3星,,,,,\n")
    g = read_points(p, kind="facilities")
    assert g["status"].tolist() == ["under_construction", "built", "built"]  # an empty cell counts as built
    assert g.attrs["status_column"] == "状态" and g.attrs["status_blank"] == 1
    assert g["year_built"].tolist() == [2019, 2021, 2020]
    assert g["stars"].tolist() == [3, 4, 3]
    assert g["capacity"].tolist()[:2] == [30, 40] and g["nursing_beds"].tolist()[:2] == [10, 40]
    assert g["staff"].tolist()[:2] == [5, 3]
    # 9 digits are a township: padded with 000 to the 12-digit form.
    assert g["village_code"].tolist()[:2] == ["430302001001", "430302001002"]
    assert g["township_code"].tolist()[:2] == ["430302001000", "430302002000"]


def test_english_headers_and_no_status(tmp_path):
    p = _csv(tmp_path, "id,name,type,lon,lat,year_built,stars,beds,nursing_beds,staff\n"
             "A,a,social_work,24.94,60.17,2015,2,10,0,1\n")
    g = read_points(p, kind="facilities")
    assert "status" not in g.columns and g.attrs["status_column"] == "" and g.attrs["status_blank"] == 1
    assert (g.at[0, "year_built"], g.at[0, "stars"], g.at[0, "nursing_beds"], g.at[0, "staff"]) == (2015, 2, 0, 1)


def test_register_columns_only_for_facilities(tmp_path):
    # A demand table's 状态 column is an extra column, not a facility status.
    p = _csv(tmp_path, "编号,人口,经度,纬度,状态\nD1,10,24.94,60.17,随便\n")
    g = read_points(p, kind="demand")
    assert g.at[0, "状态"] == "随便"


@pytest.mark.parametrize("col, cell, words", [
    ("状态", "待定", ["status", "待定", "在建", "停用"]),
    ("建成年份", "很久以前", ["year built", "很久以前"]),
    ("星级", "六星", ["stars", "六星"]),
    ("工作人员", "-2", ["staff"]),
    ("所属村（社区）代码", "430302", ["county code", "430302"]),
    ("所属乡镇（街道）代码", "4303020011", ["10 digits"]),
])
def test_bad_register_value_names_file_row_field(tmp_path, col, cell, words):
    p = _csv(tmp_path, f"{HEAD},{col}\nA,甲,社工站,24.94,60.17,\nB,乙,社工站,24.95,60.17,{cell}\n")
    with pytest.raises(InputError) as e:
        read_points(p, kind="facilities")
    msg = str(e.value)
    assert "台账.csv" in msg and "row 3" in msg and col in msg
    for w in words:
        assert w in msg


def test_nursing_beds_above_beds_refused(tmp_path):
    p = _csv(tmp_path, f"{HEAD},床位,护理型床位\nA,甲,社工站,24.94,60.17,20,30\n")
    with pytest.raises(InputError, match="nursing beds .*exceed") as e:
        read_points(p, kind="facilities")
    assert "row 2" in str(e.value) and "护理型床位" in str(e.value)


def test_extra_demand_column_follows_number_rules(tmp_path):
    p = _csv(tmp_path, '编号,人口,经度,纬度,低保户数\nD1,10,24.94,60.17,"1,234"\nD2,10,24.95,60.17,５\n')
    g = read_points(p, kind="demand")
    assert g["低保户数"].dtype == float and g["低保户数"].tolist() == [1234.0, 5.0]


# --------------------------------------------------------------------------- assess: status, as_of, types


def _register(demo, tmp_path):
    """The demo facilities as a register CSV with 状态 and 建成年份 assigned by a fixed rule (ILLUSTRATIVE:
    the demo's OSM features have no status; row i gets status by i % 6 and year 2012 + i % 11)."""
    statuses = ["建成", "运营中", "在建", "建成", "规划", "停用"]
    p = tmp_path / "台账.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "名称", "类型", "经度", "纬度", "状态", "建成年份"])
        for i, r in enumerate(demo.facilities.to_crs(4326).itertuples()):
            year = "" if i % 9 == 4 else str(2012 + i % 11)
            w.writerow([r.id, r.name, r.type, f"{r.geometry.x:.7f}", f"{r.geometry.y:.7f}", statuses[i % 6], year])
    return p


def _recount(path, as_of_year):
    """Ids that count and the reason of each other row, straight from the CSV text."""
    built_words = {"建成", "运营中"}
    counted, left = [], {}
    with open(path, encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if rec["状态"] not in built_words:
                left[rec["编号"]] = {"在建": "facility_under_construction", "规划": "facility_planned",
                                    "停用": "facility_closed"}[rec["状态"]]
            elif as_of_year is not None and rec["建成年份"] and int(rec["建成年份"]) > as_of_year:
                left[rec["编号"]] = "facility_built_after_as_of"
            else:
                counted.append(rec["编号"])
    return counted, left


@pytest.mark.parametrize("as_of", [None, "2016-06-30", dt.date(2019, 1, 1)])
def test_as_of_counts_match_a_recount(tmp_path, demo, as_of):
    path = _register(demo, tmp_path)
    fac = read_points(path, kind="facilities")
    res = assess(demo.network, fac, demo.demand, units=demo.units, as_of=as_of, with_service_areas=False)
    year = None if as_of is None else pd.Timestamp(as_of).year
    counted, left = _recount(path, year)
    assert sorted(res.facilities["id"]) == sorted(counted)
    assert res.as_of == (None if as_of is None else pd.Timestamp(as_of).date())
    got = {r.item: r.check for r in res.checks.itertuples() if r.check.startswith("facility_")
           and r.check != "facility_far_from_network"}
    assert got == left
    # Each listed row names its spreadsheet row: the CSV line of that id.
    lines = path.read_text(encoding="utf-8").splitlines()
    for r in res.checks.itertuples():
        if r.item in left:
            assert lines[r.row - 1].startswith(f"{r.item},")
    # Travel times equal an assessment of only the counted rows (filtered here with pandas, no status column).
    only = fac[fac["id"].isin(counted)].drop(columns=["status", "year_built"])
    ref = assess(demo.network, only, demo.demand, units=demo.units, with_service_areas=False)
    for t in res.catalogue.keys:
        np.testing.assert_allclose(res.demand[f"{t}_min"].to_numpy(float), ref.demand[f"{t}_min"].to_numpy(float))
    assert res.units["n_facilities"].sum() == ref.units["n_facilities"].sum()
    zh = " ".join(n.zh for n in res.notes)
    assert "只有已建成的设施计入" in zh
    if as_of is not None:
        assert "停用设施一律不计入" in zh and "无法判断" in zh
        assert "under_construction" not in zh and "built" not in zh  # no English value words in Chinese


def test_no_status_column_is_noted(demo):
    res = assess(demo.network, demo.facilities, demo.demand, types=["社工站"], with_service_areas=False)
    assert any("没有“状态”列" in n.zh for n in res.notes)
    assert len(res.facilities) == len(demo.facilities)


def test_bad_as_of(demo):
    with pytest.raises(InputError, match="as-of date"):
        assess(demo.network, demo.facilities, demo.demand, as_of="去年")


def _with_other_types(demo):
    fac = demo.facilities.copy()
    fac.attrs = {}
    fac["type"] = fac["type"].astype(object)
    fac.loc[fac.index[[1, 4]], "type"] = "婚姻登记处X"
    fac.loc[fac.index[6], "type"] = "游乐场"
    return fac


def test_unknown_type_is_an_error_by_default(demo):
    fac = _with_other_types(demo)
    with pytest.raises(InputError) as e:
        assess(demo.network, fac, demo.demand, with_service_areas=False)
    msg = str(e.value)
    assert "婚姻登记处X" in msg and "other_types='skip'" in msg and "elder_care_centre" in msg and "'type'" in msg


def test_unknown_types_skipped_and_listed(demo):
    fac = _with_other_types(demo)
    res = assess(demo.network, fac, demo.demand, other_types="skip", with_service_areas=False)
    skipped = res.checks[res.checks["check"] == "facility_type_skipped"]
    assert sorted(skipped["item"]) == sorted(fac["id"].iloc[[1, 4, 6]].astype(str))
    assert sorted(res.facilities["id"]) == sorted(fac["id"].drop(fac.index[[1, 4, 6]]))
    note = next(n for n in res.notes if "目录以外" in n.zh)
    assert "婚姻登记处X 2 处" in note.zh and "游乐场 1 处" in note.zh and "3 处" in note.zh


def test_every_catalogue_name_and_alias_resolves():
    cat = default_catalogue()
    for t in cat:
        for name in (t.key, t.name_zh, t.name_en, *t.aliases):
            assert cat.resolve(name) == t.key, name


def test_toml_weight_column(tmp_path, demo):
    """``weight = "低保户数"`` in the TOML weighs 社工站 by that demand column.

    低保户数 is ILLUSTRATIVE: 2 % of each building's estimated residents, rounded down (quoted text
    cells, read by the number rules; see test_extra_demand_column_follows_number_rules for "1,234")."""
    from geoplan.coverage import load_catalogue

    cfg = tmp_path / "types.toml"
    cfg.write_text('[types.social_work]\nweight = "低保户数"\n', encoding="utf-8")
    cat = load_catalogue(cfg)
    dem = demo.demand.to_crs(4326)
    low = np.floor(dem["pop"].to_numpy(float) * 0.02).astype(int)
    p = tmp_path / "需求点.csv"
    p.write_text("编号,人口,低保户数,经度,纬度\n" + "".join(
        f'{r.id},{r.pop},"{w:,}",{r.geometry.x:.7f},{r.geometry.y:.7f}\n' for r, w in zip(dem.itertuples(), low)),
        encoding="utf-8")
    d = read_points(p, kind="demand")
    res = assess(demo.network, demo.facilities, d, catalogue=cat, types=["社工站"], with_service_areas=False)
    covered = res.demand["social_work_covered"].to_numpy(bool)
    row = res.summary[res.summary["indicator"].astype(str).str.contains("低保户数")]
    assert len(row) == 1
    assert row["numerator"].iloc[0] == low[covered].sum() and row["denominator"].iloc[0] == low.sum()


def test_weight_column_missing_names_columns(demo):
    with pytest.raises(InputError) as e:
        assess(demo.network, demo.facilities, demo.demand, types=["社工站"], weights={"社工站": "低保户数"},
               with_service_areas=False)
    assert "低保户数" in str(e.value) and "pop_60" in str(e.value)  # the columns present


def test_weight_column_negative_refused(demo):
    dem = demo.demand.copy()
    dem["低保户数"] = 1.0
    dem.loc[dem.index[3], "低保户数"] = -1
    with pytest.raises(InputError, match="低保户数"):
        assess(demo.network, demo.facilities, dem, types=["社工站"], weights={"社工站": "低保户数"},
               with_service_areas=False)


# --------------------------------------------------------------------------- the CLI


def _cli_inputs(tmp_path, demo):
    """Facilities with a status column and one 婚姻登记处 row; demand with 低保户数.

    低保户数 is ILLUSTRATIVE, not data: 2 % of each building's estimated residents, rounded down
    (the demo has no assistance register)."""
    fac = demo.facilities.to_crs(4326)
    fac_csv = tmp_path / "设施.csv"
    rows = [f"{r.id},{r.name},{r.type},{r.geometry.x:.7f},{r.geometry.y:.7f},{'在建' if i == 0 else '建成'}"
            for i, r in enumerate(fac.itertuples())]
    rows.append(f"M1,婚姻登记处,婚姻登记处X,{fac.geometry.x.iloc[0]:.7f},{fac.geometry.y.iloc[0]:.7f},建成")
    fac_csv.write_text(HEAD + ",状态\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    dem = demo.demand.to_crs(4326)
    dem_csv = tmp_path / "需求点.csv"
    low = np.floor(dem["pop"].to_numpy(float) * 0.02).astype(int)
    dem_csv.write_text("编号,人口,60岁以上,0-17岁,低保户数,经度,纬度\n" + "".join(
        f"{r.id},{r.pop},{r.pop_60},{r.pop_0_17},{w},{r.geometry.x:.7f},{r.geometry.y:.7f}\n"
        for r, w in zip(dem.itertuples(), low)), encoding="utf-8")
    units = tmp_path / "units.geojson"
    demo.units.to_file(units, driver="GeoJSON")
    return fac_csv, dem_csv, units, low


def _summary(out):
    ws = openpyxl.load_workbook(out / "report.xlsx")["指标与目标"]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_cli_coverage_type_weight_other_types(tmp_path, demo):
    """``coverage --type 社工站 --weight 社工站=低保户数 --other-types skip`` on the demo's files."""
    from geoplan.demo import helsinki_pbf

    fac_csv, dem_csv, units, low = _cli_inputs(tmp_path, demo)
    base = ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv), "--demand",
            str(dem_csv), "--units", str(units), "--type", "社工站", "--no-service-areas"]
    bad = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "婚姻登记处X" in bad.output and "--other-types skip" in bad.output
    assert not (tmp_path / "bad").exists()
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [*base, "--weight", "社工站=低保户数", "--other-types", "skip", "-o", str(out)])
    assert res.exit_code == 0, res.output
    layer = gpd.read_file(out / "layers.gpkg", layer="demand")
    assert set(_summary(out)["类型"]) == {"乡镇/街道社工站"}
    # The weighted share, recounted from the CSV's 低保户数 and the covered flags of the layer.
    covered = layer["social_work_covered"].astype(bool).to_numpy()
    share = low[covered].sum() / low.sum()
    sheet = _summary(out)
    row = sheet[sheet["指标"].astype(str).str.contains("低保户数")]
    assert len(row) == 1, sheet.to_string()
    assert int(row["分子"].iloc[0]) == int(low[covered].sum()) and int(row["分母"].iloc[0]) == int(low.sum())
    assert 0 < share < 1
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "婚姻登记处X 1 处" in md and "在建 1 处" in md


def test_cli_suggest_weight(tmp_path, demo):
    from geoplan.demo import helsinki_pbf

    fac_csv, dem_csv, units, low = _cli_inputs(tmp_path, demo)
    out = tmp_path / "s"
    res = CliRunner().invoke(main, ["-q", "suggest", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "--units", str(units), "--type", "社工站", "-p", "1",
                                    "--weight", "社工站=低保户数", "--other-types", "skip", "--solver", "greedy",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output


def test_cli_mode_per_type(tmp_path, demo):
    """``--mode 社工站=drive``: 社工站 timed on the drive graph, 社区养老服务站 on foot; the summary says so."""
    from geoplan.demo import helsinki_pbf
    from geoplan.network import from_osm_file

    fac_csv, dem_csv, units, _ = _cli_inputs(tmp_path, demo)
    out = tmp_path / "m"
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "--units", str(units), "--type", "社工站", "--type",
                                    "社区养老服务站", "--mode", "社工站=drive", "--other-types", "skip", "--as-of", "2030-01-01",
                                    "--no-service-areas", "-o", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "乡镇/街道社工站（驾车" in md and "社区养老服务站（步行" in md
    assert "乡镇/街道社工站（步行" not in md and "社区养老服务站（驾车" not in md
    assert "评估时点 2030-01-01" in md  # --as-of reaches assess (no 建成年份 column: nothing more left out)
    layer = gpd.read_file(out / "layers.gpkg", layer="demand")
    fac = read_points(fac_csv, kind="facilities")
    dem = read_points(dem_csv, kind="demand")
    drive = from_osm_file(helsinki_pbf(), mode="drive")
    api = assess({"drive": drive, "walk": demo.network}, fac, dem, types=["social_work", "elder_care_station"],
                 modes={"社工站": "drive"}, other_types="skip", with_service_areas=False)
    assert api.modes == {"social_work": "drive", "elder_care_station": "walk"}
    for t in api.modes:
        np.testing.assert_allclose(layer[f"{t}_min"].to_numpy(float), api.demand[f"{t}_min"].to_numpy(float))
