"""The demo's report.md in both languages against reviewed golden files, and the demo is deterministic.

A wording change in the coverage report shows up here as a diff against ``tests/golden/coverage_report_zh.md``
and ``tests/golden/coverage_report_en.md``.  After a deliberate change, regenerate them and review the diff::

    GEOPLAN_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_reports.py -q
    git diff tests/golden/

The report date is fixed through ``SOURCE_DATE_EPOCH`` (``tests/_demo_runs.py``), so two runs of the demo
give byte-identical reports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from _demo_runs import demo_output, run_demo  # noqa: F401  (session fixture)

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_report_matches_golden(demo_output, lang):
    text = (demo_output("coverage", lang) / "report.md").read_text(encoding="utf-8")
    golden = GOLDEN / f"coverage_report_{lang}.md"
    if os.environ.get("GEOPLAN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} missing: run with GEOPLAN_UPDATE_GOLDEN=1 to create it"
    expected = golden.read_text(encoding="utf-8")
    assert text == expected, "report.md differs from the golden file (GEOPLAN_UPDATE_GOLDEN=1 to accept a change)"


def test_two_runs_are_byte_identical(demo_output, tmp_path):
    first = (demo_output("coverage", "zh") / "report.md").read_bytes()
    second = (run_demo("coverage", "zh", tmp_path / "again") / "report.md").read_bytes()
    assert first == second


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_cites_no_file_outside_the_repository(demo_output, lang):
    """Every path the report names exists in the repository (or is a file the report itself wrote)."""
    out = demo_output("coverage", lang)
    text = (out / "report.md").read_text(encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    for path in re.findall(r"[\w./-]+/[\w.-]+\.(?:md|toml|yaml|csv|py|json)\b", text):
        assert (root / path).exists() or (out / path).exists(), f"report cites {path}, not in the repository"
    assert "DESIGN.md" not in text


def test_report_numbers_as_a_bureau_writes_them(demo_output):
    """Whole people, percentages, gaps with their unit, the date and the sources (checked on the zh report)."""
    text = (demo_output("coverage", "zh") / "report.md").read_text(encoding="utf-8")
    assert "报告生成日期：2026-01-01" in text
    # no fractional people: numbers with a decimal part only in minutes and metres columns
    summary = text.split("## 指标与目标")[1].split("\n## ")[0]
    assert not re.search(r"\d,\d{3}\.\d", summary)
    assert "0.40" not in summary and "40.0%" in summary and "80%" in summary
    assert re.search(r"距 80% 目标还差 \d+ 个", text)
    assert re.search(r"差 [\d,]+ 名60岁以上老年人", text)
    assert "单位覆盖率" not in text
    assert "ODbL" in text and "OpenStreetMap" in text


def test_people_whole_and_shares_as_percentages(tmp_path):
    """People are whole (half up), shares percentages, Excel holds numbers with percent/people formats."""
    import openpyxl
    import pandas as pd

    from geoplan.outputs import Section, write_report

    df = pd.DataFrame({"unit_name": ["甲", "乙"], "pop_60": [10385.8, 2.5], "share_pop_60_covered": [0.762964817346762, 0.5],
                       "share_target": [0.8, 0.825], "median_min": [9.0634, 15.0]})
    paths = write_report(tmp_path, title="测试", sections=[Section("表", table=df, sheet="表")])
    md = paths["md"].read_text(encoding="utf-8")
    assert "| 甲 | 10,386 | 76.3% | 80% | 9.06 |" in md
    assert "| 乙 | 3 | 50.0% | 82.5% | 15 |" in md  # 2.5 people round half up; 82.5 % keeps its decimal
    ws = openpyxl.load_workbook(paths["xlsx"])["表"]
    people, share, target = ws["B2"], ws["C2"], ws["D2"]
    assert people.value == 10386 and people.number_format == "#,##0"
    assert share.value == 0.763 and share.number_format == "0.0%"  # stored as a number, not 15 digits
    assert target.value == 0.8 and target.number_format == "0%"
    assert ws["D3"].number_format == "0.0%" and ws["B3"].value == 3
