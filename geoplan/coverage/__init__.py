"""Network coverage: nearest facility, cost matrices, service areas, indicators; service standards (:mod:`geoplan.coverage.standards`).

The names below are the public surface; modules with a leading underscore are internals:
``_engine`` (nearest, cost matrices), ``_service`` (service areas, 2SFCA), ``_coverage``
(:func:`assess`, :class:`CoverageResult`), ``_indicators``, ``_checks`` (input checks)."""

from __future__ import annotations

from geoplan.coverage import standards
from geoplan.coverage._census import CensusAllocation, allocate_census, census_demand, demand_from_network
from geoplan.coverage._coverage import CoverageResult, Note, assess
from geoplan.coverage._presence import assess_presence
from geoplan.coverage._compare import compare_summaries, inputs_at, read_run, recode_at, units_at
from geoplan.coverage._engine import access_cost, nearest, nearest_points, od_matrix, point_ends, reachable_nodes
from geoplan.coverage._service import service_areas, two_step_fca
from geoplan.coverage.standards import (
    Catalogue, FacilityType, default_catalogue, load_catalogue, unit_kind,
)
from geoplan.coverage._units import KIND_GROUPS, KIND_LABELS, parent_code, unit_level

__all__ = [
    "allocate_census", "census_demand", "demand_from_network", "CensusAllocation",
    "standards", "access_cost", "point_ends", "nearest", "nearest_points", "od_matrix", "reachable_nodes",
    "service_areas", "two_step_fca", "Note", "CoverageResult", "assess", "assess_presence", "Catalogue", "FacilityType",
    "default_catalogue", "load_catalogue", "unit_kind", "unit_level", "parent_code", "KIND_GROUPS", "KIND_LABELS",
    "compare_summaries", "inputs_at", "read_run", "recode_at", "units_at",
]
