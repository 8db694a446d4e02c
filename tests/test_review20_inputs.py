"""Input-side defects of review 20 (issue 17 follow-up), each against an independent expectation.

- D4: a demand point exactly on a unit boundary (shared edge or vertex) goes to the first unit in file order
  whose closure holds it, and a shared boundary is no overlap (brute force with shapely predicates over every
  point x unit pair, on the real Helsinki demo units; both the STRtree path and the spatial-join fallback);
- D5: repeated admin-unit (or village) codes stop ``assess`` with an InputError naming the file, both rows and
  ``code``, before any unit assignment or snapping;
- D8: ``snap`` with NaN coordinates raises an InputError naming the row;
- D10: superscript, subscript, circled, fraction... digits are not read as digits (every such character of
  Unicode, found by scanning it); full-width forms still are.
"""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan._errors import InputError
from geoplan.io._numbers import _numeric_column, _parse_number

# --------------------------------------------------------------------------- D4: points on unit boundaries


def _brute_force(points_geoms: np.ndarray, unit_geoms: np.ndarray, codes: np.ndarray):
    """Per point: the first unit (file order) strictly containing it, else the first whose closure holds it;
    and the tuples of units of the points strictly inside several (the overlaps)."""
    within = shapely.within(points_geoms[:, None], unit_geoms[None, :])
    closure = shapely.covered_by(points_geoms[:, None], unit_geoms[None, :])
    out, multi = [], []
    for w, c in zip(within, closure):
        if w.any():
            out.append(codes[np.argmax(w)])
            if w.sum() > 1:
                multi.append(tuple(str(x) for x in codes[w]))
        elif c.any():
            out.append(codes[np.argmax(c)])
        else:
            out.append(np.nan)
    return out, multi, (~within.any(1) & closure.any(1))


@pytest.fixture(scope="module")
def units(demo):
    return demo.units[["code", "name", "geometry"]].to_crs(demo.network.crs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("path", ["points", "fallback"])
def test_points_on_unit_boundaries_go_to_the_first_adjacent_unit(units, seed, path):
    from geoplan.coverage._checks import assign_units

    rng = np.random.default_rng(seed)
    crs = units.crs
    u = units.sample(frac=1.0, random_state=seed) if seed % 2 else units  # file order matters: shuffle it
    if seed >= 2:  # an overlapping unit (real geometry, shifted): overlaps are still listed
        extra = u.iloc[[0]].copy()
        extra["code"] = "99999"
        extra["geometry"] = extra.geometry.translate(150.0, 80.0)
        u = pd.concat([u, extra])
    verts = shapely.get_coordinates(u.geometry.boundary.to_numpy())
    mids = (verts[:-1] + verts[1:]) / 2  # some lie exactly on their edge, some not: the brute force decides
    b = u.total_bounds
    xy = np.vstack([verts[rng.choice(len(verts), 300)], mids[rng.choice(len(mids), 300)],
                    np.column_stack([rng.uniform(b[0] - 300, b[2] + 300, 600), rng.uniform(b[1] - 300, b[3] + 300, 600)])])
    geoms = shapely.points(xy)
    if path == "fallback":  # one-point multipoints: not plain points, so the spatial join runs
        geoms = np.array([shapely.multipoints([g]) for g in geoms], dtype=object)
    pts = gpd.GeoDataFrame({"id": np.arange(len(xy))}, geometry=geoms, crs=crs, index=rng.permutation(len(xy)) + 5)
    got, rows = assign_units(pts, u, crs=crs)
    want, multi, on_edge = _brute_force(shapely.points(xy), u.geometry.to_numpy(), u["code"].to_numpy(object))
    assert on_edge.sum() > 100  # the case of the defect is there (before the fix: all of them NaN)
    assert [None if pd.isna(v) else v for v in got.tolist()] == [None if pd.isna(v) else v for v in want]
    assert got.index.equals(pts.index)
    # overlap rows: exactly the groups of units holding a point in their interiors, never a shared boundary
    want_groups = pd.Series(multi, dtype=object).value_counts() if multi else pd.Series(dtype=int)
    assert sorted(r["item"] for r in rows) == sorted(" / ".join(k) for k in want_groups.index)
    for r in rows:
        assert r["detail_en"].startswith(f"{want_groups[tuple(r['item'].split(' / '))]} demand point")


def test_the_two_paths_agree_on_boundaries_of_reprojected_points(units):
    """Points given in WGS-84 (the usual input): both paths give the same units."""
    from geoplan.coverage._checks import assign_units

    rng = np.random.default_rng(9)
    verts = shapely.get_coordinates(units.geometry.boundary.to_numpy())
    xy = np.vstack([verts[rng.choice(len(verts), 200)], verts[rng.choice(len(verts), 200)] + rng.normal(0, 5, (200, 2))])
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=units.crs).to_crs(4326)
    fast, _ = assign_units(pts, units, crs=units.crs)
    multi = pts.copy()
    multi["geometry"] = [shapely.multipoints([g]) for g in pts.geometry]
    slow, _ = assign_units(multi, units, crs=units.crs)
    pd.testing.assert_series_equal(fast, slow)


