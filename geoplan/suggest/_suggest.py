"""Site suggestion for one facility type: the GeoDataFrame/network adapter used by the CLI and notebooks.

:func:`suggest_sites` vets the candidate sites (:func:`_vet_candidates`, shared with
:func:`geoplan.suggest.suggest_colocated`), assesses coverage before, builds the sparse
door-to-door cost matrix from the coverage run's own snapping (``CoverageResult.snaps``: the
demand and the existing facilities are snapped once), solves one model of the array core and
assesses coverage after.

The array core lives beside it: :mod:`._base` (``Solution``, HiGHS plumbing),
:mod:`._coverage_models` (``mclp``, ``lscp``, ``reach_target``, ``pcenter``), :mod:`._pmedian`
and :mod:`._capacitated`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geoplan.io import projected_crs_for
from geoplan.io._mainland import in_mainland
from geoplan.io._shifts import wgs84_to_gcj02
from geoplan._errors import InfeasibleError, InputError
from geoplan.coverage._coverage import assess
from geoplan.coverage._engine import od_matrix
from geoplan.coverage._register import with_weights
from geoplan.coverage._units import unit_level
from geoplan.coverage.standards import default_catalogue
from geoplan.network._snap import snap
from geoplan.suggest._base import Solution, _assign, _cover
from geoplan.suggest._capacitated import capacitated_mclp, capacitated_pmedian
from geoplan.suggest._coverage_models import _rank_by_marginal, lscp, mclp, reach_target
from geoplan.suggest._pmedian import pmedian


def candidates_from_network(net: "geoplan.network.Network", *, spacing_m: float = 200.0,
                            area: gpd.GeoDataFrame | gpd.GeoSeries | None = None) -> gpd.GeoDataFrame:
    """Candidate sites on network nodes thinned to about one per ``spacing_m`` grid cell (WGS-84 points).

    ``area`` (a polygon GeoDataFrame/GeoSeries) keeps only candidates inside it.

    Parameters
    ----------
    net
        The road network; its node coordinates are in its projected CRS (metres).
    spacing_m
        Grid cell size in metres; the first node of each occupied cell is kept.
    area
        Polygons (any CRS); when given, only candidates within their union are kept.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``id`` (``"node:<node id>"``) and ``source`` (``"network"``), index 0..n-1.
    """
    cell = np.floor(np.column_stack([net.x, net.y]) / spacing_m).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    first = np.sort(first)
    cand = gpd.GeoDataFrame({"id": [f"node:{net.node_ids[i]}" for i in first], "source": "network"},
                            geometry=gpd.points_from_xy(net.x[first], net.y[first]), crs=net.crs)
    if area is not None:
        poly = area.to_crs(net.crs).geometry.union_all()
        cand = cand[cand.within(poly)]
    return cand.to_crs(4326).reset_index(drop=True)


def candidates_from_units(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One candidate per admin unit at its representative point (e.g. where the unit's offices are unknown).

    Parameters
    ----------
    units
        Admin-unit polygons with a ``code`` column (and optionally ``name``), any CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per unit in EPSG:4326 with ``id`` (``"seat:<code>"``), ``name`` and ``source`` (``"unit"``).
    """
    proj = units.to_crs(projected_crs_for(units))  # the one CRS chooser (geoplan.io)
    pts = proj.geometry.representative_point().to_crs(4326)
    return gpd.GeoDataFrame({"id": "seat:" + units["code"].astype(str), "name": units.get("name"), "source": "unit"},
                            geometry=pts.to_numpy(), crs=4326).reset_index(drop=True)


