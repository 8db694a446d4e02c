"""Location-allocation: exact = brute force, equal to spopt, honest gaps, clear errors.

Random instances here are property tests of invariants (exact optimum = enumeration;
heuristic ≤ optimum ≤ its bound), with fixed seeds so every run checks the same cases.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from geoplan import InfeasibleError, InputError
from geoplan import suggest as sg
from geoplan.suggest import _base, _coverage_models, _pmedian
from geoplan.suggest import _suggest as adapter


def instance(seed, n_cand=8, n_dem=25, horizon=0.45):
    rng = np.random.default_rng(seed)
    cx, dx = rng.random((n_cand, 2)), rng.random((n_dem, 2))
    dense = np.linalg.norm(cx[:, None] - dx[None], axis=2)
    stored = np.where(dense <= horizon, dense, 0.0)
    m = sparse.csr_array(stored)
    m.eliminate_zeros()
    return m, rng.integers(1, 10, n_dem).astype(float), dense


def covered(dense, w, sites, cutoff):
    return w[(dense[list(sites)] <= cutoff).any(axis=0)].sum() if sites else 0.0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_mclp_exact_equals_enumeration_and_greedy_is_honest(seed, p):
    m, w, dense = instance(seed)
    cutoff = 0.3
    fixed = np.zeros(m.shape[0], bool)
    fixed[0] = True
    best = max(covered(dense, w, (0, *c), cutoff) for c in itertools.combinations(range(1, m.shape[0]), p))
    ex = sg.mclp(m, w, p, cutoff=cutoff, fixed=fixed)
    assert ex.objective == pytest.approx(best) and ex.status == "Optimal"
    assert 0 not in ex.selected and len(ex.selected) == p
    gr = sg.mclp(m, w, p, cutoff=cutoff, fixed=fixed, solver="greedy")
    assert gr.objective <= best + 1e-9
    assert gr.bound is None or gr.bound >= best - 1e-6  # a proven upper bound really bounds the optimum
    if gr.gap is not None:
        assert gr.gap >= (best - gr.objective) / max(best, 1e-9) - 1e-9


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_pmedian_exact_equals_enumeration(seed, p):
    m, w, dense = instance(seed)
    stored = m.toarray()
    reach = (stored > 0).any(axis=0)
    penalty = 10 * m.data.max()
    d = np.where(stored > 0, stored, np.inf)

    def total(sites):
        best = d[list(sites)].min(axis=0)
        return float((w * np.where(reach, np.where(np.isfinite(best), best, penalty), 0.0)).sum())

    opt = min(total(c) for c in itertools.combinations(range(m.shape[0]), p))
    ex = sg.pmedian(m, w, p)
    assert ex.objective == pytest.approx(opt, rel=1e-9)
    gr = sg.pmedian(m, w, p, solver="greedy")
    assert gr.objective >= opt - 1e-9
    assert gr.bound is not None and gr.bound <= opt + 1e-6  # Lagrangian lower bound is valid


@pytest.mark.parametrize("seed", range(5))
def test_lscp_and_reach_target_exact(seed):
    m, w, dense = instance(seed, horizon=0.6)
    cutoff = 0.35
    coverable = (dense <= cutoff).any(axis=0)
    fewest = next(k for k in range(0, 9) for c in itertools.combinations(range(8), k)
                  if ((dense[list(c)] <= cutoff).any(axis=0) | ~coverable).all())
    ex = sg.lscp(m, cutoff=cutoff)
    assert ex.objective == fewest
    gr = sg.lscp(m, cutoff=cutoff, solver="greedy")
    assert gr.objective >= fewest and (gr.bound is None or gr.bound <= fewest)
    target = 0.8 * w[coverable].sum() / w.sum()  # 80 % of what any set of sites can reach
    need = target * w.sum()
    k_star = next(k for k in range(0, 9) for c in itertools.combinations(range(8), k) if covered(dense, w, c, cutoff) >= need - 1e-9)
    rt = sg.reach_target(m, w, target, cutoff=cutoff)
    assert rt.objective == k_star and rt.diagnostics["covered_share"] >= target - 1e-9


def _spopt_dense(seed, n_cand=10, n_dem=40):
    rng = np.random.default_rng(100 + seed)
    cx, dx = rng.random((n_cand, 2)) * 1000, rng.random((n_dem, 2)) * 1000
    dense = np.linalg.norm(cx[:, None] - dx[None], axis=2)
    return dense, rng.integers(1, 20, n_dem).astype(float)


@pytest.mark.parametrize("seed", range(3))
def test_objectives_equal_spopt(seed):
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    dense, w = _spopt_dense(seed)
    radius = float(np.max(dense.min(axis=0))) + 1.0  # every client coverable (spopt's LSCP needs it)
    solver = pulp.PULP_CBC_CMD(msg=False)
    full = sparse.csr_array(dense + 1e-12)  # all pairs stored; tiny offset keeps no zero out of the pattern
    ls = locate.LSCP.from_cost_matrix(dense.T, radius).solve(solver)
    assert sg.lscp(full, cutoff=radius).objective == pytest.approx(ls.problem.objective.value())
    mc = locate.MCLP.from_cost_matrix(dense.T, w, radius * 0.6, p_facilities=3).solve(solver)
    assert sg.mclp(full, w, 3, cutoff=radius * 0.6).objective == pytest.approx(mc.problem.objective.value())
    pm = locate.PMedian.from_cost_matrix(dense.T, w, p_facilities=3).solve(solver)
    assert sg.pmedian(full, w, 3).objective == pytest.approx(pm.problem.objective.value(), rel=1e-6)


def test_same_input_same_answer():
    m, w, _ = instance(3, n_cand=30, n_dem=200)
    a = sg.mclp(m, w, 4, cutoff=0.25, solver="greedy")
    b = sg.mclp(m, w, 4, cutoff=0.25, solver="greedy")
    assert a.selected.tolist() == b.selected.tolist() and a.objective == b.objective


def test_bad_input():
    m, w, _ = instance(0)
    with pytest.raises(InfeasibleError, match="only 8 candidate"):
        sg.mclp(m, w, 9, cutoff=0.3)
    with pytest.raises(InfeasibleError, match="zero"):
        sg.reach_target(m, np.zeros_like(w), 0.5, cutoff=0.3)
    with pytest.raises(InfeasibleError, match="cannot be reached"):
        sg.reach_target(m, w, 1.0, cutoff=0.01)
    with pytest.raises(InputError, match="weights"):
        sg.mclp(m, w[:-1], 2, cutoff=0.3)
    with pytest.raises(InputError, match="sparse"):
        sg.mclp(m.toarray(), w, 2)


def test_suggest_sites_on_demo(demo):
    r = sg.suggest_sites(demo.network, demo.facilities, demo.demand, facility_type="社工站", units=demo.units, model="mclp", p=2)
    assert r.sites["rank"].tolist() == [1, 2]
    cmp = r.comparison().set_index("indicator")
    assert cmp.loc["share_pop_covered", "after"] >= cmp.loc["share_pop_covered", "before"]
    # The first site's gain is exactly what the after-run covers beyond the before-run (people, same cutoff).
    assert r.solution.status == "Optimal"
    gained = cmp.loc["share_pop_covered", "after"] - cmp.loc["share_pop_covered", "before"]
    assert gained * demo.demand["pop"].sum() == pytest.approx(r.sites["gain"].sum(), rel=1e-6)


def test_suggest_cli_on_demo(tmp_path):
    from click.testing import CliRunner

    from geoplan.cli import main

    out = tmp_path / "选址"
    res = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "-p", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("report.md", "report.html", "report.xlsx", "layers.gpkg", "map.html"):
        assert (out / name).exists()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "选址建议" in md and "已证明最优" in md and "Optimal" not in md
    bad = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "-p", "100000", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "candidate" in bad.output and not (tmp_path / "x").exists()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [1, 2])
def test_pcenter_equals_enumeration(seed, p):
    m, w, dense = instance(seed, horizon=0.9)
    stored = np.where(m.toarray() > 0, m.toarray(), np.inf)
    reach = np.isfinite(stored).any(axis=0)
    worst = [stored[list(c)][:, reach].min(axis=0).max() for c in itertools.combinations(range(m.shape[0]), p)]
    worst = [v for v in worst if np.isfinite(v)]
    if not worst:
        with pytest.raises(InfeasibleError):
            sg.pcenter(m, p)
        return
    assert sg.pcenter(m, p).objective == pytest.approx(min(worst))


def test_capacitated_mclp_by_hand():
    """Two candidates cover the same 3 demand points (weights 5, 5, 5); capacity 8 each.

    With p = 1 at most 8 can be served; with p = 2, all 15.
    """
    cost = sparse.csr_array(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    w = np.array([5.0, 5.0, 5.0])
    one = sg.capacitated_mclp(cost, w, 1, [8, 8], cutoff=5)
    assert one.objective == pytest.approx(8) and one.diagnostics["capacity_short"] == pytest.approx(7)
    two = sg.capacitated_mclp(cost, w, 2, [8, 8], cutoff=5)
    assert two.objective == pytest.approx(15)
    assert sg.mclp(cost, w, 1, cutoff=5).objective == 15  # uncapacitated for contrast


def test_reach_unit_target_on_demo(demo):
    """Social-work stations: 1 of the 5 postal areas has one; a 100 % unit target needs exactly 4 new sites,
    one in each area lacking one."""
    r = sg.suggest_sites(demo.network, demo.facilities, demo.demand, facility_type="社工站", units=demo.units,
                         model="reach_target", indicator="units", target=1.0)
    before = r.before.units
    lacking = int((~before["has_facility"].astype(bool)).sum())
    assert len(r.sites) == lacking
    after = r.comparison().set_index("indicator")
    assert after.loc["share_units_with_facility", "after"] == 1.0
    assert bool(after.loc["share_units_with_facility", "passed_after"])


def _k4_edges():
    """4 candidates; one demand point on each of the 6 pairs, reached only by the pair's two candidates.

    By hand: 2 sites reach 5 of the 6 pairs (all but the pair they leave out), and covering all 6
    takes 3 sites (a vertex cover of K4).  The LP relaxation is fractional (x = ½ everywhere reaches
    all 6 with "2 sites"), so these answers need the branch-and-bound path, not the LP shortcut.
    """
    pairs = list(itertools.combinations(range(4), 2))
    dense = np.full((4, 6), 9.0)
    for i, (a, b) in enumerate(pairs):
        dense[a, i] = dense[b, i] = 1.0
    return sparse.csr_array(dense), np.ones(6)


def test_fractional_lp_goes_to_branch_and_bound():
    m, w = _k4_edges()
    ex = sg.mclp(m, w, 2, cutoff=2.0)
    assert ex.objective == 5 and ex.status == "Optimal" and "proof" not in ex.diagnostics
    gr = sg.mclp(m, w, 2, cutoff=2.0, solver="greedy")
    assert gr.objective == 5 and gr.bound == pytest.approx(6.0) and gr.gap == pytest.approx(1 / 6)
    assert sg.lscp(m, cutoff=2.0).objective == 3
    lg = sg.lscp(m, cutoff=2.0, solver="greedy")
    assert lg.objective >= 3 and lg.bound == 2  # ⌈LP = 2⌉: a true lower bound, not the optimum
    assert sg.pcenter(m, 3).objective == 1.0 and sg.pcenter(m, 2).objective == 9.0


def test_identical_demand_is_merged_without_changing_answers():
    m, w = _k4_edges()
    twice = sparse.csr_array(sparse.hstack([m, m]))
    r = sg.mclp(twice, np.concatenate([w, 2 * w]), 2, cutoff=2.0)
    assert r.objective == 15 and "4 candidates × 6 demand groups" in r.diagnostics["reduced_model"]


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_heuristic_ends_at_a_swap_local_optimum(seed):
    """No single swap (one new site out, one closed candidate in) improves the heuristic's answer:
    checked by pricing every swap directly, independently of the fast-interchange bookkeeping."""
    m, w, _dense = instance(seed, n_cand=10, n_dem=40)
    fixed = np.zeros(10, bool)
    fixed[3] = True
    gr = sg.pmedian(m, w, 3, fixed=fixed, solver="greedy")
    reach = np.diff(m.tocsc().indptr) > 0
    w_eff = np.where(reach, w, 0.0)
    pen = 10 * m.data.max()

    def total(sites):
        mask = fixed.copy()
        mask[list(sites)] = True
        return float((w_eff * _pmedian._pm_costs(m, mask, pen)).sum())

    sel = list(gr.selected)
    assert gr.objective == pytest.approx(total(sel))
    for out in sel:
        for into in set(range(10)) - set(sel) - {3}:
            assert total([into if s == out else s for s in sel]) >= gr.objective - 1e-9 * gr.objective


def test_capacitated_models_through_the_adapter_and_cli(demo, tmp_path):
    """Capacities reach the models from a number or a column; too little capacity is said, not hidden."""
    from click.testing import CliRunner

    from geoplan.cli import main

    total = float(demo.demand["pop"].sum())
    kw = dict(facility_type="社工站", units=demo.units, p=2)
    # MCLP with small stations: the shortfall is computed and reported (a covering model still answers).
    r = sg.suggest_sites(demo.network, demo.facilities, demo.demand, model="mclp", capacity=1000.0, **kw)
    served = r.solution.diagnostics["served_per_site"]
    assert r.solution.model == "capacitated_mclp" and served.max() <= 1000 + 1e-6
    assert r.solution.diagnostics["capacity_short"] == pytest.approx(total - 1000 * (1 + 2))  # 1 existing + 2 new
    # p-median: total capacity below total demand is infeasible, with the numbers in the message.
    with pytest.raises(InfeasibleError, match="short by"):
        sg.suggest_sites(demo.network, demo.facilities, demo.demand, model="pmedian", capacity=1000.0, **kw)
    big = sg.suggest_sites(demo.network, demo.facilities, demo.demand, model="pmedian", capacity=total, **kw)
    assert big.solution.model == "capacitated_pmedian" and len(big.sites) == 2
    # A column: every site needs a value.
    cand = sg.candidates_from_network(demo.network, spacing_m=400, area=demo.units).assign(beds=50.0)
    cand.loc[3, "beds"] = None
    with pytest.raises(InputError, match="capacity") as e:
        sg.suggest_sites(demo.network, demo.facilities.assign(beds=80), demo.demand, model="mclp", candidates=cand,
                         capacity="beds", **kw)
    assert e.value.field == "beds"
    with pytest.raises(InputError, match="mclp and pmedian"):
        sg.suggest_sites(demo.network, demo.facilities, demo.demand, model="lscp", capacity=10.0, **kw)
    out = tmp_path / "cap"
    res = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "-p", "2", "--capacity", "1000",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "无论如何选址" in (out / "report.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- issue 12: "Optimal" only when proven


def _milp_lscp(cost, cutoff, fixed):
    """Fewest new sites covering every coverable demand point (scipy milp, dense; independent of geoplan)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    C = cost.toarray() if cutoff is None else np.where(cost.toarray() <= cutoff + 1e-9, 1.0, 0.0)
    stored = np.zeros(cost.shape, bool)
    coo = cost.tocoo()
    stored[coo.row, coo.col] = True  # explicit zeros are real zero costs
    C = np.where(stored, C, 0.0) > 0
    need = C.any(axis=0) & ~C[fixed].any(axis=0)
    n = cost.shape[0]
    res = milp((~fixed).astype(float), constraints=LinearConstraint(C[:, need].T.astype(float), 1, np.inf),
               integrality=np.ones(n), bounds=Bounds(fixed.astype(float), np.ones(n)), options={"mip_rel_gap": 0})
    assert res.status == 0
    return res.fun


