"""Indicators of a coverage run: per-unit tables, the summary against targets, ranked gaps."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.coverage.standards import Catalogue, unit_kind


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return math.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1])])


def _indicators(dem, fac, units, catalogue: Catalogue, type_list: list[str]):
    """Per-unit tables, the summary against targets, and ranked gaps."""
    rows = []
    summary = []
    gaps = []
    if units is not None:
        unit_index = units[["code", "name"]].copy()
        unit_index["kind"] = units["kind"] if "kind" in units else units["code"].map(unit_kind)
    else:
        unit_index = pd.DataFrame({"code": ["ALL"], "name": ["全部 / all"], "kind": [None]})
        dem = dem.assign(unit_code="ALL")
        fac = fac.assign(unit_code="ALL")
    for t in type_list:
        ft = catalogue[t]
        cov = dem[f"{t}_covered"].to_numpy()
        mins = dem[f"{t}_min"].to_numpy()
        wcol = ft.weight
        for _, u in unit_index.iterrows():
            in_u = (dem["unit_code"] == u["code"]).to_numpy()
            nf = int(((fac["unit_code"] == u["code"]) & (fac["type"] == t)).sum())
            rec = {
                "unit_code": u["code"],
                "unit_name": u["name"],
                "unit_kind": u["kind"],
                "type": t,
                "mode": ft.mode,
                "n_facilities": nf,
                "has_facility": nf > 0,
            }
            if "capacity" in fac.columns:
                cap = float(np.nansum(fac.loc[(fac["unit_code"] == u["code"]) & (fac["type"] == t), "capacity"]))
                pw = float(np.nansum(dem[wcol].to_numpy()[in_u]))
                rec["capacity"] = cap
                rec[f"capacity_per_1000_{wcol}"] = 1000.0 * cap / pw if pw > 0 else math.nan
            for col in ("pop", "pop_60", "pop_0_17"):
                w = dem[col].to_numpy()[in_u]
                tot = float(np.nansum(w))
                c = float(np.nansum(w[cov[in_u]]))
                rec[col] = tot
                rec[f"{col}_covered"] = c
                rec[f"share_{col}_covered"] = c / tot if tot > 0 else math.nan
            wts = np.nan_to_num(dem[wcol].to_numpy()[in_u])
            if not (wts > 0).any():
                wts = np.nan_to_num(dem["pop"].to_numpy()[in_u])
            rec["median_min"] = _weighted_quantile(mins[in_u], wts, 0.5)
            rec["p90_min"] = _weighted_quantile(mins[in_u], wts, 0.9)
            rows.append(rec)
            uncovered = float(np.nansum(dem[wcol].to_numpy()[in_u][~cov[in_u]]))
            if uncovered > 0:
                gaps.append({"unit_code": u["code"], "unit_name": u["name"], "type": t, "mode": ft.mode, "weight": wcol, "people_uncovered": uncovered,
                             "demand_points_uncovered": int((~cov[in_u]).sum())})
        table = pd.DataFrame([r for r in rows if r["type"] == t])
        # Units with a facility, per unit kind that has a target.
        kinds = table["unit_kind"].astype(object).where(table["unit_kind"].notna(), "any")
        for kind in sorted(set(kinds)):
            target = ft.unit_target(None if kind == "any" else kind)
            sub = table[kinds == kind]
            n, have = len(sub), int(sub["has_facility"].sum())
            value = have / n if n else math.nan
            need = max(0, math.ceil(round(target * n, 9)) - have) if target is not None else None
            summary.append({
                "type": t, "mode": ft.mode, "indicator": "share_units_with_facility", "unit_kind": kind, "value": value,
                "numerator": have, "denominator": n, "target": target,
                "passed": None if target is None else bool(value >= target - 1e-12),
                "shortfall": need, "shortfall_unit": "units",
            })
        tot = float(np.nansum(dem[wcol]))
        c = float(np.nansum(dem[wcol].to_numpy()[cov]))
        value = c / tot if tot > 0 else math.nan
        pt = ft.people_target
        summary.append({
            "type": t, "mode": ft.mode, "indicator": f"share_{wcol}_covered", "unit_kind": "all", "value": value,
            "numerator": c, "denominator": tot, "target": pt,
            "passed": None if pt is None or math.isnan(value) else bool(value >= pt - 1e-12),
            # Nobody of the group counted (no people, or no column): nothing computed, never "0 missing".
            "shortfall": None if pt is None or math.isnan(value) else max(0.0, math.ceil(pt * tot - c - 1e-9)),
            "shortfall_unit": wcol,
        })
        wts = np.nan_to_num(dem[wcol].to_numpy())
        summary.append({
            "type": t, "mode": ft.mode, "indicator": "median_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.5),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
        summary.append({
            "type": t, "mode": ft.mode, "indicator": "p90_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.9),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
    unit_table = pd.DataFrame(rows)
    if units is not None:
        geo = units.set_index("code").geometry
        unit_table = gpd.GeoDataFrame(unit_table, geometry=unit_table["unit_code"].map(geo).to_numpy(), crs=units.crs)
    gaps_df = pd.DataFrame(gaps, columns=["unit_code", "unit_name", "type", "mode", "weight", "people_uncovered",
                                         "demand_points_uncovered"])
    gaps_df = gaps_df.sort_values("people_uncovered", ascending=False, kind="stable").reset_index(drop=True)
    return unit_table, pd.DataFrame(summary), gaps_df
