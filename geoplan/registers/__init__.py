"""Registers kept in a project-area store: the GeoPackage store, place names (:mod:`geoplan.registers.names`) and boundaries (:mod:`geoplan.registers.boundaries`).

The names below are the public surface; modules with a leading underscore are internals:
``_store`` (the Store), ``_transaction`` (writing in a transaction), ``_gpkg`` (GeoPackage tables, geometry blobs,
SQL values); for names ``_namefiles`` (reading/writing name tables), ``_gazetteer`` (names with history),
``_namerules`` (rule checks), ``_spelling`` / ``_pinyin`` (split, sign pinyin), ``_signs`` (road signs, door
numbers); for boundaries ``_divisions`` (codes, dates, merges and splits), ``_divisionfiles`` (reading polygons
and import), ``_topology`` (gaps, overlaps, shared lines, source comparison), ``_markers`` (markers, inspections)."""

from __future__ import annotations

from geoplan.registers import names
from geoplan.registers import boundaries
from geoplan.registers._store import (
    Store, Transaction, SCHEMA_VERSION, open_store, encode_gpkg_geometry, decode_gpkg_geometry,
)

__all__ = [
    "names", "boundaries", "Store", "Transaction", "SCHEMA_VERSION", "open_store", "encode_gpkg_geometry",
    "decode_gpkg_geometry",
]
