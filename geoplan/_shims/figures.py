"""Deprecated: ``geoplan.figures`` moved; use ``geoplan.outputs.figures`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.outputs.figures", "geoplan.outputs.figures")
