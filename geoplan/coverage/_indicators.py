"""Indicators of a coverage run: per-unit tables at township and village level, the summary against targets, ranked gaps.

Everything is counted per unit with ``bincount`` over unit positions (no loop over units scanning the
demand), so 1,000 units × 1,000,000 demand points stay fast.  Units are the township layer
(``units=``, or one pseudo-unit ``ALL`` without it) and, when given, the village layer
(``villages=``); both tables carry ``level``, ``parent_code`` and ``unit_kind``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.coverage._units import KIND_GROUPS, KIND_LEVEL, parent_code, township_key, unit_kind
from geoplan.coverage.standards import WEIGHTS, Catalogue, FacilityType
from geoplan.io._numbers import _code_text

SUMMARY_COLUMNS = ["type", "mode", "level", "indicator", "unit_kind", "value", "numerator", "denominator", "target",
                   "passed", "shortfall", "shortfall_unit"]
GAP_COLUMNS = ["unit_code", "unit_name", "type", "mode", "weight", "people_uncovered", "demand_points_uncovered"]
#: Share of a village's weight people within the cutoff from which it counts as reached (no seat points given).
REACHED_SHARE = 0.5


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return math.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1])])


def _grouped_quantiles(pos: np.ndarray, values: np.ndarray, weights: np.ndarray, n: int, qs, by_value: np.ndarray
                       ) -> list[np.ndarray]:
    """:func:`_weighted_quantile` of each group ``0..n-1`` at once, for each ``q`` in ``qs``.

    ``by_value`` is ``argsort(values)`` (shared by the levels); a stable sort by group on top of it
    (a radix sort of integers) orders each group by value without a sort per unit.
    """
    outs = [np.full(n, np.nan) for _ in qs]
    order = by_value[((pos >= 0) & np.isfinite(values) & (weights > 0))[by_value]]
    if not len(order):
        return outs
    order = order[np.argsort(pos[order], kind="stable")]
    p, v, w = pos[order], values[order], weights[order]
    cum = np.cumsum(w)
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    ends = np.r_[starts[1:], len(p)]
    before = np.where(starts > 0, cum[starts - 1], 0.0)
    total = cum[ends - 1] - before
    for out, q in zip(outs, qs):
        # first position in the group whose running weight reaches q × the group's weight
        idx = np.clip(np.searchsorted(cum, before + q * total, side="left"), starts, ends - 1)
        out[p[starts]] = v[idx]
    return outs


def _unit_frame(frame, level: str, township_codes: pd.Index | None = None) -> pd.DataFrame:
    """Code, name, kind, parent and township position of each unit of a layer."""
    codes = frame["code"].map(lambda c: _code_text(c) or "")  # 430302001000.0 from a spreadsheet: digit text
    kinds = frame["kind"] if "kind" in frame.columns else codes.map(unit_kind)
    out = pd.DataFrame({"code": codes.to_numpy(), "name": frame["name"].to_numpy(), "kind": kinds.to_numpy()})
    if level == "village" and township_codes is not None:
        # a village's township as it is spelt in the units layer (9 or 12 digits)
        keys = pd.Series(township_codes.map(township_key), index=township_codes)
        by_key = pd.Series(keys.index, index=keys.to_numpy())
        by_key = by_key[~by_key.index.duplicated()]
        parent = out["code"].map(township_key).map(by_key)
        out["parent_code"] = parent.where(parent.notna(), out["code"].map(parent_code)).to_numpy()
        out["township_pos"] = township_codes.get_indexer(parent.fillna("").to_numpy())
    else:
        out["parent_code"] = out["code"].map(parent_code).to_numpy()
        out["township_pos"] = np.arange(len(out)) if level == "township" else -1
    return out


def _sum_by(pos: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    ok = pos >= 0
    return np.bincount(pos[ok], weights=np.nan_to_num(values[ok].astype(float)), minlength=n)[:n]


def _positions(frame, key: str, idx: pd.Index) -> np.ndarray:
    """Position of each row's ``key`` code among the units (-1: in none)."""
    return idx.get_indexer(frame[key].astype(object).where(frame[key].notna(), "").astype(str).to_numpy())


