"""Reading division polygons from GIS files (the datum stated or asked for) and importing them into a store.

Internals of :mod:`geoplan.registers.boundaries` (the public names are re-exported there).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import InputError
from geoplan.io._datum import resolve_datum
from geoplan.io._shifts import check_datum, geometry_to_wgs84
from geoplan.io._vector import read_vector
from geoplan.io._files import _existing, _Reading  # read_units: the table check comes before reading
from geoplan.registers._divisions import (
    DIVISIONS_LAYER, _overlaps, _span, iso_date, load_divisions, new_divisions,
)



# Table files have no geometry: a planner who passes one needs to hear that, not a pandas error.
_TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}


def _read_layer(p: Path, file: str, *, layer: str | int | None, encoding: str | None) -> gpd.GeoDataFrame:
    """A GIS layer as read by :mod:`geoplan.io`, with its encoding detected like a CSV's.

    GeoJSON is UTF-8 by definition, but files exported by Chinese tools are
    sometimes GBK; as for CSV files (:mod:`geoplan.io`), UTF-8 is tried first,
    then GB18030 (a superset of GBK).
    """
    try:
        return read_vector(file, layer=layer, encoding=encoding)
    except InputError as exc:
        if encoding is not None or exc.field != "encoding":
            raise
    try:
        return read_vector(file, layer=layer, encoding="gb18030")
    except InputError as exc:
        if exc.field != "encoding":
            raise
        raise InputError("cannot decode the attribute text (tried UTF-8 and GBK/GB18030); save the file as "
                         "UTF-8 or pass encoding=...", file=file, field="encoding") from exc


def read_units(path: str | Path, *, datum: str | None = None, layer: str | int | None = None,
               encoding: str | None = None, datum_option: str = "--datum") -> gpd.GeoDataFrame:
    """Read a polygon layer (GeoJSON/Shapefile/GeoPackage) into WGS-84 lon/lat, the datum stated or asked for.

    The same rule as :func:`geoplan.io.read_polygons`: datums are never guessed.

    Parameters
    ----------
    path
        The file.
    datum
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``: what the file's lon/lat really
        are (Amap exports are GCJ-02 while labelled EPSG:4326); GCJ-02/BD-09 are converted to
        WGS-84.  None: the file must state it -- a CGCS2000 or projected CRS, or a
        ``坐标系``/``datum`` column -- unless the polygons lie outside mainland China, where the
        datums coincide; otherwise an :class:`InputError` asks for it.
    layer
        Layer of a multi-layer file (a GeoPackage with several layers needs it).
    encoding
        Attribute text encoding (default: UTF-8, else GBK/GB18030).
    datum_option
        How the user states the datum, named in that error (default ``--datum``, the option of
        ``geoplan boundaries``; the message also names ``datum=``).

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns and polygons in EPSG:4326; ``attrs["datum"]`` and
        ``attrs["datum_source"]`` say which datum was read and how it was stated.

    Raises
    ------
    InputError
        Missing, empty or unreadable file (undecodable text included), a table without
        geometry, a missing or non-polygon geometry (row = feature number + 1, as elsewhere
        in this module), no datum stated for polygons in mainland China.
    """
    if datum is not None:
        datum = check_datum(datum)
    p, file = _existing(path)
    if p.suffix.lower() in _TABLE_SUFFIXES:
        raise InputError("no geometry: this is a table; give a polygon layer (GeoJSON, GeoPackage, Shapefile)",
                         file=file, field="geometry")
    with _Reading(file):  # any other reader failure becomes an InputError naming the file
        gdf = _read_layer(p, file, layer=layer, encoding=encoding)
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
            raise InputError("no geometry; give a polygon layer (GeoJSON, GeoPackage, Shapefile)",
                             file=file, field="geometry")
        bad = gdf.geometry.isna() | ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError("geometry is missing or not a polygon", file=file, row=i + 2, field="geometry")
        crs = gdf.crs  # a CGCS2000 or projected CRS states the datum; EPSG:4326 does not
        # No CRS at all: GeoJSON without one is lon/lat by definition.
        gdf = gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf.to_crs("EPSG:4326")
        xy = shapely.get_coordinates(np.asarray(gdf.geometry.values, dtype=object))
        if not np.isfinite(xy).all():
            raise InputError("the polygons have no valid coordinates", file=file, field="geometry")
        rows = list(range(2, len(gdf) + 2))
        datum, stated = resolve_datum(datum, lon=xy[:, 0], lat=xy[:, 1], table=pd.DataFrame(gdf.drop(
            columns=gdf.geometry.name)), rows=rows, crs=crs, file=file, option=datum_option)
        gdf = geometry_to_wgs84(gdf, datum).set_crs("EPSG:4326", allow_override=True)
    gdf.attrs.update(source=file, datum=datum, datum_source=stated)
    return gdf


def import_divisions(path: str | Path, *, valid_from: str, datum: str | None = "wgs84", code_col: str = "code",
                     name_col: str = "name", layer: str | None = None, store: "geoplan.registers.Store | None" = None,
                     encoding: str | None = None, datum_option: str = "--datum") -> gpd.GeoDataFrame:
    """Read divisions from GeoJSON/Shapefile/GeoPackage (pyogrio) and optionally append them to a store.

    Parameters
    ----------
    path
        The file.
    valid_from
        ISO date the units are in force from.
    datum
        ``"wgs84"`` (default), ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``: what the file's lon/lat
        really are (Amap exports are GCJ-02 while labelled EPSG:4326).  Converted to WGS-84.
        None: stated by the file or asked for, as in :func:`read_units` (what
        ``geoplan boundaries import`` does without ``--datum``).
    code_col, name_col, layer
        Column names; layer inside a GeoPackage.
    store
        A :class:`geoplan.registers.Store`; every row is checked before anything is written, then
        all rows are appended in one transaction (a bad row leaves the store unchanged); see
        :func:`store_divisions`.
    encoding, datum_option
        As in :func:`read_units`.

    Returns
    -------
    geopandas.GeoDataFrame
        The divisions table (see :func:`new_divisions`), in WGS-84; ``attrs`` as
        :func:`read_units` sets them.

    Raises
    ------
    InputError
        As :func:`read_units`, bad or duplicate codes, a code already in force in the store.
    """
    valid_from = iso_date(valid_from, what="valid_from", file=str(path))
    gdf = read_units(path, datum=datum, layer=layer, encoding=encoding, datum_option=datum_option)
    div = new_divisions(gdf, valid_from=valid_from, code_col=code_col, name_col=name_col, file=str(path))
    div.attrs.update(gdf.attrs)
    if store is not None:
        store_divisions(store, div, file=str(path), code_col=code_col)
    return div


def store_divisions(store: "geoplan.registers.Store", div: gpd.GeoDataFrame, *, file: str | None = None,
                    code_col: str = "code") -> None:
    """Append new divisions (as :func:`new_divisions` makes them) to a store, in one write transaction.

    The register is read inside the same transaction (a concurrent import waits), and each
    code must not already be in force on or after its ``valid_from``: importing the same
    units again with an earlier ``valid_from`` would leave every code in force twice.

    Parameters
    ----------
    store
        The store; layer ``divisions`` is appended to (created if missing).
    div
        The new divisions.
    file
        Source file, for messages.
    code_col
        Column named in messages as the field of a bad code.

    Raises
    ------
    InputError
        A code's validity would overlap a stored row of the same code; the message names
        the file, row (header = 1), code and both date ranges.  Nothing is written.
    """
    with store.transaction() as tx:
        if store.has_layer(DIVISIONS_LAYER):
            old = load_divisions(store)
            for i, r in enumerate(div.itertuples(index=False)):
                hit = _overlaps(old, r.code, str(r.valid_from))
                if len(hit):
                    h = hit.iloc[0]
                    raise InputError(
                        f"code {r.code} ({r.name}) is already in force on or after {r.valid_from} in the store "
                        f"(stored validity {_span(h)}): a code cannot be in force twice (record a merge/split "
                        "instead of importing it again)",
                        file=file, row=i + 2, field=code_col)
        tx.write_layer(DIVISIONS_LAYER, div, mode="append")


def read_layer(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """A layer geoplan wrote (markers, shared lines) or a road layer, read as it is: no datum question.

    ``code`` is read as text (a 12-digit code must not become a number).

    Parameters
    ----------
    path
        Any file GeoPandas reads.
    layer
        Layer inside a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer as stored (CRS unchanged).

    Raises
    ------
    InputError
        The file cannot be read (naming it).
    """
    try:
        g = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio errors vary by driver
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    if "code" in g.columns:
        g["code"] = g["code"].astype(str)
    return g
