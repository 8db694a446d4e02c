"""The print maps' classed hexagon grid (:mod:`geoplan.outputs._print_cells`).

Checked against matplotlib's own hexbin of SYNTHETIC points: every cell is drawn once, in the class its sum
falls in, at the place and with the shape matplotlib gives it; class bounds increase and end at the largest sum.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geoplan.outputs._print_cells import class_breaks, draw_classes


@pytest.mark.parametrize("seed", range(10))
def test_class_breaks_put_every_value_in_one_class(seed):
    rng = np.random.default_rng(seed)
    kinds = [rng.integers(1, 5, 40), rng.lognormal(3, 1.5, 300), np.full(7, 12.0), rng.uniform(0.01, 0.9, 50)]
    vals = kinds[seed % 4].astype(float)
    b = class_breaks(vals)
    assert 1 <= len(b) <= 5 and b[-1] == vals.max() and all(x < y for x, y in zip(b, b[1:]))
    lo = np.r_[-np.inf, b[:-1]]
    member = (vals[:, None] > lo[None, :]) & (vals[:, None] <= np.asarray(b)[None, :])
    assert (member.sum(axis=1) == 1).all()


@pytest.mark.parametrize("seed", range(5))
def test_classes_draw_every_hexbin_cell_once(seed):
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch

    rng = np.random.default_rng(seed)
    n = 3000
    x, y, w = rng.normal(0, 1000, n), rng.normal(0, 600, n), rng.integers(1, 200, n).astype(float)
    ax = Figure().add_subplot()
    cells = ax.hexbin(x, y, C=w, reduce_C_function=np.sum, gridsize=30, mincnt=1)
    # independent: matplotlib's own cells (hexagon, centres, sums)
    ref_poly = np.asarray(cells.get_paths()[0].vertices)[:6]
    centres, sums = np.asarray(cells.get_offsets()), np.asarray(cells.get_array(), dtype=float)
    legend = draw_classes(ax, cells)
    assert not cells.get_visible()
    patches = [p for p in ax.artists + ax.patches if isinstance(p, PathPatch)]
    assert len(patches) == len(legend) >= 1
    drawn = []
    for patch in patches:
        v = patch.get_path().vertices.reshape(-1, 7, 2)[:, :6]
        drawn.append(v)
        assert np.allclose(v - v[:, :1], ref_poly - ref_poly[:1])  # the same hexagon shape
    drawn = np.concatenate(drawn)
    assert len(drawn) == len(centres)  # every cell once
    got_centres = drawn.mean(axis=1)
    order_a, order_b = np.lexsort(got_centres.T), np.lexsort(centres.T)
    assert np.allclose(got_centres[order_a], (centres + ref_poly.mean(axis=0))[order_b])
    # the classes in order: every sum of a class below every sum of the next (darker) one
    per_patch = []
    for patch in patches:
        c = patch.get_path().vertices.reshape(-1, 7, 2)[:, :6].mean(axis=1) - ref_poly.mean(axis=0)
        per_patch.append(sums[[int(np.argmin(np.hypot(*(centres - p).T))) for p in c]])
    assert all(a.max() < b.min() for a, b in zip(per_patch, per_patch[1:]))
    assert shapely.Polygon(ref_poly).is_valid
