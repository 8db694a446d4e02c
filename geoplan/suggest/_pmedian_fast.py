"""Fast p-median heuristic and Lagrangian bound on sparse costs (numba kernels).

Greedy adds (lazy: a candidate's gain only shrinks as sites open, so only candidates whose stale gain could
still win are re-priced), then the fast interchange of Whitaker (1983) as written by Resende & Werneck (2007):
incrementally (:mod:`._pmedian_search`: only the demand points a swap affects are re-priced), or, where its
n_cand × p table would be too large, by one pass over the stored pairs per swap from the nearest and
second-nearest open site of each demand point.  The lower bound relaxes the assignment constraints
(Lagrangian, subgradient ascent with Polyak steps); every value of the Lagrangian is a valid bound, so the best
one found is the bound reported; it gets a quarter of the time.  The rest goes to an iterated local search (a few
sites moved at random near random demand points, then interchange), with path relinking toward an elite
solution every few kicks and restarts from the best solution when stuck; the bound is refreshed whenever the
incumbent improves.

Large models search on the ``K`` cheapest pairs of each demand point (``K`` = 5 × the mean number of demand
points per site, at most a third of the candidates): moves are scored there, every objective is recounted on the
full matrix and the final interchange runs on it.  The Lagrangian on the truncated pairs is exact for the full
matrix as long as each λ_i stays at or below ``w_i`` × the cheapest dropped pair of ``i``, which the ascent
enforces, so the bound stays valid.

Demand that no open site reaches pays ``penalty`` per unit of weight (a virtual site that
is always open), exactly as in :func:`geoplan.suggest.pmedian`'s exact model.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from scipy import sparse

from geoplan.suggest import _pmedian_search as _ps

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


@numba.njit(**_NB)
def nearest_site(indptr, indices, data, open_rows, n_dem):
    """Cheapest stored pair to an open site per demand (cost, site; inf and -1 if none); ties → lowest site."""
    d = np.full(n_dem, np.inf)
    f = np.full(n_dem, -1, dtype=np.int64)
    for j in open_rows:  # ascending, and only a strictly cheaper pair replaces: ties keep the lowest site
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            if data[e] < d[i]:
                d[i] = data[e]
                f[i] = j
    return d, f


@numba.njit(**_NB)
def reached(indices, n_dem):
    """Demand points with at least one stored pair."""
    out = np.zeros(n_dem, dtype=np.bool_)
    for e in range(len(indices)):
        out[indices[e]] = True
    return out


@numba.njit(parallel=True, **_NB)
def _gains(indptr, indices, data, w, d1, is_open):
    """Weighted travel each closed candidate would save if opened: Σ_i w_i max(0, d1_i − c_ji)."""
    n = len(indptr) - 1
    out = np.full(n, -1.0)
    for j in numba.prange(n):
        if is_open[j]:
            continue
        out[j] = _row_gain(indptr, indices, data, w, d1, j)
    return out


@numba.njit(**_NB)
def _row_gain(indptr, indices, data, w, d1, j):
    s = 0.0
    for e in range(indptr[j], indptr[j + 1]):
        i = indices[e]
        diff = d1[i] - data[e]
        if diff > 0:
            s += w[i] * diff
    return s


@numba.njit(**_NB)
def _lazy_pick(indptr, indices, data, w, d1, ub, is_open):
    """The closed candidate of largest gain; ``ub`` holds gains priced earlier (upper bounds, as gains only
    shrink), so only a candidate whose stale gain leads is re-priced, until a freshly priced one leads."""
    fresh = np.zeros(len(ub), dtype=np.bool_)
    while True:
        j, best = -1, -np.inf
        for k in range(len(ub)):
            if not is_open[k] and ub[k] > best:
                best, j = ub[k], k
        if j < 0 or fresh[j]:
            return j
        ub[j] = _row_gain(indptr, indices, data, w, d1, j)
        fresh[j] = True


@numba.njit(**_NB)
def _open_row(indptr, indices, data, d1, j):
    for e in range(indptr[j], indptr[j + 1]):
        if data[e] < d1[indices[e]]:
            d1[indices[e]] = data[e]


@numba.njit(parallel=True, **_NB)
def _best_swaps(indptr, indices, data, w, d1, f1, d2, slot, loss, is_open, n_thr):
    """Per closed candidate k, the best site to close for it (slot) and the profit of that swap.

    Profit of inserting k and removing the new site in slot s is gain[k] − loss[s] + extra[k, s]
    (Resende & Werneck, 2007, §3); extra[k, ·] is built per k in a thread-local buffer and is zero for
    the slots no pair of k touches, so those are covered by the slot of least loss.
    """
    n = len(indptr) - 1
    n_slots = len(loss)
    s_min = int(np.argmin(loss))
    best_p = np.full(n, -np.inf)
    best_s = np.full(n, -1, dtype=np.int64)
    chunk = (n + n_thr - 1) // n_thr
    for t in numba.prange(n_thr):
        buf = np.zeros(n_slots)
        mark = np.zeros(n_slots, dtype=np.bool_)
        touched = np.empty(n_slots, dtype=np.int64)
        for k in range(t * chunk, min(n, (t + 1) * chunk)):
            if is_open[k]:
                continue
            g = 0.0
            m = 0
            for e in range(indptr[k], indptr[k + 1]):
                i = indices[e]
                c = data[e]
                if c < d1[i]:
                    g += w[i] * (d1[i] - c)
                r = f1[i]
                if r >= 0 and c < d2[i]:
                    s = slot[r]
                    if s >= 0:
                        if not mark[s]:
                            mark[s] = True
                            touched[m] = s
                            m += 1
                        buf[s] += w[i] * (d2[i] - max(c, d1[i]))
            bp, bs = g - loss[s_min], s_min
            for q in range(m):
                s = touched[q]
                v = g - loss[s] + buf[s]
                if v > bp or (v == bp and s < bs):
                    bp, bs = v, s
                buf[s] = 0.0
                mark[s] = False
            best_p[k] = bp
            best_s[k] = bs
    return best_p, best_s


@numba.njit(parallel=True, **_NB)
def _lagrange_rho(indptr, indices, data, w, lam):
    """ρ_j = Σ_i min(0, w_i c_ji − λ_i): the reduced cost of opening j."""
    n = len(indptr) - 1
    rho = np.zeros(n)
    for j in numba.prange(n):
        s = 0.0
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            r = w[i] * data[e] - lam[i]
            if r < 0:
                s += r
        rho[j] = s
    return rho


@numba.njit(**_NB)
def _lagrange_served(indptr, indices, data, w, lam, rows, n_dem):
    """How many chosen sites serve each demand point in the relaxed problem (w c < λ)."""
    served = np.zeros(n_dem)
    for j in rows:
        for e in range(indptr[j], indptr[j + 1]):
            i = indices[e]
            if w[i] * data[e] < lam[i]:
                served[i] += 1.0
    return served


@numba.njit(**_NB)
def _k_nearest(indptr, indices, data, n_dem, K):
    """The K cheapest pairs of each demand point and the cap: the K-th cost where pairs were dropped (every
    dropped pair costs at least that), inf where none was.  Rows must have sorted indices: demand points are
    taken in blocks, each block's columns gathered by a cursor per row, and the K-th cost found by partition."""
    n_cand = len(indptr) - 1
    cur = indptr[:-1].astype(np.int64)
    hc = np.full((n_dem, K), np.inf)
    hj = np.full((n_dem, K), -1, dtype=np.int32)
    cnt = np.zeros(n_dem, dtype=np.int64)
    cap = np.full(n_dem, np.inf)
    B = 256
    for a in range(0, n_dem, B):
        b = min(n_dem, a + B)
        off = np.zeros(b - a + 1, dtype=np.int64)
        for j in range(n_cand):
            e = cur[j]
            while e < indptr[j + 1] and indices[e] < b:
                off[indices[e] - a + 1] += 1
                e += 1
        for q in range(b - a):
            off[q + 1] += off[q]
        bc = np.empty(off[-1])
        bj = np.empty(off[-1], dtype=np.int32)
        pos = off[:-1].copy()
        for j in range(n_cand):
            e = cur[j]
            while e < indptr[j + 1] and indices[e] < b:
                q = indices[e] - a
                bc[pos[q]] = data[e]
                bj[pos[q]] = j
                pos[q] += 1
                e += 1
            cur[j] = e
        for q in range(b - a):
            i, lo, hi = a + q, off[q], off[q + 1]
            if hi - lo <= K:
                t = np.inf
            else:
                t = np.partition(bc[lo:hi].copy(), K - 1)[K - 1]
                cap[i] = t
            m = 0
            for e in range(lo, hi):  # below the K-th cost first, then ties at it until K
                if bc[e] < t:
                    hc[i, m], hj[i, m] = bc[e], bj[e]
                    m += 1
            for e in range(lo, hi):
                if m >= K:
                    break
                if bc[e] == t:
                    hc[i, m], hj[i, m] = bc[e], bj[e]
                    m += 1
            cnt[i] = m
    # As candidate-row CSR (demand points ascending within a row).
    n_cand = len(indptr) - 1
    ptr = np.zeros(n_cand + 1, dtype=np.int64)
    for i in range(n_dem):
        for q in range(min(cnt[i], K)):
            ptr[hj[i, q] + 1] += 1
    for j in range(n_cand):
        ptr[j + 1] += ptr[j]
    pos = ptr[:-1].copy()
    idx = np.empty(ptr[-1], dtype=np.int32)
    val = np.empty(ptr[-1])
    for i in range(n_dem):
        for q in range(min(cnt[i], K)):
            j = hj[i, q]
            idx[pos[j]] = i
            val[pos[j]] = hc[i, q]
            pos[j] += 1
    return ptr, idx, val, cap


