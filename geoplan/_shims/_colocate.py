"""Deprecated: ``geoplan._colocate`` moved; use ``geoplan.suggest (suggest_colocated, colocate)`` (this shim goes in the next release)."""

from geoplan._shims import alias

alias(__name__, "geoplan.suggest._colocate", "geoplan.suggest (suggest_colocated, colocate)")
