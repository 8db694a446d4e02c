"""Deprecated: ``geoplan.boundaries`` moved; use ``geoplan.registers.boundaries`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.registers.boundaries", "geoplan.registers.boundaries")
