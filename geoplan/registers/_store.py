"""A project-area store: one GeoPackage file, written in all-or-nothing transactions.

The file is a real OGC GeoPackage (``gpkg_spatial_ref_sys``, ``gpkg_contents``,
``gpkg_geometry_columns``; geometries as GeoPackage binary = ``GP`` header +
envelope + ISO WKB), so QGIS, GDAL/OGR and ``pyogrio.read_dataframe`` open it
directly.  Geometries are stored in EPSG:4326 (WGS-84) or EPSG:4490 (CGCS2000);
other coordinate systems are converted to EPSG:4326 on write.  Tables without a
geometry are registered as GeoPackage ``attributes`` tables.

geoplan's own bookkeeping lives in the table ``geoplan_meta`` (key/value), which
holds the store's schema version; modules built on the store (names,
boundaries) may keep their own keys there through :meth:`Transaction.set_meta`.

Examples
--------
>>> store = Store("xiangtan.gpkg")                      # doctest: +SKIP
>>> with store.transaction() as tx:                     # doctest: +SKIP
...     tx.write_layer("townships", gdf, mode="replace")
>>> store.read_layer("townships", where="code LIKE '4303%'")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import re
import sqlite3
import struct
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import numpy as np
import pandas as pd
import shapely

from geoplan._errors import CRSError, InputError, StoreError

__all__ = ["Store", "Transaction", "SCHEMA_VERSION", "open_store", "encode_gpkg_geometry", "decode_gpkg_geometry"]

#: Version of the geoplan store schema written by this code.
SCHEMA_VERSION = 1

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

# Migrations: version -> function run inside a transaction to go from version-1 to version.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: lambda con: None,  # initial schema (core tables created above)
}

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


# --------------------------------------------------------------------------- store
class Store:
    """One GeoPackage file holding the layers of a project area.

    Parameters
    ----------
    path
        The ``.gpkg`` file.  Created (with the GeoPackage core tables) when it
        does not exist, unless ``create=False``.
    create
        Create a missing file.  With ``False`` a missing file raises
        :class:`~geoplan.StoreError`.
    timeout
        Seconds to wait for another writer's lock before failing (also the
        wait of :meth:`transaction` for a concurrent import to finish).
    readonly
        Open the file read-only (SQLite ``mode=ro``): nothing can be written,
        not even geoplan's bookkeeping table, so any GeoPackage can be looked
        at without being changed.  The file must exist.

    Attributes
    ----------
    created
        True when this object created the file.

    Notes
    -----
    Opening an existing, current file writes nothing to it.  A file written by a
    newer geoplan (higher schema version) is refused rather than guessed at.
    A damaged file (corrupted pages) raises :class:`~geoplan.StoreError`
    naming the file, whenever the damage is met.
    """

    def __init__(
        self, path: str | os.PathLike, *, create: bool = True, timeout: float = 30.0, readonly: bool = False
    ) -> None:
        self.path = Path(path)
        self.readonly = bool(readonly)
        self._con = None  # type: ignore[assignment]
        if not self.path.exists() and (not create or readonly):
            raise StoreError(f"store {self.path} does not exist")
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"store path {self.path} is a folder, not a GeoPackage file")
        self.created = not self.path.exists()
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            else:
                self._con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self._con.execute("PRAGMA foreign_keys = ON")
            head = self._con.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path} is not a GeoPackage/SQLite file: {exc}") from exc
        self._in_tx = False
        try:
            with self._guard():
                self._init_schema(head)
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite failures (damaged file, lock timeout...) into a StoreError naming the file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            msg = str(exc)
            hint = "; the file is damaged (restore it from a backup)" if "malformed" in msg or "not a database" in msg else ""
            raise StoreError(f"store {self.path}: {msg}{hint}") from exc

    # -- lifecycle
    def close(self) -> None:
        """Close the database connection."""
        if self._con is not None:
            self._con.close()
            self._con = None  # type: ignore[assignment]

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying :class:`sqlite3.Connection` (for read-only queries)."""
        if self._con is None:
            raise StoreError(f"store {self.path} is closed")
        return self._con

    def _init_schema(self, application_id: int) -> None:
        con = self.connection
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = 0
        if "geoplan_meta" in tables:
            row = con.execute("SELECT value FROM geoplan_meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, newer than this geoplan ({SCHEMA_VERSION}); upgrade geoplan"
            )
        if tables and "gpkg_contents" not in tables:
            raise StoreError(f"{self.path} is an SQLite file but not a GeoPackage (no gpkg_contents)")
        if self.readonly:
            if not tables:
                raise StoreError(f"{self.path} is empty, not a GeoPackage")
            return  # look, never touch: no bookkeeping table, no migration
        if version == SCHEMA_VERSION and "gpkg_contents" in tables:
            return
        with self.transaction() as tx:
            c = tx._con
            if application_id != _APPLICATION_ID:
                c.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                c.execute(f"PRAGMA user_version = {_USER_VERSION}")
            for sql in _CORE_SQL:
                c.execute(sql)
            c.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _SRS_ROWS)
            for v in range(version + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[v](c)
            c.execute("INSERT OR REPLACE INTO geoplan_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # -- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator["Transaction"]:
        """Open an all-or-nothing write transaction.

        Yields
        ------
        Transaction
            Write through it; everything is committed when the ``with`` block
            ends normally and rolled back (file content unchanged) when it
            raises.

        Raises
        ------
        StoreError
            A transaction is already open on this store, the store was opened
            read-only, or the database refused the write (still locked by
            another writer after ``timeout`` seconds, read-only file, full
            disk, damaged file...).

        Notes
        -----
        ``BEGIN IMMEDIATE`` takes the file's write lock at the start, so reads
        made through this store inside the block see the latest committed
        state and no other process can write until the block ends: read,
        decide and write inside one block and concurrent imports cannot lose
        each other's changes.  Another writer's lock is waited for (up to
        ``timeout`` seconds).
        """
        if self.readonly:
            raise StoreError(f"store {self.path} was opened read-only")
        if self._in_tx:
            raise StoreError("a transaction is already open on this store (transactions do not nest)")
        con = self.connection
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot start a write transaction on {self.path}: {exc}") from exc
        self._in_tx = True
        tx = Transaction(self)
        try:
            with self._guard():
                yield tx
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        else:
            try:
                con.execute("COMMIT")
            except sqlite3.Error as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise StoreError(f"commit failed on {self.path}: {exc}") from exc
        finally:
            self._in_tx = False
            tx._closed = True

    # -- reading
    def layers(self) -> list[str]:
        """Names of the layers (GeoPackage features and attributes tables), sorted."""
        with self._guard():
            rows = self.connection.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features','attributes') ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def has_layer(self, name: str) -> bool:
        """Whether the layer ``name`` exists."""
        return name in self.layers()

    def layer_info(self, name: str) -> dict[str, Any]:
        """Type and columns of a layer.

        Returns
        -------
        dict
            ``data_type`` ("features" or "attributes"), ``geometry_column``,
            ``geometry_type``, ``srs_id`` (None for attributes) and ``columns``
            (name -> declared SQL type, without ``fid`` and the geometry).
        """
        with self._guard():
            return self._layer_info(name)

    def _layer_info(self, name: str) -> dict[str, Any]:
        con = self.connection
        row = con.execute("SELECT data_type, srs_id FROM gpkg_contents WHERE table_name=?", (name,)).fetchone()
        if row is None:
            raise StoreError(f"no layer {name!r} in {self.path}; layers: {', '.join(self.layers()) or '(none)'}")
        g = con.execute(
            "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name=?", (name,)
        ).fetchone()
        cols = {
            r[1]: (r[2] or "TEXT").upper()
            for r in con.execute(f"PRAGMA table_info({_quote(name)})")
            if r[1] != "fid" and (g is None or r[1] != g[0])
        }
        return {
            "data_type": row[0],
            "geometry_column": g[0] if g else None,
            "geometry_type": g[1] if g else None,
            "srs_id": g[2] if g else None,
            "columns": cols,
        }

    def read_layer(
        self,
        name: str,
        *,
        where: str | None = None,
        params: tuple | dict | None = None,
        columns: list[str] | None = None,
        fid_as_index: bool = False,
    ) -> pd.DataFrame:
        """Read a layer.

        Parameters
        ----------
        name
            Layer name.
        where
            Optional SQL ``WHERE`` expression over the layer's columns, e.g.
            ``"code LIKE '4303%'"``; use ``?``/``:name`` placeholders with
            ``params`` for values that come from users.
        params
            Parameters for the placeholders in ``where``.
        columns
            Attribute columns to read (default all); the geometry is always read.
        fid_as_index
            Use the GeoPackage feature id as the index (default: a RangeIndex).

        Returns
        -------
        geopandas.GeoDataFrame or pandas.DataFrame
            A GeoDataFrame (with the stored CRS) for features layers, a
            DataFrame for attributes layers.
        """
        import geopandas as gpd

        info = self.layer_info(name)
        gcol = info["geometry_column"]
        cols = list(info["columns"]) if columns is None else list(columns)
        unknown = [c for c in cols if c not in info["columns"]]
        if unknown:
            raise StoreError(f"layer {name!r} has no column(s) {unknown}")
        select = ["fid"] + cols + ([gcol] if gcol else [])
        sql = f"SELECT {', '.join(_quote(c) for c in select)} FROM {_quote(name)}"
        if where:
            sql += f" WHERE {where}"
        sql += " ORDER BY fid"
        try:
            rows = self.connection.execute(sql, params or ()).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot read layer {name!r} (where={where!r}): {exc}") from exc
        df = pd.DataFrame.from_records(rows, columns=select)
        for c in cols:
            t = info["columns"][c]
            if t == "BOOLEAN":
                df[c] = df[c].map(lambda v: None if v is None else bool(v)).astype("object" if df[c].isna().any() else bool)
            elif t == "DATETIME":
                df[c] = pd.to_datetime(df[c], utc=True, errors="coerce", format="ISO8601")
            elif t == "INTEGER" and df[c].isna().any():
                df[c] = df[c].astype("Int64")
            elif t in ("REAL", "DOUBLE", "FLOAT"):
                df[c] = df[c].astype(float)
        df = df.set_index("fid") if fid_as_index else df.drop(columns="fid")
        if not fid_as_index:
            df.index = pd.RangeIndex(len(df))
        if gcol is None:
            return df
        try:
            geoms = [decode_gpkg_geometry(b) for b in df[gcol]]
        except StoreError as exc:
            raise StoreError(f"store {self.path}, layer {name!r}: {exc}") from exc
        df = df.drop(columns=gcol)
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index), crs=f"EPSG:{info['srs_id']}")

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value from the ``geoplan_meta`` table (``default`` when absent)."""
        with self._guard():
            if not self.connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='geoplan_meta'"
            ).fetchone():
                return default  # a GeoPackage geoplan did not write, opened read-only
            row = self.connection.execute("SELECT value FROM geoplan_meta WHERE key=?", (key,)).fetchone()
        return default if row is None else row[0]

    @property
    def schema_version(self) -> int:
        """The store's schema version (``geoplan_meta.schema_version``)."""
        return int(self.get_meta("schema_version", "0"))