# --------------------------------------------------------------------------- D5: repeated unit codes


def _no_slow_steps(monkeypatch):
    from geoplan.coverage import _checks, _coverage

    def boom(*a, **k):
        raise AssertionError("a slow step ran before the code check")

    monkeypatch.setattr(_checks, "assign_units", boom)
    monkeypatch.setattr(_checks, "repair_units", boom)
    monkeypatch.setattr(_coverage, "snap", boom)


@pytest.mark.parametrize("as_number", [False, True])
def test_repeated_unit_code_is_an_input_error_before_the_slow_steps(demo, monkeypatch, as_number):
    from geoplan import coverage

    u = demo.units.copy()
    u.attrs["source"] = "units.gpkg"
    u["code"] = u["code"].astype(object)
    if as_number:  # one as text, one as a number (a table built in a notebook): the same code
        u.loc[u.index[1], "code"], u.loc[u.index[3], "code"] = "430302001", 430302001
    else:
        u.loc[u.index[3], "code"] = u["code"].iloc[1]
    _no_slow_steps(monkeypatch)
    with pytest.raises(InputError) as ei:
        coverage.assess(demo.network, demo.facilities, demo.demand, units=u, with_service_areas=False)
    e = ei.value
    assert e.file == "units.gpkg" and e.field == "code" and e.row == u.index[3]
    assert f"rows {u.index[1]} and {u.index[3]}" in str(e) and str(u["code"].iloc[1]) in str(e)


def test_repeated_unit_code_names_source_rows(demo, monkeypatch):
    """Units from geoplan.io carry their source rows: the error names those, not the index labels."""
    from geoplan import coverage
    from geoplan.io._checks import _row_ranges

    u = demo.units.copy()
    u.attrs.update(source="units.gpkg", row_ranges=_row_ranges(range(2, 2 + len(u))))
    u.loc[u.index[-1], "code"] = u["code"].iloc[0]
    _no_slow_steps(monkeypatch)
    with pytest.raises(InputError) as ei:
        coverage.assess(demo.network, demo.facilities, demo.demand, units=u, with_service_areas=False)
    assert ei.value.row == 1 + len(u) and f"rows 2 and {1 + len(u)}" in str(ei.value)


def test_unit_without_code_is_an_input_error(demo, monkeypatch):
    from geoplan import coverage

    u = demo.units.copy()
    u["code"] = u["code"].astype(object)
    u.loc[u.index[2], "code"] = None
    _no_slow_steps(monkeypatch)
    with pytest.raises(InputError) as ei:
        coverage.assess(demo.network, demo.facilities, demo.demand, units=u, with_service_areas=False)
    assert ei.value.field == "code" and ei.value.row == u.index[2]


def test_repeated_code_of_an_abolished_unit_is_no_error(demo):
    """An abolished unit leaves first: its code may be reused by the unit that replaced it."""
    from geoplan import coverage

    u = demo.units.copy()
    old = u.iloc[[0]].copy()
    old["abolished"] = True
    u["abolished"] = False
    u = pd.concat([u, old], ignore_index=True)
    r = coverage.assess(demo.network, demo.facilities, demo.demand, units=u, types=["social_work"],
                        with_service_areas=False)
    assert sorted(r.units["unit_code"].unique()) == sorted(demo.units["code"])


