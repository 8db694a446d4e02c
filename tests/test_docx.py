"""The Word report (issue 16): report.docx after GB/T 9704, opened back with python-docx.

Expected cells are the Markdown report's cells (the same sections, written by another writer); fonts, sizes
and margins are the standard's numbers.  A PDF of the demo report (LibreOffice, when installed) and a
screenshot of report.html (headless Chromium, when installed) go to ``tests/_artifacts/`` for a person to
look at.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

docx = pytest.importorskip("docx")
from docx.oxml.ns import qn  # noqa: E402
from docx.enum.section import WD_ORIENT  # noqa: E402

from geoplan.outputs import Section, markdown_table, write_report  # noqa: E402
from geoplan.outputs._docx import FONTS, PAGE_MM  # noqa: E402

ARTIFACTS = Path(__file__).parent / "_artifacts"


def _png(w: float = 2, h: float = 1) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_code": ["430302001", "430302002"],
        "unit_name": ["雨湖路街道", "<b>姜畲镇</b>"],
        "pop": [12000.4, 8000.0],
        "share_pop_covered": [0.835, 0.5],
        "has_facility": [True, False],
        "median_min": [7.25, np.nan],
    })


def _md_cells(md: str) -> list[list[str]]:
    """Rows of a Markdown pipe table, cells unescaped (the table's separator row dropped)."""
    rows = []
    for line in md.splitlines():
        cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip().strip("|").split(" | ")]
        if not all(re.fullmatch(r"-+:?", c) for c in cells):
            rows.append(cells)
    return rows


def _east_asian(el) -> str | None:
    rpr = el.find(qn("w:rPr"))
    fonts = None if rpr is None else rpr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def _report(tmp_path, table, lang="zh"):
    sections = [
        Section("概况" if lang == "zh" else "Overview", text="第一段。\n第二行。\n\n第二段。"),
        Section("各单位指标" if lang == "zh" else "Units", table=table),
        Section("图" if lang == "zh" else "Chart", figure=_png()),
        Section("宽表" if lang == "zh" else "Wide", table=pd.DataFrame({f"c{i}": [i] for i in range(12)})),
        Section("附图 1：覆盖情况" if lang == "zh" else "Map 1", figure=_png(6, 4)),
    ]
    return write_report(tmp_path, title="测试报告" if lang == "zh" else "Test report", sections=sections,
                        lang=lang), sections


def test_docx_headings_text_tables_images(tmp_path, table):
    paths, sections = _report(tmp_path, table)
    assert paths["docx"] == tmp_path / "report.docx"
    d = docx.Document(paths["docx"])
    title = d.paragraphs[0]
    assert title.text == "测试报告" and title.style.name == "Title"
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    # numbered 一、二、… as in an official document; the appended map is not numbered
    assert heads == ["一、概况", "二、各单位指标", "三、图", "四、宽表", "附图 1：覆盖情况"]
    body = [p.text for p in d.paragraphs if p.style.name == "Normal" and p.text]
    assert body == ["第一段。\n第二行。", "第二段。"]
    # the table reads exactly as the Markdown report's table
    expected = _md_cells(markdown_table(table, lang="zh"))
    got = [[c.text for c in row.cells] for row in d.tables[0].rows]
    assert got == expected
    assert got[0][:3] == ["区划代码", "单位名称", "人口"] and got[1][2] == "12,000" and got[1][3] == "83.5%"
    assert got[2][1] == "<b>姜畲镇</b>"  # markup is text
    # header row repeated on each page
    assert d.tables[0].rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    # one picture per figure
    assert len(d.inline_shapes) == sum(s.figure is not None for s in sections) == 2


