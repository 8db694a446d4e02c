"""Site suggestion: location-allocation on sparse network travel costs.

Array core first: every model takes a sparse ``cost`` matrix (candidates ×
demand, travel seconds, stored only within the cutoff — as
:func:`geoplan.coverage.od_matrix` returns it; a stored 0 is a real zero cost)
and demand ``weights``.  Existing facilities are candidates flagged ``fixed``:
always open, always counted, never among the *new* sites.

Models
------
- :func:`lscp` — fewest new sites so that all coverable demand is within the cutoff.
- :func:`mclp` — most demand covered with ``p`` new sites.
- :func:`pmedian` — least total weighted travel with ``p`` new sites.
- :func:`reach_target` — fewest new sites so that the covered share of demand reaches a target.
- :func:`pcenter` — least worst travel; :func:`capacitated_mclp`, :func:`capacitated_pmedian` — with
  beds/places per site.  Several types sharing sites: :mod:`geoplan._colocate` (``suggest_colocated``).

Solvers: ``"exact"`` builds the MIP directly as sparse matrices for HiGHS
(:mod:`highspy`) and reads back the true model status, objective and dual bound —
each answer checked against the model first (the point is feasible and HiGHS'
objective is its objective; "Optimal" only when objective and bound meet);
``"greedy"`` is a vectorised greedy plus interchange (swap) heuristic whose gap
is reported only against a bound actually computed (the LP relaxation from
HiGHS), else ``None``.  Same input, same answer: no randomness is used.

:func:`suggest_sites` is the GeoDataFrame/network adapter used by the CLI and
notebooks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError

log = logging.getLogger("geoplan")

_EPS = 1e-9


@dataclasses.dataclass
class Solution:
    """One answer of a location-allocation model.

    Attributes
    ----------
    model, solver
        Which model and solver produced it.
    selected
        Indices of the *new* candidates chosen, ranked (order added by greedy,
        or by marginal gain for exact answers).
    gains
        Marginal demand (MCLP/LSCP/reach-target: weight newly covered; p-median:
        weighted travel saved, seconds × weight) each selected site adds, in rank order.
    objective
        Model objective (covered weight, or total weighted travel).
    bound
        A proven bound on the optimum (upper for maximisation, lower for
        minimisation), or None when none was computed.
    gap
        Relative gap between objective and bound, or None when no bound was proven.
    status
        Solver's status string (e.g. "Optimal", "Time limit reached", "heuristic").
    seconds
        Wall time.
    assignment
        Per demand: index of the open site (fixed or new) serving it, -1 if none within the cutoff.
    diagnostics
        Infeasible parts and notes (uncoverable demand, ...).
    """

    model: str
    solver: str
    selected: np.ndarray
    gains: np.ndarray
    objective: float
    bound: float | None
    gap: float | None
    status: str
    seconds: float
    assignment: np.ndarray
    diagnostics: dict = dataclasses.field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Ranked new sites with the marginal demand each adds."""
        return pd.DataFrame({"rank": np.arange(1, len(self.selected) + 1), "candidate": self.selected, "gain": self.gains})


# --------------------------------------------------------------------------- input checks


def _prepare(cost, weights, fixed) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
    if not sparse.issparse(cost):
        raise InputError("cost must be a scipy sparse matrix (candidates × demand)", field="cost")
    cost = sparse.csr_array(cost, copy=True)  # never modify the caller's matrix
    cost.sort_indices()
    n_cand, n_dem = cost.shape
    w = np.ones(n_dem) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_dem,):
        raise InputError(f"weights has {w.shape} entries, cost has {n_dem} demand columns", field="weights")
    if (w < 0).any() or not np.isfinite(w).all():
        raise InputError("demand weights must be finite and ≥ 0", field="weights")
    fx = np.zeros(n_cand, bool) if fixed is None else np.asarray(fixed, dtype=bool)
    if fx.shape != (n_cand,):
        raise InputError(f"fixed has {fx.shape} entries, cost has {n_cand} candidate rows", field="fixed")
    return cost, w, fx


