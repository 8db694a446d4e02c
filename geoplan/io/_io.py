"""Read planners' files into clean GeoDataFrames, and write results.

Everything read here comes out in EPSG:4326 (WGS-84 longitude/latitude) with
canonical English column names; computation elsewhere reprojects to metres
(:func:`geoplan.crs.ensure_projected`).

Accepted inputs
---------------
* CSV/TXT (UTF-8, UTF-8 with BOM, or GBK/GB18030 as Excel on Chinese Windows
  saves it -- tried in that order; UTF-16 with a byte-order mark as Excel's
  "Unicode text" export), comma, tab, semicolon or bar separated; Excel
  ``.xlsx`` (``.xls`` is refused: save it as ``.xlsx``);
* GeoJSON, GeoPackage, Shapefile and anything else GDAL reads (via pyogrio);
  a Shapefile without ``.cpg`` has its text encoding detected like a CSV's;
  a multi-layer file needs ``layer=``.

A title line above the header (common in official lists) is skipped.
Coordinates come from a longitude and a latitude column, or from one
"longitude,latitude" column as Amap gives it (:data:`LONLAT_ALIASES`).
Headers may be Chinese or English; see :data:`COLUMN_ALIASES`.  Headers are
compared after Unicode NFKC normalisation (full-width characters become
half-width), lower-casing, and dropping spaces and bracketed notes, so
``"经度（WGS84）"`` and ``" Longitude "`` both mean longitude.

Datums are never guessed (:func:`read_points`, ``datum=``): coordinates in
mainland China need the datum stated -- by the caller, a ``坐标系`` column, or
a GIS file's CGCS2000/projected CRS -- or the reader stops and asks; outside
the mainland there is nothing to ask.  Each result records its datum and how
it was stated in ``attrs["datum"]`` and ``attrs["datum_source"]``.

Numbers are never read two ways: a decimal point only; thousands separators
(comma or space) only in groups of three (``1,234``, ``12,345,678.5``);
``1,2``, ``1.234,5`` or a comma in a coordinate is refused with the file, row
and column.  Division codes (``行政区划代码``) must have 6, 9 or 12 digits in point
tables; a code saved in scientific notation (``4.30302E+11``) or a number of
another length has lost digits and is refused.

Errors carry the file, the spreadsheet row (header = 1, first data row = 2; for
GIS files the feature number counted from 1) and the column header as the user
wrote it.  A file that cannot be read at all (corrupted GeoPackage, garbage,
a folder, WKT text instead of a path) is an :class:`InputError` naming it.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import logging
import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan._errors import CRSError, GeoplanError, InputError
from geoplan._output import atomic_write_file
from geoplan.io._crs import check_datum, geometry_to_wgs84, in_mainland, to_wgs84

__all__ = [
    "COLUMN_ALIASES",
    "DATUM_ALIASES",
    "source_rows",
    "datum_note",
    "LONLAT_ALIASES",
    "POLYGON_ALIASES",
    "read_points",
    "read_polygons",
    "check_within",
    "write_layers",
    "write_geojson",
]

log = logging.getLogger("geoplan")

PathLike = str | os.PathLike

#: Accepted headers for each canonical column, best match first.  The
#: canonical English name itself is always accepted.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "longitude", "long", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "id": ("id", "编号", "code", "设施编号", "机构编号"),
    "name": ("name", "名称", "机构名称", "设施名称", "单位名称"),
    "type": ("type", "类型", "设施类型", "机构类型"),
    "capacity": ("capacity", "beds", "床位", "床位数", "床位数量"),
    "pop": ("pop", "population", "人口", "人口数", "总人口", "常住人口"),
    "pop_60": ("pop_60", "elderly", "60岁以上", "60岁及以上", "60岁以上人口", "60岁及以上人口",
               "老年人口", "老年人"),
    "pop_0_17": ("pop_0_17", "minors", "0-17岁", "0-17岁人口", "未成年人", "未成年人口"),
    "admin_code": ("admin_code", "行政区划代码", "区划代码", "统计用区划代码"),
}

#: Headers accepted for admin-unit polygons (:func:`read_polygons`).
POLYGON_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "admin_code", "adcode", "行政区划代码", "区划代码", "统计用区划代码", "代码", "编码"),
    "name": ("name", "名称", "行政区划名称", "区划名称", "地名"),
}

#: Headers of a single "longitude,latitude" column, as Amap's API and POI
#: exports give it ("112.944,27.829").
LONLAT_ALIASES: tuple[str, ...] = ("经纬度", "经纬度坐标", "坐标", "location", "lnglat", "lonlat")

_CANONICAL_ORDER = ("id", "name", "type", "capacity", "pop", "pop_60", "pop_0_17", "admin_code")
_POP_COLUMNS = ("pop", "pop_60", "pop_0_17")
_KINDS = ("facilities", "demand", "points")
_TABLE_EXT = {".csv", ".txt", ".tsv"}
_EXCEL_EXT = {".xlsx", ".xlsm"}
# Administrative division codes: 6 (county), 9 (township) or 12 (village) digits.
_CODE_LENGTHS = (6, 9, 12)
# How many leading rows may hold a title above the header (common in 民政 sheets).
_HEADER_SEARCH_ROWS = 20


# --------------------------------------------------------------------------
# headers


def _norm_header(text: Any) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip().lower().lstrip("\ufeff")
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", s)
    s = re.sub(r"\s+", "", s)
    return re.sub(r"[-~—–－]", "_", s)


def _match_columns(
    columns: Iterable[str],
    aliases: Mapping[str, tuple[str, ...]],
    explicit: Mapping[str, str | None],
    *,
    file: str,
) -> dict[str, str]:
    """Map canonical name -> source column.

    Explicit choices win; otherwise the best-ranked alias.  Several columns
    that could be longitude (or latitude) is an error: guessing between, say,
    "经度(高德)" and "经度(WGS84)" would silently shift points by 500 m.
    """
    cols = list(columns)
    normed = {c: _norm_header(c) for c in cols}
    found: dict[str, str] = {}
    used: set[str] = set()
    for canon, choice in explicit.items():
        if choice is None:
            continue
        if choice in cols:
            src = choice
        else:
            hits = [c for c in cols if normed[c] == _norm_header(choice)]
            if len(hits) > 1:
                raise InputError(
                    f"column {choice!r} (given for {canon}) is ambiguous: {', '.join(hits)}; "
                    "give the header exactly",
                    file=file, field=choice,
                )
            if not hits:
                raise InputError(
                    f"column {choice!r} (given for {canon}) not found; columns are: "
                    f"{', '.join(map(str, cols))}",
                    file=file, field=choice,
                )
            src = hits[0]
        found[canon] = src
        used.add(src)
    for canon, names in aliases.items():
        if canon in found:
            continue
        keys = [_norm_header(a) for a in names]
        hits = [(keys.index(normed[c]), i, c) for i, c in enumerate(cols)
                if c not in used and normed[c] in keys]
        if not hits:
            continue
        if canon in ("lon", "lat") and len(hits) > 1:
            raise InputError(
                f"several columns could be the {'longitude' if canon == 'lon' else 'latitude'}: "
                f"{', '.join(h[2] for h in hits)}; say which with {canon}=...",
                file=file, field=hits[0][2],
            )
        src = min(hits)[2]
        found[canon] = src
        used.add(src)
    return found


# --------------------------------------------------------------------------
# reading tables


def _chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are CJK ideographs or CJK/full-width punctuation."""
    other = [ch for ch in text if ord(ch) > 0x7F]
    if not other:
        return 0.0
    cjk = sum(1 for ch in other if "\u3000" <= ch <= "\u303f" or "\u3400" <= ch <= "\u9fff"
              or "\uff00" <= ch <= "\uffef" or "\U00020000" <= ch <= "\U0003134f")
    return cjk / len(other)


