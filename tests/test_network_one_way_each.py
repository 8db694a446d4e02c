"""geoplan.network does each job one way (issue 14): one speed table, one speed-limit parser, one CRS chooser.

Hand-drawn roads in CGCS2000 / 3-degree Gauss-Kruger (EPSG:4547) near Xiangtan; expected speeds are read off
the one table and checked by hand (a 100 m road at 30 km/h takes 12 s).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pyproj
import pytest
import shapely
from shapely.geometry import LineString

from geoplan import network as gn
from geoplan.io import projected_crs_for
from geoplan.network import _lines, _lines_read, _speeds

GK = "EPSG:4547"
X0, Y0 = 500_000.0, 3_000_000.0


def _layer(**cols) -> gpd.GeoDataFrame:
    road = shapely.affinity.translate(LineString([(0, 0), (100, 0)]), X0, Y0)
    return gpd.GeoDataFrame(cols, geometry=[road], crs=GK)


def _graph(**edge) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs=GK)
    G.add_node(0, x=X0, y=Y0)
    G.add_node(1, x=X0 + 100, y=Y0)
    G.add_edge(0, 1, length=100.0, **edge)
    G.add_edge(1, 0, length=100.0, **edge)
    return G


def test_one_speed_table_for_osm_and_line_layers():
    assert _lines.DEFAULT_SPEEDS_KMH is _speeds.DRIVE_SPEEDS_KMH
    # 次干路 is a secondary road in the line-layer mapping; an OSM-style graph says so directly
    G, _ = gn.graph_from_lines(_layer(道路等级=["次干路"]), mode="drive")
    from_layer = {d["speed_kph"] for *_, d in G.edges(data=True)}
    net = gn.from_networkx(_graph(highway="secondary"), mode="drive", lengths="given")
    assert from_layer == {_speeds.DRIVE_SPEEDS_KMH["secondary"]}
    assert net.time == pytest.approx(100.0 / (_speeds.DRIVE_SPEEDS_KMH["secondary"] / 3.6))


@pytest.mark.parametrize("limit", ["40;30", "30;40", "40 km/h;30"])
def test_one_speed_limit_parser_lowest_of_several(limit):
    # by hand: the lowest posted limit, 30 km/h, so 100 m takes 12 s on both builders
    net = gn.from_networkx(_graph(highway="secondary", maxspeed=limit), mode="drive", lengths="given")
    assert net.time == pytest.approx(12.0)
    G, _ = gn.graph_from_lines(_layer(道路等级=["次干路"], 限速=[limit]), mode="drive")
    assert {d["speed_kph"] for *_, d in G.edges(data=True)} == {30.0}
    assert _lines.parse_speed is _speeds.parse_speed


def test_metric_crs_replaces_with_the_io_chooser():
    # Web Mercator over Xiangtan distorts lengths by ~13 %: replaced by the zone io chooses
    box = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform_bounds(112.8, 27.7, 113.0, 27.9)
    crs, note = _lines_read.metric_crs("EPSG:3857", box)
    expected = projected_crs_for(gpd.GeoSeries([shapely.box(*box)], crs=3857))
    assert crs == expected and crs.to_epsg() == 32649 and "UTM" in note
    # a CGCS2000 Gauss-Kruger layer is kept as it is
    kept, note = _lines_read.metric_crs(GK, (X0, Y0, X0 + 1000, Y0 + 1000))
    assert kept == pyproj.CRS(GK) and note.startswith("kept")


def test_only_the_network_loader_picks_a_builder_by_file():
    """Outside geoplan.network nothing reaches the file builders: every network file goes through ``load_network(s)``.

    The demo builds its one shipped Helsinki extract with ``from_osm_file`` (a known file, no choice by suffix).
    """
    import ast
    from pathlib import Path

    import geoplan

    root = Path(geoplan.__file__).resolve().parent
    builders = {"from_osm_file", "from_graphml", "network_from_lines", "from_networkx"}
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("network/", "_shims/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = set()
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("geoplan.network"):
                names = {a.name for a in node.names}
            elif isinstance(node, ast.Attribute):
                names = {node.attr}
            if names & builders:
                found.setdefault(rel, set()).update(names & builders)
    assert found == {"demo/_datasets.py": {"from_osm_file"}}, found
