"""Deprecated: ``geoplan.names`` moved; use ``geoplan.registers.names`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.registers.names", "geoplan.registers.names")
