"""The fast paths of the million-point run (issue 17) give what the plain paths give.

- :func:`_numeric_column` (vectorised ``pd.to_numeric`` with a per-cell retry) against a per-cell reference
  (:func:`_blank` and :func:`_parse_number` on every cell) over generated messy columns: full-width digits,
  thousands separators, blanks, ``万``, degrees, signs, text;
- snapping: the segment index (k nearest densified segments, with the exactness bound) against a brute force
  over every candidate edge with shapely (exact distances), on the real Helsinki walk graph;
- the per-point layers: above the size threshold the GeoJSON copy of the demand layer is left out and the
  GeoPackage holds every point unchanged.

All data are generated here (SYNTHETIC values) or real (the bundled Helsinki extract).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geoplan._errors import InputError
from geoplan.io._numbers import _blank, _numeric_column, _parse_number

# Cells the number rules treat specially, and plain ones.
TOKENS = ["12", "0", "-3", "+4.5", "1e3", "1E-2", ".5", "5.", "１２", "１２.５", "－７", "1,234", "12,345,678.5",
          "1 234", "1,2", "12,34", "1.234,5", "1_000", "1.2万", "3万", "", " ", "\u3000", None, np.nan, "nan", "NaN",
          "inf", "-inf", "abc", " 7 ", "\t8\t", "112°56'30\"E", "27°49′N", "0x10", "1e500", "١٢", "  ", "12.0",
          "007", "−5", 3, 4.25, np.int64(9), np.float64(-1.5), "Infinity", "INF", "-nan", "+inf", "1d3", ".", "-",
          "1e", "1.2.3", "00012", "\u30001", "-0", "1E5", "+.5",
          # review 20 (D10): superscripts, subscripts, circled, fraction and mathematical digits are no digits
          "10⁵", "2³", "１０⁴", "①", "½", "₂", "1e⁵", "𝟏", "⑴", "1\u00a0234", "１，２３４"]


def _reference(cells, *, required: bool, nonneg: bool, thousands: bool):
    """Per-cell rule: values (nan for blanks) and the position of the first bad cell (or None)."""
    out = np.full(len(cells), np.nan)
    first_bad = None
    for i, v in enumerate(cells):
        bad = False
        if _blank(v):
            bad = required
        else:
            x = _parse_number(v, thousands=thousands)
            if x is None or not math.isfinite(x) or (nonneg and x < 0):
                bad = True
            else:
                out[i] = x
        if bad and first_bad is None:
            first_bad = i
    return out, first_bad


@pytest.mark.parametrize("seed", range(20))
def test_numeric_column_equals_the_per_cell_rule(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    pool = np.array(TOKENS, dtype=object)
    plain = np.round(rng.uniform(-1000, 1000, n), int(rng.integers(0, 6))).astype(str).astype(object)
    # Mostly plain numbers (the vectorised path), some special cells (the per-cell retry); some columns
    # hold only good cells so the values themselves are compared, not only the first error.
    share = rng.choice([0.0, 0.05, 0.3, 1.0])
    cells = np.where(rng.random(n) < share, pool[rng.integers(0, len(pool), n)], plain)
    if rng.random() < 0.5:
        good = [v for v in cells if not _blank(v) and _parse_number(v) is not None
                and math.isfinite(_parse_number(v))]
        cells = np.array(good or ["1"], dtype=object)
    rows = pd.RangeIndex(2, 2 + len(cells))
    for required in (False, True):
        for nonneg in (False, True):
            for thousands in (False, True):
                frame = pd.DataFrame({"人口": pd.Series(list(cells), index=rows, dtype=object)})
                want, bad = _reference(list(cells), required=required, nonneg=nonneg, thousands=thousands)
                kw = dict(what="population", file="t.csv", rows=rows, required=required, nonneg=nonneg,
                          thousands=thousands)
                if bad is None:
                    got = _numeric_column(frame, "人口", **kw)
                    np.testing.assert_array_equal(got, want)
                else:
                    with pytest.raises(InputError) as ei:
                        _numeric_column(frame, "人口", **kw)
                    assert f"row {rows[bad]}" in str(ei.value).lower().replace(":", ""), (cells[bad], str(ei.value))


def test_numeric_column_of_numbers_and_of_a_numeric_dtype():
    rng = np.random.default_rng(1)
    vals = rng.uniform(0, 200, 1000)
    vals[::17] = np.nan
    rows = pd.RangeIndex(2, 1002)
    got = _numeric_column(pd.DataFrame({"p": vals}, index=rows), "p", what="population", file="t.csv", rows=rows,
                          required=False, nonneg=True)
    np.testing.assert_array_equal(got, vals)
    with pytest.raises(InputError):
        _numeric_column(pd.DataFrame({"p": vals}, index=rows), "p", what="population", file="t.csv", rows=rows,
                        required=True, nonneg=True)


def _assign_by_sjoin(points, units, crs):
    """The unit assignment as the spatial join computes it (the reference: representative points, sjoin
    "within"; a point within no unit joins the first unit whose closure holds it, by a second sjoin)."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=points.geometry.to_crs(crs).representative_point(), index=points.index, crs=crs)
    u = units[["code", "geometry"]].reset_index(drop=True).to_crs(crs)
    joined = gpd.sjoin(pts, u, how="left", predicate="within")
    out = joined[joined["index_right"].isna()]
    edge = gpd.sjoin(pts.loc[out.index], u, how="inner", predicate="covered_by").sort_values("index_right", kind="stable")
    edge = edge[~edge.index.duplicated(keep="first")]
    joined.loc[edge.index, ["index_right", "code"]] = edge[["index_right", "code"]].to_numpy()
    joined = joined.sort_values("index_right", kind="stable")
    multi = joined[joined.index.duplicated(keep=False)]
    pairs = multi.groupby(level=0)["code"].agg(lambda s: tuple(s)).value_counts() if len(multi) else None
    first = joined[~joined.index.duplicated(keep="first")]
    return first["code"].reindex(points.index), pairs


