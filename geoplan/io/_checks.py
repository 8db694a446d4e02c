"""Checks shared by the readers (and by :func:`geoplan.coverage.assess` on frames built in Python),
and the source rows that their errors name."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan._errors import InputError
from geoplan.io._files import PathLike


def _check_duplicates(ids: list[str | None], rows: list[Any], *, field: str, file: str, what: str) -> None:
    given = np.fromiter((v is not None for v in ids), dtype=bool, count=len(ids))
    if not pd.Series(ids, dtype=object)[given].duplicated().any():
        return  # no repeated id (pandas' hash table: a million ids in a fraction of a second)
    # a repeat: the loop names the first one and both its rows
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
