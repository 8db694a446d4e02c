"""Unit and facility geometry checks (issue 13 item 5), on the real demo data.

Regression cases from the report: a self-intersecting (bow-tie) unit over the
demo, the demo units shifted 1°, a facility 50 km off the network.  Expected
values come from hand geometry (a bow-tie's two triangles are half its box)
and from shapely point-in-polygon tests made here.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from shapely.geometry import Point, Polygon, box

from geoplan import InputError
from geoplan import coverage as gc
from geoplan.cli import main
from geoplan.demo import helsinki_pbf


def _bow_tie(units, code, crs):
    """The unit's box in ``crs`` drawn corner to opposite corner: a figure-eight (self-intersecting) ring."""
    u = units.to_crs(crs)
    minx, miny, maxx, maxy = u.loc[u["code"] == code].geometry.iloc[0].bounds
    bow = Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])
    assert not bow.is_valid
    u.loc[u["code"] == code, "geometry"] = bow
    return u, (maxx - minx) * (maxy - miny)


def test_bow_tie_over_the_demo_stops_the_run(demo):
    """A bow-tie over 00100 leaves many buildings outside every unit: the run stops, naming the share and the option."""
    units, _ = _bow_tie(demo.units, "00100", demo.network.crs)
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, demo.demand, units=units, with_service_areas=False)
    msg = str(e.value)
    assert "outside every unit" in msg and "allow_outside=True" in msg and "--allow-outside" in msg
    assert e.value.field == "geometry"


def test_bow_tie_repaired_and_reported(demo):
    units, box_area = _bow_tie(demo.units, "00100", demo.network.crs)
    r = gc.assess(demo.network, demo.facilities, demo.demand, units=units, allow_outside=True, with_service_areas=False)
    rep = r.checks[r.checks["check"] == "invalid_unit_repaired"]
    assert rep["item"].tolist() == ["00100"]
    assert "Self-intersection" in rep["detail_en"].iloc[0] and "2 part(s)" in rep["detail_en"].iloc[0]
    # The repaired unit is the bow-tie's two triangles: half its box (hand geometry).
    ut = r.units[(r.units["type"] == "social_work") & (r.units["unit_code"] == "00100")]
    assert ut.geometry.iloc[0].is_valid
    assert ut.to_crs(demo.network.crs).area.iloc[0] == pytest.approx(box_area / 2, rel=1e-6)
    # Demand per unit equals a point-in-polygon count made here on the repaired units.
    fixed = units.copy()
    fixed["geometry"] = shapely.make_valid(fixed.geometry.to_numpy())
    pts = demo.demand.to_crs(demo.network.crs).geometry.representative_point()
    for code, geom in zip(fixed["code"], fixed.geometry):
        inside = shapely.contains_xy(geom, pts.x.to_numpy(), pts.y.to_numpy())
        in_other_first = np.zeros(len(pts), bool)
        for c2, g2 in zip(fixed["code"], fixed.geometry):  # the first unit in file order wins an overlap
            if c2 == code:
                break
            in_other_first |= shapely.contains_xy(g2, pts.x.to_numpy(), pts.y.to_numpy())
        want = float(demo.demand["pop"].to_numpy()[inside & ~in_other_first].sum())
        got = float(r.units.loc[(r.units["type"] == "social_work") & (r.units["unit_code"] == code), "pop"].iloc[0])
        assert got == pytest.approx(want), code
    outside = r.checks[r.checks["check"] == "demand_outside_units"]
    n_out = int(r.demand["unit_code"].isna().sum())
    assert len(outside) == 1 and f"{n_out} of {len(demo.demand)}" in outside["detail_en"].iloc[0]
    assert r.checks["check"].eq("units_overlap").any()  # the triangles reach into the neighbours
    assert any("00100" in n for n in r.notes)


def test_bow_tie_refused(demo):
    units, _ = _bow_tie(demo.units, "00170", demo.network.crs)
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, demo.demand, units=units, invalid_units="refuse")
    assert "00170" in str(e.value) and "Self-intersection" in str(e.value) and "--invalid-units repair" in str(e.value)
    assert e.value.field == "geometry" and e.value.row == units.index[units["code"] == "00170"][0]