def _decode(data: bytes, encoding: str | None, file: str) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise InputError(f"unknown text encoding {encoding!r}", file=file, field="encoding") from exc
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not valid {encoding} text (byte {exc.start}); "
                "leave encoding unset to detect UTF-8/GBK",
                file=file, field="encoding",
            ) from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode text (*.txt)" export: UTF-16 with a byte-order mark.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    # UTF-8 first: valid UTF-8 is rarely accidentally valid GB18030 text of a
    # different meaning, while the reverse happens often.  Rarely is not never:
    # GBK "位" (CE BB) is also UTF-8 "λ".  When both decode and differ, keep the
    # reading that looks more like a Chinese table (see _chinese_share).
    texts = {}
    for enc in ("utf-8-sig", "gb18030"):
        try:
            texts[enc] = data.decode(enc)
        except UnicodeDecodeError:
            continue
    if len(texts) == 2 and texts["utf-8-sig"] != texts["gb18030"]:
        utf, gb = texts["utf-8-sig"], texts["gb18030"]
        # Only the narrow case: the UTF-8 reading has no Chinese and no accented Latin letters
        # (Finnish, French... names stay UTF-8), while the GBK reading is all Chinese.
        latin = any("\u00c0" <= ch <= "\u024f" for ch in utf)
        if _chinese_share(utf) == 0 and not latin and _chinese_share(gb) == 1.0:
            return gb
    if texts:
        return next(iter(texts.values()))
    raise InputError(
        "cannot tell the text encoding (tried UTF-8 and GBK/GB18030); "
        "save the file as 'CSV UTF-8' or pass encoding=...",
        file=file, field="encoding",
    )


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
    import openpyxl

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


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


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


# --------------------------------------------------------------------------
# values


_DMS = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?([NSEW东西南北]?)\s*$",
    re.IGNORECASE,
)


# Plain decimal numbers (point as decimal mark), and numbers whose thousands are
# grouped by commas (or spaces) in groups of exactly three: 1,234 / 12,345,678.5.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:(?P<sep>[, ])\d{3})(?:(?P=sep)\d{3})*(?:\.\d+)?")


def _parse_number(v: Any, *, thousands: bool = True) -> float | None:
    """A float from a cell, or None if it is not unambiguously a number.

    Accepted: plain numbers with a decimal point (``1234.5``, ``1e3``,
    full-width digits), thousands separated by commas or spaces in groups of
    three (``1,234``, ``12,345,678.5``, ``1 234``) when ``thousands`` is true,
    and degrees-minutes-seconds (``112°56'30"E``).  Refused (None): a decimal
    comma (``1,5``), mixed marks (``1.234,5``), other groupings (``1,2``,
    ``12,34``), underscores -- each could be read as two different numbers.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    s = unicodedata.normalize("NFKC", str(v)).strip()
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


def _numeric_column(
    frame: pd.DataFrame, col: str, *, what: str, file: str, rows: pd.Index,
    required: bool, nonneg: bool, thousands: bool = True,
) -> np.ndarray:
    """Parse a column to float64, raising at the first bad cell.

    Plain numbers take a vectorised path; only cells that fail it (full-width
    digits, thousands separators, degrees-minutes-seconds) are parsed one by one.
    """
    values = frame[col]
    blank = values.isna().to_numpy(dtype=bool).copy()
    if not pd.api.types.is_numeric_dtype(values.dtype) and not blank.all():
        # Typed (GIS) sources may hold "" or spaces for "no value".
        blank[~blank] = values[~blank].astype(str).str.strip().eq("").to_numpy(dtype=bool)
    out = np.array(pd.to_numeric(values.where(~blank, None), errors="coerce"), dtype=float)
    retry = np.flatnonzero(np.isnan(out) & ~blank)
    cells = values.to_numpy(dtype=object)
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
    """Give an extra spreadsheet column a numeric dtype when every value is a number.

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
        return series


def _check_duplicates(ids: list[str | None], rows: list[Any], *, field: str, file: str, what: str) -> None:
    seen: dict[str, Any] = {}
    for v, row in zip(ids, rows):
        if v is None:
            continue
        if v in seen:
            raise InputError(
                f"duplicate {what} {v!r}: rows {seen[v]} and {row}", file=file, row=row, field=field
            )
        seen[v] = row


def _check_pop_parts(pops: Mapping[str, np.ndarray], *, fields: Mapping[str, str], file: Any, rows: Any) -> None:
    """pop_60 and pop_0_17 are parts of pop: neither may exceed it (shared by the readers and assess())."""
    if "pop" not in pops:
        return
    for part in ("pop_60", "pop_0_17"):
        if part in pops:
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(np.asarray(pops[part]) > np.asarray(pops["pop"]))
            if bad.size:
                i = bad[0]
                raise InputError(
                    f"{part} ({pops[part][i]:g}) exceeds the total population ({pops['pop'][i]:g})",
                    file=file, row=rows[i], field=fields.get(part, part),
                )