@pytest.mark.parametrize("seed", range(8))
def test_assign_units_equals_the_spatial_join(seed):
    import geopandas as gpd
    import shapely

    from geoplan.coverage._checks import assign_units

    rng = np.random.default_rng(seed)
    # SYNTHETIC units: a grid of boxes (shared edges), some overlapping boxes, one triangle; codes as text
    # or numbers; points in UTM 35N (Helsinki) given in WGS-84 or in the units' CRS.
    boxes = [shapely.box(x, y, x + 1000, y + 1000) for x in range(0, 5000, 1000) for y in range(0, 3000, 1000)]
    if seed % 2:  # overlaps (text codes: the check row joins them)
        boxes += [shapely.box(*rng.uniform(0, 4000, 2), *(rng.uniform(0, 4000, 2) + 1500)) for _ in range(seed % 4)]
        boxes.append(shapely.Polygon([(0, 0), (2500, 0), (0, 2500)]))
    codes = [f"9{i:03d}" for i in range(len(boxes))] if seed % 2 else list(range(100, 100 + len(boxes)))
    units = gpd.GeoDataFrame({"code": codes, "name": "合成单元"}, geometry=boxes, crs=32635)
    units.index = rng.permutation(len(units)) + 7  # a label index, not positions
    n = int(rng.integers(1, 3000))
    xy = rng.uniform(-500, 5500, (n, 2))
    xy[: n // 5] = np.round(xy[: n // 5], -3)  # on corners and edges of the grid
    pts = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=shapely.points(xy), crs=32635,
                           index=rng.permutation(n) * 3)
    if seed % 3 == 0:
        pts = pts.to_crs(4326)
    got, rows = assign_units(pts, units, crs=32635)
    want, pairs = _assign_by_sjoin(pts, units, 32635)
    pd.testing.assert_series_equal(got, want)
    assert len(rows) == (0 if pairs is None else len(pairs))
    if pairs is not None:
        assert [r["item"] for r in rows] == [" / ".join(map(str, c)) for c in pairs.index]


