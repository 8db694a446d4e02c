"""The first sheet of a report workbook: title, the lines under it and every text of the report.

A table pasted from the workbook needs its 制表日期, area and 口径 (rounding, sources); those live in the
report's texts, so the workbook opens on a sheet that holds them (说明 / About).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Any, Sequence


def cover_sheet(wb, title: str, sections: Sequence[Any], lang: str, *, head_font, body_font, put) -> str | None:
    """Add the sheet ``说明``/``About`` first in ``wb``: the title, then each section's heading and text.

    ``put`` writes a cell safely (``geoplan.outputs._report._put``).  Returns the sheet name, or None when no
    section has text.
    """
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


__all__ = ["cover_sheet", "save_fixed", "iso_date", "dated"]
