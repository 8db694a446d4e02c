"""Census tables by division code (io.read_census) and their allocation to demand points (coverage.allocate_census).

Census figures here are ILLUSTRATIVE (no village-level census ships offline): small hand-checkable tables,
generated cases for the property test, and the Xiangtan 2020 city totals of DESIGN.md §1 (about 2.45 million
people, about 562,000 aged 60+) spread evenly over the 957 real village-level codes (rule below)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geoplan._errors import InputError
from geoplan.coverage import allocate_census, demand_from_network
from geoplan.coverage._census import largest_remainder
from geoplan.io import read_census

CRS = 32649  # UTM 49N (Xiangtan): metres


def _csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ----------------------------------------------------------------------------- reading


def test_gbk_csv_with_title_total_row_and_extra_columns(tmp_path):
    p = _csv(tmp_path / "七普.csv",
             "湘潭市第七次人口普查（示意数据 ILLUSTRATIVE）\n"
             "序号,行政区划代码,名称,常住人口,60岁及以上,0—17岁,低保户数,特困人员,面积,备注\n"
             "1,430302001,雨湖路街道,1000,200,150,12,3,5,老城区\n"
             "2,430302002000,城正街街道,2000,300,400,0,1,7,\n"
             ",,合计,3000,500,550,12,4,12,\n", encoding="gbk")
    d = read_census(p)
    assert d["code"].tolist() == ["430302001000", "430302002000"]  # 9 digits padded to 12
    assert d["level"].tolist() == ["township", "township"]
    assert d["name"].tolist() == ["雨湖路街道", "城正街街道"]
    assert d["pop"].tolist() == [1000, 2000] and d["pop_60"].tolist() == [200, 300]
    assert d["pop_0_17"].tolist() == [150, 400]
    assert d["低保户数"].tolist() == [12, 0] and d["特困人员"].tolist() == [3, 1]
    assert d.attrs["dropped"] == ["序号", "面积", "备注"] and not {"序号", "面积", "备注"} & set(d.columns)
    assert d.attrs["row_ranges"] == "3-4"  # title = row 1, header = row 2
    assert d["pop"].dtype == np.int64


def test_excel_text_and_numeric_codes(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["代码", "名称", "总人口", "60岁以上", "未成年人"])
    ws.append(["430302001001", "雨湖路社区", 800, 100, 90])
    ws.append([430302001002, "关圣殿社区", 600, 80, 70])  # a number: 12 digits, nothing lost
    ws.append(["430321", "湘潭县", 5, 1, 1])
    wb.save(tmp_path / "c.xlsx")
    d = read_census(tmp_path / "c.xlsx")
    assert d["code"].tolist() == ["430302001001", "430302001002", "430321000000"]
    assert d["level"].tolist() == ["village", "village", "county"]
    assert d["pop"].sum() == 1405 and d["pop_0_17"].tolist() == [90, 70, 1]


@pytest.mark.parametrize("body, row, field, words", [
    ("代码,常住人口\n4.30302E+11,5\n", 2, "代码", "scientific notation"),
    ("代码,常住人口\n43030200100,5\n", 2, "代码", "11 digits"),
    ("代码,常住人口\n430302001,5\n430302001000,6\n", 3, "代码", "duplicate"),
    ("代码,常住人口,60岁以上\n430302001,5,6\n", 2, "60岁以上", "exceeds"),
    ("代码,常住人口,60岁以上,0-17岁\n430302001,5,3,3\n", 2, "常住人口", "exceeds"),
    ("代码,常住人口\n430302001,5.5\n", 2, "常住人口", "whole number"),
    ("代码,常住人口\n430302001,-5\n", 2, "常住人口", "negative"),
    ("代码,常住人口\n430302001,\n", 2, "常住人口", "empty"),
    ("代码,常住人口\n,5\n", 2, "代码", "empty division code"),
    ("代码,常住人口\n430302,5\n430302001,6\n", 3, "代码", "counted twice"),
])
def test_bad_tables_name_file_row_field(tmp_path, body, row, field, words):
    p = _csv(tmp_path / "bad.csv", body)
    with pytest.raises(InputError) as e:
        read_census(p)
    assert e.value.row == row and e.value.field == field and "bad.csv" in str(e.value)
    assert words in str(e.value)


def test_no_code_column(tmp_path):
    with pytest.raises(InputError, match="no division-code column"):
        read_census(_csv(tmp_path / "x.csv", "名称,常住人口\n甲,5\n"))


# ----------------------------------------------------------------------------- rounding


def test_largest_remainder_by_hand():
    assert largest_remainder(10, [1, 1, 1]).tolist() == [4, 3, 3]  # 3.33 each: the first gets the extra one
    assert largest_remainder(7, [0.5, 0.25, 0.25]).tolist() == [3, 2, 2]  # 3.5/1.75/1.75: 2 left go to the .75s
    assert largest_remainder(5, [0, 2, 0]).tolist() == [0, 5, 0]
    assert largest_remainder(0, [1, 2]).tolist() == [0, 0]
    # caps: shares 2.5/2.5 -> 3/2, but the first may hold only 2, so the third person goes to the second
    assert largest_remainder(5, [1, 1], cap=[2, 5]).tolist() == [2, 3]
    assert largest_remainder(3, [1, 0, 0], cap=[1, 1, 5]).tolist() == [1, 1, 1]


# ----------------------------------------------------------------------------- allocation


def _units(codes, boxes):
    return gpd.GeoDataFrame({"code": codes, "name": [f"单位{c[-3:]}" for c in codes]},
                            geometry=[box(*b) for b in boxes], crs=CRS)


def _census(rows, cols=("pop", "pop_60", "pop_0_17")):
    d = pd.DataFrame(rows, columns=["code", *cols])
    d.insert(1, "level", ["village" if not c.endswith("000") else "township" for c in d["code"]])
    d.attrs["source"] = "人口.csv"
    return d


def test_hand_checked_allocation_and_lists():
    units = _units(["430302001001", "430302001002", "430302001003"],
                   [(0, 0, 100, 100), (100, 0, 200, 100), (300, 0, 400, 100)])
    pts = gpd.GeoDataFrame({"id": ["a", "b", "c", "d"], "floor_area": [100.0, 300.0, 50.0, 0.0]},
                           geometry=[Point(10, 10), Point(50, 50), Point(150, 50), Point(500, 50)], crs=CRS)
    census = _census([("430302001001", 10, 4, 2), ("430302001003", 7, 1, 0), ("430302001009", 3, 0, 0)])
    res = allocate_census(pts, census, units=units, by="floor_area")
    d = res.demand
    # unit 001, areas 100:300 (shares 1/4, 3/4): people 10 -> 2.5/7.5 -> 3/7 (tie: the first); 60+ 4 -> 1/3;
    # 0-17 2 -> 0.5/1.5 -> 1/1 (tie: the first), within the room left (2/4)
    assert d.loc[0, "pop_60"] + d.loc[1, "pop_60"] == 4 and d.loc[0, "pop"] + d.loc[1, "pop"] == 10
    assert d.loc[[0, 1], "pop_60"].tolist() == [1, 3] and d.loc[[0, 1], "pop_0_17"].tolist() == [1, 1]
    assert d.loc[[0, 1], "pop"].tolist() == [3, 7]
    assert d.loc[2, "pop"] == 0 and d.loc[3, "pop"] == 0  # unit 002 is not in the table; d is outside all units
    assert d["unit_code"].tolist() == ["430302001001", "430302001001", "430302001002", ""]
    assert res.missing_codes["code"].tolist() == ["430302001009"]
    assert res.units_not_in_table["code"].tolist() == ["430302001002"]
    assert res.unplaced["code"].tolist() == ["430302001003"] and res.unplaced["pop"].tolist() == [7]
    zh, en = res.method("zh"), res.method("en")
    assert "最大余数法" in zh and "建筑面积" in zh and "1 个代码在单位中找不到" in zh
    assert "largest remainder" in en and "floor area" in en
    notes = res.notes()
    assert "430302001009" in notes[1].zh and "430302001003" in notes[-1].zh and "7 人未分配" in notes[-1].zh


def test_township_table_on_village_units_and_village_table_on_township_units():
    villages = _units(["430302001001", "430302001002"], [(0, 0, 100, 100), (100, 0, 200, 100)])
    pts = gpd.GeoDataFrame({"id": range(4)}, geometry=[Point(10, 10), Point(20, 20), Point(150, 50), Point(160, 50)],
                           crs=CRS)
    res = allocate_census(pts, _census([("430302001000", 9, 2, 1)]), units=villages, by="count")
    assert res.units["matched"].tolist() == ["children"] and res.demand["pop"].sum() == 9
    zero = pts.assign(w=[0.0, 0.0, 0.0, 0.0])
    res = allocate_census(zero, _census([("430302001000", 9, 2, 1)]), units=villages, by="w")
    assert res.demand["pop"].tolist() == [3, 2, 2, 2] and res.units["weighting"].tolist() == ["count"]
    assert "430302001000" in res.notes()[-1].zh and "按点数平均" in res.notes()[-1].zh
    assert res.units_not_in_table.empty
    township = _units(["430302001"], [(0, 0, 200, 100)])
    res = allocate_census(pts, _census([("430302001001", 5, 1, 0), ("430302001002", 6, 0, 2)]), units=township,
                          by="count")
    assert res.units["matched"].tolist() == ["parent", "parent"] and res.demand["pop"].sum() == 11
    assert res.demand["unit_code"].unique().tolist() == ["430302001000"]


def test_seat_points_hold_their_units_people():
    seats = gpd.GeoDataFrame({"code": ["430302001001", "430302001002"]},
                             geometry=[Point(0, 0), Point(100, 0)], crs=CRS)
    res = allocate_census(None, _census([("430302001002", 8, 3, 1)]), units=seats)
    assert res.demand["pop"].tolist() == [0, 8] and res.units_not_in_table["code"].tolist() == ["430302001001"]
    with pytest.raises(InputError, match="seat"):
        allocate_census(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=CRS), _census([]), units=seats)


def test_floor_area_needs_a_column_or_buildings():
    units = _units(["430302001001"], [(0, 0, 100, 100)])
    pts = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(5, 5)], crs=CRS)
    with pytest.raises(InputError, match="floor_area"):
        allocate_census(pts, _census([("430302001001", 1, 0, 0)]), units=units, by="floor_area")
    buildings = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 10, 10), box(20, 20, 50, 50)], crs=CRS)
    res = allocate_census(buildings, _census([("430302001001", 10, 0, 0)]), units=units, by="floor_area")
    assert res.demand["pop"].tolist() == [1, 9]  # footprints 100 and 900 m²


@st.composite
def _cases(draw):
    n_units = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # units: disjoint columns of a strip, random widths; points anywhere in and around the strip
    edges = np.cumsum(rng.uniform(10, 300, n_units + 1)) - 5
    codes = [f"430302001{200 + i:03d}" for i in range(n_units)]
    units = _units(codes, [(edges[i], 0, edges[i + 1], 100) for i in range(n_units)])
    n_pts = draw(st.integers(0, 40))
    xs = rng.uniform(edges[0] - 50, edges[-1] + 50, n_pts)
    w = np.where(rng.random(n_pts) < draw(st.sampled_from([0.0, 0.3, 1.0])), 0.0, rng.uniform(0, 500, n_pts))
    pts = gpd.GeoDataFrame({"id": range(n_pts), "w": w}, geometry=[Point(x, rng.uniform(1, 99)) for x in xs], crs=CRS)
    rows = []
    for c in codes:
        if rng.random() < 0.85:
            pop = int(rng.integers(0, 5000))
            p60 = int(rng.integers(0, pop + 1))
            p017 = int(rng.integers(0, pop - p60 + 1))
            rows.append((c, pop, p60, p017, int(rng.integers(0, 50))))
    census = _census(rows, cols=("pop", "pop_60", "pop_0_17", "低保户数"))
    return units, pts, census


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_totals_preserved_exactly_property(case):
    units, pts, census = case
    res = allocate_census(pts, census, units=units, by="w")
    d = res.demand
    cols = ["pop", "pop_60", "pop_0_17", "低保户数"]
    # independent recount: containment by shapely directly, totals by plain loops
    inside = {c: [i for i, p in enumerate(pts.geometry) if g.contains(p)] for c, g in zip(units["code"], units.geometry)}
    for row in census.itertuples(index=False):
        idx = inside[row.code]
        for j, col in enumerate(cols):
            total = row[2 + j]
            got = int(d[col].iloc[idx].sum()) if idx else 0
            assert got == (total if idx else 0), (row.code, col)
            if idx and col in ("pop", "低保户数"):  # plain largest remainder: each part within 1 of its share
                w = pts["w"].to_numpy()[idx]
                share = total * (w / w.sum() if w.sum() > 0 else np.full(len(idx), 1 / len(idx)))
                assert np.all(np.abs(d[col].to_numpy()[idx] - share) < 1)
        if not idx and row.pop + row.低保户数 > 0:
            assert row.code in res.unplaced["code"].tolist()
    for col in cols:
        assert d[col].dtype == np.int64 and (d[col] >= 0).all()
    assert (d["pop_60"] + d["pop_0_17"] <= d["pop"]).all()
    listed = set(census["code"])
    assert set(res.units_not_in_table["code"]) == set(units["code"]) - listed
    outside = [i for i, p in enumerate(pts.geometry) if not any(g.contains(p) for g in units.geometry)]
    assert (d.loc[outside, cols].to_numpy() == 0).all()


# ----------------------------------------------------------------------------- road nodes and the CLI


def _helsinki_units_relabelled():
    """ILLUSTRATIVE: the demo's five Helsinki postal areas relabelled with Xiangtan-style codes (plumbing only)."""
    from geoplan.demo import demo_units

    u = demo_units()
    return u.assign(code=[f"430302001{200 + i:03d}" for i in range(len(u))])


