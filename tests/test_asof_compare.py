"""Issue 15 item 7: --as-of across merges (boundaries register history) and the comparison of two dates/runs.

The merge is ILLUSTRATIVE: Xiangtan's 2017 report counts 6 streets and 28 communities fewer (DESIGN.md §1);
which units merged is not known offline, so the codes are taken from the real village list by a fixed rule
(the first 6 streets that have another street in their county, and the first 28 communities that have another
community in their township) and each is merged into that neighbour.
Expected counts are recounted here with plain pandas on the code digits, not with geoplan's classifiers.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import coverage, demo
from geoplan.cli import main
from geoplan.registers import boundaries as B

BEFORE, MERGED, AFTER = "2016-12-31", "2017-06-30", "2017-12-31"


def _is_street(code: str) -> bool:  # digits 7–9 in 001–099, a township-level code
    return code[9:] == "000" and 1 <= int(code[6:9]) <= 99


def _is_community(code: str) -> bool:  # digits 10–12 in 001–199
    return code[9:] != "000" and 1 <= int(code[9:]) <= 199


@pytest.fixture(scope="module")
def merged():
    """Divisions of Xiangtan from 2016, 6 streets and 28 communities merged into neighbours on 2017-06-30."""
    tw, vil = demo.xiangtan_townships(), demo.xiangtan_villages()
    rows = pd.concat([tw[["code", "name"]], vil[["code", "name"]]], ignore_index=True)
    div = B.new_divisions(gpd.GeoDataFrame(rows, geometry=[None] * len(rows)), valid_from="2016-01-01")
    streets = [c for c in tw["code"] if _is_street(c)]
    pairs = []  # (merged away, receiving)
    used = set()
    for c in streets:
        others = [o for o in streets if o[:6] == c[:6] and o != c and o not in used and c not in used]
        if others and len([p for p in pairs if _is_street(p[0])]) < 6:
            pairs.append((c, others[0]))
            used |= {c, others[0]}
    comms = [c for c in vil["code"] if _is_community(c)]
    n = 0
    for c in comms:
        others = [o for o in comms if o[:9] == c[:9] and o != c and o not in used and c not in used]
        if others and n < 28:
            pairs.append((c, others[0]))
            used |= {c, others[0]}
            n += 1
    names = dict(zip(rows["code"], rows["name"]))
    for old, new in pairs:
        div = B.merge(div, [old, new], new_code=new, new_name=names[new], date=MERGED,
                      document="示意（ILLUSTRATIVE），非真实批文").divisions
    return div, pairs


def test_illustrative_merge_counts(merged):
    _, pairs = merged
    assert sum(_is_street(o) for o, _ in pairs) == 6
    assert sum(_is_community(o) for o, _ in pairs) == 28


def test_units_at_before_and_after_merge(merged):
    div, pairs = merged
    tw, vil = demo.xiangtan_townships(), demo.xiangtan_villages()
    t0, v0 = coverage.units_at(div, BEFORE)
    t1, v1 = coverage.units_at(div, AFTER)
    assert sorted(t0["code"]) == sorted(tw["code"]) and sorted(v0["code"]) == sorted(vil["code"])
    gone = {o for o, _ in pairs}
    assert sorted(t1["code"]) == sorted(set(tw["code"]) - gone)
    assert sorted(v1["code"]) == sorted(set(vil["code"]) - gone)
    n_streets = sum(_is_street(c) for c in tw["code"])
    assert (t1["kind"] == "street").sum() == n_streets - 6
    assert (v1["kind"] == "community").sum() == sum(_is_community(c) for c in vil["code"]) - 28


def test_recode_follows_merges_and_chains(merged):
    div, pairs = merged
    old, new = next(p for p in pairs if _is_community(p[0]))
    touched = {c for p in pairs for c in p}
    keep = next(c for c in demo.xiangtan_villages()["code"] if c not in touched)
    codes = pd.Series([old, new, keep, None], index=[10, 11, 12, 13])
    out, moved = coverage.recode_at(codes, div, AFTER)
    assert out.tolist()[:3] == [new, new, keep] and out.isna().tolist()[3]
    assert moved.to_dict("records") == [{"old_code": old, "new_code": new}]
    same, moved0 = coverage.recode_at(codes, div, BEFORE)  # before the merge nothing moves
    assert same.tolist()[:3] == codes.tolist()[:3] and moved0.empty
    # a chain: new merged again later into a third unit
    third = next(c for c in div["code"] if c[:9] == new[:9] and c not in (old, new) and _is_community(c)
                 and c not in {p[0] for p in pairs})
    div2 = B.merge(div, [new, third], new_code=third, new_name="x", date="2019-01-01", document="示意").divisions
    out2, _ = coverage.recode_at(codes, div2, "2019-12-31")
    assert out2.tolist()[:2] == [third, third]


def test_presence_denominators_across_the_merge(merged):
    div, pairs = merged
    street_old, street_new = next(p for p in pairs if _is_street(p[0]))
    comm_old, comm_new = next(p for p in pairs if _is_community(p[0]))
    fac = pd.DataFrame({"id": ["F1", "F2"], "type": ["社工站", "社区日间照料中心"],
                        "township_code": [street_old, comm_old[:9] + "000"], "village_code": [None, comm_old],
                        "status": ["建成", "建成"], "year_built": [2015, 2015]})
    tw, vil = demo.xiangtan_townships(), demo.xiangtan_villages()
    n_str, n_com = sum(_is_street(c) for c in tw["code"]), sum(_is_community(c) for c in vil["code"])
    for date, d_str, d_com in ((BEFORE, n_str, n_com), (AFTER, n_str - 6, n_com - 28)):
        r = coverage.assess_presence(fac, divisions=div, as_of=date, types=["social_work", "day_care_centre"])
        s = r.summary.set_index(["type", "level", "unit_kind"])
        assert s.loc[("social_work", "township", "street"), "denominator"] == d_str
        assert s.loc[("social_work", "township", "street"), "numerator"] == 1
        assert s.loc[("day_care_centre", "village", "community"), "denominator"] == d_com
        u = r.units
        have = set(u[(u["type"] == "social_work") & u["has_facility"] & (u["level"] == "township")]["unit_code"])
        assert have == ({street_old} if date == BEFORE else {street_new})
        have = set(u[(u["type"] == "day_care_centre") & u["has_facility"] & (u["level"] == "village")]["unit_code"])
        assert have == ({comm_old} if date == BEFORE else {comm_new})
        assert r.as_of.isoformat() == date
    assert "2 处设施所属单位已合并" in r.notes[0].zh
    r0 = coverage.assess_presence(fac, divisions=div, as_of=BEFORE, types=["social_work"])
    assert "已合并" not in r0.notes[0].zh


def test_presence_as_of_counts_by_year_and_status():
    """The Xiangtan register at two dates, recounted from the register with plain pandas."""
    reg = demo.xiangtan_register()
    t, v = demo.xiangtan_units()
    for date in ("2021-12-31", "2023-12-31"):
        year = int(date[:4])
        r = coverage.assess_presence(reg, units=t, villages=v, types=["mutual_aid_elder_care", "social_work"],
                                     as_of=date)
        ok = reg[(reg["status"] == "建成") & (reg["year_built"].astype(float) <= year)]
        mut = set(ok[ok["type"] == "农村互助养老服务点"]["village_code"])
        n_vil = sum(1 for c in v["code"] if 200 <= int(c[9:]) <= 399)
        row = r.summary[(r.summary["type"] == "mutual_aid_elder_care") & (r.summary["unit_kind"] == "village")].iloc[0]
        assert (row["numerator"], row["denominator"]) == (len(mut), n_vil)
        soc = set(ok[ok["type"] == "社工站"]["village_code"].dropna())
        row = r.summary[(r.summary["type"] == "social_work") & (r.summary["unit_kind"] == "village_community")].iloc[0]
        n_vc = sum(1 for c in v["code"] if 1 <= int(c[9:]) <= 399)
        n_soc = sum(1 for c in soc if 1 <= int(c[9:]) <= 399)
        assert (row["numerator"], row["denominator"]) == (n_soc, n_vc)
        assert row["passed"] == (n_soc / n_vc >= 0.3)
        left = r.checks["check"].value_counts().to_dict()
        later = int(((reg["status"] == "建成") & (reg["year_built"].astype(float) > year)).sum())
        assert left.get("facility_built_after_as_of", 0) == later


@pytest.fixture(scope="module")
def two_dates():
    return demo.xiangtan_results()


def test_compare_summaries(two_dates):
    r21, r23 = two_dates["2021-12-31"], two_dates["2023-12-31"]
    cmp = coverage.compare_summaries(r21, r23)
    keys = ["type", "level", "indicator", "unit_kind"]
    a = r23.summary.set_index(keys)["value"]
    b = r21.summary.set_index(keys)["value"]
    for _, row in cmp.iterrows():
        k = tuple(row[keys])
        assert row["value_after"] == pytest.approx(a[k]) and row["value_before"] == pytest.approx(b[k])
        assert row["change_pp"] == pytest.approx((a[k] - b[k]) * 100)
    row = cmp[(cmp["type"] == "social_work") & (cmp["unit_kind"] == "village_community")].iloc[0]
    assert row["target"] == 0.3 and row["passed_after"] == (a[tuple(row[keys])] >= 0.3)
    assert row["type_name_zh"] == "乡镇/街道社工站"


def test_comparison_sentences(two_dates):
    from geoplan.outputs._compare_outputs import comparison_sentences

    r21, r23 = two_dates["2021-12-31"], two_dates["2023-12-31"]
    cmp = coverage.compare_summaries(r21, r23)
    said = comparison_sentences(cmp, lang="zh")
    row = cmp[(cmp["type"] == "social_work") & (cmp["unit_kind"] == "village_community")].iloc[0]
    b, a = row["value_before"] * 100, row["value_after"] * 100
    expected = (f"社工站覆盖村（社区）比例由 {b:.1f}% 提高到 {a:.1f}%，提高 {a - b:.1f} 个百分点，"
                + ("达到 30% 目标" if a >= 30 else "未达到 30% 目标"))
    assert any(s.startswith(expected) for s in said), said
    assert any(s.startswith("综合养老服务中心覆盖乡镇比例") for s in said)
    en = comparison_sentences(cmp, lang="en")
    assert any(s.startswith("The share of villages and communities with a social-work station") for s in en), en


def _write_run(result, folder):
    from geoplan.outputs._coverage_outputs import write_run_summary

    folder.mkdir()
    write_run_summary(result, folder / "summary.csv")


def test_cli_compare_two_runs(two_dates, tmp_path):
    a, b = tmp_path / "2021", tmp_path / "2023"
    _write_run(two_dates["2021-12-31"], a)
    _write_run(two_dates["2023-12-31"], b)
    s, info = coverage.read_run(b)
    assert info["as_of"] == "2023-12-31" and len(s) == len(two_dates["2023-12-31"].summary)
    out = tmp_path / "对比"
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "-o", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "2021-12-31 至 2023-12-31" in md and "个百分点" in md
    for word in ("passed", "village", "street", "True", "False"):  # no English value words in Chinese output
        assert word not in md.split("## 数据与方法说明")[0], word
    table = pd.read_csv(out / "compare.csv", encoding="utf-8-sig")
    assert len(table) == len(coverage.compare_summaries(two_dates["2021-12-31"], two_dates["2023-12-31"]))
    # again without --overwrite: refused, nothing changed
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "-o", str(out)])
    assert res.exit_code == 2


def test_cli_compare_refuses_a_folder_without_summary(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "summary.csv" in res.output
    assert not (tmp_path / "o").exists()


def test_cli_coverage_units_store_needs_as_of(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["coverage", "--network", str(f), "--facilities", str(f), "--units-store", str(f),
                                    "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--as-of" in res.output


def test_parse_as_of_rejects_nonsense():
    from geoplan import InputError

    with pytest.raises(InputError, match="as-of"):
        coverage.units_at(pd.DataFrame({"code": [], "name": [], "valid_from": [], "valid_to": []}), "last year")


def test_saved_run_holds_summary_csv(tmp_path):
    """A network run saved by CoverageResult.save holds summary.csv with its as-of date; villages as a code table
    (no geometry) do not stop the print maps."""
    d = demo.load_demo()
    vil = pd.DataFrame({"code": ["430302001001", "430302001201"], "name": ["甲社区", "乙村"]})
    r = coverage.assess(d.network, d.facilities, d.demand, units=d.units, villages=vil, types=["elder_care_station"],
                        with_service_areas=False, as_of="2020")
    paths = r.save(tmp_path / "run", map=False)
    assert paths["summary"].name == "summary.csv"
    s, info = coverage.read_run(tmp_path / "run")
    assert info["as_of"] == "2020-12-31" and info["label"] == "2020-12-31"
    cmp = coverage.compare_summaries(s, r)  # a run against itself: no change
    assert (cmp["change_pp"].fillna(0).abs() < 1e-9).all()
    assert cmp["value_after"].tolist() == pytest.approx(r.summary["value"].tolist(), nan_ok=True)


def test_cli_coverage_units_store_across_a_merge_then_compare(tmp_path):
    """``coverage --units-store --as-of`` before and after a merge, then ``compare`` of the two folders.

    The store is ILLUSTRATIVE: the demo's five Helsinki postal areas carry street codes 430302001000... (no
    Chinese road network exists offline) and the first two are merged into the second on 2020-06-30."""
    from geoplan.demo import helsinki_pbf
    from geoplan.registers import open_store

    d = demo.load_demo()
    fac = d.facilities.to_crs(4326)
    fac_csv = tmp_path / "设施.csv"
    fac_csv.write_text("编号,名称,类型,经度,纬度\n" + "".join(
        f"{r.id},{r.name},{r.type},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in fac.itertuples()),
        encoding="utf-8-sig")
    dem = d.demand.to_crs(4326)
    dem_csv = tmp_path / "需求点.csv"
    dem_csv.write_text("编号,人口,60岁以上,0-17岁,经度,纬度\n" + "".join(
        f"{r.id},{r.pop},{r.pop_60},{r.pop_0_17},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in dem.itertuples()),
        encoding="utf-8")
    units = d.units.to_crs(4326).reset_index(drop=True)
    codes = [f"430302{i + 1:03d}000" for i in range(len(units))]
    div = B.new_divisions(gpd.GeoDataFrame({"code": codes, "name": units["name"]}, geometry=units.geometry,
                                           crs=4326), valid_from="2016-01-01")
    div = B.merge(div, codes[:2], new_code=codes[1], new_name="合并（示意）", date="2020-06-30",
                  document="示意").divisions
    store = tmp_path / "区划.gpkg"
    with open_store(store) as s:
        B.store_divisions(s, div)
    base = ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv), "--demand", str(dem_csv),
            "--facilities-datum", "wgs84", "--demand-datum", "wgs84",
            "--units-store", str(store), "--type", "社区养老服务站", "--no-service-areas", "--no-map"]
    for date in ("2019-12-31", "2021-12-31"):
        res = CliRunner().invoke(main, [*base, "--as-of", date, "-o", str(tmp_path / date)])
        assert res.exit_code == 0, res.output
    s19, _ = coverage.read_run(tmp_path / "2019-12-31")
    s21, _ = coverage.read_run(tmp_path / "2021-12-31")
    row = lambda s: s[(s["level"] == "township") & (s["indicator"] == "share_units_with_facility")].iloc[0]
    assert row(s19)["denominator"] == len(units) and row(s21)["denominator"] == len(units) - 1
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "2019-12-31"), str(tmp_path / "2021-12-31"),
                                    "-o", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert f"{len(units)}" in md and "2019-12-31 至 2021-12-31" in md
