"""Fast p-median heuristic and Lagrangian bound on sparse costs (numba kernels).

One pass over the stored (candidate, demand) pairs per step, instead of one pass per
open site: greedy adds, then the fast interchange of Whitaker (1983) as written by
Resende & Werneck (2007), which scores every (insert k, remove r) swap at once from the
nearest and second-nearest open site of each demand point.  The lower bound relaxes the
assignment constraints (Lagrangian, subgradient ascent with Polyak steps); every value of
the Lagrangian is a valid bound, so the best one found is the bound reported.

Demand that no open site reaches pays ``penalty`` per unit of weight (a virtual site that
is always open), exactly as in :func:`geoplan.suggest.pmedian`'s exact model.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from scipy import sparse

_NB = dict(cache=True, nogil=True)


@numba.njit(**_NB)
def _nearest_two(indptr, indices, data, open_rows, penalty, n_dem):
    """Nearest (d1, f1) and second-nearest (d2) open site per demand; the virtual site costs ``penalty``."""
    d1 = np.full(n_dem, penalty)
    d2 = np.full(n_dem, penalty)
    f1 = np.full(n_dem, -1, dtype=np.int64)
    for j in open_rows:
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            c = data[e]
            if c < d1[i]:
                d2[i] = d1[i]
                d1[i] = c
                f1[i] = j
            elif c < d2[i]:
                d2[i] = c
    return d1, f1, d2


@numba.njit(parallel=True, **_NB)
def _gains(indptr, indices, data, w, d1, is_open):
    """Weighted travel each closed candidate would save if opened: Σ_i w_i max(0, d1_i − c_ji)."""
    n = len(indptr) - 1
    out = np.full(n, -1.0)
    for j in numba.prange(n):
        if is_open[j]:
            continue
        s = 0.0
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            diff = d1[i] - data[e]
            if diff > 0:
                s += w[i] * diff
        out[j] = s
    return out


@numba.njit(parallel=True, **_NB)
def _swap_extra(indptr, indices, data, w, d1, f1, d2, slot, n_slots, is_open):
    """gain[k] and extra[k, s] of the fast interchange (Resende & Werneck, 2007, §3).

    Profit of inserting k and removing the new site in slot s is
    gain[k] − loss[s] + extra[k, s].
    """
    n = len(indptr) - 1
    gain = np.full(n, -np.inf)
    extra = np.zeros((n, n_slots))
    for k in numba.prange(n):
        if is_open[k]:
            continue
        g = 0.0
        for e in range(indptr[k], indptr[k + 1]):
            i = indices[e]
            c = data[e]
            if c < d1[i]:
                g += w[i] * (d1[i] - c)
            r = f1[i]
            if r >= 0 and c < d2[i]:
                s = slot[r]
                if s >= 0:
                    extra[k, s] += w[i] * (d2[i] - max(c, d1[i]))
        gain[k] = g
    return gain, extra


@numba.njit(parallel=True, **_NB)
def _lagrange_rho(indptr, indices, wc, lam):
    """ρ_j = Σ_i min(0, w_i c_ji − λ_i): the reduced cost of opening j."""
    n = len(indptr) - 1
    rho = np.zeros(n)
    for j in numba.prange(n):
        s = 0.0
        for e in range(indptr[j], indptr[j + 1]):
            r = wc[e] - lam[indices[e]]
            if r < 0:
                s += r
        rho[j] = s
    return rho


@numba.njit(**_NB)
def _lagrange_served(indptr, indices, wc, lam, rows, n_dem):
    """How many chosen sites serve each demand point in the relaxed problem (wc < λ)."""
    served = np.zeros(n_dem)
    for j in rows:
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            if wc[e] < lam[i]:
                served[i] += 1.0
    return served


def _csr(cost: sparse.csr_array):
    return cost.indptr.astype(np.int64), cost.indices.astype(np.int64), cost.data.astype(np.float64)


def _greedy(indptr, indices, data, w, fx, p, pen, n_dem, *, deadline=None) -> list[int]:
    """Greedy adds; past the deadline the remaining sites are the best by their present gains, in one step."""
    is_open = fx.copy()
    d1 = _nearest_two(indptr, indices, data, np.flatnonzero(is_open), pen, n_dem)[0]
    sel: list[int] = []
    for _ in range(p):
        g = _gains(indptr, indices, data, w, d1, is_open)
        if deadline is not None and time.perf_counter() > deadline:
            # Out of time: still p sites (the model needs them), taken by gain without updating.
            rest = [int(j) for j in np.argsort(-g, kind="stable") if not is_open[j]][:p - len(sel)]
            return sel + rest
        j = int(np.argmax(g))
        sel.append(j)
        is_open[j] = True
        row = slice(indptr[j], indptr[j + 1])
        np.minimum.at(d1, indices[row], data[row])
    return sel


def _interchange(indptr, indices, data, w, fx, sel, pen, n_dem, *, deadline=None) -> tuple[list[int], float, int]:
    """Best-improvement fast interchange from ``sel`` until no swap improves (or the deadline)."""
    sel = list(sel)
    is_open = fx.copy()
    is_open[sel] = True
    slot = np.full(len(fx), -1, dtype=np.int64)
    swaps = 0
    while True:
        d1, f1, d2 = _nearest_two(indptr, indices, data, np.flatnonzero(is_open), pen, n_dem)
        base = float((w * d1).sum())
        if not sel or (deadline is not None and time.perf_counter() > deadline):
            return sel, base, swaps
        slot[:] = -1
        slot[sel] = np.arange(len(sel))
        mine = f1 >= 0
        mine[mine] = slot[f1[mine]] >= 0
        loss = np.bincount(slot[f1[mine]], weights=(w * (d2 - d1))[mine], minlength=len(sel))
        gain, extra = _swap_extra(indptr, indices, data, w, d1, f1, d2, slot, len(sel), is_open)
        profit = gain[:, None] - loss[None, :] + extra
        k, s = np.unravel_index(int(np.argmax(profit)), profit.shape)
        if not profit[k, s] > 1e-9 * max(1.0, base):
            return sel, base, swaps
        is_open[sel[s]] = False
        is_open[k] = True
        sel[s] = int(k)
        swaps += 1


def solve(cost: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int, penalty: float, *,
          deadline: float | None = None, target_gap: float = 1e-3, max_rounds: int = 12, round_iter: int = 300) -> dict:
    """Greedy + interchange, then rounds of Lagrangian bound and Lagrangian heuristic.

    Each round runs the subgradient ascent against the best objective so far; the best set of
    sites the relaxation picks on the way is polished by interchange and replaces the incumbent
    when better.  A better incumbent sharpens the next round's steps.  Stops at ``target_gap``,
    the deadline, or when a round improves neither side.
    """
    prev = numba.get_num_threads()
    if cost.nnz < _PARALLEL_FROM:
        numba.set_num_threads(1)  # small models: thread start-up costs more than it saves (badly so on a busy machine)
    try:
        return _solve(cost, w, fx, p, penalty, deadline=deadline, target_gap=target_gap, max_rounds=max_rounds,
                      round_iter=round_iter)
    finally:
        numba.set_num_threads(prev)


_PARALLEL_FROM = 200_000  # stored pairs from which the numba kernels run on all threads


def _solve(cost, w, fx, p, penalty, *, deadline, target_gap, max_rounds, round_iter) -> dict:
    indptr, indices, data = _csr(cost)
    n_dem = cost.shape[1]
    pen = float(penalty)
    sel, ub, swaps = _interchange(indptr, indices, data, w, fx,
                                  _greedy(indptr, indices, data, w, fx, p, pen, n_dem, deadline=deadline),
                                  pen, n_dem, deadline=deadline)
    lb, lam, iters, rounds = -np.inf, None, 0, 0
    for rounds in range(1, max_rounds + 1):
        b, n, lam, lag_sel, lag_obj = lagrangian_bound(cost, w, fx, p, pen, upper=ub, start=lam, deadline=deadline,
                                                       target_gap=target_gap, max_iter=round_iter)
        iters += n
        improved = b > lb + 1e-6 * max(1.0, abs(lb)) if np.isfinite(lb) else True
        lb = max(lb, b)
        if lag_sel is not None and (ub - lb) > target_gap * max(1.0, abs(ub)):
            # Polish the relaxation's best set even when it starts worse: interchange usually lands lower.
            s2, o2, k2 = _interchange(indptr, indices, data, w, fx, lag_sel, pen, n_dem, deadline=deadline)
            if o2 < ub - 1e-9 * max(1.0, ub):
                sel, ub, improved = s2, o2, True
                swaps += k2
        if (ub - lb) <= target_gap * max(1.0, abs(ub)) or not improved:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
    return {"selected": sel, "objective": ub, "bound": lb, "swaps": swaps, "iterations": iters, "rounds": rounds}


def lagrangian_bound(cost: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int, penalty: float, *, upper: float,
                     start: np.ndarray | None = None, max_iter: int = 2_000, target_gap: float = 1e-3,
                     deadline: float | None = None, patience: int = 20):
    """Best Lagrangian lower bound found for the p-median (with the virtual penalty site).

    L(λ) = Σ_i λ_i + Σ_{j open} ρ_j(λ) + Σ_i min(0, w_i·penalty − λ_i), with all existing sites and the
    ``p`` free candidates of most negative ρ open.  Polyak steps toward ``upper`` (a feasible
    objective); the step factor halves after 20 iterations without improvement.  Stops at
    ``target_gap``, at ``deadline`` or when the step factor is spent.

    Returns (bound, iterations, λ of the bound, best set of free sites the relaxation opened, its true objective).
    """
    act = w > 0
    if not act.any():
        return 0.0, 0, start, None, np.inf
    indptr, indices, data = _csr(cost)
    n_dem = cost.shape[1]
    wc = w[indices] * data
    pen_w = w * float(penalty)
    lam = np.where(act, start if start is not None else 0.0, 0.0).astype(float)
    free_idx = np.flatnonzero(~fx)
    fixed_rows = np.flatnonzero(fx)
    best, beta, stale, it = -np.inf, 2.0, 0, 0
    best_lam, best_set, best_obj = lam.copy(), None, np.inf
    for it in range(1, max_iter + 1):
        rho = _lagrange_rho(indptr, indices, wc, lam)
        virt = np.minimum(0.0, pen_w - lam)
        pick = free_idx[np.argsort(rho[free_idx], kind="stable")[:p]] if p else free_idx[:0]
        rows = np.sort(np.concatenate([fixed_rows, pick]))
        L = float(lam.sum() + rho[rows].sum() + virt.sum())
        # Lagrangian heuristic: the sites the relaxation opens are a candidate solution (cheap to price:
        # only the open rows are read).
        obj = float((w * _nearest_two(indptr, indices, data, rows, float(penalty), n_dem)[0]).sum())
        if obj < best_obj:
            best_obj, best_set = obj, [int(j) for j in pick]
        if best == -np.inf or L > best + 1e-12 * max(1.0, abs(best)):
            best, stale = L, 0
            best_lam = lam.copy()
        else:
            stale += 1
            if stale >= patience:
                beta, stale = beta / 2, 0
        if (upper - best) <= target_gap * max(1.0, abs(upper)) or beta < 1e-4:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        served = _lagrange_served(indptr, indices, wc, lam, rows, n_dem) + (pen_w < lam)
        g = np.where(act, 1.0 - served, 0.0)
        norm = float(g @ g)
        if norm == 0:  # λ is optimal for the relaxation: L(λ) is the Lagrangian dual's value
            break
        lam += beta * max(upper - L, 1e-9 * max(1.0, abs(upper))) / norm * g
    # Summation order can move a float by ~1e-15 relative: give the bound that much away.
    return best - 1e-9 * max(1.0, abs(best)), it, best_lam, best_set, best_obj