@pytest.mark.parametrize("seed", range(12))
def test_overall_time_quantiles_from_the_shared_order_equal_a_sort_of_their_own(seed):
    from geoplan.coverage import standards
    from geoplan.coverage._indicators import _people_rows

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    mins = np.round(rng.exponential(8, n), int(rng.integers(0, 3)))  # rounded: many ties
    mins[rng.random(n) < 0.05] = np.inf  # unreachable
    mins[rng.random(n) < 0.02] = np.nan
    pop = rng.integers(0, 200, n).astype(float)  # people: whole numbers, some 0
    pop[rng.random(n) < 0.01] = np.nan
    ft = standards.default_catalogue()["elder_care_station"]
    dem = pd.DataFrame({"elder_care_station_min": mins, "elder_care_station_covered": mins <= ft.cutoff_min,
                        "pop": pop, "pop_60": pop, "pop_0_17": pop})
    by_value = np.argsort(mins, kind="stable")
    fast = _people_rows(dem, ft, "elder_care_station", by_value)
    plain = _people_rows(dem, ft, "elder_care_station")
    assert [r["indicator"] for r in fast] == [r["indicator"] for r in plain]
    for a, b in zip(fast, plain):
        assert a["value"] == b["value"] or (math.isnan(a["value"]) and math.isnan(b["value"])), a["indicator"]


def _layer_frame(path, layer):
    import pyogrio

    return pyogrio.read_dataframe(path, layer=layer)


def test_gpkg_by_arrow_equals_feature_by_feature(tmp_path):
    import geopandas as gpd
    import shapely

    from geoplan.outputs._coverage_outputs import _arrow_safe, _for_file, write_gpkg

    rng = np.random.default_rng(5)
    n = 500
    names = np.array(["合成小区", "Aleksanterinkatu", "", None, "社区\u3000站"], dtype=object)[rng.integers(0, 5, n)]
    pop = rng.integers(0, 200, n).astype(float)
    pop[::7] = np.nan
    base = gpd.GeoDataFrame({"id": [f"D{i}" for i in range(n)], "name": names, "pop": pop,
                             "covered": rng.random(n) < 0.5, "n": rng.integers(0, 9, n),
                             "nearest": pd.array([None if i % 5 == 0 else f"F{i}" for i in range(n)], dtype="string")},
                            geometry=shapely.points(rng.uniform(24.9, 25.2, n), rng.uniform(60.1, 60.3, n)), crs=4326)
    mixed = base.assign(code=[i if i % 2 else f"9{i}" for i in range(n)])  # numbers and text: not arrow-safe
    assert _arrow_safe(_for_file(base)) and not _arrow_safe(mixed.astype({"code": object}))
    write_gpkg({"demand": base, "mixed": mixed}, tmp_path / "fast.gpkg")
    for name, g in (("demand", base), ("mixed", mixed)):
        _for_file(g).to_file(tmp_path / "plain.gpkg", layer=name, driver="GPKG", use_arrow=False)
        pd.testing.assert_frame_equal(_layer_frame(tmp_path / "fast.gpkg", name),
                                      _layer_frame(tmp_path / "plain.gpkg", name))


@pytest.fixture(scope="module")
def demo_result(demo):
    from geoplan import coverage
    from geoplan.coverage import standards

    return coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                           catalogue=standards.default_catalogue())


@pytest.mark.parametrize("limit", [100, 100_000])
def test_large_layers_get_no_geojson_copy_and_the_report_says_so(demo_result, tmp_path, monkeypatch, limit):
    import re

    from geoplan.outputs import _coverage_outputs, _print_maps

    monkeypatch.setattr(_coverage_outputs, "GEOJSON_MAX_FEATURES", limit)  # the real demo has 368 demand points
    monkeypatch.setattr(_print_maps, "print_map_sections", lambda *a, **k: ([], None))  # not what is tested
    paths = _coverage_outputs.write_coverage(demo_result, tmp_path / "out", map=False)
    n = len(demo_result.demand)
    assert len(_layer_frame(paths["gpkg"], "demand")) == n  # every point in the GeoPackage either way
    assert (paths["geojson"] / "facilities.geojson").exists()
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    note = _coverage_outputs._geojson_note({"demand": n}, "zh")
    assert re.findall(r"[A-Za-z]+", note.replace("layers.gpkg", "")) == []  # Chinese only, but the file name
    if n > limit:
        assert not (paths["geojson"] / "demand.geojson").exists() and note in md
        assert "坐标点超过 250,000 个" in note
    else:
        assert (paths["geojson"] / "demand.geojson").exists() and "不另存逐要素文本副本" not in md
    # the per-facility service areas of the demo are small: copied
    assert (paths["geojson"] / "service_areas.geojson").exists()


