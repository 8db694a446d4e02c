"""GeoPackage plumbing of the store: core tables, geometry blobs (GP header + WKB), SQL names and values.

Internals of :mod:`geoplan.registers._store`; ``encode_gpkg_geometry`` / ``decode_gpkg_geometry`` are
re-exported by :mod:`geoplan.registers`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import struct
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geoplan._errors import StoreError

_APPLICATION_ID = 0x47504B47  # "GPKG"
_USER_VERSION = 10300  # GeoPackage 1.3.0
_STORED_SRS = (4326, 4490)
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SRS_ROWS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    (
        "WGS 84 geodetic",
        4326,
        "EPSG",
        4326,
        'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
        'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
        'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
        'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ),
    (
        "China Geodetic Coordinate System 2000",
        4490,
        "EPSG",
        4490,
        'GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",'
        '6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,'
        'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
        'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4490"]]',
        "CGCS2000 geographic coordinates (国家大地坐标系 2000)",
    ),
]

_CORE_SQL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
        (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
        max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE IF NOT EXISTS geoplan_meta (key TEXT PRIMARY KEY, value TEXT)""",
]

_ENVELOPE_LEN = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


# --------------------------------------------------------------------------- geometry codec
def encode_gpkg_geometry(geom: Any, srs_id: int, *, z: bool = False) -> bytes | None:
    """Encode a shapely geometry as GeoPackage binary (``GP`` header + envelope + ISO WKB).

    Parameters
    ----------
    geom
        A shapely geometry, or ``None`` (returns ``None``: SQL NULL).
    srs_id
        The ``srs_id`` written into the header.
    z
        Write 3-D WKB (and an XYZ envelope) when the geometry has Z.

    Returns
    -------
    bytes or None
    """
    if geom is None or (isinstance(geom, float) and math.isnan(geom)):
        return None
    empty = geom.is_empty
    has_z = bool(z and shapely.has_z(geom))
    wkb = shapely.to_wkb(geom, output_dimension=3 if has_z else 2, byte_order=1, flavor="iso")
    if empty or geom.geom_type == "Point":
        env_code, envelope = 0, b""
    elif has_z:
        c = shapely.get_coordinates(geom, include_z=True)
        env_code = 2
        envelope = struct.pack(
            "<6d", c[:, 0].min(), c[:, 0].max(), c[:, 1].min(), c[:, 1].max(), np.nanmin(c[:, 2]), np.nanmax(c[:, 2])
        )
    else:
        minx, miny, maxx, maxy = geom.bounds
        env_code, envelope = 1, struct.pack("<4d", minx, maxx, miny, maxy)
    flags = 0x01 | (env_code << 1) | (0x10 if empty else 0)  # little endian header
    return b"GP" + bytes([0, flags]) + struct.pack("<i", srs_id) + envelope + wkb


def decode_gpkg_geometry(blob: bytes | None) -> Any:
    """Decode GeoPackage binary into a shapely geometry (``None`` for NULL).

    Parameters
    ----------
    blob
        A GeoPackage geometry blob (``GP`` header, optional envelope, WKB), or None.

    Returns
    -------
    shapely.Geometry or None
        The geometry.

    Raises
    ------
    StoreError
        The blob is not GeoPackage binary.
    """
    if blob is None:
        return None
    blob = bytes(blob)
    if len(blob) < 8 or blob[:2] != b"GP":
        raise StoreError("geometry blob is not GeoPackage binary (no 'GP' magic)")
    flags = blob[3]
    env_code = (flags >> 1) & 0x07
    if env_code not in _ENVELOPE_LEN:
        raise StoreError(f"geometry blob has an invalid envelope code {env_code}")
    start = 8 + _ENVELOPE_LEN[env_code]
    try:
        return shapely.from_wkb(blob[start:])
    except shapely.errors.GEOSException as exc:  # damaged bytes inside an intact page
        raise StoreError(f"geometry blob is not readable WKB: {exc}") from exc


# --------------------------------------------------------------------------- value helpers
def _check_name(name: str, what: str = "layer") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
        raise StoreError(
            f"invalid {what} name {name!r}: use ASCII letters, digits and '_' (not starting with a digit, gpkg_, rtree_)"
        )
    return name


def _quote(col: str) -> str:
    if '"' in col or "\x00" in col:
        raise StoreError(f"invalid column name {col!r}")
    return f'"{col}"'


def _sql_type(series: pd.Series) -> str:
    dt = series.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dt):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dt):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "DATETIME"
    vals = series.dropna()
    if len(vals) and all(isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) for v in vals):
        return "DATE"
    return "TEXT"


def _to_sql_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT or (not isinstance(v, (str, bytes)) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_, bool)):
        return int(bool(v))
    if isinstance(v, pd.Timestamp):
        if v.tzinfo is not None:
            v = v.tz_convert("UTC").tz_localize(None)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(v, _dt.datetime):
        return _to_sql_value(pd.Timestamp(v))
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, (str, bytes, int, float)):
        return v
    return str(v)


def _geom_type_name(geoms: Any) -> str:
    types = {g.geom_type.upper() for g in geoms if g is not None and not g.is_empty}
    if len(types) == 1:
        return types.pop()
    return "GEOMETRY"