def _cover(cost: sparse.csr_array, cutoff: float | None) -> sparse.csr_array:
    """Boolean (as float 1.0) cover matrix: candidate j covers demand i when cost ≤ cutoff."""
    data = cost.data if cutoff is None else np.where(cost.data <= cutoff + _EPS, 1.0, 0.0)
    c = sparse.csr_array((np.ones_like(data) if cutoff is None else data, cost.indices.copy(), cost.indptr.copy()),
                         shape=cost.shape)
    c.eliminate_zeros()
    return c


def _check_p(p: int, n_free: int) -> None:
    if not isinstance(p, (int, np.integer)) or p < 0:
        raise InputError(f"p must be a whole number ≥ 0, got {p!r}", field="p")
    if p > n_free:
        raise InfeasibleError(f"p = {p} new sites asked for, but only {n_free} candidate sites are available")


# --------------------------------------------------------------------------- HiGHS


def _highs_run(c, A, row_lo, row_hi, col_lo, col_hi, integer, *, maximize, time_limit, mip_rel_gap, start):
    """One HiGHS run; returns (x or None, reported objective, reported MIP dual bound, status string)."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    lp = highspy.HighsLp()
    lp.num_col_ = A.shape[1]
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=float)
    lp.col_lower_ = np.asarray(col_lo, dtype=float)
    lp.col_upper_ = np.asarray(col_hi, dtype=float)
    lp.row_lower_ = np.asarray(row_lo, dtype=float)
    lp.row_upper_ = np.asarray(row_hi, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    if integer is not None and np.any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=float)
    if len(x) != A.shape[1]:
        x = None
    return x, float(info.objective_function_value), float(info.mip_dual_bound), status


_TOL = 1e-6  # HiGHS' default primal feasibility / integrality tolerance
# Statuses after which HiGHS has no point worth reading.
_NO_ANSWER = ("Infeasible", "Model error", "Not Set", "Load error", "Solve error", "Unbounded",
              "Primal infeasible or unbounded")


def _check_point(x, c, A, row_lo, row_hi, col_lo, col_hi, integer, reported: float | None) -> bool:
    """Whether ``x`` is feasible for the model as we built it and HiGHS' objective is its objective.

    HiGHS 1.16 with a user start (``setSolution``) and presolve can report the objective
    of the start *in the presolved space* (constant offset lost) and stop with status
    "Optimal" while handing back the start itself — a non-optimal point (the LSCP of
    issue 12).  So nothing HiGHS reports is believed until the point is checked here.
    """
    if x is None or not np.isfinite(x).all():
        return False
    if (x < col_lo - _TOL).any() or (x > col_hi + _TOL).any():
        return False
    if integer is not None and np.any(integer):
        xi = x[np.asarray(integer, bool)]
        if (np.abs(xi - np.round(xi)) > _TOL).any():
            return False
    act = A @ x
    scale = 1.0 + abs(A) @ np.abs(x)  # tolerance relative to the size of the row's terms (weights × shares)
    if (act < row_lo - _TOL * scale).any() or (act > row_hi + _TOL * scale).any():
        return False
    if reported is None:
        return True
    obj = float(c @ x)
    return abs(obj - reported) <= 1e-6 * max(1.0, float(np.abs(c) @ np.abs(x)))


def _highs_solve(c, A, row_lo, row_hi, col_lo, col_hi, integer, *, maximize, time_limit, mip_rel_gap=1e-6, start=None):
    """Solve min/max c·x s.t. row_lo ≤ A x ≤ row_hi, bounds; returns (x, obj, bound, status).

    ``start``: a feasible solution (all columns) handed to the MIP as its first incumbent.
    The returned point is checked against the model (feasibility, and HiGHS' objective
    equals c·x); a run that fails the check is repeated without the start, and if it still
    fails its answer is returned as "unverified" with no bound.  ``obj`` is always c·x of
    the returned point, and "Optimal" is kept only when that objective is within
    ``mip_rel_gap`` of the dual bound.
    """
    A = sparse.csc_array(A)
    c = np.asarray(c, dtype=float)
    row_lo, row_hi = np.asarray(row_lo, dtype=float), np.asarray(row_hi, dtype=float)
    col_lo, col_hi = np.asarray(col_lo, dtype=float), np.asarray(col_hi, dtype=float)
    is_mip = integer is not None and bool(np.any(integer))
    t0 = time.perf_counter()
    x, rep, dual, status = _highs_run(c, A, row_lo, row_hi, col_lo, col_hi, integer, maximize=maximize,
                                      time_limit=time_limit, mip_rel_gap=mip_rel_gap, start=start)
    trusted = status not in _NO_ANSWER and _check_point(x, c, A, row_lo, row_hi, col_lo, col_hi, integer, rep)
    if not trusted and start is not None and status not in ("Infeasible",):
        log.debug("HiGHS answer with a start failed its check (%s, objective %s); solving again without it", status, rep)
        left = None if time_limit is None else max(0.5, time_limit - (time.perf_counter() - t0))
        x, rep, dual, status = _highs_run(c, A, row_lo, row_hi, col_lo, col_hi, integer, maximize=maximize,
                                          time_limit=left, mip_rel_gap=mip_rel_gap, start=None)
        trusted = status not in _NO_ANSWER and _check_point(x, c, A, row_lo, row_hi, col_lo, col_hi, integer, rep)
    if x is None or status in _NO_ANSWER:
        return None, math.nan, None, status
    if not trusted:
        if not _check_point(x, c, A, row_lo, row_hi, col_lo, col_hi, integer, None):
            return None, math.nan, None, status  # no feasible point came back (e.g. stopped before one was found)
        return x, float(c @ x), None, f"unverified ({status})"
    obj = float(c @ x)
    if is_mip:
        bound = dual if math.isfinite(dual) else None
    else:
        bound = obj if status == "Optimal" else None
    if status == "Optimal":
        if bound is None:
            status = "feasible (optimality not proven)"
        else:
            # Allow HiGHS' own stopping rule (relative gap ≤ mip_rel_gap, absolute gap ≤ 1e-6) plus rounding.
            gap = (obj - bound) if not maximize else (bound - obj)
            if gap > max(mip_rel_gap * max(abs(obj), abs(bound)), 1e-6) + 1e-9 * max(1.0, abs(obj)):
                status = "feasible (optimality not proven)"
    return x, obj, bound, status


def status_text(status: str, lang: str = "zh") -> str:
    """A solver status for a report: whether optimality was proven, in Chinese (default) or English.

    Only the exact string "Optimal" (proven, see :func:`_highs_solve`) reads as optimal.
    """
    s = str(status)
    if s == "Optimal":
        return "已证明最优" if lang == "zh" else "proven optimal"
    if s.startswith("heuristic"):
        return "启发式解（未证明最优）" if lang == "zh" else f"heuristic, optimality not proven ({s})"
    if s.startswith("unverified"):
        return "求解器答案未通过校验（未证明最优）" if lang == "zh" else f"solver answer failed its check, not proven ({s})"
    if "time limit" in s.lower():
        return "达到时间上限（未证明最优）" if lang == "zh" else f"time limit reached, optimality not proven ({s})"
    return "可行解（未证明最优）" if lang == "zh" else f"feasible, optimality not proven ({s})"


def _rel_gap(obj: float, bound: float | None) -> float | None:
    if bound is None or not math.isfinite(bound):
        return None
    return abs(bound - obj) / max(abs(bound), abs(obj), _EPS)


# --------------------------------------------------------------------------- coverage models


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


def _covered_weight(C: sparse.csr_array, w: np.ndarray, open_mask: np.ndarray) -> float:
    cnt = C.T @ open_mask.astype(float)
    return float(w[cnt > 0].sum())


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


def _assign(cost: sparse.csr_array, open_mask: np.ndarray, cutoff: float | None) -> np.ndarray:
    """Nearest open site per demand within the cutoff (-1 if none)."""
    coo = cost.tocoo()
    keep = open_mask[coo.row] & (True if cutoff is None else (coo.data <= cutoff + _EPS))
    r, c, d = coo.row[keep], coo.col[keep], coo.data[keep]
    out = np.full(cost.shape[1], -1, dtype=np.int64)
    if len(d):
        order = np.lexsort((r, d, c))  # by demand, then cost, then site index
        c, r = c[order], r[order]
        first = np.ones(len(c), bool)
        first[1:] = c[1:] != c[:-1]
        out[c[first]] = r[first]
    return out


def mclp(cost, weights, p: int, *, cutoff: float | None = None, fixed=None, solver: str = "exact",
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


def _uncoverable(C, w) -> dict:
    cnt = np.asarray(C.sum(axis=0)).ravel()
    bad = np.flatnonzero(cnt == 0)
    return {"uncoverable_demand": bad, "uncoverable_weight": float(w[bad].sum())}


def lscp(cost, *, cutoff: float | None = None, fixed=None, weights=None, solver: str = "exact",
         time_limit: float | None = 60.0) -> Solution:
    """Location set covering: fewest new sites so all *coverable* demand is within the cutoff.

    Demand no candidate can reach is listed in ``diagnostics["uncoverable_demand"]``
    rather than making the model infeasible.  The objective is the number of new sites.
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


