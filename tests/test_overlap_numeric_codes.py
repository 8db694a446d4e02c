"""Overlapping units whose codes are numbers (a units table built in a notebook): the overlap is a check row
naming both codes, not a crash; the point goes to the first unit in file order."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geoplan.coverage._checks import assign_units


@pytest.mark.parametrize("codes", [[430302001, 430302002], ["430302001", "430302002"]])
def test_overlap_with_number_or_text_codes(codes):
    units = gpd.GeoDataFrame({"code": codes, "name": ["甲街道", "乙街道"]},
                             geometry=[shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)], crs=32650)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([7, 2, 12, 50], [5, 5, 5, 5]), crs=32650)
    code, rows = assign_units(pts, units, crs=32650)
    same = (lambda c: float(c)) if isinstance(codes[0], int) else str  # number codes come back as float (NaN outside)
    assert [same(c) for c in code.iloc[:3]] == [same(codes[0]), same(codes[0]), same(codes[1])]
    assert code.isna().iloc[3]
    assert len(rows) == 1
    text = " ".join(str(v) for v in rows[0].values())
    assert str(codes[0]) in text and str(codes[1]) in text and "1 个需求点" in text
