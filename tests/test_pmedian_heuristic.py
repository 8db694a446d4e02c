"""p-median heuristic (issue 17): bound validity, recounts, time limit, exact warm start, ranking.

Small OR-Library-like cases are generated here (random points, travel = distance, some pairs unreachable, some
candidates already open); optima come from enumeration or scipy's ``milp`` (an independent model), objectives from
a dense numpy recount.  Nothing here reads /work/shared.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan.suggest import _pmedian, _pmedian_fast, pmedian


def case(seed, n_cand=10, n_dem=30, horizon=0.6, fixed_share=0.15):
    rng = np.random.default_rng(seed)
    cx, dx = rng.random((n_cand, 2)), rng.random((n_dem, 2))
    D = np.floor(100 * np.linalg.norm(cx[:, None] - dx[None], axis=2))  # whole numbers, ties possible
    D[D > 100 * horizon] = np.inf  # unreachable pairs are not stored
    D[0, 0] = 0.0  # an explicit zero must count as a stored pair
    w = rng.integers(1, 9, n_dem).astype(float)
    fixed = rng.random(n_cand) < fixed_share
    return D, w, fixed, rng


def to_sparse(D):
    r, c = np.nonzero(np.isfinite(D))
    return sparse.csr_array((D[r, c], (r, c)), shape=D.shape)


def recount(D, w, open_mask, penalty):
    """Total weighted travel with the given sites open; unreachable demand is left out, closed-off demand pays."""
    reach = np.isfinite(D).any(axis=0)
    d = np.where(np.isfinite(D[open_mask]), D[open_mask], np.inf).min(axis=0) if open_mask.any() else np.full(D.shape[1], np.inf)
    return float((w * np.where(reach, np.minimum(d, penalty), 0.0)).sum())


def optimum_enum(D, w, p, fixed, penalty):
    free = np.flatnonzero(~fixed)
    best = np.inf
    for combo in itertools.combinations(free, p):
        m = fixed.copy()
        m[list(combo)] = True
        best = min(best, recount(D, w, m, penalty))
    return best


def optimum_milp(D, w, p, fixed, penalty):
    """Textbook model, written apart from geoplan's: x_j open, y_ji assign, u_i unserved at the penalty."""
    n, m = D.shape
    reach = np.isfinite(D).any(axis=0)
    pairs = [(j, i) for j in range(n) for i in range(m) if np.isfinite(D[j, i]) and reach[i]]
    dem = np.flatnonzero(reach)
    nv = n + len(pairs) + len(dem)
    c = np.zeros(nv)
    rows, lo, hi = [], [], []
    pos = {i: k for k, i in enumerate(dem)}
    A_assign = np.zeros((len(dem), nv))
    A_link = np.zeros((len(pairs), nv))
    for k, (j, i) in enumerate(pairs):
        c[n + k] = w[i] * D[j, i]
        A_assign[pos[i], n + k] = 1
        A_link[k, n + k], A_link[k, j] = 1, -1
    for k, i in enumerate(dem):
        c[n + len(pairs) + k] = w[i] * penalty
        A_assign[k, n + len(pairs) + k] = 1
    A_p = np.zeros((1, nv))
    A_p[0, :n] = ~fixed
    cons = [LinearConstraint(A_assign, 1, 1), LinearConstraint(A_link, -np.inf, 0), LinearConstraint(A_p, p, p)]
    lb = np.zeros(nv)
    lb[:n] = fixed
    integ = np.zeros(nv)
    integ[:n] = 1
    res = milp(c, constraints=cons, bounds=Bounds(lb, np.ones(nv)), integrality=integ)
    assert res.status == 0
    return float(res.fun)


def check(sol, D, w, p, fixed, penalty, opt):
    m = fixed.copy()
    m[sol.selected] = True
    assert len(set(sol.selected.tolist())) == len(sol.selected) == p and not fixed[sol.selected].any()
    assert sol.objective == pytest.approx(recount(D, w, m, penalty), rel=1e-12, abs=1e-9)
    assert sol.objective >= opt - 1e-6 * max(1.0, opt)
    if sol.bound is not None:
        assert sol.bound <= opt + 1e-6 * max(1.0, opt), (sol.bound, opt)
        assert sol.gap is not None and sol.gap >= -1e-9


@pytest.mark.parametrize("seed", range(40))
def test_bound_never_above_enumerated_optimum(seed):
    D, w, fixed, rng = case(seed)
    p = int(rng.integers(1, min(4, int((~fixed).sum())) + 1))
    penalty = float(rng.choice([1e4, 80.0, 30.0]))
    sol = pmedian(to_sparse(D), w, p, fixed=fixed, penalty=penalty, solver="greedy", time_limit=10)
    check(sol, D, w, p, fixed, penalty, optimum_enum(D, w, p, fixed, penalty))


@pytest.mark.parametrize("seed", range(16))
def test_truncated_search_keeps_the_bound_valid(seed, monkeypatch):
    """The search on the K cheapest pairs per demand (forced here on small cases) caps λ so that the Lagrangian
    stays a bound of the full problem; checked against scipy's milp."""
    monkeypatch.setattr(_pmedian_fast, "_TRUNCATE_FROM", 0)
    monkeypatch.setattr(_pmedian_fast, "_K_MIN", 2)
    monkeypatch.setattr(_pmedian_fast, "_K_PER_SITE", 1)
    D, w, fixed, rng = case(1000 + seed, n_cand=40, n_dem=60, horizon=2.0, fixed_share=0.05)
    p = int(rng.integers(4, 9))
    penalty = 1e4
    sol = pmedian(to_sparse(D), w, p, fixed=fixed, penalty=penalty, solver="greedy", time_limit=10)
    assert sol.diagnostics["pairs_searched"] < np.isfinite(D).sum()  # the truncated path really ran
    check(sol, D, w, p, fixed, penalty, optimum_milp(D, w, p, fixed, penalty))