def _csr(cost: sparse.csr_array):
    """The CSR arrays as the kernels take them, copied only when their dtype differs (indices may stay int32)."""
    ix = cost.indices if cost.indices.dtype in (np.int32, np.int64) else cost.indices.astype(np.int64)
    return cost.indptr.astype(np.int64, copy=False), ix, cost.data.astype(np.float64, copy=False)


def _past(deadline) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def _greedy(indptr, indices, data, w, fx, p, pen, n_dem, *, deadline=None) -> list[int]:
    """Greedy adds; past the deadline the remaining sites are the best by their last priced gains, in one step."""
    is_open = fx.copy()
    d1 = _nearest_two(indptr, indices, data, np.flatnonzero(is_open), pen, n_dem)[0]
    ub = _gains(indptr, indices, data, w, d1, is_open)
    sel: list[int] = []
    for _ in range(p):
        if _past(deadline):
            # Out of time: still p sites (the model needs them), taken by gain without updating.
            rest = [int(j) for j in np.argsort(-ub, kind="stable") if not is_open[j]][:p - len(sel)]
            return sel + rest
        j = int(_lazy_pick(indptr, indices, data, w, d1, ub, is_open))
        sel.append(j)
        is_open[j] = True
        _open_row(indptr, indices, data, d1, j)
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
        if not sel or _past(deadline):
            return sel, base, swaps
        slot[:] = -1
        slot[sel] = np.arange(len(sel))
        mine = f1 >= 0
        mine[mine] = slot[f1[mine]] >= 0
        loss = np.bincount(slot[f1[mine]], weights=(w * (d2 - d1))[mine], minlength=len(sel))
        bp, bs = _best_swaps(indptr, indices, data, w, d1, f1, d2, slot, loss, is_open, numba.get_num_threads())
        k = int(np.argmax(bp))
        if not bp[k] > 1e-9 * max(1.0, base):
            return sel, base, swaps
        s = int(bs[k])
        is_open[sel[s]] = False
        is_open[k] = True
        sel[s] = k
        swaps += 1


