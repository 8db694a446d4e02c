"""Incremental fast interchange of the p-median heuristic (issue 17, ``geoplan.suggest._pmedian_search``).

Every kernel is checked against a brute-force evaluation on many small generated cases (random points, travel =
whole-number distance, some pairs unreachable, some candidates already open, zero weights, a penalty that can
bind): the best swap's profit equals the best of all swaps priced by recounting the objective; the sums kept
incrementally equal the sums rebuilt from scratch after every swap, kick and path-relinking step; undoing returns
the exact state; and the whole heuristic stays deterministic.  Nothing here reads /work/shared.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from geoplan.suggest import _pmedian_fast as fast
from geoplan.suggest import _pmedian_search as ps
from geoplan.suggest import pmedian


def case(seed):
    rng = np.random.default_rng(seed)
    nc, nd = int(rng.integers(4, 16)), int(rng.integers(3, 26))
    D = np.floor(60 * np.linalg.norm(rng.random((nc, 2))[:, None] - rng.random((nd, 2))[None], axis=2))
    D[rng.random((nc, nd)) < 0.3] = np.inf  # unreachable pairs are not stored
    w = rng.integers(0, 6, nd).astype(float)
    fx = rng.random(nc) < 0.2
    free = np.flatnonzero(~fx)
    p = int(rng.integers(1, max(2, len(free))))
    pen = float(rng.choice([1e4, 25.0]))
    r, c = np.nonzero(np.isfinite(D))
    S = sparse.csr_array((D[r, c], (r, c)), shape=D.shape)
    S.sort_indices()
    return D, w, fx, free, p, pen, S, rng


def recount(D, w, fx, sel, pen):
    m = fx.copy()
    m[list(sel)] = True
    d = np.minimum(D[m].min(axis=0), pen) if m.any() else np.full(D.shape[1], pen)
    return float((w * d).sum())


def brute_best(D, w, fx, sel, pen):
    base = recount(D, w, fx, sel, pen)
    best = -np.inf
    for k in np.flatnonzero(~fx):
        if k in sel:
            continue
        for s in range(len(sel)):
            s2 = list(sel)
            s2[s] = int(k)
            best = max(best, base - recount(D, w, fx, s2, pen))
    return best


def same_as_rebuilt(eng):
    ref = ps.Engine(eng.rows, eng.w, eng.fx, eng.p, eng.pen)
    ref.reset(eng.sel.copy())
    for a in ("gain", "loss", "extra", "d1", "d2"):
        np.testing.assert_allclose(getattr(eng, a), getattr(ref, a), rtol=0, atol=1e-9, err_msg=a)
    np.testing.assert_array_equal(eng.f1, ref.f1)


def engine(S, w, fx, p, pen, sel):
    eng = ps.Engine(fast._csr(S), w, fx, p, pen)
    eng.reset(sel)
    return eng


@pytest.mark.parametrize("seed", range(60))
def test_best_swap_equals_brute_force_and_sums_stay_exact(seed):
    D, w, fx, free, p, pen, S, rng = case(seed)
    if len(free) < 2:
        return
    eng = engine(S, w, fx, p, pen, rng.choice(free, p, replace=False))
    for _ in range(6):
        sel = [int(j) for j in eng.sel]
        assert eng.objective() == pytest.approx(recount(D, w, fx, sel, pen), abs=1e-9)
        v, k, s = ps.best_swap(*eng.rows, eng.f1, eng.d2, eng.slot, eng.gain, eng.loss, eng.extra, eng.is_open,
                               eng.movable)
        bv = brute_best(D, w, fx, sel, pen)
        if k < 0:
            assert bv == -np.inf
            break
        assert v == pytest.approx(bv, abs=1e-9)
        s2 = list(sel)
        s2[s] = k
        assert recount(D, w, fx, sel, pen) - recount(D, w, fx, s2, pen) == pytest.approx(v, abs=1e-9)
        ps.apply_swap(*eng.rows, *eng.lists, eng.w, eng.is_open, eng.slot, eng.sel, eng.pen, eng.d1, eng.f1,
                      eng.d2, eng.f2, eng.gain, eng.loss, eng.extra, k, s, eng.mark, eng.work)
        same_as_rebuilt(eng)


@pytest.mark.parametrize("seed", range(40))
def test_local_search_ends_where_no_swap_improves(seed):
    D, w, fx, free, p, pen, S, rng = case(100 + seed)
    if len(free) < 2:
        return
    eng = engine(S, w, fx, p, pen, rng.choice(free, p, replace=False))
    start = recount(D, w, fx, [int(j) for j in eng.sel], pen)
    eng.settle()
    sel = [int(j) for j in eng.sel]
    assert len(set(sel)) == p and not fx[sel].any()
    assert eng.objective() == pytest.approx(recount(D, w, fx, sel, pen), abs=1e-9) and eng.objective() <= start
    assert brute_best(D, w, fx, sel, pen) <= 1e-9 * max(1.0, eng.objective())
    same_as_rebuilt(eng)


@pytest.mark.parametrize("seed", range(40))
def test_kick_relink_and_rollback(seed):
    D, w, fx, free, p, pen, S, rng = case(200 + seed)
    if len(free) < 2:
        return
    eng = engine(S, w, fx, p, pen, rng.choice(free, p, replace=False))
    eng.settle()
    eng.commit()
    before = (eng.sel.copy(), eng.is_open.copy(), eng.d1.copy(), eng.gain.copy(), eng.extra.copy())
    eng.kick(rng.random(13))
    eng.kick(rng.random(13 + 4 * int(rng.integers(0, 6))))  # a larger kick (1-3 moves plus 0-5)
    sel = [int(j) for j in eng.sel]
    assert len(set(sel)) == p and not fx[sel].any()
    assert eng.objective() == pytest.approx(recount(D, w, fx, sel, pen), abs=1e-9)
    same_as_rebuilt(eng)
    target = rng.choice(free, p, replace=False)
    o, _ = eng.relink(target)
    sel = [int(j) for j in eng.sel]
    if np.isfinite(o):  # the walk's best inner point, descended
        assert o == pytest.approx(recount(D, w, fx, sel, pen), abs=1e-9)
        assert brute_best(D, w, fx, sel, pen) <= 1e-9 * max(1.0, o)
    same_as_rebuilt(eng)
    eng.rollback()
    np.testing.assert_array_equal(np.sort(eng.sel), np.sort(before[0]))
    np.testing.assert_array_equal(eng.is_open, before[1])
    np.testing.assert_allclose(eng.d1, before[2], atol=1e-9)
    np.testing.assert_allclose(eng.gain, before[3], atol=1e-9)
    same_as_rebuilt(eng)


def test_relink_walk_visits_the_best_restricted_swaps():
    """Each relinking step is the best swap from (target \\ current) × (current \\ target), by brute force."""
    for seed in range(30):
        D, w, fx, free, p, pen, S, rng = case(300 + seed)
        if len(free) < 3 or p < 2:
            continue
        a, b = rng.choice(free, p, replace=False), rng.choice(free, p, replace=False)
        eng = engine(S, w, fx, p, pen, a)
        mask = np.zeros(len(fx), bool)
        mask[b] = True
        best, best_h, h1 = ps.relink(*eng._st(), eng.slot, eng.sel, eng.pen, eng.d1, eng.f1, eng.d2, eng.f2, eng.gain,
                                     eng.loss, eng.extra, eng.mark, eng.work, mask, eng.hist, 0)
        assert set(int(j) for j in eng.sel) == set(int(j) for j in b)  # the walk ends at the target
        cur = [int(j) for j in a]
        inner = []
        for h in range(h1):
            k, r = int(eng.hist[h, 0]), int(eng.hist[h, 1])
            base = recount(D, w, fx, cur, pen)
            opts = [base - recount(D, w, fx, [kk if x == rr else x for x in cur], pen)
                    for kk in set(b.tolist()) - set(cur) for rr in set(cur) - set(b.tolist())]
            s2 = [k if x == r else x for x in cur]
            assert base - recount(D, w, fx, s2, pen) == pytest.approx(max(opts), abs=1e-9)
            cur = s2
            if h < h1 - 1:
                inner.append(recount(D, w, fx, cur, pen))
        assert best == (pytest.approx(min(inner), abs=1e-9) if inner else np.inf)


def test_heuristic_is_deterministic():
    """Same input and seed → same sites (SYNTHETIC points, large enough for kicks and relinking to run)."""
    rng = np.random.default_rng(7)
    xy = rng.random((300, 2))
    D = np.floor(1000 * np.linalg.norm(xy[:, None] - xy[None], axis=2))
    runs = [pmedian(sparse.csr_array(D), None, 12, solver="greedy", time_limit=None) for _ in range(2)]
    assert runs[0].selected.tolist() == runs[1].selected.tolist()
    assert runs[0].objective == runs[1].objective
