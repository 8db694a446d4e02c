"""The Word report (``report.docx``), laid out after the official-document conventions of GB/T 9704-2012.

Bureaus write their annual reports in Word or WPS; this file can be opened and
pasted from directly.  It holds the same sections as ``report.md``/``.html``:
headings, the text, the tables (formatted as in the other reports: the cells
come from :mod:`geoplan.outputs._report`'s formatters) and the figures and
print maps.

Layout (GB/T 9704-2012 党政机关公文格式):

* A4 portrait, margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm;
* title in 方正小标宋简体, 2号 (22 pt), centred;
* body text in 仿宋_GB2312, 3号 (16 pt), first line indented two characters,
  fixed line pitch of 28.95 pt (22 lines a page);
* level-1 headings ("一、") in 黑体 3号, level-2 headings in 楷体_GB2312 3号;
* tables in 仿宋_GB2312, 小四 (12 pt; 五号/小五 for wide tables), header row bold,
  shaded and repeated on every page; tables of more than :data:`WIDE_COLUMNS` columns on
  landscape pages;
* appended material (headings starting 附图/附件/附表: the print maps) unnumbered, each on a new page;
* page numbers in the footer as "— 1 —".

Font fallbacks.  The four fonts above come with Chinese Office/WPS installs
but not with every system.  Each font is written into the document's font
table with an alternative name that Word and WPS use when it is missing, and
LibreOffice substitutes through fontconfig:

============== ===================================================================
font           fallbacks
============== ===================================================================
仿宋_GB2312    仿宋 (FangSong, Windows), 华文仿宋 (STFangsong, macOS/Office),
               Noto Serif CJK SC (Linux, Debian ``fonts-noto-cjk``)
方正小标宋简体 宋体 (SimSun), 华文中宋 (STZhongsong), Noto Serif CJK SC Bold
黑体           SimHei, 华文黑体 (STHeiti), Noto Sans CJK SC
楷体_GB2312    楷体 (KaiTi), 华文楷体 (STKaiti), AR PL UKai (Debian ``fonts-arphic-ukai``)
============== ===================================================================

The East-Asian font is set through ``w:eastAsia`` in each run's and style's
``rPr`` (python-docx sets only ``w:ascii``/``w:hAnsi``); Latin letters and
digits use Times New Roman.  The file is deterministic: the core properties'
dates come from an argument and the ZIP entries carry a fixed timestamp, so two
runs give the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from xml.sax.saxutils import escape as xml_escape

import pandas as pd

from geoplan.outputs._i18n import label

#: Fonts by role: (East-Asian font, its fallback name written as ``w:altName``).
FONTS: dict[str, tuple[str, str]] = {
    "title": ("方正小标宋简体", "宋体"),
    "body": ("仿宋_GB2312", "仿宋"),
    "heading1": ("黑体", "SimHei"),
    "heading2": ("楷体_GB2312", "楷体"),
}
#: Font for Latin letters and digits.
LATIN_FONT = "Times New Roman"

#: Page layout in millimetres (GB/T 9704-2012 §5.2.1).
PAGE_MM = {"width": 210, "height": 297, "top": 37, "bottom": 35, "left": 28, "right": 26}

_SIZE_TITLE, _SIZE_BODY = 22, 16  # 2号, 3号 in points
_LINE_PITCH = 28.95  # points: 22 lines on the 225 mm type area
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_NUMERALS = "一二三四五六七八九十"
_APPENDIX = ("附图", "附件", "附表", "Map ")  # headings of appended material: not numbered, each on a new page

#: Tables with more columns than this go on a landscape page.
WIDE_COLUMNS = 10
#: Tables longer than this many rows are not set in the Word document (a list of 957 villages is not pasted
#: into an annual report): a line points to the workbook.
MAX_DOCX_ROWS = 300

#: (prepare_table, format_text, is_numeric, paragraphs[, format_column]): the formatters of
#: :mod:`geoplan.outputs._report`; ``format_column(series, column, lang)`` gives a column's texts at once.
Formatters = tuple[Callable[..., Any], ...]


# Characters XML 1.0 cannot hold (a Word file would not open): shown as a space, as in the Excel report.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_RUN_SPLIT = re.compile("([\t\n])")


def _xml_text(text: str, *, lines: bool = True) -> str:
    """Text a run can hold: every kind of line break as ``\\n`` (a break in Word), or a space in a title."""
    text = _NOT_XML.sub(" ", _BREAKS.sub("\n", str(text)))
    return text if lines else text.replace("\n", " ")


def _set_fonts(rpr_parent, east_asian: str, size_pt: float | None = None, *, bold: bool | None = None) -> None:
    """Set Latin and East-Asian fonts (and size) on a run or style; drop theme fonts that would override them."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = rpr_parent.font
    font.name = LATIN_FONT
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    rpr = rpr_parent.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:cs"), LATIN_FONT)


