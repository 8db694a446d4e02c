"""Tables (CSV/TXT/TSV and Excel ``.xlsx``) read cell by cell, each row keeping its spreadsheet number.

CSV/TXT may be UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 with a byte-order mark
(:func:`~geoplan.io.decode_text`), comma, tab, semicolon or bar separated; ``.xls`` is refused (save
it as ``.xlsx``).  A title line above the header (common in official lists) is skipped."""

from __future__ import annotations

import csv
import io as _stdio
import logging
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.io._columns import _norm_header
from geoplan.io._encoding import _decode
from geoplan.io._files import PathLike, _existing, _Reading
from geoplan.io._numbers import _blank

log = logging.getLogger("geoplan")

_TABLE_EXT = {".csv", ".txt", ".tsv"}


_EXCEL_EXT = {".xlsx", ".xlsm"}


# How many leading rows may hold a title above the header (common in 民政 sheets).
_HEADER_SEARCH_ROWS = 20


class _CsvText(list):
    """A CSV's records as ``(row number, cells)``, parsed on first use; :func:`_rows_to_frame` first tries
    the text with pyarrow's CSV reader (:func:`_fast_frame`) and parses it record by record only when that
    cannot take it."""

    def __init__(self, text: str, delimiter: str) -> None:
        super().__init__()
        self.text, self.delimiter, self._parsed = text, delimiter, False

    def parse(self) -> "_CsvText":
        if not self._parsed:
            reader = csv.reader(_stdio.StringIO(self.text, newline=""), delimiter=self.delimiter)
            # Records, not lines, are spreadsheet rows (a quoted cell may hold a newline).
            self.extend((i, row) for i, row in enumerate(reader, start=1))
            self._parsed = True
        return self


def _csv_rows(path: Path, encoding: str | None, file: str) -> _CsvText:
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", file=file)
    t0 = time.perf_counter()
    text = _decode(data, encoding, file)
    del data
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    log.debug("timing: %s decoded in %.2f s", file, time.perf_counter() - t0)
    return _CsvText(text, delimiter)


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


def _header_at(rows: list[tuple[int, list[Any]]], wanted: Iterable[str]) -> int:
    """Position of the header among the non-empty ``rows``: the first of the first 20 holding a wanted header."""
    keys = {_norm_header(w) for w in wanted}
    for k, (_, r) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(not _blank(v) and _norm_header(v) in keys for v in r):
            return k
    return 0


def _header_names(header_row: list[Any], width: int) -> list[str]:
    """Column names: the header's cells, ``column_N`` for empty ones, duplicates made distinct."""
    names: list[str] = []
    for j in range(width):
        v = header_row[j] if j < len(header_row) else None
        name = f"column_{j + 1}" if _blank(v) else str(v).strip().lstrip("\ufeff")
        base, k = name, 2
        while name in names:  # duplicate headers: keep both, make them distinct
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


# Below this many lines the record-by-record reader is fast enough (and it is the reference).
_FAST_MIN_LINES = 2000
# Characters Python's str.strip() counts as space that pyarrow's trim may not, and line breaks of
# either reader: a text holding any of them takes the record-by-record path.
_FAST_REFUSE = ('"', "\x00", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u2029")


def _fast_frame(text: str, delimiter: str, wanted: Iterable[str], file: str) -> pd.DataFrame | None:
    """The frame :func:`_rows_to_frame` builds, read by pyarrow's CSV engine; None when it cannot be sure.

    Only plain tables take this path: no quotes (so records are lines), no lone CR, no empty line
    after the header, every data line as wide as the header.  Anything else returns None and the
    record-by-record reader (with its exact row numbers and messages) reads the file.
    """
    if text.count("\n") < _FAST_MIN_LINES or any(ch in text for ch in _FAST_REFUSE):
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    # The first lines, split as csv.reader splits them when there are no quotes.
    head: list[tuple[int, list[Any]]] = []
    pos, line_no = 0, 0
    while len(head) < _HEADER_SEARCH_ROWS and pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line_no += 1
        cells = [None if _blank(v) else v for v in text[pos:end].split(delimiter)]
        if any(v is not None for v in cells):
            head.append((line_no, cells, end + 1))
        pos = end + 1
    if not head:
        return None
    header_line, header_row, body_start = head[_header_at([(n, r) for n, r, _ in head], wanted)]
    body = text[body_start:]
    if not body or body.startswith("\n") or "\n\n" in body:  # an empty line: let the record reader drop it
        return None
    width = len(header_row)
    try:
        import pyarrow as pa
        from pyarrow import compute as pc
        from pyarrow import csv as pacsv

        table = pacsv.read_csv(
            pa.BufferReader(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                             escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={f"f{j}": pa.string() for j in range(width)},
                                                 strings_can_be_null=False, null_values=[]),
        )
    except Exception:  # ragged rows, odd bytes: the record-by-record reader decides and names the row
        return None
    if table.num_columns != width:
        return None
    blank_cols = [pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column(j))), 0).to_numpy(zero_copy_only=False)
                  for j in range(width)]
    rows = np.arange(header_line + 1, header_line + 1 + table.num_rows, dtype=np.int64)
    keep = ~np.logical_and.reduce(blank_cols) if width else np.zeros(len(rows), bool)
    if not keep.any():
        raise InputError("the file has a header but no data rows", file=file, row=header_line)
    names = _header_names(header_row, width)
    data = {}
    for j, name in enumerate(names):
        values = table.column(j).to_numpy(zero_copy_only=False).astype(object)
        values[blank_cols[j]] = None
        data[name] = values[keep]
    frame = pd.DataFrame(data, index=pd.Index(rows[keep], name="row"), dtype=object)
    drop = [c for c in names if c.startswith("column_") and frame[c].isna().all()]
    return frame.drop(columns=drop)


def _rows_to_frame(
    rows: list[tuple[int, list[Any]]], wanted: Iterable[str], file: str
) -> pd.DataFrame:
    """Build a frame indexed by spreadsheet row number.

    The header is the first row (within the first few) holding one of the
    ``wanted`` headers, so a title line above the table is skipped.
    """
    if isinstance(rows, _CsvText):
        t0 = time.perf_counter()
        fast = _fast_frame(rows.text, rows.delimiter, wanted, file)
        if fast is not None:
            log.debug("timing: %s read (pyarrow) in %.2f s, %d rows", file, time.perf_counter() - t0, len(fast))
            return fast
        rows = rows.parse()
    # One pass: empty cells become None (Excel's notion of empty), empty rows go.
    cleaned = ((n, [None if _blank(v) else v for v in r]) for n, r in rows)
    rows = [(n, r) for n, r in cleaned if any(v is not None for v in r)]
    if not rows:
        raise InputError("the file is empty", file=file)
    header_at = _header_at(rows, wanted)
    header_row = rows[header_at][1]
    width = max(len(r) for _, r in rows[header_at:])
    names = _header_names(header_row, width)
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
