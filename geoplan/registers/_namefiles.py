"""Place-name files: reading and validating name tables (CSV/Excel/GeoJSON), writing them, dates.

Internals of :mod:`geoplan.registers.names` (the public names are re-exported there).
Text files are decoded by geoplan's one encoding sniffer (:mod:`geoplan.io`).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import wkt as _wkt

from geoplan._errors import InputError
from geoplan._output import atomic_write_file, write_csv
from geoplan.io._encoding import decode_text

#: Gazetteer fields, after the national place-name census form (第二次全国地名普查 登记表).
FIELDS: dict[str, str] = {
    "code": "地名代码 / record code (12-digit statistical code for divisions)",
    "name": "标准名称 / standard name",
    "pinyin": "汉语拼音 / sign pinyin (no tones)",
    "category": "类别 / category keyword: province, city, county, township, village, community, natural_village, road, other",
    "category_code": "类别代码 / category code per GB/T 18521 (as entered; not validated)",
    "admin_code": "所在行政区划代码 / 12-digit code of the administrative unit",
    "meaning": "地名含义 / meaning",
    "origin": "来历 / origin",
    "history_note": "历史沿革 / history (text)",
    "approval_doc": "批准文号 / approval document number",
}
EVENTS_LAYER = "place_name_events"
CURRENT_LAYER = "place_names"
_EVENT_KINDS = ("named", "renamed", "amended", "abolished")
_CODE_RE = re.compile(r"^[0-9A-Za-z_\-]{1,40}$")
_ADMIN_CATEGORIES = {"province", "city", "county", "township", "village", "community"}
_NAMES_SCHEMA = "1"
_TRUTHY = {"1", "1.0", "true", "yes", "y", "是"}


# --------------------------------------------------------------------------- reading files
def _decode(raw: bytes, path: Path) -> str:
    """Text of a names file by geoplan's one encoding sniffer (:func:`geoplan.io.decode_text`).

    A NUL character means the bytes were not text in a detected encoding (e.g. UTF-16 without
    a byte-order mark read as UTF-8): an encoding error, not a name containing NUL.
    """
    text = decode_text(raw, file=str(path))
    if "\x00" in text:
        raise InputError("unknown text encoding (not UTF-8, GBK/GB18030 or UTF-16 with BOM); save the file as "
                         "UTF-8 CSV", file=path, field="encoding")
    return text


def _read_table(path: Path, *, sheet: str | int | None = None) -> tuple[pd.DataFrame, int]:
    """Read CSV/Excel/GeoJSON as strings; returns (frame, row offset for spreadsheet numbering)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError("file not found", file=path)
    if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
        raw = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            try:
                raw = gzip.decompress(raw)
            except OSError as exc:
                raise InputError(f"not a gzip file: {exc}", file=path) from exc
        text = _decode(raw, path)
        if not text.strip():
            raise InputError("the file is empty: a header row with at least 'code' and 'name' is needed", file=path, row=1)
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError as exc:
            raise InputError("the file is empty: a header row with at least 'code' and 'name' is needed",
                             file=path, row=1) from exc
        except pd.errors.ParserError as exc:
            raise InputError(f"cannot parse CSV: {exc}", file=path) from exc
        return df, 2
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
        except Exception as exc:  # openpyxl raises many kinds
            raise InputError(f"cannot read Excel file: {exc}", file=path) from exc
        return df, 2
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(_decode(path.read_bytes(), path))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", file=path) from exc
        feats = doc.get("features") if isinstance(doc, dict) else None
        if feats is None:
            raise InputError("GeoJSON must be a FeatureCollection", file=path)
        recs = []
        for f in feats:
            props = {k: ("" if v is None else str(v)) for k, v in (f.get("properties") or {}).items()}
            props["__geometry__"] = f.get("geometry")
            recs.append(props)
        # a property some features lack is empty text there (pandas would fill NaN, read back as "nan")
        df = pd.DataFrame(recs)
        props = [c for c in df.columns if c != "__geometry__"]
        df[props] = df[props].astype(object).where(df[props].notna(), "")
        return df, 1
    raise InputError(f"unsupported file type {suffix!r} (use .csv, .csv.gz, .xlsx or .geojson)", file=path)