def test_demand_from_network_nodes_inside_units():
    from geoplan.demo import helsinki_pbf
    from geoplan.network import from_osm_file

    net = from_osm_file(helsinki_pbf(), mode="walk")
    units = _helsinki_units_relabelled()
    dem = demand_from_network(net, units)
    geo = units.to_crs(net.crs).geometry
    recount = sum(1 for x, y in zip(net.x, net.y) if any(g.covers(Point(x, y)) for g in geo))
    assert len(dem) == recount > 0 and (dem["pop"] == 0).all()
    census = _census([(c, 1000 + i, 100, 50) for i, c in enumerate(units["code"])])
    res = allocate_census(dem, census, units=units, by="count")
    assert res.demand["pop"].sum() == census["pop"].sum() and res.unplaced.empty


def test_cli_coverage_with_census_and_no_demand(tmp_path):
    from click.testing import CliRunner

    from geoplan.cli import main
    from geoplan.demo import demo_facilities, helsinki_pbf

    units = _helsinki_units_relabelled()
    units_path = tmp_path / "units.geojson"
    units.to_file(units_path, driver="GeoJSON")
    fac = demo_facilities()
    fac_csv = tmp_path / "设施.csv"
    type_zh = {"elder_care_centre": "综合养老服务中心", "elder_care_station": "社区养老服务站",
               "minor_protection": "未保站", "social_work": "社工站"}
    fac_csv.write_text("编号,名称,类型,经度,纬度\n" + "".join(
        f"{r.id},{r.name},{type_zh[r.type]},{r.geometry.x:.7f},{r.geometry.y:.7f}\n" for r in fac.itertuples()),
        encoding="utf-8")
    rows = "".join(f"{c},{1000 + 10 * i},{200 + i},{100}\n" for i, c in enumerate(units["code"]))
    census = _csv(tmp_path / "七普.csv", "示意数据 ILLUSTRATIVE\n行政区划代码,常住人口,60岁以上,0-17岁\n" + rows
                  + "430302009201,50,5,5\n", encoding="gbk")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--census", str(census), "--units", str(units_path), "-o", str(out),
                                    "--no-service-areas"])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "人口按行政区划代码分配" in md and "需求点个数" in md and "430302009201" in md
    res = CliRunner().invoke(main, ["-q", "coverage", "--network", str(helsinki_pbf()), "--facilities", str(fac_csv),
                                    "--census", str(census), "-o", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "--units" in res.output


# ----------------------------------------------------------------------------- Xiangtan, illustrative


def test_illustrative_xiangtan_table_over_the_957_real_codes(tmp_path):
    """DESIGN.md §1 city totals (2,450,000 people, 562,000 aged 60+: rounded figures) spread evenly over the 957
    real village-level codes by largest remainder -- an ILLUSTRATIVE table, not census data."""
    from geoplan.demo import xiangtan_villages

    v = xiangtan_villages()
    n = len(v)
    pop = largest_remainder(2_450_000, np.ones(n))
    p60 = largest_remainder(562_000, np.ones(n))
    text = "湘潭市村级人口（示意数据 ILLUSTRATIVE：DESIGN.md 市级合计按村平均分配，非普查数据）\n行政区划代码,名称,常住人口,60岁及以上\n"
    text += "".join(f"{c},{nm},{a},{b}\n" for c, nm, a, b in zip(v["code"], v["name"], pop, p60))
    d = read_census(_csv(tmp_path / "湘潭示意.csv", text, encoding="gbk"))
    assert len(d) == 957 and d["pop"].sum() == 2_450_000 and d["pop_60"].sum() == 562_000
    assert (d["level"] == "village").all() and set(d["code"]) == set(v["code"])
    # seats on a grid (ILLUSTRATIVE positions): every village's people at its seat, nothing unmatched
    seats = gpd.GeoDataFrame({"code": v["code"]}, geometry=[Point(i % 40 * 100.0, i // 40 * 100.0) for i in range(n)],
                             crs=CRS)
    res = allocate_census(None, d, units=seats)
    assert res.missing_codes.empty and res.units_not_in_table.empty and res.unplaced.empty
    assert res.demand["pop"].tolist() == d["pop"].tolist()
