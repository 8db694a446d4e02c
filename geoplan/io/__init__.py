"""Reading planners' files (CSV/Excel/GIS) and writing results; coordinate systems and Chinese datums.

Everything read comes out in EPSG:4326 (WGS-84 longitude/latitude) with canonical English column
names; computation elsewhere reprojects to metres (:func:`ensure_projected`).  Accepted inputs:
CSV/TXT (UTF-8, UTF-8 with BOM, GBK/GB18030 as Excel on Chinese Windows saves it, UTF-16 with a
byte-order mark), comma, tab, semicolon or bar separated; Excel ``.xlsx`` (``.xls`` is refused);
GeoJSON, GeoPackage, Shapefile and anything else GDAL reads (a multi-layer file needs ``layer=``).
Headers may be Chinese or English (:data:`COLUMN_ALIASES`).  Datums are never guessed
(:func:`read_points`, ``datum=``).  Errors carry the file, the spreadsheet row (header = 1) and the
column as the user wrote it.

The names below are the public surface; modules with a leading underscore are internals:
``_files`` (opening a user's file), ``_encoding`` (the one text-encoding sniffer), ``_tables``
(CSV/Excel with spreadsheet rows), ``_vector`` (GIS layers), ``_columns`` (headers), ``_numbers``
(cells: numbers, ids, division codes), ``_checks`` (checks shared with coverage; source rows),
``_datum`` (which datum a file is in), ``_points`` / ``_polygons`` (the readers), ``_writers``,
``_mainland`` (where datum shifts apply), ``_shifts`` (GCJ-02/BD-09), ``_crs`` (projected CRS).

Other subpackages use the public names: :func:`read_table` (a table with its encoding detected and
spreadsheet rows kept), :func:`decode_text`, :func:`read_vector` and :func:`resolve_datum`."""

from __future__ import annotations

from geoplan.io._census import read_census
from geoplan.io._checks import check_within, source_rows
from geoplan.io._columns import COLUMN_ALIASES, DATUM_ALIASES, LONLAT_ALIASES, POLYGON_ALIASES
from geoplan.io._crs import ensure_projected, is_geographic, projected_crs_for, utm_crs
from geoplan.io._datum import datum_note, resolve_datum
from geoplan.io._encoding import decode_text
from geoplan.io._mainland import in_mainland, out_of_china
from geoplan.io._points import read_points
from geoplan.io._polygons import read_polygons
from geoplan.io._register_read import read_register, read_unit_list
from geoplan.io._shifts import (
    DATUMS, bd09_to_gcj02, bd09_to_wgs84, check_datum, from_wgs84, gcj02_to_bd09, gcj02_to_wgs84, geometry_from_wgs84,
    geometry_to_wgs84, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02,
)
from geoplan.io._tables import read_table
from geoplan.io._vector import read_vector
from geoplan.io._writers import write_geojson

__all__ = [
    "COLUMN_ALIASES", "DATUM_ALIASES", "source_rows", "datum_note", "LONLAT_ALIASES", "POLYGON_ALIASES",
    "read_points", "read_polygons", "read_census", "read_register", "read_unit_list", "check_within", "write_geojson", "DATUMS", "in_mainland",
    "out_of_china", "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09",
    "bd09_to_wgs84", "to_wgs84", "from_wgs84", "geometry_to_wgs84", "geometry_from_wgs84", "check_datum",
    "is_geographic", "utm_crs", "projected_crs_for", "ensure_projected",
    # for readers in other subpackages (registers, batch): one sniffer, one datum rule
    "read_table", "decode_text", "read_vector", "resolve_datum",
]
