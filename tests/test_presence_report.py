"""Presence-only results (``assess_presence``: no network, no demand) saved as a full report folder.

Expected figures are recounted from the inputs with plain pandas (the register rows, the village list's code
digits), never taken from the result.  The Xiangtan register and census table are ILLUSTRATIVE (the demo's
documented rule); the units are real.  The polygon case uses the Helsinki demo's real postal areas with
ILLUSTRATIVE street codes (as tests/test_asof_compare.py does: no Chinese boundary data ship offline).
"""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan import coverage, demo
from geoplan.cli import main

from _langscan import offenders

AS_OF = "2023-12-31"


@pytest.fixture(scope="module")
def xt_result():
    return demo.xiangtan_results((AS_OF,))[AS_OF]


@pytest.fixture(scope="module")
def xt_folders(tmp_path_factory, xt_result):
    from geoplan.outputs import write_coverage

    base = tmp_path_factory.mktemp("presence")
    out = {}
    for lang, area in (("zh", "湘潭市"), ("en", "Xiangtan")):
        out[lang] = base / lang
        paths = write_coverage(xt_result, out[lang], lang=lang, area=area)
        out[lang + "_paths"] = paths
    return out


def _built_by(reg: pd.DataFrame, typ: str, year: int) -> pd.DataFrame:
    r = reg[(reg["type"] == typ) & (reg["status"] == "建成")]
    return r[r["year_built"].astype(float) <= year]


def _recount_villages(typ: str, kinds: tuple[str, ...]) -> tuple[int, int]:
    """Villages of the kinds (by code digits 10–12) with a built facility of the type by the as-of year."""
    v = demo.xiangtan_villages()
    tail = v["code"].str[9:].astype(int)
    kind = pd.Series(["community" if x <= 199 else "village" if x <= 399 else "special" for x in tail], index=v.index)
    counted = v[kind.isin(kinds).to_numpy()]
    have = set(_built_by(demo.xiangtan_register(), typ, int(AS_OF[:4]))["village_code"].dropna())
    return int(counted["code"].isin(have).sum()), len(counted)


def test_report_folder_without_geometry(xt_folders):
    folder, paths = xt_folders["zh"], xt_folders["zh_paths"]
    for name in ("report.md", "report.html", "report.xlsx", "report.docx", "summary.csv"):
        assert (folder / name).is_file(), name
    # no unit has geometry: no map, no print maps, no layers, and the report says so
    for name in ("map.html", "maps", "layers.gpkg", "geojson"):
        assert not (folder / name).exists(), name
    assert "map" not in paths and "gpkg" not in paths
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "未生成地图" in md
    # no travel-time or gap sections, no travel mode column
    for heading in ("## 出行时间", "## 覆盖缺口", "出行方式"):
        assert heading not in md, heading
    assert "民政服务设施覆盖情况报告" in md.splitlines()[0]


def test_village_sentence_recounted(xt_folders):
    md = (xt_folders["zh"] / "report.md").read_text(encoding="utf-8")
    have, n = _recount_villages("社工站", ("village", "community"))
    v_have, v_n = _recount_villages("社工站", ("village",))
    c_have, c_n = _recount_villages("社工站", ("community",))
    share = f"{100 * have / n:.1f}%"
    sentence = (f"{n} 个村（社区）中 {have} 个已有社工站（{share}；其中村 {v_n} 个中 {v_have} 个、"
                f"社区 {c_n} 个中 {c_have} 个）")
    assert sentence in md
    assert ("，已达到 30% 的目标。" if have / n >= 0.3 else "目标还差") in md.split(sentence)[1][:20]
    m_have, m_n = _recount_villages("农村互助养老服务点", ("village",))
    assert f"{m_n} 个村中 {m_have} 个已有农村互助养老服务点（{100 * m_have / m_n:.1f}%）" in md
    # a type counted over 村 says nothing of 社区 (no 互助养老 sentence over communities)
    assert "个社区中 0 个已有农村互助养老服务点" not in md


def test_combined_township_sentence_with_breakdown(xt_folders):
    md = (xt_folders["zh"] / "report.md").read_text(encoding="utf-8")
    t = demo.xiangtan_townships()
    have = set(_built_by(demo.xiangtan_register(), "综合养老服务中心", int(AS_OF[:4]))["township_code"])
    part = t["code"].str[6:9].astype(int)
    town = t[(part >= 100) & (part <= 199)]
    twp = t[(part >= 200) & (part <= 399)]
    h1, h2 = int(town["code"].isin(have).sum()), int(twp["code"].isin(have).sum())
    n, h = len(town) + len(twp), h1 + h2
    assert (f"{n} 个乡镇中 {h} 个已建综合养老服务中心（{100 * h / n:.1f}%；其中镇 {len(town)} 个中 {h1} 个、"
            f"乡 {len(twp)} 个中 {h2} 个）") in md


