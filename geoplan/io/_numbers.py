"""Cell values: blanks, numbers that can be read only one way, ids and division codes.

Numbers are never read two ways: a decimal point only; thousands separators (comma or space) only
in groups of three (``1,234``, ``12,345,678.5``); ``1,2``, ``1.234,5`` or a comma in a coordinate is
refused with the file, row and column, as are superscript or circled digits (``10⁵`` is not 105).
Division codes (``行政区划代码``) must have 6, 9 or 12 digits in point tables; a code saved in
scientific notation (``4.30302E+11``) or a number of another length has lost digits and is refused."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from geoplan._errors import InputError


# Administrative division codes: 6 (county), 9 (township) or 12 (village) digits.
_CODE_LENGTHS = (6, 9, 12)


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


_DMS = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?([NSEW东西南北]?)\s*$",
    re.IGNORECASE,
)


# Plain decimal numbers (point as decimal mark), and numbers whose thousands are
# grouped by commas (or spaces) in groups of exactly three: 1,234 / 12,345,678.5.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:(?P<sep>[, ])\d{3})(?:(?P=sep)\d{3})*(?:\.\d+)?")


def _width_folded(s: str) -> str | None:
    """``s`` with full-width forms (``１２．５``, ``－７``) and spaces folded by NFKC; None when it holds another
    character NFKC would change: a superscript, subscript, circled or fraction digit (``10⁵`` would be read
    as 105, ``２³`` as 23, ``①`` as 1) is not part of a number."""
    if s.isascii():
        return s
    for ch in s:
        if not ("\uff01" <= ch <= "\uff5e" or ch.isspace()) and unicodedata.normalize("NFKC", ch) != ch:
            return None
    return unicodedata.normalize("NFKC", s)


def _parse_number(v: Any, *, thousands: bool = True) -> float | None:
    """A float from a cell, or None if it is not unambiguously a number.

    Accepted: plain numbers with a decimal point (``1234.5``, ``1e3``,
    full-width digits), thousands separated by commas or spaces in groups of
    three (``1,234``, ``12,345,678.5``, ``1 234``) when ``thousands`` is true,
    and degrees-minutes-seconds (``112°56'30"E``).  Refused (None): a decimal
    comma (``1,5``), mixed marks (``1.234,5``), other groupings (``1,2``,
    ``12,34``), underscores -- each could be read as two different numbers;
    superscript, subscript, circled or fraction digits (``10⁵``, ``２³``, ``①``), which
    NFKC would turn into plain digits (105, 23, 1): only full-width forms and spaces are folded.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    s = _width_folded(str(v))
    if s is None:
        return None
    s = s.strip()
    if _PLAIN_NUMBER.fullmatch(s):
        return float(s)
    if thousands and _GROUPED_NUMBER.fullmatch(s):
        return float(s.replace(",", "").replace(" ", ""))
    m = _DMS.match(s)
    if m:
        deg = float(m.group(1))
        val = abs(deg) + float(m.group(2) or 0) / 60 + float(m.group(3) or 0) / 3600
        neg = deg < 0 or m.group(4).upper() in ("S", "W", "西", "南")
        return -val if neg else val
    return None


def _not_a_number_message(what: str, v: Any, *, thousands: bool) -> str:
    s = unicodedata.normalize("NFKC", str(v)).strip()
    if re.search(r"\d[,\s]\d", s) or re.search(r"\d,\d", s):
        how = ("coordinates never have thousands separators: write the decimal mark as a point"
               if not thousands else
               "thousands separators are accepted only in groups of three (1,234 or 12,345,678.5) and "
               "the decimal mark must be a point")
        return f"{what} {v!r} is ambiguous (a decimal comma, or misplaced thousands separators); {how}"
    return f"{what} is not a number: {v!r}"


def _arrow_numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(values, blank) of a text column whose every non-blank cell is a plain number pyarrow reads (a CSV's
    coordinates and people: no conversion of a million cells to Python floats); None otherwise, and the
    caller takes the general path.  Blank as there: missing, or only space (pyarrow's trim, as pandas' strip);
    a cell pyarrow reads as NaN ("nan") is retried cell by cell there and refused."""
    import pyarrow as pa
    from pyarrow import compute as pc

    try:
        arr = pa.array(cells, type=pa.string(), from_pandas=True)
        blank = pc.or_kleene(arr.is_null(), pc.equal(pc.utf8_trim_whitespace(arr), "")).fill_null(True)
        nums = pc.cast(pc.if_else(blank, "0", arr), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    blank = blank.to_numpy(zero_copy_only=False).astype(bool)
    out = nums.to_numpy(zero_copy_only=False).astype(float)
    out[blank] = np.nan
    return out, blank


def _numeric_column(
    frame: pd.DataFrame, col: str, *, what: str, file: str, rows: pd.Index,
    required: bool, nonneg: bool, thousands: bool = True,
) -> np.ndarray:
    """Parse a column to float64, raising at the first bad cell.

    Plain numbers take a vectorised path (pyarrow for a text column whose every cell it reads, else
    pandas); only cells that fail it (full-width digits, thousands separators,
    degrees-minutes-seconds) are parsed one by one.
    """
    values = frame[col]
    cells = values.to_numpy(dtype=object)
    fast = _arrow_numbers(cells) if values.dtype == object else None
    if fast is not None:
        out, blank = fast
    else:
        blank = values.isna().to_numpy(dtype=bool).copy()
        if not pd.api.types.is_numeric_dtype(values.dtype) and not blank.all():
            # Typed (GIS) sources may hold "" or spaces for "no value".
            blank[~blank] = values[~blank].astype(str).str.strip().eq("").to_numpy(dtype=bool)
        out = np.array(pd.to_numeric(values.where(~blank, None), errors="coerce"), dtype=float)
    retry = np.flatnonzero(np.isnan(out) & ~blank)
    for i in retry:
        x = _parse_number(cells[i], thousands=thousands)
        out[i] = np.nan if x is None else x
    problems = (blank & required) | (np.isnan(out) & ~blank) | ~np.isfinite(np.where(blank, 0.0, out))
    if nonneg:
        problems |= ~blank & (out < 0)
    bad = np.flatnonzero(problems)
    if bad.size:
        i = bad[0]
        v = cells[i]
        if blank[i]:
            raise InputError(f"empty {what}", file=file, row=rows[i], field=col)
        if not np.isfinite(out[i]):
            raise InputError(_not_a_number_message(what, v, thousands=thousands), file=file, row=rows[i],
                             field=col)
        raise InputError(f"{what} cannot be negative: {v!r}", file=file, row=rows[i], field=col)
    return out


def _code_text(v: Any) -> str | None:
    """Text of an id or code cell; numbers lose a spurious '.0'."""
    if _blank(v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    s = unicodedata.normalize("NFKC", str(v)).strip()
    # "430302.0" is what a numeric code becomes after a trip through some tools.
    return s[:-2] if re.fullmatch(r"\d+\.0", s) else s


# Python's str.strip() space in ASCII; cells without it at either end, ASCII (NFKC leaves ASCII as
# it is) and not matching the extra pattern are left unchanged by every clean-up below.
_ASCII_SPACE = r"[\t-\r\x1c-\x1f ]"
# All of str.isspace() (checked in tests/test_scale_hotspots.py), for the clean-up without NFKC.
_ANY_SPACE = r"[\t-\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


def _changed_cells(cells: np.ndarray, extra: str = "", *, ascii_only: bool = True) -> np.ndarray:
    """True for the cells a clean-up may change (not plain ASCII text without space at the ends and
    not matching ``extra``), found by pyarrow in one pass; all True when the cells are not all text."""
    import pyarrow as pa
    from pyarrow import compute as pc

    try:
        arr = pa.array(cells, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return np.ones(len(cells), dtype=bool)
    space = _ASCII_SPACE if ascii_only else _ANY_SPACE
    plain = pc.invert(pc.match_substring_regex(arr, f"^$|^{space}|{space}$" + extra))
    if ascii_only:
        plain = pc.and_(pc.string_is_ascii(arr), plain)
    plain = plain.fill_null(False)
    return ~plain.to_numpy(zero_copy_only=False)


def _cells(values: Any) -> np.ndarray:
    return values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)


def _code_texts(values: Any) -> np.ndarray:
    """:func:`_code_text` of every cell (object array, None for blanks), vectorised.

    Only the cells it may change (blank, space at an end, non-ASCII, ending in ``.0``, or not text)
    go through :func:`_code_text`; the others are their own code text.
    """
    cells = _cells(values)
    out = cells.copy()
    for i in np.flatnonzero(_changed_cells(cells, r"|\.0$")):
        out[i] = _code_text(cells[i])
    return out


def _clean_texts(values: Any) -> np.ndarray:
    """Each cell as stripped text, None for blanks (``None if _blank(v) else str(v).strip()``), vectorised
    as :func:`_code_texts`."""
    cells = _cells(values)
    out = cells.copy()
    for i in np.flatnonzero(_changed_cells(cells, ascii_only=False)):
        v = cells[i]
        out[i] = None if _blank(v) else str(v).strip()
    return out


_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")


def _division_code(v: Any, *, numeric: bool, strict: bool, file: str, row: Any, field: str) -> str | None:
    """Text of a division-code cell, refusing codes that lost digits.

    ``4.30302E+11`` (Excel's scientific display saved as text) has lost its
    last digits; a number of 11 digits has lost a digit (no code starts with
    0, so it cannot be a leading zero).  Numbers must have 6 (county), 9
    (township) or 12 (village) digits; with ``strict`` (point tables), text
    codes must too.  Codes are not padded: ``430302`` stays six digits.
    """
    c = _code_text(v)
    if c is None:
        return None
    if isinstance(v, str) and _SCIENTIFIC.fullmatch(c):
        raise InputError(
            f"division code {c!r} was saved in scientific notation, so its last digits are lost; "
            "format the column as text in Excel and enter the codes again",
            file=file, row=row, field=field,
        )
    digits = c  # a minus sign is not part of any code
    if (numeric or strict or isinstance(v, (int, float, np.integer, np.floating))) and (
        not digits.isdigit() or len(digits) not in _CODE_LENGTHS
    ):
        if not digits.isdigit():
            raise InputError(f"division code {c!r} must be digits only (6, 9 or 12 of them)",
                             file=file, row=row, field=field)
        lost = (" The column is stored as numbers, so leading zeros may have been lost: store it as text"
                if numeric or not isinstance(v, str) else "")
        raise InputError(
            f"division code {c} has {len(digits)} digits; codes have 6 (county), 9 (township) or "
            f"12 (village) digits.{lost}",
            file=file, row=row, field=field,
        )
    return c


def _maybe_numeric(series: pd.Series, *, from_text: bool) -> pd.Series:
    """Give an extra spreadsheet column a numeric dtype when every value is a number (by :func:`_parse_number`).

    With ``from_text`` (CSV), text that parses as numbers is converted too,
    except values like "007": those are codes, not numbers.  Typed sources
    (GIS files) never come here.
    """
    if pd.api.types.is_numeric_dtype(series.dtype) or not (
        series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
    ):
        return series
    vals = [v for v in series.tolist() if not _blank(v)]
    if not vals:
        return series
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in vals):
        return pd.to_numeric(series)
    if not from_text or not all(isinstance(v, str) for v in vals):
        return series
    if any(re.fullmatch(r"[+-]?0\d+", v.strip()) for v in vals):
        return series
    try:
        return pd.to_numeric(series)
    except (ValueError, TypeError):
        pass
    # The number rules of the canonical columns (full-width digits, thousands in groups of three):
    # a weight column such as 低保户数 may be any extra column.
    parsed = [None if _blank(v) else _parse_number(v) for v in series.tolist()]
    if any(p is None for p, v in zip(parsed, series.tolist()) if not _blank(v)):
        return series
    return pd.Series([np.nan if p is None else p for p in parsed], index=series.index, dtype=float, name=series.name)
