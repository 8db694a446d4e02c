"""Reports in three forms from one list of sections: Markdown, HTML and Excel.

A report is a title and a list of :class:`Section` s.  Each section has a
heading, optional text, an optional table and an optional figure.
:func:`write_report` writes

* ``<basename>.md``: Markdown with pipe tables; figures are written as PNG
  files beside it (``<basename>_figures/``) and linked;
* ``<basename>.html``: one self-contained page (UTF-8, inline CSS with a CJK
  font stack, figures embedded as base64 PNG, no external requests);
* ``<basename>.xlsx``: a first sheet with the texts (说明), one sheet per table, header row bold and frozen,
  widths fitted (CJK counts as two), font Microsoft YaHei with charset GB2312 (a viewer substitutes SimSun).

Tables use geoplan's canonical English column names; they are shown with
labels from :mod:`geoplan.outputs._i18n` in the report's language.  Booleans show as
是/否 (``zh``) or yes/no (``en``); columns whose name starts with ``share_``
are percentages (Excel ``0.0%``; a whole target ``share_..._target`` 80%); people columns (``pop*``,
``people*``, ``numerator``...) are whole people (``#,##0``); geometry columns are dropped.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.outputs._i18n import VALUE_KEY_COLUMNS as _VALUE_KEY_COLUMNS
from geoplan.outputs._i18n import VALUE_LABELS, bool_text, check_lang, label, value_label

#: Font family stack used in the HTML report (CJK first, then generic).
CSS_FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "微软雅黑", "SimHei", '
    '"WenQuanYi Micro Hei", "Droid Sans Fallback", system-ui, sans-serif'
)

#: Font written into every Excel cell style.  Its charset is set to GB2312
#: (134), so Excel/WPS/LibreOffice substitute another Chinese font (SimSun,
#: Noto Sans CJK SC...) where Microsoft YaHei is not installed.
EXCEL_FONT = "Microsoft YaHei"

_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

FigureLike = Any  # bytes (PNG), str/PathLike to a PNG file, or a matplotlib Figure


@dataclass
class Section:
    """One part of a report.

    Parameters
    ----------
    heading
        Section heading, already in the report's language.
    text
        Plain text (not Markdown, not HTML: it is escaped).  Blank lines
        separate paragraphs.
    table
        A table with canonical column names; shown in the Markdown and HTML
        report and written as its own Excel sheet.  A GeoDataFrame's geometry
        is dropped.  A named or non-default index is written as columns.
    figure
        PNG bytes, a path to a PNG file, or a matplotlib Figure.
    sheet
        Excel sheet name for the table (default: the heading); shortened to 31 characters, made valid and unique.
    print_figure
        The same figure at print resolution (a 300-dpi PNG path or bytes), for the Word file only.
    """

    heading: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: FigureLike | None = None
    sheet: str | None = None
    print_figure: FigureLike | None = None


# --------------------------------------------------------------------------- helpers


def display_width(text: str) -> int:
    """Width of ``text`` in monospace cells: East-Asian wide characters count 2.

    Parameters
    ----------
    text
        The string to measure.

    Returns
    -------
    int
        Number of cells: 2 per wide or full-width character, 1 per other character.
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _prepare_table(df: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry, bring a meaningful index into the columns."""
    geom_cols = [c for c in df.columns if str(df[c].dtype) == "geometry"]
    df = pd.DataFrame(df.drop(columns=geom_cols)) if geom_cols else pd.DataFrame(df)
    default_index = isinstance(df.index, pd.RangeIndex) and df.index.name is None
    if not default_index:
        df = df.reset_index()
    df.columns = [str(c) for c in df.columns]
    return df


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def _cell_value(v: Any, col: str, lang: str) -> Any:
    """A table value ready for Excel: str, int, float, or None."""
    if _is_missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool_text(bool(v), lang)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        v = float(v)
        if math.isnan(v):
            return None
    if isinstance(v, float) and _PEOPLE.search(col) and math.isfinite(v):
        return int(math.floor(v + 0.5))  # half up, as a reader rounds (round() gives 2 for 2.5)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        if col in VALUE_LABELS and v in VALUE_LABELS[col]:
            return value_label(v, col, lang)
        if col in _VALUE_KEY_COLUMNS:
            return label(v, lang)
        return v
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    return str(v)


#: Columns that count people (estimates): shown and stored as whole people.
_PEOPLE = re.compile(r"^(?!share_)(?:pop|people|gain|numerator|denominator|capacity_short|unserved)(?:_|$)"
                     r"|^(?!share_)pop_.*(?:covered|uncovered)$|_pop$")
_coord_column = re.compile(r"^(?:lon|lat)(?:_|$)").match  # longitude/latitude (lon, lat_gcj02...): 6 decimals
_whole_target = lambda col, v: col.endswith("target") and abs(v * 100 - round(v * 100)) < 1e-9  # noqa: E731


def _code_column(col: str) -> bool:
    return col == "code" or col.endswith("_code") or col.endswith("_id") or col == "id"


def _format_text(v: Any, col: str, lang: str) -> str:
    """A table value as display text (Markdown/HTML)."""
    v = _cell_value(v, col, lang)
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if col.startswith("share_"):  # a whole-percent target as 80%, other shares with one decimal
        return f"{round(v * 100)}%" if _whole_target(col, v) else f"{v * 100:.1f}%"
    if isinstance(v, int):
        return str(v) if _code_column(col) else f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15 and not _coord_column(col):
            return str(int(v)) if _code_column(col) else f"{int(v):,}"
        return f"{v:.6f}" if _coord_column(col) else f"{v:,.2f}"
    return str(v)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def _figure_png(fig: FigureLike) -> bytes:
    """PNG bytes of a figure given as bytes, a path, or a matplotlib Figure."""
    if isinstance(fig, (bytes, bytearray)):
        data = bytes(fig)
    elif isinstance(fig, (str, os.PathLike)):
        data = Path(fig).read_bytes()
    elif hasattr(fig, "savefig"):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        data = buf.getvalue()
    else:
        raise TypeError(f"figure must be PNG bytes, a path or a matplotlib Figure, got {type(fig)!r}")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InputError("figure is not a PNG image", field="figure")
    return data


def _atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
# Everything a Markdown renderer (or an editor) takes as the end of a line: each would split a table row.
_LINE_BREAK = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Other control characters: invisible, and some tools choke on them; shown as a space.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f]")


def _one_kind_of_newline(text: str) -> str:
    """Every line break (CR, CRLF, VT, FF, NEL, U+2028/2029...) as ``\\n``; other control characters as spaces."""
    return _CONTROL.sub(" ", _LINE_BREAK.sub("\n", text))


def _md_escape(text: str, *, cell: bool = False) -> str:
    """Backslash-escape Markdown/HTML specials so text renders literally.

    In a table cell every line break becomes ``<br>`` (a raw one would split the
    row); elsewhere (headings, the title) it becomes a space.
    """
    out = _MD_SPECIAL.sub(r"\\\1", _one_kind_of_newline(text))
    return out.replace("\n", "<br>" if cell else " ")


def _md_text(text: str) -> str:
    # Escape only what would turn into markup; keep plain text readable.
    return "\n\n".join(
        re.sub(r"([\\`*_\[\]<>|])", r"\\\1", p).replace("\n", "  \n")
        for p in _paragraphs(_one_kind_of_newline(text or ""))
    )


def markdown_table(df: pd.DataFrame, *, lang: str = "zh") -> str:
    """Render ``df`` as a Markdown pipe table with display labels.

    Parameters
    ----------
    df
        Table with canonical column names.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The table, without a trailing newline.  Numeric columns are
        right-aligned.
    """
    check_lang(lang)
    df = _prepare_table(df)
    cols = list(df.columns)
    head = [_md_escape(str(label(c, lang)), cell=True) for c in cols]
    align = ["---:" if _numeric(df[c]) else "---" for c in cols]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    for row in df.itertuples(index=False, name=None):
        cells = [_md_escape(_format_text(v, c, lang), cell=True) for v, c in zip(row, cols)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_markdown(path: Path, title: str, sections: Sequence[Section], lang: str,
                    fig_links: dict[int, str]) -> None:
    parts = [f"# {_md_escape(title)}", ""]
    for i, s in enumerate(sections):
        parts += [f"## {_md_escape(s.heading)}", ""]
        if s.text:
            parts += [_md_text(s.text), ""]
        if s.table is not None:
            parts += [markdown_table(s.table, lang=lang), ""]
        if i in fig_links:
            parts += [f"![{_md_escape(s.heading)}]({fig_links[i]})", ""]
    text = "\n".join(parts).rstrip() + "\n"
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { color-scheme: light; }
body { font-family: %(font)s; margin: 2em auto; max-width: 1100px; padding: 0 1em;
       color: #1f2328; line-height: 1.6; }
h1 { font-size: 1.7em; border-bottom: 2px solid #2b6cb0; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
p { margin: .6em 0; white-space: pre-line; }
.table-wrap { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; }
th { background: #f0f4f8; font-weight: 600; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 1em 0; }
figure img { max-width: 100%%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #57606a; }
"""


def html_table(df: pd.DataFrame, *, lang: str = "zh") -> str:
    """Render ``df`` (canonical column names) as an HTML ``<table>`` fragment with display labels in ``lang``
    (``"zh"``/``"en"``); every header and cell is HTML-escaped."""
    check_lang(lang)
    df = _prepare_table(df)
    cols = list(df.columns)
    numeric = {c: _numeric(df[c]) for c in cols}
    out = ['<div class="table-wrap"><table>', "<thead><tr>"]
    out += [f'<th scope="col">{html.escape(str(label(c, lang)))}</th>' for c in cols]
    out.append("</tr></thead><tbody>")
    for row in df.itertuples(index=False, name=None):
        out.append("<tr>")
        for v, c in zip(row, cols):
            cls = ' class="num"' if numeric[c] else ""
            out.append(f"<td{cls}>{html.escape(_format_text(v, c, lang))}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _write_html(path: Path, title: str, sections: Sequence[Section], lang: str,
                pngs: dict[int, bytes]) -> None:
    e = html.escape
    html_lang = "zh-CN" if lang == "zh" else "en"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html_lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS % {'font': CSS_FONT_STACK}}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
    ]
    for i, s in enumerate(sections):
        parts.append(f'<section id="section-{i + 1}">')
        parts.append(f"<h2>{e(s.heading)}</h2>")
        for p in _paragraphs(s.text):
            parts.append(f"<p>{e(p)}</p>")
        if s.table is not None:
            parts.append(html_table(s.table, lang=lang))
        if i in pngs:
            b64 = base64.b64encode(pngs[i]).decode("ascii")
            parts.append(
                f'<figure><img alt="{e(s.heading)}" src="data:image/png;base64,{b64}">'
                f"<figcaption>{e(s.heading)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    text = "\n".join(parts)
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------- Excel


def sheet_name(name: str, used: set[str] | None = None) -> str:
    """Make a valid, unique Excel sheet name from ``name``.

    Excel allows at most 31 characters, none of ``[ ] : * ? / \\``, no
    leading or trailing apostrophe, not the reserved name ``History``, and
    names unique without regard to case.

    Parameters
    ----------
    name
        Wanted name.
    used
        Names already taken (compared case-insensitively); the chosen name
        is added to it.

    Returns
    -------
    str
        The sheet name.
    """
    used = set() if used is None else used
    base = _SHEET_ILLEGAL.sub("_", str(name)).strip().strip("'").strip() or "Sheet"
    if base.lower() == "history":
        base = "History_"
    base = base[:31]
    taken = {u.lower() for u in used}
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"_{n}"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate)
    return candidate


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _put(ws, row: int, column: int, value: Any):
    """Write a cell; text is always stored as text, never as a formula (spreadsheet injection).

    openpyxl turns any string starting with ``=`` into a live formula
    (``=HYPERLINK(...)`` in a facility name would run when the sheet opens).
    Text is written as a string cell instead, with Excel's quote prefix when it
    starts with ``= + - @``/tab/CR so editing the cell keeps it text too; the
    exact text is shown.  Characters XML cannot hold become spaces.
    """
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = ILLEGAL_CHARACTERS_RE.sub(" ", value.replace("\x0b", "\n").replace("\x0c", "\n"))
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    return cell


