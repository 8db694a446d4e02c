"""Deprecated: ``geoplan.datasets`` moved; use ``geoplan.demo`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.demo._datasets", "geoplan.demo")
