import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from shapely.geometry import Point, box

from geoplan import InputError
from geoplan import coverage as gc
from geoplan import network as gn
from geoplan.coverage.standards import load_catalogue


@pytest.fixture
def cross_net(cross_graph):
    return gn.from_networkx(cross_graph, mode="walk", walk_speed_kmh=3.6)  # 1 m/s


def _pos(net, node_id):
    return list(net.node_ids).index(node_id)


def test_nearest_on_hand_drawn_graph(cross_net):
    net = cross_net
    cost, src = gc.nearest(net, [_pos(net, 3), _pos(net, 5)])
    # Node 1 is 50 s from source 5 and 200 s from source 3: nearest is 5 (position 1 in the list).
    assert cost[_pos(net, 1)] == pytest.approx(50.0)
    assert src[_pos(net, 1)] == 1
    assert cost[_pos(net, 0)] == pytest.approx(100.0)  # tie 100 (from 3) vs 150 (from 5)
    assert src[_pos(net, 0)] == 0
    cost_c, src_c = gc.nearest(net, [_pos(net, 3)], cutoff=150)
    assert math.isinf(cost_c[_pos(net, 1)]) and src_c[_pos(net, 1)] == -1


def test_od_matrix_keeps_zeros_and_repeats(cross_net):
    net = cross_net
    o = [_pos(net, 0), _pos(net, 5), _pos(net, 0)]
    d = [_pos(net, 0), _pos(net, 1), _pos(net, 4)]
    m = gc.od_matrix(net, o, d, cutoff=160)
    assert m.shape == (3, 3)
    dense = m.toarray()
    # origin 0 reaches 0 (0 m), 1 (100 m), 4 (100 m); origin 5 reaches 0 at 150 and 1 at 50, not 4 (250 > 160)
    assert m.nnz == 3 + 2 + 3
    assert dense[1].tolist() == [150.0, 50.0, 0.0]
    assert dense[0].tolist() == dense[2].tolist() == [0.0, 100.0, 100.0]


def test_directed_towards(cross_graph):
    G = cross_graph.copy()
    G.remove_edge(1, 5)  # one-way 5 -> 1 only
    net = gn.from_networkx(G, mode="drive", largest_component=False)
    five, one = _pos(net, 5), _pos(net, 1)
    to_fac, _ = gc.nearest(net, [one], towards=True)    # from each node to facility at 1
    from_fac, _ = gc.nearest(net, [one], towards=False)  # from facility at 1 outwards
    assert math.isfinite(to_fac[five]) and math.isinf(from_fac[five])


def test_nearest_equals_networkx_on_demo(demo):
    net = demo.network
    fac_nodes = gn.snap(net, demo.facilities)["node"].to_numpy()
    cost, _ = gc.nearest(net, fac_nodes)
    G = gn.to_networkx(net)
    ref = nx.multi_source_dijkstra_path_length(G.reverse(copy=False), set(fac_nodes.tolist()), weight="travel_time")
    expected = np.array([ref.get(i, np.inf) for i in range(net.n_nodes)])
    assert np.allclose(cost, expected, rtol=0, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 4999), min_size=1, max_size=6), st.floats(60, 900))
def test_nearest_is_min_of_od(demo, sources, cutoff):
    """Property: the multi-source search equals the column minimum of the cutoff OD matrix."""
    net = demo.network
    sources = [s % net.n_nodes for s in sources]
    targets = np.arange(0, net.n_nodes, 37)
    coo = gc.od_matrix(net, sources, targets, cutoff=cutoff, towards=True).tocoo()
    dense = np.full(coo.shape, np.inf)
    dense[coo.row, coo.col] = coo.data  # stored zeros are real zero costs
    cost, _ = gc.nearest(net, sources, cutoff=cutoff)
    assert np.allclose(dense.min(axis=0), cost[targets])


def _tiny_layout():
    """Two 200 m square units side by side, a facility in the west one, 3 demand points."""
    crs = "EPSG:32649"
    G = nx.MultiDiGraph(crs=crs)
    xs = [0, 100, 200, 300]
    for i, x in enumerate(xs):
        G.add_node(i, x=500000 + x, y=3000100)
    for a in range(3):
        G.add_edge(a, a + 1, length=100.0, highway="footway")
        G.add_edge(a + 1, a, length=100.0, highway="footway")
    net = gn.from_networkx(G, mode="walk", walk_speed_kmh=3.6)  # 100 m = 100 s
    units = gpd.GeoDataFrame({"code": ["430302001000", "430302100000"], "name": ["西街道", "东镇"]},
                             geometry=[box(500000 - 50, 3000000, 500150, 3000200), box(500150, 3000000, 500350, 3000200)], crs=crs)
    fac = gpd.GeoDataFrame({"id": ["F1"], "type": ["社工站"]}, geometry=[Point(500000, 3000100)], crs=crs)
    dem = gpd.GeoDataFrame({"pop": [100.0, 50.0, 30.0], "pop_60": [10.0, 20.0, 30.0], "pop_0_17": [5.0, 5.0, 5.0]},
                           geometry=[Point(500100, 3000100), Point(500200, 3000100), Point(500300, 3000100)], crs=crs, index=[7, 8, 9])
    return net, units, fac, dem


