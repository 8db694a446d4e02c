"""Deprecated: ``geoplan.report`` moved; use ``geoplan.outputs`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.outputs._report", "geoplan.outputs")
