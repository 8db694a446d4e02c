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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.outputs._i18n import VALUE_KEY_COLUMNS as _VALUE_KEY_COLUMNS
from geoplan.outputs._i18n import VALUE_LABELS, bool_text, check_lang, label, value_label
from geoplan.outputs._xlsx_notes import _put, cover_sheet, display_width, save_fixed, sheet_name, table_sheet

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


def _text_of(v: Any, col: str) -> str:
    """A value :func:`_cell_value` gave, as display text (Markdown/HTML/Word)."""
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


def _format_text(v: Any, col: str, lang: str) -> str:
    """A table value as display text (Markdown/HTML): one cell; tables go through :func:`_format_column`."""
    return _text_of(_cell_value(v, col, lang), col)


# Column-wise (a 10,000-row table took minutes cell by cell): each column's tests are made once, numbers formatted
# from numpy masks; the results are those of the cell functions above (tests/test_report_columnwise.py).
def _kind(s: pd.Series) -> str:
    """``b``, ``i``/``u``, ``f`` for a plain numpy column, ``""`` for any other (object, nullable, dates...)."""
    return s.dtype.kind if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf" else ""


def _whole_ints(a: np.ndarray) -> list[int]:
    """Whole-valued finite floats as Python ints, exactly."""
    if not len(a) or np.abs(a).max() < 2.0 ** 62:
        return a.astype(np.int64).tolist()
    return [int(v) for v in a.tolist()]


def _column_values(s: pd.Series, col: str, lang: str) -> list:
    """``[_cell_value(v, col, lang) for v in s]``, made column-wise."""
    kind = _kind(s)
    if kind == "b":
        yes, no = bool_text(True, lang), bool_text(False, lang)
        return [yes if v else no for v in s.to_numpy().tolist()]
    if kind in ("i", "u"):
        return s.to_numpy().tolist()
    if kind == "f":
        a = s.to_numpy().astype(np.float64, copy=False)
        out = np.array(a.tolist(), dtype=object)
        if _PEOPLE.search(col):  # whole people, half up
            fin = np.isfinite(a)
            out[np.flatnonzero(fin)] = _whole_ints(np.floor(a[fin] + 0.5))
        out[np.isnan(a)] = None
        return out.tolist()
    vals = list(s)
    memo = {v: _cell_value(v, col, lang) for v in set(v for v in vals if type(v) is str)}
    return [memo[v] if type(v) is str else _cell_value(v, col, lang) for v in vals]


def _int_texts(ints: list, col: str) -> list[str]:
    """:func:`_text_of` of Python ints."""
    if col.startswith("share_"):  # an int is a whole percent: 80%
        return [f"{v * 100}%" for v in ints] if col.endswith("target") else [f"{v * 100:.1f}%" for v in ints]
    return list(map(str, ints)) if _code_column(col) else [f"{v:,}" for v in ints]


def _float_texts(a: np.ndarray, col: str) -> list[str]:
    """:func:`_text_of` of the floats ``a`` (float64, no NaN)."""
    vals = a.tolist()
    if col.startswith("share_"):
        return [f"{round(v * 100)}%" if _whole_target(col, v) else f"{v * 100:.1f}%" for v in vals]
    if _coord_column(col):
        return [f"{v:.6f}" for v in vals]
    whole = np.isfinite(a) & (a == np.floor(a)) & (np.abs(a) < 1e15)
    out = np.array([f"{v:,.2f}" for v in vals] if not whole.all() else [""] * len(vals), dtype=object)
    out[np.flatnonzero(whole)] = _int_texts(a[whole].astype(np.int64).tolist(), col)
    return out.tolist()


def _format_column(s: pd.Series, col: str, lang: str) -> list[str]:
    """``[_format_text(v, col, lang) for v in s]``, made column-wise."""
    kind = _kind(s)
    if kind in ("i", "u"):
        return _int_texts(s.to_numpy().tolist(), col)
    if kind == "f":
        a = s.to_numpy().astype(np.float64, copy=False)
        out = np.full(len(a), "", dtype=object)
        done = np.isnan(a)
        if _PEOPLE.search(col):
            fin = np.isfinite(a)
            out[np.flatnonzero(fin)] = _int_texts(_whole_ints(np.floor(a[fin] + 0.5)), col)
            done |= fin
        out[np.flatnonzero(~done)] = _float_texts(a[~done], col)
        return out.tolist()
    return [v if type(v) is str else _text_of(v, col) for v in _column_values(s, col, lang)]


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
    texts = [[_md_escape(t, cell=True) for t in _format_column(df.iloc[:, j], c, lang)] for j, c in enumerate(cols)]
    lines += ["| " + " | ".join(row) + " |" for row in (zip(*texts) if cols else [()] * len(df))]
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
    td = {c: '<td class="num">' if numeric[c] else "<td>" for c in cols}
    texts = [[f"{td[c]}{html.escape(t)}</td>" for t in _format_column(df.iloc[:, j], c, lang)]
             for j, c in enumerate(cols)]
    out += ["<tr>" + "".join(row) + "</tr>" for row in (zip(*texts) if cols else [()] * len(df))]
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


