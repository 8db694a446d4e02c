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

Errors carry the file, the spreadsheet row (header = 1, first data row = 2; for
GIS files the feature's index) and the column header as the user wrote it.
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

from geoplan._errors import CRSError, InputError
from geoplan._output import atomic_write_file
from geoplan.crs import check_datum, geometry_to_wgs84, out_of_china, to_wgs84

__all__ = [
    "COLUMN_ALIASES",
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
    # UTF-8 first: valid UTF-8 is almost never accidentally valid GB18030 text
    # of a different meaning, while the reverse happens often.
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
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


def _parse_number(v: Any) -> float | None:
    """A float from a cell, or None if it is not a number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    s = unicodedata.normalize("NFKC", str(v)).strip().replace(",", "").replace(" ", "")
    try:
        return float(s)
    except ValueError:
        pass
    m = _DMS.match(s)
    if m:
        deg = float(m.group(1))
        val = abs(deg) + float(m.group(2) or 0) / 60 + float(m.group(3) or 0) / 3600
        neg = deg < 0 or m.group(4).upper() in ("S", "W", "西", "南")
        return -val if neg else val
    return None


def _numeric_column(
    frame: pd.DataFrame, col: str, *, what: str, file: str, rows: pd.Index,
    required: bool, nonneg: bool,
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
        x = _parse_number(cells[i])
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
            raise InputError(f"{what} is not a number: {v!r}", file=file, row=rows[i], field=col)
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


def _existing(path: PathLike) -> tuple[Path, str]:
    p = Path(path)
    file = str(path)
    if not p.exists():
        raise InputError("file not found", file=file)
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
    datum: str = "wgs84",
    kind: Literal["facilities", "demand", "points"] = "facilities",
    lon: str | None = None,
    lat: str | None = None,
    id_col: str | None = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read facilities or demand points into a clean EPSG:4326 GeoDataFrame.

    Parameters
    ----------
    path
        CSV, Excel ``.xlsx``, GeoJSON, GeoPackage or Shapefile.
    datum
        Datum of the coordinates: ``"wgs84"``, ``"cgcs2000"`` (no shift),
        ``"gcj02"`` (Amap/Tencent) or ``"bd09"`` (Baidu).  Say which: geoplan
        does not guess.  For GIS files the layer is first reprojected to
        EPSG:4326 and then shifted, because Amap/Baidu exports are labelled
        EPSG:4326 while holding GCJ-02/BD-09 coordinates.
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
        a RangeIndex; ``attrs["source"]`` is the file and ``attrs["rows"]``
        the source row of each record, for error messages further on.

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
    datum = check_datum(datum)
    p, file = _existing(path)
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
    if datum in ("gcj02", "bd09"):
        outside = np.flatnonzero(np.asarray(out_of_china(lon_vals, lat_vals)))
        if outside.size:
            # Not an error (the services do the same), but a sign of a wrong datum.
            log.warning("%s: %d point(s) lie outside China, where %s has no offset (first: row %s)",
                        file, outside.size, datum, rows[outside[0]])
    lon_vals, lat_vals = to_wgs84(lon_vals, lat_vals, datum)
    out = _canonical_columns(frame, cols, kind=kind, file=file, source=source)
    gdf = gpd.GeoDataFrame(
        out.reset_index(drop=True),
        geometry=gpd.points_from_xy(lon_vals, lat_vals),
        crs="EPSG:4326",
    )
    gdf.attrs["source"] = file
    gdf.attrs["rows"] = rows
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
                               required=True, nonneg=False)
    lat_vals = _numeric_column(frame, cols["lat"], what="latitude", file=file, rows=rows,
                               required=True, nonneg=False)
    frame = frame.drop(columns=[cols["lon"], cols["lat"]])
    return frame, lon_vals, lat_vals, cols


def _split_lonlat(values: pd.Series, *, field: str, file: str, rows: pd.Index):
    """Parse a "longitude,latitude" column (Amap order: longitude first)."""
    lon = np.empty(len(values))
    lat = np.empty(len(values))
    for i, v in enumerate(values.tolist()):
        parts = [] if _blank(v) else re.split(r"\s*[,;\s]\s*", unicodedata.normalize("NFKC", str(v)).strip())
        nums = [_parse_number(x) for x in parts] if len(parts) == 2 else []
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
    gtype = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    single_multi = (gtype == 4) & (shapely.get_num_geometries(geoms) == 1)
    bad = np.flatnonzero(missing | ((gtype != 0) & ~single_multi))
    if bad.size:
        i = bad[0]
        if missing[i]:
            raise InputError("missing geometry", file=file, row=data.index[i], field="geometry")
        raise InputError(f"a point is needed here, found a {geoms[i].geom_type}", file=file,
                         row=data.index[i], field="geometry")
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
    if kind == "facilities":
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
    if "pop" in out:
        for part in ("pop_60", "pop_0_17"):
            if part in out:
                bad = np.flatnonzero(out[part] > out["pop"])
                if bad.size:
                    i = bad[0]
                    raise InputError(
                        f"{part} ({out[part][i]:g}) exceeds the total population ({out['pop'][i]:g})",
                        file=file, row=rows[i], field=cols[part],
                    )
    if "admin_code" in cols:
        out["admin_code"] = [_code_text(v) for v in frame[cols["admin_code"]].tolist()]
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
    datum: str = "wgs84",
    code_col: str | None = None,
    name_col: str | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read administrative units (polygons) into EPSG:4326.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (anything GDAL reads).
    datum
        As in :func:`read_points`.  Amap-derived boundaries (e.g. the
        ``cnmaps`` data) are ``"gcj02"``.
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

    Raises
    ------
    InputError
        No code column, empty or duplicate codes, numeric codes whose length
        is not 6, 9 or 12 digits (leading zeros lost), non-polygon geometry.
    CRSError
        The file has no CRS.
    """
    datum = check_datum(datum)
    p, file = _existing(path)
    data = _read_vector(p, file, layer=layer, encoding=encoding)
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
    for row, v in zip(data.index, raw.tolist()):
        c = _code_text(v)
        if c is None:
            raise InputError("empty division code", file=file, row=row, field=cols["code"])
        if numeric and len(c.lstrip("-")) not in _CODE_LENGTHS:
            raise InputError(
                f"division code {c} has {len(c)} digits; codes have 6 (county), 9 (township) or "
                "12 (village) digits. The column is stored as numbers, so leading zeros may have "
                "been lost: store it as text",
                file=file, row=row, field=cols["code"],
            )
        codes.append(c)
    _check_duplicates(codes, list(data.index), field=cols["code"], file=file, what="division code")
    data = data.to_crs(4326)
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
    gdf = gpd.GeoDataFrame(out, geometry=data.geometry.values, crs="EPSG:4326")
    gdf.attrs["source"] = file
    gdf.attrs["rows"] = list(data.index)
    return gdf.reset_index(drop=True)


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
    src_rows = gdf.attrs.get("rows")
    labels = [src_rows[i] if src_rows is not None and len(src_rows) == len(gdf) else geoms.index[i]
              for i in outside]
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