def test_docx_layout_follows_gbt_9704(tmp_path, table):
    paths, _ = _report(tmp_path, table)
    d = docx.Document(paths["docx"])
    sec = d.sections[0]
    mm = lambda v: round(v / 36000, 1)  # EMU per millimetre
    assert (mm(sec.page_width), mm(sec.page_height)) == (210, 297)
    assert (mm(sec.top_margin), mm(sec.bottom_margin), mm(sec.left_margin), mm(sec.right_margin)) == (37, 35, 28, 26)
    assert (PAGE_MM["top"], PAGE_MM["bottom"], PAGE_MM["left"], PAGE_MM["right"]) == (37, 35, 28, 26)
    styles = d.styles
    assert _east_asian(styles["Normal"].element) == "仿宋_GB2312" and styles["Normal"].font.size.pt == 16
    assert _east_asian(styles["Title"].element) == "方正小标宋简体" and styles["Title"].font.size.pt == 22
    assert _east_asian(styles["Heading 1"].element) == "黑体"
    assert _east_asian(styles["Heading 2"].element) == "楷体_GB2312"
    assert d.paragraphs[0].alignment == 1  # centred title
    # every run with text names its East-Asian font (python-docx alone sets only ascii/hAnsi)
    runs = [r for p in d.paragraphs for r in p.runs if r.text]
    runs += [r for t in d.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs if r.text]
    assert runs and all(_east_asian(r._r) in {f for f, _ in FONTS.values()} for r in runs)
    assert {_east_asian(r._r) for r in d.tables[0].rows[1].cells[0].paragraphs[0].runs} == {"仿宋_GB2312"}
    assert d.tables[0].rows[1].cells[0].paragraphs[0].runs[0].font.size.pt == 12  # 小四
    # the font table names each font's fallback
    font_table = next(p for p in d.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob
    for font, alt in FONTS.values():
        assert f'w:name="{font}"><w:altName w:val="{alt}"/>'.encode() in font_table
    # page numbers "— PAGE —" in the footer
    footer = d.sections[0].footer.paragraphs[0]
    assert footer.text.startswith("— ") and footer.text.endswith(" —")
    assert "PAGE" in footer._p.xml
    # the 12-column table sits on a landscape page, the map after it back in portrait
    orient = [s.orientation for s in d.sections]
    assert WD_ORIENT.LANDSCAPE in orient and orient[-1] == WD_ORIENT.PORTRAIT
    land = d.sections[orient.index(WD_ORIENT.LANDSCAPE)]
    assert mm(land.page_width) == 297 and mm(land.page_height) == 210


def test_docx_english_and_deterministic(tmp_path, table):
    a, _ = _report(tmp_path / "a", table, lang="en")
    b, _ = _report(tmp_path / "b", table, lang="en")
    assert a["docx"].read_bytes() == b["docx"].read_bytes()  # same day, same bytes
    d = docx.Document(a["docx"])
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert heads == ["Overview", "Units", "Chart", "Wide", "Map 1"]
    assert [[c.text for c in row.cells] for row in d.tables[0].rows] == _md_cells(markdown_table(table, lang="en"))
    assert d.core_properties.created == d.core_properties.modified
    assert d.core_properties.created.time() == dt.time(0, 0)


def test_docx_date_from_the_argument(tmp_path, table):
    from geoplan.outputs._docx import write_docx
    from geoplan.outputs import _report as rep

    fmt = (rep._prepare_table, rep._format_text, rep._numeric, rep._paragraphs)
    sections = [Section("概况", text="正文。", table=table)]
    out = []
    for name in ("a.docx", "b.docx"):
        out.append(write_docx(tmp_path / name, title="报告", sections=sections, lang="zh", pngs={}, formatters=fmt,
                              created=dt.date(2025, 12, 31)))
    assert out[0].read_bytes() == out[1].read_bytes()
    d = docx.Document(out[0])
    assert d.core_properties.created.date() == dt.date(2025, 12, 31)
    assert d.core_properties.title == "报告"


# --------------------------------------------------------------------------- the demo report folder


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards

    demo = gdemo.load_demo()
    result = coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                             catalogue=standards.default_catalogue())
    out = tmp_path_factory.mktemp("demo") / "out"
    paths = result.save(out, lang="zh", data_note=gdemo.demo_note("zh", demand=demo.demand))
    return result, out, paths