class Transaction:
    """Writes inside :meth:`Store.transaction`; do not create directly."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._con = store.connection
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this transaction has ended; open a new one with store.transaction()")

    def set_meta(self, key: str, value: str) -> None:
        """Set a key in ``geoplan_meta`` (e.g. a module's own schema version)."""
        self._check_open()
        self._con.execute("INSERT OR REPLACE INTO geoplan_meta VALUES (?, ?)", (key, str(value)))

    def max_value(self, layer: str, column: str) -> Any:
        """``MAX(column)`` of a layer (None when the layer is missing or empty), read inside the transaction."""
        self._check_open()
        _check_name(layer)
        if not self._con.execute("SELECT 1 FROM gpkg_contents WHERE table_name=?", (layer,)).fetchone():
            return None
        return self._con.execute(f"SELECT MAX({_quote(column)}) FROM {_quote(layer)}").fetchone()[0]

    def create_index(self, layer: str, columns: list[str], *, unique: bool = False) -> None:
        """Create an index (``unique=True``: a constraint the database enforces) if it does not exist.

        Raises
        ------
        StoreError
            The layer already holds rows that break the uniqueness.
        """
        self._check_open()
        _check_name(layer)
        name = f"{layer}_{'_'.join(columns)}_{'uq' if unique else 'ix'}"
        _check_name(name, "index")
        cols = ", ".join(_quote(c) for c in columns)
        try:
            self._con.execute(
                f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {_quote(name)} ON {_quote(layer)} ({cols})"
            )
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"store {self._store.path}: layer {layer!r} already holds repeated {', '.join(columns)} values "
                f"(written by an older geoplan during concurrent imports): {exc}"
            ) from exc

    def drop_layer(self, name: str) -> None:
        """Remove a layer and its GeoPackage registrations (no error if absent)."""
        self._check_open()
        _check_name(name)
        self._con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name=?", (name,))
        self._con.execute("DELETE FROM gpkg_contents WHERE table_name=?", (name,))
        self._con.execute(f"DROP TABLE IF EXISTS {_quote(name)}")

    def write_layer(
        self,
        name: str,
        data: pd.DataFrame,
        *,
        mode: Literal["append", "replace"] = "append",
        description: str = "",
    ) -> int:
        """Write a (Geo)DataFrame as a layer.

        Parameters
        ----------
        name
            Layer (table) name: ASCII letters, digits, ``_``.
        data
            A GeoDataFrame (features layer; its active geometry column is
            stored, reprojected to EPSG:4326 unless it is EPSG:4326 or
            EPSG:4490) or a DataFrame (attributes layer).  The index is not
            stored; a column named ``fid`` is not allowed.
        mode
            ``"append"`` adds rows to an existing layer (creating it when
            missing; new columns are added, existing rows get NULL there);
            ``"replace"`` drops the layer and writes it anew.
        description
            Text stored in ``gpkg_contents.description``.

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StoreError
            Bad layer/column name, mode, or a database failure.
        CRSError
            A GeoDataFrame without a CRS.
        """
        import geopandas as gpd

        self._check_open()
        _check_name(name)
        if mode not in ("append", "replace"):
            raise StoreError(f"mode must be 'append' or 'replace', not {mode!r}")
        if not isinstance(data, pd.DataFrame):
            raise StoreError(f"write_layer needs a DataFrame or GeoDataFrame, not {type(data).__name__}")
        con = self._con
        is_geo = isinstance(data, gpd.GeoDataFrame) and data._geometry_column_name in data.columns
        gcol_in = data.geometry.name if is_geo else None
        srs_id = None
        if is_geo:
            if data.crs is None:
                raise CRSError(f"layer {name!r}: the GeoDataFrame has no CRS; set one (e.g. EPSG:4326) before storing")
            epsg = data.crs.to_epsg()
            if epsg in _STORED_SRS:
                srs_id = epsg
            else:
                data = data.to_crs(4326)
                srs_id = 4326
        attr_cols = [c for c in data.columns if c != gcol_in]
        for c in attr_cols:
            if not isinstance(c, str) or c.lower() == "fid":
                raise StoreError(f"layer {name!r}: column name {c!r} not allowed (must be text, not 'fid')")
            _quote(c)
        exists = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name=?", (name,)).fetchone()
        if exists is None:
            in_db = con.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone()
            if in_db:
                raise StoreError(f"{name!r} exists in {self._store.path} but is not a layer")
        if exists is not None and mode == "replace":
            self.drop_layer(name)
            exists = None
        try:
            if exists is None:
                gname = self._create(name, data, attr_cols, gcol_in, srs_id, description)
            else:
                info = self._store.layer_info(name)
                if bool(info["geometry_column"]) != is_geo:
                    kind = "features (with geometry)" if info["geometry_column"] else "attributes (no geometry)"
                    raise StoreError(f"cannot append to layer {name!r}: it is a {kind} layer")
                if is_geo and info["srs_id"] != srs_id:
                    data = data.to_crs(info["srs_id"])
                    srs_id = info["srs_id"]
                for c in attr_cols:
                    if c not in info["columns"]:
                        con.execute(f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(c)} {_sql_type(data[c])}")
                gname = info["geometry_column"]
                if is_geo:
                    new_type = _geom_type_name(data.geometry.values)
                    if info["geometry_type"] != "GEOMETRY" and new_type not in (info["geometry_type"], "GEOMETRY") and len(data):
                        con.execute(
                            "UPDATE gpkg_geometry_columns SET geometry_type_name='GEOMETRY' WHERE table_name=?", (name,)
                        )
                    elif new_type == "GEOMETRY" and len(data) and data.geometry.notna().any():
                        con.execute(
                            "UPDATE gpkg_geometry_columns SET geometry_type_name='GEOMETRY' WHERE table_name=?", (name,)
                        )
            n = self._insert(name, data, attr_cols, gcol_in, gname, srs_id)
            self._update_contents(name, gname)
        except sqlite3.Error as exc:
            raise StoreError(f"writing layer {name!r} failed: {exc}") from exc
        return n

    def _create(self, name, data, attr_cols, gcol_in, srs_id, description) -> str | None:
        con = self._con
        defs = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
        gname = None
        if gcol_in is not None:
            gname = "geom" if "geom" not in attr_cols else "geometry"
            gtype = _geom_type_name(data.geometry.values)
            defs.append(f"{_quote(gname)} {gtype}")
        defs += [f"{_quote(c)} {_sql_type(data[c])}" for c in attr_cols]
        con.execute(f"CREATE TABLE {_quote(name)} ({', '.join(defs)})")
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?,?,?,?,?)",
            (name, "features" if gname else "attributes", name, description, srs_id),
        )
        if gname:
            z = int(bool(len(data) and shapely.has_z(data.geometry.values[data.geometry.notna().values]).any()))
            con.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?,?,?,?,?,0)",
                (name, gname, gtype, srs_id, z),
            )
        return gname

    def _insert(self, name, data, attr_cols, gcol_in, gname, srs_id) -> int:
        cols = list(attr_cols)
        values = [data[c].tolist() if _sql_type(data[c]) != "DATETIME" else list(data[c]) for c in attr_cols]
        if gname is not None:
            z = bool(
                self._con.execute("SELECT z FROM gpkg_geometry_columns WHERE table_name=?", (name,)).fetchone()[0]
            )
            cols.append(gname)
            values.append([encode_gpkg_geometry(g, srs_id, z=z) for g in data.geometry.values])
        if not cols:
            self._con.executemany(f"INSERT INTO {_quote(name)} DEFAULT VALUES", [()] * len(data))
            return len(data)
        rows = [tuple(_to_sql_value(v) for v in row) for row in zip(*values)]
        ph = ", ".join("?" * len(cols))
        self._con.executemany(
            f"INSERT INTO {_quote(name)} ({', '.join(_quote(c) for c in cols)}) VALUES ({ph})", rows
        )
        return len(rows)

    def _update_contents(self, name: str, gname: str | None) -> None:
        con = self._con
        if gname is None:
            con.execute(
                "UPDATE gpkg_contents SET last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name=?", (name,)
            )
            return
        blobs = con.execute(f"SELECT {_quote(gname)} FROM {_quote(name)} WHERE {_quote(gname)} IS NOT NULL").fetchall()
        geoms = [decode_gpkg_geometry(b[0]) for b in blobs]
        geoms = [g for g in geoms if g is not None and not g.is_empty]
        bounds = shapely.total_bounds(geoms) if geoms else [None] * 4
        bounds = [None if b is None or (isinstance(b, float) and math.isnan(b)) else float(b) for b in bounds]
        con.execute(
            "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, "
            "last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name=?",
            (*bounds, name),
        )