def _check_point_geometry(geoms: np.ndarray, rows: Any, *, file: Any, points_only: bool = True) -> None:
    """Missing/empty geometry, non-point geometry (``points_only``) and non-finite coordinates."""
    geoms = np.asarray(geoms, dtype=object)
    gtype = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    single_multi = (gtype == 4) & (shapely.get_num_geometries(geoms) == 1)
    wrong = (gtype != 0) & ~single_multi if points_only else np.zeros(len(geoms), bool)
    bad = np.flatnonzero(missing | wrong)
    if bad.size:
        i = bad[0]
        if missing[i]:
            raise InputError("missing geometry", file=file, row=rows[i], field="geometry")
        raise InputError(f"a point is needed here, found a {geoms[i].geom_type}", file=file,
                         row=rows[i], field="geometry")
    ok = ~missing
    finite = np.ones(len(geoms), bool)
    if ok.any():
        xy, at = shapely.get_coordinates(geoms[ok], return_index=True)
        nonfinite = ~np.isfinite(xy).all(axis=1)
        finite[np.flatnonzero(ok)[np.unique(at[nonfinite])]] = False
    bad = np.flatnonzero(~finite)
    if bad.size:
        raise InputError(f"coordinates are not finite numbers: {geoms[bad[0]].wkt}", file=file,
                         row=rows[bad[0]], field="geometry")


def _check_lonlat(
    lon: np.ndarray, lat: np.ndarray, rows: list[Any], *, file: str, lon_field: str, lat_field: str
) -> None:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    # Swapped columns are the commonest spreadsheet mistake; for Chinese data
    # a "latitude" above 70 next to a "longitude" of 3-55 is one.
    swapped = ((np.abs(y) > 90) & (np.abs(x) <= 90)) | ((y > 70) & (y <= 180) & (x >= 3) & (x <= 55))
    bad_lat = ~((y >= -90) & (y <= 90))  # NaN counts as bad
    bad_lon = ~((x >= -180) & (x <= 180))
    zero = (x == 0) & (y == 0)
    bad = np.flatnonzero(swapped | bad_lat | bad_lon | zero)
    if not bad.size:
        return
    i = bad[0]
    xi, yi, row = x[i], y[i], rows[i]
    if swapped[i] and abs(xi) <= 1000 and abs(yi) <= 1000:
        raise InputError(
            f"longitude {xi:g} and latitude {yi:g} look swapped (China lies at longitude 73-135, "
            "latitude 3-54); swap the columns or pass lon=/lat=",
            file=file, row=row, field=lat_field,
        )
    if abs(xi) > 1000 or abs(yi) > 1000:
        raise InputError(
            f"coordinates {xi:g}, {yi:g} look like projected metres (e.g. CGCS2000 Gauss-Krüger), "
            "not longitude/latitude; convert them to degrees first",
            file=file, row=row, field=lon_field if abs(xi) > 1000 else lat_field,
        )
    if bad_lat[i]:
        raise InputError(f"latitude {yi:g} is outside -90..90", file=file, row=row, field=lat_field)
    if bad_lon[i]:
        raise InputError(f"longitude {xi:g} is outside -180..180", file=file, row=row, field=lon_field)
    raise InputError("coordinates 0, 0 usually mean a missing location", file=file, row=row,
                     field=lon_field)


# --------------------------------------------------------------------------
# public readers


#: Headers of a column that states the datum of every row (one value for the whole file).
DATUM_ALIASES: tuple[str, ...] = ("datum", "坐标系", "坐标系统", "坐标类型", "coord_type", "coordtype")

# The command-line option that states each input's datum, named in the error.
_DATUM_OPTIONS = {"facilities": "--facilities-datum", "demand": "--demand-datum",
                  "points": "--candidates-datum", "polygons": "--units-datum"}


def _datum_column(frame: pd.DataFrame, rows: list[Any], file: str) -> tuple[str | None, str | None]:
    """(datum, header) stated by a 坐标系/datum column, or (None, None) without one.

    Every row must state the same datum: a register mixing Amap and GPS
    coordinates has to be split, since one wrong row moves a facility 500 m.
    """
    keys = {_norm_header(a) for a in DATUM_ALIASES}
    hits = [c for c in frame.columns if _norm_header(c) in keys]
    if not hits:
        return None, None
    if len(hits) > 1:
        raise InputError(f"several datum columns: {', '.join(map(str, hits))}; keep one", file=file,
                         field=hits[0])
    col = hits[0]
    found: dict[str, Any] = {}
    for v, row in zip(frame[col].tolist(), rows):
        if _blank(v):
            raise InputError("empty datum (坐标系) cell: every row must say wgs84, cgcs2000, gcj02 or bd09",
                             file=file, row=row, field=col)
        try:
            d = check_datum(str(v))
        except InputError as exc:
            raise InputError(f"unknown datum {v!r}; accepted: wgs84, cgcs2000, gcj02, bd09 "
                             "(or 高德/腾讯/百度/GPS/天地图)", file=file, row=row, field=col) from exc
        found.setdefault(d, row)
        if len(found) > 1:
            a, b = list(found.items())[:2]
            raise InputError(
                f"the datum column mixes {a[0]} (row {a[1]}) and {b[0]} (row {b[1]}); "
                "split the file by datum, or convert the rows first",
                file=file, row=row, field=col,
            )
    return next(iter(found)), col


def _crs_datum(crs: Any) -> str | None:
    """What a GIS file's CRS states: a description, or None when it only says 'lon/lat'.

    EPSG:4326 does not count: Amap and Baidu exports carry that label while
    holding GCJ-02/BD-09.  CGCS2000 (EPSG:4490), any other geographic datum and
    any projected CRS (metres cannot be GCJ-02) do.
    """
    if crs is None:
        return None
    import pyproj

    crs = pyproj.CRS.from_user_input(crs)
    datum_name = (crs.datum.name if crs.datum is not None else "").lower()
    if crs.is_geographic and ("world geodetic system 1984" in datum_name or "wgs" in datum_name
                              or crs.to_epsg(min_confidence=70) == 4326):
        return None  # EPSG:4326, OGC:CRS84 (every GeoJSON): only says "longitude/latitude"
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code else crs.name