def test_indicator_arithmetic_tiny_layout():
    net, units, fac, dem = _tiny_layout()
    cat = load_catalogue(overrides={"types": {"social_work": {"cutoff_min": 2.5, "people_target": 0.8}}})
    r = gc.assess(net, fac, dem, units=units, catalogue=cat, types=["social_work"])
    # Travel: 100 s, 200 s, 300 s -> 1.67, 3.33, 5 min; cutoff 2.5 min covers only the first point.
    assert r.demand.index.tolist() == [7, 8, 9]
    assert r.demand["social_work_min"].round(3).tolist() == [1.667, 3.333, 5.0]
    assert r.demand["social_work_covered"].tolist() == [True, False, False]
    assert r.demand["unit_code"].tolist() == ["430302001000", "430302100000", "430302100000"]
    s = r.summary.set_index(["indicator", "unit_kind"])
    # One street (街道, code 001) with a station out of one; one town (镇, code 100) without: target 100 % each.
    assert s.loc[("share_units_with_facility", "street"), "value"] == 1.0
    assert bool(s.loc[("share_units_with_facility", "street"), "passed"])
    assert s.loc[("share_units_with_facility", "town"), "value"] == 0.0
    assert s.loc[("share_units_with_facility", "town"), "shortfall"] == 1
    # People: 100 of 180 covered = 55.6 %; target 80 % -> 144 needed, shortfall 44.
    assert s.loc[("share_pop_covered", "all"), "value"] == pytest.approx(100 / 180)
    assert s.loc[("share_pop_covered", "all"), "shortfall"] == 44
    assert not bool(s.loc[("share_pop_covered", "all"), "passed"])
    u = r.units.set_index("unit_code")
    assert u.loc["430302100000", "pop"] == 80 and u.loc["430302100000", "pop_covered"] == 0
    assert u.loc["430302001000", "share_pop_60_covered"] == 1.0
    assert r.gaps.iloc[0]["people_uncovered"] == 80


def test_assess_bad_input():
    net, units, fac, dem = _tiny_layout()
    bad = fac.copy()
    bad["type"] = ["playground"]
    with pytest.raises(InputError, match="unknown facility type 'playground'"):
        gc.assess(net, bad, dem)
    dup = pd.concat([fac, fac])
    with pytest.raises(InputError, match="duplicate facility id"):
        gc.assess(net, dup, dem)
    with pytest.raises(InputError, match="lack column"):
        gc.assess(net, fac, dem.drop(columns="pop"))
    neg = dem.copy()
    neg.loc[8, "pop"] = -1
    with pytest.raises(InputError) as e:
        gc.assess(net, fac, neg)
    assert e.value.row == 8 and e.value.field == "pop"


def test_demo_assess_runs(demo):
    r = gc.assess(demo.network, demo.facilities, demo.demand, units=demo.units)
    assert len(r.demand) == len(demo.demand)
    assert set(r.summary["type"]) == {"elder_care_centre", "elder_care_station", "minor_protection", "social_work"}
    assert len(r.service_areas) == int((~r.facilities["too_far"]).sum())
    # Every covered point lies within the cutoff.
    for t in r.catalogue.keys:
        cut = r.catalogue[t].cutoff_min
        assert (r.demand.loc[r.demand[f"{t}_covered"], f"{t}_min"] <= cut + 1e-9).all()


def test_points_far_from_network_are_an_error():
    net, units, fac, dem = _tiny_layout()
    far = dem.copy()
    far["geometry"] = far.geometry.translate(5000, 0)  # 5 km east of every road
    with pytest.raises(InputError, match="farther than the snap limit") as e:
        gc.assess(net, fac, far)
    assert e.value.field == "geometry"
    one = dem.copy()
    one.loc[9, "geometry"] = Point(510000, 3000100)  # one point far away: flagged, not covered, noted
    r = gc.assess(net, fac, one)
    assert bool(r.demand.loc[9, "too_far"]) and not r.demand.loc[9, "social_work_covered"]
    assert any("snap limit" in n for n in r.notes)


def test_two_step_fca_by_hand(cross_net):
    """Facility A (10 beds) at node 3, B (6 beds) at node 5; demand 20 at node 0, 10 at node 1; cutoff 120 s.

    A reaches node 0 (100 s) only: R_A = 10/20 = 0.5.  B reaches node 1 (50 s) only (node 0 is 150 s):
    R_B = 6/10 = 0.6.  A(node 0) = 0.5, A(node 1) = 0.6.
    """
    net = cross_net
    acc = gc.two_step_fca(net, np.array([_pos(net, 3), _pos(net, 5)]), np.array([10.0, 6.0]),
                          np.array([_pos(net, 0), _pos(net, 1)]), np.array([20.0, 10.0]), cutoff=120)
    assert acc.tolist() == pytest.approx([0.5, 0.6])


def test_capacity_per_unit():
    net, units, fac, dem = _tiny_layout()
    fac = fac.assign(capacity=[30])
    r = gc.assess(net, fac, dem, units=units, types=["social_work"])
    u = r.units.set_index("unit_code")
    assert u.loc["430302001000", "capacity"] == 30
    assert u.loc["430302001000", "capacity_per_1000_pop"] == pytest.approx(1000 * 30 / 100)
    assert "social_work_2sfca" in r.demand