def reach_target(cost, weights, target: float, *, cutoff: float | None = None, fixed=None, solver: str = "exact",
                 time_limit: float | None = 60.0) -> Solution:
    """Fewest new sites so that the covered share of demand weight reaches ``target`` (0–1).

    Raises :class:`~geoplan.InfeasibleError` when even opening every candidate cannot reach it,
    saying the best share that can be had.
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


# --------------------------------------------------------------------------- p-median


def _pm_costs(cost: sparse.csr_array, open_mask: np.ndarray, penalty: float) -> np.ndarray:
    coo = cost.tocoo()
    keep = open_mask[coo.row]
    d = np.full(cost.shape[1], penalty)
    np.minimum.at(d, coo.col[keep], coo.data[keep])
    return d


def pmedian(cost, weights, p: int, *, fixed=None, penalty: float | None = None, solver: str = "exact",
            time_limit: float | None = 60.0) -> Solution:
    """p-median: ``p`` new sites minimising total weighted travel to the nearest open site.

    Only stored (reachable) pairs are allowed.  Demand that no candidate reaches is
    listed in ``diagnostics`` and left out of the objective; demand reachable only by
    closed candidates costs ``penalty`` (default: 10 × the largest stored cost), in the
    exact model and the heuristics alike, so both solve the same problem.  (Demand may
    always be left unserved at the penalty, so a ``penalty`` below a travel cost caps it.)

    Both solvers first run the heuristic (greedy, fast interchange, Lagrangian bound);
    ``"exact"`` then starts HiGHS from its sites and never returns anything worse.
    ``time_limit`` covers everything: the heuristic's construction, HiGHS and the ranking.
    """
    t0 = time.perf_counter()
    cost, w, fx = _prepare(cost, weights, fixed)
    _check_p(p, int((~fx).sum()))
    n_cand, n_dem = cost.shape
    reach = np.asarray(sparse.csr_array((np.ones(cost.nnz), cost.indices, cost.indptr), shape=cost.shape).sum(axis=0)).ravel() > 0
    diag = {"uncoverable_demand": np.flatnonzero(~reach), "uncoverable_weight": float(w[~reach].sum())}
    w_eff = np.where(reach, w, 0.0)
    if penalty is None:
        penalty = 10.0 * (float(cost.data.max()) if cost.nnz else 1.0)
    if solver not in ("exact", "greedy"):
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    from geoplan.suggest import _pmedian_fast as fast

    # The heuristic runs first for both solvers: for "exact" its sites start HiGHS, and the exact answer is
    # never worse than them.  It gets 90% of the time limit alone, 30% before HiGHS; the rest of the time
    # is for HiGHS, ranking and the objective check (ranking stops refining at the time limit).
    deadline = None if time_limit is None else t0 + (0.9 if solver == "greedy" else 0.3) * time_limit
    r = fast.solve(cost, w_eff, fx, p, penalty, deadline=deadline)
    h_open = fx.copy()
    h_open[np.asarray(r["selected"], dtype=np.int64)] = True
    h_obj = float((w_eff * _pm_costs(cost, h_open, penalty)).sum())  # recomputed, not taken from the kernels
    lag = float(r["bound"]) if r["bound"] is not None and math.isfinite(r["bound"]) else None
    diag.update(swaps=r["swaps"], lagrangian_iterations=r["iterations"], lagrangian_rounds=r["rounds"])
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
                    _assign(cost, open_mask, None), diag)


def _savings(cost: sparse.csr_array, w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per candidate: Σ_i w_i max(0, d_i − c_ji) over stored pairs (vectorised over the CSR data)."""
    s = w[cost.indices] * np.maximum(0.0, d[cost.indices] - cost.data)
    rows = np.repeat(np.arange(cost.shape[0]), np.diff(cost.indptr))
    return np.bincount(rows, weights=s, minlength=cost.shape[0])