def _resolve_datum(
    datum: str | None, *, column: tuple[str | None, str | None], crs_note: str | None,
    lon: np.ndarray, lat: np.ndarray, file: str, option: str,
) -> tuple[str, str]:
    """(datum, how it was stated) for an input, or an InputError asking for it."""
    col_datum, col_name = column
    if datum is not None:
        datum = check_datum(datum)
        if col_datum is not None and col_datum != datum:
            raise InputError(
                f"the file's datum column says {col_datum}, but {datum} was given; which is right?",
                file=file, field=col_name,
            )
        return datum, "argument"
    if col_datum is not None:
        return col_datum, f"column {col_name}"
    if crs_note is not None:
        # Plain reprojection handles it; CGCS2000 is WGS-84 at map accuracy.
        return ("cgcs2000" if crs_note == "EPSG:4490" else "wgs84"), f"crs {crs_note}"
    inside = np.asarray(in_mainland(lon, lat), dtype=bool)
    if inside.any():
        raise InputError(
            f"坐标位于中国大陆，但未说明坐标系（{inside.sum()} 个点）：高德/腾讯为 gcj02，百度为 bd09，"
            f"GPS/天地图为 wgs84/cgcs2000，彼此相差约 500 米，geoplan 不作猜测。请用 {option} 说明"
            "（Python：datum=...），或在表中加一列“坐标系” / the coordinates lie in mainland China and "
            f"no datum is stated ({inside.sum()} points): Amap/Tencent use gcj02, Baidu bd09, GPS and "
            "Tianditu wgs84/cgcs2000, about 500 m apart, and geoplan does not guess; pass "
            f"{option} (Python: datum=...) or add a 坐标系 column",
            file=file, field="datum",
        )
    return "wgs84", "outside mainland China (no shift applies)"


def _row_ranges(rows: Iterable[int]) -> str:
    """Source rows as a short text of ranges ("2-5,7-100"): a scalar, cheap for pandas to copy."""
    parts: list[str] = []
    start = prev = None
    for r in rows:
        r = int(r)
        if start is None:
            start = prev = r
        elif r == prev + 1:
            prev = r
        else:
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = prev = r
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    return ",".join(parts)


def source_rows(frame: pd.DataFrame) -> np.ndarray | None:
    """The source row (spreadsheet row, or 1-based feature number) of each record, or None.

    Readers store them in ``frame.attrs["row_ranges"]`` as one short text
    (per-row lists in ``attrs`` are copied on every pandas operation).  None
    when the frame did not come from a reader or has since been subset.

    Parameters
    ----------
    frame
        A (Geo)DataFrame from :func:`read_points` or :func:`read_polygons`.

    Returns
    -------
    numpy.ndarray of int64 or None
    """
    text = frame.attrs.get("row_ranges")
    if not isinstance(text, str):
        return None
    out: list[np.ndarray] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        out.append(np.arange(int(a), int(b or a) + 1, dtype=np.int64))
    rows = np.concatenate(out) if out else np.empty(0, dtype=np.int64)
    return rows if len(rows) == len(frame) else None


_DATUM_ZH = {"wgs84": "WGS-84（GPS）", "cgcs2000": "CGCS2000（天地图、国家2000）", "gcj02": "GCJ-02（高德、腾讯）",
             "bd09": "BD-09（百度）"}
_DATUM_EN = {"wgs84": "WGS-84 (GPS)", "cgcs2000": "CGCS2000 (Tianditu)", "gcj02": "GCJ-02 (Amap, Tencent)",
             "bd09": "BD-09 (Baidu)"}


def datum_note(frame: pd.DataFrame, what_zh: str, what_en: str) -> tuple[str, str] | None:
    """A report line naming the datum an input was read in and how it was stated, or None.

    Parameters
    ----------
    frame
        A layer from :func:`read_points` or :func:`read_polygons`.
    what_zh, what_en
        What the input is ("设施", "facilities").

    Returns
    -------
    (zh, en) or None
        None when the frame did not come from a reader.
    """
    datum = frame.attrs.get("datum")
    if datum not in _DATUM_ZH:
        return None
    how = str(frame.attrs.get("datum_source", ""))
    name = Path(str(frame.attrs.get("source", ""))).name
    if how == "argument":
        zh_how, en_how = "由使用者指定", "as stated by the user"
    elif how.startswith("column "):
        zh_how, en_how = f"由文件中的“{how[7:]}”列说明", f"as stated by the file's {how[7:]} column"
    elif how.startswith("crs "):
        zh_how, en_how = f"由文件的坐标参考系 {how[4:]} 说明", f"as stated by the file's CRS {how[4:]}"
    else:
        zh_how, en_how = "坐标均在中国大陆以外，无需纠偏", "all coordinates lie outside mainland China: no shift applies"
    shifted = datum in ("gcj02", "bd09")
    return (f"{what_zh}（{name}）坐标系：{_DATUM_ZH[datum]}，{zh_how}" + ("，已转换为 WGS-84" if shifted else ""),
            f"{what_en} ({name}) datum: {_DATUM_EN[datum]}, {en_how}" + ("; converted to WGS-84" if shifted else ""))


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


def _read_vector(p: Path, file: str, *, layer: str | int | None, encoding: str | None):
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    else:
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(p)]
        except pyogrio.errors.DataSourceError as exc:
            raise InputError(f"cannot read the file: {exc}", file=file) from exc
        if len(names) > 1:
            # Taking the first layer of a multi-layer GeoPackage would be a guess.
            raise InputError(
                f"the file has several layers: {', '.join(names)}; say which with layer=...",
                file=file, field="layer",
            )
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        data = gpd.read_file(p, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=file) from exc
    except UnicodeDecodeError as exc:
        # Shapefiles from Chinese GIS software are often GBK without a .cpg file.
        raise InputError(
            "cannot decode the attribute text; pass encoding='gbk' (or the right one)",
            file=file, field="encoding",
        ) from exc
    if len(data) == 0:
        raise InputError("the file has no features", file=file)
    if encoding is None and p.suffix.lower() == ".shp":
        guessed = _shapefile_encoding(p, data)
        if guessed is not None:
            log.info("%s has no .cpg file; its attributes decode as %s", file, guessed)
            return _read_vector(p, file, layer=layer, encoding=guessed)
    return data


