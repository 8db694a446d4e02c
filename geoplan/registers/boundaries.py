"""Administrative boundaries: hierarchy with history, topology, shared lines, markers, inspections.

Units are rows of a GeoDataFrame with columns ``code`` (12-digit statistical code, text),
``name``, ``level``, ``parent``, ``valid_from``, ``valid_to`` (ISO dates, ``valid_to`` empty
while in force), ``predecessors``/``successors`` (comma-separated codes) and a geometry.
Merges and splits are single recorded operations (one row in the events table).
All lengths and areas are computed in a projected CRS (metres) and reported in m / m².
Persistence goes through :class:`geoplan.registers.Store` (layers ``divisions``,
``division_events``, ``markers``, ``marker_history``), one transaction per operation.
"""

from __future__ import annotations

from geoplan.registers._divisionfiles import import_divisions, read_layer, read_units, store_divisions
from geoplan.registers._divisions import (
    DIVISION_COLUMNS, DIVISIONS_LAYER, EVENTS_LAYER, LEVELS, PROVINCES, Change, check_code, code_level,
    divisions_at, iso_date, load_divisions, merge, new_divisions, normalize_code, parent_code, save_divisions, split,
)
from geoplan.registers._markers import (
    MARKER_TYPES, STATUSES, check_markers, inspection_route, lines_due, parse_marker_code, propose_markers,
    read_inspection, record_inspection, record_inspection_in_store,
)
from geoplan.registers._topology import (
    TopologyResult, check_topology, compare_sources, geodesic_length_m, outer_boundary, shared_lines,
)

__all__ = [
    "normalize_code", "code_level", "check_code", "DIVISION_COLUMNS", "new_divisions",
    "divisions_at", "merge", "split", "Change", "import_divisions",
    "check_topology", "TopologyResult", "shared_lines", "outer_boundary",
    "parse_marker_code", "check_markers", "propose_markers", "lines_due",
    "inspection_route", "record_inspection", "save_divisions", "load_divisions",
    "compare_sources", "geodesic_length_m", "record_inspection_in_store", "store_divisions",
    "read_units", "read_inspection", "read_layer",
]
