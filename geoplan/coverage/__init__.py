"""Network coverage: nearest facility, cost matrices, service areas, indicators; service standards (:mod:`geoplan.coverage.standards`).

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.coverage import standards
from geoplan.coverage._coverage import (
    access_cost, point_ends, nearest, nearest_points, od_matrix, reachable_nodes, service_areas, two_step_fca,
    Note, CoverageResult, assess,
)
from geoplan.coverage.standards import (
    Catalogue, FacilityType, default_catalogue, load_catalogue, unit_kind,
)

__all__ = [
    "standards", "access_cost", "point_ends", "nearest", "nearest_points", "od_matrix", "reachable_nodes",
    "service_areas", "two_step_fca", "Note", "CoverageResult", "assess", "Catalogue", "FacilityType",
    "default_catalogue", "load_catalogue", "unit_kind",
]