def _parse_geometry(r: dict, path: Path, row: int):
    g = r.get("__geometry__")
    if g is not None:
        try:
            geom = shapely.geometry.shape(g)
        except Exception as exc:
            raise InputError(f"broken geometry: {exc}", file=path, row=row, field="geometry") from exc
        field = "geometry"
    elif _text(r.get("wkt")):
        try:
            geom = _wkt.loads(_text(r["wkt"]))
        except Exception as exc:
            raise InputError(f"broken geometry (WKT not readable): {exc}", file=path, row=row, field="wkt") from exc
        field = "wkt"
    elif _text(r.get("lon")) or _text(r.get("lat")):
        try:
            lon, lat = float(_text(r.get("lon"))), float(_text(r.get("lat")))
        except ValueError as exc:
            raise InputError("broken geometry: lon/lat not numbers", file=path, row=row, field="lon") from exc
        geom, field = shapely.Point(lon, lat), "lon"
    else:
        return None
    if geom.is_empty:
        raise InputError("broken geometry: empty", file=path, row=row, field=field)
    if not geom.is_valid:
        raise InputError(
            f"broken geometry: {shapely.is_valid_reason(geom)}", file=path, row=row, field=field
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError("geometry outside longitude/latitude range (expected WGS-84/CGCS2000 degrees)",
                         file=path, row=row, field=field)
    return geom


def _text(value) -> str:
    """Cell text, stripped; missing values (None, NaN) are empty, never ``"nan"``/``"None"``."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def _blank(value):
    """``None`` for a missing or empty value, else its text (to compare stored and new fields)."""
    t = _text(value)
    return t or None


_YEAR_RE = re.compile(r"^(\d{4})(?:\.0)?$")


def read_names(
    path: str | os.PathLike,
    *,
    sheet: str | int | None = None,
    default_category: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate a place-name table (CSV UTF-8/GBK, Excel, GeoJSON).

    Columns: ``code`` and ``name`` required; optional ``pinyin``, ``category``,
    ``category_code``, ``admin_code``, ``meaning``, ``origin``, ``history_note``,
    ``approval_doc``, ``date`` (YYYY-MM-DD), ``event`` (``abolished`` to abolish; a truthy ``abolished``
    column does the same)
    and a geometry (GeoJSON geometry, ``wkt`` or ``lon``/``lat`` in WGS-84/CGCS2000).

    Parameters
    ----------
    path
        The file.
    sheet
        Excel sheet (default the first).
    default_category
        Category for rows that leave it empty.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input row, EPSG:4326, ``source_row`` holding the spreadsheet row,
        ``abolished_year`` the year of an abolition when the file gives only that.
        ``attrs["columns"]`` lists the fields the file gives (``geometry`` when it
        has a geometry column): :meth:`Gazetteer.record` keeps the stored value
        of every other field.

    Raises
    ------
    InputError
        Unknown encoding, missing name, bad code, broken geometry, duplicate
        code; the message names file, row (header = 1, first data row = 2;
        GeoJSON: feature number) and field; a file with a header but no rows.
    """
    path = Path(path)
    df, offset = _read_table(path, sheet=sheet)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for col in ("code", "name"):
        if col not in df.columns:
            raise InputError(f"required column {col!r} missing (columns: {', '.join(df.columns)})", file=path, row=1, field=col)
    if df.empty:  # "0 events" and an empty store would hide a wrong file
        raise InputError("no rows: the file has a header but no names", file=path, row=offset)
    given = [f for f in FIELDS if f in df.columns]
    if default_category and "category" not in given:
        given.append("category")
    if "__geometry__" in df.columns or "wkt" in df.columns or "lon" in df.columns or "lat" in df.columns:
        given.append("geometry")
    recs = []
    seen: dict[str, int] = {}
    for i, r in enumerate(df.to_dict("records")):
        row = i + offset
        name = _text(r.get("name"))
        if not name:
            raise InputError("missing name", file=path, row=row, field="name")
        code = _text(r.get("code"))
        if not _CODE_RE.match(code):
            raise InputError(f"bad code {code!r} (letters, digits, '-' or '_', up to 40)", file=path, row=row, field="code")
        category = (_text(r.get("category")) or default_category or "").strip().lower() or None
        if category in _ADMIN_CATEGORIES and not re.fullmatch(r"\d{12}", code):
            raise InputError(
                f"bad code {code!r}: a {category} needs its 12-digit statistical code", file=path, row=row, field="code"
            )
        admin = _text(r.get("admin_code"))
        if admin and not re.fullmatch(r"\d{12}", admin):
            raise InputError(f"bad admin_code {admin!r}: must be 12 digits", file=path, row=row, field="admin_code")
        if not admin and re.fullmatch(r"\d{12}", code):
            admin = code
        if code in seen:
            raise InputError(f"code {code!r} repeats row {seen[code]}", file=path, row=row, field="code")
        seen[code] = row
        date = _text(r.get("date"))
        if date:
            date = _parse_date(date, file=path, row=row)
        event = _text(r.get("event")).lower()
        if not event and _text(r.get("abolished")).lower() in _TRUTHY:
            event = "abolished"
        if event and event not in _EVENT_KINDS:
            raise InputError(f"bad event {event!r} (one of {', '.join(_EVENT_KINDS)})", file=path, row=row, field="event")
        year = None
        if event == "abolished" and not date:
            # the shipped township table gives only the year of an abolition
            m = _YEAR_RE.match(_text(r.get("abolished_year")))
            year = m.group(1) if m else None
        geom = _parse_geometry(r, path, row)
        rec = {
            "code": code,
            "name": name,
            "pinyin": _text(r.get("pinyin")) or None,
            "category": category,
            "category_code": _text(r.get("category_code")) or None,
            "admin_code": admin or None,
            "meaning": _text(r.get("meaning")) or None,
            "origin": _text(r.get("origin")) or None,
            "history_note": _text(r.get("history_note")) or None,
            "approval_doc": _text(r.get("approval_doc")) or None,
            "date": date or None,
            "event": event or None,
            "abolished_year": year,
            "source_row": row,
            "geometry": geom,
        }
        recs.append(rec)
    cols = list(FIELDS) + ["date", "event", "abolished_year", "source_row", "geometry"]
    out = gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry="geometry", crs="EPSG:4326")
    out.attrs["columns"] = given
    return out