def _level_table(ut: pd.DataFrame, level: str, dem, fac_t, ft: FacilityType, t: str, key: str,
                 people_cols: list[str], cache: dict) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The per-unit rows of one type at one level; also the covered share of the weight per unit (or None).

    ``cache`` keeps what the types share: the demand's unit positions per level, each type's time order.
    """
    n = len(ut)
    idx = pd.Index(ut["code"])
    fpos = _positions(fac_t, key, idx) if key in fac_t else np.full(len(fac_t), -1)
    nf = np.bincount(fpos[fpos >= 0], minlength=n)[:n]
    rec = {"unit_code": ut["code"].to_numpy(), "unit_name": ut["name"].to_numpy(), "unit_kind": ut["kind"].to_numpy(),
           "level": level, "parent_code": ut["parent_code"].to_numpy(), "type": t, "mode": ft.mode,
           "n_facilities": nf.astype(int), "has_facility": nf > 0}
    wcol = ft.weight
    have_dem = dem is not None and key in dem.columns
    if have_dem and ("pos", key) not in cache:
        cache[("pos", key)] = _positions(dem, key, idx)
    dpos = cache.get(("pos", key))
    cov = dem[f"{t}_covered"].to_numpy(bool) if have_dem and f"{t}_covered" in dem else None
    totals = {}
    for col in people_cols:
        if have_dem and col in dem.columns:
            w = dem[col].to_numpy(float)
            tot = _sum_by(dpos, w, n)
            c = _sum_by(dpos, np.where(cov, w, 0.0), n) if cov is not None else np.full(n, np.nan)
        elif col in ut.columns:  # presence run: people from the unit table (e.g. a census table joined by code)
            tot = pd.to_numeric(ut[col], errors="coerce").to_numpy(float)
            c = np.full(n, np.nan)
        else:
            tot, c = np.zeros(n), np.full(n, np.nan)
        totals[col] = (tot, c)
        rec[col] = tot
        rec[f"{col}_covered"] = c
        with np.errstate(invalid="ignore", divide="ignore"):
            rec[f"share_{col}_covered"] = np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), np.nan)
    if "capacity" in fac_t.columns:
        cap = _sum_by(fpos, pd.to_numeric(fac_t["capacity"], errors="coerce").to_numpy(float), n)
        pw = totals[wcol][0]
        rec["capacity"] = cap
        with np.errstate(invalid="ignore", divide="ignore"):
            rec[f"capacity_per_1000_{wcol}"] = np.where(pw > 0, 1000.0 * cap / np.where(pw > 0, pw, 1.0), np.nan)
    if have_dem and f"{t}_min" in dem:
        mins = dem[f"{t}_min"].to_numpy(float)
        w = np.nan_to_num(dem[wcol].to_numpy(float))
        wp = np.nan_to_num(dem["pop"].to_numpy(float))
        if ("order", t) not in cache:
            cache[("order", t)] = np.argsort(mins, kind="stable")
        by_value = cache[("order", t)]
        no_w = totals[wcol][0] <= 0  # nobody of the group in the unit: time distribution of all people
        med, p90 = _grouped_quantiles(dpos, mins, w, n, (0.5, 0.9), by_value)
        if no_w.any():
            med_p, p90_p = _grouped_quantiles(dpos, mins, wp, n, (0.5, 0.9), by_value)
            med, p90 = np.where(no_w, med_p, med), np.where(no_w, p90_p, p90)
        rec["median_min"], rec["p90_min"] = med, p90
    else:
        rec["median_min"] = rec["p90_min"] = np.full(n, np.nan)
    share_w = None
    if cov is not None:
        tot, c = totals[wcol]
        with np.errstate(invalid="ignore", divide="ignore"):
            share_w = np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), np.nan)
    return pd.DataFrame(rec), share_w


def _share_row(ft: FacilityType, t: str, level: str, indicator: str, kind: str, have: int, n: int, target) -> dict:
    value = have / n if n else math.nan
    need = max(0, math.ceil(round(target * n, 9)) - have) if target is not None else None
    return {"type": t, "mode": ft.mode, "level": level, "indicator": indicator, "unit_kind": kind, "value": value,
            "numerator": have, "denominator": n, "target": target,
            "passed": None if target is None or not n else bool(value >= target - 1e-12),
            "shortfall": need, "shortfall_unit": "units"}


def _kind_rows(table: pd.DataFrame, flag: str, ft: FacilityType, t: str, level: str, indicator: str,
               judged: bool) -> list[dict]:
    """Share of units with ``flag`` per kind present, then per group of kinds present (镇+乡, 村+社区)."""
    kinds = table["unit_kind"].astype(object).where(table["unit_kind"].notna(), "any")
    have = table[flag].fillna(False).astype(bool).to_numpy()
    rows = []
    for kind in sorted(set(kinds)):
        sel = (kinds == kind).to_numpy()
        target = ft.unit_target(None if kind == "any" else kind) if judged else None
        rows.append(_share_row(ft, t, level, indicator, kind, int(have[sel].sum()), int(sel.sum()), target))
    for group, members in KIND_GROUPS.items():
        if KIND_LEVEL[group] != level or not set(members) & set(kinds):
            continue
        sel = kinds.isin(members).to_numpy()
        target = ft.unit_target(group) if judged else None
        rows.append(_share_row(ft, t, level, indicator, group, int(have[sel].sum()), int(sel.sum()), target))
    return rows


def _people_rows(dem, ft: FacilityType, t: str, by_value: np.ndarray | None = None) -> list[dict]:
    wcol = ft.weight
    cov = dem[f"{t}_covered"].to_numpy(bool)
    w = dem[wcol].to_numpy(float)
    tot = float(np.nansum(w))
    c = float(np.nansum(w[cov]))
    value = c / tot if tot > 0 else math.nan
    pt = ft.people_target
    wts = np.nan_to_num(w)
    base = {"type": t, "mode": ft.mode, "level": "all", "unit_kind": "all"}
    rows = [{**base, "indicator": f"share_{wcol}_covered", "value": value, "numerator": c, "denominator": tot,
             "target": pt, "passed": None if pt is None or math.isnan(value) else bool(value >= pt - 1e-12),
             # Nobody of the group counted (no people, or no column): nothing computed, never "0 missing".
             "shortfall": None if pt is None or math.isnan(value) else max(0.0, math.ceil(pt * tot - c - 1e-9)),
             "shortfall_unit": wcol}]
    mins = dem[f"{t}_min"].to_numpy(float)
    if by_value is not None:  # the time order the unit tables sorted already: one group, no second sort
        med, p90 = (float(v[0]) for v in _grouped_quantiles(np.zeros(len(mins), np.int64), mins, wts, 1,
                                                             (0.5, 0.9), by_value))
    else:
        med, p90 = (_weighted_quantile(mins, wts, q) for q in (0.5, 0.9))
    for name, value in (("median_min", med), ("p90_min", p90)):
        rows.append({**base, "indicator": name, "value": value,
                     "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None,
                     "shortfall_unit": None})
    return rows


def _nursing_row(fac_t, ft: FacilityType, t: str) -> list[dict]:
    """护理型床位占比: nursing beds / beds over the built facilities of the type that state both.

    Only for types with a ``nursing_bed_share_target`` (the elder-care types).
    """
    if ft.nursing_bed_share_target is None or not {"nursing_beds", "capacity"} <= set(fac_t.columns):
        # only types with a nursing-bed target (elder care): a 社工站 has no care beds (review of issue 15)
        return []
    nb = pd.to_numeric(fac_t["nursing_beds"], errors="coerce").to_numpy(float)
    cap = pd.to_numeric(fac_t["capacity"], errors="coerce").to_numpy(float)
    ok = np.isfinite(nb) & np.isfinite(cap)
    beds, nursing = float(cap[ok].sum()), float(nb[ok].sum())
    if not beds > 0:
        return []
    value, tg = nursing / beds, ft.nursing_bed_share_target
    return [{"type": t, "mode": ft.mode, "level": "all", "indicator": "nursing_bed_share", "unit_kind": "all",
             "value": value, "numerator": nursing, "denominator": beds, "target": tg,
             "passed": None if tg is None else bool(value >= tg - 1e-12),
             "shortfall": None if tg is None else max(0.0, math.ceil(tg * beds - nursing - 1e-9)),
             "shortfall_unit": "nursing_beds"}]


def _gap_rows(table: pd.DataFrame, dem, ft: FacilityType, t: str, idx: pd.Index, cache: dict) -> pd.DataFrame:
    wcol = ft.weight
    pos = cache[("pos", "unit_code")] if ("pos", "unit_code") in cache else _positions(dem, "unit_code", idx)
    unc = ~dem[f"{t}_covered"].to_numpy(bool)
    people = _sum_by(pos, np.where(unc, dem[wcol].to_numpy(float), 0.0), len(idx))
    points = np.bincount(pos[(pos >= 0) & unc], minlength=len(idx))[:len(idx)]
    g = pd.DataFrame({"unit_code": table["unit_code"].to_numpy(), "unit_name": table["unit_name"].to_numpy(), "type": t,
                      "mode": ft.mode, "weight": wcol, "people_uncovered": people, "demand_points_uncovered": points})
    return g[g["people_uncovered"] > 0]


def _indicators(dem, fac, units, catalogue: Catalogue, type_list: list[str], *, villages=None,
                seat_min: dict | None = None):
    """Per-unit tables (township units, each followed by its villages), the summary against targets, ranked gaps.

    ``dem`` may be None (a presence run: people from the unit tables' own columns, nothing covered);
    ``seat_min`` maps a type to the door-to-door minutes of each village seat (aligned to ``villages``).
    """
    fac = fac.copy()
    if units is None:
        units = pd.DataFrame({"code": ["ALL"], "name": ["全部 / all"], "kind": [None]})
        fac["unit_code"] = "ALL"
        if dem is not None:
            dem = dem.assign(unit_code="ALL")
        geo_units = None
    else:
        geo_units = units if isinstance(units, gpd.GeoDataFrame) and "geometry" in units else None
    if "status" in fac.columns:  # only built facilities count (在建/规划/停用 are listed by the report)
        fac = fac[fac["status"].astype("string").fillna("built").to_numpy() == "built"]
    tw_units = _unit_frame(units, "township")
    for col in units.columns:
        if col not in tw_units and col not in ("code", "name", "kind", "geometry"):
            tw_units[col] = units[col].to_numpy()
    vil_units = None
    if villages is not None:
        vil_units = _unit_frame(villages, "village", pd.Index(tw_units["code"]))
        for col in villages.columns:
            if col not in vil_units and col not in ("code", "name", "kind", "geometry"):
                vil_units[col] = villages[col].to_numpy()
    tables, summary, gaps, cache = [], [], [], {}
    for ti, t in enumerate(type_list):
        ft = catalogue[t]
        people_cols = list(dict.fromkeys((*WEIGHTS, ft.weight)))
        fac_t = fac[(fac["type"] == t).to_numpy()]
        tw, _ = _level_table(tw_units, "township", dem, fac_t, ft, t, "unit_code", people_cols, cache)
        tw["_o1"], tw["_o2"], tw["_o3"], tw["_o4"] = ti, np.arange(len(tw)), 0, 0
        tables.append(tw)
        own = _kind_rows(tw, "has_facility", ft, t, "township", "share_units_with_facility", True)
        if vil_units is not None:
            vt, share_w = _level_table(vil_units, "village", dem, fac_t, ft, t, "village_code", people_cols, cache)
            par = vil_units["township_pos"].to_numpy()
            # nested: each township, then its villages; villages of no listed township last
            vt["_o1"], vt["_o2"], vt["_o3"], vt["_o4"] = ti, np.where(par >= 0, par, len(tw)), 1, np.arange(len(vt))
            by_reach = ft.village_measure == "reach"
            village_rows = _kind_rows(vt, "has_facility", ft, t, "village", "share_units_with_facility", not by_reach)
            reached = None
            if seat_min is not None and t in seat_min:
                reached = np.asarray(seat_min[t], float) <= ft.cutoff_min + 1e-9
            elif share_w is not None:
                reached = np.nan_to_num(share_w, nan=0.0) >= REACHED_SHARE - 1e-12
            if reached is not None:
                vt["reached"] = reached
                village_rows += _kind_rows(vt, "reached", ft, t, "village", "share_units_reached", by_reach)
            tables.append(vt)
            # the level the type is provided at comes first (儿童之家: villages; 社工站: townships)
            own = village_rows + own if ft.level == "village" else own + village_rows
        summary += own
        if dem is not None and f"{t}_covered" in dem:
            summary += _people_rows(dem, ft, t, cache.get(("order", t)))
            gaps.append(_gap_rows(tw, dem, ft, t, pd.Index(tw_units["code"]), cache))
        summary += _nursing_row(fac_t, ft, t)
    unit_table = pd.concat(tables, ignore_index=True)
    keys = ["_o1", "_o2", "_o3", "_o4"]
    unit_table = unit_table.sort_values(keys, kind="stable").drop(columns=keys).reset_index(drop=True)
    unit_table = _with_geometry(unit_table, geo_units, villages)
    gaps_df = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame(columns=GAP_COLUMNS)
    gaps_df = gaps_df[GAP_COLUMNS].sort_values("people_uncovered", ascending=False, kind="stable").reset_index(drop=True)
    return unit_table, pd.DataFrame(summary, columns=SUMMARY_COLUMNS), gaps_df


def _with_geometry(table: pd.DataFrame, units, villages):
    """The unit table as a GeoDataFrame when either layer has geometry (in the units' CRS), else as it is."""
    has_v = isinstance(villages, gpd.GeoDataFrame) and "geometry" in villages and villages.crs is not None
    if units is None and not has_v:
        return table
    crs = units.crs if units is not None else villages.crs
    geo = pd.Series(dtype=object)
    if units is not None:
        geo = pd.Series(units.geometry.to_numpy(), index=units["code"].map(lambda c: _code_text(c) or "").to_numpy())
    if has_v:
        vg = villages.geometry.to_crs(crs) if crs is not None else villages.geometry
        geo = pd.concat([geo, pd.Series(vg.to_numpy(), index=villages["code"].map(lambda c: _code_text(c) or "").to_numpy())])
    geo = geo[~geo.index.duplicated()]
    return gpd.GeoDataFrame(table, geometry=table["unit_code"].map(geo).to_numpy(), crs=crs)