def _rank_pm(cost, w, fx, sel, penalty, *, deadline: float | None = None):
    """Order chosen sites by the weighted travel each saves given those before it (reads only their rows).

    Past ``deadline`` the sites not yet ranked follow in one step, by what each saves given those
    ranked so far (so ranking never holds up an answer the time limit asked for).
    """
    d = _pm_costs(sparse.csr_array(cost[np.flatnonzero(fx)]), np.ones(int(fx.sum()), bool), penalty)
    sel = np.asarray(sel, dtype=np.int64)
    sub = sparse.csr_array(cost[sel])
    remaining = list(range(len(sel)))
    order, gains = [], []
    while remaining:
        s = _savings(sub, w, d)
        if deadline is not None and time.perf_counter() > deadline:
            rest = sorted(remaining, key=lambda r: (-s[r], r))
            order += [int(sel[r]) for r in rest]
            gains += [float(s[r]) for r in rest]
            break
        k = max(remaining, key=lambda r: (s[r], -r))
        remaining.remove(k)
        order.append(int(sel[k]))
        gains.append(float(s[k]))
        row = slice(sub.indptr[k], sub.indptr[k + 1])
        idx = sub.indices[row]
        d[idx] = np.minimum(d[idx], sub.data[row])
    return np.array(order, dtype=np.int64), np.array(gains, dtype=float)