def test_lscp_on_demo_is_the_true_optimum(demo, monkeypatch):
    """Issue 12: the demo LSCP (elder-care stations, 40 m candidate grid) came back 14 sites, "Optimal", bound 12;
    the optimum is 13.  Compared with scipy milp on the very cost matrix suggest_sites built."""
    seen = {}
    real = sg.lscp

    def spy(cost, **kw):
        seen.update(cost=cost, **kw)
        return real(cost, **kw)

    monkeypatch.setattr(adapter, "lscp", spy)  # the name suggest_sites calls
    sol = sg.suggest_sites(demo.network, demo.facilities, demo.demand, facility_type="elder_care_station",
                           units=demo.units, model="lscp", spacing_m=40).solution
    best = _milp_lscp(seen["cost"], seen["cutoff"], np.asarray(seen["fixed"], bool))
    assert sol.status == "Optimal"
    assert sol.objective == best == len(sol.selected)
    assert sol.bound == best and sol.gap == 0


@pytest.mark.parametrize("seed", range(12))
def test_lscp_random_geometric_120x400_is_optimal(seed):
    """Issue 12: on random geometric 120 × 400 instances (SYNTHETIC) LSCP was suboptimal in 8 of 12, all "Optimal"."""
    rng = np.random.default_rng(seed)
    c, d = rng.random((120, 2)), rng.random((400, 2))
    dist = np.linalg.norm(c[:, None] - d[None], axis=2)
    cost = sparse.csr_array(np.where(dist <= 0.12, dist + 1e-9, 0.0))
    fixed = np.zeros(120, bool)
    best = _milp_lscp(cost, None, fixed)
    for solver in ("exact", "greedy"):
        sol = sg.lscp(cost, solver=solver)
        assert sol.objective >= best
        assert sol.bound is None or sol.bound <= best
        if sol.status == "Optimal":
            assert sol.objective == best
    assert sg.lscp(cost).objective == best


