"""Readers for presence-only runs: a facility register without coordinates, a village or unit list.

:func:`read_register` reads a civil-affairs register (设施台账) that names each facility's 所属村（社区）代码 /
所属乡镇（街道）代码 but has no 经度/纬度 (coordinates, when present, are kept as plain columns);
:func:`read_unit_list` reads village or township units given as polygons, seat points or a plain code
table (行政区划代码/代码, 名称, optional 经度/纬度).  Both keep the spreadsheet row numbers for messages.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan._errors import InputError
from geoplan.io._checks import _row_ranges, source_rows
from geoplan.io._columns import COLUMN_ALIASES, POLYGON_ALIASES, _match_columns
from geoplan.io._files import PathLike, _existing, _Reading
from geoplan.io._numbers import _blank, _division_code
from geoplan.io._points import _canonical_columns, read_points
from geoplan.io._polygons import read_polygons
from geoplan.io._register import REGISTER_ALIASES
from geoplan.io._tables import read_table
from geoplan.io._vector import _read_vector

__all__ = ["read_register", "read_unit_list"]

_TABLES = {".csv", ".txt", ".tsv", ".xlsx", ".xls"}


def read_register(path: PathLike, *, sheet: str | int | None = None, encoding: str | None = None,
                  id_col: str | None = None) -> pd.DataFrame:
    """Read a facility register that may lack coordinates (CSV or Excel).

    Parameters
    ----------
    path
        CSV/TXT/TSV or ``.xlsx`` with 类型 and, for presence, 所属村（社区）代码 / 所属乡镇（街道）代码;
        Chinese or English headers as for :func:`read_points` (:data:`COLUMN_ALIASES`, the register
        columns of :mod:`geoplan.io._register`).
    sheet, encoding, id_col
        As for :func:`read_points`.

    Returns
    -------
    pandas.DataFrame
        Canonical columns (``id``: the 编号 or else the spreadsheet row; ``name``, ``type``, ``status``,
        ``year_built``, ``village_code``...), index 0..n-1, ``attrs``: ``source``, ``row_ranges``
        (spreadsheet rows, header = 1), ``status_column``, ``status_blank``.

    Raises
    ------
    InputError
        No 类型 column, or a cell not understood, naming the file, the row as the spreadsheet shows it
        and the column.
    """
    _, file = _existing(path)
    with _Reading(file):
        wanted = [*COLUMN_ALIASES["type"], *REGISTER_ALIASES["village_code"], *REGISTER_ALIASES["township_code"]]
        frame = read_table(path, header=wanted, sheet=sheet, encoding=encoding)
        aliases = {k: v for k, v in COLUMN_ALIASES.items() if k not in ("lon", "lat")}
        cols = _match_columns(frame.columns, aliases, {"id": id_col}, file=file)
        if "type" not in cols:
            raise InputError("no facility type column (类型/type) found; columns are: "
                             + ", ".join(map(str, frame.columns)), file=file, field="类型")
        source = "text" if Path(file).suffix.lower() in (".csv", ".txt", ".tsv") else "excel"
        out = _canonical_columns(frame, cols, kind="facilities", file=file, source=source)
    rows = list(frame.index)
    attrs = dict(out.attrs)
    out = out.reset_index(drop=True)
    out.attrs.update(attrs, source=file, row_ranges=_row_ranges(rows))
    return out


def read_unit_list(path: PathLike, *, datum: str | None = None, sheet: str | int | None = None,
                   encoding: str | None = None, datum_option: str = "--villages-datum") -> pd.DataFrame:
    """Read village or township units: polygons, seat points or a plain code table.

    Parameters
    ----------
    path
        A GIS file of polygons (:func:`read_polygons`) or points (seats: :func:`read_points`), or a
        CSV/Excel table with 行政区划代码/代码 and 名称, and optionally 经度/纬度 (then seat points).
    datum
        Datum of coordinates (as for :func:`read_points`); not needed for a code table.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        ``code`` (digit text), ``name``, the other columns; geometry for polygons and seats;
        ``attrs`` ``source`` and ``row_ranges``.

    Raises
    ------
    InputError
        No code column, an empty or malformed code (file, spreadsheet row, column).
    """
    p, file = _existing(path)
    ext = p.suffix.lower()
    if ext not in _TABLES:
        with _Reading(file):
            data = _read_vector(p, file, layer=None, encoding=encoding)
        kinds = set(data.geometry.dropna().geom_type) if isinstance(data, gpd.GeoDataFrame) else set()
        if kinds and kinds <= {"Polygon", "MultiPolygon"}:
            return read_polygons(path, datum=datum, encoding=encoding, datum_option=datum_option)
        pts = read_points(path, datum=datum, kind="points", encoding=encoding, datum_option=datum_option)
        return _named(pts, file)
    frame = read_table(path, header=list(POLYGON_ALIASES["code"]), sheet=sheet, encoding=encoding)
    cols = _match_columns(frame.columns, {**POLYGON_ALIASES, "lon": COLUMN_ALIASES["lon"],
                                          "lat": COLUMN_ALIASES["lat"]}, {}, file=file)
    if "lon" in cols and "lat" in cols:
        pts = read_points(path, datum=datum, kind="points", sheet=sheet, encoding=encoding, datum_option=datum_option)
        return _named(pts, file)
    return _named(frame, file, cols=cols)


def _named(frame: pd.DataFrame, file: str, cols: dict | None = None) -> pd.DataFrame:
    """``code`` and ``name`` columns from their aliases; codes checked as division codes."""
    if cols is None:  # points from read_points: 行政区划代码 became admin_code, code became id
        cols = {}
        for c in ("admin_code", "adcode", "代码", "编码", "code", "id"):
            if c in frame.columns and (c != "id" or frame[c].map(lambda v: str(v).isdigit()
                                                                 and len(str(v)) in (6, 9, 12)).all()):
                cols["code"] = c
                break
        if "name" in frame.columns:
            cols["name"] = "name"
    if "code" not in cols:
        raise InputError("no division-code column (行政区划代码/代码/code) found; columns are: "
                         + ", ".join(map(str, frame.columns)), file=file, field="行政区划代码")
    rows = list(source_rows(frame)) if "row_ranges" in frame.attrs else list(frame.index)
    raw = frame[cols["code"]]
    numeric = pd.api.types.is_numeric_dtype(raw.dtype)
    codes = []
    for v, row in zip(raw.tolist(), rows):
        if _blank(v):
            raise InputError("empty division code", file=file, row=row, field=cols["code"])
        codes.append(_division_code(v, numeric=numeric, strict=True, file=file, row=row, field=cols["code"]))
    out = frame.drop(columns=[c for c in {cols["code"], cols.get("name")} if c and c in frame.columns])
    out.insert(0, "name", frame[cols["name"]].map(lambda v: None if _blank(v) else str(v).strip()).to_numpy()
               if "name" in cols else None)
    out.insert(0, "code", codes)
    out = out.reset_index(drop=True)
    if isinstance(frame, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.name, crs=frame.crs)
    out.attrs.update(frame.attrs, source=file, row_ranges=_row_ranges(rows))
    return out