def _objective(full, w, fx, sel, pen, n_dem) -> float:
    rows = np.sort(np.concatenate([np.flatnonzero(fx), np.asarray(sel, dtype=np.int64)]))
    return float((w * _nearest_two(*full, rows, pen, n_dem)[0]).sum())


def solve(cost: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int, penalty: float, *,
          deadline: float | None = None, target_gap: float = 1e-3, max_rounds: int = 12, round_iter: int = 300,
          stall: int = 100, seed: int = 0) -> dict:
    """Greedy + interchange, rounds of Lagrangian bound and heuristic, then iterated local search.

    Stops at ``target_gap`` (proven), at the deadline, or when perturbations found nothing better: max(``stall``,
    3p) in a row on the pass-per-swap interchange, or max(``stall``, 10p, 500) in a row after each of
    ``_RESTARTS`` restarts on the incremental one.  ``stopped`` in the result says which.
    """
    prev = numba.get_num_threads()
    try:
        return _search(cost, w, fx, p, penalty, deadline=deadline, target_gap=target_gap, max_rounds=max_rounds,
                      round_iter=round_iter, stall=stall, seed=seed)
    finally:
        numba.set_num_threads(prev)


_PARALLEL_FROM = 5_000_000  # stored pairs from which the numba kernels run on all threads (a busy machine makes threads a loss below)