def test_highs_start_with_presolve_is_checked():
    """The root cause: HiGHS 1.16 given a start (setSolution) reported the start's objective without presolve's
    offset and stopped "Optimal" at the start itself.  _highs_solve checks every answer (objective = c·x of the
    point, feasibility) and solves again without the start when the check fails."""
    rng = np.random.default_rng(6)
    c, d = rng.random((120, 2)), rng.random((400, 2))
    dist = np.linalg.norm(c[:, None] - d[None], axis=2)
    cost = sparse.csr_array(np.where(dist <= 0.12, dist + 1e-9, 0.0))
    C = _base._cover(cost, None)
    fx = np.zeros(120, bool)
    R = _coverage_models._reduce_cover(C, np.ones(C.shape[1]), fx)
    R.w = R.n.astype(float)
    zero = np.zeros(len(R.free), bool)
    sel, _g, _m = _coverage_models._greedy_cover(R.C, R.w, zero, None, need=float(R.w.sum()), full=False)
    inc = _coverage_models._drop_redundant(R.C, R.w, sel, float(R.w.sum()))
    open_r = np.zeros(len(R.free), bool)
    open_r[inc] = True
    start = np.concatenate([open_r.astype(float), np.minimum(1.0, R.C.T @ open_r.astype(float))])
    x, obj, bound, status = _coverage_models._coverage_lp(R.C, R.w, zero, None, integer=True, time_limit=30, min_sites=True,
                                            start=start)
    best = _milp_lscp(cost, None, fx)
    assert len(inc) > best  # the greedy start is not optimal here, so a start taken on trust would show
    assert obj == x[:len(R.free)].sum()  # the objective is that of the point handed back
    assert status == "Optimal" and obj == best and bound <= best + 1e-6


