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

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geoplan._errors import InfeasibleError, InputError
from geoplan.coverage._coverage import assess
from geoplan.coverage._engine import od_matrix
from geoplan.coverage.standards import default_catalogue
from geoplan.network._snap import snap
from geoplan.suggest._base import _covered_weight, _rel_gap, _uncoverable
from geoplan.suggest._colocate_model import (
    _decode, _drop_redundant, _finite, _greedy, _met, _model, _plan_cost, _rank, _round_bound, _solve_model, _start,
    _tables, _types,
)
from geoplan.suggest._suggest import _vet_candidates, candidates_from_network

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
    occupied: np.typing.ArrayLike | None = None,
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
        """Summary indicators of every planned type before and after, side by side.

        Returns
        -------
        pandas.DataFrame
            ``type``, ``indicator``, ``unit_kind``, ``before``, ``after``, ``target``, ``passed_before``,
            ``passed_after``.
        """
        b = self.before.summary.set_index(["type", "indicator", "unit_kind"])
        a = self.after.summary.set_index(["type", "indicator", "unit_kind"])
        out = pd.DataFrame({"before": b["value"], "after": a["value"], "target": b["target"],
                            "passed_before": b["passed"], "passed_after": a["passed"]}).reset_index()
        return out[out["type"].isin(self.types)].reset_index(drop=True)

    def save(self, folder: str | os.PathLike, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm",
             data_note: str = "") -> dict[str, Path]:
        """Write report (Markdown/HTML/Excel), GeoPackage layers and a before/after map, all-or-nothing.

        Parameters
        ----------
        folder
            Output folder; an existing one is replaced only with ``overwrite=True``.
        lang, overwrite, basemap, data_note
            Language (``"zh"``/``"en"``), replace flag, web-map basemap, data-source note for the overview.

        Returns
        -------
        dict of str to pathlib.Path
            The paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``map``.
        """
        from geoplan.outputs._colocate_outputs import write_colocated  # presentation loads only when saving

        return write_colocated(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note)


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
    network: "geoplan.network.Network",
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    types: list[str],
    candidates: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    targets: float | Mapping[str, float] | None = None,
    catalogue: "geoplan.coverage.standards.Catalogue | None" = None,
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

    Returns
    -------
    ColocatedResult
        Sites and placements, the :class:`Colocation`, coverage before and after, candidates left out.

    Raises
    ------
    InputError
        Unknown types, a missing weight column, or a bad target.
    InfeasibleError
        No usable candidate or building, or a type's target that cannot be reached.
    """
    catalogue = catalogue or default_catalogue()
    keys = _resolve_types(types, catalogue)
    for k in keys:
        if catalogue[k].weight not in demand.columns:
            raise InputError(f"demand has no {catalogue[k].weight!r} column to weigh {k} by", field=catalogue[k].weight)
    tgt = _resolve_targets(targets, keys, catalogue)
    if candidates is None:
        candidates = candidates_from_network(network, spacing_m=spacing_m, area=units)
    cand, csnap, ok, infeasible = _vet_candidates(network, candidates, units)

    before = assess(network, facilities, demand, units=units, catalogue=catalogue, types=keys, **(checks or {}))
    ex = _existing_sites(before.facilities, units)
    n_ex = len(ex)
    if not ok.any() and not ex["eligible"].any():
        raise InfeasibleError(f"none of the {len(cand)} candidates is usable and no existing building is in the area: "
                              f"{infeasible['reason'].value_counts().to_dict()}")
    cand_ok = cand[ok].to_crs(4326)
    # Snapped once each: the buildings here (grouped by location), the candidates when vetted, the demand by
    # coverage.assess (its snap table, aligned to the demand).
    dsnap = before.snaps[network.mode]["demand"]
    far = dsnap["too_far"].to_numpy()
    cutoff_s = {k: catalogue[k].cutoff_min * 60.0 for k in keys}
    # Door-to-door costs (access + partial edges), as coverage.assess measures them.
    site_pts = pd.concat([t for t in (snap(network, ex) if n_ex else None, csnap[ok] if len(cand_ok) else None)
                          if t is not None], ignore_index=True)
    n_sites = len(site_pts)
    od = od_matrix(network, site_pts, dsnap, cutoff=max(cutoff_s.values()), towards=True).tocoo()
    # Demand too far from any road is counted but never covered, as coverage.assess counts it.
    keep = ~far[od.col]
    row, col, val = od.row[keep], od.col[keep], od.data[keep]
    occupied = np.zeros(n_sites, bool)
    occupied[:n_ex] = True
    costs, weights, fixed = {}, {}, {}
    for k in keys:
        fx = np.zeros(n_sites, bool)
        fx[:n_ex] = [k in e for e in ex["existing"]]
        # An existing building outside the area keeps covering for its own types but takes no new one.
        blocked = np.zeros(n_sites, bool)
        blocked[:n_ex] = ~ex["eligible"].to_numpy(bool)
        m = ~(blocked & ~fx)[row]
        costs[k] = sparse.csr_array((val[m], (row[m], col[m])), shape=(n_sites, len(demand)))
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

    sites, placements = _result_frames(sol, ex, cand_ok, catalogue)
    all_fac = _with_new_facilities(facilities, placements)
    after = assess(network, all_fac, demand, units=units, catalogue=catalogue, types=keys, **(checks or {}))
    return ColocatedResult(sites, placements, sol, before, after, infeasible, keys, tgt, float(site_cost), float(saving),
                           catalogue)


def _result_frames(sol: Colocation, ex, cand_ok, catalogue):
    """The plan's sites and new facilities as WGS-84 GeoDataFrames.

    Site rows are those of the cost matrices: the existing buildings ``ex`` first, then ``cand_ok``.
    """
    n_ex = len(ex)
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
    return sites, placements


def _with_new_facilities(facilities, placements):
    """The facilities with the new ones added (``suggested``), ids made unique, for the coverage run after."""
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
    return gpd.GeoDataFrame(pd.concat([facilities.to_crs(4326), new_fac], ignore_index=True), geometry="geometry", crs=4326)
