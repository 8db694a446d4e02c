"""The compiled raster steps of the grid service areas against independent references.

- ``marked_distance`` against :func:`scipy.ndimage.distance_transform_edt` on generated masks (sparse,
  dense, single cells, one row or column, marks on the border);
- ``mark_cells`` against the plain numpy sampling (ends, then inner samples at most half a cell apart).

All masks and segments are SYNTHETIC (generated here).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from geoplan.coverage._raster import mark_cells, marked_distance


@pytest.mark.parametrize("seed", range(12))
def test_marked_distance_equals_scipy_edt(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        ny, nx = (int(v) for v in rng.integers(1, 60, 2))
        free = rng.random((ny, nx)) > rng.choice([0.001, 0.02, 0.2, 0.7])
        if free.all():
            free[rng.integers(ny), rng.integers(nx)] = False
        cell = float(rng.choice([1.0, 2.5, 10.0, 0.3]))
        ref = ndimage.distance_transform_edt(free, sampling=cell)
        marked = np.flatnonzero(~free.ravel())
        got = marked_distance(np.concatenate([marked, marked[:3]]), nx, ny, cell)  # repeats are harmless
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def _numpy_marks(ax, ay, bx, by, px, py, cell, i0, j0, nx):
    xs, ys = np.concatenate([ax, bx, px]), np.concatenate([ay, by, py])
    count = np.ceil(np.hypot(bx - ax, by - ay) / (0.5 * cell)).astype(np.int64) - 1
    xs_in, ys_in = [], []
    for s in np.flatnonzero(count > 0):
        t = np.arange(1, count[s] + 1) / (count[s] + 1)
        xs_in.append(ax[s] + t * (bx[s] - ax[s]))
        ys_in.append(ay[s] + t * (by[s] - ay[s]))
    sx, sy = np.concatenate([xs, *xs_in]), np.concatenate([ys, *ys_in])
    return (np.floor(sy / cell) - j0).astype(np.int64) * nx + (np.floor(sx / cell) - i0).astype(np.int64)


@pytest.mark.parametrize("seed", range(8))
def test_mark_cells_equals_the_numpy_sampling(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    ax, ay = rng.uniform(1000, 1400, n), rng.uniform(-300, 100, n)
    ang, length = rng.uniform(0, 2 * np.pi, n), rng.choice([0.0, 0.5, 5.0, 37.3, 120.0], n)
    bx, by = ax + length * np.cos(ang), ay + length * np.sin(ang)
    px, py = rng.uniform(1000, 1400, 3), rng.uniform(-300, 100, 3)
    cell = 10.0
    i0 = np.floor((min(ax.min(), bx.min(), px.min()) - 80) / cell)
    j0 = np.floor((min(ay.min(), by.min(), py.min()) - 80) / cell)
    nx = int(np.ceil((max(ax.max(), bx.max(), px.max()) + 80) / cell) - i0) + 1
    ny = int(np.ceil((max(ay.max(), by.max(), py.max()) + 80) / cell) - j0) + 1
    got = mark_cells(ax, ay, bx, by, px, py, cell, i0, j0, nx, ny)
    ref = _numpy_marks(ax, ay, bx, by, px, py, cell, i0, j0, nx)
    assert set(got.tolist()) == set(ref.tolist())
    assert got.min() >= 0 and got.max() < nx * ny
