"""CSV written for spreadsheets: text neutralised against formula injection (OWASP)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from geoplan._output._folders import atomic_write_file

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# every character str.splitlines() breaks on: a reader that splits a cell there (a bare CR is not
# quoted by pandas; some readers break on U+2028) starts a new line with what follows it
_BREAK_THEN_FORMULA = re.compile("([\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])(?=[=+\\-@\t])")


def _text_risky(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(_FORMULA_START) or bool(_BREAK_THEN_FORMULA.search(value)))


def csv_safe_text(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading ``'`` (OWASP); other values unchanged.

    The same ``'`` goes after any line break inside the text that is followed by
    ``= + - @`` or tab, so no physical line of the file starts a formula even
    where a reader splits the cell.
    """
    if not isinstance(value, str):
        return value
    value = _BREAK_THEN_FORMULA.sub(r"\1'", value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe(df):
    """Copy of ``df`` with every text cell (and header) made safe by :func:`csv_safe_text`.

    Numbers stay numbers (a negative number is not text and is not touched).
    """
    import pandas as pd  # heavy: importing geoplan._output (every CLI run) must not load it

    out = pd.DataFrame(df).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            risky = out[col].map(_text_risky).astype(bool)
            if risky.any():  # only those cells change: missing values and numbers stay what they were
                out.loc[risky, col] = out.loc[risky, col].map(csv_safe_text)
    out.columns = [csv_safe_text(c) for c in out.columns]
    return out


def write_csv(df, path: str | os.PathLike, *, overwrite: bool = False, **kwargs) -> Path:
    """Write ``df`` as UTF-8 (with BOM, for Excel) CSV atomically, text made formula-safe.

    Lines end in CRLF (RFC 4180): the csv module then quotes every cell holding
    a CR or LF, so a bare CR inside a name cannot split a row.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("encoding", "utf-8-sig")
    kwargs.setdefault("lineterminator", "\r\n")
    safe = csv_safe(df)
    return atomic_write_file(path, lambda p: safe.to_csv(p, **kwargs), overwrite=overwrite)
