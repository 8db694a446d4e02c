"""Capacitated models: each site serves at most its capacity (beds, staff places) of demand weight.

:func:`capacitated_mclp` — most demand served within the cutoff by ``p`` new sites (exact, HiGHS).

:func:`capacitated_pmedian` — ``p`` new sites, each serving at most its capacity, least weighted travel.

The capacitated p-median follows the conventions of :func:`geoplan.suggest.pmedian`: a sparse candidates × demand ``cost``
(only reachable pairs stored; a stored 0 is a real zero cost), demand reachable by no
candidate listed and left out, and demand the open sites cannot take counted as
*unserved* at a ``penalty`` per weight unit so that the model always has a solution.
Demand may be split between sites.

``"exact"`` solves the MIP with HiGHS; ``"greedy"`` chooses sites by capacity-limited
savings plus interchange, every evaluation being the exact transportation LP for the
open set, and reports a gap only against the LP relaxation when HiGHS proves it optimal.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError
from geoplan.suggest._base import (
    Solution, _assign, _check_p, _cover, _highs_solve, _prepare, _rel_gap, _uncoverable,
)

log = logging.getLogger("geoplan")


@dataclasses.dataclass
class _Inst:
    """The model on stored pairs k = (site pj[k], compact demand pr[k]) of weighted, reachable demand."""

    n_cand: int
    pj: np.ndarray
    pr: np.ndarray
    pc: np.ndarray
    wd: np.ndarray  # weight per compact demand row
    cap: np.ndarray
    fx: np.ndarray
    p: int
    penalty: float


def _solve(m: _Inst, x_lo, x_hi, *, integer: bool, time_limit, count: bool = True):
    """Solve the model with x_j in [x_lo, x_hi]; returns (x, z over all pairs, bound, status).

    ``count=False`` drops the Σ free x = p row (open sets with fewer sites, while the greedy builds up).
    Variables [x_j, z_k (pairs of sites that may open), u_i]:
    Σ_k z_ki + u_i = 1;  Σ_i w_i z_ji − cap_j x_j ≤ 0;  z_ji − x_j ≤ 0;  Σ free x = p.
    """
    keep = np.flatnonzero(x_hi[m.pj] > 0)  # pairs at sites held closed can carry nothing: leave them out
    pj, pr, pc = m.pj[keep], m.pr[keep], m.pc[keep]
    n, nk, nd = m.n_cand, len(keep), len(m.wd)
    kz, ku = n + np.arange(nk), n + nk + np.arange(nd)
    ncol = n + nk + nd
    A1 = sparse.csr_array((np.ones(nk + nd), (np.concatenate([pr, np.arange(nd)]), np.concatenate([kz, ku]))),
                          shape=(nd, ncol))
    A2 = sparse.csr_array((np.concatenate([m.wd[pr], -m.cap]), (np.concatenate([pj, np.arange(n)]),
                                                                np.concatenate([kz, np.arange(n)]))), shape=(n, ncol))
    # z ≤ x is implied by the capacity rows for binary x, but it makes the LP relaxation far tighter.
    A3 = sparse.csr_array((np.concatenate([np.ones(nk), -np.ones(nk)]),
                           (np.concatenate([np.arange(nk)] * 2), np.concatenate([kz, pj]))), shape=(nk, ncol))
    A4 = sparse.csr_array(np.concatenate([(~m.fx).astype(float), np.zeros(nk + nd)])[None, :])
    A = sparse.vstack([A1, A2, A3, A4], format="csr")
    lo = np.concatenate([np.ones(nd), np.full(n + nk, -np.inf), [m.p if count else -np.inf]])
    hi = np.concatenate([np.ones(nd), np.zeros(n + nk), [m.p if count else np.inf]])
    c = np.concatenate([np.zeros(n), m.wd[pr] * pc, m.wd * m.penalty])
    col_lo = np.concatenate([x_lo, np.zeros(nk + nd)])
    col_hi = np.concatenate([x_hi, np.ones(nk + nd)])
    integer_cols = np.concatenate([np.full(n, integer), np.zeros(nk + nd, bool)])
    x, _obj, bound, status = _highs_solve(c, A, lo, hi, col_lo, col_hi, integer_cols if integer else None,
                                          maximize=False, time_limit=time_limit)
    if x is None:
        return None, None, None, status
    z = np.zeros(len(m.pj))
    z[keep] = x[n:n + nk]
    return x[:n], z, bound, status


def _evaluate(m: _Inst, z: np.ndarray) -> tuple[float, np.ndarray]:
    """Objective and unserved share per compact demand, recomputed from z (not the solver's objective)."""
    u = np.clip(1.0 - np.bincount(m.pr, weights=z, minlength=len(m.wd)), 0.0, 1.0)
    u[u < 1e-9] = 0.0  # solver round-off, not unserved demand
    return float((m.wd[m.pr] * m.pc * z).sum() + m.penalty * (m.wd * u).sum()), u


def _transport(m: _Inst, open_mask: np.ndarray, time_limit) -> tuple[float, np.ndarray, str]:
    """Optimal split of demand over a given open set (x fixed): (objective, z, status)."""
    x, z, _b, status = _solve(m, open_mask.astype(float), open_mask.astype(float), integer=False,
                              time_limit=time_limit, count=False)
    if z is None:
        raise InfeasibleError(f"HiGHS could not solve the transportation LP: {status}")
    return _evaluate(m, z)[0], z, status


def _savings(m: _Inst, z: np.ndarray) -> np.ndarray:
    """Per candidate: travel saved if it took, up to its capacity, the demand it serves most cheaply
    compared with each demand's present cost per unit (unserved units at the penalty)."""
    u = _evaluate(m, z)[1]
    d = np.bincount(m.pr, weights=m.pc * z, minlength=len(m.wd)) + m.penalty * u
    s = d[m.pr] - m.pc
    order = np.lexsort((-s, m.pj))  # per site, best saving per unit first
    pj, s, w = m.pj[order], s[order], m.wd[m.pr[order]] * (s[order] > 0)
    cum = np.cumsum(w)
    start = np.concatenate([[0.0], cum])[np.searchsorted(pj, pj)]  # weight taken before this pair at its site
    take = np.clip(m.cap[pj] - (cum - start - w), 0.0, w)
    return np.bincount(pj, weights=np.maximum(s, 0.0) * take, minlength=m.n_cand).astype(float)  # float even if empty


def _heuristic(m: _Inst, t0: float, time_limit, *, n_try: int = 5, max_rounds: int = 5):
    """Greedy on capacity-limited savings, then best-improvement interchange (top ``n_try`` per site out)."""
    open_mask = m.fx.copy()
    obj, z, _ = _transport(m, open_mask, time_limit)
    sel: list[int] = []
    for _ in range(m.p):
        s = _savings(m, z)
        s[open_mask] = -np.inf
        j = int(np.argmax(s))  # ties: lowest index, so the answer is deterministic
        sel.append(j)
        open_mask[j] = True
        obj, z, _ = _transport(m, open_mask, time_limit)
    for _ in range(max_rounds):
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        best = (1e-9 * max(1.0, abs(obj)), None, None, None)
        for pos, j in enumerate(sel):
            without = open_mask.copy()
            without[j] = False
            _o, zw, _ = _transport(m, without, time_limit)
            s = _savings(m, zw)
            s[open_mask] = -np.inf
            for k in np.argsort(-s, kind="stable")[:n_try]:
                if not np.isfinite(s[k]):
                    break
                trial = without.copy()
                trial[k] = True
                o, zt, st = _transport(m, trial, time_limit)
                if st == "Optimal" and obj - o > best[0]:
                    best = (obj - o, pos, int(k), zt)
        if best[1] is None:
            break
        open_mask[sel[best[1]]] = False
        open_mask[best[2]] = True
        sel[best[1]] = best[2]
        obj, z = _evaluate(m, best[3])[0], best[3]
    return open_mask, z


def _fmt(v: float) -> str:
    return f"{v:.10g}"


def capacitated_pmedian(cost: sparse.sparray | sparse.spmatrix, weights: np.typing.ArrayLike | None, p: int,
                        capacity: np.typing.ArrayLike, *, fixed: np.typing.ArrayLike | None = None,
                        penalty: float | None = None, solver: str = "exact",
                        time_limit: float | None = 60.0) -> Solution:
    """Capacitated p-median: ``p`` new sites minimising total weighted travel, each open site
    serving at most its ``capacity`` of demand weight.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel seconds; only stored (reachable) pairs can be used.
    weights
        Demand weights (people, 60+, ...), in the same unit as ``capacity``.
    p
        Number of *new* sites; existing (``fixed``) sites are open on top of them.
    capacity
        One value ≥ 0 per candidate (beds, places).
    fixed
        Boolean per candidate: existing facilities, always open, their capacity counted.
    penalty
        Cost per weight unit of demand the open sites cannot take (default 10 × the largest stored cost).
    solver
        ``"exact"`` (HiGHS MIP) or ``"greedy"`` (savings + interchange; gap against the LP relaxation).
    time_limit
        Seconds for HiGHS (per LP for ``"greedy"``, which also stops interchanging after it).

    Returns
    -------
    Solution
        ``selected`` ranked by weight served (``gains``); ``assignment`` is the site serving the
        largest share of each demand point; ``diagnostics`` holds ``uncoverable_demand``,
        ``uncoverable_weight``, ``unserved_weight`` (per demand point), ``unserved_total``,
        ``served_per_site`` and ``messages``.

    Raises
    ------
    InputError
        Malformed ``cost``/``weights``/``fixed``/``capacity``, a bad ``p`` or ``penalty``, or an unknown ``solver``.
    InfeasibleError
        When ``p`` exceeds the free candidates, when existing capacity plus the ``p`` largest new
        capacities is below the reachable demand, or when HiGHS returns no usable solution.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    n_cand, n_dem = cost.shape
    _check_p(p, int((~fx).sum()))
    try:
        cap = np.asarray(capacity, dtype=float)
    except (TypeError, ValueError):
        raise InputError("capacity must be numbers, one per candidate", field="capacity") from None
    if cap.shape != (n_cand,) or not np.isfinite(cap).all() or (cap < 0).any():
        raise InputError(f"capacity needs one finite value ≥ 0 per candidate ({n_cand}), got shape {cap.shape}",
                         field="capacity")
    if solver not in ("exact", "greedy"):
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    if penalty is None:
        penalty = 10.0 * (float(cost.data.max()) if cost.nnz else 1.0)
    elif not np.isfinite(penalty) or penalty < 0:
        raise InputError(f"penalty must be finite and ≥ 0, got {penalty!r}", field="penalty")
    diag = _uncoverable(_cover(cost, None), w)  # counts stored zeros as reachable
    reach = np.ones(n_dem, bool)
    reach[diag["uncoverable_demand"]] = False

    # Aggregate capacity check first: no choice of sites can serve more than this.
    total = float(w[reach].sum())
    have = float(cap[fx].sum())
    free_caps = np.sort(cap[~fx])[::-1]
    best = have + float(free_caps[:p].sum())
    if best < total - 1e-9 * max(1.0, total):
        cum = have + np.cumsum(free_caps)
        k = int(np.searchsorted(cum, total - 1e-9 * max(1.0, total))) + 1
        more = (f"it would take {k} new sites of the largest capacities" if k <= len(free_caps) else
                f"even opening all {len(free_caps)} candidate sites gives only {_fmt(have + free_caps.sum())}")
        raise InfeasibleError(f"capacity too small: total reachable demand {_fmt(total)}, existing sites hold "
                              f"{_fmt(have)}, at most {_fmt(best)} with {p} new site(s); short by "
                              f"{_fmt(total - best)}; {more}")

    coo = cost.tocoo()  # from sorted CSR: pairs ordered by site, then demand
    dem_idx = np.flatnonzero(reach & (w > 0))
    row_of = np.full(n_dem, -1)
    row_of[dem_idx] = np.arange(len(dem_idx))
    kp = row_of[coo.col] >= 0
    m = _Inst(n_cand, coo.row.astype(np.int64)[kp], row_of[coo.col[kp]], coo.data[kp].astype(float), w[dem_idx], cap, fx,
              int(p), float(penalty))

    if solver == "exact":
        x, z, bnd, status = _solve(m, fx.astype(float), np.ones(n_cand), integer=True, time_limit=time_limit)
        open_mask = None if x is None else x > 0.5
        if open_mask is None or int((open_mask & ~fx).sum()) != p:
            raise InfeasibleError(f"HiGHS returned no usable capacitated p-median solution: {status}")
        z = np.clip(np.where(open_mask[m.pj], z, 0.0), 0.0, 1.0)  # nothing served from closed sites
        name = "highs"
    else:
        open_mask, z = _heuristic(m, t0, time_limit)
        _x, _z, lp_bnd, lp_status = _solve(m, fx.astype(float), np.ones(n_cand), integer=False, time_limit=time_limit)
        bnd = lp_bnd if lp_status == "Optimal" else None  # only a proven bound
        status = f"heuristic (LP bound: {lp_status})"
        name = "greedy+interchange"
    obj, u = _evaluate(m, z)
    unserved = np.zeros(n_dem)
    unserved[dem_idx] = m.wd * u
    served = np.bincount(m.pj, weights=m.wd[m.pr] * z, minlength=n_cand).astype(float)
    assignment = np.full(n_dem, -1, dtype=np.int64)
    pos = np.flatnonzero(z > 1e-9)
    if len(pos):
        pos = pos[np.lexsort((m.pj[pos], -z[pos], m.pr[pos]))]  # per demand: largest share, then lowest site
        first = np.ones(len(pos), bool)
        first[1:] = m.pr[pos[1:]] != m.pr[pos[:-1]]
        assignment[dem_idx[m.pr[pos[first]]]] = m.pj[pos[first]]
    sel = np.flatnonzero(open_mask & ~fx)
    order = sel[np.argsort(-served[sel], kind="stable")]
    diag.update(unserved_weight=unserved, unserved_total=float(unserved.sum()), served_per_site=served, messages=[])
    if diag["unserved_total"] > 1e-9:
        n_pts = int((unserved > 1e-9).sum())
        diag["messages"].append(
            f"{_fmt(diag['unserved_total'])} of the demand weight ({n_pts} demand point(s)) cannot be served within "
            f"the capacity of the open sites that reach it; it is counted at the penalty of {_fmt(penalty)} per unit")
    return Solution("capacitated_pmedian", name, order, served[order], obj, bnd, _rel_gap(obj, bnd), status,
                    time.perf_counter() - t0, assignment, diag)


def capacitated_mclp(cost: sparse.sparray | sparse.spmatrix, weights: np.typing.ArrayLike | None, p: int,
                     capacity: np.typing.ArrayLike, *, cutoff: float | None = None,
                     fixed: np.typing.ArrayLike | None = None, time_limit: float | None = 60.0) -> Solution:
    """Capacitated MCLP (exact, HiGHS): most demand served within the cutoff by ``p`` new sites, each
    site serving at most its ``capacity`` (beds, staff places) of demand weight.

    Demand may be split between sites.  Infeasible parts (demand beyond every cutoff) are listed;
    total demand above total capacity is reported in ``diagnostics["capacity_short"]``.

    Parameters
    ----------
    cost
        Sparse candidates × demand travel costs.
    weights
        Demand weights, in the same unit as ``capacity`` (default 1 each when None).
    p
        Number of *new* sites; existing (``fixed``) sites are open on top of them.
    capacity
        One value ≥ 0 per candidate.
    cutoff
        Coverage threshold in the cost's unit (default: every stored entry covers).
    fixed
        Boolean per candidate: existing facilities, always open, their capacity counted.
    time_limit
        Seconds for HiGHS.

    Returns
    -------
    Solution
        ``objective`` is the demand weight served; ``selected`` ranked by weight served (``gains``);
        ``diagnostics`` holds ``uncoverable_demand``, ``capacity_short`` and ``served_per_site``
        (and ``messages`` when capacity is short).

    Raises
    ------
    InputError
        Malformed ``cost``/``weights``/``fixed``/``capacity`` or a bad ``p``.
    InfeasibleError
        ``p`` exceeds the free candidates, or HiGHS found no solution.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    _check_p(p, int((~fx).sum()))
    cap = np.asarray(capacity, dtype=float)
    if cap.shape != (cost.shape[0],) or (cap < 0).any() or not np.isfinite(cap).all():
        raise InputError("capacity needs one finite value ≥ 0 per candidate", field="capacity")
    C = _cover(cost, cutoff).tocoo()
    n_cand, n_dem = cost.shape
    nk = C.nnz
    pj, pi = C.row.astype(np.int64), C.col.astype(np.int64)
    ncol = n_cand + nk
    # Σ_j z_ji ≤ 1 per demand; Σ_i w_i z_ji − cap_j x_j ≤ 0 per site; z_ji ≤ x_j; Σ free x = p
    A1 = sparse.csr_array((np.ones(nk), (pi, n_cand + np.arange(nk))), shape=(n_dem, ncol))
    A2 = sparse.csr_array((np.concatenate([w[pi], -cap]), (np.concatenate([pj, np.arange(n_cand)]),
                                                          np.concatenate([n_cand + np.arange(nk), np.arange(n_cand)]))),
                          shape=(n_cand, ncol))
    A3 = sparse.csr_array((np.concatenate([np.ones(nk), -np.ones(nk)]),
                           (np.concatenate([np.arange(nk)] * 2), np.concatenate([n_cand + np.arange(nk), pj]))), shape=(nk, ncol))
    A4 = sparse.csr_array(np.concatenate([(~fx).astype(float), np.zeros(nk)])[None, :])
    A = sparse.vstack([A1, A2, A3, A4], format="csr")
    lo = np.concatenate([np.full(n_dem + n_cand + nk, -np.inf), [p]])
    hi = np.concatenate([np.ones(n_dem), np.zeros(n_cand + nk), [p]])
    c = np.concatenate([np.zeros(n_cand), w[pi]])
    x, obj, bnd, status = _highs_solve(c, A, lo, hi, np.concatenate([fx.astype(float), np.zeros(nk)]), np.ones(ncol),
                                       np.concatenate([np.ones(n_cand, bool), np.zeros(nk, bool)]), maximize=True,
                                       time_limit=time_limit)
    if x is None:
        raise InfeasibleError(f"HiGHS found no capacitated solution: {status}")
    open_mask = x[:n_cand] > 0.5
    sel = np.flatnonzero(open_mask & ~fx)
    served = np.bincount(pj, weights=w[pi] * x[n_cand:], minlength=n_cand)
    order = sel[np.argsort(-served[sel], kind="stable")]
    diag = _uncoverable(_cover(cost, cutoff), w)
    diag["capacity_short"] = max(0.0, float(w.sum() - cap[open_mask].sum()))
    diag["served_per_site"] = served
    if diag["capacity_short"] > 0:
        # Not infeasible for a covering model (it serves what it can), but the planner must hear it.
        msg = (f"total demand {w.sum():g} is above the capacity of the open sites {cap[open_mask].sum():g}: "
               f"{diag['capacity_short']:g} cannot be served whatever the locations")
        log.warning(msg)
        diag["messages"] = [msg]
    return Solution("capacitated_mclp", "highs", order, served[order], float(obj), bnd, _rel_gap(obj, bnd), status,
                    time.perf_counter() - t0, _assign(cost, open_mask, cutoff), diag)
