"""The Xiangtan village demo: real units, the ILLUSTRATIVE census table and register, the two-date report.

Expected values are recounted from the shipped village list with plain pandas on the code digits, or from the
figures the demo states (2020 census totals, DESIGN.md §1).
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import coverage, demo
from geoplan.cli import main


def test_townships_are_the_villages_townships():
    t, v = demo.xiangtan_townships(), demo.xiangtan_villages()
    assert len(t) == 70 and len(v) == 957
    assert set(v["township_code"]) == set(t["code"])
    part = t["code"].str[6:9].astype(int)
    expected = {"street": int((part <= 99).sum()), "town": int(((part >= 100) & (part <= 199)).sum()),
                "township": int(((part >= 200) & (part <= 399)).sum())}
    assert t["kind"].value_counts().to_dict() == expected


def test_census_keeps_the_city_totals_and_the_rule():
    c = demo.xiangtan_census()
    v = demo.xiangtan_villages()
    assert c["行政区划代码"].tolist() == v["code"].tolist()
    assert int(c["常住人口"].sum()) == 2_450_000 and int(c["60岁以上"].sum()) == 562_000
    # each unit within one person of its exact quota (weights: community 3, village 2, other 1)
    tail = v["code"].str[9:].astype(int)
    w = [3 if x <= 199 else 2 if x <= 399 else 1 for x in tail]
    total_w = sum(w)
    for col, total in (("常住人口", 2_450_000), ("60岁以上", 562_000)):
        for wi, got in zip(w, c[col]):
            quota = Fraction(total * wi, total_w)
            assert abs(Fraction(int(got)) - quota) < 1


def test_register_is_deterministic_and_follows_its_rule():
    a, b = demo.xiangtan_register(), demo.xiangtan_register()
    pd.testing.assert_frame_equal(a, b)
    assert a["id"].is_unique
    twp = a[a["village_code"].isna()]
    assert (twp["type"] == "社工站").sum() == 70  # one station per township
    v = demo.xiangtan_villages()
    kind = dict(zip(v["code"], v["code"].str[9:].astype(int)))
    mut = a[a["type"] == "农村互助养老服务点"]
    assert all(200 <= kind[c] <= 399 for c in mut["village_code"])  # only 村 get a mutual-aid point
    day = a[a["type"] == "社区日间照料中心"]
    assert all(kind[c] <= 199 for c in day["village_code"])
    built = a["status"] == "建成"
    assert a.loc[built, "year_built"].notna().all() and a.loc[~built, "year_built"].isna().all()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("xt") / "湘潭"
    paths = demo.run_xiangtan_demo(out)
    return paths, paths["md"].read_text(encoding="utf-8")


def test_report_says_first_that_the_data_are_illustrative(report):
    _, md = report
    lines = [ln for ln in md.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "示意" in md.splitlines()[0] and lines[0].startswith("说明：本演示的设施台账和人口表为示意数据")
    assert "957 个村（社区）" in lines[0]


def test_report_has_the_village_and_combined_indicators(report):
    paths, md = report
    results = demo.xiangtan_results()
    cmp = coverage.compare_summaries(results["2021-12-31"], results["2023-12-31"])
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"], encoding="utf-8-sig")[["value_before", "value_after"]],
                                  cmp[["value_before", "value_after"]].astype(float), check_exact=False)
    for subject in ("社工站覆盖村（社区）比例", "农村互助养老服务点覆盖村比例", "综合养老服务中心覆盖乡镇比例",
                    "综合养老服务中心覆盖镇比例", "综合养老服务中心覆盖乡比例"):
        assert subject in md, subject
    # the combined 乡镇 figure is 镇 + 乡 together, recounted from the per-kind rows
    s = results["2023-12-31"].summary
    e = s[(s["type"] == "elder_care_centre") & (s["level"] == "township")].set_index("unit_kind")
    assert e.loc["town_township", "numerator"] == e.loc["town", "numerator"] + e.loc["township", "numerator"]
    assert e.loc["town_township", "denominator"] == e.loc["town", "denominator"] + e.loc["township", "denominator"]


def test_cli_demo_xiangtan_english(tmp_path):
    out = tmp_path / "xt"
    res = CliRunner().invoke(main, ["demo", "--xiangtan", "--lang", "en", "-o", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    first = next(ln for ln in md.splitlines() if ln.strip() and not ln.startswith("#"))
    assert "ILLUSTRATIVE" in first and "percentage points" in md
