"""Shared base of the suggestion models: the :class:`Solution`, input checks, HiGHS plumbing.

Every model (coverage models in :mod:`._coverage_models`, p-median in :mod:`._pmedian`,
capacitated models in :mod:`._capacitated`, co-location in :mod:`._colocate`) builds on
these helpers, and this module imports none of them: the dependencies point one way.

HiGHS (:mod:`highspy`) is never taken on trust: :func:`_highs_solve` checks every point it
hands back against the model (feasible, and HiGHS' objective is its objective) and keeps
"Optimal" only when objective and dual bound meet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import sys
import threading
import time

import highspy
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
        """Ranked new sites with the marginal demand each adds.

        Returns
        -------
        pandas.DataFrame
            Columns ``rank`` (1-based), ``candidate`` (index into the candidates) and ``gain``.
        """
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


def solver_output_wanted() -> bool:
    """Whether libraries may print their own logs and progress (HiGHS banner, tqdm bars).

    Only when the ``geoplan.progress`` logger is enabled for DEBUG (the CLI's ``-v``); by
    default a run prints geoplan's own lines only.
    """
    return logging.getLogger("geoplan.progress").isEnabledFor(logging.DEBUG)


_QUIET_LOCK = threading.Lock()
_QUIET = {"depth": 0, "saved": None, "fd": 1}


@contextlib.contextmanager
def _quiet_c_stdout(quiet: bool):
    """Send C-level stdout (file descriptor 1) to /dev/null while HiGHS runs.

    HiGHS prints its banner when a ``Highs`` object is made and some MIP lines
    (``HighsMipSolverData::...``) with ``printf`` whatever its options say, so
    ``output_flag`` alone cannot keep them out of the command's output.  Solves in
    several threads share one redirection (counted), so the last one out restores fd 1.
    """
    if not quiet:
        yield
        return
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            try:
                fd = sys.stdout.fileno() if sys.stdout is not None else 1
            except (AttributeError, OSError, ValueError):  # a captured or replaced stdout: fd 1 is the C one
                fd = 1
            try:
                if sys.stdout is not None:
                    sys.stdout.flush()
                saved = os.dup(fd)
                with open(os.devnull, "wb") as null:
                    os.dup2(null.fileno(), fd)
            except OSError:
                saved = None
            _QUIET.update(saved=saved, fd=fd)
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0 and _QUIET["saved"] is not None:
                os.dup2(_QUIET["saved"], _QUIET["fd"])
                os.close(_QUIET["saved"])
                _QUIET["saved"] = None


def _highs_run(c, A, row_lo, row_hi, col_lo, col_hi, integer, *, maximize, time_limit, mip_rel_gap, start):
    """One HiGHS run; returns (x or None, reported objective, reported MIP dual bound, status string)."""
    loud = solver_output_wanted()
    with _quiet_c_stdout(not loud):
        return _highs_run_inner(c, A, row_lo, row_hi, col_lo, col_hi, integer, maximize=maximize,
                                time_limit=time_limit, mip_rel_gap=mip_rel_gap, start=start, loud=loud)


def _highs_run_inner(c, A, row_lo, row_hi, col_lo, col_hi, integer, *, maximize, time_limit, mip_rel_gap, start,
                     loud: bool):
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(loud))
    h.setOptionValue("log_to_console", bool(loud))
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

    Parameters
    ----------
    status
        A :attr:`Solution.status` string.
    lang
        ``"zh"`` (default) or ``"en"``; any other value gives English.

    Returns
    -------
    str
        The phrase for the report; English phrases other than "proven optimal" keep the raw status in brackets.
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


def _covered_weight(C: sparse.csr_array, w: np.ndarray, open_mask: np.ndarray) -> float:
    cnt = C.T @ open_mask.astype(float)
    return float(w[cnt > 0].sum())


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


def _uncoverable(C, w) -> dict:
    cnt = np.asarray(C.sum(axis=0)).ravel()
    bad = np.flatnonzero(cnt == 0)
    return {"uncoverable_demand": bad, "uncoverable_weight": float(w[bad].sum())}