def lagrangian_bound(csr3, w: np.ndarray, fx: np.ndarray, p: int, penalty: float, *, upper: float,
                     start: np.ndarray | None = None, max_iter: int = 2_000, target_gap: float = 1e-3,
                     deadline: float | None = None, patience: int = 20, cap: np.ndarray | None = None):
    """Best Lagrangian lower bound found for the p-median (with the virtual penalty site).

    ``csr3`` is (indptr, indices, data) of the costs, full or truncated with ``cap`` (λ_i ≤ w_i cap_i keeps the
    truncated Lagrangian equal to the full one).
    L(λ) = Σ_i λ_i + Σ_{j open} ρ_j(λ) + Σ_i min(0, w_i·penalty − λ_i), with all existing sites and the
    ``p`` free candidates of most negative ρ open.  Polyak steps toward ``upper`` (a feasible
    objective); the step factor halves after 20 iterations without improvement.  Stops at
    ``target_gap``, at ``deadline`` or when the step factor is spent.

    Returns (bound, iterations, λ of the bound, best set of free sites the relaxation opened).
    """
    act = w > 0
    if not act.any():
        return 0.0, 0, start, None
    indptr, indices, data = csr3
    n_dem = len(w)
    pen_w = w * float(penalty)
    lam_cap = np.full(n_dem, np.inf) if cap is None else np.where(act, w * cap, np.inf)
    lam = np.minimum(np.where(act, start if start is not None else 0.0, 0.0), lam_cap).astype(float)
    free_idx = np.flatnonzero(~fx)
    fixed_rows = np.flatnonzero(fx)
    best, beta, stale, it = -np.inf, 2.0, 0, 0
    best_lam, best_set, best_obj = lam.copy(), None, np.inf
    for it in range(1, max_iter + 1):
        rho = _lagrange_rho(indptr, indices, data, w, lam)
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
        if (upper - best) <= target_gap * max(1.0, abs(upper)) or beta < 1e-4 or _past(deadline):
            break
        served = _lagrange_served(indptr, indices, data, w, lam, rows, n_dem) + (pen_w < lam)
        g = np.where(act, 1.0 - served, 0.0)
        norm = float(g @ g)
        if norm == 0:  # λ is optimal for the relaxation: L(λ) is the Lagrangian dual's value
            break
        lam += beta * max(upper - L, 1e-9 * max(1.0, abs(upper))) / norm * g
        np.minimum(lam, lam_cap, out=lam)  # projected: every λ below the cap gives a valid bound
    # Summation order can move a float by ~1e-15 relative: give the bound that much away.
    return best - 1e-9 * max(1.0, abs(best)), it, best_lam, best_set


