"""Deprecated: ``geoplan.store`` moved; use ``geoplan.registers`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.registers._store", "geoplan.registers")
