"""Reports: Markdown, HTML and Excel from the same sections."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from geoplan._errors import InputError
from geoplan.outputs._i18n import LABELS, check_lang, in_lang, label, pick, translate_columns
from geoplan.outputs import Section, markdown_table, sheet_name, write_report


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": ["430302001", "430302002"],
            "unit_name": ["雨湖路街道", "<script>alert(1)</script>"],
            "pop": [12000, 8000],
            "share_pop_covered": [0.835, 0.5],
            "has_facility": [True, False],
            "facility_type": ["elder_care_centre", "social_work"],
            "median_min": [7.25, np.nan],
        }
    )


# --------------------------------------------------------------------------- i18n


def test_label_known_unknown_and_english():
    assert label("pop") == "人口"
    assert label("pop_60") == "60岁以上人口"
    assert label("share_pop_covered", "zh") == "人口覆盖率"
    assert label("elder_care_centre") == "综合养老服务中心"
    assert label("pop", "en") == "Population"
    assert label("not_a_key") == "not_a_key"
    assert label("social_work_min") == "社工站出行时间(分钟)"
    assert label("elder_care_centre_covered", "en") == "Covered by Comprehensive elder-care centre"
    assert label("foo_min") == "foo_min"
    assert label(3) == 3
    with pytest.raises(InputError, match="lang"):
        label("pop", "fr")


def test_labels_unique_per_language_for_coverage_columns():
    keys = ["pop", "pop_60", "pop_0_17", "share_pop_covered", "share_pop_60_covered",
            "share_pop_0_17_covered", "median_min", "p90_min", "has_facility", "target",
            "passed", "shortfall", "unit_name", "unit_code", "facility_type"]
    for lang in ("zh", "en"):
        labels = [label(k, lang) for k in keys]
        assert len(set(labels)) == len(labels)
        assert all(k in LABELS for k in keys)


def test_translate_columns_keeps_unknown(table):
    t = translate_columns(table.assign(extra=1))
    assert list(t.columns)[:3] == ["区划代码", "单位名称", "人口"]
    assert "extra" in t.columns
    assert list(table.columns)[0] == "unit_code"  # input untouched


# --------------------------------------------------------------------------- Markdown


def test_markdown_table(table):
    md = markdown_table(table, lang="zh")
    lines = md.splitlines()
    assert lines[0] == ("| 区划代码 | 单位名称 | 人口 | 人口覆盖率 | 有设施 | 设施类型 "
                        "| 中位出行时间(分钟) |")
    assert lines[1] == "| --- | --- | ---: | ---: | --- | --- | ---: |"
    assert lines[2] == "| 430302001 | 雨湖路街道 | 12,000 | 83.5% | 是 | 综合养老服务中心 | 7.25 |"
    # escaped so that a renderer shows it as text; NaN is empty; bool 否
    assert lines[3] == ("| 430302002 | \\<script\\>alert(1)\\</script\\> | 8,000 | 50.0% | 否 "
                        "| 社工站 |  |")
    assert len(lines) == 4


def test_markdown_table_english_and_pipes():
    df = pd.DataFrame({"unit_name": ["a|b"], "passed": [True]})
    md = markdown_table(df, lang="en")
    assert md.splitlines()[0] == "| Unit name | Passed |"
    assert md.splitlines()[2] == "| a\\|b | yes |"


# --------------------------------------------------------------------------- write_report


def test_write_report_three_files(tmp_path, table):
    sections = [
        Section("概况", text="本报告为演示。\n\n第二段 <b>不是粗体</b>"),
        Section("养老服务设施覆盖", table=table, sheet="养老覆盖"),
        Section("未保站覆盖", table=table.head(1), figure=_png()),
        Section("Chart only", figure=_png()),
    ]
    paths = write_report(tmp_path, title="湘潭市 民政设施覆盖评估", sections=sections)
    assert set(paths) == {"md", "html", "xlsx", "docx", "figures"}
    for key in ("md", "html", "xlsx"):
        assert paths[key].exists() and paths[key].parent == tmp_path
        assert paths[key].name == f"report.{key}"
    assert sorted(p.name for p in paths["figures"].iterdir()) == ["figure_3.png", "figure_4.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    md = paths["md"].read_text(encoding="utf-8")
    assert md.startswith("# 湘潭市 民政设施覆盖评估\n")
    assert "## 养老服务设施覆盖" in md
    assert "| 区划代码 | 单位名称 |" in md
    assert "![未保站覆盖](report_figures/figure_3.png)" in md


def test_html_self_contained_and_escaped(tmp_path, table):
    sections = [
        Section("<script>alert('h')</script>", text="<script>alert(2)</script>", table=table,
                figure=_png()),
    ]
    paths = write_report(tmp_path, title="标题 <script>alert(3)</script>", sections=sections)
    h = paths["html"].read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in h
    assert '<html lang="zh-CN">' in h
    assert "Noto Sans CJK SC" in h and "Microsoft YaHei" in h
    assert "<script" not in h.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in h
    assert "data:image/png;base64," in h
    # nothing fetched from elsewhere
    assert "http://" not in h and "https://" not in h and "src=\"//" not in h
    assert "<td>是</td>" in h and "<td>否</td>" in h
    assert "83.5%" in h


def test_excel_sheets_cjk_and_style(tmp_path, table):
    from openpyxl import load_workbook

    long_name = "一个非常非常长的工作表名称：用于测试Excel的三十一个字符限制[以及]非法字符?"
    sections = [
        Section("说明", text="没有表格的部分不产生工作表"),
        Section("养老服务设施覆盖", table=table),
        Section(long_name, table=table),
        Section(long_name, table=table),
        Section("x", table=table, sheet="history"),
    ]
    paths = write_report(tmp_path, title="报告", sections=sections, basename="覆盖报告")
    assert paths["xlsx"].name == "覆盖报告.xlsx"
    wb = load_workbook(paths["xlsx"])
    names = wb.sheetnames
    assert len(names) == 4
    assert names[0] == "养老服务设施覆盖"
    assert len(set(n.lower() for n in names)) == 4
    for n in names:
        assert len(n) <= 31
        assert not set(n) & set("[]:*?/\\")
    assert names[3].lower() != "history"

    ws = wb[names[0]]
    header = [c.value for c in ws[1]]
    assert header == ["区划代码", "单位名称", "人口", "人口覆盖率", "有设施", "设施类型",
                      "中位出行时间(分钟)"]
    assert ws["B2"].value == "雨湖路街道"
    assert ws["B3"].value == "<script>alert(1)</script>"
    assert ws["A2"].value == "430302001" and ws["A2"].data_type == "s"
    assert ws["C2"].value == 12000
    assert ws["D2"].value == pytest.approx(0.835) and ws["D2"].number_format == "0.0%"
    assert ws["E2"].value == "是" and ws["E3"].value == "否"
    assert ws["F2"].value == "综合养老服务中心"
    assert ws["G3"].value is None
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws["A1"].font.name == "Microsoft YaHei" and ws["B2"].font.name == "Microsoft YaHei"
    assert ws["B2"].font.charset == 134  # GB2312: viewers substitute a Chinese font
    # widths: CJK counts double; 雨湖路街道 = 10 cells; header 中位出行时间(分钟) = 18
    assert ws.column_dimensions["B"].width >= 25  # the <script> name, 25 chars
    assert ws.column_dimensions["G"].width >= 18
    assert ws.column_dimensions["F"].width >= 16


def test_excel_without_tables_has_one_sheet(tmp_path):
    from openpyxl import load_workbook

    paths = write_report(tmp_path, title="只有文字", sections=[Section("a", text="b")], lang="en")
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["只有文字"]
    assert '<html lang="en">' in paths["html"].read_text(encoding="utf-8")


def test_english_report(tmp_path, table):
    paths = write_report(tmp_path, title="Coverage", sections=[Section("T", table=table)],
                         lang="en")
    md = paths["md"].read_text(encoding="utf-8")
    assert "| Unit code | Unit name | Population |" in md
    assert "| yes |" in md and "Comprehensive elder-care centre" in md


def test_geodataframe_table_drops_geometry(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"unit_name": ["甲"], "pop": [1]}, geometry=[Point(0, 0)], crs=4326)
    md = markdown_table(gdf)
    assert "geometry" not in md and "POINT" not in md


def test_named_index_becomes_column():
    df = pd.DataFrame({"pop": [5]}, index=pd.Index(["甲"], name="unit_name"))
    assert markdown_table(df).splitlines()[0] == "| 单位名称 | 人口 |"


def test_sheet_name_rules():
    used: set[str] = set()
    assert sheet_name("a/b:c", used) == "a_b_c"
    assert sheet_name("A_B_C", used) == "A_B_C_2"
    assert sheet_name("'quoted'", used) == "quoted"
    assert sheet_name("", used) == "Sheet"
    assert len(sheet_name("x" * 40, used)) == 31


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="lang"):
        write_report(tmp_path, title="t", sections=[], lang="fr")
    with pytest.raises(InputError, match="basename"):
        write_report(tmp_path, title="t", sections=[], basename="../x")
    with pytest.raises(InputError, match="PNG"):
        write_report(tmp_path, title="t", sections=[Section("a", figure=b"not a png")])


# --------------------------------------------------------------------------- hostile text (issue 13 items 3, 4)

_FORMULAS = ["=1+2", '=HYPERLINK("http://example.invalid/x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_excel_stores_formula_like_text_as_text(tmp_path):
    """Facility ids/names, unit codes and place names starting with = + - @ are text, never a live formula."""
    df = pd.DataFrame({"facility_id": _FORMULAS, "name": [f"{t}号养老院" for t in _FORMULAS],
                       "unit_code": _FORMULAS, "pop": range(len(_FORMULAS))})
    df["=cmd|' /C calc'!A0"] = "x"  # a hostile column header too
    paths = write_report(tmp_path, title="=1+2 标题", sections=[Section("表", table=df), Section("仅文字", text="t")])
    import openpyxl

    wb = openpyxl.load_workbook(paths["xlsx"])
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    ws = wb.worksheets[0]
    # exact text shown; a stored CR reads back as LF or as CR depending on openpyxl's XML backend
    # (lxml, which python-docx brings, escapes it as _x000D_ and keeps it)
    assert [ws.cell(row=i, column=1).value.replace("\r", "\n") for i in range(2, 2 + len(_FORMULAS))] == [
        t.replace("\r", "\n") for t in _FORMULAS]
    assert ws.cell(row=2, column=3).value == "=1+2" and ws.cell(row=2, column=3).quotePrefix
    assert ws.cell(row=1, column=5).value == "=cmd|' /C calc'!A0"
    assert [c.value for c in ws["D"][1:]] == list(range(len(_FORMULAS)))  # numbers stay numbers
    # a workbook with no table: the title cell
    wb = openpyxl.load_workbook(write_report(tmp_path / "t", title="=1+2", sections=[Section("x", text="y")])["xlsx"])
    assert wb.worksheets[0]["A1"].value == "=1+2" and wb.worksheets[0]["A1"].data_type == "s"


_BREAKS = ["\r", "\r\n", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"]


@pytest.mark.parametrize("brk", _BREAKS, ids=[repr(b) for b in _BREAKS])
def test_markdown_cell_line_breaks_do_not_split_rows(brk):
    df = pd.DataFrame({"unit_name": [f"雨湖{brk}路街道", f"a|b{brk}c"], "pop": [1, 2]})
    md = markdown_table(df, lang="zh")
    # splitlines() knows every line break a renderer or editor might honour
    lines = md.splitlines()
    assert len(lines) == 4, lines
    assert lines[2] == "| 雨湖<br>路街道 | 1 |"
    assert lines[3] == "| a\\|b<br>c | 2 |"


def test_markdown_report_headings_and_text_with_breaks(tmp_path):
    paths = write_report(tmp_path, title="标题\r第二行",
                         sections=[Section("节\u2028标题", text="一\r二\u2029三", table=pd.DataFrame({"name": ["x\ry"]}))])
    md = paths["md"].read_text(encoding="utf-8")
    assert "\r" not in md and "\u2028" not in md and "\u2029" not in md
    lines = md.split("\n")
    assert lines[0] == "# 标题 第二行" and "## 节 标题" in lines
    assert "| x<br>y |" in lines


def test_excel_control_characters_do_not_break_the_workbook(tmp_path):
    df = pd.DataFrame({"name": ["a\x0bb", "c\x01d", "e\rf"]})
    import openpyxl

    ws = openpyxl.load_workbook(write_report(tmp_path, title="t", sections=[Section("s", table=df)])["xlsx"]).active
    # a stored CR reads back as LF (stdlib XML) or CR (lxml keeps the _x000D_ escape)
    assert [c.value.replace("\r", "\n") for c in ws["A"][1:]] == ["a\nb", "c d", "e\nf"]


def test_one_lang_check_and_one_phrase_helper():
    """issue 14: the output modules share _i18n's lang check and bilingual-phrase helpers (no private copies)."""
    from geoplan.outputs import _coverage_map, _coverage_outputs, _report, _suggest_outputs

    assert check_lang("zh") == "zh" and check_lang("en") == "en"
    with pytest.raises(InputError, match="'fr'") as err:
        check_lang("fr")
    assert err.value.field == "lang" and isinstance(err.value, ValueError)  # still a ValueError for old callers
    table = {"units": ("各单位：{name}", "Per unit: {name}")}
    assert pick(table, "units", "zh", name="社工站") == "各单位：社工站"
    assert pick(table, "units", "en", name="x") == "Per unit: x"
    assert in_lang("zh", "是", "yes") == "是" and in_lang("en", "是", "yes") == "yes"
    assert not hasattr(_report, "_check_lang")
    for module in (_coverage_outputs, _coverage_map, _suggest_outputs):
        assert module._t.func is pick  # a binding of the one helper, not a copy
