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
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator

import geopandas as gpd
import pandas as pd

from geoplan._errors import StoreError
from geoplan.registers._gpkg import (
    _APPLICATION_ID, _CORE_SQL, _SRS_ROWS, _USER_VERSION, _quote, decode_gpkg_geometry, encode_gpkg_geometry,
)
from geoplan.registers._transaction import Transaction

__all__ = ["Store", "Transaction", "SCHEMA_VERSION", "open_store", "encode_gpkg_geometry", "decode_gpkg_geometry"]

#: Version of the geoplan store schema written by this code.
SCHEMA_VERSION = 1

# Migrations: version -> function run inside a transaction to go from version-1 to version.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: lambda con: None,  # initial schema (core tables created above)
}

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
        """Names of the layers (GeoPackage features and attributes tables), sorted.

        Returns
        -------
        list of str
            Layer names from ``gpkg_contents``.
        """
        with self._guard():
            rows = self.connection.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features','attributes') ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def has_layer(self, name: str) -> bool:
        """Whether the layer ``name`` exists.

        Parameters
        ----------
        name
            Layer name.

        Returns
        -------
        bool
            True when ``name`` is one of :meth:`layers`.
        """
        return name in self.layers()

    def layer_info(self, name: str) -> dict[str, Any]:
        """Type and columns of a layer.

        Parameters
        ----------
        name
            Layer name.

        Returns
        -------
        dict
            ``data_type`` ("features" or "attributes"), ``geometry_column``,
            ``geometry_type``, ``srs_id`` (None for attributes) and ``columns``
            (name -> declared SQL type, without ``fid`` and the geometry).

        Raises
        ------
        StoreError
            No layer ``name`` in the store.
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
        """A value from the ``geoplan_meta`` table (``default`` when absent).

        Parameters
        ----------
        key
            The key.
        default
            Returned when the key (or the table, in a GeoPackage geoplan did not write) is absent.

        Returns
        -------
        str or None
            The stored value or ``default``.
        """
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