def test_layers_with_many_coordinates_get_no_geojson_copy(demo_result, tmp_path, monkeypatch):
    """The coordinate limit: service-area polygons past it are in the GeoPackage only, counted from the layer."""
    import shapely

    from geoplan.outputs import _coverage_outputs, _print_maps

    layers = _coverage_outputs.coverage_layers(demo_result)
    n_coords = {k: int(shapely.get_num_coordinates(v.geometry.to_numpy()).sum()) for k, v in layers.items() if len(v)}
    limit = n_coords["service_areas"] - 1  # the per-facility areas just past it
    monkeypatch.setattr(_coverage_outputs, "GEOJSON_MAX_COORDINATES", limit)
    monkeypatch.setattr(_print_maps, "print_map_sections", lambda *a, **k: ([], None))
    paths = _coverage_outputs.write_coverage(demo_result, tmp_path / "out", map=False)
    for name, n in n_coords.items():
        assert (paths["geojson"] / f"{name}.geojson").exists() == (n <= limit and len(layers[name]) <= 50_000), name
    assert len(_layer_frame(paths["gpkg"], "service_areas")) == len(layers["service_areas"])
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "服务范围图层" in md and "仅保存在 layers.gpkg 中" in md


@pytest.mark.parametrize("passes", [(8, 32, 128), (1, 2), (1,)])
def test_snap_passes_give_the_exact_nearest_edge(demo, monkeypatch, passes):
    """Every pass setting (few passes: most points reach the ball query) snaps to an edge at the exact shortest
    distance, found by brute force over every candidate edge (shapely distances), on the real Helsinki graph."""
    import geopandas as gpd
    import shapely

    from geoplan.network import _snap

    net = demo.network
    monkeypatch.setattr(_snap, "_SNAP_K", passes)
    rng = np.random.default_rng(len(passes) + passes[0])
    n = 120
    k = rng.integers(0, net.n_nodes, n)
    x = net.x[k] + rng.uniform(-150, 150, n)
    y = net.y[k] + rng.uniform(-150, 150, n)
    pts = gpd.GeoSeries(shapely.points(x, y), crs=net.crs)
    got = _snap.snap(net, pts)
    idx = _snap._snap_index(net, "snappable")
    ways = net.ways()
    for i in range(n):
        d_all = shapely.distance(idx.lines, pts.iloc[i])
        best = d_all.min()
        assert got["snap_m"].iloc[i] == pytest.approx(best, abs=1e-6)
        e = got["edge"].iloc[i]
        line = ways.lines[e]
        assert shapely.distance(line, pts.iloc[i]) == pytest.approx(best, abs=1e-6)  # an edge at that distance
        on = shapely.points(got["x"].iloc[i], got["y"].iloc[i])
        assert shapely.distance(on, pts.iloc[i]) == pytest.approx(best, abs=1e-6)
        assert shapely.distance(line, on) < 1e-6  # the snapped point lies on that edge


def test_snap_in_spatial_order_equals_snap_in_file_order(demo, monkeypatch):
    import geopandas as gpd
    import shapely

    from geoplan.network import _snap

    net = demo.network
    rng = np.random.default_rng(11)
    n = 5000
    k = rng.integers(0, net.n_nodes, n)
    pts = gpd.GeoSeries(shapely.points(net.x[k] + rng.uniform(-400, 400, n), net.y[k] + rng.uniform(-400, 400, n)),
                        crs=net.crs, index=rng.permutation(n) + 2)
    monkeypatch.setattr(_snap, "_SNAP_BLOCK", 700)  # several blocks, each a stretch of the spatial order
    fast = _snap.snap(net, pts.to_crs(4326))
    monkeypatch.setattr(_snap, "_SNAP_CELL_M", 1e12)  # one cell: the points in file order
    plain = _snap.snap(net, pts.to_crs(4326))
    pd.testing.assert_frame_equal(fast, plain)