@numba.njit(**_NB)
def _column(indptr, indices, data, i, n_cand):
    """Cost of every candidate to demand ``i`` (inf where not stored), by binary search in each sorted row."""
    out = np.full(n_cand, np.inf)
    for j in range(n_cand):
        lo, hi = indptr[j], indptr[j + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        if lo < indptr[j + 1] and indices[lo] == i:
            out[j] = data[lo]
    return out


_TRUNCATE_FROM, _K_MIN, _K_PER_SITE = 200_000, 64, 5  # when and how much the search truncates (tests lower them)


def _truncation(full, n_dem: int, n_cand: int, p: int, nnz: int):
    """The K cheapest pairs per demand point when that is well under the full matrix, else None."""
    K = max(_K_MIN, _K_PER_SITE * -(-n_cand // max(p, 1)))
    if nnz < _TRUNCATE_FROM or 3 * K * n_dem > 2 * nnz:
        return None
    ptr, idx, val, cap = _k_nearest(*full, n_dem, min(K, max(_K_MIN, n_cand // 3)))  # ≤ a third: p = 10 kept half twice
    return (ptr, idx, val), cap


def _kick(sel, rng, srch, fx, is_free, pen, n_dem, n_cand, p) -> list[int]:
    """Move 1-3 random new sites each to a random cheap free candidate of a random demand point it serves."""
    sel = list(sel)
    is_open = fx.copy()
    is_open[sel] = True
    near = 2 * -(-n_cand // max(p, 1)) + 3
    for _ in range(int(rng.integers(1, min(3, len(sel)) + 1))):
        s = int(rng.integers(len(sel)))
        _d1, f1, _d2 = _nearest_two(*srch, np.flatnonzero(is_open), pen, n_dem)
        mine = np.flatnonzero(f1 == sel[s])
        i = int(rng.choice(mine)) if len(mine) else int(rng.integers(n_dem))
        col = _column(*srch, i, n_cand)
        col[~is_free | is_open] = np.inf
        order = np.argsort(col, kind="stable")[:near]
        order = order[np.isfinite(col[order])]
        if not len(order):
            order = np.flatnonzero(is_free & ~is_open)
        if not len(order):
            break
        k = int(rng.choice(order))
        is_open[sel[s]] = False
        is_open[k] = True
        sel[s] = k
    return sel


# Largest n_cand × p searched incrementally, kicks per relinking, bound's time share, restarts, kick growth.
_LS_MAX_CELLS, _PR_EVERY, _BOUND_SHARE, _RESTARTS, _ESC, _KMAX = 25_000_000, 10, 0.25, 10, 50, 8


def _engine(srch, w, fx, p, pen, n_dem, n_cand):
    """The incremental interchange (:mod:`._pmedian_search`), or None where its n_cand × p table is too large."""
    if p == 0 or n_cand * p > _LS_MAX_CELLS:
        return None
    return _ps.Engine(srch, w, fx, p, pen)


def _search(cost, w, fx, p, penalty, *, deadline, target_gap, max_rounds, round_iter, stall, seed) -> dict:
    """The heuristic (see :func:`solve`).  Long because it is one loop of three phases sharing their state."""
    t_start = time.perf_counter()
    full = _csr(cost)
    n_cand, n_dem = cost.shape
    pen = float(penalty)
    tr = _truncation(full, n_dem, n_cand, p, cost.nnz)
    srch, cap = (full, None) if tr is None else tr
    if len(srch[1]) < _PARALLEL_FROM:
        numba.set_num_threads(1)  # small searches: threads cost more than they save (badly so on a busy machine)
    sel = _greedy(*srch, w, fx, p, pen, n_dem, deadline=deadline)
    eng = _engine(srch, w, fx, p, pen, n_dem, n_cand)
    elite = _ps.Elite()

    def descend(start):
        """A local optimum from ``start``: (sites, swaps)."""
        if eng is None:
            s2, _, k2 = _interchange(*srch, w, fx, start, pen, n_dem, deadline=deadline)
            return s2, k2
        eng.reset(start)
        k2 = eng.settle(deadline, _past)
        eng.commit()
        elite.add(eng.sel, eng.objective())
        return [int(j) for j in eng.sel], k2

    sel, swaps = descend(sel)
    ub = _objective(full, w, fx, sel, pen, n_dem)
    lb, lam, iters, rounds, kicks = -np.inf, None, 0, 0, 0

    def gap_ok():
        return ub - lb <= target_gap * max(1.0, abs(ub))

    def bound_round(max_iter, until=None):
        nonlocal lb, lam, iters
        b, n, lam, lag_sel = lagrangian_bound(srch, w, fx, p, pen, upper=ub, start=lam, deadline=until or deadline,
                                              target_gap=target_gap, max_iter=max_iter, cap=cap)
        iters += n
        better = b > lb + 1e-6 * max(1.0, abs(lb)) if np.isfinite(lb) else True
        lb = max(lb, b)
        return better, lag_sel

    # The first bound rounds get a share of the time: on a large model one round can take it all.
    until = None if deadline is None else min(deadline, t_start + _BOUND_SHARE * (deadline - t_start))
    for rounds in range(1, max_rounds + 1):
        improved, lag_sel = bound_round(round_iter, until)
        if lag_sel is not None and not gap_ok() and not _past(deadline):
            # Polish the relaxation's best set even when it starts worse: interchange usually lands lower.
            s2, k2 = descend(lag_sel)
            o2 = _objective(full, w, fx, s2, pen, n_dem)
            swaps += k2
            if o2 < ub - 1e-9 * max(1.0, ub):
                sel, ub, improved = s2, o2, True
        if gap_ok() or not improved or _past(deadline) or _past(until):
            break
    # Iterated local search on the time left; the bound is refreshed (a better incumbent sharpens the
    # Polyak steps) once as much time went to the search as the last bound round took.
    rng = np.random.default_rng(seed)
    is_free = ~fx
    cur, cur_obj, fails = list(sel), ub, 0
    stall = max(stall, 3 * p) if eng is None else max(stall, 10 * p, 500)  # incremental kicks are cheap
    t_round, t_since, dirty = 0.0, 0.0, False
    if eng is not None:
        eng.reset(cur)
        cur_obj = best_t = eng.objective()
    restarts = 0
    while p and is_free.sum() > p and not gap_ok() and not _past(deadline):
        if fails >= stall:
            if eng is None or restarts >= _RESTARTS:
                break
            # Stuck: restart the walk from the best sites moved about (p / 10 kicks without descent between).
            restarts, fails = restarts + 1, 0
            eng.reset(sel)
            for _ in range(max(1, p // 10)):
                eng.kick(rng.random(13))
            swaps += eng.settle(deadline, _past)
            eng.commit()
            cur_obj = eng.objective()
        t = time.perf_counter()
        kicks, fails = kicks + 1, fails + 1
        if eng is None:
            s2, _, k2 = _interchange(*srch, w, fx, _kick(cur, rng, srch, fx, is_free, pen, n_dem, n_cand, p), pen,
                                     n_dem, deadline=deadline)
            o2 = _objective(full, w, fx, s2, pen, n_dem)
            if o2 <= cur_obj:
                cur, cur_obj = s2, o2
        else:
            # Kicks grow by one move every _ESC failures in a row (variable neighbourhood), back to 1-3 after _KMAX.
            cur_obj, k2 = eng.step(rng, cur_obj, deadline, _past, (fails // _ESC) % _KMAX)
            o2 = np.inf
            elite.add(eng.sel, cur_obj)
            tgt = elite.pick(rng, eng.sel) if kicks % _PR_EVERY == 0 else None
            if tgt is not None and not _past(deadline):  # path relinking toward an elite solution
                o3, k3 = eng.relink(tgt, deadline, _past)
                k2 += k3
                elite.add(eng.sel, o3)
                if o3 <= cur_obj:
                    eng.commit()
                    cur_obj = o3
                else:
                    eng.rollback()
            if cur_obj < best_t - 1e-9 * max(1.0, best_t):  # better on the search matrix: recount on the full one
                best_t, s2 = cur_obj, [int(j) for j in eng.sel]
                o2 = _objective(full, w, fx, s2, pen, n_dem)
            if kicks % 500 == 0:
                eng.reset(eng.sel.copy())  # clears the rounding drift of the incremental sums
        swaps += k2
        if o2 < ub - 1e-9 * max(1.0, ub):
            sel, ub, fails, dirty = s2, o2, 0, True
        t_since += time.perf_counter() - t
        if dirty and t_since * _BOUND_SHARE >= t_round * (1 - _BOUND_SHARE) and not gap_ok():
            t = time.perf_counter()
            bound_round(max(30, round_iter // 3))
            t_round, t_since, dirty = time.perf_counter() - t, 0.0, False
    if (tr is not None or eng is not None) and not _past(deadline):
        s2, o2, k2 = _interchange(*full, w, fx, sel, pen, n_dem, deadline=deadline)  # a local optimum of the full matrix
        swaps += k2
        if o2 < ub:
            sel, ub = s2, o2
    stopped = "gap" if gap_ok() else "time limit" if _past(deadline) else "no improvement"
    return {"selected": sel, "objective": ub, "bound": lb, "swaps": swaps, "iterations": iters, "rounds": rounds,
            "kicks": kicks, "stopped": stopped, "pairs_searched": len(srch[1])}
