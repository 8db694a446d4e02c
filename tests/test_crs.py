"""Tests for geoplan.crs: Chinese map datums and projected CRS choice.

Reference values
----------------
* WGS-84 -> GCJ-02 pairs for Shanghai, Shenzhen and Beijing are the test table
  of the eviltransform project (github.com/googollee/eviltransform,
  ``go/transform_test.go`` and ``python/test.py``), published there to 14+
  digits; the forward algorithm is deterministic so we match to 1e-9°.
* (123, 45) in every direction is the test point of the gcoord project
  (github.com/hujiulong/gcoord, ``test/unit/crs/*.spec.ts``), which checks to
  5 decimals (|error| < 5e-6°).  gcoord inverts GCJ-02 and BD-09 with the
  one-step formula, so its inverse values differ from our iterated ones by
  ~1e-7°-1e-6°, well within its own 5-decimal tolerance.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geoplan import CRSError, InputError
from geoplan import io as gc


def metres(lon1, lat1, lon2, lat2):
    """Geodesic distance on WGS-84 in metres."""
    return pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


# (wgs lon, wgs lat, gcj lon, gcj lat) from eviltransform's test table.
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM)
def test_wgs_to_gcj_matches_eviltransform(wlon, wlat, glon, glat):
    lon, lat = gc.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM)
def test_gcj_to_wgs_is_exact_inverse(wlon, wlat, glon, glat):
    lon, lat = gc.gcj02_to_wgs84(glon, glat)
    # eviltransform's own "exact" inverse only promises 0.5 m; ours is ~1e-9°.
    assert abs(lon - wlon) < 1e-8 and abs(lat - wlat) < 1e-8
    assert metres(lon, lat, wlon, wlat) < 0.01


@pytest.mark.parametrize(
    "func, expected",
    [
        # gcoord's published values for the point (123, 45).
        (gc.wgs84_to_gcj02, (123.00607541, 45.00197815)),
        (gc.wgs84_to_bd09, (123.0124491, 45.0083293)),
        (gc.gcj02_to_bd09, (123.00636499, 45.00636899)),
        (gc.gcj02_to_wgs84, (122.99395597, 44.99804071)),
        (gc.bd09_to_gcj02, (122.99363304, 44.99365430)),
        (gc.bd09_to_wgs84, (122.98762210, 44.99171540)),
    ],
)
def test_gcoord_reference_point(func, expected):
    lon, lat = func(123.0, 45.0)
    assert lon == pytest.approx(expected[0], abs=5e-6)
    assert lat == pytest.approx(expected[1], abs=5e-6)


def test_iterated_inverse_beats_one_step_formula():
    # The crude inverse (subtract the offset at the GCJ point) is what gcoord
    # gives: 122.99395597, 44.99804071.  Ours must reproduce the input exactly.
    lon, lat = gc.gcj02_to_wgs84(123.0, 45.0)
    back = gc.wgs84_to_gcj02(lon, lat)
    assert back[0] == pytest.approx(123.0, abs=1e-10)
    assert back[1] == pytest.approx(45.0, abs=1e-10)
    crude_back = gc.wgs84_to_gcj02(122.99395597, 44.99804071)
    assert max(abs(crude_back[0] - 123.0), abs(crude_back[1] - 45.0)) > 1e-7


def test_beijing_offset_in_metres():
    # Tiananmen area, the usual example: the GCJ-02 shift is ~0.0062° east and
    # ~0.0014° north, i.e. about 530 m E and 155 m N.
    lon, lat = gc.wgs84_to_gcj02(116.404, 39.915)
    d = metres(116.404, 39.915, lon, lat)
    assert 100 < d < 700
    assert d == pytest.approx(555, abs=10)
    blon, blat = gc.wgs84_to_bd09(116.404, 39.915)
    assert 100 < metres(116.404, 39.915, blon, blat) < 1500


@pytest.mark.parametrize(
    "lon, lat",
    [(112.944, 27.829), (121.47, 31.23), (113.26, 23.13), (87.62, 43.82), (91.11, 29.65)],
)
def test_offsets_in_china_are_hundreds_of_metres(lon, lat):
    # Xiangtan, Shanghai, Guangzhou, Urumqi, Lhasa.
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    assert 100 < metres(lon, lat, glon, glat) < 700


@pytest.mark.parametrize("lon, lat", [(2.35, 48.86), (-74.0, 40.7), (151.2, -33.9), (60.0, 30.0)])
def test_no_gcj_offset_outside_china(lon, lat):
    assert gc.out_of_china(lon, lat)
    assert gc.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gc.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert gc.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_out_of_china_vectorised():
    res = gc.out_of_china(np.array([116.4, 2.35, 140.0]), np.array([39.9, 48.86, 35.0]))
    assert res.tolist() == [False, True, True]


def test_vectorised_matches_scalar_and_keeps_shape():
    lons = np.array([[116.404, 112.944], [121.47, 2.35]])
    lats = np.array([[39.915, 27.829], [31.23, 48.86]])
    x, y = gc.wgs84_to_gcj02(lons, lats)
    assert x.shape == lons.shape
    for i in range(2):
        for j in range(2):
            assert (x[i, j], y[i, j]) == gc.wgs84_to_gcj02(lons[i, j], lats[i, j])
    # inputs untouched
    assert lons[0, 0] == 116.404


def test_nan_passes_through():
    x, y = gc.gcj02_to_wgs84(np.array([np.nan, 116.4]), np.array([30.0, 39.9]))
    assert math.isnan(x[0]) and math.isnan(y[0]) and np.isfinite(x[1])


def test_bd_roundtrip_exact():
    blon, blat = gc.gcj02_to_bd09(112.944, 27.829)
    lon, lat = gc.bd09_to_gcj02(blon, blat)
    assert abs(lon - 112.944) < 1e-10 and abs(lat - 27.829) < 1e-10


@pytest.mark.parametrize("datum", ["wgs84", "cgcs2000", "WGS-84", "CGCS2000"])
def test_wgs_and_cgcs_are_identity(datum):
    assert gc.to_wgs84(112.944, 27.829, datum) == (112.944, 27.829)
    assert gc.from_wgs84(112.944, 27.829, datum) == (112.944, 27.829)


def test_to_from_dispatch():
    assert gc.from_wgs84(116.404, 39.915, "gcj02") == gc.wgs84_to_gcj02(116.404, 39.915)
    assert gc.from_wgs84(116.404, 39.915, "bd09") == gc.wgs84_to_bd09(116.404, 39.915)
    assert gc.to_wgs84(116.41, 39.92, "GCJ-02") == gc.gcj02_to_wgs84(116.41, 39.92)
    assert gc.to_wgs84(116.41, 39.92, "bd09") == gc.bd09_to_wgs84(116.41, 39.92)


@pytest.mark.parametrize("bad", ["gcj", "baidu", "", "EPSG:4326", None, 4326])
def test_unknown_datum_names_the_accepted_values(bad):
    with pytest.raises(InputError) as exc:
        gc.to_wgs84(116.4, 39.9, bad)
    for name in gc.DATUMS:
        assert name in str(exc.value)
    assert exc.value.field == "datum"


china_lon = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_roundtrip_wgs_gcj_property(lon, lat):
    # The box around China also holds Mongolia, Korea, Hanoi, Taiwan...: the shift
    # applies exactly where in_mainland says, and there the inverse is exact.
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    if gc.in_mainland(lon, lat):
        back = gc.gcj02_to_wgs84(glon, glat)
        assert abs(back[0] - lon) < 1e-6 and abs(back[1] - lat) < 1e-6
        assert 1 < metres(lon, lat, glon, glat) < 1000
    else:
        assert (glon, glat) == (lon, lat)
        # Whatever the inverse picks, it is a point that maps back onto the input.
        back = gc.gcj02_to_wgs84(glon, glat)
        fwd = gc.wgs84_to_gcj02(*back)
        assert abs(fwd[0] - lon) < 1e-6 and abs(fwd[1] - lat) < 1e-6


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_roundtrip_wgs_bd_property(lon, lat):
    b = gc.wgs84_to_bd09(lon, lat)
    if gc.in_mainland(lon, lat):
        back = gc.bd09_to_wgs84(*b)
        assert abs(back[0] - lon) < 1e-6 and abs(back[1] - lat) < 1e-6
    else:
        assert b == (lon, lat)
        fwd = gc.wgs84_to_bd09(*gc.bd09_to_wgs84(*b))
        assert abs(fwd[0] - lon) < 1e-6 and abs(fwd[1] - lat) < 1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=50))
def test_roundtrip_vectorised_property(points):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    inside = gc.in_mainland(lon, lat)
    for datum in ("gcj02", "bd09"):
        fx, fy = gc.from_wgs84(lon, lat, datum)
        # vectorised equals scalar
        assert [(a, b) for a, b in zip(fx, fy)] == [gc.from_wgs84(a, b, datum) for a, b in zip(lon, lat)]
        x, y = gc.to_wgs84(fx, fy, datum)
        assert np.max(np.abs(x - lon)[inside], initial=0) < 1e-6
        assert np.max(np.abs(y - lat)[inside], initial=0) < 1e-6


# --- geometries -------------------------------------------------------------

def _layer():
    # Rough outline around 湘潭市民政局 / 雨湖区 (coordinates read off OSM, WGS-84).
    square = Polygon([(112.90, 27.85), (112.95, 27.85), (112.95, 27.88), (112.90, 27.88)])
    hole = Polygon(
        [(112.90, 27.85), (112.95, 27.85), (112.95, 27.88), (112.90, 27.88)],
        [[(112.92, 27.86), (112.93, 27.86), (112.93, 27.87)]],
    )
    geoms = [
        Point(112.944, 27.829),
        LineString([(112.90, 27.85), (112.95, 27.86)]),
        square,
        MultiPolygon([hole, Polygon([(113.0, 27.9), (113.1, 27.9), (113.1, 28.0)])]),
        Point(112.944, 27.829, 55.0),
    ]
    return gpd.GeoDataFrame({"name": list("abcde")}, geometry=geoms, crs=4326)


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_geometry_roundtrip_all_types(datum):
    gdf = _layer()
    shifted = gc.geometry_from_wgs84(gdf, datum)
    assert shifted.crs.to_epsg() == 4326
    assert list(shifted["name"]) == list("abcde")
    assert not shifted.geometry.geom_equals_exact(gdf.geometry, tolerance=1e-4).any()
    # every vertex moved by the point transform
    x, y = gc.from_wgs84(112.944, 27.829, datum)
    assert shifted.geometry.iloc[0].x == x and shifted.geometry.iloc[0].y == y
    assert shifted.geometry.iloc[4].has_z and shifted.geometry.iloc[4].z == 55.0
    assert len(shifted.geometry.iloc[3].geoms[0].interiors) == 1
    back = gc.geometry_to_wgs84(shifted, datum)
    assert back.geometry.geom_equals_exact(gdf.geometry, tolerance=1e-8).all()
    # original untouched
    assert gdf.geometry.iloc[0].x == 112.944


def test_geometry_helpers_on_geoseries_and_shapely():
    pt = Point(116.404, 39.915)
    moved = gc.geometry_from_wgs84(pt, "gcj02")
    assert (moved.x, moved.y) == gc.wgs84_to_gcj02(116.404, 39.915)
    gs = gpd.GeoSeries([pt], crs=4326)
    out = gc.geometry_to_wgs84(gc.geometry_from_wgs84(gs, "gcj02"), "gcj02")
    assert isinstance(out, gpd.GeoSeries)
    assert out.iloc[0].distance(pt) < 1e-9
    arr = gc.geometry_to_wgs84(np.array([moved]), "gcj02")
    assert shapely.get_x(arr[0]) == pytest.approx(116.404, abs=1e-9)


def test_geometry_projected_layer():
    gdf = _layer().to_crs(32649)
    out = gc.geometry_to_wgs84(gdf, "cgcs2000")
    assert out.crs.to_epsg() == 4326
    with pytest.raises(CRSError):
        gc.geometry_to_wgs84(gdf, "gcj02")


def test_geometry_unknown_datum():
    with pytest.raises(InputError, match="accepted values"):
        gc.geometry_to_wgs84(_layer(), "mars")


# --- projected CRS -----------------------------------------------------------

@pytest.mark.parametrize(
    "lon, lat, epsg",
    [
        (112.944, 27.829, 32649),  # Xiangtan: zone 49N (108-114°E)
        (116.404, 39.915, 32650),  # Beijing: zone 50N
        (87.62, 43.82, 32645),  # Urumqi: 45N
        (151.2, -33.9, 32756),  # Sydney: 56S
        (-180.0, 0.0, 32601),
        (180.0, 10.0, 32601),
        (179.9, 10.0, 32660),
    ],
)
def test_utm_crs(lon, lat, epsg):
    assert gc.utm_crs(lon, lat).to_epsg() == epsg


def test_utm_crs_rejects_bad_input():
    with pytest.raises(InputError):
        gc.utm_crs(float("nan"), 30)


def test_projected_crs_for_uses_centre_even_from_projected_source():
    gdf = _layer()
    assert gc.projected_crs_for(gdf).to_epsg() == 32649
    assert gc.projected_crs_for(gdf.to_crs(3857)).to_epsg() == 32649


def test_ensure_projected():
    gdf = _layer()
    out = gc.ensure_projected(gdf)
    assert out.crs.to_epsg() == 32649
    assert out is not gdf and gdf.crs.to_epsg() == 4326
    # a CGCS2000 3-degree Gauss-Krüger layer (EPSG:4545, CM 111°E... zone 38 = 114°E)
    gk = gdf.to_crs(4545)
    kept = gc.ensure_projected(gk)
    assert kept.crs.to_epsg() == 4545 and kept is not gk
    assert gc.ensure_projected(gdf, crs=4547).crs.to_epsg() == 4547
    with pytest.raises(CRSError, match="not a projected"):
        gc.ensure_projected(gdf, crs=4490)
    with pytest.raises(CRSError, match="no CRS"):
        gc.ensure_projected(gdf.set_crs(None, allow_override=True))


def test_ensure_projected_length_is_metres():
    # 0.01° of latitude is ~1107 m at 27.8°N.
    line = gpd.GeoSeries([LineString([(112.944, 27.82), (112.944, 27.83)])], crs=4326)
    assert gc.ensure_projected(line).length.iloc[0] == pytest.approx(1107, abs=3)


def test_is_geographic():
    assert gc.is_geographic(4326)
    assert gc.is_geographic("EPSG:4490")
    assert not gc.is_geographic(4545)
    assert not gc.is_geographic(pyproj.CRS.from_epsg(32649))
    with pytest.raises(CRSError):
        gc.is_geographic(None)
    with pytest.raises(CRSError):
        gc.is_geographic("not a crs")
