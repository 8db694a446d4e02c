"""Opening a user's file: the path must name an existing, non-empty file, and any reader failure
becomes an :class:`~geoplan.InputError` naming it."""

from __future__ import annotations

import os
import re
from pathlib import Path

from geoplan._errors import GeoplanError, InputError


PathLike = str | os.PathLike


class _Reading:
    """Turn any failure while reading a user's file into an InputError naming it.

    GDAL, SQLite, openpyxl and pandas raise many exception types for broken or
    unexpected files; the planner should see the file and what went wrong,
    never a traceback.  Errors geoplan raises on purpose pass through.
    """

    def __init__(self, file: str):
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is None or isinstance(exc, GeoplanError) or not isinstance(exc, Exception) \
                or isinstance(exc, MemoryError):
            return False
        msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the file ({type(exc).__name__}: {msg})", file=self.file) from exc


def _existing(path: PathLike) -> tuple[Path, str]:
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"a file path is needed, got a {type(path).__name__}", field="path")
    p = Path(path)
    file = str(path)
    if not p.exists():
        if re.match(r"\s*(MULTI)?(POINT|LINESTRING|POLYGON)\s*Z?\s*\(", file, re.IGNORECASE):
            raise InputError("file not found: this looks like WKT geometry text, but a file path is needed",
                             file=file)
        raise InputError("file not found", file=file)
    if p.is_dir() and p.suffix.lower() not in (".gdb",):
        raise InputError("a file is needed here, not a folder", file=file)
    if p.is_file() and p.stat().st_size == 0:
        raise InputError("the file is empty", file=file)
    return p, file
