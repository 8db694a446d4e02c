"""Coverage models on a sparse candidates × demand cost matrix.

- :func:`lscp` — fewest new sites so that all coverable demand is within the cutoff.
- :func:`mclp` — most demand covered with ``p`` new sites.
- :func:`reach_target` — fewest new sites so that the covered share of demand reaches a target.
- :func:`pcenter` — least worst travel (binary search over exact LSCPs).

Each works on the reduced model (:func:`_reduce_cover`) and solves it LP first, MIP from the
incumbent (:func:`_solve_cover`); ``"greedy"`` is a vectorised greedy plus interchange (swap)
heuristic whose gap is reported only against a bound actually computed (the LP relaxation).
Existing facilities are candidates flagged ``fixed``: always open, never among the *new* sites.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError
from geoplan.suggest._base import (
    _EPS, Solution, _assign, _check_p, _cover, _covered_weight, _highs_solve, _prepare, _rel_gap, _uncoverable,
)

log = logging.getLogger("geoplan")


def _coverage_lp(C: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int | None, *, integer: bool, time_limit,
                 min_sites: bool = False, need: float | None = None, start=None):
    """Coverage MIP/LP over variables [x_j (cand), y_i (demand)].

    max Σ w_i y_i  (MCLP)   or   min Σ x_j (LSCP / reach-target)
    y_i ≤ Σ_{j covers i} x_j;  Σ_{j not fixed} x_j = p (MCLP);  x_j = 1 for fixed;
    y_i = 1 for coverable i (LSCP);  Σ w_i y_i ≥ need (reach-target).
    """
    n_cand, n_dem = C.shape
    # Rows: y_i − Σ_j C_ji x_j ≤ 0
    A_cov = sparse.hstack([-C.T.tocsr(), sparse.identity(n_dem, format="csr")], format="csr")
    rows = [A_cov]
    lo = [np.full(n_dem, -np.inf)]
    hi = [np.zeros(n_dem)]
    free = (~fx).astype(float)
    if p is not None:
        rows.append(sparse.csr_array(np.concatenate([free, np.zeros(n_dem)])[None, :]))
        lo.append(np.array([p]))
        hi.append(np.array([p]))
    if need is not None:
        rows.append(sparse.csr_array(np.concatenate([np.zeros(n_cand), w])[None, :]))
        lo.append(np.array([need]))
        hi.append(np.array([np.inf]))
    A = sparse.vstack(rows, format="csr")
    col_lo = np.concatenate([fx.astype(float), np.zeros(n_dem)])
    col_hi = np.ones(n_cand + n_dem)
    if min_sites:
        coverable = np.asarray(C.sum(axis=0)).ravel() > 0
        if need is None:  # LSCP: every coverable demand covered
            col_lo[n_cand:][coverable] = 1.0
        c = np.concatenate([free, np.zeros(n_dem)])
        return _highs_solve(c, A, np.concatenate(lo), np.concatenate(hi), col_lo, col_hi,
                            np.concatenate([np.full(n_cand, integer), np.zeros(n_dem, bool)]), maximize=False,
                            time_limit=time_limit, start=start)
    c = np.concatenate([np.zeros(n_cand), w])
    # y are continuous: at the optimum y_i = min(1, Σ x_j) for binary x.
    return _highs_solve(c, A, np.concatenate(lo), np.concatenate(hi), col_lo, col_hi,
                        np.concatenate([np.full(n_cand, integer), np.zeros(n_dem, bool)]), maximize=True,
                        time_limit=time_limit, start=start)


@dataclasses.dataclass
class _Reduced:
    """An equivalent, smaller coverage model over the free candidates.

    Demand already covered by an existing site, of zero weight, or out of every free
    candidate's reach is a constant and leaves the model; demand points covered by the
    same set of candidates become one column carrying their summed weight (and count).
    """

    C: sparse.csr_array  # free candidates × demand groups
    w: np.ndarray  # summed weight per group
    n: np.ndarray  # demand points per group
    free: np.ndarray  # candidate index of each row
    const_w: float  # weight covered whatever is chosen (by existing sites)
    const_n: int


def _reduce_cover(C: sparse.csr_array, w: np.ndarray, fx: np.ndarray, *, keep_zero_weight: bool = False) -> _Reduced:
    free = np.flatnonzero(~fx)
    by_fixed = (C.T @ fx.astype(float)) > 0
    Cf = sparse.csc_array(C[free])
    Cf.sort_indices()
    reach = np.diff(Cf.indptr) > 0
    keep = ~by_fixed & reach & ((w > 0) | keep_zero_weight)
    cols = np.flatnonzero(keep)
    groups: dict[bytes, int] = {}
    label = np.empty(len(cols), dtype=np.int64)
    for k, i in enumerate(cols):
        label[k] = groups.setdefault(Cf.indices[Cf.indptr[i]:Cf.indptr[i + 1]].tobytes(), len(groups))
    first = np.unique(label, return_index=True)[1]
    Cr = sparse.csr_array(Cf[:, cols[first]])
    return _Reduced(Cr, np.bincount(label, weights=w[cols], minlength=len(first)),
                    np.bincount(label, minlength=len(first)), free, float(w[by_fixed].sum()), int(by_fixed.sum()))


def _drop_redundant(C: sparse.csr_array, w: np.ndarray, sel: list[int], need: float) -> list[int]:
    """Close chosen sites (last chosen first) whose removal keeps the covered weight ≥ ``need``."""
    sel = list(sel)
    for j in sel[::-1]:
        m = np.zeros(C.shape[0], bool)
        m[[k for k in sel if k != j]] = True
        if _covered_weight(C, w, m) >= need - _EPS:
            sel.remove(j)
    return sel


def _solve_cover(C: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int | None, *, time_limit,
                 min_sites: bool = False, need: float | None = None,
                 mip: bool = True) -> tuple[np.ndarray, float | None, str, dict]:
    """Coverage models (MCLP; LSCP / reach-target with ``min_sites``) on the reduced model.

    LP first: the LP relaxation of covering models is very often integral (ReVelle, 1993), so the
    LP is solved, rounded and polished by interchange; when that solution reaches the LP bound it
    is proven optimal without branching.  Otherwise the MIP is solved with it as the incumbent
    (``mip=False``, the heuristic: the incumbent is returned with the LP bound).
    Returns (open mask over all candidates, proven bound in the original objective, status, notes).
    """
    t0 = time.perf_counter()
    if min_sites and need is None:  # LSCP: cover every coverable point; count points, not weight
        R = _reduce_cover(C, np.ones(C.shape[1]), fx)
        R.w = R.n.astype(float)
        need_r = float(R.w.sum())
    else:
        R = _reduce_cover(C, w, fx)
        need_r = None if need is None else max(0.0, need - R.const_w)
    nf = len(R.free)
    notes = {"reduced_model": f"{nf} candidates × {R.C.shape[1]} demand groups (from {C.shape[0]} × {C.shape[1]})"}

    def full(sel_r) -> np.ndarray:
        m = fx.copy()
        m[R.free[list(sel_r)]] = True
        return m

    if R.C.shape[1] == 0 or (min_sites and need_r is not None and need_r <= _EPS):
        # Nothing left to decide: the existing sites already do it, or no free candidate can add anything.
        sel = list(range(min(p, nf))) if p else []
        return full(sel), (0.0 if min_sites else R.const_w), "Optimal", notes
    zero = np.zeros(nf, bool)
    lp_need = None if (min_sites and need is None) else need_r  # LSCP: every column must be covered
    x, lp_obj, _b, lp_status = _coverage_lp(R.C, R.w, zero, p, integer=False, time_limit=time_limit, min_sites=min_sites,
                                            need=lp_need)
    # Incumbent: greedy + interchange, and (MCLP) the LP rounded to its p largest values + interchange.
    if min_sites:
        sel, _g, _m = _greedy_cover(R.C, R.w, zero, None, need=need_r, full=need_r is None)
        inc = _drop_redundant(R.C, R.w, sel, need_r)
        inc_obj = float(len(inc))
    else:
        cands = [_swap_cover(R.C, R.w, zero, _greedy_cover(R.C, R.w, zero, p)[0])]
        if x is not None:
            cands.append(_swap_cover(R.C, R.w, zero, list(np.argsort(-x[:nf], kind="stable")[:p])))
        vals = [_covered_weight(R.C, R.w, full(c)[R.free]) for c in cands]
        inc, inc_obj = cands[int(np.argmax(vals))], max(vals)
    if lp_status == "Optimal":
        if min_sites:
            lp_bound = float(math.ceil(lp_obj - 1e-6))  # an integer count of sites
            proven = inc_obj <= lp_bound
        else:
            lp_bound = lp_obj
            proven = inc_obj >= lp_bound - 1e-9 * max(1.0, abs(lp_bound))
        if proven:
            notes["proof"] = "LP relaxation bound reached by the rounded solution: no branching needed"
            return full(inc), (lp_bound if min_sites else lp_bound + R.const_w), "Optimal", notes
        if not mip:
            return full(inc), (lp_bound if min_sites else lp_bound + R.const_w), "heuristic (LP bound: Optimal)", notes
    if not mip:
        return full(inc), None, f"heuristic (LP bound: {lp_status})", notes
    left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - t0))
    open_r = np.zeros(nf, bool)
    open_r[inc] = True
    start = np.concatenate([open_r.astype(float), np.minimum(1.0, R.C.T @ open_r.astype(float))])
    x, obj, bnd, status = _coverage_lp(R.C, R.w, zero, p, integer=True, time_limit=left, min_sites=min_sites, need=lp_need,
                                       start=start)
    if x is None:  # HiGHS stopped without a point of its own: the (feasible) incumbent stands, bound from the LP
        sel, bnd, status = inc, None, f"heuristic (HiGHS: {status})"
    else:
        sel = list(np.flatnonzero(x[:nf] > 0.5))
        if min_sites:
            got = float(len(sel))
            if got > inc_obj:  # never hand back worse than the incumbent we started from
                sel, got = inc, inc_obj
                if status == "Optimal":
                    status = "feasible (optimality not proven)"
        else:
            got = _covered_weight(R.C, R.w, full(sel)[R.free])
            if got < inc_obj:
                sel, got = inc, inc_obj
                if status == "Optimal":
                    status = "feasible (optimality not proven)"
    if lp_status == "Optimal":  # the LP bound is proven too: keep the sharper of the two
        if bnd is None:
            bnd = lp_bound
        else:
            bnd = max(bnd, lp_bound) if min_sites else min(bnd, lp_bound)
    if bnd is not None and min_sites:
        bnd = float(math.ceil(bnd - 1e-6))  # a count of sites is a whole number
    if bnd is not None and not min_sites:
        bnd += R.const_w
    return full(sel), bnd, status, notes


def _greedy_cover(C: sparse.csr_array, w: np.ndarray, fx: np.ndarray, p: int | None, *, need: float | None = None,
                  full: bool = False) -> tuple[list[int], list[float], np.ndarray]:
    """Greedy: repeatedly open the candidate covering the most uncovered weight.

    Stops after ``p`` sites, or when ``need`` weight is covered, or (``full``) when nothing more can be covered.
    Returns (selected, gains, open mask).  Ties: lowest index (deterministic).
    """
    Ccsc = C.tocsc()
    open_mask = fx.copy()
    cnt = C.T @ open_mask.astype(float)
    u = np.where(cnt > 0, 0.0, w)  # weight still uncovered
    # Units: 1 per coverable demand for LSCP-style full cover (weight-free), else the weights.
    gains_vec = C @ u
    gains_vec[open_mask] = -1.0
    covered = float(w.sum() - u.sum())
    selected, gains = [], []
    while True:
        if p is not None and len(selected) >= p:
            break
        if need is not None and covered >= need - _EPS:
            break
        j = int(np.argmax(gains_vec))
        g = float(gains_vec[j])
        if g <= _EPS and (full or need is not None):
            break
        if g < 0:
            break
        selected.append(j)
        gains.append(max(g, 0.0))
        open_mask[j] = True
        newly = C.indices[C.indptr[j]:C.indptr[j + 1]]
        newly = newly[u[newly] > 0]
        if len(newly):
            delta = np.zeros_like(u)
            delta[newly] = u[newly]
            gains_vec -= Ccsc @ delta
            covered += float(u[newly].sum())
            u[newly] = 0.0
        gains_vec[j] = -1.0
    return selected, gains, open_mask


def _swap_cover(C: sparse.csr_array, w: np.ndarray, fx: np.ndarray, selected: list[int], *, max_rounds: int = 50) -> list[int]:
    """Interchange: replace an open new site with a closed candidate while coverage strictly improves."""
    sel = list(selected)
    if not sel:
        return sel
    for _ in range(max_rounds):
        open_mask = fx.copy()
        open_mask[sel] = True
        cnt = C.T @ open_mask.astype(float)
        best = (0.0, None, None)
        for pos, j in enumerate(sel):
            cj = C.indices[C.indptr[j]:C.indptr[j + 1]]
            loss = float(w[cj][cnt[cj] == 1].sum())
            cnt2 = cnt.copy()
            cnt2[cj] -= 1
            gain_vec = C @ np.where(cnt2 > 0, 0.0, w)
            gain_vec[open_mask] = -1.0
            k = int(np.argmax(gain_vec))
            delta = float(gain_vec[k]) - loss
            if delta > best[0] + 1e-9:
                best = (delta, pos, k)
        if best[1] is None:
            break
        sel[best[1]] = best[2]
    return sel


def _rank_by_marginal(C, w, fx, sel) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen sites greedily by the weight each adds given those before it."""
    remaining = list(sel)
    open_mask = fx.copy()
    order, gains = [], []
    while remaining:
        base = _covered_weight(C, w, open_mask)
        vals = []
        for j in remaining:
            m = open_mask.copy()
            m[j] = True
            vals.append(_covered_weight(C, w, m) - base)
        k = int(np.argmax(vals))
        order.append(remaining.pop(k))
        gains.append(vals[k])
        open_mask[order[-1]] = True
    return np.array(order, dtype=np.int64), np.array(gains, dtype=float)