#: Rows of an Excel sheet, header included (Excel 2007+).
EXCEL_MAX_ROWS = 1_048_576


def _write_excel(path: Path, title: str, sections: Sequence[Section], lang: str, date: str | None = None,
                 cover: bool = False) -> list[str]:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    # charset 134 = GB2312: tells Excel the font is for Chinese text.
    body_font = Font(name=EXCEL_FONT, charset=134, family=2, size=11)
    head_font = Font(name=EXCEL_FONT, charset=134, family=2, size=11, bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F0")

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    names: list[str] = []
    for s in sections:
        if s.table is None:
            continue
        df = _prepare_table(s.table)
        ws = wb.create_sheet(sheet_name(s.sheet or s.heading, used))
        names.append(ws.title)
        if len(df) + 1 > EXCEL_MAX_ROWS:  # no sheet past Excel's limit: such tables live in the GeoPackage layers
            _put(ws, 1, 1, f"此表 {len(df):,} 行，超过 Excel 上限 {EXCEL_MAX_ROWS:,} 行，未写入本表；逐点数据见 layers.gpkg"
                 if lang == "zh" else f"This table has {len(df):,} rows, over Excel's limit of {EXCEL_MAX_ROWS:,}: "
                 "not written here; per-point data are in layers.gpkg")
            continue
        cols = list(df.columns)
        widths = []
        for j, c in enumerate(cols, start=1):
            text = str(label(c, lang))
            cell = _put(ws, 1, j, text)
            cell.font = head_font
            cell.fill = head_fill
            cell.alignment = Alignment(vertical="center", wrap_text=False)
            widths.append(display_width(text))
        for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
            for j, (v, c) in enumerate(zip(row, cols), start=1):
                val = _cell_value(v, c, lang)
                if _code_column(c) and isinstance(val, (int, float)):
                    val = str(int(val)) if float(val).is_integer() else str(val)
                if isinstance(val, float) and math.isfinite(val):
                    val = round(val, 4 if c.startswith("share_") else 6 if _coord_column(c) else 2)  # no 15-digit floats
                cell = _put(ws, i, j, val)
                cell.font = body_font
                if isinstance(val, (int, float)) and c.startswith("share_"):
                    cell.number_format = "0%" if _whole_target(c, val) else "0.0%"
                    shown = _format_text(val, c, lang)
                elif isinstance(val, float):
                    cell.number_format = "0.000000" if _coord_column(c) else "#,##0" if val.is_integer() else "#,##0.00"
                    shown = _format_text(val, c, lang)
                elif isinstance(val, int):
                    cell.number_format = "#,##0"
                    shown = f"{val:,}"
                else:
                    shown = "" if val is None else str(val)
                widths[j - 1] = max(widths[j - 1], display_width(shown))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 6), 60)
        ws.freeze_panes = "A2"
        if cols and len(df):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(df) + 1}"
    from geoplan.outputs._xlsx_notes import cover_sheet, save_fixed  # the texts first: title, dates, 口径
    cover = cover and cover_sheet(wb, title, sections, lang, head_font=head_font, body_font=body_font, put=_put)
    if not names and not cover:
        ws = wb.create_sheet(sheet_name(title, used))
        _put(ws, 1, 1, title).font = head_font
        ws.column_dimensions["A"].width = min(display_width(title) + 2, 100)
    _atomic_write(path, lambda p: save_fixed(wb, p, date))
    return ([cover] if cover else []) + names or [wb.sheetnames[0]]