@contextlib.contextmanager
def open_store(
    path: str | os.PathLike, *, readonly: bool = False, create: bool = True, timeout: float = 30.0
) -> Iterator[Store]:
    """Open a store for one command; a store file this call created is removed again if the block fails.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    readonly
        Open read-only (see :class:`Store`); the file must exist.
    create, timeout
        As for :class:`Store`.

    Yields
    ------
    Store
        Closed when the block ends.  When the block raises and the file did
        not exist before, the file (and its SQLite side files) is deleted, so a
        failed first import leaves nothing behind -- but only while it still
        holds no layer (checked under the write lock): a file that another
        process has meanwhile written to is kept.
    """
    store = Store(path, readonly=readonly, create=create, timeout=timeout)
    try:
        yield store
    except BaseException:
        created = store.created
        store.close()
        if created:
            _remove_if_empty(store.path)
        raise
    else:
        store.close()


def _remove_if_empty(path: Path) -> None:
    """Delete a store file that holds no layer (a failed first import); keep anything else."""
    try:
        con = sqlite3.connect(str(path), timeout=1.0, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        con.execute("BEGIN IMMEDIATE")  # nobody else may be writing while we look and delete
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        layers = con.execute("SELECT COUNT(*) FROM gpkg_contents").fetchone()[0] if "gpkg_contents" in tables else 0
        if layers == 0 and tables <= {"gpkg_spatial_ref_sys", "gpkg_contents", "gpkg_geometry_columns",
                                      "geoplan_meta", "sqlite_sequence"}:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(str(path) + suffix)
    except sqlite3.Error:
        pass
    finally:
        with contextlib.suppress(sqlite3.Error):
            con.close()