def _shapefile_encoding(p: Path, data: pd.DataFrame) -> str | None:
    """Encoding of a Shapefile's text when it has no ``.cpg`` file, or None.

    GDAL then reads the DBF as Latin-1, which turns Chinese into mojibake such
    as "Çø»®´úÂë".  Latin-1 round-trips every byte, so re-encoding recovers
    the original bytes; they are tried as UTF-8, then GBK/GB18030, exactly as
    for CSV files.
    """
    if any(q.exists() for q in (p.with_suffix(".cpg"), p.with_suffix(".CPG"))):
        return None
    texts = [str(c) for c in data.columns]
    for c in data.columns:
        if data[c].dtype == object or pd.api.types.is_string_dtype(data[c].dtype):
            texts += [v for v in data[c].head(200).tolist() if isinstance(v, str)]
    raw = [t for t in texts if any("\x80" <= ch <= "\xff" for ch in t)]
    if not raw:
        return None
    try:
        blob = "".join(raw).encode("latin-1")
    except UnicodeEncodeError:
        return None  # GDAL already decoded it as something else
    for enc in ("utf-8", "gb18030"):
        try:
            blob.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return None


def read_points(
    path: PathLike,
    *,
    datum: str | None = None,
    kind: Literal["facilities", "demand", "points"] = "facilities",
    lon: str | None = None,
    lat: str | None = None,
    id_col: str | None = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    datum_option: str | None = None,
) -> gpd.GeoDataFrame:
    """Read facilities or demand points into a clean EPSG:4326 GeoDataFrame.

    Parameters
    ----------
    path
        CSV, Excel ``.xlsx``, GeoJSON, GeoPackage or Shapefile.
    datum
        Datum of the coordinates: ``"wgs84"``, ``"cgcs2000"`` (no shift),
        ``"gcj02"`` (Amap/Tencent) or ``"bd09"`` (Baidu).  geoplan never
        guesses it.  When None (the default) the file must state it, or not
        need it: a ``坐标系``/``datum`` column (:data:`DATUM_ALIASES`) with one
        value for every row; a GIS file whose CRS is CGCS2000 (EPSG:4490),
        another datum or a projected CRS (EPSG:4326 does not count: Amap and
        Baidu exports carry it while holding GCJ-02/BD-09); or points that all
        lie outside mainland China (:func:`geoplan.crs.in_mainland`), where the
        datums coincide.  Otherwise an :class:`InputError` asks for it.  An
        explicit ``datum`` that contradicts the file's datum column is an
        error.  For GIS files the layer is first reprojected to EPSG:4326 and
        then shifted.
    datum_option
        How the caller lets the user state the datum, named in the error
        (default: ``--facilities-datum``, ``--demand-datum`` or
        ``--candidates-datum`` by ``kind``).
    kind
        ``"facilities"`` (ids must be unique), ``"demand"`` (a population
        column is required and may not be empty) or ``"points"``.
    lon, lat
        Coordinate column headers for tables (default: detected, see
        :data:`COLUMN_ALIASES`).  GIS files with a geometry use the geometry
        and ignore these.
    id_col
        Identifier column (default: detected).  Without one, ids are the
        source rows as text.
    sheet
        Excel sheet name or 0-based number (default: the first).
    layer
        Layer of a multi-layer GIS file such as a GeoPackage (default: the first).
    encoding
        Text encoding of a CSV (default: UTF-8, else GBK/GB18030), or of a
        Shapefile's attributes (default: its ``.cpg`` file, else detected
        the same way).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points; canonical columns ``id`` (text), and when present
        ``name``, ``type``, ``capacity``, ``pop``, ``pop_60``, ``pop_0_17``
        (floats), ``admin_code`` (text), then the other columns as they were
        (longitude/latitude columns dropped), then ``geometry``.  The index is
        a RangeIndex.  ``attrs`` holds scalars only: ``"source"`` (the file),
        ``"datum"`` (the datum the coordinates were read in), ``"datum_source"``
        (how it was stated: ``"argument"``, ``"column 坐标系"``,
        ``"crs EPSG:4490"`` or ``"outside mainland China (no shift applies)"``)
        and ``"row_ranges"``, the source rows (spreadsheet rows; 1-based
        feature numbers for GIS files) as text; :func:`source_rows` gives them
        as an array, for error messages further on.

    Raises
    ------
    InputError
        Missing file, empty file, unknown encoding, missing/empty/non-numeric
        or out-of-range coordinates, swapped longitude/latitude, duplicate
        ids, negative or non-numeric population or capacity, non-point
        geometries.  The error names the file, row and column.
    CRSError
        A GIS file without a CRS.
    """
    if kind not in _KINDS:
        raise InputError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}", field="kind")
    if datum is not None:
        datum = check_datum(datum)
    p, file = _existing(path)
    with _Reading(file):
        return _read_points(p, file, datum=datum, kind=kind, lon=lon, lat=lat, id_col=id_col, sheet=sheet,
                            layer=layer, encoding=encoding,
                            datum_option=datum_option or _DATUM_OPTIONS[kind])