def test_excel_one_sheet_for_villages_full_names_in_tables(xt_folders):
    wb = openpyxl.load_workbook(xt_folders["zh"] / "report.xlsx", read_only=True)
    names = wb.sheetnames
    assert "村（社区）" in names and "达标一览" in names
    # no sheet per type (four sheets of a thousand rows each)
    assert not any(n.startswith(("乡镇/街道社工站", "农村互助")) for n in names), names
    rows = list(wb["村（社区）"].iter_rows(values_only=True))
    assert len(rows) - 1 == len(demo.xiangtan_villages())
    assert rows[0][:3] == ("街道/乡镇", "区划代码", "单位名称")
    board = list(wb["达标一览"].iter_rows(values_only=True))
    assert len(board) - 1 == len(demo.xiangtan_townships())
    # the x/y column of a township: its villages with a mutual-aid point / its villages (村)
    head = list(board[0])
    col = head.index("农村互助养老服务点·村")
    v = demo.xiangtan_villages()
    have = set(_built_by(demo.xiangtan_register(), "农村互助养老服务点", int(AS_OF[:4]))["village_code"])
    for row in board[1:6]:
        vv = v[(v["township_code"] == row[0]) & (v["code"].str[9:].astype(int).between(200, 399))]
        want = f"{int(vv['code'].isin(have).sum())}/{len(vv)}" if len(vv) else "—"
        assert row[col] == want, (row[0], row[col], want)
    summary = list(wb["指标与目标"].iter_rows(values_only=True))
    types = {r[0] for r in summary[1:]}
    # tables name types by their full catalogue names
    assert "乡镇/街道社工站" in types and "街道/乡镇综合养老服务中心" in types and "社工站" not in types
    assert "出行方式" not in summary[0]


def test_docx_opens_and_long_tables_point_to_the_workbook(xt_folders):
    import docx

    d = docx.Document(str(xt_folders["zh"] / "report.docx"))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "各单位达标一览" in text and "指标与目标" in text
    assert "全表见 report.xlsx 的“村（社区）”工作表" in text
    assert len(d.tables) >= 2 and max(len(t.rows) for t in d.tables) <= 301


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_language_rules(xt_folders, lang):
    bad = offenders(xt_folders[lang], lang)
    assert not bad, bad[:10]


def test_english_report(xt_folders):
    md = (xt_folders["en"] / "report.md").read_text(encoding="utf-8")
    have, n = _recount_villages("社工站", ("village", "community"))
    assert f"In Xiangtan, {have} of the {n} villages and communities have a social-work station" in md
    assert "communities" in md and "communitys" not in md
    assert "no map (map.html or print maps) was made" in md


def _helsinki_presence():
    """The demo's real postal areas with ILLUSTRATIVE street codes, its facilities placed by location."""
    d = demo.load_demo()
    units = d.units.to_crs(4326).reset_index(drop=True)
    units = gpd.GeoDataFrame({"code": [f"430302{i + 1:03d}000" for i in range(len(units))], "name": units["name"]},
                             geometry=units.geometry, crs=4326)
    return d, units, coverage.assess_presence(d.facilities, units=units)


def test_polygon_units_get_map_and_print_maps(tmp_path):
    d, units, r = _helsinki_presence()
    paths = r.save(tmp_path / "run")
    assert paths["map"].is_file() and paths["maps"].is_dir()
    pngs = sorted(paths["maps"].glob("*_A4.png"))
    assert len(pngs) == len(r.catalogue.keys)
    layers = set(gpd.list_layers(paths["gpkg"])["name"]) if hasattr(gpd, "list_layers") else None
    if layers is not None:
        assert {"facilities", "unit_indicators"} <= layers and "demand" not in layers
    md = paths["md"].read_text(encoding="utf-8")
    assert "未生成地图" not in md and "附图 1" in md
    # the units with a facility, recounted by a spatial join of the facilities into the polygons
    fac = d.facilities.to_crs(4326)
    joined = gpd.sjoin(fac, units, predicate="within")
    for key in r.catalogue.keys:
        ft = r.catalogue[key]
        names = {ft.key, ft.name_zh, *getattr(ft, "aliases", ())}
        have = joined[joined["type"].isin(names)]["code"].nunique()
        assert f"{len(units)} 个街道中 {have} 个已建" in md or f"{len(units)} 个乡镇（街道）中 {have} 个已建" in md


def test_compare_reads_the_demo_date_folders(tmp_path):
    out = tmp_path / "xt"
    paths = demo.run_xiangtan_demo(out)
    from geoplan.demo._xiangtan import XIANGTAN_DATES

    before, after = XIANGTAN_DATES
    for d in (before, after):
        md = (out / d / "report.md").read_text(encoding="utf-8")
        first = next(ln for ln in md.splitlines() if ln.strip() and not ln.startswith("#"))
        assert first.startswith("说明：本演示的设施台账和人口表为示意数据") and "957 个村（社区）" in first
        assert "示意数据" in md.splitlines()[0] and paths[d] == out / d
    res = CliRunner().invoke(main, ["-q", "compare", str(out / before), str(out / after), "-o", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "cmp" / "compare.csv", encoding="utf-8-sig")
    want = pd.read_csv(out / "compare.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(got[["value_before", "value_after"]], want[["value_before", "value_after"]],
                                  check_exact=False)