def test_check_point_rejects_a_misreported_objective():
    A = sparse.csr_array(np.array([[1.0, 1.0]]))
    args = (np.array([1.0, 1.0]), A, np.array([1.0]), np.array([np.inf]), np.zeros(2), np.ones(2), np.array([True, True]))
    assert _base._check_point(np.array([1.0, 0.0]), *args, 1.0)
    assert not _base._check_point(np.array([1.0, 1.0]), *args, 1.0)  # HiGHS says 1, the point costs 2
    assert not _base._check_point(np.array([0.0, 0.0]), *args, 0.0)  # row violated
    assert not _base._check_point(np.array([0.5, 0.5]), *args, 1.0)  # not integral


def test_pcenter_without_weighted_demand_needs_no_site():
    cost = sparse.csr_array(np.array([[1.0, 2.0], [3.0, 0.0]]))
    sol = sg.pcenter(cost, 1, weights=np.zeros(2))
    assert sol.objective == 0 and sol.status == "Optimal" and len(sol.selected) == 0


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_exact_never_worse_than_heuristic(seed):
    m, w, _dense = instance(seed, n_cand=30, n_dem=120, horizon=0.35)
    gr = sg.pmedian(m, w, 5, solver="greedy")
    ex = sg.pmedian(m, w, 5, solver="exact")
    assert ex.objective <= gr.objective + 1e-9 * gr.objective
    assert ex.status == "Optimal" and ex.bound <= ex.objective + 1e-9
    assert gr.bound <= ex.objective * (1 + 1e-6)