def _read_points(p: Path, file: str, *, datum: str | None, kind: str, lon: str | None, lat: str | None,
                 id_col: str | None, sheet: str | int | None, layer: str | int | None, encoding: str | None,
                 datum_option: str) -> gpd.GeoDataFrame:
    ext = p.suffix.lower()
    explicit = {"lon": lon, "lat": lat, "id": id_col}
    if ext in _TABLE_EXT or ext in _EXCEL_EXT or ext == ".xls":
        if ext == ".xls":
            raise InputError("old Excel .xls files are not supported; save it as .xlsx", file=file)
        raw = _csv_rows(p, encoding, file) if ext in _TABLE_EXT else _excel_rows(p, sheet, file)
        wanted = [w for w in (lon, lat) if w] or [*COLUMN_ALIASES["lon"], *COLUMN_ALIASES["lat"],
                                                  *LONLAT_ALIASES]
        frame = _rows_to_frame(raw, wanted, file)
        frame, lon_vals, lat_vals, cols = _table_points(frame, explicit, file)
        geometry_given = False
        source = "text" if ext in _TABLE_EXT else "excel"
    else:
        source = "typed"
        data = _read_vector(p, file, layer=layer, encoding=encoding)
        # GIS features are numbered from 1 in messages, as "feature N".
        data.index = pd.RangeIndex(1, len(data) + 1)
        if isinstance(data, gpd.GeoDataFrame):
            geom_name = data.geometry.name
            # The geometry is the location; lon/lat attribute columns are kept as they are.
            attr_aliases = {k: v for k, v in COLUMN_ALIASES.items() if k not in ("lon", "lat")}
            cols = _match_columns([c for c in data.columns if c != geom_name], attr_aliases,
                                  {"id": id_col}, file=file)
            frame, lon_vals, lat_vals = _vector_points(data, file)
            geometry_given = True
        else:  # an attribute table (GPKG/DBF) with coordinate columns
            frame = pd.DataFrame(data)
            frame, lon_vals, lat_vals, cols = _table_points(frame, explicit, file)
            geometry_given = False
    rows = list(frame.index)
    lon_field, lat_field = ("geometry", "geometry") if geometry_given else (cols["lon"], cols["lat"])
    _check_lonlat(lon_vals, lat_vals, rows, file=file, lon_field=lon_field, lat_field=lat_field)
    crs_note = _crs_datum(data.crs) if source == "typed" and isinstance(data, gpd.GeoDataFrame) else None
    datum, stated = _resolve_datum(datum, column=_datum_column(frame, rows, file), crs_note=crs_note,
                                   lon=lon_vals, lat=lat_vals, file=file, option=datum_option)
    if datum in ("gcj02", "bd09"):
        outside = np.flatnonzero(~np.asarray(in_mainland(lon_vals, lat_vals), dtype=bool))
        if outside.size:
            # Not an error (no shift applies there), but a sign of a wrong datum.
            log.warning("%s: %d point(s) lie outside mainland China, where %s has no offset (first: row %s)",
                        file, outside.size, datum, rows[outside[0]])
    lon_vals, lat_vals = to_wgs84(lon_vals, lat_vals, datum)
    out = _canonical_columns(frame, cols, kind=kind, file=file, source=source)
    gdf = gpd.GeoDataFrame(
        out.reset_index(drop=True),
        geometry=gpd.points_from_xy(lon_vals, lat_vals),
        crs="EPSG:4326",
    )
    gdf.attrs["source"] = file
    gdf.attrs["datum"] = datum
    gdf.attrs["datum_source"] = stated
    gdf.attrs["row_ranges"] = _row_ranges(rows)
    return gdf


def _table_points(frame: pd.DataFrame, explicit: Mapping[str, str | None], file: str):
    cols = _match_columns(frame.columns, COLUMN_ALIASES, explicit, file=file)
    missing = [c for c in ("lon", "lat") if c not in cols]
    rows = frame.index
    if len(missing) == 2:
        keys = {_norm_header(a) for a in LONLAT_ALIASES}
        pair = [c for c in frame.columns if _norm_header(c) in keys]
        if len(pair) == 1:
            lon_vals, lat_vals = _split_lonlat(frame[pair[0]], field=pair[0], file=file, rows=rows)
            cols.update(lon=pair[0], lat=pair[0])
            return frame.drop(columns=pair), lon_vals, lat_vals, cols
    if missing:
        want = " and ".join("longitude (经度/lon/lng)" if c == "lon" else "latitude (纬度/lat)"
                            for c in missing)
        raise InputError(
            f"no {want} column found; columns are: {', '.join(map(str, frame.columns))}",
            file=file, field=missing[0],
        )
    lon_vals = _numeric_column(frame, cols["lon"], what="longitude", file=file, rows=rows,
                               required=True, nonneg=False, thousands=False)
    lat_vals = _numeric_column(frame, cols["lat"], what="latitude", file=file, rows=rows,
                               required=True, nonneg=False, thousands=False)
    frame = frame.drop(columns=[cols["lon"], cols["lat"]])
    return frame, lon_vals, lat_vals, cols


def _split_lonlat(values: pd.Series, *, field: str, file: str, rows: pd.Index):
    """Parse a "longitude,latitude" column (Amap order: longitude first)."""
    lon = np.empty(len(values))
    lat = np.empty(len(values))
    for i, v in enumerate(values.tolist()):
        parts = [] if _blank(v) else re.split(r"\s*[,;\s]\s*", unicodedata.normalize("NFKC", str(v)).strip())
        nums = [_parse_number(x, thousands=False) for x in parts] if len(parts) == 2 else []
        if len(nums) != 2 or any(x is None or not math.isfinite(x) for x in nums):
            raise InputError(
                f"expected 'longitude,latitude' such as 112.944,27.829; found {v!r}",
                file=file, row=rows[i], field=field,
            )
        lon[i], lat[i] = nums
    return lon, lat


def _vector_points(data: gpd.GeoDataFrame, file: str):
    if data.crs is None:
        raise CRSError(
            "the file has no coordinate reference system (e.g. a Shapefile without .prj); "
            "add one in your GIS, or export longitude/latitude to CSV",
            file=file, field="geometry",
        )
    data = data.to_crs(4326)
    geoms = np.asarray(data.geometry.values, dtype=object)
    _check_point_geometry(geoms, data.index, file=file)
    gtype = shapely.get_type_id(geoms)
    single_multi = (gtype == 4) & (shapely.get_num_geometries(geoms) == 1)
    pts = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    lon_vals = shapely.get_x(pts).astype(float)
    lat_vals = shapely.get_y(pts).astype(float)
    return pd.DataFrame(data.drop(columns=data.geometry.name)), lon_vals, lat_vals


