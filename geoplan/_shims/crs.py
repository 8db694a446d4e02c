"""Deprecated: ``geoplan.crs`` moved; use ``geoplan.io`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.io._crs", "geoplan.io")
