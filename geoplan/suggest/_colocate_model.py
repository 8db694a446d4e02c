"""The co-location model's parts: per-type inputs, plan costs, the greedy and the HiGHS MIP.

Used by :func:`geoplan.suggest.colocate` (module :mod:`._colocate`, where the cost model and its
linearisation are written out).  Every function here works on a list of :class:`_Type` (one per
facility type, all over the same site rows).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError
from geoplan.suggest._base import _cover, _covered_weight, _highs_solve, _prepare
from geoplan.suggest._coverage_models import _reduce_cover


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
