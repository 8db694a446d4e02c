"""The types' service areas traced in forked processes equal those traced in this process, and the fork is
skipped where it does not pay (few facilities); ``tests/test_fork.py`` checks where it is unsafe.

Real data: the Helsinki walk graph of the bundled OSM extract; facilities at random nodes.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoplan.coverage import _service
from geoplan.network._snap import snap


@pytest.fixture(scope="module")
def per_type():
    from geoplan.demo import helsinki_pbf
    from geoplan.network import load_networks

    net = load_networks(helsinki_pbf(), modes={"walk"})["walk"]
    rng = np.random.default_rng(3)
    tasks = []
    for t, n in (("a", 30), ("b", 20), ("c", 1), ("d", 12)):
        k = rng.choice(net.n_nodes, n, replace=False)
        fac = gpd.GeoDataFrame({"id": [f"{t}{i}" for i in range(n)]},
                               geometry=gpd.points_from_xy(net.x[k] + 7.0, net.y[k] - 4.0), crs=net.crs)
        tasks.append((t, net, fac, snap(net, fac), float(rng.choice([300.0, 600.0]))))
    return tasks


def _wkb(frames):
    per, by_type = frames
    return ([shapely.to_wkb(g) for g in per.geometry], per["facility_id"].tolist(), per["type"].tolist(),
            [shapely.to_wkb(g) for g in by_type.geometry], by_type["type"].tolist())


def test_forked_equals_in_process(per_type, monkeypatch):
    from geoplan import _fork

    import os

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: no fork here")
    monkeypatch.setattr(_fork, "cores", lambda: 2)  # even if an earlier test left a thread running
    crs = per_type[0][1].crs
    monkeypatch.setattr(_service, "PARALLEL_MIN_FACILITIES", 0)
    monkeypatch.setattr(_service, "CHUNK_FACILITIES", 7)  # types in pieces, shared between the two processes
    forked = _service.measured_areas(per_type, crs)
    monkeypatch.setattr(_fork, "cores", lambda: 1)
    assert _wkb(forked) == _wkb(_service.measured_areas(per_type, crs))
    # ... and equal to each type traced whole, in one piece (type_areas)
    whole = [_service.type_areas(net, fac, cutoff=cutoff, nodes=nodes) for _, net, fac, nodes, cutoff in per_type]
    assert _wkb(forked)[0] == [shapely.to_wkb(g) for per, _ in whole for g in per.geometry]
    assert _wkb(forked)[3] == [shapely.to_wkb(g) for _, g in whole]


def test_areas_begun_beside_other_work_are_the_same(per_type, monkeypatch):
    """What assess does: the areas begun in a child while this process works, then the rest taken here."""
    import os

    from geoplan import _fork

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: no fork here")
    monkeypatch.setattr(_fork, "cores", lambda: 2)
    monkeypatch.setattr(_service, "PARALLEL_MIN_FACILITIES", 0)
    monkeypatch.setattr(_service, "CHUNK_FACILITIES", 5)
    crs = per_type[0][1].crs
    with _service.areas_begun(per_type) as areas:
        assert areas._work._child is not None  # the child is working
        np.linalg.svd(np.random.default_rng(0).random((300, 300)))  # this process's own work meanwhile
        begun = areas.result(crs)
    monkeypatch.setattr(_fork, "cores", lambda: 1)
    assert _wkb(begun) == _wkb(_service.measured_areas(per_type, crs))


def test_few_facilities_stay_in_this_process(per_type, monkeypatch):
    from geoplan import _fork

    monkeypatch.setattr(_service, "PARALLEL_MIN_FACILITIES", 10_000)
    monkeypatch.setattr(_fork, "ProcessPoolExecutor", None)  # any attempt to fork would fail
    monkeypatch.setattr(os, "fork", None)
    per, by_type = _service.measured_areas(per_type, per_type[0][1].crs)
    assert len(per) == 63 and len(by_type) == 4
