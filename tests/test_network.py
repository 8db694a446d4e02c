import math

import networkx as nx
import numpy as np
import pytest

from geoplan import CRSError, InputError, NetworkError
from geoplan import network as gn
from geoplan.network import _speeds
from geoplan.demo import helsinki_pbf


def test_cross_graph_lengths_and_times(cross_graph):
    net = gn.from_networkx(cross_graph, mode="walk", walk_speed_kmh=3.6)  # 1 m/s: seconds == metres
    assert net.n_nodes == 6 and net.n_edges == 10
    assert net.crs.to_epsg() == 32649
    assert np.allclose(net.time, net.length)
    from scipy.sparse.csgraph import dijkstra

    d = dijkstra(net.csr("length"), indices=[list(net.node_ids).index(3)])[0]
    # 3 -> 0 -> 1 -> 5 = 100 + 100 + 50 m, by hand
    assert d[list(net.node_ids).index(5)] == pytest.approx(250.0)


def test_drive_speeds_from_maxspeed_and_class(cross_graph):
    G = cross_graph.copy()
    G.edges[0, 1, 0]["maxspeed"] = "36"  # 10 m/s -> 100 m in 10 s
    net = gn.from_networkx(G, mode="drive")
    u, v = net.edge_arrays()
    ids = list(net.node_ids)
    k = np.flatnonzero((u == ids.index(0)) & (v == ids.index(1)))[0]
    assert net.time[k] == pytest.approx(10.0)
    k2 = np.flatnonzero((u == ids.index(1)) & (v == ids.index(0)))[0]
    # residential default 25 km/h: 100 m / (25/3.6 m/s) = 14.4 s
    assert net.time[k2] == pytest.approx(14.4)
    assert net.report["edges_speed_from_class"] == 9


@pytest.mark.parametrize("text,kmh", [("30", 30), ("50 mph", 80.4672), ("30;40", 30), ("CN:urban", math.nan), (None, math.nan)])
def test_parse_maxspeed(text, kmh):
    got = _speeds.parse_speed(text)
    assert (math.isnan(got) and math.isnan(kmh)) or got == pytest.approx(kmh)


def test_largest_component_reported(cross_graph):
    G = cross_graph.copy()
    G.add_node(9, x=501000, y=3001000)
    G.add_node(10, x=501010, y=3001000)
    G.add_edge(9, 10, length=10)
    net = gn.from_networkx(G, mode="drive")
    assert net.n_nodes == 6
    assert net.report["nodes_dropped_not_strongly_connected"] == 2
    kept = gn.from_networkx(G, mode="drive", largest_component=False)
    assert kept.n_nodes == 8


def test_errors(cross_graph):
    with pytest.raises(NetworkError):
        gn.from_networkx(nx.MultiDiGraph(crs="EPSG:32649"), mode="walk")
    G = cross_graph.copy()
    del G.graph["crs"]
    with pytest.raises(CRSError):
        gn.from_networkx(G)
    with pytest.raises(InputError, match="mode"):
        gn.from_networkx(cross_graph, mode="bike")
    with pytest.raises(InputError, match="not found"):
        gn.from_osm_file("no/such/file.osm.pbf")


def test_geographic_graph_is_projected(cross_graph):
    import pyproj

    tr = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    G = cross_graph.copy()
    for n, d in G.nodes(data=True):
        d["x"], d["y"] = tr.transform(d["x"], d["y"])
    G.graph["crs"] = "EPSG:4326"
    for _, _, d in G.edges(data=True):
        del d["length"]  # lengths recomputed in metres from projected coordinates
    net = gn.from_networkx(G, mode="walk")
    assert not net.crs.is_geographic
    assert sorted(np.round(net.length))[:2] == [50.0, 50.0]
    assert np.allclose(sorted(np.round(net.length))[2:], 100.0)


def test_helsinki_pbf_walk_and_drive():
    walk = gn.from_osm_file(helsinki_pbf(), mode="walk")
    drive = gn.from_osm_file(helsinki_pbf(), mode="drive")
    assert walk.crs.to_epsg() == 32635  # UTM 35N for Helsinki (24.9 E)
    assert walk.n_nodes > 4000 and drive.n_nodes > 1000
    # Walk graphs are two-way: every edge has its reverse.
    u, v = walk.edge_arrays()
    fwd = set(zip(u.tolist(), v.tolist()))
    assert all((b, a) in fwd for a, b in fwd)
    # Drive graphs respect one-way streets: some edges have no reverse.
    u, v = drive.edge_arrays()
    fwd = set(zip(u.tolist(), v.tolist()))
    assert any((b, a) not in fwd for a, b in fwd)
    assert walk.report["nodes_read"] >= walk.n_nodes


def test_graphml_roundtrip(tmp_path, cross_graph):
    import osmnx as ox

    path = tmp_path / "g.graphml"
    ox.save_graphml(cross_graph, path)
    net = gn.from_graphml(path, mode="walk", walk_speed_kmh=3.6)
    assert net.n_nodes == 6
    # GraphML lengths are ellipsoidal metres from the geometry: a 100 m UTM grid segment on the
    # central meridian (scale factor 0.9996) is 100 / 0.9996 = 100.04 m on the ground. Checked with Geod here.
    import pyproj

    tr = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    geod = pyproj.Geod(ellps="WGS84")
    u, v = net.edge_arrays()
    lon, lat = tr.transform(net.x, net.y)
    expect = geod.inv(lon[u], lat[u], lon[v], lat[v])[2]
    np.testing.assert_allclose(net.length, expect, rtol=1e-9)
    assert sorted(np.round(net.length, 2).tolist()) == sorted([50.02] * 2 + [100.04] * 8)
    given = gn.from_graphml(path, mode="walk", lengths="given")  # the file's own lengths, on request
    assert sorted(given.length.tolist()) == sorted([50.0] * 2 + [100.0] * 8)


def test_snap_flags_far_points(cross_graph):
    import geopandas as gpd
    from shapely.geometry import Point

    net = gn.from_networkx(cross_graph, mode="walk")
    # "a" is 10 m north of the middle of arm 0-1: it snaps onto that road, not to a node 50 m away.
    pts = gpd.GeoDataFrame(geometry=[Point(500050, 3000010), Point(505000, 3000000)], index=["a", "b"], crs=32649)
    s = gn.snap(net, pts, max_distance=300)
    assert list(s.index) == ["a", "b"]
    assert s.loc["a", "snap_m"] == pytest.approx(10.0)
    ends = {net.node_ids[s.loc["a", "u"]], net.node_ids[s.loc["a", "v"]]}
    assert ends == {0, 1} and s.loc["a", "frac"] == pytest.approx(0.5)
    assert (s.loc["a", "x"], s.loc["a", "y"]) == pytest.approx((500050, 3000000))
    assert bool(s.loc["b", "too_far"]) and not bool(s.loc["a", "too_far"])
    with pytest.raises(CRSError):
        gn.snap(net, gpd.GeoDataFrame(geometry=[Point(0, 0)]))


@pytest.mark.network
def test_from_place_online():
    net = gn.from_place("Piedmont, California, USA", mode="drive")
    assert net.n_nodes > 100