@pytest.mark.parametrize("p", [2, 3, 7, 20])
def test_few_sites_on_a_dense_matrix_search_every_pair(p, monkeypatch):
    """Review 21: the cap on the pairs kept per demand point (a third of the candidates) must not switch the
    truncated search on where the full matrix was searched (few sites, every pair present): there the bound needs
    the far pairs.  Dense SYNTHETIC cases past the size where truncation may start."""
    monkeypatch.setattr(_pmedian_fast, "_TRUNCATE_FROM", 1_000)
    monkeypatch.setattr(_pmedian_fast, "_K_MIN", 2)
    D, w, fixed, _ = case(77, n_cand=60, n_dem=200, horizon=1e9, fixed_share=0.0)
    assert np.isfinite(D).all()
    sol = pmedian(to_sparse(D), w, p, solver="greedy", time_limit=10)
    K = max(_pmedian_fast._K_MIN, _pmedian_fast._K_PER_SITE * -(-60 // p))
    full = 3 * K * 200 > 2 * D.size
    searched = sol.diagnostics["pairs_searched"]
    assert (searched == D.size) if full else (searched <= 200 * max(_pmedian_fast._K_MIN, 60 // 3))
    if p <= 3:  # small enough to enumerate: the answer is the optimum
        check(sol, D, w, p, fixed, 1e4, optimum_enum(D, w, p, fixed, 1e4))


def test_milp_reference_agrees_with_enumeration():
    for seed in range(3):
        D, w, fixed, _ = case(seed)
        assert optimum_milp(D, w, 2, fixed, 50.0) == pytest.approx(optimum_enum(D, w, 2, fixed, 50.0))


def test_time_limit_already_spent_still_answers():
    """A limit too short for any work: p distinct sites, a recounted objective, and the result says it stopped
    on the time limit (not that it proved anything)."""
    D, w, fixed, _ = case(7, n_cand=60, n_dem=400, horizon=2.0, fixed_share=0.0)
    sol = pmedian(to_sparse(D), w, 9, solver="greedy", time_limit=1e-6)
    assert sol.diagnostics["stopped"] == "time limit" and sol.status != "Optimal"
    m = np.zeros(60, bool)
    m[sol.selected] = True
    assert len(set(sol.selected.tolist())) == 9
    assert sol.objective == pytest.approx(recount(D, w, m, 10 * np.nanmax(D[np.isfinite(D)])))


@pytest.mark.parametrize("seed", range(4))
def test_exact_never_worse_than_its_heuristic_start(seed):
    D, w, fixed, rng = case(50 + seed, n_cand=25, n_dem=80, horizon=0.5)
    for limit in (0.05, 30):  # HiGHS stopped almost at once, and given time
        sol = pmedian(to_sparse(D), w, 4, fixed=fixed, solver="exact", time_limit=limit)
        assert sol.objective <= sol.diagnostics["heuristic_objective"] + 1e-9
        pen = 10 * np.nanmax(D[np.isfinite(D)])
        m = fixed.copy()
        m[sol.selected] = True
        assert sol.objective == pytest.approx(recount(D, w, m, pen))
        if sol.status == "Optimal":
            assert sol.objective == pytest.approx(optimum_milp(D, w, 4, fixed, pen))


@pytest.mark.parametrize("seed", range(5))
def test_lazy_ranking_equals_reranking_every_step(seed):
    """Sites ranked by what each saves given those before it: the lazy ranking against a plain re-pricing."""
    D, w, fixed, rng = case(200 + seed, n_cand=20, n_dem=50, horizon=0.7)
    pen = 500.0
    sel = rng.choice(np.flatnonzero(~fixed), 6, replace=False)
    order, gains = _pmedian._rank_pm(to_sparse(D), w, fixed, sel, pen)
    Dz = np.where(np.isfinite(D), D, np.inf)
    d = np.minimum(Dz[fixed].min(axis=0) if fixed.any() else np.inf, pen)
    left, want, want_g = list(range(len(sel))), [], []
    while left:
        s = {r: float((w * np.maximum(0, d - Dz[sel[r]])).sum()) for r in left}
        k = max(left, key=lambda r: (s[r], -r))  # ties to the earlier position
        want.append(sel[k])
        want_g.append(s[k])
        left.remove(k)
        d = np.minimum(d, Dz[sel[k]])
    assert order.tolist() == [int(x) for x in want]
    assert gains == pytest.approx(want_g)


def test_assignment_is_the_nearest_open_site():
    D, w, fixed, _ = case(3, n_cand=12, n_dem=40)
    sol = pmedian(to_sparse(D), w, 3, fixed=fixed, solver="greedy")
    m = fixed.copy()
    m[sol.selected] = True
    Dz = np.where(np.isfinite(D) & m[:, None], D, np.inf)
    best = Dz.min(axis=0)
    for i, j in enumerate(sol.assignment):
        if np.isfinite(best[i]):
            assert m[j] and D[j, i] == best[i]
        else:
            assert j == -1