def test_pmedian_time_limit_reaches_greedy_and_ranking():
    """A deadline already past: the greedy construction fills its p sites in one step, ranking in one step."""
    from geoplan.suggest import _pmedian_fast as fast

    m, w, _dense = instance(0, n_cand=40, n_dem=200, horizon=0.35)
    ip, ix, data = fast._csr(m)
    fx = np.zeros(40, bool)
    sel = fast._greedy(ip, ix, data, w, fx, 7, 10.0, 200, deadline=0.0)
    assert len(sel) == len(set(sel)) == 7
    order, gains = _pmedian._rank_pm(m, w, fx, sel, 10.0, deadline=0.0)
    assert sorted(order.tolist()) == sorted(sel) and len(gains) == 7
    assert list(gains) == sorted(gains, reverse=True)  # one step: by savings given no new site
    sol = sg.pmedian(m, w, 7, solver="greedy", time_limit=1e-6)
    assert len(sol.selected) == 7 and sol.status != "Optimal"
    assert sol.objective == pytest.approx(float((w * _pmedian._pm_costs(m, np.isin(np.arange(40), sol.selected), 10 * m.data.max())).sum()))


def test_highs_status_is_not_taken_on_trust(monkeypatch):
    """"Optimal" from HiGHS with its objective far from its bound is downgraded; a point whose objective HiGHS
    misreports even without a start is returned as unverified, with no bound."""
    A = sparse.csr_array(np.array([[1.0, 1.0]]))
    model = (np.array([1.0, 1.0]), A, np.array([1.0]), np.array([np.inf]), np.zeros(2), np.ones(2), np.array([True, True]))
    calls = []

    def fake(*args, start=None, **kw):
        calls.append(start)
        return answer

    monkeypatch.setattr(_base, "_highs_run", fake)
    answer = (np.array([1.0, 1.0]), 2.0, 1.0, "Optimal")  # objective 2, dual bound 1
    x, obj, bound, status = _base._highs_solve(*model, maximize=False, time_limit=None)
    assert obj == 2 and bound == 1 and status != "Optimal"
    answer = (np.array([1.0, 1.0]), 1.0, 1.0, "Optimal")  # misreported objective: the point costs 2
    x, obj, bound, status = _base._highs_solve(*model, maximize=False, time_limit=None, start=np.array([1.0, 1.0]))
    assert len(calls) == 3 and calls[-1] is None  # solved again without the start
    assert obj == 2 and bound is None and status.startswith("unverified")
    answer = (np.array([0.0, 0.0]), 0.0, 0.0, "Time limit reached")  # infeasible point: no answer at all
    assert _base._highs_solve(*model, maximize=False, time_limit=1)[0] is None


def test_status_text_says_whether_optimality_was_proven():
    assert sg.status_text("Optimal") == "已证明最优"
    for s in ("Time limit reached", "heuristic (LP bound: Optimal)", "feasible (optimality not proven)",
              "unverified (Optimal)", "Interrupted by user"):
        zh, en = sg.status_text(s), sg.status_text(s, "en")
        assert "未证明最优" in zh and not any(ch.isascii() and ch.isalpha() for ch in zh)
        assert "not proven" in en