def _vet_candidates(network, candidates, units) -> tuple[Any, pd.DataFrame | None, np.ndarray, pd.DataFrame]:
    """Snap the candidate sites and say which are usable (shared by both suggestion adapters).

    A candidate is left out when it is too far from the road network or (with ``units``)
    outside the admin units.  Returns ``(cand, snaps, ok, infeasible)``: the candidates (with an
    ``id``, made up where missing), their snap table (None when there are none), a boolean mask of
    the usable ones, and the rows left out with their ``reason``.
    """
    cand = candidates.copy()
    if "id" not in cand.columns:
        cand["id"] = [f"cand:{i}" for i in range(len(cand))]
    bad = pd.DataFrame({"id": cand["id"], "reason": None}, index=cand.index)
    csnap = None
    if len(cand):
        csnap = snap(network, cand)
        bad.loc[csnap["too_far"], "reason"] = "too far from the road network"
        if units is not None:
            inside = cand.to_crs(4326).within(units.to_crs(4326).geometry.union_all())
            bad.loc[~inside & bad["reason"].isna(), "reason"] = "outside the admin units"
    ok = bad["reason"].isna().to_numpy()
    return cand, csnap, ok, bad[~ok].reset_index(drop=True)


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
    unreachable
        Demand points no site (existing or candidate) can reach within the type's travel time,
        or too far from the road network: ``unit_code``, ``unit_name``, ``id``, ``name``,
        ``people`` (the weight), ``nearest_min`` (the quickest site, None beyond the search
        horizon) and ``reason`` (``"beyond every site"`` or ``"too far from the road network"``).
    """

    sites: Any
    solution: Solution
    before: Any
    after: Any
    infeasible_candidates: pd.DataFrame
    facility_type: str
    unreachable: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    def comparison(self) -> pd.DataFrame:
        """Summary indicators before and after, side by side.

        Returns
        -------
        pandas.DataFrame
            One row per indicator of this facility type: ``type``, ``indicator``, ``unit_kind``,
            ``before``, ``after``, ``target``, ``passed_before``, ``passed_after``.
        """
        b = self.before.summary.set_index(["type", "indicator", "unit_kind"])
        a = self.after.summary.set_index(["type", "indicator", "unit_kind"])
        out = pd.DataFrame({"before": b["value"], "after": a["value"], "target": b["target"],
                            "passed_before": b["passed"], "passed_after": a["passed"]}).reset_index()
        return out[out["type"] == self.facility_type].reset_index(drop=True)

    def save(self, folder: str | os.PathLike, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm",
             data_note: str = "") -> dict[str, Path]:
        """Write report (Markdown/HTML/Excel), GeoPackage layers and a before/after map, all-or-nothing.

        Delegates to :func:`geoplan.outputs.write_suggestion`.

        Parameters
        ----------
        folder
            Output folder, written atomically.
        lang
            ``"zh"`` (default) or ``"en"``.
        overwrite
            Replace an existing folder geoplan created.
        basemap
            Basemap of the web map (``"osm"`` by default).
        data_note
            Text about the data sources for the report's overview.

        Returns
        -------
        dict of str to pathlib.Path
            Paths written, by kind (report files, ``"gpkg"``, ``"map"``).

        Raises
        ------
        OutputExistsError
            ``folder`` exists and may not be replaced.
        """
        from geoplan.outputs._suggest_outputs import write_suggestion

        return write_suggestion(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note)


def suggest_sites(
    network: "geoplan.network.Network",
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    facility_type: str,
    candidates: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    model: str = "mclp",
    p: int | None = None,
    target: float | None = None,
    indicator: str = "people",
    catalogue: "geoplan.coverage.standards.Catalogue | None" = None,
    weight: str | None = None,
    solver: str = "exact",
    time_limit: float | None = 60.0,
    spacing_m: float = 200.0,
    capacity: str | float | None = None,
    checks: dict[str, Any] | None = None,
    villages: gpd.GeoDataFrame | None = None,
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
        Demand column to weigh by: any numeric column, e.g. ``低保户数`` (default the type's: pop, pop_60
        or pop_0_17).  Checked and parsed by :func:`geoplan.coverage.assess`.
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
    villages
        Optional village polygons (``code``, ``name``): the 村/社区 of each suggested site
        (:func:`site_addresses`).
    p
        Number of new sites (``mclp``, ``pmedian``).
    target
        Share (0–1) for ``reach_target``; default the type's target for ``indicator``.
    catalogue
        Facility-type catalogue (default :func:`geoplan.coverage.standards.default_catalogue`).
    time_limit
        Seconds for the solver.
    spacing_m
        Grid spacing in metres of the default network-node candidates.

    Returns
    -------
    SuggestResult
        The ranked new sites with their addresses (:func:`site_addresses`), the model's
        :class:`Solution`, coverage before and after, the candidates left out with their reason
        and the demand no site can reach.

    Raises
    ------
    InputError
        Unknown facility type, model or indicator; a missing weight column, ``p``, target, units
        or capacity value.
    InfeasibleError
        No usable candidate, zero total demand, or a target the candidates cannot reach.
    """
    catalogue = catalogue or default_catalogue()
    key = catalogue.resolve(facility_type)
    if key is None:
        raise InputError(f"unknown facility type {facility_type!r}; known: {', '.join(catalogue.keys)}", field="type")
    if weight is not None:
        # Any numeric demand column: assess checks and parses it like the people columns.
        catalogue = with_weights(catalogue, {key: weight}, source="weight=")
    ft = catalogue[key]
    wcol = ft.weight
    if wcol not in demand.columns:
        raise InputError(f"demand has no {wcol!r} column to weigh by; columns present: "
                         f"{', '.join(str(c) for c in demand.columns if c != 'geometry')}",
                         file=demand.attrs.get("source"), field=wcol)
    if model in ("mclp", "pmedian") and p is None:
        raise InputError(f"model {model!r} needs p, the number of new sites", field="p")
    if candidates is None:
        candidates = candidates_from_network(network, spacing_m=spacing_m, area=units)
    if len(candidates) == 0:
        raise InfeasibleError("no candidate sites")
    cand, csnap, ok, infeasible = _vet_candidates(network, candidates, units)
    if not ok.any():
        raise InfeasibleError(f"none of the {len(cand)} candidates is usable: {infeasible['reason'].value_counts().to_dict()}")

    before = assess(network, facilities, demand, units=units, catalogue=catalogue, types=[key], **(checks or {}))
    # The coverage run's snap tables (aligned to the inputs), not a second snapping of the same points.
    snaps = before.snaps[network.mode]
    fac = before.facilities
    is_existing = ((fac["type"] == key) & ~fac["too_far"]).to_numpy(bool)
    existing = fac[is_existing]
    dsnap = snaps["demand"]
    dem_nodes = dsnap  # snap tables: door-to-door costs (access + partial edges), as coverage.assess measures
    w = np.where(dsnap["too_far"], 0.0, np.nan_to_num(before.demand[wcol].to_numpy(float)))  # parsed by assess
    if w.sum() <= 0:
        raise InfeasibleError(f"total demand ({wcol}) is zero: nothing to plan for")
    ex_nodes = snaps["facilities"][is_existing]
    cand_ok = cand[ok]
    site_nodes = pd.concat([ex_nodes, csnap[ok]], ignore_index=True)
    fixed = np.concatenate([np.ones(len(ex_nodes), bool), np.zeros(int(ok.sum()), bool)])
    cutoff_s = ft.cutoff_min * 60.0
    horizon = cutoff_s if model != "pmedian" else cutoff_s * 4  # p-median looks further than the catchment
    cost = od_matrix(network, site_nodes, dem_nodes, cutoff=horizon, towards=True)
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
    chosen, all_fac = _with_new_sites(facilities, cand_ok, sol, key, n_existing=len(ex_nodes))
    after = assess(network, all_fac, demand, units=units, catalogue=catalogue, types=[key], **(checks or {}))
    chosen = site_addresses(network, chosen.reset_index(drop=True), units=units, villages=villages)
    lost = _unreachable(cost, cutoff_s, before, dsnap, wcol, units)
    return SuggestResult(chosen, sol, before, after, infeasible, key, lost)


