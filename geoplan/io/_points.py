"""Facilities and demand points from tables or GIS files, into EPSG:4326 with canonical columns.

Coordinates come from a longitude and a latitude column, or from one "longitude,latitude" column
as Amap gives it (:data:`~geoplan.io.LONLAT_ALIASES`), or from a GIS layer's point geometry.
Errors carry the file, the spreadsheet row (header = 1, first data row = 2; for GIS files the
feature number counted from 1) and the column header as the user wrote it."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import CRSError, InputError
from geoplan.io._checks import _check_duplicates, _check_lonlat, _check_point_geometry, _check_pop_parts, _row_ranges
from geoplan.io._columns import COLUMN_ALIASES, LONLAT_ALIASES, _match_columns, _norm_header
from geoplan.io._datum import _DATUM_OPTIONS, _crs_datum, _datum_column, _resolve_datum
from geoplan.io._files import PathLike, _existing, _Reading
from geoplan.io._mainland import in_mainland
from geoplan.io._numbers import (_blank, _clean_texts, _code_texts, _division_code, _maybe_numeric, _numeric_column,
                                 _parse_number)
from geoplan.io._register import REGISTER_COLUMNS, register_columns
from geoplan.io._shifts import check_datum, to_wgs84
from geoplan.io._tables import _EXCEL_EXT, _TABLE_EXT, _csv_rows, _excel_rows, _rows_to_frame
from geoplan.io._vector import _read_vector

log = logging.getLogger("geoplan")


_CANONICAL_ORDER = ("id", "name", "type", "capacity", "pop", "pop_60", "pop_0_17", "admin_code", *REGISTER_COLUMNS)


_POP_COLUMNS = ("pop", "pop_60", "pop_0_17")


_KINDS = ("facilities", "demand", "points")


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
        lie outside mainland China (:func:`geoplan.io.in_mainland`), where the
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
        (floats), ``admin_code`` (text), for facilities the register columns
        (:mod:`geoplan.io._register`: ``status``, ``year_built``, ``stars``,
        ``nursing_beds``, ``staff``, ``village_code``, ``township_code``) when
        present, then the other columns as they were
        (longitude/latitude columns dropped), then ``geometry``.  The index is
        a RangeIndex.  ``attrs`` holds scalars only: ``"source"`` (the file),
        ``"datum"`` (the datum the coordinates were read in), ``"datum_source"``
        (how it was stated: ``"argument"``, ``"column 坐标系"``,
        ``"crs EPSG:4490"`` or ``"outside mainland China (no shift applies)"``)
        , for facilities ``"status_column"`` (the status header, "" without
        one) and ``"status_blank"`` (rows without a status, counted as built),
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
    gdf.attrs.update(out.attrs)  # the register's status_column/status_blank (facilities)
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
        ids = _code_texts(frame[cols["id"]])  # vectorised: a million ids in well under a second
        empty = np.flatnonzero(pd.isna(ids)) if kind == "facilities" else ()
        if len(empty):
            raise InputError("empty id", file=file, row=rows[empty[0]], field=cols["id"])
    else:
        # Source rows make ids a planner can find in the original sheet.
        ids = np.array([str(r) for r in rows], dtype=object)
    # Demand too: a repeated id is a row pasted twice (its people would be counted twice) or two
    # places under one name -- either way the planner must decide which one is meant.
    if kind in ("facilities", "demand"):
        named = pd.Series(ids, dtype=object)
        if (named.notna() & named.duplicated(keep=False)).any():  # the row-by-row check names the rows
            _check_duplicates(list(ids), list(rows), field=cols.get("id", "id"), file=file, what="id")
    out["id"] = pd.array(ids, dtype=object)
    for c in ("name", "type"):
        if c in cols:
            out[c] = list(_clean_texts(frame[cols[c]]))
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
    used = {cols[c] for c in cols}
    attrs = {}
    if kind == "facilities":
        reg, reg_cols, attrs = register_columns(frame, used, file=file, capacity=out.get("capacity"),
                                                capacity_field=cols.get("capacity"))
        out.update(reg)
        used |= set(reg_cols.values())
    result = pd.DataFrame(out, index=rows)
    for c in frame.columns:
        if c in used:
            continue
        name = c if c not in result.columns and c != "geometry" else f"{c}_src"
        col = frame[c]
        if source != "typed":
            col = _maybe_numeric(col, from_text=source == "text")
        result[name] = col
    result = result[[c for c in _CANONICAL_ORDER if c in result.columns]
                    + [c for c in result.columns if c not in _CANONICAL_ORDER]]
    result.attrs.update(attrs)
    return result