def _canonical_columns(
    frame: pd.DataFrame, cols: dict[str, str], *, kind: str, file: str, source: str
) -> pd.DataFrame:
    rows = frame.index
    out: dict[str, Any] = {}
    if "id" in cols:
        ids = [_code_text(v) for v in frame[cols["id"]].tolist()]
        for v, row in zip(ids, rows):
            if v is None and kind == "facilities":
                raise InputError("empty id", file=file, row=row, field=cols["id"])
    else:
        # Source rows make ids a planner can find in the original sheet.
        ids = [str(r) for r in rows]
    # Demand too: a repeated id is a row pasted twice (its people would be counted twice) or two
    # places under one name -- either way the planner must decide which one is meant.
    if kind in ("facilities", "demand"):
        _check_duplicates(ids, list(rows), field=cols.get("id", "id"), file=file, what="id")
    out["id"] = pd.array(ids, dtype=object)
    for c in ("name", "type"):
        if c in cols:
            out[c] = [None if _blank(v) else str(v).strip() for v in frame[cols[c]].tolist()]
    if "capacity" in cols:
        out["capacity"] = _numeric_column(frame, cols["capacity"], what="capacity", file=file,
                                          rows=rows, required=False, nonneg=True)
    pops = [c for c in _POP_COLUMNS if c in cols]
    if kind == "demand" and not pops:
        raise InputError(
            "demand points need a population column (人口/pop, 60岁以上/pop_60 or 未成年人/pop_0_17); "
            f"columns are: {', '.join(map(str, frame.columns))}",
            file=file, field="pop",
        )
    for c in pops:
        out[c] = _numeric_column(frame, cols[c], what="population", file=file, rows=rows,
                                 required=kind == "demand", nonneg=True)
    _check_pop_parts(out, fields=cols, file=file, rows=rows)
    if "admin_code" in cols:
        raw = frame[cols["admin_code"]]
        numeric = pd.api.types.is_numeric_dtype(raw.dtype)
        out["admin_code"] = [_division_code(v, numeric=numeric, strict=True, file=file, row=row,
                                            field=cols["admin_code"])
                             for v, row in zip(raw.tolist(), rows)]
    result = pd.DataFrame(out, index=rows)
    used = {cols[c] for c in cols}
    for c in frame.columns:
        if c in used:
            continue
        name = c if c not in result.columns and c != "geometry" else f"{c}_src"
        col = frame[c]
        if source != "typed":
            col = _maybe_numeric(col, from_text=source == "text")
        result[name] = col
    return result[[c for c in _CANONICAL_ORDER if c in result.columns]
                  + [c for c in result.columns if c not in _CANONICAL_ORDER]]


def read_polygons(
    path: PathLike,
    *,
    datum: str | None = None,
    code_col: str | None = None,
    name_col: str | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    datum_option: str | None = None,
) -> gpd.GeoDataFrame:
    """Read administrative units (polygons) into EPSG:4326.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (anything GDAL reads).
    datum
        As in :func:`read_points` (None: stated by the file or not needed,
        else an error that asks for it).  Amap-derived boundaries (e.g. the
        ``cnmaps`` data) are ``"gcj02"``.
    datum_option
        Named in that error (default ``--units-datum``).
    code_col, name_col
        Column headers of the division code and name (default: detected:
        代码/区划代码/行政区划代码/adcode/code; 名称/name).
    layer
        Layer of a multi-layer file (default: the first).
    encoding
        Attribute encoding of a Shapefile without ``.cpg`` (often ``"gbk"``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (text), ``name`` (text, None when the file has no
        name column), the other columns, ``geometry`` (Polygon/MultiPolygon).
        ``attrs`` as in :func:`read_points` (rows are 1-based feature numbers).

    Raises
    ------
    InputError
        No code column, empty or duplicate codes, numeric codes whose length
        is not 6, 9 or 12 digits (leading zeros lost), codes in scientific
        notation, non-polygon geometry, a file that cannot be read, no datum
        stated for polygons in mainland China.
    CRSError
        The file has no CRS.
    """
    if datum is not None:
        datum = check_datum(datum)
    p, file = _existing(path)
    if p.suffix.lower() in _TABLE_EXT | _EXCEL_EXT | {".xls"}:
        raise InputError("admin units must be a polygon file (GeoJSON, GeoPackage, Shapefile), not a table",
                         file=file)
    with _Reading(file):
        return _read_polygons(p, file, datum=datum, code_col=code_col, name_col=name_col, layer=layer,
                              encoding=encoding, datum_option=datum_option or _DATUM_OPTIONS["polygons"])


def _read_polygons(p: Path, file: str, *, datum: str | None, code_col: str | None, name_col: str | None,
                   layer: str | int | None, encoding: str | None, datum_option: str) -> gpd.GeoDataFrame:
    data = _read_vector(p, file, layer=layer, encoding=encoding)
    data.index = pd.RangeIndex(1, len(data) + 1)  # "feature N", 1-based
    rows = list(data.index)
    if not isinstance(data, gpd.GeoDataFrame):
        raise InputError("the file has no geometry", file=file, field="geometry")
    if data.crs is None:
        raise CRSError("the file has no coordinate reference system (e.g. a Shapefile without .prj)",
                       file=file, field="geometry")
    geom_name = data.geometry.name
    cols = _match_columns([c for c in data.columns if c != geom_name], POLYGON_ALIASES,
                          {"code": code_col, "name": name_col}, file=file)
    if "code" not in cols:
        raise InputError(
            "no division code column (代码/区划代码/行政区划代码/adcode/code) found; columns are: "
            f"{', '.join(c for c in data.columns if c != geom_name)}; pass code_col=...",
            file=file, field="code",
        )
    for row, g in zip(data.index, data.geometry.values):
        if g is None or g.is_empty:
            raise InputError("missing geometry", file=file, row=row, field="geometry")
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(f"a polygon is needed here, found a {g.geom_type}", file=file, row=row,
                             field="geometry")
    raw = data[cols["code"]]
    numeric = pd.api.types.is_numeric_dtype(raw.dtype)
    codes = []
    for row, v in zip(rows, raw.tolist()):
        c = _division_code(v, numeric=numeric, strict=False, file=file, row=row, field=cols["code"])
        if c is None:
            raise InputError("empty division code", file=file, row=row, field=cols["code"])
        codes.append(c)
    _check_duplicates(codes, rows, field=cols["code"], file=file, what="division code")
    crs_note = _crs_datum(data.crs)
    data = data.to_crs(4326)
    if not np.isfinite(np.asarray(data.total_bounds, dtype=float)).all():
        raise InputError("the polygons have no valid coordinates", file=file, field="geometry")
    xy = shapely.get_coordinates(np.asarray(data.geometry.values, dtype=object))
    datum, stated = _resolve_datum(datum, column=_datum_column(pd.DataFrame(data.drop(columns=geom_name)), rows,
                                                               file),
                                   crs_note=crs_note, lon=xy[:, 0], lat=xy[:, 1], file=file, option=datum_option)
    data = geometry_to_wgs84(data, datum)
    out = pd.DataFrame(index=data.index)
    out["code"] = codes
    out["name"] = (
        [None if _blank(v) else str(v).strip() for v in data[cols["name"]].tolist()]
        if "name" in cols else None
    )
    for c in data.columns:
        if c in (geom_name, cols["code"], cols.get("name")):
            continue
        out[c if c not in out.columns else f"{c}_src"] = data[c]
    gdf = gpd.GeoDataFrame(out, geometry=data.geometry.values, crs="EPSG:4326").reset_index(drop=True)
    gdf.attrs["source"] = file
    gdf.attrs["datum"] = datum
    gdf.attrs["datum_source"] = stated
    gdf.attrs["row_ranges"] = _row_ranges(rows)
    return gdf