def test_demo_report_docx_holds_tables_figures_and_maps(demo_folder):
    result, out, paths = demo_folder
    assert paths["docx"] == out / "report.docx" and paths["maps"] == out / "maps"
    html = (out / "report.html").read_text(encoding="utf-8")
    d = docx.Document(out / "report.docx")
    # as many tables and pictures as report.html shows
    assert len(d.tables) == html.count("<table>")
    n_figures = len(list((out / "report_figures").glob("*.png")))
    assert len(d.inline_shapes) == n_figures == html.count("<img ")
    # one print map per type, among the figures, and its print files in maps/
    keys = list(result.catalogue.keys)
    appendix = [p.text for p in d.paragraphs if p.text.startswith("附图")]
    assert appendix == [f"附图 {i}：{result.catalogue[k].name('zh')}覆盖情况" for i, k in enumerate(keys, 1)]
    assert sorted(f.name for f in (out / "maps").iterdir()) == sorted(
        [f"{k}_A4.png" for k in keys] + ["maps_A4.pdf", "maps_A3.pdf"])
    assert html.count("附图 ") >= len(keys)
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert heads[0] == "一、概况"


def test_demo_docx_pictures_stored_as_the_print_pages(demo_folder):
    """(session 23) Pictures go into the Word file as they are (stored, not deflated a second time): each print
    map picture is byte for byte the 300-dpi page in maps/, and the file still opens (python-docx, above)."""
    import zipfile

    result, out, _ = demo_folder
    with zipfile.ZipFile(out / "report.docx") as z:
        media = [i for i in z.infolist() if i.filename.startswith("word/media/")]
        assert media and all(i.compress_type == zipfile.ZIP_STORED for i in media)
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist() if i not in media)
        assert z.testzip() is None
        pictures = {z.read(i) for i in media}
    for key in result.catalogue.keys:
        assert (out / "maps" / f"{key}_A4.png").read_bytes() in pictures


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice not installed")
def test_demo_docx_converts_to_pdf_with_libreoffice(demo_folder, tmp_path):
    _, out, _ = demo_folder
    run = subprocess.run([_soffice(), "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                          str(out / "report.docx")], capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "report.pdf"
    assert pdf.exists(), run.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "demo_report_docx.pdf")
    if shutil.which("pdftoppm"):  # first page as a picture for a person to look at
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "2", str(pdf),
                        str(ARTIFACTS / "demo_report_docx")], capture_output=True, timeout=120)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed")
def test_demo_report_html_screenshot(demo_folder, tmp_path):
    """A full-page-wide screenshot of report.html, maps included, for a person to look at."""
    _, out, _ = demo_folder
    ARTIFACTS.mkdir(exist_ok=True)
    html = (out / "report.html").read_text(encoding="utf-8")
    first_map = re.search(r'<section id="(section-\d+)">\s*<h2>附图 1', html)
    assert first_map, "the print maps are in report.html"
    from PIL import Image

    # the top of the report, and a copy showing only the sections from the first print map on
    sid = first_map.group(1)
    maps_only = tmp_path / "report_maps.html"
    maps_only.write_text(html.replace("</head>", f"<style>section {{display: none}} #{sid}, #{sid} ~ section "
                                                 "{display: block}</style></head>", 1), encoding="utf-8")
    for name, page in (("demo_report_html", out / "report.html"), ("demo_report_html_maps", maps_only)):
        shot = ARTIFACTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--no-first-run", "--disable-background-networking",
                        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
                        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1700",
                        f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=180)
        assert shot.exists() and shot.stat().st_size > 10_000
        with Image.open(shot) as im:
            assert im.size == (1200, 1700)
            px = np.asarray(im.convert("L"))
        assert px.std() > 10  # not a blank page