def _unreachable(cost, cutoff_s: float, before, dsnap, wcol: str, units) -> pd.DataFrame:
    """Demand points with people that no site reaches in time, or that lie too far from the road network."""
    dem = before.demand
    csc = sparse.csc_array(cost)
    n = csc.shape[1]
    best = np.full(n, np.inf)
    counts = np.diff(csc.indptr)
    has = counts > 0
    if has.any():
        best[has] = np.minimum.reduceat(csc.data, csc.indptr[:-1][has])
    far = dsnap["too_far"].to_numpy(bool)
    people = np.nan_to_num(pd.to_numeric(dem[wcol], errors="coerce").to_numpy(float))
    lost = ((best > cutoff_s) | far) & (people > 0)
    idx = np.flatnonzero(lost)
    names = {}
    if units is not None and "name" in units:
        names = dict(zip(units["code"].astype(str), units["name"]))
    code = dem["unit_code"] if "unit_code" in dem else pd.Series(None, index=dem.index)
    out = pd.DataFrame({
        "unit_code": [None if pd.isna(c) else str(c) for c in code.iloc[idx]],
        "id": dem["id"].iloc[idx].to_numpy() if "id" in dem else dem.index[idx],
        "name": dem["name"].iloc[idx].to_numpy() if "name" in dem else None,
        "people": people[idx],
        "nearest_min": np.where(np.isfinite(best[idx]) & ~far[idx], best[idx] / 60.0, np.nan),
        "reason": np.where(far[idx], "too far from the road network", "beyond every site"),
    })
    out.insert(1, "unit_name", [names.get(c) for c in out["unit_code"]])
    return out.sort_values(["unit_code", "people"], ascending=[True, False], na_position="last").reset_index(drop=True)


