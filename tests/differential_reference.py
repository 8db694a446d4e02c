"""Independent reference solutions and checks for the differential tests of the site models.

Used by ``tests/test_differential.py`` (a few hundred small cases in the normal test run) and by
``benchmarks/differential.py`` (a larger sweep).  Nothing here imports geoplan's model code: the
references are written plainly from the model definitions, as dense ``scipy.optimize.milp``
formulations or brute-force enumeration over site sets (with ``scipy.optimize.linprog`` for the
demand split of the capacitated models), so a bug in geoplan's sparse formulations, model
reductions, LP-first shortcuts or HiGHS status handling shows up as a mismatch.

Instances are SYNTHETIC (random, seeded): geometric (points in a square, Euclidean costs stored
within a radius, some candidates on demand points so a stored cost is 0) and adversarial ones —
small integer costs (ties), odd cycles (fractional LP relaxations), tiny cutoffs (much demand
uncoverable), zero weights, existing (fixed) sites.

Each ``run_case(model, solver, seed)`` builds an instance, runs geoplan and the reference, and
returns a list of problems (empty when the answer is right).  Rules checked:

- the answer is feasible and its reported objective is the objective of the sites it reports;
- status "Optimal" ⇒ objective equals the reference optimum (relative tolerance 2e-6, HiGHS'
  ``mip_rel_gap`` is 1e-6);
- a reported bound is valid: ≤ optimum for minimisation, ≥ optimum for maximisation;
- a reported gap is the gap between objective and bound, so the true gap is ≤ it;
- an objective that is not optimal never comes with status "Optimal".
"""

from __future__ import annotations

import itertools
import math
import types

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

EPS = 1e-9  # a cost ≤ cutoff + EPS covers (as documented for geoplan's models)
RTOL = 2e-6


# --------------------------------------------------------------------------- instances (SYNTHETIC)


KINDS = ("geometric", "ties", "cycle", "tiny_cutoff", "zero_weights")


def is_medium(seed: int) -> bool:
    """Every 4th case is of medium size (15–60 candidates × 40–200 demand): enough for HiGHS' presolve and
    branching to matter, still solved in well under a second by the milp references."""
    return seed % 4 == 3


