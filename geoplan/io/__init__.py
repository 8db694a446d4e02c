"""Reading planners' files (CSV/Excel/GIS) and writing results; coordinate systems and Chinese datums.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.io._io import (
    COLUMN_ALIASES, DATUM_ALIASES, source_rows, datum_note, LONLAT_ALIASES, POLYGON_ALIASES, read_points,
    read_polygons, check_within, write_layers, write_geojson,
)
from geoplan.io._crs import (
    DATUMS, in_mainland, out_of_china, wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02,
    wgs84_to_bd09, bd09_to_wgs84, to_wgs84, from_wgs84, geometry_to_wgs84, geometry_from_wgs84, check_datum,
    is_geographic, utm_crs, projected_crs_for, ensure_projected,
)

__all__ = [
    "COLUMN_ALIASES", "DATUM_ALIASES", "source_rows", "datum_note", "LONLAT_ALIASES", "POLYGON_ALIASES",
    "read_points", "read_polygons", "check_within", "write_layers", "write_geojson", "DATUMS", "in_mainland",
    "out_of_china", "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09",
    "bd09_to_wgs84", "to_wgs84", "from_wgs84", "geometry_to_wgs84", "geometry_from_wgs84", "check_datum",
    "is_geographic", "utm_crs", "projected_crs_for", "ensure_projected",
]