def test_repeated_village_code_is_handled_the_same_way(demo, monkeypatch):
    """The shipped village list (real codes) with one code repeated: file, both rows, field code, early."""
    from geoplan import coverage
    from geoplan.demo import load_villages

    vil = load_villages().head(40).reset_index(drop=True)
    vil.attrs["source"] = "villages.csv"
    vil.loc[30, "code"] = vil.loc[7, "code"]
    _no_slow_steps(monkeypatch)
    with pytest.raises(InputError) as ei:
        coverage.assess(demo.network, demo.facilities, demo.demand, units=demo.units, villages=vil,
                        with_service_areas=False)
    e = ei.value
    assert (e.file, e.field, e.row) == ("villages.csv", "code", 30) and "rows 7 and 30" in str(e)


# --------------------------------------------------------------------------- D8: NaN coordinates in snap


@pytest.mark.parametrize("crs", ["network", 4326])
def test_snap_refuses_nan_coordinates_naming_the_row(demo, crs):
    from geoplan.network import snap

    net = demo.network
    x, y = net.x[[5, 9, 14]].copy(), net.y[[5, 9, 14]].copy()
    pts = gpd.GeoSeries(shapely.points(x, y), crs=net.crs, index=[10, 11, 12])
    if crs != "network":
        pts = pts.to_crs(crs)
    ok = snap(net, pts)
    assert np.isfinite(ok["snap_m"]).all()
    bad = pts.copy()
    bad.iloc[1] = shapely.points(np.nan, np.nan)
    with pytest.raises(InputError) as ei:
        snap(net, bad)
    assert ei.value.row == 11 and ei.value.field == "geometry" and "not finite" in str(ei.value)


# --------------------------------------------------------------------------- D10: digits that are not digits


def _odd_digits() -> list[str]:
    """Every character NFKC turns into text with an ASCII digit, but for the full-width digits: superscripts,
    subscripts, circled, parenthesised, fractions, mathematical digits... (a scan of Unicode, independent of
    the parser)."""
    out = []
    for cp in range(0x80, 0x30000):
        ch = chr(cp)
        if "\uff10" <= ch <= "\uff19":
            continue
        if any(c in "0123456789" for c in unicodedata.normalize("NFKC", ch)):
            out.append(ch)
    return out


ODD = _odd_digits()


def test_the_scan_finds_the_reported_characters():
    assert {"⁵", "³", "⁴", "₂", "①", "½", "⑴", "⒈", "𝟏"} <= set(ODD) and len(ODD) > 200


@pytest.mark.parametrize("template", ["1{}", "{}", "10{}", "１０{}", "{}0", "1e{}", "{}.5", "+{}"])
def test_odd_digits_are_not_numbers(template):
    for ch in ODD:
        cell = template.format(ch)
        assert _parse_number(cell) is None, (cell, _parse_number(cell))


@pytest.mark.parametrize("pos", [0, 57, 999])
def test_odd_digit_cell_is_refused_with_file_row_and_field(pos):
    """A column of plain numbers (the vectorised pyarrow path) with one odd cell: refused at its row."""
    rng = np.random.default_rng(pos)
    rows = pd.RangeIndex(2, 1002)
    for ch in rng.choice(ODD, 25, replace=False):
        cells = np.round(rng.uniform(0, 500, 1000), 1).astype(str).astype(object)
        cells[pos] = "10" + ch
        frame = pd.DataFrame({"人口": pd.Series(cells, index=rows, dtype=object)})
        with pytest.raises(InputError) as ei:
            _numeric_column(frame, "人口", what="population", file="t.csv", rows=rows, required=False, nonneg=True)
        e = ei.value
        assert (e.file, e.row, e.field) == ("t.csv", rows[pos], "人口") and "is not a number" in str(e)


def test_full_width_forms_and_spaces_are_still_folded():
    """Full-width digits, point, signs and the ideographic/no-break spaces read as their ASCII forms."""
    rng = np.random.default_rng(3)
    wide = str.maketrans("0123456789.+-", "０１２３４５６７８９．＋－")
    for _ in range(300):
        v = float(np.round(rng.uniform(-1e5, 1e5), int(rng.integers(0, 4))))
        text = repr(v) if "e" not in repr(v) else f"{v:.3f}"
        pad = rng.choice(["", "\u3000", "\u00a0", " "])
        assert _parse_number(pad + text.translate(wide) + pad) == float(text)
    assert _parse_number("1\u00a0234") == 1234.0 and _parse_number("１，２３４") == 1234.0