# --------------------------------------------------------------------------- GeoDataFrame / network adapter


def candidates_from_network(net, *, spacing_m: float = 200.0, area=None):
    """Candidate sites on network nodes thinned to about one per ``spacing_m`` grid cell (WGS-84 points).

    ``area`` (a polygon GeoDataFrame/GeoSeries) keeps only candidates inside it.
    """
    import geopandas as gpd

    cell = np.floor(np.column_stack([net.x, net.y]) / spacing_m).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    first = np.sort(first)
    cand = gpd.GeoDataFrame({"id": [f"node:{net.node_ids[i]}" for i in first], "source": "network"},
                            geometry=gpd.points_from_xy(net.x[first], net.y[first]), crs=net.crs)
    if area is not None:
        poly = area.to_crs(net.crs).geometry.union_all()
        cand = cand[cand.within(poly)]
    return cand.to_crs(4326).reset_index(drop=True)


def candidates_from_units(units):
    """One candidate per admin unit at its representative point (e.g. where the unit's offices are unknown)."""
    import geopandas as gpd

    proj = units.to_crs(units.estimate_utm_crs())
    pts = proj.geometry.representative_point().to_crs(4326)
    return gpd.GeoDataFrame({"id": "seat:" + units["code"].astype(str), "name": units.get("name"), "source": "unit"},
                            geometry=pts.to_numpy(), crs=4326).reset_index(drop=True)