# --------------------------------------------------------------------------- public


def write_report(
    folder: str | os.PathLike,
    *,
    title: str,
    sections: Sequence[Section],
    lang: str = "zh",
    basename: str = "report",
    date: str | None = None,
    cover: bool = False,
) -> dict[str, Path]:
    """Write a report as Markdown, self-contained HTML and an Excel workbook.

    Parameters
    ----------
    folder
        Folder to write into; created if missing.  Files of the same name in
        it are replaced (each file is written atomically).  Use
        :func:`geoplan._output.output_folder` around it for an all-or-nothing
        report folder.
    title
        Report title, already in ``lang``.
    sections
        The report's sections, in order.
    lang
        ``"zh"`` (default) or ``"en"``: language of column labels and
        booleans (是/否 or yes/no).
    basename
        File name stem: ``<basename>.md``, ``<basename>.html``, ``<basename>.xlsx``.
    date
        Report date (ISO): the created/modified date of the workbook and the Word file (default
        ``SOURCE_DATE_EPOCH``, else today).
    cover
        Put the texts (title, dates, summary, notes) on a first sheet 说明/About of the workbook.

    Returns
    -------
    dict of str to pathlib.Path
        ``md``, ``html``, ``xlsx``, ``docx``, plus ``figures`` (the PNGs the Markdown links to) when any.

    Raises
    ------
    ValueError
        Unknown ``lang``, or a figure that is not a PNG.
    """
    check_lang(lang)
    if not isinstance(basename, str) or not basename or re.search(r"[\\/]", basename):
        raise InputError(f"basename must be a plain file name stem, got {basename!r}", field="basename")
    sections = list(sections)
    for s in sections:
        if not isinstance(s, Section):
            raise TypeError(f"sections must be Section objects, got {type(s)!r}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pngs = {i: _figure_png(s.figure) for i, s in enumerate(sections) if s.figure is not None}
    paths: dict[str, Path] = {}
    fig_links: dict[int, str] = {}
    if pngs:
        fig_dir = out / f"{basename}_figures"
        fig_dir.mkdir(exist_ok=True)
        for i, data in pngs.items():
            name = f"figure_{i + 1}.png"
            _atomic_write(fig_dir / name, lambda p, d=data: p.write_bytes(d))
            fig_links[i] = f"{fig_dir.name}/{name}"
        paths["figures"] = fig_dir
    paths["md"] = out / f"{basename}.md"
    _write_markdown(paths["md"], title, sections, lang, fig_links)
    paths["html"] = out / f"{basename}.html"
    _write_html(paths["html"], title, sections, lang, pngs)
    paths["xlsx"] = out / f"{basename}.xlsx"
    _write_excel(paths["xlsx"], title, sections, lang, date, cover)
    from geoplan.outputs._docx import write_docx  # the formatters are passed in: _docx never imports _report
    from geoplan.outputs._xlsx_notes import iso_date
    prints = {i: d if sections[i].print_figure is None else _figure_png(sections[i].print_figure) for i, d in pngs.items()}
    paths["docx"] = write_docx(out / f"{basename}.docx", title=title, sections=sections, lang=lang, pngs=prints,
                               formatters=(_prepare_table, _format_text, _numeric, _paragraphs), created=iso_date(date))
    return {k: paths[k] for k in ("md", "html", "xlsx", "docx", "figures") if k in paths}


__all__ = ["Section", "write_report", "markdown_table", "html_table", "sheet_name", "display_width"]
