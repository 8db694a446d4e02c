"""Deprecated: ``geoplan.lines`` moved; use ``geoplan.network`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.network._lines", "geoplan.network")