def write_names(gdf: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write names to CSV (UTF-8 with BOM, opens in Excel; geometry as ``wkt``), Excel or GeoJSON.

    The format follows the suffix: ``.csv``, ``.xlsx``, ``.geojson``.  Written atomically.
    Text is always written as text, never as a spreadsheet formula (OWASP CSV
    injection): in CSV a value starting with ``= + - @``, tab or CR gets a
    leading ``'`` (so does such a start after a line break inside a value, and
    a value holding a line break is quoted); in Excel every text is a string cell.

    Parameters
    ----------
    gdf
        The names (e.g. :meth:`Gazetteer.state_at`); a ``geometry`` column is written as
        ``wkt`` in CSV and Excel.
    path
        Output file: ``.csv``, ``.xlsx`` or ``.geojson``.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        Any other suffix.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    df = pd.DataFrame(gdf).copy()
    if "geometry" in df:
        df["wkt"] = [None if g is None else g.wkt for g in df["geometry"]]
        df = df.drop(columns="geometry")
    if suffix == ".csv":
        return write_csv(df, path, overwrite=overwrite)  # CRLF lines: a CR inside a cell is quoted
    elif suffix == ".xlsx":
        writer = lambda p: _write_xlsx_text_safe(df, p)  # noqa: E731
    elif suffix == ".geojson":
        g = gpd.GeoDataFrame(gdf.copy(), geometry="geometry", crs=getattr(gdf, "crs", None) or "EPSG:4326")
        writer = lambda p: Path(p).write_text(g.to_json(ensure_ascii=False, drop_id=True), encoding="utf-8")  # noqa: E731
    else:
        raise InputError(f"unsupported export type {suffix!r} (use .csv, .xlsx or .geojson)", file=path)
    atomic_write_file(path, writer, overwrite=overwrite)
    return path