def mclp(cost: sparse.sparray | sparse.spmatrix, weights: np.typing.ArrayLike | None, p: int, *,
         cutoff: float | None = None, fixed: np.typing.ArrayLike | None = None, solver: str = "exact",
         time_limit: float | None = 60.0, bound: bool = True) -> Solution:
    """Maximal covering: ``p`` new sites covering the most demand weight within ``cutoff``.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs (entries beyond the cutoff absent or ignored).
    weights
        Demand weights (people, 60+, 0–17).
    p
        Number of *new* sites; existing (``fixed``) sites are open on top of them.
    cutoff
        Coverage threshold in the cost's unit (default: every stored entry covers).
    fixed
        Boolean per candidate: existing facilities, always open and counted.
    solver
        ``"exact"`` (HiGHS MIP) or ``"greedy"`` (greedy + interchange; gap against the LP bound).
    time_limit
        Seconds for HiGHS; a stopped run reports its true status and gap.
    bound
        For ``"greedy"``: compute the LP-relaxation bound so a gap can be reported.

    Returns
    -------
    Solution
        ``objective`` is the covered demand weight (fixed and new sites together);
        ``selected`` the new sites ranked by marginal covered weight.

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
    C = _cover(cost, cutoff)
    diag = _uncoverable(C, w)
    if solver == "exact":
        open_mask, bnd, status, notes = _solve_cover(C, w, fx, p, time_limit=time_limit)
        diag.update(notes)
        sel = np.flatnonzero(open_mask & ~fx)
        obj = _covered_weight(C, w, open_mask)
        order, gains = _rank_by_marginal(C, w, fx, sel)
        return Solution("mclp", "highs", order, gains, obj, bnd, _rel_gap(obj, bnd), status, time.perf_counter() - t0,
                        _assign(cost, open_mask, cutoff), diag)
    if solver != "greedy":
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    if bound:  # greedy + interchange and the rounded LP, against the LP bound
        open_mask, bnd, status, notes = _solve_cover(C, w, fx, p, time_limit=time_limit, mip=False)
        diag.update(notes)
        sel = np.flatnonzero(open_mask & ~fx)
    else:
        sel = _swap_cover(C, w, fx, _greedy_cover(C, w, fx, p)[0])
        open_mask = fx.copy()
        open_mask[sel] = True
        bnd, status = None, "heuristic"
    obj = _covered_weight(C, w, open_mask)
    order, gains = _rank_by_marginal(C, w, fx, sel)
    return Solution("mclp", "greedy+swap", order, gains, obj, bnd, _rel_gap(obj, bnd), status, time.perf_counter() - t0,
                    _assign(cost, open_mask, cutoff), diag)


def lscp(cost: sparse.sparray | sparse.spmatrix, *, cutoff: float | None = None,
         fixed: np.typing.ArrayLike | None = None, weights: np.typing.ArrayLike | None = None,
         solver: str = "exact", time_limit: float | None = 60.0) -> Solution:
    """Location set covering: fewest new sites so all *coverable* demand is within the cutoff.

    Demand no candidate can reach is listed in ``diagnostics["uncoverable_demand"]``
    rather than making the model infeasible.  The objective is the number of new sites.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs.
    cutoff
        Coverage threshold in the cost's unit (default: every stored entry covers).
    fixed
        Boolean per candidate: existing facilities, always open and counted.
    weights
        Demand weights (default 1 each); used only to rank the new sites, not in the objective.
    solver
        ``"exact"`` (HiGHS MIP) or ``"greedy"`` (LP relaxation rounded and polished by interchange;
        gap against the LP bound).
    time_limit
        Seconds for HiGHS.

    Returns
    -------
    Solution
        ``objective`` is the number of new sites; ``selected`` ranked by marginal covered weight.

    Raises
    ------
    InputError
        Malformed ``cost``/``weights``/``fixed`` or an unknown ``solver``.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    C = _cover(cost, cutoff)
    diag = _uncoverable(C, w)
    if len(diag["uncoverable_demand"]):
        log.warning("%d demand point(s) cannot be covered by any candidate", len(diag["uncoverable_demand"]))
    unit = (np.asarray(C.sum(axis=0)).ravel() > 0).astype(float)  # count demand points, not weight
    if solver == "exact":
        open_mask, bnd, status, notes = _solve_cover(C, unit, fx, None, time_limit=time_limit, min_sites=True)
        diag.update(notes)
        sel = np.flatnonzero(open_mask & ~fx)
        order, gains = _rank_by_marginal(C, w, fx, sel)
        obj = float(len(sel))
        return Solution("lscp", "highs", order, gains, obj, bnd, _rel_gap(obj, bnd), status, time.perf_counter() - t0,
                        _assign(cost, open_mask, cutoff), diag)
    if solver != "greedy":
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    open_mask, bnd, status, notes = _solve_cover(C, unit, fx, None, time_limit=time_limit, min_sites=True, mip=False)
    diag.update(notes)
    sel = np.flatnonzero(open_mask & ~fx)
    order, gains = _rank_by_marginal(C, w, fx, sel)
    obj = float(len(sel))
    return Solution("lscp", "greedy", order, gains, obj, bnd, _rel_gap(obj, bnd), status, time.perf_counter() - t0,
                    _assign(cost, open_mask, cutoff), diag)