def _chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (section numbers up to 99)."""
    if n <= 10:
        return _NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _NUMERALS[tens - 1]) + "十" + (_NUMERALS[ones - 1] if ones else "")


def _setup_styles(doc, lang: str) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    normal = doc.styles["Normal"]
    _set_fonts(normal, FONTS["body"][0], _SIZE_BODY)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(_LINE_PITCH)
    pf.space_before = pf.space_after = Pt(0)
    rpr = normal.element.get_or_add_rPr()
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = rpr.makeelement(qn("w:lang"), {})
        rpr.append(lang_el)
    lang_el.set(qn("w:eastAsia"), "zh-CN")
    lang_el.set(qn("w:val"), "zh-CN" if lang == "zh" else "en-US")
    for name, role in (("Heading 1", "heading1"), ("Heading 2", "heading2"), ("Title", "title")):
        st = doc.styles[name]
        size = _SIZE_TITLE if role == "title" else _SIZE_BODY
        _set_fonts(st, FONTS[role][0], size, bold=False)
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.italic = False
        spf = st.paragraph_format
        spf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        spf.line_spacing = Pt(_LINE_PITCH if role != "title" else 36)
        spf.space_before = Pt(0)
        spf.space_after = Pt(0)
        spf.first_line_indent = Pt(0) if role == "title" else Pt(2 * _SIZE_BODY)
        # The Title style of the template draws a blue rule under the title: not in an official document.
        ppr = st.element.get_or_add_pPr()
        for border in ppr.findall(qn("w:pBdr")):
            ppr.remove(border)


def _font_table(doc) -> None:
    """Add each font with its fallback (``w:altName``) and GB2312 charset to ``word/fontTable.xml``."""
    from lxml import etree

    part = next((p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None)
    if part is None or not hasattr(part, "_blob"):
        return
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    root = etree.fromstring(part.blob)
    for east_asian, alt in FONTS.values():
        font = etree.SubElement(root, f"{{{w}}}font", {f"{{{w}}}name": east_asian})
        etree.SubElement(font, f"{{{w}}}altName", {f"{{{w}}}val": alt})
        etree.SubElement(font, f"{{{w}}}charset", {f"{{{w}}}val": "86"})  # GB2312
        etree.SubElement(font, f"{{{w}}}family", {f"{{{w}}}val": "modern"})
        etree.SubElement(font, f"{{{w}}}pitch", {f"{{{w}}}val": "fixed"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page_setup(doc) -> None:
    from docx.shared import Mm

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(PAGE_MM["width"]), Mm(PAGE_MM["height"])
    sec.top_margin, sec.bottom_margin = Mm(PAGE_MM["top"]), Mm(PAGE_MM["bottom"])
    sec.left_margin, sec.right_margin = Mm(PAGE_MM["left"]), Mm(PAGE_MM["right"])
    sec.footer_distance = Mm(28 - 7)  # page number 7 mm below the type area (GB/T 9704 §7.5)


def _page_numbers(doc) -> None:
    """Footer "— PAGE —", centred, 4号 (14 pt) Latin digits."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = doc.sections[0].footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = 0

    def run(text: str = ""):
        r = p.add_run(text)
        _set_fonts(r, "宋体", 14)
        return r

    run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        r = run()
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            r._r.append(fld)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            r._r.append(instr)
        else:
            r.text = text
    run(" —")


def _paragraph(doc, text: str, *, indent: bool = True):
    """A body paragraph; single line breaks inside ``text`` stay line breaks."""
    from docx.shared import Pt

    p = doc.add_paragraph()
    p.paragraph_format.first_line_indent = Pt(2 * _SIZE_BODY) if indent else Pt(0)
    for i, line in enumerate(text.split("\n")):
        if i:
            brk = p.add_run()
            _set_fonts(brk, FONTS["body"][0])
            brk.add_break()
        _set_fonts(p.add_run(_xml_text(line)), FONTS["body"][0])
    return p


def _table_font_size(n_cols: int) -> float:
    """小四 (12 pt) for up to 6 columns, 五号 (10.5 pt) up to 10, 小五 (9 pt) beyond, so the table fits the page."""
    return 12 if n_cols <= 6 else 10.5 if n_cols <= 10 else 9


def _run_xml(text: str) -> str:
    """The content of a run holding ``text`` as python-docx writes it: ``w:t`` pieces, ``w:tab``, ``w:br``."""
    out = []
    for piece in _RUN_SPLIT.split(text):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece == "\n":
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{xml_escape(piece)}</w:t>")
    return "".join(out)