def site_addresses(network, sites: gpd.GeoDataFrame, *, units: gpd.GeoDataFrame | None = None,
                   villages: gpd.GeoDataFrame | None = None, max_road_m: float = 500.0) -> gpd.GeoDataFrame:
    """Where each site is, as a planner writes it down: coordinates, the road beside it, its 乡镇/村.

    Parameters
    ----------
    network
        The :class:`~geoplan.network.Network`; its :attr:`~geoplan.network.Network.way_names` give
        the nearest named road (OSM ``name``).
    sites
        Points (any CRS).
    units
        Admin units (``code``, ``name``): the township-level unit (街道/乡镇) a site falls in; a unit
        with a 12-digit village code (:func:`geoplan.coverage._units.unit_level`) is taken as its 村/社区.
    villages
        Optional village polygons (``code``, ``name``): the 村/社区 a site falls in.
    max_road_m
        A road further than this is not named.

    Returns
    -------
    geopandas.GeoDataFrame
        ``sites`` with ``lon``, ``lat`` (WGS-84, 6 decimals), ``lon_gcj02``, ``lat_gcj02`` (GCJ-02,
        6 decimals; empty outside mainland China, where GCJ-02 does not apply), ``road`` and
        ``road_m`` (nearest named road and its distance in metres; empty when none within
        ``max_road_m``), ``township_code``, ``township_name``, ``village_code``, ``village_name``.
    """
    out = sites.copy()
    pts = sites.to_crs(4326)
    lon, lat = pts.geometry.x.to_numpy(float), pts.geometry.y.to_numpy(float)
    out["lon"], out["lat"] = np.round(lon, 6), np.round(lat, 6)
    glon, glat = wgs84_to_gcj02(lon, lat)
    inside = np.asarray(in_mainland(lon, lat), bool)
    out["lon_gcj02"] = np.where(inside, np.round(glon, 6), np.nan)
    out["lat_gcj02"] = np.where(inside, np.round(glat, 6), np.nan)
    out["road"], out["road_m"] = _nearest_road(network, sites, max_road_m)
    for level in ("township", "village"):
        out[f"{level}_code"], out[f"{level}_name"] = None, None
    for layer in (units, villages):
        if layer is None or not len(layer) or "code" not in layer:
            continue
        poly = layer[layer.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        if poly.empty:
            continue
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=pts.geometry.to_numpy(), crs=4326),
                        poly[["code", "geometry"]].assign(uname=poly.get("name")).to_crs(4326),
                        how="inner", predicate="within")
        for i, code, name in zip(hit.index, hit["code"].astype(str), hit["uname"]):
            level = "village" if (layer is villages or unit_level(code) == "village") else "township"
            if out.at[out.index[i], f"{level}_code"] is None:
                out.at[out.index[i], f"{level}_code"] = code
                out.at[out.index[i], f"{level}_name"] = None if pd.isna(name) else str(name)
    return out


def _nearest_road(network, sites, max_road_m: float) -> tuple[list, np.ndarray]:
    """Name of and distance (m) to the nearest named way of the network for each site."""
    ways = getattr(network, "way_names", None)
    if ways is None or not len(ways) or not len(sites):
        return [None] * len(sites), np.full(len(sites), np.nan)
    import shapely

    tree = shapely.STRtree(ways["geometry"].to_numpy())
    geoms = sites.to_crs(network.crs).geometry.to_numpy()
    (pos, way), dist = tree.query_nearest(geoms, max_distance=max_road_m, return_distance=True, all_matches=False)
    names, metres = [None] * len(sites), np.full(len(sites), np.nan)
    for p, w, d in zip(pos, way, dist):
        if names[p] is None:
            names[p], metres[p] = ways["name"].iloc[w], round(float(d), 1)
    return names, metres


def _with_new_sites(facilities, cand_ok, sol: Solution, key: str, *, n_existing: int):
    """The chosen candidates, ranked (``rank``, ``gain``), and the facilities with them added (``suggested``)."""
    new_pos = sol.selected - n_existing
    chosen = cand_ok.iloc[new_pos].to_crs(4326).copy()
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    chosen.insert(1, "gain", sol.gains)
    chosen["type"] = key
    chosen["id"] = chosen["id"].astype(str)
    new_fac = gpd.GeoDataFrame(chosen[["id", "type", "geometry"]], geometry="geometry", crs=4326)
    if "status" in facilities.columns:
        new_fac["status"] = "built"  # the after-run assumes the new sites built
    all_fac = pd.concat([facilities.to_crs(4326), new_fac.assign(suggested=True)], ignore_index=True)
    return chosen, gpd.GeoDataFrame(all_fac, geometry="geometry", crs=4326)


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


def _reach_unit_target(cost, w, cutoff_s, fixed, cand_ok, units, before, ft, target, *, n_existing: int) -> Solution:
    """Fewest new sites so the share of admin units with a facility reaches the target.

    Each new site can give at most one more unit a facility, so the fewest is
    ``ceil(target × units) − units that have one``; exact by construction.  In each unit still
    lacking one, the candidate covering the most uncovered demand is chosen, and units are
    taken in order of that gain.  Units without any usable candidate are listed.
    """
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