# --------------------------------------------------------------------------
# checks


def check_within(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    polygon_or_bounds: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | tuple[float, float, float, float],
    *,
    file: PathLike | None = None,
    what: str = "points",
    max_listed: int = 5,
) -> None:
    """Raise if any feature of ``gdf`` lies outside an area.

    Parameters
    ----------
    gdf
        Features to check (e.g. from :func:`read_points`).
    polygon_or_bounds
        A shapely (multi)polygon or a GeoDataFrame/GeoSeries of polygons
        (their union; reprojected to ``gdf``'s CRS when both have one), or
        bounds ``(minx, miny, maxx, maxy)`` in ``gdf``'s CRS.  Features on the
        boundary count as inside.
    file
        File named in the error (default: ``gdf.attrs["source"]``).
    what
        What the features are, for the message ("facilities", "民政设施"...).
    max_listed
        How many outside rows to name.

    Raises
    ------
    InputError
        Naming how many features lie outside and the first rows (source
        spreadsheet rows when ``gdf`` came from :func:`read_points`).
    """
    if isinstance(polygon_or_bounds, (gpd.GeoDataFrame, gpd.GeoSeries)):
        area_s = polygon_or_bounds.geometry if isinstance(polygon_or_bounds, gpd.GeoDataFrame) \
            else polygon_or_bounds
        if area_s.crs is not None and gdf.crs is not None and area_s.crs != gdf.crs:
            area_s = area_s.to_crs(gdf.crs)
        area = area_s.union_all()
    elif isinstance(polygon_or_bounds, BaseGeometry):
        area = polygon_or_bounds
    else:
        try:
            minx, miny, maxx, maxy = (float(v) for v in polygon_or_bounds)
        except (TypeError, ValueError) as exc:
            raise InputError("the area must be a polygon, a polygon layer or (minx, miny, maxx, maxy)",
                             field="area") from exc
        area = shapely.box(minx, miny, maxx, maxy)
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    inside = shapely.covered_by(np.asarray(geoms.values, dtype=object), area)
    outside = np.flatnonzero(~inside)
    if outside.size == 0:
        return
    src_rows = source_rows(gdf) if isinstance(gdf, pd.DataFrame) else None
    labels = [int(src_rows[i]) if src_rows is not None else geoms.index[i] for i in outside]
    file = file if file is not None else gdf.attrs.get("source")
    listed = ", ".join(map(str, labels[:max_listed])) + (" ..." if len(labels) > max_listed else "")
    raise InputError(
        f"{len(labels)} of {len(gdf)} {what} lie outside the area (rows {listed}); "
        "check the coordinates and their datum (GCJ-02/BD-09 shift points by hundreds of metres)",
        file=file, row=labels[0],
    )


# --------------------------------------------------------------------------
# writers


def write_layers(
    path: PathLike,
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    *,
    overwrite: bool = False,
) -> Path:
    """Write several layers into one GeoPackage, all or nothing.

    Parameters
    ----------
    path
        Output ``.gpkg`` file.
    layers
        Layer name -> GeoDataFrame (kept in its own CRS) or plain DataFrame
        (written as an attribute table).
    overwrite
        Replace an existing file; otherwise :class:`~geoplan.OutputExistsError`.

    Returns
    -------
    pathlib.Path
        The written file.  It appears only when every layer was written.

    Raises
    ------
    InputError
        Wrong extension, no layers, a bad layer name.
    CRSError
        A GeoDataFrame without a CRS.
    """
    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        raise InputError("a GeoPackage file name must end in .gpkg", file=str(path))
    if not layers:
        raise InputError("no layers to write", file=str(path))
    for name, df in layers.items():
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"layer names must be non-empty text; got {name!r}", file=str(path))
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"layer {name!r} is a {type(df).__name__}, not a (Geo)DataFrame",
                             file=str(path), field=name)
        if isinstance(df, gpd.GeoDataFrame) and df.crs is None:
            raise CRSError(f"layer {name!r} has no CRS", file=str(path), field=name)

    def writer(tmp: Path) -> None:
        for name, df in layers.items():
            if isinstance(df, gpd.GeoDataFrame):
                pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
            else:
                pyogrio.write_dataframe(pd.DataFrame(df), tmp, layer=name, driver="GPKG")

    return atomic_write_file(p, writer, overwrite=overwrite)


def write_geojson(path: PathLike, gdf: gpd.GeoDataFrame, *, overwrite: bool = False) -> Path:
    """Write a GeoJSON file in EPSG:4326, UTF-8, Chinese text unescaped.

    Parameters
    ----------
    path
        Output file (``.geojson`` or ``.json``).
    gdf
        Layer with a CRS; reprojected to EPSG:4326 (RFC 7946).
    overwrite
        Replace an existing file; otherwise :class:`~geoplan.OutputExistsError`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("the layer has no CRS, so it cannot be written as WGS-84 GeoJSON",
                       file=str(path), field="crs")
    out = gdf.to_crs(4326)
    # default=str: dates and other non-JSON values become readable text.
    text = out.to_json(ensure_ascii=False, default=str, drop_id=True)
    # RFC 7946 drops the "crs" member; keep files small and standard.
    doc = json.loads(text)
    doc.pop("crs", None)
    text = json.dumps(doc, ensure_ascii=False)

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write_file(Path(path), writer, overwrite=overwrite)
