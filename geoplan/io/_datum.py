"""Which datum an input file is in: stated by the caller, a 坐标系 column or the file's CRS, never guessed.

Coordinates in mainland China need the datum stated, or the reader stops and asks; outside the
mainland there is nothing to ask.  Readers record the datum and how it was stated in
``attrs["datum"]`` and ``attrs["datum_source"]``; :func:`datum_note` turns them into a report line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from geoplan._errors import InputError
from geoplan.io._columns import DATUM_ALIASES, _norm_header
from geoplan.io._mainland import in_mainland
from geoplan.io._numbers import _blank
from geoplan.io._shifts import check_datum


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


def resolve_datum(
    datum: str | None,
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    table: pd.DataFrame | None = None,
    rows: list[Any] | None = None,
    crs: Any = None,
    file: str | None = None,
    option: str = "datum=",
) -> tuple[str, str]:
    """The datum of an input and how it was stated, or an :class:`InputError` asking for it.

    The rule of :func:`read_points` and :func:`read_polygons`, for readers elsewhere: the
    caller's ``datum`` (which must agree with a datum column), else a ``坐标系``/``datum`` column
    of ``table`` (:data:`DATUM_ALIASES`, one value for every row), else ``crs`` when it states a
    datum (CGCS2000, another datum, any projected CRS; EPSG:4326 does not: Amap and Baidu exports
    carry it), else ``"wgs84"`` when no point lies in mainland China; otherwise an error.

    Parameters
    ----------
    datum
        Stated by the caller, or None.
    lon, lat
        The coordinates as read (degrees, before any shift).
    table
        The input's attribute columns, searched for a datum column (None: none).
    rows
        Source row of each record of ``table``, named in errors (default: 2, 3, ...).
    crs
        The file's CRS before reprojection (None: the file has none).
    file
        The file, named in errors.
    option
        How the user states the datum (e.g. ``--units-datum``), named in the error.

    Returns
    -------
    (datum, how)
        ``datum`` one of :data:`DATUMS`; ``how`` as in ``attrs["datum_source"]``: ``"argument"``,
        ``"column 坐标系"``, ``"crs EPSG:4490"`` or ``"outside mainland China (no shift applies)"``.
    """
    file = "" if file is None else str(file)
    if table is None:
        column: tuple[str | None, str | None] = (None, None)
    else:
        column = _datum_column(table, list(range(2, len(table) + 2)) if rows is None else list(rows), file)
    return _resolve_datum(datum, column=column, crs_note=_crs_datum(crs), lon=np.asarray(lon, dtype=float),
                          lat=np.asarray(lat, dtype=float), file=file, option=option)


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
