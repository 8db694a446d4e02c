"""Chinese reports hold no English words, English reports no Chinese (issue 16).

Runs the four demos — coverage (``geoplan demo``), suggestion (``geoplan suggest --demo``), place names
(``geoplan names demo``) and boundaries (``geoplan boundaries demo``) — once per language into temporary
folders (module-scoped fixtures: one run per demo and language) and scans every text a reader sees: each
Markdown file, the text nodes of each HTML page, each Excel cell and sheet name, and the web map's layer
names, legend, popups and tooltips.  What may stay in the other language (proper names read from the
data's name columns, codes, file names, units, a short justified allow-list) is described in
``tests/_langscan.py``.
"""

from __future__ import annotations

import pytest

from _demo_runs import DEMOS, demo_output  # noqa: F401  (session fixture: one run per demo and language)
from _langscan import offenders


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(DEMOS))
def test_no_words_of_the_other_language(demo_output, name, lang):
    out = demo_output(name, lang)
    files = sorted(p.name for p in out.rglob("*") if p.suffix in (".md", ".html", ".xlsx"))
    assert files, f"{name} wrote no report"
    bad = offenders(out, lang)
    shown = "\n".join(f"{f}: {w!r} in {t!r}" for f, w, t in bad[:25])
    assert not bad, f"{len(bad)} words of the wrong language in the {lang} {name} outputs:\n{shown}"


def test_scanner_finds_english_in_chinese(tmp_path):
    """The scanner itself: an English value word in a Chinese table is found, a name column is not."""
    (tmp_path / "report.md").write_text(
        "# 报告\n\n| 名称 | 单位类别 |\n| --- | --- |\n| Aleksanterinkatu | street |\n\n正文 any 与 5 km。\n",
        encoding="utf-8")
    words = sorted(w for _, w, _ in offenders(tmp_path, "zh"))
    assert words == ["any", "street"]


def test_scanner_finds_chinese_in_english(tmp_path):
    (tmp_path / "report.md").write_text(
        "# Report\n\n| Name | Kind |\n| --- | --- |\n| 雨湖区 | 街道 |\n\nText 单位覆盖率.\n", encoding="utf-8")
    words = sorted(w for _, w, _ in offenders(tmp_path, "en"))
    assert words == ["单位覆盖率", "街道"]
