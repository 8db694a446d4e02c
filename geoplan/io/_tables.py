"""Tables (CSV/TXT/TSV and Excel ``.xlsx``) read cell by cell, each row keeping its spreadsheet number.

CSV/TXT may be UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 with a byte-order mark
(:func:`~geoplan.io.decode_text`), comma, tab, semicolon or bar separated; ``.xls`` is refused (save
it as ``.xlsx``).  A title line above the header (common in official lists) is skipped."""

from __future__ import annotations

import csv
import io as _stdio
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from geoplan._errors import InputError
from geoplan.io._columns import _norm_header
from geoplan.io._encoding import _decode
from geoplan.io._files import PathLike, _existing, _Reading
from geoplan.io._numbers import _blank


_TABLE_EXT = {".csv", ".txt", ".tsv"}


_EXCEL_EXT = {".xlsx", ".xlsm"}


# How many leading rows may hold a title above the header (common in 民政 sheets).
_HEADER_SEARCH_ROWS = 20


def _csv_rows(path: Path, encoding: str | None, file: str) -> list[tuple[int, list[Any]]]:
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", file=file)
    text = _decode(data, encoding, file)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(_stdio.StringIO(text, newline=""), delimiter=delimiter)
    # Records, not lines, are spreadsheet rows (a quoted cell may hold a newline).
    return [(i, row) for i, row in enumerate(reader, start=1)]


def _excel_rows(path: Path, sheet: str | int | None, file: str) -> list[tuple[int, list[Any]]]:
    import openpyxl  # loaded only when an Excel file is read (slow to import)

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputError(f"cannot open the Excel file: {exc}", file=file) from exc
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(f"no sheet number {sheet}; sheets are: {', '.join(names)}",
                                 file=file, field="sheet")
            ws = wb.worksheets[sheet]
        else:
            if sheet not in names:
                raise InputError(f"no sheet {sheet!r}; sheets are: {', '.join(names)}",
                                 file=file, field="sheet")
            ws = wb[sheet]
        return [(i, list(row)) for i, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
    finally:
        wb.close()


def _rows_to_frame(
    rows: list[tuple[int, list[Any]]], wanted: Iterable[str], file: str
) -> pd.DataFrame:
    """Build a frame indexed by spreadsheet row number.

    The header is the first row (within the first few) holding one of the
    ``wanted`` headers, so a title line above the table is skipped.
    """
    # One pass: empty cells become None (Excel's notion of empty), empty rows go.
    cleaned = ((n, [None if _blank(v) else v for v in r]) for n, r in rows)
    rows = [(n, r) for n, r in cleaned if any(v is not None for v in r)]
    if not rows:
        raise InputError("the file is empty", file=file)
    keys = {_norm_header(w) for w in wanted}
    header_at = 0
    for k, (_, r) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(not _blank(v) and _norm_header(v) in keys for v in r):
            header_at = k
            break
    header_row = rows[header_at][1]
    width = max(len(r) for _, r in rows[header_at:])
    names: list[str] = []
    for j in range(width):
        v = header_row[j] if j < len(header_row) else None
        name = f"column_{j + 1}" if _blank(v) else str(v).strip().lstrip("\ufeff")
        base, k = name, 2
        while name in names:  # duplicate headers: keep both, make them distinct
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    data = [list(r) + [None] * (width - len(r)) for _, r in rows[header_at + 1:]]
    index = [n for n, _ in rows[header_at + 1:]]
    if not data:
        raise InputError("the file has a header but no data rows", file=file,
                         row=rows[header_at][0])
    frame = pd.DataFrame(data, columns=names, index=pd.Index(index, name="row"), dtype=object)
    # Unnamed columns that are entirely empty are Excel's formatting leftovers.
    drop = [c for c in names if c.startswith("column_") and frame[c].isna().all()]
    return frame.drop(columns=drop)


def read_table(
    path: PathLike,
    *,
    header: Iterable[str] = (),
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a CSV/TXT/TSV or Excel ``.xlsx`` table cell by cell, keeping spreadsheet row numbers.

    Parameters
    ----------
    path
        The table.  A CSV's text encoding is detected (:func:`decode_text`) and its separator
        sniffed (comma, tab, semicolon or bar).
    header
        Headers expected in the header row: the first of the first 20 non-empty rows holding one
        of them is the header, so a title line above the table is skipped.  Empty: the first
        non-empty row.
    sheet
        Excel sheet name or 0-based number (default: the first).
    encoding
        Force a CSV encoding.

    Returns
    -------
    pandas.DataFrame
        Object columns named by the header (duplicates made distinct, unnamed empty columns
        dropped), empty cells None, CSV cells as text and Excel cells as Excel typed them;
        indexed by spreadsheet row (index name ``"row"``, header = 1); ``attrs["source"]`` is
        the file.

    Raises
    ------
    InputError
        Missing, empty or unreadable file, another file type, no data rows; the message names
        the file.
    """
    p, file = _existing(path)
    ext = p.suffix.lower()
    with _Reading(file):
        if ext in _TABLE_EXT:
            raw = _csv_rows(p, encoding, file)
        elif ext in _EXCEL_EXT:
            raw = _excel_rows(p, sheet, file)
        elif ext == ".xls":
            raise InputError("old Excel .xls files are not supported; save it as .xlsx", file=file)
        else:
            raise InputError("a table must be a CSV/TXT/TSV or Excel (.xlsx) file", file=file)
        frame = _rows_to_frame(raw, list(header), file)
    frame.attrs["source"] = file
    return frame
