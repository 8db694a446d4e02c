"""Hand-drawn road layers with known outcomes for geoplan.lines."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from geoplan import CRSError, InputError, NetworkError
from geoplan.network import _lines as L

# CGCS2000 / 3-degree Gauss-Kruger CM 114E: a projected CRS in metres that is kept as it is.
GK = "EPSG:4547"
X0, Y0 = 500_000.0, 3_000_000.0


def layer(geoms, crs=GK, **cols):
    geoms = [shapely.affinity.translate(g, X0, Y0) if g is not None else None for g in geoms]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=crs)


def segments(G):
    """Undirected segments of a graph: one per ``segment`` id."""
    return {d["segment"]: (u, v, d) for u, v, d in G.edges(data=True)}


def n_parts(G):
    return nx.number_weakly_connected_components(G)


# --------------------------------------------------------------------------- noding


def test_plus_sign_gives_four_edges_and_one_centre_node():
    G, rep = L.graph_from_lines(layer([LineString([(-100, 0), (100, 0)]), LineString([(0, -100), (0, 100)])]))
    assert G.number_of_nodes() == 5
    assert len(segments(G)) == 4
    assert G.number_of_edges() == 8  # walk: both directions
    centre = [n for n in G.nodes if G.degree(n) == 8]
    assert len(centre) == 1
    c = G.nodes[centre[0]]
    assert (c["x"], c["y"]) == (X0, Y0)
    assert all(math.isclose(d["length"], 100.0) for *_, d in G.edges(data=True))
    assert rep.naive_components == 2 and rep.n_components == 1
    assert rep.counts["split"] == 2
    assert pyproj_equal(G.graph["crs"], GK)  # Gauss-Kruger kept


def pyproj_equal(a, b):
    import pyproj

    return pyproj.CRS(a) == pyproj.CRS(b)


def test_t_gap_half_metre_snapped_at_1m_not_at_10cm():
    roads = layer([LineString([(-100, 0), (100, 0)]), LineString([(0, 0.5), (0, 100)])])
    G, rep = L.graph_from_lines(roads, snap_tolerance=1.0)
    assert n_parts(G) == 1
    assert len(segments(G)) == 3 and G.number_of_nodes() == 4
    snaps = rep.repairs[rep.repairs["type"] == "end_snapped_to_line"]
    assert len(snaps) == 1
    assert snaps["distance_m"].iloc[0] == pytest.approx(0.5)
    assert snaps.geometry.iloc[0].length == pytest.approx(0.5)
    # the stem now ends on the bar
    stem = [d for *_, d in G.edges(data=True) if d["source_row"] == 1][0]
    assert stem["length"] == pytest.approx(100.0)

    G, rep = L.graph_from_lines(roads, snap_tolerance=0.1)
    assert n_parts(G) == 2
    assert len(segments(G)) == 2
    assert rep.counts["end_snapped_to_line"] == 0
    assert len(rep.repairs) == 0


def test_near_miss_ends_merged_and_reported():
    roads = layer([LineString([(0, 0), (100, 0)]), LineString([(100.3, 0.0), (200, 0)])])
    G, rep = L.graph_from_lines(roads, snap_tolerance=1.0)
    assert n_parts(G) == 1 and G.number_of_nodes() == 3
    assert rep.counts["ends_merged"] == 1
    assert rep.repairs["distance_m"].iloc[0] == pytest.approx(0.3)
    G, rep = L.graph_from_lines(roads, snap_tolerance=0.2)
    assert n_parts(G) == 2


def test_road_drawn_as_short_pieces_is_not_folded_by_snapping():
    """CAD exports often explode a road into pieces shorter than the snap tolerance."""
    pieces = [LineString([(0.5 * i, 0), (0.5 * (i + 1), 0)]) for i in range(10)]
    pieces.append(LineString([(5.0, 0.4), (5.0, 20)]))  # a side road whose end stops 0.4 m short
    G, rep = L.graph_from_lines(layer(pieces), snap_tolerance=1.0)
    assert len(segments(G)) == 11  # nothing folded
    total = sum(d["length"] for _, (_, _, d) in segments(G).items())
    # one of the two facing ends moved 0.4 m onto the other (a tie: either is right)
    assert total == pytest.approx(25.0) or total == pytest.approx(4.5 + math.hypot(0.5, 0.4) + 19.6)
    assert rep.counts["zero_length_dropped"] == 0
    assert n_parts(G) == 1
    assert len(rep.repairs) == 1 and rep.repairs["distance_m"].iloc[0] == pytest.approx(0.4)


def test_duplicates_dropped_in_either_direction():
    a = LineString([(0, 0), (50, 10), (100, 0)])
    roads = layer([a, a, shapely.reverse(a), LineString([(100, 0), (200, 0)])])
    G, rep = L.graph_from_lines(roads)
    assert len(segments(G)) == 2
    assert rep.counts["duplicate_dropped"] == 2
    assert set(rep.repairs["type"]) == {"duplicate_dropped"}


def test_overlapping_lines_noded_and_shared_part_kept_once():
    roads = layer([LineString([(0, 0), (100, 0)]), LineString([(50, 0), (150, 0)])])
    G, rep = L.graph_from_lines(roads)
    lengths = sorted(round(d["length"], 6) for _, (_, _, d) in segments(G).items())
    assert lengths == [50.0, 50.0, 50.0]
    assert rep.counts["duplicate_dropped"] == 1


def test_zero_length_line_is_a_reported_repair():
    roads = layer([LineString([(0, 0), (100, 0)]), LineString([(5, 5), (5, 5)])])
    G, rep = L.graph_from_lines(roads)
    assert len(segments(G)) == 1
    assert rep.counts["zero_length_dropped"] == 1
    r = rep.repairs[rep.repairs["type"] == "zero_length_dropped"]
    assert r["source_row"].tolist() == ["1"]
    assert r.geometry.iloc[0].equals(Point(X0 + 5, Y0 + 5))


def test_bridge_not_split_when_levels_differ():
    roads = layer(
        [LineString([(-100, 0), (100, 0)]), LineString([(0, -100), (0, 100)])],
        layer=[0, 1],
    )
    G, rep = L.graph_from_lines(roads, level_col="layer")
    assert len(segments(G)) == 2 and G.number_of_nodes() == 4
    assert n_parts(G) == 2
    assert rep.counts["level_crossing_kept"] == 1
    kept = rep.repairs[rep.repairs["type"] == "level_crossing_kept"]
    assert kept.geometry.iloc[0].equals(Point(X0, Y0))
    # same levels (or no level column) -> split
    G, _ = L.graph_from_lines(roads)
    assert len(segments(G)) == 4


def test_bridge_flag_column_and_ramp_ends_still_connect():
    # a bridge (桥梁=是) over a ground road, reached by ramps that end on the ground road
    roads = layer(
        [
            LineString([(-100, 0), (100, 0)]),  # ground road
            LineString([(-50, 0), (-20, 30), (20, 30), (50, 0)]),  # bridge, ends touch the ground road
            LineString([(0, -100), (0, 100)]),  # ground road crossing under the bridge
        ],
        桥梁=["否", "是", None],
    )
    G, rep = L.graph_from_lines(roads, level_col="桥梁")
    assert n_parts(G) == 1
    # the bridge is split where its ends meet the ground road? no: its ends are ends; the ground road is split there
    # and the bridge crosses the N-S road at (0, 30) without a junction
    assert rep.counts["level_crossing_kept"] == 1
    ns = [d for *_, d in G.edges(data=True) if d["source_row"] == 2]
    assert sorted({round(d["length"], 6) for d in ns}) == [100.0]  # split only at (0,0), by the ground road
    bridge = [d for *_, d in G.edges(data=True) if d["source_row"] == 1]
    assert len({d["segment"] for d in bridge}) == 1


def test_self_crossing_line_is_split():
    loop = LineString([(0, 0), (10, 0), (10, 5), (5, 5), (5, -5)])
    G, rep = L.graph_from_lines(layer([loop]))
    assert len(segments(G)) == 3
    assert G.number_of_nodes() == 3
    assert sum(d["length"] for _, (_, _, d) in segments(G).items()) == pytest.approx(loop.length)


def test_multilinestring_exploded_and_row_labels_kept():
    roads = gpd.GeoDataFrame(
        {"名称": ["人民路", "建设路"]},
        geometry=[
            MultiLineString([[(X0, Y0), (X0 + 10, Y0)], [(X0 + 10, Y0), (X0 + 20, Y0)]]),
            LineString([(X0 + 5, Y0 - 5), (X0 + 5, Y0 + 5)]),
        ],
        index=["a", "b"],
        crs=GK,
    )
    G, rep = L.graph_from_lines(roads)
    assert {d["source_row"] for *_, d in G.edges(data=True)} == {"a", "b"}
    assert {d["name"] for *_, d in G.edges(data=True)} == {"人民路", "建设路"}
    assert len(segments(G)) == 5


# --------------------------------------------------------------------------- attributes


def test_chinese_fields_class_oneway_speed_name():
    roads = layer(
        [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)]), LineString([(200, 0), (300, 0)])],
        道路等级=["主干路", "支路", "某种路"],
        单行=["是", "否", "反向"],
        限速=["60km/h", None, 20],
        路名=["人民路", "建设路", None],
    )
    G, rep = L.graph_from_lines(roads, mode="drive")
    by_row = {}
    for u, v, d in G.edges(data=True):
        by_row.setdefault(d["source_row"], []).append((u, v, d))
    assert len(by_row[0]) == 1 and by_row[0][0][2]["oneway"] is True
    assert G.nodes[by_row[0][0][0]]["x"] < G.nodes[by_row[0][0][1]]["x"]  # along the line
    assert len(by_row[1]) == 2
    assert len(by_row[2]) == 1 and G.nodes[by_row[2][0][0]]["x"] > G.nodes[by_row[2][0][1]]["x"]  # against
    d0, d1, d2 = by_row[0][0][2], by_row[1][0][2], by_row[2][0][2]
    assert (d0["highway"], d1["highway"], d2["highway"]) == ("primary", "tertiary", "road")
    assert (d0["speed_kph"], d1["speed_kph"], d2["speed_kph"]) == (60.0, L.DEFAULT_SPEEDS_KMH["tertiary"], 20.0)
    assert d0["maxspeed"] == 60.0 and "maxspeed" not in d1
    assert (d0["name"], d1["name"], d2["name"]) == ("人民路", "建设路", "")
    assert rep.counts["class_unrecognised"] == 1
    assert rep.info["class_values_unrecognised"] == ["某种路"]
    assert rep.info["fields_used"] == {"highway": "道路等级", "name": "路名", "oneway": "单行", "maxspeed": "限速"}

    # walking ignores one-way
    G, _ = L.graph_from_lines(roads, mode="walk")
    assert G.number_of_edges() == 6 and not any(d["oneway"] for *_, d in G.edges(data=True))


def test_field_map_defaults_and_mode_filters():
    roads = layer(
        [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)]), LineString([(200, 0), (300, 0)])],
        kind=["residential", "footway", "motorway"],
        dir=["yes", "yes", "no"],
    )
    G, rep = L.graph_from_lines(roads, mode="drive", field_map={"highway": "kind", "oneway": "dir"},
                                defaults={"residential": 18})
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"residential", "motorway"}
    assert rep.counts["not_driveable_left_out"] == 1
    assert [d["speed_kph"] for *_, d in G.edges(data=True) if d["highway"] == "residential"] == [18.0]
    G, rep = L.graph_from_lines(roads, mode="walk", field_map={"highway": "kind"})
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"residential", "footway"}
    assert rep.counts["not_walkable_left_out"] == 1
    with pytest.raises(InputError):
        L.graph_from_lines(roads, field_map={"highway": "no_such_column"})
    with pytest.raises(InputError):
        L.graph_from_lines(roads, field_map={"colour": "kind"})


def test_geofabrik_oneway_codes():
    roads = layer([LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])],
                  fclass=["primary", "primary"], oneway=["F", "T"])
    G, _ = L.graph_from_lines(roads, mode="drive")
    e = {d["source_row"]: (G.nodes[u]["x"], G.nodes[v]["x"]) for u, v, d in G.edges(data=True)}
    assert e[0][0] < e[0][1] and e[1][0] > e[1][1]


@pytest.mark.parametrize(
    "value,expected",
    [("主干路", "primary"), ("城市主干路", "primary"), ("县道", "secondary"), ("primary", "primary"),
     ("高速公路", "motorway"), ("", None), (None, None), ("xyz", None)],
)
def test_road_class_values(value, expected):
    assert L.road_class(value) == expected


# --------------------------------------------------------------------------- CRS


def test_geographic_layer_computed_in_utm_metres():
    # 0.01 degree of latitude near Xiangtan is about 1,109 m
    roads = gpd.GeoDataFrame(geometry=[LineString([(112.9, 27.8), (112.9, 27.81)])], crs="EPSG:4326")
    G, rep = L.graph_from_lines(roads)
    assert pyproj_equal(G.graph["crs"], "EPSG:32649")
    (length,) = {d["length"] for *_, d in G.edges(data=True)}
    geod = __import__("pyproj").Geod(ellps="WGS84").line_length([112.9, 112.9], [27.8, 27.81])
    assert length == pytest.approx(geod, rel=1e-3)


def test_feet_and_web_mercator_layers_go_to_metres():
    import pyproj

    c, note = L.metric_crs("EPSG:3857", pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform_bounds(112.8, 27.7, 113, 27.9))
    assert c.to_epsg() == 32649 and "distorts" in note
    c, note = L.metric_crs("EPSG:2223", (700000, 900000, 710000, 910000))  # Arizona Central, international feet
    assert c.is_projected and c.axis_info[0].unit_name == "metre" and "foot" in note
    c, _ = L.metric_crs(GK, (X0, Y0, X0 + 1000, Y0 + 1000))
    assert c.to_epsg() == 4547


def test_gcj02_datum_is_shifted_to_wgs84():
    from geoplan.io import gcj02_to_wgs84

    lon, lat = 112.94, 27.83
    roads = gpd.GeoDataFrame(geometry=[LineString([(lon, lat), (lon + 0.001, lat)])], crs="EPSG:4326")
    G, rep = L.graph_from_lines(roads, datum="gcj02", node_tolerance=0.001)
    G0, _ = L.graph_from_lines(roads, node_tolerance=0.001)
    wl, wa = gcj02_to_wgs84(lon, lat)
    import pyproj

    x, y = pyproj.Transformer.from_crs(4326, G.graph["crs"], always_xy=True).transform(wl, wa)
    xs = sorted((d["x"], d["y"]) for _, d in G.nodes(data=True))
    assert xs[0] == pytest.approx((x, y), abs=0.01)
    # the GCJ-02 offset here is hundreds of metres: the shift really happened
    x0 = sorted((d["x"], d["y"]) for _, d in G0.nodes(data=True))[0]
    assert math.hypot(x0[0] - x, x0[1] - y) > 100
    with pytest.raises(InputError):
        L.graph_from_lines(roads, datum="mars")


# --------------------------------------------------------------------------- bad layers


def test_missing_crs_raises_crserror():
    roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 0)])])
    with pytest.raises(CRSError):
        L.graph_from_lines(roads)


def test_no_lines_raises():
    with pytest.raises(InputError, match="no lines"):
        L.graph_from_lines(layer([Point(0, 0), Point(1, 1)]))
    with pytest.raises(InputError, match="empty"):
        L.graph_from_lines(gpd.GeoDataFrame(geometry=[], crs=GK))


def test_mixed_geometry_error_or_reported():
    roads = layer([LineString([(0, 0), (100, 0)]), Point(5, 5), Polygon([(0, 0), (1, 0), (1, 1)])])
    with pytest.raises(InputError, match="mixes lines") as e:
        L.graph_from_lines(roads)
    assert e.value.row == 1
    G, rep = L.graph_from_lines(roads, drop_non_lines=True)
    assert rep.counts["non_line_dropped"] == 2
    assert sorted(rep.repairs.loc[rep.repairs["type"] == "non_line_dropped", "detail"]) == ["Point", "Polygon"]
    assert len(segments(G)) == 1


def test_only_zero_length_lines_is_a_network_error():
    with pytest.raises(NetworkError):
        L.graph_from_lines(layer([LineString([(0, 0), (0, 0)])]))


def test_empty_geometries_reported():
    G, rep = L.graph_from_lines(layer([LineString([(0, 0), (10, 0)]), None]))
    assert rep.counts["empty_dropped"] == 1


def test_bad_options():
    roads = layer([LineString([(0, 0), (10, 0)])])
    with pytest.raises(InputError):
        L.graph_from_lines(roads, mode="bike")
    with pytest.raises(InputError):
        L.graph_from_lines(roads, snap_tolerance=-1)
    with pytest.raises(InputError):
        L.graph_from_lines(roads, level_col="nope")
    with pytest.raises(CRSError):
        L.graph_from_lines(roads, crs="EPSG:4326")
    with pytest.raises(InputError):
        L.graph_from_lines(roads.geometry.to_numpy())


# --------------------------------------------------------------------------- components, conversion


def test_components_report_flags_points_on_small_parts():
    roads = layer([LineString([(0, 0), (1000, 0)]), LineString([(0, 500), (100, 500)])])
    G, rep = L.graph_from_lines(roads)
    assert rep.components["nodes"].tolist() == [2, 2]
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 500, Y0 + 3), Point(X0 + 50, Y0 + 490)], index=["敬老院", "学校"], crs=GK)
    cr = L.components_report(G, pts)
    assert cr.n_components == 2
    assert cr.points.loc["敬老院", "on_largest"] and not cr.points.loc["学校", "on_largest"]
    assert cr.points.loc["学校", "distance_m"] == pytest.approx(10.0)
    assert list(cr.off_largest.index) == ["学校"]
    assert len(L.components_report(G).points) == 0

    G, rep = L.graph_from_lines(roads, largest_component=True)
    assert n_parts(G) == 1 and rep.counts["small_component_dropped"] == 1
    assert rep.n_components == 2  # the report still tells how many there were


def test_network_from_lines_gives_compact_network():
    roads = layer([LineString([(-100, 0), (100, 0)]), LineString([(0, -100), (0, 100)])])
    net = L.network_from_lines(roads, mode="walk")
    assert net.n_nodes == 5 and net.n_edges == 8
    assert net.crs.to_epsg() == 4547
    assert np.allclose(net.length, 100.0)
    assert net.report["lines"]["split"] == 2


def test_cli_from_lines(tmp_path):
    from geoplan.cli import main

    roads = layer(
        [LineString([(-100, 0), (100, 0)]), LineString([(0, 0.5), (0, 100)])],
        道路等级=["主干路", "支路"],
    )
    src = tmp_path / "roads.gpkg"
    roads.to_file(src, engine="pyogrio")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["network", "from-lines", str(src), "-o", str(out), "--mode", "walk", "--lang", "en"])
    assert r.exit_code == 0, r.output
    # (geoplan._output may add a hidden marker file naming the command that wrote the folder)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "network.graphml", "network.gpkg", "components.csv", "summary.md"}
    import pyogrio

    layers = dict(pyogrio.list_layers(out / "network.gpkg"))
    assert set(layers) == {"nodes", "edges", "repairs"}
    rep = gpd.read_file(out / "network.gpkg", layer="repairs")
    assert rep["type"].tolist() == ["end_snapped_to_line"]
    edges = gpd.read_file(out / "network.gpkg", layer="edges")
    assert len(edges) == 3 and set(edges["highway"]) == {"primary", "tertiary"}
    # the GraphML loads back through osmnx
    import osmnx as ox

    H = ox.load_graphml(out / "network.graphml")
    assert H.number_of_edges() == 6
    # refuses to overwrite; GeoplanError -> exit 2
    r = CliRunner().invoke(main, ["network", "from-lines", str(src), "-o", str(out)])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["network", "from-lines", str(src), "-o", str(out), "--overwrite", "--snap", "0.1"])
    assert r.exit_code == 0
    assert len(gpd.read_file(out / "network.gpkg", layer="edges")) == 2


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_read_lines_gpkg_and_dxf(tmp_path):
    roads = layer([LineString([(-100, 0), (100, 0)]), LineString([(0, -100), (0, 100)])], 名称=["a", "b"])
    p = tmp_path / "r.gpkg"
    roads.to_file(p, layer="道路", engine="pyogrio")
    got = L.read_lines(p, layer="道路")
    assert got.crs == roads.crs and len(got) == 2
    with pytest.raises(InputError):
        L.read_lines(tmp_path / "missing.shp")
    # DXF carries no CRS: refused unless one is given
    import pyogrio

    if "DXF" not in pyogrio.list_drivers(write=True):
        pytest.skip("GDAL built without DXF write support")
    d = tmp_path / "r.dxf"
    pyogrio.write_dataframe(roads[["geometry"]].set_crs(None, allow_override=True), d, driver="DXF")
    with pytest.raises(CRSError):
        L.read_lines(d)
    got = L.read_lines(d, crs=GK)
    G, rep = L.graph_from_lines(got)
    assert len(segments(G)) == 4


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=0, max_size=4, unique=True),
    order=st.randoms(use_true_random=False),
)
def test_cutting_lines_into_pieces_does_not_change_the_graph(cuts, order):
    """A grid drawn as long lines or as the same lines cut anywhere gives the same noded graph."""
    long = [LineString([(0, 10 * i), (100, 10 * i)]) for i in range(3)] + [
        LineString([(10 * j + 5, -5), (10 * j + 5, 25)]) for j in range(3)
    ]
    pieces = []
    for ln in long:
        ds = sorted(c * ln.length / 10 for c in cuts)
        bounds = [0.0, *ds, ln.length]
        pieces += [shapely.ops.substring(ln, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    order.shuffle(pieces)
    G1, r1 = L.graph_from_lines(layer(long))
    G2, r2 = L.graph_from_lines(layer(pieces))
    key = lambda G: sorted((round(G.nodes[n]["x"], 6), round(G.nodes[n]["y"], 6)) for n in G.nodes if G.degree(n) != 4)
    assert key(G1) == key(G2)  # same junctions and dead ends (degree-2 pass-through nodes may differ)
    assert r1.n_components == r2.n_components == 1
    tot = lambda G: sum(d["length"] for *_, d in G.edges(data=True))
    assert tot(G1) == pytest.approx(tot(G2))


def test_graphml_round_trip_drive_gives_same_network(tmp_path):
    from geoplan import network
    roads = layer(
        [LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])],
        道路等级=["主干路", "支路"], 单行=["是", None], 限速=["40", None],
    )
    G, rep = L.graph_from_lines(roads, mode="drive")
    L.save_graph(G, rep, tmp_path / "o")
    a = network.from_networkx(G, mode="drive", largest_component=False)
    b = network.from_graphml(tmp_path / "o" / "network.graphml", mode="drive", largest_component=False)
    assert a.n_edges == b.n_edges == 6  # 2 one-way + 2 x 2 two-way
    np.testing.assert_allclose(np.sort(a.time), np.sort(b.time))
    assert sorted(np.round(a.time, 6)) == [9.0, 9.0, 12.0, 12.0, 12.0, 12.0]  # 100 m at 40 and 30 km/h


def test_graph_from_lines_accepts_a_path(tmp_path):
    roads = layer([LineString([(-100, 0), (100, 0)]), LineString([(0, -100), (0, 100)])])
    roads.to_file(tmp_path / "r.shp", engine="pyogrio")
    G, _ = L.graph_from_lines(tmp_path / "r.shp")
    assert len(segments(G)) == 4


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1), gap=st.floats(min_value=0.05, max_value=0.45))
def test_near_miss_gaps_below_the_tolerance_are_all_closed(seed, gap):
    """A grid cut into pieces whose ends are pulled apart by < tolerance/2 is whole again after snapping."""
    rng = np.random.default_rng(seed)
    pieces = []
    for i in range(3):
        for a, b in ((0, 40), (40, 70), (70, 100)):  # cuts away from the crossings at x = 5, 15, 25...
            pieces.append([(a, 10 * i), (b, 10 * i)])
    for j in range(3):
        for a, b in ((-5, 2), (2, 12), (12, 25)):  # vertical lines cut between the horizontals at y = 0, 10, 20
            pieces.append([(10 * j + 5, a), (10 * j + 5, b)])
    moved = []
    for p in pieces:
        c = np.array(p, dtype=float)
        ang = rng.uniform(0, 2 * np.pi, 2)
        c += gap * np.column_stack([np.cos(ang), np.sin(ang)])
        moved.append(LineString(c))
    G, rep = L.graph_from_lines(layer(moved), snap_tolerance=1.0)
    assert rep.n_components == 1
    assert rep.naive_components > 1
    assert (rep.repairs["distance_m"] <= 1.0).all()
    G, rep = L.graph_from_lines(layer(moved), snap_tolerance=0.0, node_tolerance=0.01)
    assert rep.n_components > 1  # without snapping the gaps stay


def test_cli_points_layer(tmp_path):
    from geoplan.cli import main

    roads = layer([LineString([(0, 0), (1000, 0)]), LineString([(0, 500), (100, 500)])])
    pts = gpd.GeoDataFrame({"名称": ["敬老院", "学校"]}, geometry=[Point(X0 + 500, Y0 + 3), Point(X0 + 50, Y0 + 490)], crs=GK)
    roads.to_file(tmp_path / "roads.shp", engine="pyogrio")
    pts.to_file(tmp_path / "pts.geojson", engine="pyogrio")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["network", "from-lines", str(tmp_path / "roads.shp"), "-o", str(out),
                                  "--points", str(tmp_path / "pts.geojson")])
    assert r.exit_code == 0, r.output
    got = gpd.read_file(out / "network.gpkg", layer="points")
    assert got["on_largest"].tolist() == [True, False]
    assert "not on the largest part: 1" in (out / "summary.md").read_text(encoding="utf-8")