def instance(seed: int, *, max_cand: int = 9, max_dem: int = 18, medium: bool | None = None) -> dict:
    """A random covering/median instance: dense costs ``D`` (inf = not stored), weights, fixed, cutoff."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    if medium if medium is not None else False:
        nc = int(rng.integers(15, 61))
        nd = int(rng.integers(40, 201))
    else:
        nc = int(rng.integers(3, max_cand + 1))
        nd = int(rng.integers(3, max_dem + 1))
    if kind in ("geometric", "tiny_cutoff", "zero_weights"):
        cp = rng.uniform(0, 1000, (nc, 2))
        dp = rng.uniform(0, 1000, (nd, 2))
        k = int(rng.integers(0, min(nc, nd) + 1))  # some candidates on demand points: stored zero costs
        cp[:k] = dp[:k]
        D = np.round(np.hypot(*(cp[:, None, :] - dp[None, :, :]).transpose(2, 0, 1)), 1)
        radius = float(rng.uniform(300, 900) if nc < 15 else rng.uniform(150, 400))
        D[D > radius] = np.inf
        cutoff = float(rng.uniform(20, 120)) if kind == "tiny_cutoff" else float(rng.uniform(150, radius))
        if rng.random() < 0.3:  # cutoff exactly on a stored cost (boundary must count as covered)
            fin = D[np.isfinite(D)]
            if len(fin):
                cutoff = float(rng.choice(fin))
        w = rng.integers(0, 12, nd).astype(float)
        if kind == "zero_weights":
            w[rng.random(nd) < 0.5] = 0.0
    elif kind == "ties":
        D = rng.integers(0, 5, (nc, nd)).astype(float)
        D[rng.random((nc, nd)) < 0.4] = np.inf
        cutoff = float(rng.integers(0, 4))
        w = rng.integers(0, 4, nd).astype(float)
    else:  # odd cycle: demand i reached by candidates i and i+1 — LP relaxations at 1/2
        nc = nd = int(rng.choice([3, 5, 7, 9] if nc < 15 else [15, 21, 31]))
        D = np.full((nc, nd), np.inf)
        for i in range(nd):
            D[i, i] = 1.0
            D[(i + 1) % nc, i] = 1.0 + rng.integers(0, 2)
        extra = rng.random((nc, nd)) < 0.1
        D[extra & ~np.isfinite(D)] = 5.0
        cutoff = 2.0
        w = rng.choice([1.0, 1.0, 2.0, 3.0], nd)
    fixed = rng.random(nc) < (0.25 if rng.random() < 0.5 else 0.0)
    if fixed.all():
        fixed[0] = False
    extra = np.random.default_rng(seed + 1_000_003)  # own stream: the draws above stay as they were
    if nc >= 2 and extra.random() < 0.2:
        D[nc - 1] = D[0]  # an identical candidate: symmetric ties
    if extra.random() < 0.15:
        w = w * 10_000.0 + extra.integers(0, 1000, len(w)) * (w > 0)  # large populations: relative tolerances
    return dict(kind=kind, D=D, w=w, fixed=fixed, cutoff=cutoff, rng=rng)


def to_sparse(D: np.ndarray) -> sparse.csr_array:
    """Stored entries where D is finite, explicit zeros kept (a stored 0 is a real zero cost)."""
    r, c = np.nonzero(np.isfinite(D))
    return sparse.csr_array((D[r, c], (r, c)), shape=D.shape)


def cover_of(D: np.ndarray, cutoff: float | None) -> np.ndarray:
    fin = np.isfinite(D)
    return fin if cutoff is None else fin & (D <= cutoff + EPS)


# --------------------------------------------------------------------------- references


def _milp_binary(c, A, lo, hi, n_int, lb, ub, *, maximize=False):
    n = len(c)
    integ = np.zeros(n)
    integ[:n_int] = 1
    cons = [LinearConstraint(A, lo, hi)] if A is not None and A.shape[0] else []
    res = milp(-np.asarray(c) if maximize else np.asarray(c), constraints=cons, integrality=integ,
               bounds=Bounds(lb, ub), options={"mip_rel_gap": 0.0})
    if res.status == 2:
        return None
    if res.status != 0:
        raise RuntimeError(f"reference milp failed: {res.message}")
    return -res.fun if maximize else res.fun


def ref_lscp(D, cutoff, fixed):
    C = cover_of(D, cutoff).astype(float)
    coverable = C.any(axis=0)
    by_fixed = C[fixed].any(axis=0)
    rows = C[:, coverable & ~by_fixed].T
    nc = D.shape[0]
    lb = fixed.astype(float)
    return _milp_binary((~fixed).astype(float), rows, np.ones(len(rows)), np.full(len(rows), np.inf), nc, lb,
                        np.ones(nc))


def ref_mclp(D, w, p, cutoff, fixed):
    C = cover_of(D, cutoff).astype(float)
    nc, nd = C.shape
    # x (nc binary), y (nd continuous in [0, 1]): y_i ≤ Σ_j C_ji x_j; Σ_{j free} x_j = p
    A = np.zeros((nd + 1, nc + nd))
    A[:nd, :nc] = -C.T
    A[:nd, nc:] = np.eye(nd)
    A[nd, :nc] = (~fixed).astype(float)
    lo = np.concatenate([np.full(nd, -np.inf), [p]])
    hi = np.concatenate([np.zeros(nd), [p]])
    c = np.concatenate([np.zeros(nc), w])
    return _milp_binary(c, A, lo, hi, nc, np.concatenate([fixed.astype(float), np.zeros(nd)]), np.ones(nc + nd),
                        maximize=True)


def ref_reach(D, w, target, cutoff, fixed):
    """Fewest new sites with covered weight ≥ target × total; None when infeasible."""
    C = cover_of(D, cutoff).astype(float)
    nc, nd = C.shape
    A = np.zeros((nd + 1, nc + nd))
    A[:nd, :nc] = -C.T
    A[:nd, nc:] = np.eye(nd)
    A[nd, nc:] = w
    lo = np.concatenate([np.full(nd, -np.inf), [target * w.sum() - 1e-9 * max(1.0, w.sum())]])
    hi = np.concatenate([np.zeros(nd), [np.inf]])
    c = np.concatenate([(~fixed).astype(float), np.zeros(nd)])
    return _milp_binary(c, A, lo, hi, nc, np.concatenate([fixed.astype(float), np.zeros(nd)]), np.ones(nc + nd))


def _subsets(fixed, p):
    free = np.flatnonzero(~fixed)
    for sub in itertools.combinations(free, p):
        m = fixed.copy()
        m[list(sub)] = True
        yield m


def pm_value(D, w, open_mask, penalty):
    """Σ w_i × min(cheapest stored cost from an open site, penalty) over reachable demand.

    Demand may always be left unserved at the penalty (so a penalty below a travel cost caps it)."""
    reach = np.isfinite(D).any(axis=0)
    d = np.where(open_mask[:, None], D, np.inf).min(axis=0)
    d = np.minimum(d, penalty)
    return float((w * d)[reach].sum())


def ref_pmedian(D, w, p, fixed, penalty):
    return min(pm_value(D, w, m, penalty) for m in _subsets(fixed, p))


def ref_pmedian_milp(D, w, p, fixed, penalty):
    """p-median as a dense MILP: x_j open, z_ji share of i served by j (stored pairs), u_i share unserved."""
    reach = np.isfinite(D).any(axis=0)
    js, is_ = np.nonzero(np.isfinite(D) & (reach & (w > 0))[None, :])
    dem = np.flatnonzero(reach & (w > 0))
    nc, nz, nu = D.shape[0], len(js), len(dem)
    if nu == 0:
        return 0.0
    row = np.full(D.shape[1], -1)
    row[dem] = np.arange(nu)
    n = nc + nz + nu
    # Sparse (scipy milp takes it): a dense matrix here would be (pairs × pairs).
    r = np.concatenate([row[is_], np.arange(nu),  # Σ_j z_ji + u_i = 1
                        nu + np.arange(nz), nu + np.arange(nz),  # z_ji − x_j ≤ 0
                        np.full(nc, nu + nz)])  # Σ_{j free} x_j = p
    cl = np.concatenate([nc + np.arange(nz), nc + nz + np.arange(nu), nc + np.arange(nz), js, np.arange(nc)])
    v = np.concatenate([np.ones(nz + nu + nz), -np.ones(nz), (~fixed).astype(float)])
    A = sparse.csr_array((v, (r, cl)), shape=(nu + nz + 1, n))
    lo = np.concatenate([np.ones(nu), np.full(nz, -np.inf), [p]])
    hi = np.concatenate([np.ones(nu), np.zeros(nz), [p]])
    c = np.concatenate([np.zeros(nc), w[is_] * D[js, is_], w[dem] * penalty])
    return _milp_binary(c, A, lo, hi, nc, np.concatenate([fixed.astype(float), np.zeros(nz + nu)]), np.ones(n))


def pc_value(D, w, open_mask):
    keep = (w > 0) & np.isfinite(D).any(axis=0)
    d = np.where(open_mask[:, None], D, np.inf).min(axis=0)[keep]
    return float(d.max()) if len(d) else 0.0


def ref_pcenter(D, w, p, fixed):
    return min(pc_value(D, w, m) for m in _subsets(fixed, p))


def _transport(D, w, cap, open_mask, cutoff, penalty, *, maximize_served):
    """Best split of demand over the open sites: max weight served within the cutoff (MCLP), or
    min travel + penalty × unserved (p-median).  Variables: one share z per (open site, demand) pair."""
    ok = cover_of(D, cutoff) & open_mask[:, None]
    js, is_ = np.nonzero(ok)
    nd = D.shape[1]
    if maximize_served:
        keep = w > 0
        sel = keep[is_]
        js, is_ = js[sel], is_[sel]
        nz = len(js)
        if nz == 0:
            return 0.0
        c = -w[is_]
        A = np.zeros((nd + len(cap), nz))
        A[is_, np.arange(nz)] = 1.0
        A[nd + js, np.arange(nz)] = w[is_]
        b = np.concatenate([np.ones(nd), cap])
        r = linprog(c, A_ub=A, b_ub=b, bounds=(0, 1), method="highs")
        assert r.status == 0, r.message
        return -r.fun
    reach = np.isfinite(D).any(axis=0) & (w > 0)
    sel = reach[is_]
    js, is_ = js[sel], is_[sel]
    dem = np.flatnonzero(reach)
    row = np.full(nd, -1)
    row[dem] = np.arange(len(dem))
    nz, nu = len(js), len(dem)
    if nz + nu == 0:
        return 0.0
    c = np.concatenate([w[is_] * D[js, is_], w[dem] * penalty])
    A_eq = np.zeros((nu, nz + nu))
    A_eq[row[is_], np.arange(nz)] = 1.0
    A_eq[np.arange(nu), nz + np.arange(nu)] = 1.0
    A_ub = np.zeros((len(cap), nz + nu))
    A_ub[js, np.arange(nz)] = w[is_]
    r = linprog(c, A_ub=A_ub, b_ub=cap, A_eq=A_eq, b_eq=np.ones(nu), bounds=(0, None), method="highs")
    assert r.status == 0, r.message
    return r.fun


def ref_cap_mclp(D, w, p, cap, cutoff, fixed):
    return max(_transport(D, w, cap, m, cutoff, 0.0, maximize_served=True) for m in _subsets(fixed, p))


def ref_cap_pmedian(D, w, p, cap, fixed, penalty):
    return min(_transport(D, w, cap, m, None, penalty, maximize_served=False) for m in _subsets(fixed, p))


def colocation_plans(Cs, ws, fixeds, needs, occ, site_cost, type_cost, saving):
    """Least plan cost by enumerating every placement of every type (plain cost model, no linearisation).

    Per site with k ≥ 1 new types: new building k·site_cost + Σ type_cost − (k−1)·saving;
    occupied building k·(site_cost − saving) + Σ type_cost.  None when no plan meets every target.
    """
    K, n = len(Cs), len(occ)
    best = None
    for bits in itertools.product([0, 1], repeat=K * n):
        X = np.array(bits, bool).reshape(K, n)
        if (X & np.array(fixeds)).any():  # a type already at a site needs no second one there
            continue
        ok = True
        for k in range(K):
            covered = (Cs[k][X[k] | fixeds[k]]).any(axis=0)
            if ws[k][covered].sum() < needs[k] - 1e-9 * max(1.0, ws[k].sum()):
                ok = False
                break
        if not ok:
            continue
        cost = 0.0
        for j in range(n):
            k_new = int(X[:, j].sum())
            if k_new == 0:
                continue
            extra = sum(type_cost[k] for k in range(K) if X[k, j])
            cost += (k_new * (site_cost - saving) if occ[j] else k_new * site_cost - (k_new - 1) * saving) + extra
        if best is None or cost < best - 1e-12:
            best = cost
    return best


# --------------------------------------------------------------------------- checks


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(1.0, abs(a), abs(b))


LAST = {"status": None}  # status of the answer judged last (exact solvers should prove optimality on these sizes)


def judge(sense: str, obj: float, recomputed: float, bound, gap, status: str, ref: float) -> list[str]:
    """Problems with one answer against the reference optimum ``ref`` (empty list: all good)."""
    LAST["status"] = status
    bad = []
    if not _close(obj, recomputed):
        bad.append(f"reported objective {obj} ≠ objective of the reported sites {recomputed}")
    if sense == "min" and recomputed < ref - RTOL * max(1.0, abs(ref)):
        bad.append(f"objective {recomputed} below the optimum {ref}: infeasible answer or wrong reference")
    if sense == "max" and recomputed > ref + RTOL * max(1.0, abs(ref)):
        bad.append(f"objective {recomputed} above the optimum {ref}: infeasible answer or wrong reference")
    if status == "Optimal" and not _close(recomputed, ref):
        bad.append(f"status Optimal but objective {recomputed} ≠ optimum {ref}")
    if bound is not None:
        if not math.isfinite(bound):
            bad.append(f"bound {bound} is not finite")
        elif sense == "min" and bound > ref + RTOL * max(1.0, abs(ref)):
            bad.append(f"lower bound {bound} above the optimum {ref}")
        elif sense == "max" and bound < ref - RTOL * max(1.0, abs(ref)):
            bad.append(f"upper bound {bound} below the optimum {ref}")
    if gap is not None:
        if bound is None:
            bad.append("a gap without a bound")
        else:
            true_gap = abs(recomputed - ref) / max(abs(ref), abs(recomputed), 1e-9)
            if true_gap > gap + RTOL:
                bad.append(f"reported gap {gap} smaller than the true gap {true_gap}")
            own = abs(bound - obj) / max(abs(bound), abs(obj), 1e-9)
            if abs(own - gap) > 1e-9:
                bad.append(f"reported gap {gap} is not the gap {own} between objective and bound")
    return bad


# --------------------------------------------------------------------------- one case per model


def _pick_p(rng, fixed, lo=0, hi=3):
    n_free = int((~fixed).sum())
    return int(rng.integers(lo, min(hi, n_free) + 1))


def case_lscp(seed, solver):
    from geoplan import suggest

    I = instance(seed, medium=is_medium(seed))
    D, fixed, w = I["D"], I["fixed"], I["w"]
    cutoff = None if I["rng"].random() < 0.1 else I["cutoff"]
    sol = suggest.lscp(to_sparse(D), cutoff=cutoff, fixed=fixed, weights=w, solver=solver, time_limit=20)
    C = cover_of(D, cutoff)
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = []
    if fixed[sol.selected].any():
        bad.append("an existing site among the new ones")
    missed = C.any(axis=0) & ~C[open_mask].any(axis=0)
    if missed.any():
        bad.append(f"{int(missed.sum())} coverable demand point(s) left uncovered")
    ref = ref_lscp(D, cutoff, fixed)
    return bad + judge("min", sol.objective, float(len(sol.selected)), sol.bound, sol.gap, sol.status, ref)


def case_mclp(seed, solver):
    from geoplan import suggest

    I = instance(seed, medium=is_medium(seed))
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    p = _pick_p(rng, fixed)
    with_bound = solver == "exact" or rng.random() < 0.7
    sol = suggest.mclp(to_sparse(D), w, p, cutoff=I["cutoff"], fixed=fixed, solver=solver, time_limit=20,
                       bound=with_bound)
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = []
    if len(sol.selected) != p or len(set(sol.selected.tolist())) != p or fixed[sol.selected].any():
        bad.append(f"{len(sol.selected)} distinct new sites reported, p = {p}")
    got = float(w[cover_of(D, I["cutoff"])[open_mask].any(axis=0)].sum())
    ref = ref_mclp(D, w, p, I["cutoff"], fixed)
    return bad + judge("max", sol.objective, got, sol.bound, sol.gap, sol.status, ref)


def case_reach(seed, solver):
    from geoplan import InfeasibleError
    from geoplan import suggest

    I = instance(seed, medium=is_medium(seed))
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    target = float(rng.choice([0.0, 0.25, 0.5, 0.8, 0.9, 1.0, rng.uniform(0, 1)]))
    ref = ref_reach(D, w, target, I["cutoff"], fixed) if w.sum() > 0 else None
    try:
        sol = suggest.reach_target(to_sparse(D), w, target, cutoff=I["cutoff"], fixed=fixed, solver=solver, time_limit=20)
    except InfeasibleError:
        return [] if ref is None else [f"InfeasibleError, but the reference reaches the target with {ref} sites"]
    if ref is None:
        return [f"answer {sol.objective} for an instance the reference finds infeasible"]
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    got_w = float(w[cover_of(D, I["cutoff"])[open_mask].any(axis=0)].sum())
    bad = []
    if got_w < target * w.sum() - 1e-6 * max(1.0, w.sum()):
        bad.append(f"covers {got_w} < target {target} × {w.sum()}")
    return bad + judge("min", sol.objective, float(len(sol.selected)), sol.bound, sol.gap, sol.status, ref)


def case_pmedian(seed, solver):
    from geoplan import suggest

    I = instance(seed, medium=is_medium(seed))
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    p = _pick_p(rng, fixed, lo=0 if rng.random() < 0.1 else 1)
    fin = D[np.isfinite(D)]
    penalty = None if rng.random() < 0.5 else float(rng.choice([0.0, 50.0, 1e4]))
    pen = penalty if penalty is not None else 10.0 * (float(fin.max()) if len(fin) else 1.0)
    sol = suggest.pmedian(to_sparse(D), w, p, fixed=fixed, penalty=penalty, solver=solver, time_limit=20)
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = []
    if len(sol.selected) != p or len(set(sol.selected.tolist())) != p or fixed[sol.selected].any():
        bad.append(f"{len(sol.selected)} distinct new sites reported, p = {p}")
    ref = ref_pmedian(D, w, p, fixed, pen) if D.shape[0] < 15 else ref_pmedian_milp(D, w, p, fixed, pen)
    return bad + judge("min", sol.objective, pm_value(D, w, open_mask, pen), sol.bound, sol.gap, sol.status, ref)


def case_pcenter(seed, solver="exact"):
    from geoplan import InfeasibleError
    from geoplan import suggest

    I = instance(seed)
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    p = _pick_p(rng, fixed, lo=0 if rng.random() < 0.1 else 1)
    ref = ref_pcenter(D, w, p, fixed)
    try:
        sol = suggest.pcenter(to_sparse(D), p, fixed=fixed, weights=w, time_limit=20)
    except InfeasibleError:
        return [] if not math.isfinite(ref) else [f"InfeasibleError, but the reference radius is {ref}"]
    if not math.isfinite(ref):
        return [f"radius {sol.objective} where no {p} sites reach every reachable demand point"]
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = [] if len(sol.selected) <= p else [f"{len(sol.selected)} new sites > p = {p}"]
    return bad + judge("min", sol.objective, pc_value(D, w, open_mask), sol.bound, sol.gap, sol.status, ref)


def _capacities(rng, nc, w):
    scale = max(1.0, w.sum() / max(1, nc // 2))
    return np.round(rng.uniform(0.2, 1.5, nc) * scale, 1)


def case_cap_mclp(seed, solver="exact"):
    from geoplan import suggest

    I = instance(seed, max_cand=7, max_dem=12)
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    p = _pick_p(rng, fixed)
    cap = _capacities(rng, D.shape[0], w)
    sol = suggest.capacitated_mclp(to_sparse(D), w, p, cap, cutoff=I["cutoff"], fixed=fixed, time_limit=20)
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = []
    if len(sol.selected) != p or fixed[sol.selected].any():
        bad.append(f"{len(sol.selected)} new sites, p = {p}")
    served = np.asarray(sol.diagnostics["served_per_site"])
    if (served > cap * (1 + 1e-6) + 1e-6).any() or (served[~open_mask] > 1e-6).any():
        bad.append("a site serves beyond its capacity, or a closed site serves")
    got = _transport(D, w, cap, open_mask, I["cutoff"], 0.0, maximize_served=True)
    ref = ref_cap_mclp(D, w, p, cap, I["cutoff"], fixed)
    return bad + judge("max", sol.objective, got, sol.bound, sol.gap, sol.status, ref)


def case_cap_pmedian(seed, solver):
    from geoplan import InfeasibleError
    from geoplan import suggest

    I = instance(seed, max_cand=7, max_dem=12)
    D, fixed, w, rng = I["D"], I["fixed"], I["w"], I["rng"]
    p = _pick_p(rng, fixed, lo=1)
    cap = _capacities(rng, D.shape[0], w)
    fin = D[np.isfinite(D)]
    pen = 10.0 * (float(fin.max()) if len(fin) else 1.0)
    reach = np.isfinite(D).any(axis=0)
    total = float(w[reach].sum())
    best_cap = float(cap[fixed].sum() + np.sort(cap[~fixed])[::-1][:p].sum())
    try:
        sol = suggest.capacitated_pmedian(to_sparse(D), w, p, cap, fixed=fixed, solver=solver, time_limit=20)
    except InfeasibleError:
        return [] if best_cap < total - 1e-9 * max(1.0, total) else ["InfeasibleError with enough capacity"]
    if best_cap < total - 1e-9 * max(1.0, total):
        return ["no InfeasibleError although capacity is short"]
    open_mask = fixed.copy()
    open_mask[sol.selected] = True
    bad = [] if len(sol.selected) == p else [f"{len(sol.selected)} new sites, p = {p}"]
    got = _transport(D, w, cap, open_mask, None, pen, maximize_served=False)
    ref = ref_cap_pmedian(D, w, p, cap, fixed, pen)
    # The split reported must be at least as good as the optimal split for its sites (it is recomputed there).
    return bad + judge("min", sol.objective, max(got, sol.objective), sol.bound, sol.gap, sol.status, ref) + (
        [] if sol.objective >= got - RTOL * max(1.0, got) else [f"objective {sol.objective} below the best split {got}"])


def case_colocate(seed, solver):
    from geoplan import InfeasibleError
    from geoplan.suggest import colocate

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 6))
    K = 2 if n > 3 and rng.random() < 0.8 else 3 if n == 3 else 2
    sp = rng.uniform(0, 1000, (n, 2))
    Cs, ws, fixeds, costs, weights, cutoffs, targets, fx = [], [], [], {}, {}, {}, {}, {}
    for k in range(K):
        nd = int(rng.integers(3, 10))
        dp = rng.uniform(0, 1000, (nd, 2))
        D = np.round(np.hypot(*(sp[:, None, :] - dp[None, :, :]).transpose(2, 0, 1)))
        if rng.random() < 0.3:
            D = np.floor(D / 300) * 300  # ties
        D[D > 800] = np.inf
        cut = float(rng.choice([200.0, 400.0, 600.0]))
        w = rng.integers(0, 6, nd).astype(float)
        if w.sum() == 0:
            w[0] = 1.0
        f = (rng.random(n) < 0.15) if rng.random() < 0.5 else np.zeros(n, bool)
        tgt = float(rng.choice([0.3, 0.5, 0.7, 0.9, 1.0]))
        key = f"t{k}"
        costs[key], weights[key], cutoffs[key], targets[key], fx[key] = to_sparse(D), w, cut, tgt, f
        Cs.append(cover_of(D, cut))
        ws.append(w)
        fixeds.append(f)
    occ = rng.random(n) < 0.2
    site_cost = float(rng.choice([1.0, 2.0, 3.0]))
    saving = float(rng.choice([0.0, 0.5, 1.0, site_cost]))
    saving = min(saving, site_cost)
    tc = {f"t{k}": float(rng.choice([0.0, 0.0, 0.5, 1.0])) for k in range(K)}
    needs = [targets[f"t{k}"] * ws[k].sum() for k in range(K)]
    ref = colocation_plans(Cs, ws, fixeds, needs, occ | np.logical_or.reduce(fixeds), site_cost,
                           [tc[f"t{k}"] for k in range(K)], saving)
    try:
        res = colocate(costs, weights, cutoffs=cutoffs, targets=targets, fixed=fx, site_cost=site_cost, type_cost=tc,
                       saving=saving, occupied=occ, solver=solver, time_limit=20)
    except InfeasibleError:
        return [] if ref is None else [f"InfeasibleError, reference plan costs {ref}"]
    if ref is None:
        return [f"plan costing {res.cost} where no plan meets every target"]
    # Recompute the plan's cost and coverage from its placements.
    occ_all = occ | np.logical_or.reduce(fixeds)
    X = np.zeros((K, n), bool)
    newp = res.placements.loc[res.placements["new"].astype(bool).to_numpy()]
    for site, key in zip(newp["site"], newp["type"]):
        X[int(key[1:]), int(site)] = True
    bad = []
    for k in range(K):
        covered = Cs[k][X[k] | fixeds[k]].any(axis=0)
        if ws[k][covered].sum() < needs[k] - 1e-6 * max(1.0, ws[k].sum()):
            bad.append(f"type t{k} misses its target")
    cost = 0.0
    for j in range(n):
        kn = int(X[:, j].sum())
        if kn:
            extra = sum(tc[f"t{k}"] for k in range(K) if X[k, j])
            cost += (kn * (site_cost - saving) if occ_all[j] else kn * site_cost - (kn - 1) * saving) + extra
    return bad + judge("min", res.cost, cost, res.bound, res.gap, res.status, ref)


def case_units(seed, solver="exact"):
    """reach_target on the share of admin units with a facility (the ``--indicator units`` path)."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point, box

    from geoplan import InfeasibleError
    from geoplan.suggest._suggest import _reach_unit_target

    rng = np.random.default_rng(seed)
    g = int(rng.integers(2, 4))  # g × g square units of 0.01° near 114°E 22.5°N (SYNTHETIC)
    x0, y0, s = 114.0, 22.5, 0.01
    codes = [f"U{r}{c}" for r in range(g) for c in range(g)]
    polys = [box(x0 + c * s, y0 + r * s, x0 + (c + 1) * s, y0 + (r + 1) * s) for r in range(g) for c in range(g)]
    units = gpd.GeoDataFrame({"code": codes}, geometry=polys, crs=4326)
    has = rng.random(len(codes)) < 0.3
    n_ex = int(rng.integers(0, 3))
    nc = int(rng.integers(2, 9))
    # Candidates strictly inside a unit (never on a shared edge), some units without any.
    pts, unit_of = [], []
    for _ in range(nc):
        u = int(rng.integers(0, len(codes)))
        r, c = divmod(u, g)
        pts.append(Point(x0 + (c + rng.uniform(0.1, 0.9)) * s, y0 + (r + rng.uniform(0.1, 0.9)) * s))
        unit_of.append(u)
    cand_ok = gpd.GeoDataFrame({"id": [f"c{i}" for i in range(nc)]}, geometry=pts, crs=4326)
    nd = int(rng.integers(3, 12))
    D = rng.uniform(0, 900, (n_ex + nc, nd))
    D[rng.random(D.shape) < 0.4] = np.inf
    w = rng.integers(0, 8, nd).astype(float)
    fixed = np.concatenate([np.ones(n_ex, bool), np.zeros(nc, bool)])
    before = types.SimpleNamespace(units=pd.DataFrame({"unit_code": codes, "has_facility": has}))
    target = float(rng.choice([0.5, 0.75, 1.0, rng.uniform(0, 1)]))
    ft = types.SimpleNamespace(key="SYNTHETIC", unit_target=lambda _x: target)
    # Reference (milp): x_j per candidate, h_u per unit lacking a facility; h_u ≤ Σ_{j in u} x_j;
    # Σ h_u ≥ ⌈target × units⌉ − units that have one; min Σ x_j.
    lacking = np.flatnonzero(~has)
    need = max(0, math.ceil(round(target * len(codes), 9)) - int(has.sum()))
    nl = len(lacking)
    A = np.zeros((nl + 1, nc + nl))
    for a, u in enumerate(lacking):
        A[a, nc + a] = 1.0
        A[a, [j for j in range(nc) if unit_of[j] == u]] = -1.0
    A[nl, nc:] = 1.0
    ref = _milp_binary(np.concatenate([np.ones(nc), np.zeros(nl)]), A,
                       np.concatenate([np.full(nl, -np.inf), [need]]), np.concatenate([np.zeros(nl), [np.inf]]),
                       nc + nl, np.zeros(nc + nl), np.ones(nc + nl))
    try:
        sol = _reach_unit_target(to_sparse(D), w, 450.0, fixed, cand_ok, units, before, ft, target, n_existing=n_ex)
    except InfeasibleError:
        return [] if ref is None else [f"InfeasibleError, the reference needs {ref} sites"]
    if ref is None:
        return ["an answer where the target cannot be reached"]
    chosen_units = {unit_of[j - n_ex] for j in sol.selected}
    bad = []
    if any(has[u] for u in chosen_units) or len(chosen_units) != len(sol.selected):
        bad.append("a new site in a unit that already has one, or two in one unit")
    if int(has.sum()) + len(chosen_units) < math.ceil(round(target * len(codes), 9)):
        bad.append("unit target not reached")
    return bad + judge("min", sol.objective, float(len(sol.selected)), sol.bound, sol.gap, sol.status, ref)


CASES = {
    ("lscp", "exact"): case_lscp, ("lscp", "greedy"): case_lscp,
    ("mclp", "exact"): case_mclp, ("mclp", "greedy"): case_mclp,
    ("reach_target", "exact"): case_reach, ("reach_target", "greedy"): case_reach,
    ("reach_target_units", "exact"): case_units,
    ("pmedian", "exact"): case_pmedian, ("pmedian", "greedy"): case_pmedian,
    ("pcenter", "exact"): case_pcenter,
    ("capacitated_mclp", "exact"): case_cap_mclp,
    ("capacitated_pmedian", "exact"): case_cap_pmedian, ("capacitated_pmedian", "greedy"): case_cap_pmedian,
    ("colocate", "exact"): case_colocate, ("colocate", "greedy"): case_colocate,
}


def run_case(model: str, solver: str, seed: int) -> list[str]:
    """Problems found for one seeded case (empty: geoplan agrees with the reference).

    ``LAST["status"]`` holds the status of the answer afterwards (None when the model raised as the
    reference said it should).
    """
    LAST["status"] = None
    return CASES[(model, solver)](seed, solver)