@dataclasses.dataclass
class SuggestResult:
    """Suggested sites for one facility type with before/after indicators.

    Attributes
    ----------
    sites
        GeoDataFrame of the new sites, ranked, with ``rank``, ``gain`` (weight newly covered or
        travel saved) and candidate attributes.
    solution
        The :class:`Solution` of the array core.
    before, after
        :class:`~geoplan.coverage.CoverageResult` without and with the new sites.
    infeasible_candidates
        Candidates left out, with the reason (too far from the network, outside the area).
    facility_type
        The type key.
    """

    sites: Any
    solution: Solution
    before: Any
    after: Any
    infeasible_candidates: pd.DataFrame
    facility_type: str

    def comparison(self) -> pd.DataFrame:
        """Summary indicators before and after, side by side."""
        b = self.before.summary.set_index(["type", "indicator", "unit_kind"])
        a = self.after.summary.set_index(["type", "indicator", "unit_kind"])
        out = pd.DataFrame({"before": b["value"], "after": a["value"], "target": b["target"],
                            "passed_before": b["passed"], "passed_after": a["passed"]}).reset_index()
        return out[out["type"] == self.facility_type].reset_index(drop=True)

    def save(self, folder, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm", data_note: str = "") -> dict:
        """Write report (Markdown/HTML/Excel), GeoPackage layers and a before/after map, all-or-nothing."""
        from geoplan.outputs._suggest_outputs import write_suggestion

        return write_suggestion(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note)


def suggest_sites(
    network,
    facilities,
    demand,
    *,
    facility_type: str,
    candidates=None,
    units=None,
    model: str = "mclp",
    p: int | None = None,
    target: float | None = None,
    indicator: str = "people",
    catalogue=None,
    weight: str | None = None,
    solver: str = "exact",
    time_limit: float | None = 60.0,
    spacing_m: float = 200.0,
    capacity: str | float | None = None,
    checks: dict[str, Any] | None = None,
) -> SuggestResult:
    """Suggest new sites for one facility type by the road network.

    Parameters
    ----------
    network
        :class:`~geoplan.network.Network`.
    facilities, demand, units
        As for :func:`geoplan.coverage.assess`; existing facilities of ``facility_type`` are kept and counted.
    facility_type
        Catalogue key or Chinese name.
    candidates
        Candidate sites (points, any CRS); default: network nodes on a ``spacing_m`` grid inside the units.
    model
        ``"mclp"`` (needs ``p``), ``"lscp"``, ``"pmedian"`` (needs ``p``) or ``"reach_target"``
        (``target`` share; default the type's people or unit target, by ``indicator``).
    indicator
        For ``reach_target``: ``"people"`` (share of the weighted demand covered) or ``"units"``
        (share of admin units with at least one facility; needs ``units``).
    weight
        Demand column to weigh by (default the type's: pop, pop_60 or pop_0_17).
    solver
        ``"exact"`` (HiGHS) or ``"greedy"`` (heuristic with a proven bound where one is computed).
    capacity
        Beds/places per site, for the capacitated ``mclp`` and ``pmedian``: a column name (read from
        the candidates and the existing facilities; every row needs a value), or a number for every
        site without its own ``capacity`` value (a standard station size).  Total demand above the
        total capacity is an error for p-median and a listed shortfall for MCLP.
    checks
        Options of the input checks passed to :func:`geoplan.coverage.assess` (``invalid_units``,
        ``allow_empty_units``, ``allow_outside``, ``allow_far_facilities``).
    """
    import geopandas as gpd

    from geoplan.coverage import _coverage as coverage
    from geoplan.network._network import snap
    from geoplan.coverage.standards import default_catalogue

    catalogue = catalogue or default_catalogue()
    key = catalogue.resolve(facility_type)
    if key is None:
        raise InputError(f"unknown facility type {facility_type!r}; known: {', '.join(catalogue.keys)}", field="type")
    ft = catalogue[key]
    wcol = weight or ft.weight
    if wcol not in demand.columns:
        raise InputError(f"demand has no {wcol!r} column to weigh by", field=wcol)
    if model in ("mclp", "pmedian") and p is None:
        raise InputError(f"model {model!r} needs p, the number of new sites", field="p")
    if candidates is None:
        candidates = candidates_from_network(network, spacing_m=spacing_m, area=units)
    if len(candidates) == 0:
        raise InfeasibleError("no candidate sites")
    cand = candidates.copy()
    if "id" not in cand.columns:
        cand["id"] = [f"cand:{i}" for i in range(len(cand))]
    csnap = snap(network, cand)
    bad = pd.DataFrame({"id": cand["id"], "reason": None}, index=cand.index)
    bad.loc[csnap["too_far"], "reason"] = "too far from the road network"
    if units is not None:
        inside = cand.to_crs(4326).within(units.to_crs(4326).geometry.union_all())
        bad.loc[~inside & bad["reason"].isna(), "reason"] = "outside the admin units"
    ok = bad["reason"].isna().to_numpy()
    infeasible = bad[~ok].reset_index(drop=True)
    if not ok.any():
        raise InfeasibleError(f"none of the {len(cand)} candidates is usable: {infeasible['reason'].value_counts().to_dict()}")

    before = coverage.assess(network, facilities, demand, units=units, catalogue=catalogue, types=[key], **(checks or {}))
    fac = before.facilities
    existing = fac[(fac["type"] == key) & ~fac["too_far"]]
    dsnap = snap(network, demand)
    dem_nodes = dsnap  # snap tables: door-to-door costs (access + partial edges), as coverage.assess measures
    w = np.where(dsnap["too_far"], 0.0, np.nan_to_num(pd.to_numeric(demand[wcol], errors="coerce").to_numpy(float)))
    if w.sum() <= 0:
        raise InfeasibleError(f"total demand ({wcol}) is zero: nothing to plan for")
    ex_nodes = snap(network, existing)
    cand_ok = cand[ok]
    site_nodes = pd.concat([ex_nodes, csnap[ok]], ignore_index=True)
    fixed = np.concatenate([np.ones(len(ex_nodes), bool), np.zeros(int(ok.sum()), bool)])
    cutoff_s = ft.cutoff_min * 60.0
    horizon = cutoff_s if model != "pmedian" else cutoff_s * 4  # p-median looks further than the catchment
    cost = coverage.od_matrix(network, site_nodes, dem_nodes, cutoff=horizon, towards=True)
    if capacity is not None:
        if model not in ("mclp", "pmedian"):
            raise InputError(f"capacity applies to the mclp and pmedian models, not {model!r}", field="capacity")
        cap = np.concatenate([_capacity_of(existing, capacity, "facilities"), _capacity_of(cand_ok, capacity, "candidates")])
        if model == "mclp":
            sol = capacitated_mclp(cost, w, p, cap, cutoff=cutoff_s, fixed=fixed, time_limit=time_limit)
        else:
            sol = capacitated_pmedian(cost, w, p, cap, fixed=fixed, solver=solver, time_limit=time_limit)
    elif model == "mclp":
        sol = mclp(cost, w, p, cutoff=cutoff_s, fixed=fixed, solver=solver, time_limit=time_limit)
    elif model == "lscp":
        sol = lscp(cost, cutoff=cutoff_s, fixed=fixed, weights=w, solver=solver, time_limit=time_limit)
    elif model == "pmedian":
        sol = pmedian(cost, w, p, fixed=fixed, solver=solver, time_limit=time_limit)
    elif model == "reach_target" and indicator == "units":
        sol = _reach_unit_target(cost, w, cutoff_s, fixed, cand_ok, units, before, ft, target, n_existing=len(ex_nodes))
    elif model == "reach_target":
        tgt = target if target is not None else ft.people_target
        if tgt is None:
            raise InputError(f"{key} has no people target: give target=", field="target")
        sol = reach_target(cost, w, tgt, cutoff=cutoff_s, fixed=fixed, solver=solver, time_limit=time_limit)
    else:
        raise InputError(f"model must be mclp, lscp, pmedian or reach_target, not {model!r}", field="model")
    if indicator not in ("people", "units"):
        raise InputError(f"indicator must be 'people' or 'units', not {indicator!r}", field="indicator")
    new_pos = sol.selected - len(ex_nodes)
    chosen = cand_ok.iloc[new_pos].to_crs(4326).copy()
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    chosen.insert(1, "gain", sol.gains)
    chosen["type"] = key
    chosen["id"] = chosen["id"].astype(str)
    new_fac = gpd.GeoDataFrame(chosen[["id", "type", "geometry"]], geometry="geometry", crs=4326)
    all_fac = pd.concat([facilities.to_crs(4326), new_fac.assign(suggested=True)], ignore_index=True)
    all_fac = gpd.GeoDataFrame(all_fac, geometry="geometry", crs=4326)
    after = coverage.assess(network, all_fac, demand, units=units, catalogue=catalogue, types=[key], **(checks or {}))
    return SuggestResult(chosen.reset_index(drop=True), sol, before, after, infeasible, key)


def _capacity_of(sites, capacity: str | float, what: str) -> np.ndarray:
    """Capacity per row of ``sites``: from a column (every row must have one), or a default number."""
    col = capacity if isinstance(capacity, str) else "capacity"
    if isinstance(capacity, str) and col not in sites.columns:
        raise InputError(f"the {what} have no {col!r} column to read capacities from", field=col)
    vals = (pd.to_numeric(sites[col], errors="coerce").to_numpy(float) if col in sites.columns
            else np.full(len(sites), np.nan))
    if not isinstance(capacity, str):
        vals = np.where(np.isnan(vals), float(capacity), vals)
    bad = np.flatnonzero(~np.isfinite(vals) | (vals < 0))
    if len(bad):
        k = bad[0]
        ident = sites["id"].iloc[k] if "id" in sites.columns else sites.index[k]
        raise InputError(f"{what} {ident!s}: capacity {sites[col].iloc[k]!r} is not a number ≥ 0 "
                         f"({len(bad)} row(s) like this)", row=sites.index[k], field=col)
    return vals


# --------------------------------------------------------------------------- p-center and capacities


def pcenter(cost, p: int, *, fixed=None, weights=None, time_limit: float | None = 60.0) -> Solution:
    """p-center: ``p`` new sites minimising the worst travel cost of any (reachable) demand point.

    Exact: binary search over the distinct stored costs, each step an exact LSCP
    (HiGHS) asking whether ``p`` new sites can cover everyone within that radius.
    Demand no candidate reaches is listed in ``diagnostics`` and left out.
    Demand points with zero weight are ignored.
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


def capacitated_mclp(cost, weights, p: int, capacity, *, cutoff: float | None = None, fixed=None,
                     time_limit: float | None = 60.0) -> Solution:
    """Capacitated MCLP (exact, HiGHS): most demand served within the cutoff by ``p`` new sites, each
    site serving at most its ``capacity`` (beds, staff places) of demand weight.

    Demand may be split between sites.  Infeasible parts (demand beyond every cutoff) are listed;
    total demand above total capacity is reported in ``diagnostics["capacity_short"]``.
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


def _reach_unit_target(cost, w, cutoff_s, fixed, cand_ok, units, before, ft, target, *, n_existing: int) -> Solution:
    """Fewest new sites so the share of admin units with a facility reaches the target.

    Each new site can give at most one more unit a facility, so the fewest is
    ``ceil(target × units) − units that have one``; exact by construction.  In each unit still
    lacking one, the candidate covering the most uncovered demand is chosen, and units are
    taken in order of that gain.  Units without any usable candidate are listed.
    """
    import geopandas as gpd

    t0 = time.perf_counter()
    if units is None:
        raise InputError("reach_target on the share of units needs the admin units", field="units")
    tgt = target if target is not None else ft.unit_target(None)
    if tgt is None:
        raise InputError(f"{ft.key} has no unit target: give target=", field="target")
    table = before.units
    n_units = len(table)
    have = int(table["has_facility"].sum())
    need = max(0, math.ceil(round(tgt * n_units, 9)) - have)
    lacking = set(table.loc[~table["has_facility"].astype(bool), "unit_code"].astype(str))
    pts = gpd.GeoDataFrame(geometry=cand_ok.geometry.to_crs(4326).to_numpy(), crs=4326)
    joined = gpd.sjoin(pts, units[["code", "geometry"]].to_crs(4326), how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    code_of = joined["code"].astype("string").to_numpy()
    C = _cover(sparse.csr_array(cost, copy=True), cutoff_s)
    base = C.T @ fixed.astype(float)
    gain_all = C @ np.where(base > 0, 0.0, w)
    best = {}
    for k, code in enumerate(code_of):
        if code is None or code is pd.NA or str(code) not in lacking:
            continue
        j = n_existing + k
        if str(code) not in best or gain_all[j] > gain_all[best[str(code)]]:
            best[str(code)] = j
    no_candidate = sorted(lacking - set(best))
    diag = {"units_without_candidate": no_candidate, "units_needed": need, "units_with_facility": have,
            "units": n_units}
    if need > len(best):
        raise InfeasibleError(f"target {tgt:.0%} of units needs {need} more unit(s) with a facility, but only "
                              f"{len(best)} unit(s) lacking one have a usable candidate; none in: {', '.join(no_candidate)}")
    chosen = sorted(best.values(), key=lambda j: -gain_all[j])[:need]
    open_mask = fixed.copy()
    open_mask[chosen] = True
    order, gains = _rank_by_marginal(C, w, fixed, chosen)
    return Solution("reach_target_units", "exact (one site per unit lacking one)", order, gains, float(len(order)),
                    float(need), 0.0, "Optimal", time.perf_counter() - t0, _assign(cost, open_mask, cutoff_s), diag)


def capacitated_pmedian(cost, weights, p: int, capacity, **kwargs) -> Solution:
    """Capacitated p-median: see :func:`geoplan._capacitated.capacitated_pmedian` (same arguments).

    A thin forwarder: that module builds on this one's helpers, so it is imported on first use.
    """
    from geoplan.suggest._capacitated import capacitated_pmedian as solve

    return solve(cost, weights, p, capacity, **kwargs)
