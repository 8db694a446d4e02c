"""Writing the report workbook: sheet names, safe cells, the table sheets and the first sheet.

A table pasted from the workbook needs its 制表日期, area and 口径 (rounding, sources); those live in the
report's texts, so the workbook opens on a sheet that holds them (说明 / About).  What goes into a table's
cells (values, number formats) is decided by :mod:`geoplan.outputs._report`; this module only writes them.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import unicodedata
from typing import Any, Sequence

_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


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


def table_sheet(ws, heads: Sequence[str], columns: Sequence[tuple[list, list, int]], *, head_font, body_font,
                head_fill) -> None:
    """Fill ``ws`` with a table: a bold, shaded, frozen header row with a filter, then one column per
    ``(values, number formats, display width of the widest cell, header included)``.

    The cells are made directly, with a shared style per number format and the value bound by type:
    openpyxl's ``ws.cell``, ``cell.font`` and ``cell.number_format`` look each up cell by cell.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    styles: dict = {}

    def style(fmt):
        if fmt not in styles:
            proto = Cell(ws)
            proto.font = body_font
            if fmt is not None:
                proto.number_format = fmt
            styles[fmt] = proto._style
        return styles[fmt]

    bad = re.compile("[\x0b\x0c]|" + ILLEGAL_CHARACTERS_RE.pattern)
    n_rows = 0
    for j, (head, (values, fmts, width)) in enumerate(zip(heads, columns), start=1):
        cell = _put(ws, 1, j, head)
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(vertical="center", wrap_text=False)
        for i, (v, fmt) in enumerate(zip(values, fmts), start=2):
            kind = type(v)
            if isinstance(v, str):  # as _put: text, never a formula; at most the 32,767 characters a cell holds
                v = str(v) if bad.search(v) is None else ILLEGAL_CHARACTERS_RE.sub(
                    " ", v.replace("\x0b", "\n").replace("\x0c", "\n"))
                c = ws._cells[(i, j)] = Cell(ws, row=i, column=j, style_array=style(fmt))
                c._value, c.data_type = v[:32767], "s"
                if v.startswith(_FORMULA_START):
                    c.quotePrefix = True
            elif kind is int or kind is float or v is None:  # a number (or empty): as openpyxl binds it
                c = ws._cells[(i, j)] = Cell(ws, row=i, column=j, style_array=style(fmt))
                c._value = v
            else:
                ws._cells[(i, j)] = Cell(ws, row=i, column=j, value=v, style_array=style(fmt))
        n_rows = len(values)
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 6), 60)
    ws.freeze_panes = "A2"
    if heads and n_rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(heads))}{n_rows + 1}"


def cover_sheet(wb, title: str, sections: Sequence[Any], lang: str, *, head_font, body_font, put=None
                ) -> str | None:
    """Add the sheet ``说明``/``About`` first in ``wb``: the title, then each section's heading and text.

    ``put`` writes a cell safely (default :func:`_put`).  Returns the sheet name, or None when no section has
    text.
    """
    put = put or _put
    from openpyxl.styles import Alignment

    texts = [(s.heading, s.text) for s in sections if getattr(s, "text", "")]
    if not texts:
        return None
    ws = wb.create_sheet("说明" if lang == "zh" else "About", 0)
    put(ws, 1, 1, title).font = head_font
    row = 3
    for heading, text in texts:
        put(ws, row, 1, heading).font = head_font
        row += 1
        for para in (p.strip() for p in re.split(r"\n+", text) if p.strip()):
            cell = put(ws, row, 1, para)
            cell.font = body_font
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            row += 1
        row += 1
    ws.column_dimensions["A"].width = 100
    return ws.title


def save_fixed(wb, path, date: str | None) -> None:
    """Save ``wb`` with created/modified = the report date (else ``SOURCE_DATE_EPOCH``, else today at 00:00)
    and fixed ZIP entry times, so two runs of the same report give byte-identical files.

    ``openpyxl.Workbook.save`` stamps "modified" with the clock and the ZIP entries with the local time.
    """
    import io
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    when = _when(date)
    wb.properties.created = wb.properties.modified = when
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    stamp = (max(when.year, 1980), when.month, when.day, 0, 0, 0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))


def dated(sections: Sequence[Any], lang: str, date: str | None = None) -> list:
    """``sections`` with ``报告生成日期：…`` / ``Report date: …`` put first in the first one's text."""
    import dataclasses

    from geoplan.outputs._coverage_summary import report_date

    out = list(sections)
    line = (f"报告生成日期：{report_date(date)}" if lang == "zh" else f"Report date: {report_date(date)}")
    if out:
        out[0] = dataclasses.replace(out[0], text="\n\n".join(t for t in (line, out[0].text or "") if t))
    return out


def iso_date(date: str | None) -> _dt.date | None:
    """``date`` (ISO text) as a date; None when absent or not a date."""
    try:
        return _dt.date.fromisoformat(str(date)[:10]) if date else None
    except ValueError:
        return None


def _when(date: str | None) -> _dt.datetime:
    when = None
    if date:
        try:
            when = _dt.datetime.fromisoformat(str(date)[:10])
        except ValueError:
            when = None
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if when is None and epoch.strip().isdigit():
        when = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).replace(tzinfo=None)
    if when is None:
        when = _dt.datetime.combine(_dt.date.today(), _dt.time())
    return when


__all__ = ["cover_sheet", "save_fixed", "iso_date", "dated", "sheet_name", "table_sheet", "display_width"]