def _table(doc, df: pd.DataFrame, lang: str, fmt: Formatters) -> None:
    """A table with a repeated, shaded header row; cells formatted exactly as in the Markdown/HTML reports.

    The header row is made with python-docx; the body rows are written as one XML string and parsed once
    (python-docx took a millisecond a cell), with the same markup python-docx writes for each cell.
    """
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import nsdecls, qn
    from docx.shared import Pt

    prepare, format_text, numeric = fmt[:3]
    df = prepare(df)
    cols = list(df.columns)
    is_num = [numeric(df[c]) for c in cols]
    size = _table_font_size(len(cols))
    table = doc.add_table(rows=1, cols=max(len(cols), 1))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = table.rows[0]
    for j, c in enumerate(cols):
        cell = head.cells[j]
        p = cell.paragraphs[0]
        pf = p.paragraph_format
        pf.first_line_indent = Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_fonts(p.add_run(_xml_text(str(label(c, lang)))), FONTS["heading1"][0], size, bold=True)
        shd = OxmlElement("w:shd")
        for k, v in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", "E7E6E6")):
            shd.set(qn(k), v)
        cell._tc.get_or_add_tcPr().append(shd)
    trpr = head._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))  # repeat the header row on each page
    if not cols:
        for _ in range(len(df)):
            table.add_row()
        return
    texts = [fmt[4](df.iloc[:, j], c, lang) if len(fmt) > 4 else [format_text(v, c, lang) for v in df.iloc[:, j]]
             for j, c in enumerate(cols)]
    widths = [g.get(qn("w:w")) for g in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    fonts = (f'<w:rFonts w:ascii="{LATIN_FONT}" w:hAnsi="{LATIN_FONT}" w:eastAsia="{FONTS["body"][0]}" '
             f'w:cs="{LATIN_FONT}"/><w:b w:val="0"/><w:sz w:val="{round(size * 2)}"/>')
    opens = [f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/></w:tcPr><w:p><w:pPr><w:spacing w:line="240" '
             f'w:lineRule="auto"/><w:ind w:firstLine="0"/><w:jc w:val="{"right" if r else "left"}"/></w:pPr>'
             f'<w:r><w:rPr>{fonts}</w:rPr>' for w, r in zip(widths, is_num)]
    rows = ["<w:tr>" + "".join(f"{o}{_run_xml(_xml_text(t))}</w:r></w:p></w:tc>" for o, t in zip(opens, row))
            + "</w:tr>" for row in zip(*texts)]
    body = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(rows)}</w:tbl>")
    for tr in list(body):
        table._tbl.append(tr)


def _wide(df: pd.DataFrame, fmt: Formatters) -> bool:
    return len(fmt[0](df).columns) > WIDE_COLUMNS


def _orient(doc, *, landscape: bool) -> None:
    """Start a new section in landscape (for a wide table) or back in portrait, when the page turns."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Mm

    sec = doc.sections[-1]
    if (sec.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    long, short = Mm(PAGE_MM["height"]), Mm(PAGE_MM["width"])
    new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    new.page_width, new.page_height = (long, short) if landscape else (short, long)
    top, bottom, left, right = (Mm(PAGE_MM[k]) for k in ("top", "bottom", "left", "right"))
    # The portrait margins turned with the page: the binding edge stays on the same side of the paper.
    new.top_margin, new.bottom_margin, new.left_margin, new.right_margin = (
        (right, left, top, bottom) if landscape else (top, bottom, left, right))


def _picture(doc, png: bytes) -> None:
    """The figure, as wide as the type area (or its own width when smaller), centred."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Mm, Pt
    from PIL import Image

    sec = doc.sections[-1]
    width_mm = (sec.page_width - sec.left_margin - sec.right_margin) / 36000  # EMU per mm
    with Image.open(io.BytesIO(png)) as im:
        px, dpi = im.size[0], (im.info.get("dpi") or (96, 96))[0] or 96
    own = px / float(dpi) * 25.4
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # an exact line pitch would crop the picture
    p.add_run().add_picture(io.BytesIO(png), width=Mm(min(width_mm, max(own, 60))))


