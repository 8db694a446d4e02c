"""p-median: ``p`` new sites minimising total weighted travel to the nearest open site.

Both solvers first run the heuristic of :mod:`._pmedian_fast` (numba kernels: greedy, fast
interchange, Lagrangian bound); ``"exact"`` then starts HiGHS from its sites.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
from scipy import sparse

from geoplan._errors import InputError
from geoplan.suggest import _pmedian_fast as fast
from geoplan.suggest._base import Solution, _check_p, _highs_solve, _prepare, _rel_gap


def _pm_costs(cost: sparse.csr_array, open_mask: np.ndarray, penalty: float) -> np.ndarray:
    """Per demand: the cheapest stored pair to an open site, capped at ``penalty`` (reads only open rows)."""
    ip, ix, d = fast._csr(sparse.csr_array(cost))
    return fast._nearest_two(ip, ix, d, np.flatnonzero(open_mask), float(penalty), cost.shape[1])[0]


def _assign_pm(cost: sparse.csr_array, open_mask: np.ndarray) -> np.ndarray:
    """Nearest open site per demand (-1 if none), as ``_base._assign`` without a cutoff, reading only open rows."""
    ip, ix, d = fast._csr(cost)
    return fast.nearest_site(ip, ix, d, np.flatnonzero(open_mask), cost.shape[1])[1]


def pmedian(cost: sparse.sparray | sparse.spmatrix, weights: np.typing.ArrayLike | None, p: int, *,
            fixed: np.typing.ArrayLike | None = None, penalty: float | None = None, solver: str = "exact",
            time_limit: float | None = 60.0) -> Solution:
    """p-median: ``p`` new sites minimising total weighted travel to the nearest open site.

    Only stored (reachable) pairs are allowed.  Demand that no candidate reaches is
    listed in ``diagnostics`` and left out of the objective; demand reachable only by
    closed candidates costs ``penalty`` (default: 10 × the largest stored cost), in the
    exact model and the heuristics alike, so both solve the same problem.  (Demand may
    always be left unserved at the penalty, so a ``penalty`` below a travel cost caps it.)

    Both solvers first run the heuristic (greedy, fast interchange, Lagrangian bound, then an
    iterated local search with path relinking on the time left until the proven gap is ≤ 0.1 %, the time is
    up, or perturbations stopped finding anything better); ``"exact"`` then starts HiGHS from its
    sites and never returns anything worse.  ``time_limit`` covers everything: the heuristic's
    construction, HiGHS and the ranking; past it the best answer found so far is returned with the
    bound proven so far (numba's first compilation in a fresh environment is not counted by anyone).

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs; only stored pairs can be assigned.
    weights
        Demand weights (default 1 each when None).
    p
        Number of *new* sites; existing (``fixed``) sites are open on top of them.
    fixed
        Boolean per candidate: existing facilities, always open.
    penalty
        Cost per weight unit of reachable demand served by no open site.
    solver
        ``"exact"`` (heuristic, then HiGHS MIP) or ``"greedy"`` (heuristic only).
    time_limit
        Seconds for the whole run.

    Returns
    -------
    Solution
        ``objective`` is the total weighted travel (penalties included); ``gains`` the weighted
        travel each new site saves; ``diagnostics`` holds ``uncoverable_demand`` and ``uncoverable_weight``,
        and from the heuristic ``stopped`` ("gap", "time limit" or "no improvement"),
        ``heuristic_objective`` (the start HiGHS got), ``heuristic_bound``, ``swaps``, ``kicks``,
        ``lagrangian_iterations``, ``lagrangian_rounds`` and ``pairs_searched`` (stored pairs the search
        scored moves on: the K cheapest per demand point on large models).

    Raises
    ------
    InputError
        Malformed ``cost``/``weights``/``fixed``, a bad ``p`` or an unknown ``solver``.
    InfeasibleError
        ``p`` exceeds the number of non-fixed candidates.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    _check_p(p, int((~fx).sum()))
    n_cand, n_dem = cost.shape
    reach = fast.reached(cost.indices, n_dem)
    diag = {"uncoverable_demand": np.flatnonzero(~reach), "uncoverable_weight": float(w[~reach].sum())}
    w_eff = np.where(reach, w, 0.0)
    if penalty is None:
        penalty = 10.0 * (float(cost.data.max()) if cost.nnz else 1.0)
    if solver not in ("exact", "greedy"):
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")

    # The heuristic runs first for both solvers: for "exact" its sites start HiGHS, and the exact answer is
    # never worse than them.  It gets 90% of the time limit alone, 30% before HiGHS; the rest of the time
    # is for HiGHS, ranking and the objective check (ranking stops refining at the time limit).
    deadline = None if time_limit is None else t0 + (0.9 if solver == "greedy" else 0.3) * time_limit
    r = fast.solve(cost, w_eff, fx, p, penalty, deadline=deadline)
    h_open = fx.copy()
    h_open[np.asarray(r["selected"], dtype=np.int64)] = True
    h_obj = float((w_eff * _pm_costs(cost, h_open, penalty)).sum())  # recomputed, not taken from the kernels
    lag = float(r["bound"]) if r["bound"] is not None and math.isfinite(r["bound"]) else None
    diag.update(swaps=r["swaps"], lagrangian_iterations=r["iterations"], lagrangian_rounds=r["rounds"],
                kicks=r["kicks"], stopped=r["stopped"], pairs_searched=r["pairs_searched"], heuristic_objective=h_obj, heuristic_bound=lag)
    end = None if time_limit is None else t0 + time_limit
    if solver == "greedy":
        open_mask, obj, bnd, status, name = h_open, h_obj, lag, "heuristic (Lagrangian bound)", "greedy+fast interchange"
    else:
        # Variables: x_j (cand), z_k per stored pair k = (j, i), u_i per demand (served by no open site, at
        # the penalty cost: the same problem the heuristic solves).  min Σ w_i c_k z_k + Σ w_i penalty u_i
        coo = cost.tocoo()
        keep_dem = reach & (w_eff > 0)
        kmask = keep_dem[coo.col] & (coo.data < penalty)  # a pair dearer than the penalty is never better than u_i
        pair_j, pair_i, pc = coo.row.astype(np.int64)[kmask], coo.col.astype(np.int64)[kmask], coo.data[kmask]
        nk = len(pc)
        dem_idx = np.flatnonzero(keep_dem)
        nd = len(dem_idx)
        row_of_dem = np.full(n_dem, -1)
        row_of_dem[dem_idx] = np.arange(nd)
        ncol = n_cand + nk + nd
        # Σ_j z_ji + u_i = 1 for each demand
        A1 = sparse.csr_array((np.ones(nk + nd), (np.concatenate([row_of_dem[pair_i], np.arange(nd)]),
                                                  np.concatenate([n_cand + np.arange(nk), n_cand + nk + np.arange(nd)]))),
                              shape=(nd, ncol))
        # z_ji − x_j ≤ 0
        A2 = sparse.csr_array((np.concatenate([np.ones(nk), -np.ones(nk)]),
                               (np.concatenate([np.arange(nk), np.arange(nk)]), np.concatenate([n_cand + np.arange(nk), pair_j]))),
                              shape=(nk, ncol))
        A3 = sparse.csr_array(np.concatenate([(~fx).astype(float), np.zeros(nk + nd)])[None, :])
        A = sparse.vstack([A1, A2, A3], format="csr")
        lo = np.concatenate([np.ones(nd), np.full(nk, -np.inf), [p]])
        hi = np.concatenate([np.ones(nd), np.zeros(nk), [p]])
        c = np.concatenate([np.zeros(n_cand), w_eff[pair_i] * pc, w_eff[dem_idx] * penalty])
        col_lo = np.concatenate([fx.astype(float), np.zeros(nk + nd)])
        col_hi = np.ones(ncol)
        integer = np.concatenate([np.ones(n_cand, bool), np.zeros(nk + nd, bool)])
        # The heuristic's sites as HiGHS' first incumbent: each demand on its cheapest open pair, or unserved
        # when that is dearer than the penalty (its objective is then h_obj).
        start = np.zeros(ncol)
        start[:n_cand] = h_open
        cand_k = np.flatnonzero(h_open[pair_j] & (pc < penalty))
        cand_k = cand_k[np.lexsort((pc[cand_k], pair_i[cand_k]))]  # by demand, then cost
        first = np.ones(len(cand_k), bool)
        first[1:] = pair_i[cand_k[1:]] != pair_i[cand_k[:-1]]
        start[n_cand + cand_k[first]] = 1.0
        served = np.zeros(nd, bool)
        served[row_of_dem[pair_i[cand_k[first]]]] = True
        start[n_cand + nk:][~served] = 1.0
        left = None if time_limit is None else max(0.5, 0.95 * time_limit - (time.perf_counter() - t0))
        x, _obj, bnd, status = _highs_solve(c, A, lo, hi, col_lo, col_hi, integer, maximize=False, time_limit=left,
                                            start=start)
        name = "highs"
        open_mask, obj = h_open, h_obj
        if x is None:  # HiGHS stopped without a point: the heuristic's sites stand
            status = f"heuristic (HiGHS: {status})"
        else:
            m = x[:n_cand] > 0.5
            o = float((w_eff * _pm_costs(cost, m, penalty)).sum())
            if o <= h_obj + 1e-9 * max(1.0, abs(h_obj)):
                open_mask, obj = m, o
            elif status == "Optimal":  # cannot be: HiGHS "optimal" yet worse than a feasible point
                status = "feasible (optimality not proven)"
        if lag is not None:  # the Lagrangian bound is proven too: keep the sharper one
            bnd = lag if bnd is None else max(bnd, lag)
        if bnd is not None and status == "Optimal":
            bnd = min(bnd, obj)  # HiGHS' dual bound may sit a tolerance above its objective
    sel = np.flatnonzero(open_mask & ~fx)
    order, gains = _rank_pm(cost, w_eff, fx, sel, penalty, deadline=end)
    return Solution("pmedian", name, order, gains, obj, bnd, _rel_gap(obj, bnd), status, time.perf_counter() - t0,
                    _assign_pm(cost, open_mask), diag)


def _rank_pm(cost, w, fx, sel, penalty, *, deadline: float | None = None):
    """Order chosen sites by the weighted travel each saves given those before it (reads only their rows).

    Lazy greedy: a site's saving only shrinks as others are ranked, so only the site whose last priced
    saving leads is re-priced, until a freshly priced one leads (the same order as re-pricing all every step,
    ties to the lower position).  Past ``deadline`` the sites not yet ranked follow in one step, by what
    each saves given those ranked so far (so ranking never holds up an answer the time limit asked for).
    """
    cost = sparse.csr_array(cost)
    d = _pm_costs(cost, fx, penalty)
    sel = np.asarray(sel, dtype=np.int64)
    ip, ix, dd = fast._csr(sparse.csr_array(cost[sel]))
    none_open = np.zeros(len(sel), bool)
    heap = [(-float(g), r) for r, g in enumerate(fast._gains(ip, ix, dd, w, d, none_open))]
    heapq.heapify(heap)
    order, gains, fresh = [], [], set()
    while heap:
        if deadline is not None and time.perf_counter() > deadline:
            s = fast._gains(ip, ix, dd, w, d, none_open)
            rest = sorted((r for _, r in heap), key=lambda r: (-s[r], r))
            order += [int(sel[r]) for r in rest]
            gains += [float(s[r]) for r in rest]
            break
        neg, r = heapq.heappop(heap)
        if r in fresh:
            order.append(int(sel[r]))
            gains.append(-neg)
            fast._open_row(ip, ix, dd, d, r)
            fresh.clear()
        else:
            fresh.add(r)
            heapq.heappush(heap, (-float(fast._row_gain(ip, ix, dd, w, d, r)), r))
    return np.array(order, dtype=np.int64), np.array(gains, dtype=float)
