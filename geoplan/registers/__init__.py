"""Registers kept in a project-area store: the GeoPackage store, place names (:mod:`geoplan.registers.names`) and boundaries (:mod:`geoplan.registers.boundaries`).

The names below are the public surface; modules with a leading underscore are internals."""

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
