"""Deprecated: ``geoplan.standards`` moved; use ``geoplan.coverage.standards`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.coverage.standards", "geoplan.coverage.standards")