def reach_target(cost: sparse.sparray | sparse.spmatrix, weights: np.typing.ArrayLike | None, target: float, *,
                 cutoff: float | None = None, fixed: np.typing.ArrayLike | None = None, solver: str = "exact",
                 time_limit: float | None = 60.0) -> Solution:
    """Fewest new sites so that the covered share of demand weight reaches ``target`` (0–1).

    Raises :class:`~geoplan.InfeasibleError` when even opening every candidate cannot reach it,
    saying the best share that can be had.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs.
    weights
        Demand weights (default 1 each when None).
    target
        Share of the total demand weight to cover, between 0 and 1.
    cutoff
        Coverage threshold in the cost's unit (default: every stored entry covers).
    fixed
        Boolean per candidate: existing facilities, always open and counted.
    solver
        ``"exact"`` (HiGHS MIP) or ``"greedy"`` (LP relaxation rounded and polished by interchange;
        gap against the LP bound).
    time_limit
        Seconds for HiGHS.

    Returns
    -------
    Solution
        ``objective`` is the number of new sites; ``diagnostics`` holds ``already_covered_share``
        (fixed sites only) and ``covered_share`` (with the new sites).

    Raises
    ------
    InputError
        Malformed inputs, ``target`` outside 0–1, or an unknown ``solver``.
    InfeasibleError
        Total demand is zero, or the target cannot be reached even with every candidate open.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    if not 0 <= target <= 1:
        raise InputError(f"target is a share between 0 and 1, got {target}", field="target")
    total = float(w.sum())
    if total <= 0:
        raise InfeasibleError("total demand is zero: nothing to cover")
    C = _cover(cost, cutoff)
    need = target * total
    best = _covered_weight(C, w, np.ones(C.shape[0], bool))
    if best < need - _EPS:
        raise InfeasibleError(
            f"target {target:.1%} cannot be reached: opening every candidate covers {best / total:.1%}; "
            f"{total - best:g} of the demand weight is beyond the cutoff of every candidate"
        )
    diag = _uncoverable(C, w)
    diag["already_covered_share"] = _covered_weight(C, w, fx) / total
    if solver == "exact":
        open_mask, bnd, status, notes = _solve_cover(C, w, fx, None, time_limit=time_limit, min_sites=True, need=need)
        diag.update(notes)
        sel = np.flatnonzero(open_mask & ~fx)
        order, gains = _rank_by_marginal(C, w, fx, sel)
        obj = float(len(sel))
        diag["covered_share"] = _covered_weight(C, w, open_mask) / total
        return Solution("reach_target", "highs", order, gains, obj, bnd, _rel_gap(obj, bnd), status,
                        time.perf_counter() - t0, _assign(cost, open_mask, cutoff), diag)
    if solver != "greedy":
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    open_mask, bnd, status, notes = _solve_cover(C, w, fx, None, time_limit=time_limit, min_sites=True, need=need, mip=False)
    diag.update(notes)
    sel = np.flatnonzero(open_mask & ~fx)
    order, gains = _rank_by_marginal(C, w, fx, sel)
    obj = float(len(sel))
    diag["covered_share"] = _covered_weight(C, w, open_mask) / total
    return Solution("reach_target", "greedy", order, gains, obj, bnd, _rel_gap(obj, bnd), status,
                    time.perf_counter() - t0, _assign(cost, open_mask, cutoff), diag)


def pcenter(cost: sparse.sparray | sparse.spmatrix, p: int, *, fixed: np.typing.ArrayLike | None = None,
            weights: np.typing.ArrayLike | None = None,
            time_limit: float | None = 60.0) -> Solution:
    """p-center: ``p`` new sites minimising the worst travel cost of any (reachable) demand point.

    Exact: binary search over the distinct stored costs, each step an exact LSCP
    (HiGHS) asking whether ``p`` new sites can cover everyone within that radius.
    Demand no candidate reaches is listed in ``diagnostics`` and left out.
    Demand points with zero weight are ignored.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs.
    p
        Number of *new* sites; existing (``fixed``) sites are open on top of them.
    fixed
        Boolean per candidate: existing facilities, always open.
    weights
        Demand weights (default 1 each); only zero versus positive matters here.
    time_limit
        Seconds for the whole binary search; when it runs out the radius is only an upper bound
        (``status`` says so, ``bound`` and ``gap`` are None).

    Returns
    -------
    Solution
        ``objective`` is the worst travel cost (the radius) of any served demand point.

    Raises
    ------
    InputError
        Malformed ``cost``/``weights``/``fixed`` or a bad ``p``.
    InfeasibleError
        ``p`` exceeds the free candidates, or no ``p`` new sites reach every reachable demand point.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    _check_p(p, int((~fx).sum()))
    keep = (w > 0) & (np.diff(cost.tocsc().indptr) > 0)  # stored entries, explicit zeros included
    diag = {"uncoverable_demand": np.flatnonzero((w > 0) & ~keep)}
    sub = sparse.csr_array(cost[:, np.flatnonzero(keep)])
    if sub.shape[1] == 0:  # no weighted demand any candidate reaches: nothing to serve, no site needed
        return Solution("pcenter", "highs (binary search on LSCP)", np.zeros(0, np.int64), np.zeros(0), 0.0, 0.0, 0.0,
                        "Optimal", time.perf_counter() - t0, _assign(cost, fx, None), diag)
    radii = np.unique(sub.data)
    lo, hi = 0, len(radii) - 1
    best = None
    unproven = False
    while lo <= hi:
        mid = (lo + hi) // 2
        C = _cover(sub, radii[mid])
        if (np.asarray(C.sum(axis=0)).ravel() == 0).any():
            lo = mid + 1
            continue
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0 and best is not None:  # the time limit covers the whole search
            unproven = True
            break
        try:
            m, bnd, status, _n = _solve_cover(C, np.ones(C.shape[1]), fx, None, min_sites=True,
                                              time_limit=None if left is None else max(left, 0.5))
        except InfeasibleError:  # HiGHS stopped without any cover
            m, bnd, status = None, None, "no solution"
        if m is not None and int((m & ~fx).sum()) <= p:  # a feasible cover with ≤ p sites, proven or not
            best = (mid, m)
            hi = mid - 1
        elif status == "Optimal" or (bnd is not None and bnd > p + 1e-6):  # proven: p sites cannot cover at this radius
            lo = mid + 1
        else:  # time limit without proof: the final radius is only an upper bound
            unproven = True
            lo = mid + 1
    if best is None:
        raise InfeasibleError(f"no set of {p} new sites reaches every reachable demand point")
    mid, open_mask = best
    sel = np.flatnonzero(open_mask & ~fx)
    order, gains = _rank_by_marginal(_cover(cost, radii[mid]), np.where(w > 0, w, 0.0), fx, sel)
    radius = float(radii[mid])
    # Never claim optimality an LSCP step that hit its time limit did not prove.
    status, bound, gap = ("Optimal", radius, 0.0) if not unproven else ("time limit: radius not proven minimal", None, None)
    return Solution("pcenter", "highs (binary search on LSCP)", order, gains, radius, bound, gap, status,
                    time.perf_counter() - t0, _assign(cost, open_mask, None), diag)