def test_units_shifted_one_degree_stop(demo):
    shifted = demo.units.copy()
    shifted["geometry"] = shifted.geometry.translate(1.0, 0.0)  # 1° east (about 55 km at 60° N)
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, demo.facilities, demo.demand, units=shifted)
    msg = str(e.value)
    assert "5 of 5 admin units contain no demand point" in msg and "00100" in msg
    assert f"{len(demo.demand)} of {len(demo.demand)} demand points" in msg
    assert "--allow-empty-units" in msg and "--allow-outside" in msg
    r = gc.assess(demo.network, demo.facilities, demo.demand, units=shifted, allow_empty_units=True,
                  allow_outside=True, with_service_areas=False)
    empty = r.checks[r.checks["check"] == "unit_without_demand"]
    assert sorted(empty["item"]) == sorted(demo.units["code"])
    assert (r.units["pop"] == 0).all()


def test_facility_far_off_the_network(demo):
    fac = demo.facilities.to_crs(demo.network.crs)
    moved = fac.copy()
    i = moved.index[moved["type"] == "social_work"][0]
    moved.loc[i, "geometry"] = Point(fac.geometry[i].x + 50_000, fac.geometry[i].y)  # 50 km east, into the sea
    fid = moved.loc[i, "id"]
    with pytest.raises(InputError) as e:
        gc.assess(demo.network, moved, demo.demand, units=demo.units)
    assert fid in str(e.value) and "--allow-far-facilities" in str(e.value)
    assert e.value.row == i and e.value.field == "geometry"
    r = gc.assess(demo.network, moved, demo.demand, units=demo.units, allow_far_facilities=True,
                  with_service_areas=True)
    row = r.checks[r.checks["check"] == "facility_far_from_network"]
    assert row["item"].tolist() == [fid]
    assert bool(r.facilities.loc[i, "too_far"])
    assert fid not in set(r.service_areas["facility_id"])
    # The far facility is left out: every other one of the type still serves.
    assert r.demand["social_work_nearest"].ne(fid).all()


def _cli_files(tmp_path, demo, *, units=None, move_facility=None):
    fac = demo.facilities.copy()
    lines = []
    for k, rec in enumerate(fac.itertuples()):
        x, y = rec.geometry.x, rec.geometry.y
        if move_facility == k:
            x += 0.9  # about 50 km east at 60° N
        lines.append(f"{rec.id},{rec.name},{rec.type},{x:.7f},{y:.7f}\n")
    fac_csv = tmp_path / "设施.csv"
    fac_csv.write_text("编号,名称,类型,经度,纬度\n" + "".join(lines), encoding="utf-8-sig")
    dem_csv = tmp_path / "需求点.csv"
    dem_csv.write_text("编号,人口,60岁以上,0-17岁,经度,纬度\n" + "".join(
        f"{r.id},{r.pop},{r.pop_60},{r.pop_0_17},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in demo.demand.itertuples()),
        encoding="utf-8")
    units_path = tmp_path / "街道.geojson"
    (demo.units if units is None else units).to_file(units_path, driver="GeoJSON")
    return fac_csv, dem_csv, units_path


def _coverage(tmp_path, fac_csv, dem_csv, units_path, *extra):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--demand", str(dem_csv), "--units", str(units_path), "-o", str(out),
                                    "--no-service-areas", *extra])
    return res, out


def test_cli_shifted_units_exit_2_naming_file_and_option(tmp_path, demo):
    shifted = demo.units.copy()
    shifted["geometry"] = shifted.geometry.translate(1.0, 0.0)
    files = _cli_files(tmp_path, demo, units=shifted)
    res, out = _coverage(tmp_path, *files)
    assert res.exit_code == 2, res.output
    assert "街道.geojson" in res.output and "00100" in res.output and "--allow-outside" in res.output
    assert not out.exists()
    res, out = _coverage(tmp_path, *files, "--allow-outside", "--allow-empty-units")
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "输入数据检查" in md and "行政单位内无需求点" in md


