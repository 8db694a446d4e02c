"""The raster service areas (``method="grid"``, the default) against the exact union of buffered segments.

Real data: the Helsinki walk graph of the bundled OSM extract.  The exact polygon E is shapely's
``union_all(buffer(segments))`` (``method="edges"``), an independent computation of the same ground.

Tolerance (why ``TOL_CELLS = 2.7`` cells ``h``, with ``buffer_m = 5 h``):

- a marked cell centre lies within ``h·√2/2 ≈ 0.71 h`` of a sample on a segment, and every point of a
  segment lies within ``h/4`` of a sample (samples at most ``h/2`` apart): the marked centres and the
  segments are within ``0.96 h`` of each other (Hausdorff), so the exact distance to the centres
  differs from the distance to the roads by at most ``0.96 h``;
- the contour interpolates that distance linearly along cell edges (error ``≤ h/2`` for a 1-Lipschitz
  function) and joins the crossings by chords inside a cell (``≤ h·√2/2`` from a crossing);
- E draws its circles as inscribed 16-gons: at most ``b(1 - cos(π/16)) ≈ 0.1 h`` inside the true ground.

So ``E.buffer(-2.7 h) ⊆ G ⊆ E.buffer(2.7 h)`` (0.96 + 0.5 + 0.71 + 0.1 = 2.27, plus the 0.2 h Douglas-Peucker
simplification of the traced outline, which moves it by up to 0.4 h: GEOS also drops a ring's start point that lies
within 0.2 h of its neighbours' chord, measured up to 1.75 × 0.2 h; 2.27 + 0.4 = 2.67 < 2.7; until session 23 this
said 2.5, missing the start point); over 200 generated cases the smallest tolerance that held was at most 1.25 h.  A hole of E narrower
than a few cells may close in G; the one-sided buffers allow exactly that.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoplan import InputError, demo
from geoplan.coverage import _service, service_areas
from geoplan.network import load_networks, snap

BUFFER_M = 50.0
CELL_M = BUFFER_M / _service.GRID_CELLS_PER_BUFFER
TOL_CELLS = 2.7
TOL = TOL_CELLS * CELL_M
SLACK_M2 = 1e-3  # floating-point slivers where the two outlines touch


@pytest.fixture(scope="module")
def net():
    return load_networks(demo.helsinki_pbf(), modes={"walk"})["walk"]


def _points(net, xy):
    return gpd.GeoDataFrame({"id": [f"f{i}" for i in range(len(xy))]},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)


def _random_facilities(net, rng, n):
    """Half at nodes, half mid-edge and a little off the road (snapped onto the edge)."""
    at_node = rng.choice(net.n_nodes, n // 2, replace=False)
    tails, heads = net.edge_arrays()
    e = rng.choice(len(tails), n - n // 2, replace=False)
    f = rng.uniform(0.2, 0.8, len(e))[:, None]
    mid = (1 - f) * np.column_stack([net.x[tails[e]], net.y[tails[e]]]) + f * np.column_stack(
        [net.x[heads[e]], net.y[heads[e]]])
    mid += rng.uniform(-15, 15, mid.shape)
    return _points(net, np.vstack([np.column_stack([net.x[at_node], net.y[at_node]]), mid]))


def _within_tol(g, e, tol=TOL):
    """E shrunk by ``tol`` lies in G, and G in E grown by ``tol`` (areas of what sticks out)."""
    inner = shapely.difference(shapely.buffer(e, -tol, quad_segs=16), g).area
    outer = shapely.difference(g, shapely.buffer(e, tol, quad_segs=16)).area
    return inner, outer


@pytest.mark.parametrize("seed", range(12))
def test_grid_matches_exact_edges(net, seed):
    rng = np.random.default_rng(seed)
    fac = _random_facilities(net, rng, 10)
    nodes = snap(net, fac)
    cutoff = float(rng.uniform(20, 240))  # seconds of walking: small, so the exact method stays fast
    g = service_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M)
    e = service_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M, method="edges")
    assert list(g.index) == list(fac.index) and g.crs == net.crs
    for k, (gg, ee) in enumerate(zip(g.geometry, e.geometry)):
        assert gg.is_valid and not gg.is_empty
        inner, outer = _within_tol(gg, ee)
        assert inner <= SLACK_M2 and outer <= SLACK_M2, (seed, k, cutoff, inner, outer)
        # and the bound is not vacuous: the two areas agree closely
        assert abs(gg.area - ee.area) <= TOL * ee.boundary.length


@pytest.mark.parametrize("seed", range(5))
def test_type_area_is_union_of_exact_areas(net, seed):
    rng = np.random.default_rng(100 + seed)
    fac = _random_facilities(net, rng, 12)
    nodes = snap(net, fac)
    cutoff = float(rng.uniform(30, 180))
    per, whole = _service.type_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M)
    exact = service_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M, method="edges")
    union = shapely.union_all(exact.geometry.to_numpy())
    inner, outer = _within_tol(whole, union)
    assert inner <= SLACK_M2 and outer <= SLACK_M2, (seed, inner, outer)
    # the dissolved area is the union of the grid areas too (same lattice, same samples)
    inner, outer = _within_tol(whole, shapely.union_all(per.geometry.to_numpy()), tol=CELL_M)
    assert inner <= SLACK_M2 and outer <= SLACK_M2


def test_empty_reach_and_mid_edge(net):
    tails, heads = net.edge_arrays()
    length = np.hypot(net.x[heads] - net.x[tails], net.y[heads] - net.y[tails])
    e = int(np.argmax(length))  # the longest segment: its middle is far from both ends
    mid = np.array([[(net.x[tails[e]] + net.x[heads[e]]) / 2, (net.y[tails[e]] + net.y[heads[e]]) / 2]])
    fac = _points(net, mid)
    nodes = snap(net, fac)
    # cutoff 0: no node is reached, the area is the disc around the snapped point
    g = service_areas(net, fac, cutoff=0.0, nodes=nodes, buffer_m=BUFFER_M).geometry.iloc[0]
    disc = shapely.Point(nodes["x"].iloc[0], nodes["y"].iloc[0]).buffer(BUFFER_M)
    inner, outer = _within_tol(g, disc)
    assert inner <= SLACK_M2 and outer <= SLACK_M2
    # mid-edge with some reach: the snapped point's disc is inside (within tolerance)
    for cutoff in (length[e] / 2 / 1.2, 60.0):
        g = service_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M).geometry.iloc[0]
        x = service_areas(net, fac, cutoff=cutoff, nodes=nodes, buffer_m=BUFFER_M, method="edges").geometry.iloc[0]
        assert shapely.difference(shapely.buffer(disc, -TOL), g).area <= SLACK_M2
        inner, outer = _within_tol(g, x)
        assert inner <= SLACK_M2 and outer <= SLACK_M2
    # node positions instead of a snap table: a lone node gives its own disc, as the exact method does
    n0 = np.array([int(tails[e])])
    g = service_areas(net, fac, cutoff=0.0, nodes=n0, buffer_m=BUFFER_M).geometry.iloc[0]
    x = service_areas(net, fac, cutoff=0.0, nodes=n0, buffer_m=BUFFER_M, method="edges").geometry.iloc[0]
    inner, outer = _within_tol(g, x)
    assert not g.is_empty and inner <= SLACK_M2 and outer <= SLACK_M2
    # no facility at all
    empty = service_areas(net, fac.iloc[:0], cutoff=60.0, nodes=nodes.iloc[:0])
    assert len(empty) == 0
    per, whole = _service.type_areas(net, fac.iloc[:0], cutoff=60.0, nodes=nodes.iloc[:0])
    assert len(per) == 0 and whole.is_empty
    by_fac, by_type = _service.measured_areas([], net.crs)
    assert list(by_fac.columns) == ["facility_id", "type", "geometry"] and list(by_type.columns) == ["type", "geometry"]


def test_deterministic_and_methods(net):
    fac = _random_facilities(net, np.random.default_rng(7), 6)
    nodes = snap(net, fac)
    runs = [service_areas(net, fac, cutoff=300.0, nodes=nodes) for _ in range(2)]
    assert [g.wkb for g in runs[0].geometry] == [g.wkb for g in runs[1].geometry]
    wholes = [_service.type_areas(net, fac, cutoff=300.0, nodes=nodes)[1] for _ in range(2)]
    assert wholes[0].wkb == wholes[1].wkb
    hull = service_areas(net, fac, cutoff=60.0, nodes=nodes, method="hull")
    assert all(g.is_valid and not g.is_empty for g in hull.geometry)
    with pytest.raises(InputError):
        service_areas(net, fac, cutoff=60.0, nodes=nodes, method="raster")


def test_measured_areas_columns_and_crs(net):
    fac = _random_facilities(net, np.random.default_rng(3), 4)
    nodes = snap(net, fac)
    by_fac, by_type = _service.measured_areas([("clinic", net, fac, nodes, 90.0)], "EPSG:4326")
    assert list(by_fac["facility_id"]) == list(fac["id"]) and set(by_fac["type"]) == {"clinic"}
    assert by_fac.crs == "EPSG:4326" and by_type.crs == "EPSG:4326" and list(by_type["type"]) == ["clinic"]
    # the per-type area holds every facility's area (same ground, reprojected alike)
    grown = by_type.to_crs(net.crs).geometry.iloc[0].buffer(CELL_M)
    assert all(shapely.difference(g, grown).area <= 1.0 for g in by_fac.to_crs(net.crs).geometry)


@pytest.mark.parametrize("seed", range(4))
def test_traced_outline_simplified_ring_by_ring_as_geos_simplifies_polygons(seed):
    """(session 23) The traced outline is simplified ring by ring and repaired with ``make_valid`` where that left
    it invalid, not by GEOS's polygon simplification (which repairs with ``buffer(0)``, three times slower on a
    district's area): over generated fields with many holes, every result is valid, every point of its outline
    lies within twice the tolerance of the unsimplified outline (Douglas-Peucker's tolerance, twice for the
    start point of a ring, which GEOS drops when it lies within the tolerance of its neighbours' chord), and it covers the same
    ground as GEOS's own simplification up to the repairs' differences (measured at most 0.03 % of the area)."""
    contourpy = pytest.importorskip("contourpy")
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    for _ in range(60):
        ny, nx = rng.integers(20, 160, 2)
        z = gaussian_filter(rng.normal(size=(ny, nx)), rng.uniform(0.7, 3.0))  # blobs with holes, some touching
        ix, iy = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
        gen = contourpy.SerialContourGenerator(ix, iy, z, None, corner_mask=True,
                                               line_type=contourpy.LineType.Separate,
                                               fill_type=contourpy.FillType.OuterOffset, quad_as_tri=False,
                                               z_interp=contourpy.ZInterp.Linear)
        points, offsets = gen.filled(-10.0, 0.0)
        tol = float(rng.choice([0.2, 0.5, 1.0]))
        raw = _service._polygons(points, offsets)
        got = _service._polygons(points, offsets, simplify=tol)
        assert shapely.is_valid(got) and got.geom_type in ("Polygon", "MultiPolygon")
        outline = shapely.get_coordinates(shapely.segmentize(got.boundary, tol / 4))
        assert shapely.distance(shapely.points(outline), raw.boundary).max(initial=0) <= 2 * tol + 1e-9
        geos = shapely.simplify(raw, tol, preserve_topology=False)
        assert shapely.symmetric_difference(got, geos).area <= 1e-3 * max(raw.area, 1.0)
