"""The projected CRS geoplan computes in: metres, not degrees.

:func:`ensure_projected` returns a projected copy of a layer, choosing a UTM zone from the data's
centre when the layer is geographic and leaving already projected layers (e.g. CGCS2000
Gauss-Krüger, EPSG:4526-4554) as they are.

This module is also what the deprecated path ``geoplan.crs`` resolves to, so it re-exports the
datum functions (:mod:`geoplan.io._shifts`, :mod:`geoplan.io._mainland`) that path used to hold;
inside geoplan, import them from the module that defines them.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from geoplan._errors import CRSError, InputError
# Re-exported for the deprecated ``geoplan.crs`` path only (see the module docstring).
from geoplan.io._mainland import in_mainland, out_of_china  # noqa: F401
from geoplan.io._shifts import (  # noqa: F401
    DATUMS, bd09_to_gcj02, bd09_to_wgs84, check_datum, from_wgs84, gcj02_to_bd09, gcj02_to_wgs84, geometry_from_wgs84,
    geometry_to_wgs84, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02,
)

__all__ = [
    "DATUMS",
    "in_mainland",
    "out_of_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "geometry_to_wgs84",
    "geometry_from_wgs84",
    "check_datum",
    "is_geographic",
    "utm_crs",
    "projected_crs_for",
    "ensure_projected",
]


def is_geographic(crs: Any) -> bool:
    """Whether ``crs`` has degrees as units (longitude/latitude).

    Parameters
    ----------
    crs
        Anything :meth:`pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    bool
        True for a geographic (degree) CRS.

    Raises
    ------
    CRSError
        ``crs`` is None or not a valid CRS.
    """
    return _to_crs(crs).is_geographic


def _to_crs(crs) -> pyproj.CRS:
    if crs is None:
        raise CRSError("no coordinate reference system (CRS) given", field="crs")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"not a valid CRS: {crs!r} ({exc})", field="crs") from exc


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """The WGS-84 UTM zone containing a point (EPSG:326xx north, 327xx south).

    The Norway/Svalbard zone exceptions are ignored: irrelevant in China.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    InputError
        A coordinate is not finite or the latitude is beyond ±90°.
    """
    lon = float(lon)
    lat = float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        raise InputError(f"cannot choose a UTM zone for lon={lon}, lat={lat}")
    lon = (lon + 180.0) % 360.0 - 180.0
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def projected_crs_for(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Choose a UTM CRS for a layer from the centre of its bounds.

    A layer spanning several zones (a whole province) still gets the single
    zone of its centre: scale error stays below ~0.1% within ±6° of the
    central meridian, which is acceptable for service-distance questions.

    Parameters
    ----------
    gdf
        Layer with a CRS.

    Returns
    -------
    pyproj.CRS
        The WGS-84 UTM zone (:func:`utm_crs`) of the centre of the layer's bounds.

    Raises
    ------
    CRSError
        The layer has no CRS.
    InputError
        The layer is empty or has no coordinates.
    """
    crs = gdf.crs
    if crs is None:
        raise CRSError("the layer has no CRS; set it (e.g. EPSG:4326) before projecting", field="crs")
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    if len(gdf) == 0 or not np.all(np.isfinite(bounds)):
        raise InputError("cannot choose a projection for an empty layer")
    # Any geographic CRS is in degrees, close enough to pick a 6° zone.
    if not pyproj.CRS.from_user_input(crs).is_geographic:
        tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        bounds = np.asarray(tr.transform_bounds(*bounds), dtype=float)
    return utm_crs((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0)


def ensure_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any = None) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Return a copy of ``gdf`` in a projected (metre) CRS.

    Parameters
    ----------
    gdf
        GeoDataFrame or GeoSeries with a CRS.
    crs
        Target projected CRS (anything pyproj accepts).  By default a geographic layer goes to the UTM
        zone of its centre (:func:`projected_crs_for`) and a projected layer
        (e.g. CGCS2000 Gauss-Krüger EPSG:4526-4554, or UTM) is kept as it is.

    Returns
    -------
    GeoDataFrame or GeoSeries
        Always a copy.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS, or ``crs`` is not a projected CRS.
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS, so its coordinates cannot be interpreted; "
            "set it (e.g. gdf.set_crs(4326)) before computing distances",
            field="crs",
        )
    if crs is not None:
        target = _to_crs(crs)
        if not target.is_projected:
            raise CRSError(f"{target.to_string()} is not a projected CRS (needs metres)", field="crs")
        return gdf.to_crs(target)
    if gdf.crs.is_projected:
        return gdf.copy()
    return gdf.to_crs(projected_crs_for(gdf))