def _excel_column(s: pd.Series, col: str, lang: str) -> tuple[list, list, int]:
    """A column's Excel values, number formats (None: General) and the display width of its widest cell."""
    vals = _column_values(s, col, lang)
    share, coord = col.startswith("share_"), _coord_column(col)
    if _code_column(col):  # codes are text: 110105, not 110,105
        vals = [(str(int(v)) if float(v).is_integer() else str(v)) if isinstance(v, (int, float)) else v for v in vals]
    nd = 4 if share else 6 if coord else 2  # no 15-digit floats
    vals = [round(v, nd) if isinstance(v, float) and math.isfinite(v) else v for v in vals]
    if _kind(s) in ("i", "u", "f") and not _code_column(col):  # None, int or float: formats from masks
        fmts, shown = np.full(len(vals), None, dtype=object), np.full(len(vals), "", dtype=object)
        is_int = np.fromiter((type(v) is int for v in vals), bool, len(vals))
        is_flt = np.fromiter((type(v) is float for v in vals), bool, len(vals))
        a = np.array([v for v, f in zip(vals, is_flt) if f], dtype=np.float64)
        ints = [v for v, i in zip(vals, is_int) if i]
        fmts[is_int] = ("0%" if col.endswith("target") else "0.0%") if share else "#,##0"
        shown[np.flatnonzero(is_int)] = _int_texts(ints, col)
        if share:
            with np.errstate(invalid="ignore"):  # inf - inf
                whole = col.endswith("target") & (np.abs(a * 100 - np.round(a * 100)) < 1e-9)
            fmts[is_flt] = np.where(whole, "0%", "0.0%")
        else:
            fmts[is_flt] = "0.000000" if coord else np.where(np.isfinite(a) & (a == np.floor(a)), "#,##0", "#,##0.00")
        shown[np.flatnonzero(is_flt)] = _float_texts(a, col)
        fmts, shown = fmts.tolist(), shown.tolist()
    else:
        fmts = [None if not isinstance(v, (int, float)) else ("0%" if _whole_target(col, v) else "0.0%") if share
                else "#,##0" if isinstance(v, int) else "0.000000" if coord else "#,##0" if v.is_integer()
                else "#,##0.00" for v in vals]
        shown = [_text_of(v, col) if isinstance(v, (int, float)) else "" if v is None else str(v) for v in vals]
    width = max([len(t) for t in shown if t.isascii()] + [display_width(t) for t in set(shown) if not t.isascii()],
                default=0)
    return vals, fmts, width


#: Rows of an Excel sheet, header included (Excel 2007+).
EXCEL_MAX_ROWS = 1_048_576


def _write_excel(path: Path, title: str, sections: Sequence[Section], lang: str, date: str | None = None,
                 cover: bool = False) -> list[str]:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

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
        heads = [str(label(c, lang)) for c in cols]
        columns = [_excel_column(df.iloc[:, j], c, lang) for j, c in enumerate(cols)]
        table_sheet(ws, heads, [(v, f, max(w, display_width(h))) for h, (v, f, w) in zip(heads, columns)],
                    head_font=head_font, body_font=body_font, head_fill=head_fill)
    cover = cover and cover_sheet(wb, title, sections, lang, head_font=head_font, body_font=body_font)
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
    fmt = (_prepare_table, _format_text, _numeric, _paragraphs, _format_column)
    paths["docx"] = write_docx(out / f"{basename}.docx", title=title, sections=sections, lang=lang, pngs=prints,
                               formatters=fmt, created=iso_date(date))
    return {k: paths[k] for k in ("md", "html", "xlsx", "docx", "figures") if k in paths}


__all__ = ["Section", "write_report", "markdown_table", "html_table", "sheet_name", "display_width"]
