"""Fixes of the independent review of issue 15 (findings 1–12 of /tmp/review15/FINDINGS.md).

Units and villages are the shipped real lists (Xiangtan's 957 village-level units of the 2023 statistical
codes, ``geoplan.demo.xiangtan_villages``; ``data/names/townships_cn.csv.gz``).  Registers, seat points and
census figures below are ILLUSTRATIVE (made up for the test, on real codes); expected values are recounted
with plain pandas/numpy.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import coverage, demo
from geoplan._errors import InputError
from geoplan.coverage import standards
from geoplan.coverage._register import not_assessed, with_weights
from geoplan.coverage._villages import _nearest_seat
from geoplan.coverage._village_checks import demand_without_village
from geoplan.io import read_census, read_register, read_unit_list

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def villages():
    return demo.xiangtan_villages()


@pytest.fixture(scope="module")
def townships():
    return demo.xiangtan_townships()


@pytest.fixture(scope="module")
def townships_cn():
    return pd.read_csv(ROOT / "data" / "names" / "townships_cn.csv.gz", dtype=str)


# 1 ---------------------------------------------------------------------------------------------------------------

def test_with_weights_keeps_extra_types_and_mode_overrides():
    cat = standards.load_catalogue(None).with_modes({"殡仪馆": "walk"}, source="--mode")
    assert cat["funeral_home"].mode == "walk"
    assert with_weights(cat, {"社工站": "低保户数"})["funeral_home"].mode == "walk"
    assert with_weights(cat, {"敬老院": "特困人员"})["rural_care_home"].weight == "特困人员"
    assert [t.key for t in with_weights(cat, {"社工站": "x"}).extra] == [t.key for t in cat.extra]
    with pytest.raises(InputError, match="charity_station"):  # the message lists every accepted type
        with_weights(cat, {"不存在的类型": "x"})


# 2 ---------------------------------------------------------------------------------------------------------------

def test_nearest_seat_never_leaves_the_township(villages):
    # ILLUSTRATIVE seat points for the real villages of two real townships; a third township has no seat
    a, b, empty = "430302001", "430302100", "430302200"
    v = villages[villages["code"].str[:9].isin([a, b])].reset_index(drop=True)
    rng = np.random.default_rng(0)
    seats = gpd.GeoDataFrame(v[["code", "name"]], geometry=gpd.points_from_xy(rng.uniform(0, 5000, len(v)),
                                                                             rng.uniform(0, 5000, len(v))), crs=32649)
    pts = gpd.GeoDataFrame({"pop": np.arange(1, 31)}, geometry=gpd.points_from_xy(rng.uniform(0, 5000, 30),
                                                                                  rng.uniform(0, 5000, 30)), crs=32649)
    twp = pd.Series([f"{k}000" for k in [a] * 10 + [b] * 10 + [empty] * 10], index=pts.index, dtype=object)
    got = _nearest_seat(pts, seats, twp, crs=32649)
    # recount: brute-force nearest among the seats whose first 9 digits are the point's township
    for i in range(30):
        own = seats[seats["code"].str[:9] == twp[i][:9]]
        if not len(own):
            assert got[i] is None
            continue
        assert got[i] == own["code"].iloc[int(np.argmin(own.distance(pts.geometry[i]).to_numpy()))]
    dem = pts.assign(unit_code=twp, village_code=got)
    rows, lines = [], []
    demand_without_village(dem, seats, check_rows=rows, lines=lines)
    assert [r["item"] for r in rows] == [f"{empty}000"]
    assert f"{int(pts['pop'][20:].sum())} 人" in rows[0]["detail_zh"]
    assert len(lines) == 1


# 3 ---------------------------------------------------------------------------------------------------------------

def test_villages_whose_township_is_not_in_the_units_are_listed(villages, townships_cn):
    xt = townships_cn[(townships_cn["city"] == "湘潭市") & (townships_cn["abolished"] == "0")]
    fac = pd.DataFrame({"type": ["社工站"], "village_code": [villages["code"].iloc[0]]})
    r = coverage.assess_presence(fac, units=xt[["code", "name"]], villages=villages[["code", "name"]],
                                 types=["社工站"])
    keys = set(xt["code"].str[:9])
    orphans = set(villages.loc[~villages["code"].str[:9].isin(keys), "code"])
    listed = set(r.checks.loc[r.checks["check"] == "village_parent_missing", "item"])
    assert listed == orphans and len(orphans) > 0
    note = next(n.zh for n in r.notes if "上级乡镇（街道）代码不在行政单位中" in n.zh)
    assert f"{len(orphans)} 个村（社区）" in note and "不同版本" in note


# 4 ---------------------------------------------------------------------------------------------------------------

def test_codes_read_as_floats(villages, townships):
    fac = pd.DataFrame({"type": ["农村互助养老服务点"], "village_code": [430302100201.0]})
    vf = pd.DataFrame({"code": villages["code"].astype(float), "name": villages["name"]})
    tf = pd.DataFrame({"code": townships["code"].astype(float), "name": townships["name"]})
    r = coverage.assess_presence(fac, units=tf, villages=vf, types=["互助养老服务点"])
    s = r.summary
    row = s[(s["level"] == "village") & (s["unit_kind"] == "village")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (1, int((villages["code"].str[9:].astype(int)
                                                             .between(200, 399)).sum()))
    assert not r.units["unit_code"].astype(str).str.endswith(".0").any()


# 5 ---------------------------------------------------------------------------------------------------------------

def test_facility_with_unknown_village_code(villages, townships):
    fac = pd.DataFrame({"type": ["农村互助养老服务点"] * 2, "name": ["ok", "typo"],
                        "village_code": ["430302100201", "430302100299"]})
    assert "430302100299" not in set(villages["code"])
    r = coverage.assess_presence(fac, units=townships[["code", "name"]], villages=villages[["code", "name"]],
                                 types=["互助养老服务点"])
    bad = r.checks[r.checks["check"] == "facility_village_unknown"]
    assert bad["name"].tolist() == ["typo"]
    u = r.units
    town = u[(u["level"] == "township") & (u["unit_code"] == "430302100000")]
    assert int(town["n_facilities"].iloc[0]) == 2  # both still count at their township
    assert any("不在村（社区）名单中" in n.zh for n in r.notes)


# 6 ---------------------------------------------------------------------------------------------------------------

def test_abolished_units_leave_the_denominators(townships_cn):
    c = townships_cn[townships_cn["county_code"] == "430281000000"]  # 醴陵市, with an abolished 镇
    assert (c["abolished"] == "1").any()
    fac = pd.DataFrame({"type": ["综合养老服务中心"], "township_code": [c["code"].iloc[0]]})
    r = coverage.assess_presence(fac, units=c[["code", "name", "abolished"]], types=["综合养老服务中心"])
    live = c[c["abolished"] == "0"]
    s = r.summary.set_index("unit_kind")
    assert s.loc["street", "denominator"] == (live["code"].str[6:9].astype(int) < 100).sum()
    assert "any" not in s.index  # the abolished unit (part 604) no longer appears as 未分类
    assert set(r.checks.loc[r.checks["check"] == "unit_abolished", "item"]) == set(c.loc[c["abolished"] == "1", "code"])


# 7 ---------------------------------------------------------------------------------------------------------------

def _register(villages, path: Path, *, extra_row=None):
    # ILLUSTRATIVE register on real codes, Chinese headers, numeric codes, no coordinates
    v = villages.iloc[[0, 1, 300, 600]]
    rows = [{"名称": f"{n}社工站", "类型": "社工站", "状态": "建成", "所属村（社区）代码": int(c)}
            for c, n in zip(v["code"], v["name"])]
    if extra_row:
        rows.append(extra_row)
    pd.DataFrame(rows).to_excel(path, index=False)
    return v


def test_read_register_without_coordinates_and_rows(villages, tmp_path):
    p = tmp_path / "台账.xlsx"
    _register(villages, p, extra_row={"名称": "食堂", "类型": "社区食堂", "状态": "建成", "所属村（社区）代码": None})
    reg = read_register(p)
    assert reg["village_code"].iloc[0] == villages["code"].iloc[0]
    with pytest.raises(InputError, match="row 6"):  # header = row 1, the 5th data row
        coverage.assess_presence(reg, villages=villages[["code", "name"]])
    r = coverage.assess_presence(reg, villages=villages[["code", "name"]], other_types="skip")  # finding 8
    assert r.checks.loc[r.checks["check"] == "facility_type_skipped", "row"].tolist() == [6]


def test_read_unit_list_code_table_with_chinese_headers(villages, tmp_path):
    p = tmp_path / "村.csv"
    villages[["code", "name"]].rename(columns={"code": "行政区划代码", "name": "名称"}).to_csv(p, index=False,
                                                                                      encoding="gbk")
    u = read_unit_list(p)
    assert u["code"].tolist() == villages["code"].tolist() and u["name"].tolist() == villages["name"].tolist()


def test_cli_presence_run_with_villages(villages, townships, tmp_path):
    from geoplan.cli import main

    reg = tmp_path / "台账.xlsx"
    v = _register(villages, reg)
    vf, tf = tmp_path / "村.xlsx", tmp_path / "乡镇.xlsx"
    villages[["code", "name"]].rename(columns={"code": "代码", "name": "名称"}).to_excel(vf, index=False)
    townships[["code", "name"]].rename(columns={"code": "行政区划代码", "name": "名称"}).to_excel(tf, index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["coverage", "--facilities", str(reg), "--units", str(tf), "--villages", str(vf),
                                    "--type", "社工站", "-o", str(out)])
    assert res.exit_code == 0, res.output
    units = pd.read_csv(out / "units.csv", dtype={"unit_code": str})
    got = set(units.loc[(units["level"] == "village") & units["has_facility"], "unit_code"])
    assert got == set(v["code"])
    assert "社工站" in (out / "report.md").read_text(encoding="utf-8")


# 9 ---------------------------------------------------------------------------------------------------------------

def test_extra_types_not_assessed_are_listed():
    cat = standards.default_catalogue()
    fac = pd.DataFrame({"id": ["a", "b", "c"], "name": ["x", "y", "z"],
                        "type": ["social_work", "funeral_home", "funeral_home"]})
    rows, lines = not_assessed(fac, fac, cat.keys, cat)
    assert [r["item"] for r in rows] == ["b", "c"]
    assert lines[0][0].startswith("2 处 殡仪馆 等未评估类型的设施未计入指标")


# 10 --------------------------------------------------------------------------------------------------------------

def test_as_of_compares_full_dates(townships):
    f = pd.DataFrame({"type": ["综合养老服务中心"] * 3, "status": ["建成"] * 3,
                      "year_built": ["2021-12-20", "2021", "2020-12-31"],
                      "township_code": ["430302001000", "430302002000", "430302003000"]})
    r = coverage.assess_presence(f, units=townships[["code", "name"]], types=["综合养老服务中心"], as_of="2021-01-01")
    s = r.summary
    # 2021-12-20 is after 2021-01-01; a year alone (2021) counts when not after the as-of year
    assert int(s.loc[s["unit_kind"] == "street", "numerator"].iloc[0]) == 2
    assert r.checks["check"].tolist() == ["facility_built_after_as_of"]


# 11 --------------------------------------------------------------------------------------------------------------

def test_census_aliases_blank_extra_and_special_codes(villages, tmp_path):
    v = villages.iloc[:3]
    t = pd.DataFrame({"行政区划代码": v["code"], "名称": v["name"], "常住人口": [100, 200, 300],
                      "60周岁及以上人口": [10, 20, 30], "18岁以下": [5, 6, 7], "留守儿童": [1, None, 2]})
    p = tmp_path / "七普.csv"
    t.to_csv(p, index=False, encoding="gbk")
    c = read_census(p)
    assert c["pop_60"].tolist() == [10, 20, 30] and c["pop_0_17"].tolist() == [5, 6, 7]
    assert c["留守儿童"].isna().tolist() == [False, True, False] and c.attrs["incomplete"] == ["留守儿童"]
    t2 = t.assign(行政区划代码=["430302999001", *v["code"].iloc[1:]], 留守儿童=1)
    t2.to_csv(p, index=False, encoding="gbk")
    assert read_census(p).attrs["special"] == ["430302999001"]


# 12 --------------------------------------------------------------------------------------------------------------

def test_register_aliases_staff_and_nursing_share(villages, tmp_path):
    p = tmp_path / "台账.xlsx"
    pd.DataFrame({"名称": ["甲", "乙"], "类型": ["社工站", "综合养老服务中心"], "床位": [10, 40], "护理型床位": [5, 20],
                  "工作人员": [2, 3], "村（居）委会代码": [villages["code"].iloc[0], villages["code"].iloc[1]]}
                 ).to_excel(p, index=False)
    reg = read_register(p)
    assert reg["village_code"].tolist() == villages["code"].iloc[:2].tolist()
    r = coverage.assess_presence(reg, villages=villages[["code", "name"]], types=["社工站", "综合养老服务中心"])
    share = r.summary[r.summary["indicator"] == "nursing_bed_share"]
    assert share["type"].tolist() == ["elder_care_centre"] and share["value"].iloc[0] == 20 / 40
    pd.DataFrame({"名称": ["甲"], "类型": ["社工站"], "工作人员": [2.5]}).to_excel(p, index=False)
    with pytest.raises(InputError, match="whole number.*row 2"):
        read_register(p)
