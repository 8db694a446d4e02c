"""Several facility types at once with a co-location saving: by hand, by enumeration, invariants, errors, demo.

Random instances use fixed seeds so every run checks the same cases.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from geoplan import InfeasibleError, InputError
from geoplan import suggest as sg
from geoplan.suggest import colocate


def _plan_cost(plan, occupied, site_cost, type_cost, saving):
    """Cost of a plan {site: [new types]} straight from the definition (not the linearisation)."""
    total = 0.0
    for j, ts in plan.items():
        if not ts:
            continue
        k = len(ts)
        extra = sum(type_cost.get(t, 0.0) for t in ts)
        if occupied[j]:
            total += k * (site_cost - saving) + extra  # every new type moves into an existing building
        else:
            total += k * site_cost + extra - (k - 1) * saving  # the first type pays the whole building
    return total


# --------------------------------------------------------------------------- by hand


def _hand():
    """Types a (demand a1, a2) and b (demand b1, b2); 4 sites, site 3 already houses a facility.

    site 0 (new)      covers a1, a2
    site 1 (new)      covers           b1, b2
    site 2 (new)      covers a1        b1, b2
    site 3 (occupied) covers     a2

    a needs {0} or {2, 3}; b needs {1} or {2}.  With site_cost 1, type_cost 0, saving s:
      a{0} b{1}: two new buildings, one type each          = 2
      a{0} b{2}: the same                                  = 2
      a{2,3} b{1}: sites 1, 2 new + a moves into site 3    = 1 + 1 + (1 − s) = 3 − s
      a{2,3} b{2}: site 2 with a and b + a into site 3     = (1 + (1 − s)) + (1 − s) = 3 − 2s
    so co-location (the last plan) wins only when s > ½: s = 0 → 2, s = 0.75 → 1.5.
    """
    a = np.array([[1, 1], [9, 9], [1, 9], [9, 1]], float)
    b = np.array([[9, 9], [1, 1], [1, 1], [9, 9]], float)
    return ({"a": sparse.csr_array(a), "b": sparse.csr_array(b)}, {"a": np.ones(2), "b": np.ones(2)},
            {"a": 2.0, "b": 2.0}, np.array([False, False, False, True]))


@pytest.mark.parametrize("solver", ["exact", "greedy"])
def test_colocation_wins_only_with_a_saving(solver):
    costs, w, cut, occ = _hand()
    none = colocate(costs, w, cutoffs=cut, occupied=occ, saving=0.0, solver=solver)
    assert none.cost == pytest.approx(2.0) and none.cost_without_saving == pytest.approx(2.0)
    assert not none.placements["colocated"].any()
    big = colocate(costs, w, cutoffs=cut, occupied=occ, saving=0.75, solver=solver)
    if solver == "exact":
        assert big.status == "Optimal" and big.gap == pytest.approx(0.0, abs=1e-6)
    assert big.cost == pytest.approx(1.5) and big.cost_without_saving == pytest.approx(3.0)
    sites = {int(r.site): sorted(r.types) for r in big.sites.itertuples()}
    assert sites == {2: ["a", "b"], 3: ["a"]}
    p = big.placements.set_index(["site", "type"])
    assert bool(p.loc[(3, "a"), "colocated"]) and not bool(p.loc[(3, "a"), "new_site"])
    assert p["colocated"].sum() == 2  # b or a at site 2 (whichever ranks second) and a at site 3
    assert big.covered_share["after"].tolist() == [1.0, 1.0]
    assert big.bound is None or big.bound <= 1.5 + 1e-6


# --------------------------------------------------------------------------- enumeration


def _instance(seed, n_sites=5, n_dem=8, types=("a", "b")):
    rng = np.random.default_rng(seed)
    sites = rng.random((n_sites, 2))
    costs, weights, dense = {}, {}, {}
    for t in types:
        dem = rng.random((n_dem, 2))
        d = np.linalg.norm(sites[:, None] - dem[None], axis=2)
        m = sparse.csr_array(np.where(d <= 0.6, d, 0.0))
        m.eliminate_zeros()
        costs[t], weights[t], dense[t] = m, rng.integers(1, 10, n_dem).astype(float), np.where(d <= 0.6, d, np.inf)
    return rng, costs, weights, dense


def _brute(dense, weights, cutoffs, targets, fixed, occupied, site_cost, type_cost, saving):
    types = list(dense)
    n = len(occupied)
    occ = occupied | np.logical_or.reduce([fixed[t] for t in types])
    moves = [(j, t) for t in types for j in range(n) if not fixed[t][j]]
    best = None
    for r in range(len(moves) + 1):
        for sub in itertools.combinations(moves, r):
            ok = True
            for t in types:
                open_ = fixed[t].copy()
                for j, tt in sub:
                    if tt == t:
                        open_[j] = True
                cov = weights[t][(dense[t][open_] <= cutoffs[t]).any(axis=0)].sum() if open_.any() else 0.0
                if cov < targets[t] * weights[t].sum() - 1e-9:
                    ok = False
                    break
            if ok:
                plan = {}
                for j, t in sub:
                    plan.setdefault(j, []).append(t)
                c = _plan_cost(plan, occ, site_cost, type_cost, saving)
                best = c if best is None else min(best, c)
    return best


@pytest.mark.parametrize("seed", range(10))
def test_exact_equals_enumeration_and_greedy_is_honest(seed):
    rng, costs, w, dense = _instance(seed)
    cut = {"a": 0.35, "b": 0.45}
    every = {t: w[t][(dense[t] <= cut[t]).any(axis=0)].sum() / w[t].sum() for t in costs}
    targets = {t: round(float(rng.uniform(0.5, 1.0)) * every[t], 6) for t in costs}
    fixed = {t: rng.random(5) < 0.15 for t in costs}
    occupied = rng.random(5) < 0.25
    site_cost = 1.0
    saving = float([0.0, 0.3, 0.7, 1.0][seed % 4])
    type_cost = {"a": 0.2, "b": 0.0} if seed % 2 else {}
    opt = _brute(dense, w, cut, targets, fixed, occupied, site_cost, type_cost, saving)
    kw = dict(cutoffs=cut, targets=targets, fixed=fixed, occupied=occupied, site_cost=site_cost,
              type_cost=type_cost or 0.0, saving=saving)
    ex = colocate(costs, w, **kw)
    assert ex.status == "Optimal" and ex.cost == pytest.approx(opt, abs=1e-9)
    occ = occupied | fixed["a"] | fixed["b"]
    for res in (ex, colocate(costs, w, solver="greedy", **kw)):
        plan = {int(r.site): list(r.types) for r in res.sites.itertuples()}
        assert res.cost == pytest.approx(_plan_cost(plan, occ, site_cost, type_cost, saving))  # reported = defined cost
        for t in costs:  # the plan really meets every target, and never duplicates an existing facility
            new = res.placements[(res.placements["type"] == t) & res.placements["new"]]["site"].to_numpy()
            assert not fixed[t][new].any()
            open_ = fixed[t].copy()
            open_[new] = True
            share = w[t][(dense[t][open_] <= cut[t]).any(axis=0)].sum() / w[t].sum()
            assert share >= targets[t] - 1e-9
            assert res.covered_share.set_index("type").loc[t, "after"] == pytest.approx(share)
    gr = colocate(costs, w, solver="greedy", **kw)
    assert gr.cost >= opt - 1e-9
    assert gr.bound is None or gr.bound <= opt + 1e-6  # a reported bound really bounds the optimum
    if gr.gap is not None:
        assert gr.gap >= (gr.cost - opt) / max(gr.cost, 1e-9) - 1e-6
    else:
        assert gr.bound is None


@pytest.mark.parametrize("seed", range(6))
def test_no_saving_separates_full_saving_counts_buildings(seed):
    """saving = 0: every facility costs site_cost wherever it is, so the cost is the sum of the single-type
    optima (fewest sites reaching each type's target, :func:`geoplan.suggest.reach_target`).
    saving = site_cost: only buildings cost, so the cost lies between the largest single-type optimum and the sum."""
    _rng, costs, w, dense = _instance(100 + seed, n_sites=8, n_dem=20)
    cut = {"a": 0.3, "b": 0.3}
    targets = {t: 0.7 * w[t][(dense[t] <= cut[t]).any(axis=0)].sum() / w[t].sum() for t in costs}
    single = [sg.reach_target(costs[t], w[t], targets[t], cutoff=cut[t]).objective for t in costs]
    r0 = colocate(costs, w, cutoffs=cut, targets=targets, saving=0.0)
    assert r0.cost == pytest.approx(sum(single))
    r1 = colocate(costs, w, cutoffs=cut, targets=targets, saving=1.0)
    assert max(single) - 1e-9 <= r1.cost <= sum(single) + 1e-9
    assert r1.cost == pytest.approx(len(r1.sites))  # one unit per building, nothing for the types in it
    half = colocate(costs, w, cutoffs=cut, targets=targets, saving=0.5)
    assert r1.cost - 1e-9 <= half.cost <= r0.cost + 1e-9  # more saving never costs more


def test_same_input_same_answer():
    _rng, costs, w, _ = _instance(7, n_sites=30, n_dem=80)
    cut = {"a": 0.25, "b": 0.25}
    kw = dict(cutoffs=cut, targets={"a": 0.6, "b": 0.6}, saving=0.5)
    for solver in ("exact", "greedy"):
        a, b = colocate(costs, w, solver=solver, **kw), colocate(costs, w, solver=solver, **kw)
        assert a.placements.equals(b.placements) and a.cost == b.cost


def test_existing_facilities_met_targets_need_nothing():
    costs, w, cut, occ = _hand()
    fixed = {"a": np.array([True, False, False, False]), "b": np.array([False, True, False, False])}
    r = colocate(costs, w, cutoffs=cut, fixed=fixed, saving=0.5)
    assert r.cost == 0 and len(r.placements) == 0 and r.status == "Optimal"
    assert r.covered_share["before"].tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- errors


def test_bad_input():
    costs, w, cut, occ = _hand()
    with pytest.raises(InputError, match="saving"):
        colocate(costs, w, cutoffs=cut, site_cost=1.0, saving=1.5)
    with pytest.raises(InputError, match="saving"):
        colocate(costs, w, cutoffs=cut, saving=-0.1)
    with pytest.raises(InputError, match="lacks"):
        colocate(costs, {"a": w["a"]}, cutoffs=cut)
    with pytest.raises(InputError, match="unknown type"):
        colocate(costs, w, cutoffs={**cut, "c": 1.0})
    with pytest.raises(InputError, match="unknown type"):
        colocate(costs, w, cutoffs=cut, targets={"x": 0.5})
    with pytest.raises(InputError, match="between 0 and 1"):
        colocate(costs, w, cutoffs=cut, targets={"a": 1.2})
    with pytest.raises(InputError, match="same candidate rows"):
        colocate({"a": costs["a"], "b": costs["b"][:3]}, w, cutoffs=cut)
    with pytest.raises(InputError, match="weights"):
        colocate(costs, {"a": np.ones(3), "b": w["b"]}, cutoffs=cut)
    with pytest.raises(InputError, match="occupied"):
        colocate(costs, w, cutoffs=cut, occupied=np.ones(2, bool))
    with pytest.raises(InputError, match="type_cost"):
        colocate(costs, w, cutoffs=cut, type_cost={"a": -1.0})
    with pytest.raises(InputError, match="solver"):
        colocate(costs, w, cutoffs=cut, solver="magic")
    with pytest.raises(InputError, match="sparse"):
        colocate({"a": costs["a"].toarray(), "b": costs["b"]}, w, cutoffs=cut)


def test_infeasible_target_names_the_type_and_best_share():
    costs, w, cut, occ = _hand()
    with pytest.raises(InfeasibleError, match=r"b: target 100\.0% cannot be reached.*covers 0\.0%"):
        colocate(costs, w, cutoffs={"a": 2.0, "b": 0.5})
    with pytest.raises(InfeasibleError, match="zero"):
        colocate(costs, {"a": w["a"], "b": np.zeros(2)}, cutoffs=cut)


# --------------------------------------------------------------------------- demo adapter, outputs, CLI


@pytest.fixture(scope="module")
def demo_plan(demo):
    from geoplan.suggest import suggest_colocated

    return suggest_colocated(demo.network, demo.facilities, demo.demand, types=["社工站", "未成年人保护工作站"],
                             units=demo.units, targets={"社工站": 0.9, "minor_protection": 0.975}, saving=0.5)


def test_suggest_colocated_on_demo(demo, demo_plan):
    from geoplan.suggest import candidates_from_network

    r = demo_plan
    assert r.types == ["social_work", "minor_protection"] and r.solution.status == "Optimal"
    assert r.sites.crs.to_epsg() == 4326 and r.sites["rank"].tolist() == list(range(1, len(r.sites) + 1))
    assert len(r.placements) >= 1 and set(r.placements["type"]) <= set(r.types)
    # Every site is a usable candidate (network node inside the units) or the building of an existing facility.
    cand = candidates_from_network(demo.network, spacing_m=200.0, area=demo.units)
    valid = set(cand["id"]) | {i for ids in r.before.facilities["id"] for i in [str(ids)]}
    for sid in r.sites["id"]:
        assert sid in valid or all(part in valid for part in sid.split(";"))
    assert r.sites.within(demo.units.to_crs(4326).geometry.union_all().buffer(1e-9)).all()
    # A site that moves into an existing building is charged with the saving, a new building is not (first type).
    for row in r.sites.itertuples():
        assert (row.existing_types != "") == (not row.new_site)
    # Targets met after, recomputed by coverage.assess (same denominators as the model).
    cmp = r.comparison().set_index(["type", "indicator"])
    for key, col in (("social_work", "pop"), ("minor_protection", "pop_0_17")):
        after = cmp.loc[(key, f"share_{col}_covered"), "after"]
        assert after >= r.targets[key] - 1e-9
        assert after == pytest.approx(r.solution.covered_share.set_index("type").loc[key, "after"], abs=1e-9)
        assert after >= cmp.loc[(key, f"share_{col}_covered"), "before"]
    assert r.solution.cost <= r.solution.cost_without_saving
    assert r.solution.cost == pytest.approx(r.sites["cost"].sum())


def test_suggest_colocated_save(demo_plan, tmp_path):
    from geoplan import OutputExistsError

    out = tmp_path / "合址"
    paths = demo_plan.save(out)
    for name in ("report.md", "report.html", "report.xlsx", "layers.gpkg", "map.html"):
        assert (out / name).exists()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "多类设施合址选址建议" in md and "未成年人保护工作站" in md and "合址" in md
    assert "最优" in md and "Optimal" not in md  # the solver status in Chinese, saying whether it was proven
    with pytest.raises(OutputExistsError):
        demo_plan.save(out)
    en = demo_plan.save(tmp_path / "en", lang="en")
    assert "Site suggestion for several facility types" in en["md"].read_text(encoding="utf-8")
    import geopandas as gpd

    sites = gpd.read_file(paths["gpkg"], layer="suggested_sites")
    assert len(sites) == len(demo_plan.sites) and "types" in sites.columns


def test_suggest_colocated_bad_input(demo):
    from geoplan.suggest import suggest_colocated

    with pytest.raises(InputError, match="unknown facility type"):
        suggest_colocated(demo.network, demo.facilities, demo.demand, types=["社工站", "火星站"])
    with pytest.raises(InputError, match="between 0 and 1"):
        suggest_colocated(demo.network, demo.facilities, demo.demand, types=["社工站", "未保站"], targets=1.5)
    with pytest.raises(InputError, match="not among the types"):
        suggest_colocated(demo.network, demo.facilities, demo.demand, types=["社工站", "未保站"], targets={"敬老院": 0.5})
    # Some people are beyond every candidate within a 2-minute walk.  (With the 15-minute default nobody is since
    # snapping no longer puts buildings on tunnel nodes: every demo building is within 15 minutes of a candidate.)
    from geoplan.coverage.standards import load_catalogue

    short = load_catalogue(overrides={"types": {"social_work": {"cutoff_min": 2}}})
    with pytest.raises(InfeasibleError, match="cannot be reached"):
        suggest_colocated(demo.network, demo.facilities, demo.demand, types=["社工站", "未保站"], units=demo.units, targets=1.0,
                          catalogue=short)


def test_cli_several_types(tmp_path):
    from click.testing import CliRunner

    from geoplan.cli import main

    out = tmp_path / "合址"
    args = ["-q", "suggest", "--demo", "--type", "社工站", "--type", "未成年人保护工作站", "--target", "0.9",
            "--saving", "0.5", "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    for name in ("report.md", "report.html", "report.xlsx", "layers.gpkg", "map.html"):
        assert (out / name).exists()
    assert "多类设施合址选址建议" in (out / "report.md").read_text(encoding="utf-8")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists" in again.output
    bad = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "--type", "未保站", "-p", "2",
                                    "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "-p" in bad.output and not (tmp_path / "x").exists()
    worse = CliRunner().invoke(main, ["-q", "suggest", "--demo", "--type", "社工站", "--type", "未保站", "--saving", "2",
                                      "-o", str(tmp_path / "y")])
    assert worse.exit_code == 2 and "saving" in worse.output and not (tmp_path / "y").exists()
