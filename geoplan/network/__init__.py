"""Road networks: build from OSM, GraphML, networkx or a road line layer; snap points; load a network file by suffix; clip.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.network._network import MODES, Network
from geoplan.network._speeds import DRIVE_ACCESS_KMH, WALK_SPEED_KMH
from geoplan.network._build import from_graphml, from_networkx, from_osm_file, from_place, from_polygon, to_networkx
from geoplan.network._snap import MAX_SNAP_M, SNAP_COLUMNS, snap, surface_edges
from geoplan.network._lines import (
    read_lines, network_from_lines, graph_from_lines, components_report, ComponentsReport, RepairReport,
    geodesic_lengths, graph_to_gdfs, save_graph,
)
from geoplan.network._loading import (
    load_network, load_networks, clip_network, parse_modes, split_modes, check_modes,
)

__all__ = [
    "Network", "MODES", "MAX_SNAP_M", "SNAP_COLUMNS", "WALK_SPEED_KMH", "DRIVE_ACCESS_KMH", "from_osm_file", "from_graphml", "from_networkx",
    "from_place", "from_polygon", "to_networkx", "snap", "surface_edges", "read_lines", "network_from_lines",
    "graph_from_lines", "components_report", "ComponentsReport", "RepairReport", "geodesic_lengths",
    "graph_to_gdfs", "save_graph", "load_network", "load_networks", "clip_network", "parse_modes",
    "split_modes", "check_modes",
]