def _deterministic_zip(data: bytes) -> bytes:
    """The same package with every entry's timestamp fixed (python-docx stamps the current time)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue  # the template's blank thumbnail; its relationship is dropped below
            body = src.read(info.filename)
            if info.filename == "_rels/.rels":
                body = _drop_thumbnail_rel(body)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            # pictures are compressed already: deflating four 300-dpi map pages again took a third of a second
            zi.compress_type = zipfile.ZIP_STORED if info.filename.startswith("word/media/") else zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


def _drop_thumbnail_rel(rels: bytes) -> bytes:
    from lxml import etree

    root = etree.fromstring(rels)
    for rel in list(root):
        if rel.get("Target", "").endswith("thumbnail.jpeg"):
            root.remove(rel)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _created(created: _dt.datetime | _dt.date | None) -> _dt.datetime:
    """The document date: ``created``, else ``SOURCE_DATE_EPOCH``, else today at 00:00 UTC."""
    if isinstance(created, _dt.datetime):
        return created if created.tzinfo else created.replace(tzinfo=_dt.timezone.utc)
    if isinstance(created, _dt.date):
        return _dt.datetime(created.year, created.month, created.day, tzinfo=_dt.timezone.utc)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    today = _dt.datetime.now(_dt.timezone.utc).date()
    return _dt.datetime(today.year, today.month, today.day, tzinfo=_dt.timezone.utc)


def write_docx(
    path: str | os.PathLike,
    *,
    title: str,
    sections: Sequence[Any],
    lang: str,
    pngs: Mapping[int, bytes],
    formatters: Formatters,
    created: _dt.datetime | _dt.date | None = None,
) -> Path:
    """Write the report as a Word document after GB/T 9704.

    Parameters
    ----------
    path
        The ``.docx`` file to write (written whole, then renamed into place).
    title
        Report title.
    sections
        :class:`geoplan.outputs.Section` objects (``heading``, ``text``, ``table``).
    lang
        ``"zh"`` or ``"en"``; in ``zh`` the headings are numbered 一、二、… as in an official document.
    pngs
        Section position → PNG bytes of its figure.
    formatters
        ``(prepare_table, format_text, is_numeric, paragraphs, format_column)`` from :mod:`geoplan.outputs._report`
        (``format_column`` may be left out: the cells are then formatted one by one),
        passed in by :func:`~geoplan.outputs.write_report` so that the cells read exactly as in the other
        reports (and this module needs no import of ``_report``).
    created
        Date written into the core properties (created, modified); default ``SOURCE_DATE_EPOCH`` or today.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    paragraphs = formatters[3]
    doc = docx.Document()
    _page_setup(doc)
    _setup_styles(doc, lang)
    _font_table(doc)
    _page_numbers(doc)
    head = doc.add_paragraph(style="Title")
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_fonts(head.add_run(_xml_text(title, lines=False)), FONTS["title"][0], _SIZE_TITLE)
    doc.add_paragraph()  # one blank line under the title (GB/T 9704 §7.3.3)
    number = n_tables = 0
    for i, s in enumerate(sections):
        appendix = str(s.heading).startswith(_APPENDIX)
        _orient(doc, landscape=s.table is not None and _wide(s.table, formatters))
        if appendix:
            doc.add_page_break()  # each appended map on a page of its own
        else:
            number += 1
        heading = f"{_chinese_number(number)}、{s.heading}" if lang == "zh" and not appendix and number < 100 else s.heading
        h = doc.add_heading(level=1)
        h.paragraph_format.keep_with_next = True
        _set_fonts(h.add_run(_xml_text(heading, lines=False)), FONTS["heading1"][0], _SIZE_BODY, bold=False)
        for text in paragraphs(s.text or ""):
            _paragraph(doc, text)
        if s.table is not None and len(s.table) > MAX_DOCX_ROWS:
            sheet = str(s.sheet or s.heading)[:31]
            xlsx = Path(path).with_suffix(".xlsx").name
            _paragraph(doc, f"本表共 {len(s.table):,} 行，未排入本文档；全表见 {xlsx} 的“{sheet}”工作表。" if lang == "zh"
                       else f"This table has {len(s.table):,} rows and is not set here; see sheet \u201c{sheet}\u201d "
                       f"of {xlsx}.")
        elif s.table is not None:
            n_tables += 1  # 表 1 …: a caption above each table, centred, as in a bureau's report
            cap = doc.add_paragraph(style="Caption")
            cap.alignment, cap.paragraph_format.keep_with_next = WD_ALIGN_PARAGRAPH.CENTER, True
            run = cap.add_run(_xml_text(f"表 {n_tables}　{s.heading}" if lang == "zh" else f"Table {n_tables}. {s.heading}"))
            _set_fonts(run, FONTS["heading1"][0], 14, bold=False)  # 黑体 四号, black, upright
            run.font.italic, run.font.color.rgb = False, RGBColor(0, 0, 0)
            _table(doc, s.table, lang, formatters)
            doc.add_paragraph().paragraph_format.space_after = Pt(0)
        if i in pngs:
            _picture(doc, pngs[i])
    when = _created(created)
    cp = doc.core_properties
    cp.title, cp.author, cp.last_modified_by = title, "geoplan", "geoplan"
    cp.created = cp.modified = when.replace(tzinfo=None)
    cp.revision = 1
    cp.language = "zh-CN" if lang == "zh" else "en-US"
    buf = io.BytesIO()
    doc.save(buf)
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_bytes(_deterministic_zip(buf.getvalue()))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


__all__ = ["write_docx", "FONTS", "LATIN_FONT", "PAGE_MM"]
