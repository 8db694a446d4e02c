"""Writing to the store: the :class:`Transaction` a :meth:`Store.transaction` block receives.

Internals of :mod:`geoplan.registers._store` (``Transaction`` is re-exported there and by :mod:`geoplan.registers`).
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely

from geoplan._errors import CRSError, StoreError
from geoplan.registers._gpkg import (
    _STORED_SRS, _check_name, _geom_type_name, _quote, _sql_type, _to_sql_value, decode_gpkg_geometry,
    encode_gpkg_geometry,
)


class Transaction:
    """Writes inside :meth:`Store.transaction`; do not create directly.

    Parameters
    ----------
    store
        The open :class:`Store` whose connection the transaction uses.

    Notes
    -----
    Every method raises :class:`~geoplan.StoreError` once the transaction has ended, or
    for a layer, column or index name that is not a plain SQL identifier.
    """

    def __init__(self, store: "Store") -> None:  # noqa: F821 - the Store that opened it (no import: no cycle)
        self._store = store
        self._con = store.connection
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this transaction has ended; open a new one with store.transaction()")

    def set_meta(self, key: str, value: str) -> None:
        """Set a key in ``geoplan_meta`` (e.g. a module's own schema version).

        Parameters
        ----------
        key
            The key (replaced when present).
        value
            The value, stored as text.
        """
        self._check_open()
        self._con.execute("INSERT OR REPLACE INTO geoplan_meta VALUES (?, ?)", (key, str(value)))

    def max_value(self, layer: str, column: str) -> Any:
        """``MAX(column)`` of a layer (None when the layer is missing or empty), read inside the transaction.

        Parameters
        ----------
        layer
            Layer name.
        column
            Column name.

        Returns
        -------
        object
            The maximum as SQLite returns it, or None.
        """
        self._check_open()
        _check_name(layer)
        if not self._con.execute("SELECT 1 FROM gpkg_contents WHERE table_name=?", (layer,)).fetchone():
            return None
        return self._con.execute(f"SELECT MAX({_quote(column)}) FROM {_quote(layer)}").fetchone()[0]

    def create_index(self, layer: str, columns: list[str], *, unique: bool = False) -> None:
        """Create an index (``unique=True``: a constraint the database enforces) if it does not exist.

        Parameters
        ----------
        layer
            Layer name.
        columns
            Indexed columns, in order; the index is named ``<layer>_<columns>_uq`` (or ``_ix``).
        unique
            Make it a unique index.

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
        """Remove a layer and its GeoPackage registrations (no error if absent).

        Parameters
        ----------
        name
            Layer name.
        """
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
