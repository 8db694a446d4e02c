"""Service areas follow each road's own shape on a network read from road lines (review 20, D1).

Real data: the GeoDaNet street layer shipped inside libpysal (293 lines, Mesa/Tempe, Arizona State Plane), many
of them with several vertices between junctions.  With a cutoff that reaches the facility's whole connected part
of the network, the area must hold the 50 m band around every road of that part — drawn from the source lines,
with the part found by scipy's connected components — and stay within that band grown by the grid's bound.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from geoplan.coverage import service_areas

libpysal = pytest.importorskip("libpysal")
STREETS = Path(libpysal.__file__).parent / "examples" / "geodanet" / "streets.shp"
pytestmark = pytest.mark.skipif(not STREETS.exists(), reason="libpysal example data not on disk")

BUFFER, CELL = 50.0, 10.0  # walk default: cells of buffer/5
TOL = 2.7 * CELL  # the bound tests/test_service_grid.py derives


@pytest.fixture(scope="module")
def net_and_lines():
    from geoplan.network import network_from_lines

    roads = gpd.read_file(STREETS).to_crs(26949)  # NAD83 / Arizona Central, metres
    net = network_from_lines(roads, mode="walk")
    assert net.edge_geometry is not None
    return net, roads


@pytest.mark.parametrize("seed", range(4))
def test_area_holds_the_band_of_every_road_of_the_part_reached(net_and_lines, seed):
    net, roads = net_and_lines
    _, label = connected_components(net.csr("length"), directed=True, connection="strong")
    rng = np.random.default_rng(seed)
    big = np.flatnonzero(label == np.bincount(label).argmax())
    node = int(rng.choice(big))
    fac = gpd.GeoDataFrame({"id": ["f"]}, geometry=[shapely.Point(net.x[node], net.y[node])], crs=net.crs)
    area = service_areas(net, fac, cutoff=1e7, method="grid").geometry.iloc[0]
    tails = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
    inside = (label[tails] == label[node]) & (label[net.indices] == label[node])
    band = shapely.union_all(np.asarray(net.edge_lines(), dtype=object)[inside]).buffer(BUFFER)
    assert band.buffer(-TOL).difference(area).area < 1.0  # m²: nothing of the band missing
    assert area.difference(band.buffer(TOL)).area < 1.0   # and nothing far off the roads
    # the roads' own vertices, not only their chords: a curved source line is covered along its length
    curved = [g for g in roads.geometry if len(g.coords) > 3 and band.contains(g)]
    assert curved and all(area.buffer(1e-6).contains(g) for g in curved)
