"""Deprecated: ``geoplan.maps`` moved; use ``geoplan.outputs.maps`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.outputs.maps", "geoplan.outputs.maps")
