"""SYNTHETIC coverage results for map-scale tests and ``benchmarks/map_scale.py``.

The demo's real result (368 buildings of central Helsinki, their coverage per type) copied onto a
square of tiles side by side (each copy shifted by the demo's extent and jittered a few metres), so
that ``n`` demand points spread over a county-sized area.  Facilities, service areas and units are
copied for the first tiles only (about 4 × 500 facilities and 100 units at most).  Coverage flags
and minutes are the demo's, copied: this is data for measuring and checking the map, not a coverage
answer.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def _shifted(gdf: gpd.GeoDataFrame, crs, dx: np.ndarray, dy: np.ndarray, reps: int) -> gpd.GeoDataFrame:
    """``gdf`` copied ``reps`` times, copy ``i`` moved by (dx[i], dy[i]) metres; returned in EPSG:4326."""
    proj = gdf.to_crs(crs)
    idx = np.tile(np.arange(len(proj)), reps)
    out = pd.DataFrame(proj.drop(columns=proj.geometry.name)).iloc[idx].reset_index(drop=True)
    geoms = proj.geometry.values[idx]
    off_x, off_y = np.repeat(dx[:reps], len(proj)), np.repeat(dy[:reps], len(proj))
    coords, parts = shapely.get_coordinates(geoms, return_index=True)
    coords = coords + np.column_stack([off_x[parts], off_y[parts]])
    moved = shapely.set_coordinates(geoms.copy(), coords)
    return gpd.GeoDataFrame(out, geometry=moved, crs=crs).to_crs(4326)


def synthetic_result(result, n: int, *, seed: int = 0, max_facility_tiles: int = 36, max_unit_tiles: int = 20):
    """A ``CoverageResult``-like object (SYNTHETIC) with ``n`` demand points tiled from ``result``.

    Parameters
    ----------
    result
        The demo's coverage result.
    n
        Demand points wanted.
    seed
        Seed of the jitter.
    max_facility_tiles, max_unit_tiles
        Tiles that get copies of the facilities/service areas and of the units.

    Returns
    -------
    types.SimpleNamespace
        ``catalogue``, ``demand``, ``facilities``, ``units``, ``service_areas_by_type`` and ``modes``.
    """
    dem = result.demand
    crs = dem.estimate_utm_crs()
    proj = dem.to_crs(crs)
    minx, miny, maxx, maxy = proj.total_bounds
    w, h = maxx - minx + 200.0, maxy - miny + 200.0
    reps = math.ceil(n / len(dem))
    side = math.ceil(math.sqrt(reps))
    tile = np.arange(reps)
    dx, dy = (tile % side) * w, (tile // side) * h
    rng = np.random.default_rng(seed)
    idx = np.tile(np.arange(len(dem)), reps)[:n]
    copy = np.repeat(tile, len(dem))[:n]
    x = shapely.get_x(proj.geometry.values)[idx] + dx[copy] + rng.uniform(-10, 10, n)
    y = shapely.get_y(proj.geometry.values)[idx] + dy[copy] + rng.uniform(-10, 10, n)
    table = pd.DataFrame(dem.drop(columns=dem.geometry.name)).iloc[idx].reset_index(drop=True)
    table["id"] = [f"SYNTHETIC-{i}" for i in range(n)]
    demand = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs=crs).to_crs(4326)
    fac_reps = min(reps, max_facility_tiles)
    facilities = _shifted(result.facilities, crs, dx, dy, fac_reps)
    sa = result.service_areas_by_type
    sa_tiles = _shifted(sa, crs, dx, dy, fac_reps).to_crs(crs)
    sa_by_type = sa_tiles.dissolve(by="type", as_index=False)[["type", "geometry"]]
    units = _shifted(result.units, crs, dx, dy, min(reps, max_unit_tiles))
    units["unit_code"] = [f"{c}-{i // len(result.units)}" for i, c in enumerate(units["unit_code"])]
    return SimpleNamespace(catalogue=result.catalogue, demand=demand, facilities=facilities, units=units,
                           service_areas_by_type=sa_by_type, modes=getattr(result, "modes", None))
