"""The coverage web map: small for the demo, titled, pass/fail of units, 6-decimal coordinates, the layers a
planner starts with, grid cells above ``max_points`` whose sums equal a recount, and ``--no-map``.

SYNTHETIC results (``tests/map_synthetic.py``) are the demo's real result tiled to many points; they check
the map's aggregation and that a big page opens, never a coverage answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.outputs._coverage_map import coverage_map, unit_verdicts
from geoplan.outputs._map_demand import aggregate_demand, grid_size
from map_synthetic import synthetic_result


@pytest.fixture(scope="module")
def result(demo):
    from geoplan import coverage
    from geoplan.coverage import standards

    return coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                           catalogue=standards.default_catalogue())


@pytest.fixture(scope="module")
def demo_map(result, tmp_path_factory) -> Path:
    return coverage_map(result, tmp_path_factory.mktemp("map") / "map.html")


def _geojsons(text: str) -> list[dict]:
    """Every GeoJSON the page holds: folium's ``..._add({...})`` blobs and geoplan's shared ``var`` data."""
    found = [m.group(1) for m in re.finditer(r"geo_json_\w+_add\((\{.*?\})\);\n", text, re.S)]
    found += [m.group(1) for m in re.finditer(r"var geoplan_data_\w+ = (\{.*?\});\n", text, re.S)]
    return [json.loads(f) for f in found]


def _numbers(coords) -> list[float]:
    if isinstance(coords, (int, float)):
        return [coords]
    return [v for c in coords for v in _numbers(c)]


def _layers(text: str) -> dict[str, bool]:
    """Overlay name → shown when the page opens (its group is added to the map at once)."""
    block = text[text.index("overlays :  {"):]
    block = block[:block.index("}")]
    out = {}
    for name, var in re.findall(r'"((?:[^"\\]|\\.)*)" : (feature_group_\w+)', block):
        out[json.loads(f'"{name}"')] = f"{var}.addTo(map_" in text
    return out


def test_demo_map_is_small(result, demo_map, tmp_path):
    assert demo_map.stat().st_size < 1_500_000
    amap = coverage_map(result, tmp_path / "amap.html", basemap="amap")  # shifted to GCJ-02: same size class
    assert amap.stat().st_size < 1_500_000


def test_coordinates_rounded_to_6_decimals(demo_map):
    text = demo_map.read_text(encoding="utf-8")
    docs = _geojsons(text)
    assert len(docs) >= 4  # units, service areas, demand, facilities
    n = 0
    for doc in docs:
        assert "bbox" not in doc
        for f in doc["features"]:
            for v in _numbers(f["geometry"]["coordinates"]):
                n += 1
                decimals = repr(float(v)).split(".")[1] if "." in repr(float(v)) else ""
                assert len(decimals) <= 6, v
    assert n > 1000


def test_title_and_default_layers(result, demo_map):
    from geoplan.outputs._i18n import type_caption

    text = demo_map.read_text(encoding="utf-8")
    first = type_caption(result, result.catalogue.keys[0], "zh")
    layers = _layers(text)
    shown = {k for k, v in layers.items() if v}
    assert shown == {f"单位达标情况：{first}", f"服务范围：{first}", f"需求点：{first}", "现有设施"}
    assert len(layers) > len(shown)  # the rest is in the layer control, off
    for t in result.catalogue.keys[1:]:
        assert f"单位达标情况：{type_caption(result, t, 'zh')}" in layers
    names = [result.catalogue[t].name("zh") for t in result.catalogue.keys]
    assert json.dumps("民政服务设施覆盖图：" + "、".join(names)) in text  # the title, set as text
    titled = coverage_map(result, demo_map.with_name("t.html"), title="${alert(1)}<b>雨湖区</b>")
    page = titled.read_text(encoding="utf-8")
    assert "<b>雨湖区</b>" not in page and json.dumps("${alert(1)}<b>雨湖区</b>") in page.replace("\\u003c", "<").replace("\\u003e", ">")


def test_unit_verdicts_against_a_recount(result):
    got = unit_verdicts(result.units, result.catalogue)
    for i, row in result.units.iterrows():  # a few units: row by row is the plain way here
        ft = result.catalogue[row["type"]]
        checks = []
        if ft.unit_targets or ft.people_target is None:
            checks.append(bool(row["has_facility"]))
        if ft.people_target is not None:
            checks.append(row[f"share_{ft.weight}_covered"] >= ft.people_target)
        assert got[i] == float(all(checks))
    assert {0.0, 1.0} <= set(got.dropna())


def test_grid_cell_size_from_extent():
    assert grid_size(2_000, 1_500) == 100  # 21 × 16 cells
    # 80 km square: 250 m gives 321² = 103,041 cells (> 40,000); 500 m gives 161² = 25,921
    assert grid_size(80_000, 80_000) == 500


@pytest.fixture(scope="module")
def synthetic(result):
    return synthetic_result(result, 20_000, seed=1)


def test_grid_sums_equal_a_recount(synthetic):
    cat = synthetic.catalogue
    dem = synthetic.demand
    cells = aggregate_demand(dem, types=cat.keys, weights=[cat[t].weight for t in cat.keys], cell_m=500)
    # Recount: each point into the cell polygon that contains it (a spatial join), then plain sums.
    pts = dem.to_crs(cells.crs)
    joined = gpd.sjoin(pts, cells[["geometry"]].reset_index(names="cell"), predicate="within")
    assert len(joined) == len(dem) and joined.index.is_unique
    assert (joined.groupby("cell").size().reindex(cells.index, fill_value=0).to_numpy() == cells["n_points"]).all()
    for t in cat.keys:
        w = cat[t].weight
        miss = ~joined[f"{t}_covered"].astype(bool)
        people = joined[w].fillna(0).where(miss, 0.0)
        want = people.groupby(joined["cell"]).sum().reindex(cells.index, fill_value=0.0)
        assert np.allclose(cells[f"{t}_uncovered"].to_numpy(), want.to_numpy(), atol=1e-6)
        total = float(np.sum(np.where(~dem[f"{t}_covered"].to_numpy(bool), dem[w].fillna(0).to_numpy(float), 0.0)))
        assert cells[f"{t}_uncovered"].sum() == pytest.approx(total, rel=1e-9)
        npts = joined.loc[miss].groupby("cell").size().reindex(cells.index, fill_value=0)
        assert (cells[f"{t}_n_uncovered"].to_numpy() == npts.to_numpy()).all()


def test_big_map_is_drawn_in_cells(synthetic, tmp_path):
    cat = synthetic.catalogue
    page = coverage_map(synthetic, tmp_path / "map.html", max_points=5_000)
    text = page.read_text(encoding="utf-8")
    docs = _geojsons(text)
    grid = [d for d in docs if d["features"] and "u" in d["features"][0]["properties"]]
    assert len(grid) == 1
    props = [f["properties"] for f in grid[0]["features"]]
    assert sum(p["n"] for p in props) == len(synthetic.demand)
    for i, t in enumerate(cat.keys):
        w = cat[t].weight
        miss = ~synthetic.demand[f"{t}_covered"].to_numpy(bool)
        total = synthetic.demand[w].fillna(0).to_numpy(float)[miss].sum()
        assert sum(p["u"][i] for p in props) == pytest.approx(total, abs=0.005 * len(props) + 1e-6)
        assert sum(p["k"][i] for p in props) == int(miss.sum())
    # no per-point data in the page: far fewer features than points
    assert sum(len(d["features"]) for d in docs) < len(synthetic.demand) / 2
    assert "layers.gpkg" in json.loads(re.search(r'var note = ("[^"]*");', text).group(1))
    shown = {k for k, v in _layers(text).items() if v}
    assert sum(k.startswith("未覆盖人口（") for k in shown) == 1


def _inputs(tmp_path, demo):
    fac = tmp_path / "设施.csv"
    fac.write_text("编号,名称,类型,经度,纬度\n" + "".join(
        f"{i},{n},社工站,{x:.7f},{y:.7f}\n" for i, n, x, y in zip(
            demo.facilities["id"], demo.facilities["name"], demo.facilities.geometry.x, demo.facilities.geometry.y)),
        encoding="utf-8")
    dem = tmp_path / "需求点.csv"
    d = demo.demand
    dem.write_text("编号,人口,经度,纬度\n" + "".join(
        f"{i},{p},{x:.7f},{y:.7f}\n" for i, p, x, y in zip(d["id"], d["pop"], d.geometry.x, d.geometry.y)),
        encoding="utf-8")
    return fac, dem


def test_no_map(tmp_path, demo):
    from geoplan.cli import main
    from geoplan.demo import helsinki_pbf

    fac, dem = _inputs(tmp_path, demo)
    args = ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac), "--demand", str(dem),
            "--type", "社工站", "--no-service-areas"]
    res = CliRunner().invoke(main, args + ["--no-map", "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    assert not (out / "map.html").exists() and (out / "report.md").exists() and (out / "layers.gpkg").exists()
    assert "map.html" not in res.output
    for name in ("report.md", "report.html"):
        assert "map.html" not in (out / name).read_text(encoding="utf-8")
    res = CliRunner().invoke(main, args + ["-o", str(tmp_path / "with")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "with" / "map.html").exists()


@pytest.mark.browser
@pytest.mark.slow
def test_100k_points_open_in_chromium(result, tmp_path):
    from test_browser import CHROMIUM, check_page

    if CHROMIUM is None:
        pytest.skip("Chromium not installed")
    big = synthetic_result(result, 100_000, seed=2)
    page = coverage_map(big, tmp_path / "map.html")
    assert page.stat().st_size < 25_000_000
    info = check_page(page, tmp_path, screenshot="map_100k")
    assert info["errors"] == []
    assert info["leaflet"] == "object" and info["maps"] == 1
    assert any(o.startswith("未覆盖人口（") for o in info["overlays"])
    assert info["legends"]