def test_cli_far_facility_exit_2_then_listed(tmp_path, demo):
    k = 3
    files = _cli_files(tmp_path, demo, move_facility=k)
    res, out = _coverage(tmp_path, *files)
    assert res.exit_code == 2, res.output
    fid = demo.facilities["id"].iloc[k]
    assert fid in res.output and "设施.csv" in res.output and f"row {k + 2}" in res.output
    assert "--allow-far-facilities" in res.output and not out.exists()
    res, out = _coverage(tmp_path, *files, "--allow-far-facilities")
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "设施距路网过远" in md and fid in md


def test_cli_bow_tie_refuse_and_repair(tmp_path, demo):
    units, _ = _bow_tie(demo.units, "00170", demo.network.crs)
    files = _cli_files(tmp_path, demo, units=units.to_crs(4326))
    res, out = _coverage(tmp_path, *files, "--invalid-units", "refuse")
    assert res.exit_code == 2 and "00170" in res.output and "街道.geojson" in res.output
    res, out = _coverage(tmp_path, *files, "--allow-outside")
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "行政单位面无效，已修复" in md and "00170" in md
    assert "自相交" in md and "Self-intersection" not in md  # Chinese report, Chinese reason


def test_overlapping_units_listed():
    """Two 200 m squares overlapping by 100 m, three points: the middle one lies in both (hand-drawn)."""
    crs = "EPSG:32649"
    units = gpd.GeoDataFrame({"code": ["A", "B"], "name": ["甲", "乙"]},
                             geometry=[box(0, 0, 200, 200), box(100, 0, 300, 200)], crs=crs)
    pts = gpd.GeoDataFrame(geometry=[Point(50, 100), Point(150, 100), Point(250, 100)], crs=crs)
    from geoplan.coverage._checks import assign_units

    codes, rows = assign_units(pts, units, crs=crs)
    assert codes.tolist() == ["A", "A", "B"]
    assert len(rows) == 1 and rows[0]["item"] == "A / B" and rows[0]["detail_en"].startswith("1 demand point")


@settings(max_examples=12, deadline=None)
@given(st.floats(0.0, 0.02), st.floats(0.0, 0.02))
def test_outside_share_rule(dx, dy):
    """Property: the demo units shifted by (dx, dy) degrees either pass with ≤ 5 % of demand (points and people)
    outside every unit and every unit non-empty, or stop with an InputError — nothing in between."""
    from geoplan import demo as gdemo

    demo = gdemo.load_demo()
    shifted = demo.units.copy()
    shifted["geometry"] = shifted.geometry.translate(dx, dy)
    try:
        r = gc.assess(demo.network, demo.facilities, demo.demand, units=shifted, types=["social_work"],
                      with_service_areas=False)
    except InputError as e:
        assert "--allow-outside" in str(e) or "--allow-empty-units" in str(e)
        return
    out = r.demand["unit_code"].isna().to_numpy()
    assert out.mean() <= 0.05 + 1e-12
    assert demo.demand["pop"].to_numpy()[out].sum() <= 0.05 * demo.demand["pop"].sum() + 1e-9
    assert (r.units["pop"] > 0).all()


def test_suggest_takes_the_check_options(tmp_path, demo):
    k = int(np.flatnonzero(demo.facilities["type"].to_numpy() == "social_work")[0])
    fac_csv, dem_csv, units_path = _cli_files(tmp_path, demo, move_facility=k)
    args = ["-q", "suggest", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv), "--demand", str(dem_csv),
            "--units", str(units_path), "--type", "社工站", "-p", "1", "--solver", "greedy"]
    res = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "s1")])
    assert res.exit_code == 2 and "--allow-far-facilities" in res.output
    res = CliRunner().invoke(main, [*args, "--allow-far-facilities", "-o", str(tmp_path / "s2")])
    assert res.exit_code == 0, res.output