def _write_xlsx_text_safe(df: pd.DataFrame, path) -> None:
    """One-sheet workbook in which no text becomes a formula (string cells, quote prefix for = + - @).

    openpyxl is imported here: only an ``.xlsx`` export needs it.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    ws.title = "names"

    def put(r: int, c: int, v) -> None:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return
        if isinstance(v, (np.integer, np.floating, np.bool_)):
            v = v.item()
        if not isinstance(v, (str, int, float, bool, _dt.date)):
            v = str(v)
        if isinstance(v, str):
            v = ILLEGAL_CHARACTERS_RE.sub(" ", v)
        cell = ws.cell(row=r, column=c, value=v)
        if isinstance(v, str):
            cell.data_type = "s"  # openpyxl would otherwise store '=...' as a live formula
            if v.startswith(("=", "+", "-", "@", "\t", "\r")):
                cell.quotePrefix = True  # editing the cell in Excel keeps it text

    for c, name in enumerate(df.columns, start=1):
        put(1, c, str(name))
    for r, row in enumerate(df.itertuples(index=False), start=2):
        for c, v in enumerate(row, start=1):
            put(r, c, v)
    wb.save(path)



_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ].+)?$")


def _parse_date(text: str, *, file=None, row: int | None = None, field: str = "date") -> str:
    """A strict ISO date: ``YYYY-MM-DD``, or a full valid ISO date-time (its date is kept).

    ``2020-02-30`` and ``2020-02-03T99:99`` are refused, never truncated.
    """
    t = str(text).strip()
    try:
        if not _DATE_RE.match(t):
            raise ValueError("not YYYY-MM-DD")
        if len(t) == 10:
            return _dt.date.fromisoformat(t).isoformat()
        return _dt.datetime.fromisoformat(t).date().isoformat()
    except ValueError as exc:
        raise InputError(f"bad date {t!r} (use YYYY-MM-DD): {exc}", file=file, row=row, field=field) from exc


def _iso(date: str | _dt.date | None) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    if isinstance(date, _dt.datetime):
        return date.date().isoformat()
    if isinstance(date, _dt.date):
        return date.isoformat()
    return _parse_date(str(date))


def read_name_list(path: str | os.PathLike, *, category: str | None = None) -> list[tuple[str, str | None]]:
    """(name, category) of every row of a table with a ``name`` column (``code`` not needed).

    Parameters
    ----------
    path
        CSV (UTF-8/GBK), ``.csv.gz``, Excel or GeoJSON.
    category
        For rows without a ``category``.

    Returns
    -------
    list of (str, str or None)
        ``(name, category)`` per row, in file order; categories lower-cased.

    Raises
    ------
    InputError
        No ``name`` column, no rows, or a row without a name (file, row and field named).
    """
    path = Path(path)
    df, offset = _read_table(path)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if "name" not in df.columns:
        raise InputError(f"required column 'name' missing (columns: {', '.join(map(str, df.columns))})",
                         file=path, row=1, field="name")
    if df.empty:
        raise InputError("no rows: the file has a header but no names", file=path, row=offset)
    items = []
    for i, r in enumerate(df.to_dict("records")):
        name = _text(r.get("name"))
        if not name:
            raise InputError("missing name", file=path, row=i + offset, field="name")
        items.append((name, _text(r.get("category")).lower() or category))
    return items
