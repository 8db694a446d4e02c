"""Several facility types at once, with a saving for types that share a building.

A township site may house the social-work station (社工站) and the minor-protection
station (未成年人保护工作站) under one roof; the second type then costs less than a
building of its own.  :func:`colocate` is the array core (all types share the same
candidate sites, each type has its own sparse cost matrix, weights, cutoff and
target); :func:`suggest_colocated` is the GeoDataFrame/network adapter used by the CLI.

Cost model
----------
``site_cost`` is the cost of housing one new facility in a building of its own;
``type_cost[t]`` is what a new facility of type ``t`` costs on top (fit-out, staff;
default 0); ``saving`` is how much less a type costs when it shares a building with
another facility.  So a plan costs, per site ``j`` with ``k ≥ 1`` new types ``T_j``:

- a new (not yet occupied) site: ``k·site_cost + Σ_{t∈T_j} type_cost[t] − (k − 1)·saving``
  (the first type pays the full building, every further type is co-located);
- an occupied site (it already houses some facility, existing or listed in ``occupied``):
  ``k·(site_cost − saving) + Σ_{t∈T_j} type_cost[t]`` (every new type is co-located).

Linearisation, with binary ``x_jt`` (new type ``t`` at site ``j``) and ``y_j`` (new site
``j`` is used; only for sites not occupied)::

    min  Σ_j saving·y_j + Σ_jt (site_cost − saving + type_cost[t])·x_jt
    s.t. x_jt ≤ y_j                                   (j not occupied)
         v_ti ≤ Σ_j C_tji x_jt  (+ 1 if an existing t-site covers i),  0 ≤ v_ti ≤ 1
         Σ_i w_ti v_ti ≥ target_t · Σ_i w_ti         (every type t)

which is a fixed charge ``saving`` per new building plus ``site_cost − saving +
type_cost[t]`` per new facility: a new site with ``k`` types costs ``saving +
Σ_t (site_cost − saving + type_cost[t])``, exactly the sum above.  ``0 ≤ saving ≤
site_cost`` must hold: then both the charge per building and the charge per facility
are ≥ 0, so no placement ever lowers the cost (the model never adds a facility or a
building nobody needs).  With ``saving > site_cost`` a co-located facility would cost
less than nothing beyond its ``type_cost``, so piling unneeded types into buildings
would be rewarded: that is an :class:`~geoplan.InputError`.  The two ends:
``saving = 0`` makes the types independent (cost = ``site_cost`` × facilities, the sum
of the single-type optima); ``saving = site_cost`` charges only buildings (cost =
``site_cost`` × new buildings, between the largest single-type optimum and their sum).

Note that this reads ``site_cost`` as *per facility housed*, not per building: read
per building (a building costs ``site_cost`` whatever it holds) with a further
``saving`` off each extra type, a second type would cost ``type_cost − saving``,
below zero with the default ``type_cost = 0``, and unneeded types would be rewarded.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError
from geoplan.suggest._suggest import (_cover, _covered_weight, _highs_solve, _prepare, _reduce_cover, _rel_gap, _uncoverable,
                             status_text)

__all__ = ["Colocation", "colocate", "ColocatedResult", "suggest_colocated"]


@dataclasses.dataclass
class Colocation:
    """Answer of :func:`colocate`.

    Attributes
    ----------
    placements
        One row per facility at a site that gets something new: ``site`` (row index),
        ``type``, ``new`` (False: an existing facility already there), ``new_site``
        (the building is newly used), ``colocated`` (charged with the saving), ``cost``
        (what this placement adds), ``gain`` (weight of its type newly covered, in rank
        order), ``rank`` (order to build new placements, 1 first; NA for existing ones),
        ``site_rank``.
    sites
        One row per site with new placements, ranked: ``rank``, ``site``, ``types``
        (new type keys), ``existing_types``, ``new_site``, ``cost``, ``cost_without_saving``.
    cost
        Total cost of the plan (see the module notes).
    cost_without_saving
        The same plan if every new facility had a building of its own.
    bound
        A proven lower bound on the least cost, or None when none was proven.
    gap
        Relative gap between ``cost`` and ``bound``, or None.
    status
        Solver status ("Optimal", "Time limit reached", "heuristic (LP bound: Optimal)"...).
    solver
        ``"highs"`` or ``"greedy"``.
    seconds
        Wall time.
    covered_share
        Per type: ``before`` (existing facilities only), ``after``, ``target``, ``best_possible``
        (every site open), ``total_weight``.
    diagnostics
        ``uncoverable_demand`` / ``uncoverable_weight`` per type (beyond every site's cutoff),
        ``reduced_model`` and notes.
    """

    placements: pd.DataFrame
    sites: pd.DataFrame
    cost: float
    cost_without_saving: float
    bound: float | None
    gap: float | None
    status: str
    solver: str
    seconds: float
    covered_share: pd.DataFrame
    diagnostics: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Type:
    key: str
    C: sparse.csr_array  # sites × demand, 1.0 where within the cutoff
    w: np.ndarray
    fx: np.ndarray  # existing facility of this type at the site
    total: float
    need: float  # weight that must be covered
    tol: float
    c: float  # cost of one new facility of this type (site_cost − saving + type_cost)
    full: float  # site_cost + type_cost: the same facility in a building of its own


# --------------------------------------------------------------------------- input checks


def _finite(v, what: str, field: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {v!r}", field=field) from None
    if not math.isfinite(f):
        raise InputError(f"{what} must be finite, got {v!r}", field=field)
    return f


def _keyed(mapping, keys: list[str], field: str, *, required: bool) -> dict:
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise InputError(f"{field} must be a mapping type → value", field=field)
    unknown = [k for k in mapping if k not in keys]
    if unknown:
        raise InputError(f"{field} has unknown type(s) {unknown}; types (keys of costs): {keys}", field=field)
    missing = [k for k in keys if k not in mapping]
    if required and missing:
        raise InputError(f"{field} lacks type(s) {missing}", field=field)
    return dict(mapping)


def _types(costs, weights, cutoffs, targets, fixed, site_cost, type_cost, saving, occupied):
    if not isinstance(costs, Mapping) or not costs:
        raise InputError("costs must be a non-empty mapping type → sparse matrix (sites × demand)", field="costs")
    keys = [str(k) for k in costs]
    if len(set(keys)) != len(keys):
        raise InputError("type keys must be distinct", field="costs")
    costs = {str(k): v for k, v in costs.items()}
    weights = _keyed(weights, keys, "weights", required=True)
    cutoffs = _keyed(cutoffs, keys, "cutoffs", required=True)
    targets = _keyed(targets, keys, "targets", required=False)
    fixed = _keyed(fixed, keys, "fixed", required=False)
    tcost = _keyed(type_cost, keys, "type_cost", required=False) if isinstance(type_cost, Mapping) else \
        {k: type_cost for k in keys}
    sc = _finite(site_cost, "site_cost", "site_cost")
    sv = _finite(saving, "saving", "saving")
    if sc < 0:
        raise InputError(f"site_cost must be ≥ 0, got {sc:g}", field="site_cost")
    if not 0 <= sv <= sc:
        raise InputError(f"saving must lie between 0 and site_cost = {sc:g}, got {sv:g}: a co-located type would cost "
                         "less than nothing, so unneeded facilities would be rewarded", field="saving")
    shapes = {k: getattr(c, "shape", None) for k, c in costs.items()}
    for k, c in costs.items():
        if not sparse.issparse(c):
            raise InputError(f"costs[{k!r}] must be a scipy sparse matrix (sites × demand)", field="costs")
    n_sites = {s[0] for s in shapes.values()}
    if len(n_sites) != 1:
        raise InputError(f"every type's cost must have the same candidate rows (sites); got {shapes}", field="costs")
    n = n_sites.pop()
    occ = np.zeros(n, bool) if occupied is None else np.asarray(occupied, dtype=bool)
    if occ.shape != (n,):
        raise InputError(f"occupied has {occ.shape} entries, the costs have {n} site rows", field="occupied")
    out = []
    for k in keys:
        w = weights[k]
        if w is None or np.shape(w) != (shapes[k][1],):
            raise InputError(f"weights[{k!r}] has shape {np.shape(w)}, costs[{k!r}] has {shapes[k][1]} demand columns",
                             field="weights")
        if fixed.get(k) is not None and np.shape(fixed[k]) != (n,):
            raise InputError(f"fixed[{k!r}] has {np.shape(fixed[k])} entries, the costs have {n} site rows", field="fixed")
        cost, w, fx = _prepare(costs[k], w, fixed.get(k))
        cut = _finite(cutoffs[k], f"cutoffs[{k!r}]", "cutoffs")
        if cut < 0:
            raise InputError(f"cutoffs[{k!r}] must be ≥ 0, got {cut:g}", field="cutoffs")
        tgt = _finite(targets.get(k, 1.0), f"targets[{k!r}]", "targets")
        if not 0 <= tgt <= 1:
            raise InputError(f"targets[{k!r}] is a share between 0 and 1, got {tgt:g}", field="targets")
        tc = _finite(tcost.get(k, 0.0), f"type_cost[{k!r}]", "type_cost")
        if tc < 0:
            raise InputError(f"type_cost[{k!r}] must be ≥ 0, got {tc:g}", field="type_cost")
        total = float(w.sum())
        if total <= 0:
            raise InfeasibleError(f"{k}: total demand is zero: nothing to cover")
        out.append(_Type(k, _cover(cost, cut), w, fx, total, tgt * total, 1e-9 * max(1.0, total), sc - sv + tc, sc + tc))
    # A site with an existing facility of any type already houses something.
    occ = occ | np.logical_or.reduce([t.fx for t in out])
    return out, occ, sv, targets


# --------------------------------------------------------------------------- plan bookkeeping


def _met(T: list[_Type], placed: list[np.ndarray]) -> bool:
    return all(_covered_weight(t.C, t.w, t.fx | p) >= t.need - t.tol for t, p in zip(T, placed))


def _plan_cost(T: list[_Type], placed: list[np.ndarray], occ: np.ndarray, F: float) -> tuple[float, float]:
    used = np.logical_or.reduce(placed)
    cost = F * int((used & ~occ).sum()) + sum(t.c * int(p.sum()) for t, p in zip(T, placed))
    return float(cost), float(sum(t.full * int(p.sum()) for t, p in zip(T, placed)))


def _drop_redundant(T, placed, order) -> list[np.ndarray]:
    """Remove placements (last added first) whose removal keeps every target met; costs are ≥ 0, so this never costs more."""
    placed = [p.copy() for p in placed]
    for k, j in order[::-1]:
        if not placed[k][j]:
            continue
        placed[k][j] = False
        t = T[k]
        if _covered_weight(t.C, t.w, t.fx | placed[k]) < t.need - t.tol:
            placed[k][j] = True
    return placed


# --------------------------------------------------------------------------- greedy


def _greedy(T: list[_Type], occ: np.ndarray, F: float) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Cost-effectiveness greedy over moves (site, type) and (new site, all types it helps).

    A move's benefit is, per type, the weight it newly covers capped at what the type's target
    still lacks, as a share of what it lacked at the start (so types with different weights
    compare); its cost is what it adds to the plan (the building charge only if the site is not
    yet in use).  The best benefit/cost move is taken until every target is met.
    Ties: lowest type, then lowest site (deterministic).
    """
    n = len(occ)
    K = len(T)
    placed = [np.zeros(n, bool) for _ in T]
    in_use = occ.copy()
    u = [np.where(t.C.T @ t.fx.astype(float) > 0, 0.0, t.w) for t in T]
    rem = np.array([t.need - (t.total - float(uk.sum())) for t, uk in zip(T, u)])
    need0 = np.maximum(rem, 1e-300)
    c = np.array([t.c for t in T])
    order: list[tuple[int, int]] = []
    while any(rem[k] > T[k].tol for k in range(K)):
        ben = np.zeros((K, n))
        for k, t in enumerate(T):
            if rem[k] <= t.tol:
                continue
            g = t.C @ u[k]
            g[t.fx | placed[k]] = 0.0
            ben[k] = np.minimum(g, rem[k]) / need0[k]
        pos = ben > 1e-12
        single = np.where(pos, ben / np.maximum(c[:, None] + np.where(in_use, 0.0, F)[None, :], 1e-12), -1.0)
        bundle_cost = F + (pos * c[:, None]).sum(axis=0)
        bundle = np.where(~in_use & (pos.sum(axis=0) >= 2), ben.sum(axis=0) / np.maximum(bundle_cost, 1e-12), -1.0)
        ks, js = np.unravel_index(int(np.argmax(single)), single.shape)
        jb = int(np.argmax(bundle))
        if max(single[ks, js], bundle[jb]) <= 0:
            break  # nothing helps any more (cannot happen after the feasibility check)
        moves = [(k, jb) for k in range(K) if pos[k, jb]] if bundle[jb] > single[ks, js] * (1 + 1e-12) else [(int(ks), int(js))]
        for k, j in moves:
            placed[k][j] = True
            in_use[j] = True
            order.append((k, j))
            cols = T[k].C.indices[T[k].C.indptr[j]:T[k].C.indptr[j + 1]]
            newly = float(u[k][cols].sum())
            u[k][cols] = 0.0
            rem[k] -= newly
    return _drop_redundant(T, placed, order), order


# --------------------------------------------------------------------------- exact (HiGHS)


def _model(T: list[_Type], occ: np.ndarray, F: float):
    """The MIP as sparse matrices over columns [x (site, type) pairs, y (new sites), v (demand groups per type)].

    Each type's demand is reduced as in :mod:`geoplan.suggest` (demand its existing sites cover, of zero
    weight or out of every site's reach leaves the model; demand covered by the same sites is merged).
    Only sites that reach some remaining demand of a type get an x for it: costs are ≥ 0, so the others
    are never needed.
    """
    xk, xj, rows_of = [], [], []
    reds, needs = [], []
    for k, t in enumerate(T):
        R = _reduce_cover(t.C, t.w, t.fx)
        need_r = t.need - R.const_w - t.tol
        reds.append(R)
        needs.append(need_r)
        if need_r <= 0:
            rows_of.append(np.zeros(0, np.int64))
            continue
        rr = np.flatnonzero(np.diff(R.C.indptr) > 0)
        rows_of.append(rr)
        xk.append(np.full(len(rr), k))
        xj.append(R.free[rr])
    xk = np.concatenate(xk) if xk else np.zeros(0, np.int64)
    xj = np.concatenate(xj) if xj else np.zeros(0, np.int64)
    nx = len(xk)
    ysites = np.unique(xj[~occ[xj]])
    ny = len(ysites)
    ycol = np.full(len(occ), -1)
    ycol[ysites] = nx + np.arange(ny)
    r, cidx, val, lo, hi = [], [], [], [], []
    row = 0
    # x_jt − y_j ≤ 0 for sites not occupied
    link = np.flatnonzero(~occ[xj])
    r += [row + np.arange(len(link))] * 2
    cidx += [link, ycol[xj[link]]]
    val += [np.ones(len(link)), -np.ones(len(link))]
    lo.append(np.full(len(link), -np.inf))
    hi.append(np.zeros(len(link)))
    row += len(link)
    vstart = nx + ny
    x_off = 0
    groups = []
    for k, t in enumerate(T):
        R, rr = reds[k], rows_of[k]
        if needs[k] <= 0:
            groups.append(0)
            continue
        sub = sparse.coo_array(R.C[rr].T)  # groups × this type's x columns
        ng = sub.shape[0]
        groups.append(ng)
        # v_g − Σ_j C_jg x_j ≤ 0
        r += [row + sub.row, row + np.arange(ng)]
        cidx += [x_off + sub.col, vstart + np.arange(ng)]
        val += [-np.ones(sub.nnz), np.ones(ng)]
        lo.append(np.full(ng, -np.inf))
        hi.append(np.zeros(ng))
        row += ng
        # Σ_g w_g v_g ≥ need
        r.append(np.full(ng, row))
        cidx.append(vstart + np.arange(ng))
        val.append(R.w)
        lo.append(np.array([needs[k]]))
        hi.append(np.array([np.inf]))
        row += 1
        x_off += len(rr)
        vstart += ng
    ncol = vstart
    A = sparse.csr_array((np.concatenate(val) if val else np.zeros(0),
                          (np.concatenate(r).astype(np.int64) if r else np.zeros(0, np.int64),
                           np.concatenate(cidx).astype(np.int64) if cidx else np.zeros(0, np.int64))), shape=(row, ncol))
    cost = np.concatenate([np.array([T[k].c for k in xk], dtype=float), np.full(ny, F), np.zeros(ncol - nx - ny)])
    integer = np.concatenate([np.ones(nx + ny, bool), np.zeros(ncol - nx - ny, bool)])
    note = " + ".join(f"{t.key}: {len(rows_of[k])} sites × {groups[k]} demand groups" for k, t in enumerate(T))
    return dict(A=A, c=cost, lo=np.concatenate(lo) if lo else np.zeros(0), hi=np.concatenate(hi) if hi else np.zeros(0),
                integer=integer, xk=xk, xj=xj, ysites=ysites, reds=reds, rows_of=rows_of, needs=needs, nx=nx, ny=ny, note=note)


def _round_bound(M, bound: float | None) -> float | None:
    """Raise a lower bound to the next value a plan can cost.

    When every cost coefficient in the model is a whole multiple of one unit ``q`` (1 and 0.5
    are multiples of 0.5), every plan costs a multiple of ``q``, so ``⌈bound / q⌉ · q`` is still a
    valid lower bound.
    """
    from fractions import Fraction

    if bound is None:
        return None
    coef = [float(v) for v in np.unique(M["c"]) if v > 0]
    if not coef:
        return bound
    fr = [Fraction(v).limit_denominator(1000) for v in coef]
    if any(abs(float(f) - v) > 1e-12 * max(1.0, v) for f, v in zip(fr, coef)):
        return bound
    L = math.lcm(*(f.denominator for f in fr))
    q = math.gcd(*(int(f * L) for f in fr)) / L
    return max(bound, math.ceil(bound / q - 1e-6) * q)


def _solve_model(M, *, integer: bool, time_limit, start=None):
    ncol = len(M["c"])
    if ncol == 0:  # every target is met by the existing facilities
        return np.zeros(0), 0.0, 0.0, "Optimal"
    return _highs_solve(M["c"], M["A"], M["lo"], M["hi"], np.zeros(ncol), np.ones(ncol),
                        M["integer"] if integer else None, maximize=False, time_limit=time_limit, start=start)


def _start(M, T, placed, occ) -> np.ndarray:
    """The full column vector of a plan, for HiGHS as its first incumbent."""
    x = np.array([placed[k][j] for k, j in zip(M["xk"], M["xj"])], dtype=float)
    used = np.logical_or.reduce(placed)
    y = used[M["ysites"]].astype(float)
    vs = []
    off = 0
    for k, t in enumerate(T):
        rr = M["rows_of"][k]
        if M["needs"][k] <= 0:
            continue
        xs = x[off:off + len(rr)]
        vs.append(np.minimum(1.0, M["reds"][k].C[rr].T @ xs))
        off += len(rr)
    return np.concatenate([x, y, *vs])


def _decode(M, T, x, n) -> list[np.ndarray]:
    placed = [np.zeros(n, bool) for _ in T]
    on = x[:M["nx"]] > 0.5
    for k, j in zip(M["xk"][on], M["xj"][on]):
        placed[k][j] = True
    return placed


# --------------------------------------------------------------------------- ranking and tables


def _rank(T: list[_Type], placed: list[np.ndarray], occ: np.ndarray, F: float):
    """Order the sites to build: greedily by (demand newly covered, as a share of each type's total) / site cost.

    Returns [(site, [(type index, weight newly covered), ...], site cost)] in rank order.
    """
    used = np.flatnonzero(np.logical_or.reduce(placed)) if placed else np.zeros(0, np.int64)
    u = [np.where(t.C.T @ t.fx.astype(float) > 0, 0.0, t.w) for t in T]
    remaining = [int(j) for j in used]
    out = []
    while remaining:
        best = None
        for j in remaining:
            ks = [k for k in range(len(T)) if placed[k][j]]
            ben = sum(float(u[k][T[k].C.indices[T[k].C.indptr[j]:T[k].C.indptr[j + 1]]].sum()) / T[k].total for k in ks)
            cost = (0.0 if occ[j] else F) + sum(T[k].c for k in ks)
            ratio = ben / max(cost, 1e-12)
            if best is None or ratio > best[0] * (1 + 1e-12) + 1e-300:
                best = (ratio, j, ks, cost)
        _, j, ks, cost = best
        gains = []
        for k in ks:
            cols = T[k].C.indices[T[k].C.indptr[j]:T[k].C.indptr[j + 1]]
            gains.append((k, float(u[k][cols].sum())))
            u[k][cols] = 0.0
        out.append((j, gains, cost))
        remaining.remove(j)
    return out


def _tables(T, ranked, occ, F) -> tuple[pd.DataFrame, pd.DataFrame]:
    prow, srow = [], []
    rank = 0
    for s_rank, (j, gains, cost) in enumerate(ranked, start=1):
        first = not occ[j]
        for k, g in gains:
            rank += 1
            prow.append({"site": j, "type": T[k].key, "new": True, "new_site": bool(not occ[j]),
                         "colocated": bool(occ[j] or not first), "cost": T[k].c + (F if first else 0.0), "gain": g,
                         "rank": rank, "site_rank": s_rank})
            first = False
        existing = [t.key for t in T if t.fx[j]]
        for key in existing:
            prow.append({"site": j, "type": key, "new": False, "new_site": False, "colocated": False, "cost": 0.0,
                         "gain": 0.0, "rank": pd.NA, "site_rank": s_rank})
        srow.append({"rank": s_rank, "site": j, "types": [T[k].key for k, _ in gains], "existing_types": existing,
                     "new_site": bool(not occ[j]), "cost": cost, "cost_without_saving": sum(T[k].full for k, _ in gains)})
    pcols = ["site", "type", "new", "new_site", "colocated", "cost", "gain", "rank", "site_rank"]
    scols = ["rank", "site", "types", "existing_types", "new_site", "cost", "cost_without_saving"]
    p = pd.DataFrame(prow, columns=pcols)
    p["rank"] = p["rank"].astype("Int64")
    return p, pd.DataFrame(srow, columns=scols)


# --------------------------------------------------------------------------- entry point


def colocate(
    costs: Mapping[str, Any],
    weights: Mapping[str, np.ndarray],
    *,
    cutoffs: Mapping[str, float],
    targets: Mapping[str, float] | None = None,
    fixed: Mapping[str, np.ndarray] | None = None,
    site_cost: float = 1.0,
    type_cost: float | Mapping[str, float] = 0.0,
    saving: float = 0.0,
    occupied=None,
    solver: str = "exact",
    time_limit: float | None = 60.0,
) -> Colocation:
    """Least-cost new facilities of several types so each type reaches its covered-share target.

    Parameters
    ----------
    costs
        Per type key: sparse sites × demand travel costs (as :func:`geoplan.coverage.od_matrix`
        returns them; a stored 0 is a real zero cost).  Every type has the same site rows.
    weights
        Per type: demand weights (people, 60+, 0–17) of its columns.
    cutoffs
        Per type: coverage threshold in the cost's unit.
    targets
        Per type: share (0–1) of its total demand weight to cover; default 1.0 (all of it,
        which is infeasible when some demand is beyond every site's cutoff).
    fixed
        Per type: bool per site, an existing facility of that type (always open, costs nothing).
    site_cost
        Cost of housing one new facility in a building of its own.
    type_cost
        Extra cost of a new facility, one number or per type (default 0).
    saving
        How much less a new facility costs when it shares a building (a further type at a new
        site, or any new type at an occupied site); ``0 ≤ saving ≤ site_cost``.
    occupied
        Bool per site: the site already houses some facility (no building charge).  Sites with
        an existing facility of any type in ``fixed`` count as occupied too.
    solver
        ``"exact"`` (one HiGHS MIP, started from the greedy plan) or ``"greedy"`` (cost-effectiveness
        greedy, then redundant placements dropped; gap against the LP relaxation when it is solved).
    time_limit
        Seconds for HiGHS; a stopped run reports its true status, bound and gap.

    Returns
    -------
    Colocation

    Raises
    ------
    InputError
        Mismatched type keys or shapes, a target outside 0–1, ``saving`` outside 0–``site_cost``,
        negative costs, an unknown solver.
    InfeasibleError
        A target that even every site together cannot reach (naming the type and the best share).

    Notes
    -----
    The cost model and its linearisation are in the module notes: a fixed charge ``saving`` per
    new building plus ``site_cost − saving + type_cost[t]`` per new facility.
    """
    t0 = time.perf_counter()
    if solver not in ("exact", "greedy"):
        raise InputError(f"solver must be 'exact' or 'greedy', not {solver!r}", field="solver")
    T, occ, F, _ = _types(costs, weights, cutoffs, targets, fixed, site_cost, type_cost, saving, occupied)
    n = len(occ)
    every = np.ones(n, bool)
    diag: dict = {"uncoverable_demand": {}, "uncoverable_weight": {}}
    shares = []
    for t in T:
        u = _uncoverable(t.C, t.w)
        diag["uncoverable_demand"][t.key] = u["uncoverable_demand"]
        diag["uncoverable_weight"][t.key] = u["uncoverable_weight"]
        best = _covered_weight(t.C, t.w, every)
        if best < t.need - t.tol:
            raise InfeasibleError(
                f"{t.key}: target {t.need / t.total:.1%} cannot be reached: opening every site covers {best / t.total:.1%}; "
                f"{t.total - best:g} of its demand weight is beyond the cutoff of every site"
            )
        shares.append((t.key, _covered_weight(t.C, t.w, t.fx) / t.total, t.need / t.total, best / t.total, t.total))

    placed, _order = _greedy(T, occ, F)
    M = _model(T, occ, F)
    diag["reduced_model"] = M["note"]
    if solver == "greedy":
        _x, lp_obj, _b, lp_status = _solve_model(M, integer=False, time_limit=time_limit)
        bound = float(lp_obj) if lp_status == "Optimal" else None
        status, name = f"heuristic (LP bound: {lp_status})", "greedy"
    else:
        x, _obj, bound, status = _solve_model(M, integer=True, time_limit=time_limit, start=_start(M, T, placed, occ))
        name = "highs"
        if x is None and status == "Infeasible":  # cannot happen after the reachability check above
            raise InfeasibleError(f"HiGHS found no plan: {status}")
        if x is not None:  # else HiGHS stopped without reading back a plan: the greedy one stands, with no bound
            mip = _drop_redundant(T, _decode(M, T, x, n), [(k, j) for k in range(len(T)) for j in range(n)])
            # HiGHS keeps the greedy start as incumbent; keep whichever valid plan is cheaper.
            if _met(T, mip) and _plan_cost(T, mip, occ, F)[0] <= _plan_cost(T, placed, occ, F)[0] + 1e-9:
                placed = mip
        if bound is not None and not math.isfinite(bound):
            bound = None
    cost, without = _plan_cost(T, placed, occ, F)
    bound = _round_bound(M, bound)
    if bound is not None:
        bound = min(bound, cost)  # a bound a hair above the plan's cost is solver tolerance
    ranked = _rank(T, placed, occ, F)
    p_table, s_table = _tables(T, ranked, occ, F)
    after = {t.key: _covered_weight(t.C, t.w, t.fx | p) / t.total for t, p in zip(T, placed)}
    cov = pd.DataFrame([{"type": k, "before": b, "after": after[k], "target": tg, "best_possible": be, "total_weight": tot}
                        for k, b, tg, be, tot in shares])
    return Colocation(p_table, s_table, cost, without, bound, _rel_gap(cost, bound), status, name,
                      time.perf_counter() - t0, cov, diag)


# --------------------------------------------------------------------------- GeoDataFrame / network adapter


@dataclasses.dataclass
class ColocatedResult:
    """New facilities of several types, co-located where that saves, with before/after indicators.

    Attributes
    ----------
    sites
        GeoDataFrame (WGS-84), one row per site that gets new facilities, ranked: ``rank``, ``id``,
        ``name``, ``types`` (new types, Chinese names joined by 、), ``type_keys``, ``existing_types``
        (already there, Chinese names), ``existing_type_keys``, ``new_site`` (a new building; False:
        moves into an existing facility's building), ``cost``, ``cost_without_saving``.
    placements
        GeoDataFrame (WGS-84), one row per new facility: ``rank``, ``site_rank``, ``id`` (the site),
        ``type``, ``gain`` (people of the type's ``weight`` newly covered, in rank order), ``weight``,
        ``new_site``, ``colocated``, ``cost``.
    solution
        The :class:`Colocation` of the array core.
    before, after
        :class:`~geoplan.coverage.CoverageResult` without and with the new facilities.
    infeasible_candidates
        Candidates left out, with the reason.
    types
        The type keys planned for.
    targets
        Target share of each type's people to cover.
    site_cost, saving
        The cost parameters used.
    catalogue
        The full catalogue in force (type names of existing facilities of other types).
    """

    sites: Any
    placements: Any
    solution: Colocation
    before: Any
    after: Any
    infeasible_candidates: pd.DataFrame
    types: list[str]
    targets: dict[str, float]
    site_cost: float
    saving: float
    catalogue: Any = None

    def comparison(self) -> pd.DataFrame:
        """Summary indicators of every planned type before and after, side by side."""
        b = self.before.summary.set_index(["type", "indicator", "unit_kind"])
        a = self.after.summary.set_index(["type", "indicator", "unit_kind"])
        out = pd.DataFrame({"before": b["value"], "after": a["value"], "target": b["target"],
                            "passed_before": b["passed"], "passed_after": a["passed"]}).reset_index()
        return out[out["type"].isin(self.types)].reset_index(drop=True)

    def save(self, folder, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm", data_note: str = "") -> dict:
        """Write report (Markdown/HTML/Excel), GeoPackage layers and a before/after map, all-or-nothing.

        Returns the paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``map``.  An existing
        folder is replaced only with ``overwrite=True``.
        """
        return _write(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note)


def _resolve_types(types, catalogue) -> list[str]:
    if isinstance(types, str):
        types = [types]
    keys: list[str] = []
    for name in types or []:
        key = catalogue.resolve(name)
        if key is None:
            raise InputError(f"unknown facility type {name!r}; known: {', '.join(catalogue.keys)}", field="type")
        if key not in keys:
            keys.append(key)
    if not keys:
        raise InputError("give at least one facility type", field="type")
    return keys


def _resolve_targets(targets, keys, catalogue) -> dict[str, float]:
    """Default per type: its catalogue people target, else 1.0 (everyone within the cutoff)."""
    out = {k: (catalogue[k].people_target if catalogue[k].people_target is not None else 1.0) for k in keys}
    if targets is None:
        return out
    if isinstance(targets, Mapping):
        for name, v in targets.items():
            key = catalogue.resolve(name)
            if key not in keys:
                raise InputError(f"target given for {name!r}, which is not among the types planned for: {keys}", field="target")
            out[key] = v
    else:
        out = {k: targets for k in keys}
    for k, v in out.items():
        v = _finite(v, f"target of {k}", "target")
        if not 0 <= v <= 1:
            raise InputError(f"target is a share between 0 and 1, got {v:g}", field="target")
        out[k] = v
    return out


def _existing_sites(fac, units):
    """Existing facilities (any type, on the network) grouped by location: one building per location."""
    import geopandas as gpd

    fac = fac[~fac["too_far"].astype(bool)].to_crs(4326)
    if len(fac) == 0:
        return gpd.GeoDataFrame({"id": [], "name": [], "existing": [], "eligible": []}, geometry=[], crs=4326)
    pts = fac.geometry.representative_point()
    loc = list(zip(np.round(pts.x.to_numpy(), 6), np.round(pts.y.to_numpy(), 6)))  # ~0.1 m
    groups: dict[tuple, list[int]] = {}
    for pos, key in enumerate(loc):
        groups.setdefault(key, []).append(pos)
    rows = []
    for members in groups.values():
        sub = fac.iloc[members]
        names = [str(n) for n in sub.get("name", pd.Series([""] * len(sub))).fillna("") if str(n)]
        rows.append({"id": ";".join(sub["id"].astype(str)), "name": names[0] if names else "",
                     "existing": list(dict.fromkeys(sub["type"])), "geometry": pts.iloc[members[0]]})
    sites = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    sites["eligible"] = True
    if units is not None:  # a building outside the planning area keeps its coverage but takes nothing new
        sites["eligible"] = sites.within(units.to_crs(4326).geometry.union_all()).to_numpy()
    return sites


def suggest_colocated(
    network,
    facilities,
    demand,
    *,
    types: list[str],
    candidates=None,
    units=None,
    targets: float | Mapping[str, float] | None = None,
    catalogue=None,
    site_cost: float = 1.0,
    saving: float = 0.5,
    solver: str = "exact",
    time_limit: float | None = 60.0,
    spacing_m: float = 200.0,
    checks: Mapping[str, Any] | None = None,
) -> ColocatedResult:
    """Least-cost new facilities of several types, co-located where sharing a building saves.

    Existing facilities are kept and counted; the building of every existing facility (of any type,
    e.g. a township elder-care centre) is also a candidate that a new type can move into at the
    co-located price.  Each type must reach its target share of people within its cutoff.

    Parameters
    ----------
    network
        :class:`~geoplan.network.Network`.
    facilities, demand, units
        As for :func:`geoplan.coverage.assess`.
    types
        Catalogue keys or Chinese names of the types to plan for.
    candidates
        Candidate sites (points, any CRS); default: network nodes on a ``spacing_m`` grid inside the units.
    targets
        Share (0–1) of each type's people (its catalogue weight: pop, pop_60 or pop_0_17) to cover within
        its cutoff: one number for all, or per type; default the type's people target, else 1.0.
    catalogue
        Facility types (default :func:`geoplan.standards.default_catalogue`).
    site_cost, saving
        Cost of one new facility in a building of its own, and how much less a facility costs that shares a
        building (``0 ≤ saving ≤ site_cost``); see :func:`colocate`.
    solver
        ``"exact"`` (HiGHS) or ``"greedy"`` (heuristic, gap against the LP relaxation).
    time_limit
        Seconds for HiGHS.
    spacing_m
        Grid spacing of the default network candidates.
    checks
        Options of the input checks passed to :func:`geoplan.coverage.assess` (``invalid_units``,
        ``allow_empty_units``, ``allow_outside``, ``allow_far_facilities``).
    """
    import geopandas as gpd

    from geoplan.coverage import _coverage as coverage
    from geoplan.network._network import snap
    from geoplan.coverage.standards import default_catalogue
    from geoplan.suggest._suggest import candidates_from_network

    catalogue = catalogue or default_catalogue()
    keys = _resolve_types(types, catalogue)
    for k in keys:
        if catalogue[k].weight not in demand.columns:
            raise InputError(f"demand has no {catalogue[k].weight!r} column to weigh {k} by", field=catalogue[k].weight)
    tgt = _resolve_targets(targets, keys, catalogue)
    if candidates is None:
        candidates = candidates_from_network(network, spacing_m=spacing_m, area=units)
    cand = candidates.copy()
    if "id" not in cand.columns:
        cand["id"] = [f"cand:{i}" for i in range(len(cand))]
    bad = pd.DataFrame({"id": cand["id"], "reason": None}, index=cand.index)
    if len(cand):
        csnap = snap(network, cand)
        bad.loc[csnap["too_far"], "reason"] = "too far from the road network"
        if units is not None:
            inside = cand.to_crs(4326).within(units.to_crs(4326).geometry.union_all())
            bad.loc[~inside & bad["reason"].isna(), "reason"] = "outside the admin units"
    ok = bad["reason"].isna().to_numpy()
    infeasible = bad[~ok].reset_index(drop=True)

    before = coverage.assess(network, facilities, demand, units=units, catalogue=catalogue, types=keys, **(checks or {}))
    ex = _existing_sites(before.facilities, units)
    n_ex = len(ex)
    if not ok.any() and not ex["eligible"].any():
        raise InfeasibleError(f"none of the {len(cand)} candidates is usable and no existing building is in the area: "
                              f"{infeasible['reason'].value_counts().to_dict()}")
    cand_ok = cand[ok].to_crs(4326)
    ex_nodes = snap(network, ex)["node"].to_numpy() if n_ex else np.zeros(0, np.int64)
    site_nodes = np.concatenate([ex_nodes, snap(network, cand_ok)["node"].to_numpy() if len(cand_ok) else np.zeros(0, np.int64)])
    dsnap = snap(network, demand)
    far = dsnap["too_far"].to_numpy()
    cutoff_s = {k: catalogue[k].cutoff_min * 60.0 for k in keys}
    # Door-to-door costs (access + partial edges), as coverage.assess measures them.
    site_pts = pd.concat([snap(network, f) for f in (ex, cand_ok) if len(f)], ignore_index=True)
    od = coverage.od_matrix(network, site_pts, dsnap, cutoff=max(cutoff_s.values()), towards=True).tocoo()
    # Demand too far from any road is counted but never covered, as coverage.assess counts it.
    keep = ~far[od.col]
    row, col, val = od.row[keep], od.col[keep], od.data[keep]
    occupied = np.zeros(len(site_nodes), bool)
    occupied[:n_ex] = True
    costs, weights, fixed = {}, {}, {}
    for k in keys:
        fx = np.zeros(len(site_nodes), bool)
        fx[:n_ex] = [k in e for e in ex["existing"]]
        # An existing building outside the area keeps covering for its own types but takes no new one.
        blocked = np.zeros(len(site_nodes), bool)
        blocked[:n_ex] = ~ex["eligible"].to_numpy(bool)
        m = ~(blocked & ~fx)[row]
        costs[k] = sparse.csr_array((val[m], (row[m], col[m])), shape=(len(site_nodes), len(demand)))
        weights[k] = np.nan_to_num(pd.to_numeric(demand[catalogue[k].weight], errors="coerce").to_numpy(float))
        fixed[k] = fx
    try:
        sol = colocate(costs, weights, cutoffs=cutoff_s, targets=tgt, fixed=fixed, site_cost=site_cost, saving=saving,
                       occupied=occupied, solver=solver, time_limit=time_limit)
    except InfeasibleError as exc:  # name the type as planners know it
        key = next((k for k in keys if str(exc).startswith(f"{k}:")), None)
        if key is None:
            raise
        raise InfeasibleError(f"{catalogue[key].name_zh} / {exc}") from exc

    # Site attributes: existing buildings first, then the usable candidates (the rows of the cost matrices).
    site_geo = pd.concat([ex.geometry, cand_ok.geometry], ignore_index=True)
    site_id = np.concatenate([ex["id"].astype(str).to_numpy(), cand_ok["id"].astype(str).to_numpy()])
    site_name = np.concatenate([ex["name"].astype(str).to_numpy(),
                                cand_ok["name"].fillna("").astype(str).to_numpy() if "name" in cand_ok else np.full(len(cand_ok), "")])
    zh = {k: catalogue[k].name_zh for k in catalogue.keys}
    s = sol.sites
    sites = gpd.GeoDataFrame({
        "rank": s["rank"].to_numpy(int),
        "id": site_id[s["site"].to_numpy(int)],
        "name": site_name[s["site"].to_numpy(int)],
        "types": ["、".join(zh[t] for t in ts) for ts in s["types"]],
        "type_keys": [",".join(ts) for ts in s["types"]],
        "existing_types": ["、".join(zh.get(t, t) for t in (ex["existing"].iloc[j] if j < n_ex else []))
                           for j in s["site"].to_numpy(int)],
        "existing_type_keys": [",".join(ex["existing"].iloc[j] if j < n_ex else []) for j in s["site"].to_numpy(int)],
        "new_site": s["new_site"].to_numpy(bool),
        "cost": s["cost"].to_numpy(float),
        "cost_without_saving": s["cost_without_saving"].to_numpy(float),
    }, geometry=site_geo.iloc[s["site"].to_numpy(int)].to_numpy(), crs=4326)
    p = sol.placements[sol.placements["new"]]
    placements = gpd.GeoDataFrame({
        "rank": p["rank"].to_numpy(int),
        "site_rank": p["site_rank"].to_numpy(int),
        "id": site_id[p["site"].to_numpy(int)],
        "type": p["type"].to_numpy(),
        "gain": p["gain"].to_numpy(float),
        "weight": [catalogue[t].weight for t in p["type"]],
        "new_site": p["new_site"].to_numpy(bool),
        "colocated": p["colocated"].to_numpy(bool),
        "cost": p["cost"].to_numpy(float),
    }, geometry=site_geo.iloc[p["site"].to_numpy(int)].to_numpy(), crs=4326)

    taken = set(facilities["id"].astype(str))
    new_ids = []
    for sid, t in zip(placements["id"], placements["type"]):
        nid = f"new:{sid}#{t}"
        while nid in taken:
            nid += "'"
        taken.add(nid)
        new_ids.append(nid)
    new_fac = gpd.GeoDataFrame({"id": new_ids, "type": placements["type"].to_numpy(), "suggested": True},
                               geometry=placements.geometry.to_numpy(), crs=4326)
    all_fac = gpd.GeoDataFrame(pd.concat([facilities.to_crs(4326), new_fac], ignore_index=True), geometry="geometry", crs=4326)
    after = coverage.assess(network, all_fac, demand, units=units, catalogue=catalogue, types=keys, **(checks or {}))
    return ColocatedResult(sites, placements, sol, before, after, infeasible, keys, tgt, float(site_cost), float(saving),
                           catalogue)


# --------------------------------------------------------------------------- outputs

_T = {
    "title": ("多类设施合址选址建议", "Site suggestion for several facility types"),
    "overview": ("概况", "Overview"),
    "sites": ("建议站点（按性价比排序）", "Suggested sites, ranked by people gained per cost"),
    "placements": ("各站点新增设施", "New facilities per site"),
    "shares": ("覆盖目标", "Coverage targets"),
    "compare": ("建设前后指标对比", "Indicators before and after"),
    "units": ("建设后各单位指标", "Indicators per unit after"),
    "infeasible": ("不可用的候选点", "Candidates left out"),
    "before": ("现状服务范围：{name}", "Service areas now: {name}"),
    "after": ("建设后服务范围：{name}", "Service areas after: {name}"),
    "uncovered": ("建设后仍未覆盖：{name}", "Still uncovered after: {name}"),
    "new": ("建议站点", "Suggested sites"),
    "existing": ("现有设施", "Existing facilities"),
}

#: Labels of this module's own columns (the shared label table in geoplan._i18n does not have them).
_COLS = {
    "types": ("新增设施类型", "New types"),
    "type_keys": ("类型代码", "Type keys"),
    "existing_type_keys": ("已有设施类型代码", "Existing type keys"),
    "existing_types": ("已有设施", "Already there"),
    "new_site": ("新建场所", "New building"),
    "colocated": ("合址（享受节省）", "Co-located (with saving)"),
    "cost": ("费用", "Cost"),
    "cost_without_saving": ("不合址费用", "Cost without saving"),
    "site_rank": ("站点排序", "Site rank"),
    "best_possible": ("全部候选可达", "Best possible"),
    "total_weight": ("总人数", "Total people"),
}


def _t(key, lang, **kw):
    zh, en = _T[key]
    return (zh if lang == "zh" else en).format(**kw)


def _cols(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    i = 0 if lang == "zh" else 1
    return df.rename(columns={c: v[i] for c, v in _COLS.items() if c in df.columns})


def _overview(res: ColocatedResult, lang: str, data_note: str) -> str:
    sol = res.solution
    cat = res.after.catalogue
    names = "、".join(cat[k].name_zh for k in res.types) if lang == "zh" else ", ".join(cat[k].name_en for k in res.types)
    gap = ("未证明" if lang == "zh" else "not proven") if sol.gap is None else f"{sol.gap:.2%}"
    n_new = int(res.sites["new_site"].sum())
    n_old = len(res.sites) - n_new
    n_col = int(res.placements["colocated"].sum())
    lines = [data_note] if data_note else []
    if lang == "zh":
        lines.append(
            f"设施类型：{names}；求解器 {sol.solver}，状态：{status_text(sol.status, 'zh')}，最优性差距 {gap}，用时 {sol.seconds:.2f} 秒。"
            f"现有设施全部保留并计入，现有设施所在场所也可容纳新类型。建议新增设施 {len(res.placements)} 处，"
            f"分布在 {len(res.sites)} 个站点（新建场所 {n_new} 个，利用现有场所 {n_old} 个），其中 {n_col} 处与其他设施合址。"
        )
        lines.append(
            f"费用口径：单独设置一处设施计 {res.site_cost:g}，与其他设施合址（同一场所的第二、第三类设施，或进驻现有场所）"
            f"每处节省 {res.saving:g}。方案费用 {sol.cost:g}（不合址为 {sol.cost_without_saving:g}）。"
        )
    else:
        lines.append(
            f"Facility types: {names}; solver {sol.solver}, status: {status_text(sol.status, 'en')}, optimality gap {gap}, {sol.seconds:.2f} s. "
            f"Existing facilities are kept and counted, and their buildings may take new types. {len(res.placements)} new "
            f"facilities suggested at {len(res.sites)} sites ({n_new} new buildings, {n_old} existing ones); {n_col} share a "
            "building with another facility."
        )
        lines.append(
            f"Costs: one facility in a building of its own costs {res.site_cost:g}; a facility sharing a building (a second or "
            f"third type at one site, or moving into an existing building) costs {res.saving:g} less. Plan cost "
            f"{sol.cost:g} ({sol.cost_without_saving:g} without co-location)."
        )
    for k in res.types:
        un = sol.diagnostics.get("uncoverable_weight", {}).get(k)
        if un:
            lines.append(f"{cat[k].name_zh}：有 {un:g} 人不在任何站点的服务范围内（已计入分母）。" if lang == "zh" else
                         f"{cat[k].name_en}: {un:g} people are beyond the reach of every site (counted in the total).")
    return "\n\n".join(lines)


def _sites_table(res: ColocatedResult, lang: str) -> pd.DataFrame:
    """The sites without geometry; type names in the report's language (the data keeps Chinese)."""
    df = pd.DataFrame(res.sites.drop(columns="geometry"))
    if lang != "zh":
        cat = res.catalogue or res.after.catalogue
        for col, keys in (("types", "type_keys"), ("existing_types", "existing_type_keys")):
            df[col] = ["; ".join(cat[k].name_en for k in v.split(",")) if v else "" for v in df[keys]]
    return _cols(df, lang)


def _write(res: ColocatedResult, folder, *, lang, overwrite, basemap, data_note) -> dict:
    from pathlib import Path

    from geoplan.outputs._coverage_outputs import coverage_layers, write_gpkg
    from geoplan._output import output_folder
    from geoplan.outputs._report import Section, write_report

    final = Path(folder)
    shares = res.solution.covered_share.drop(columns=["total_weight"])
    for c in ("before", "after", "target", "best_possible"):  # shares shown as percentages
        shares[c] = shares[c].map(lambda v: f"{v:.1%}")
    units = pd.DataFrame(res.after.units.drop(columns="geometry", errors="ignore"))
    sections = [
        Section(_t("overview", lang), text=_overview(res, lang, data_note)),
        Section(_t("sites", lang), table=_sites_table(res, lang)),
        Section(_t("placements", lang), table=_cols(pd.DataFrame(res.placements.drop(columns="geometry")), lang)),
        Section(_t("shares", lang), table=_cols(shares, lang)),
        Section(_t("compare", lang), table=res.comparison()),
        Section(_t("units", lang), table=units),
    ]
    if len(res.infeasible_candidates):
        sections.append(Section(_t("infeasible", lang), table=res.infeasible_candidates))
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=_t("title", lang), sections=sections, lang=lang)
        layers = {f"after_{k}": v for k, v in coverage_layers(res.after).items()}
        layers["suggested_sites"] = res.sites
        layers["suggested_facilities"] = res.placements
        paths["gpkg"] = write_gpkg(layers, tmp / "layers.gpkg")
        paths["map"] = _map(res, tmp / "map.html", lang=lang, basemap=basemap)
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths


def _map(res: ColocatedResult, path, *, lang, basemap):
    import geopandas as gpd

    from geoplan.outputs import maps

    before, after = res.before, res.after
    extent = after.units if isinstance(after.units, gpd.GeoDataFrame) and len(after.units) else after.demand
    m = maps.base_map(extent, basemap=basemap, lang=lang)
    dem = after.demand
    for key in res.types:
        name = after.catalogue[key].name(lang)
        color = maps.CATEGORY_COLORS.get(key, "#555555")
        for label_key, result, show, col in (("before", before, False, "#718096"), ("after", after, True, color)):
            sa = result.service_areas
            sa = sa[sa["type"] == key] if len(sa) else sa
            if len(sa):
                sa = sa.assign(geometry=sa.geometry.simplify(2.0))
                maps.add_polygons(m, sa[["facility_id", "geometry"]], name=_t(label_key, lang, name=name),
                                  style={"color": col, "fillColor": col, "fillOpacity": 0.15, "weight": 1},
                                  tooltip_col="facility_id", lang=lang, show=show)
        unc = dem[~dem[f"{key}_covered"].astype(bool)]
        if len(unc):
            cols = [c for c in ("id", after.catalogue[key].weight, f"{key}_min") if c in unc]
            maps.add_points(m, gpd.GeoDataFrame(unc[cols], geometry=unc.geometry, crs=dem.crs),
                            name=_t("uncovered", lang, name=name), color="#e53e3e", radius=3, popup_cols=cols, lang=lang,
                            show=False)
    fac = before.facilities
    ex = fac[fac["type"].isin(res.types)]
    if len(ex):
        cols = [c for c in ("id", "name", "type") if c in ex]
        maps.add_points(m, gpd.GeoDataFrame(ex[cols], geometry=ex.geometry, crs=fac.crs), name=_t("existing", lang),
                        category_col="type", radius=8, popup_cols=cols, tooltip_col="name" if "name" in cols else None,
                        lang=lang)
    if len(res.sites):
        sites = _cols(res.sites[["rank", "types", "existing_types", "new_site", "cost", "id", "geometry"]], lang)
        pop = [c for c in sites.columns if c not in ("rank", "geometry")]
        maps.add_suggested_sites(m, sites, name=_t("new", lang), gain_col=None, popup_cols=pop,
                                 tooltip_col=_COLS["types"][0 if lang == "zh" else 1], color="#000000", lang=lang)
    return maps.finish(m, path, collapsed=True)
