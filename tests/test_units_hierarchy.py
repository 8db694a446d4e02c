"""Unit hierarchy 区县 → 乡镇/街道 → 村/社区: codes, per-level indicators, combined kinds, presence from codes."""

import gzip
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import geoplan.coverage as gc
from geoplan import InputError
from geoplan.coverage._indicators import _indicators
from geoplan.coverage._units import KIND_GROUPS, KIND_LABELS, parent_code, unit_kind, unit_kinds, unit_level

from test_coverage import _tiny_layout

VILLAGES = Path(gc.__file__).parent.parent / "data" / "names" / "villages_hunan.csv.gz"


@pytest.mark.parametrize("code,kind,level,parent", [
    ("430302", "county", "county", None),
    ("430302001", "street", "township", "430302"),
    ("430302001000", "street", "township", "430302"),
    ("430321100000", "town", "township", "430321"),
    ("430321203000", "township", "township", "430321"),
    ("430302450000", None, "township", "430302"),  # 400–599: government-enterprise units, no kind
    ("430302001001", "community", "village", "430302001000"),
    ("430321100199", "community", "village", "430321100000"),
    ("430321100200", "village", "village", "430321100000"),
    ("430321203399", "village", "village", "430321203000"),
    ("430321203500", "special", "village", "430321203000"),
    ("4303021", None, None, None), ("43030200100x", None, None, None), (None, None, None, None),
])
def test_codes_by_hand(code, kind, level, parent):
    assert unit_kind(code) == kind and unit_level(code) == level and parent_code(code) == parent
    assert list(unit_kinds([code])) == [kind]


def test_labels_cover_every_kind():
    for kind in ("street", "town", "township", "community", "village", "special", *KIND_GROUPS):
        zh, en = KIND_LABELS[kind]
        assert zh and en and not any("a" <= ch.lower() <= "z" for ch in zh)
    assert KIND_LABELS["town_township"][0] == "乡镇" and KIND_LABELS["village_community"][0] == "村（社区）"


@pytest.mark.skipif(not VILLAGES.exists(), reason="village list not shipped yet")
def test_real_village_list_classified():
    with gzip.open(VILLAGES, "rt", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str)
    kinds = unit_kinds(df["code"])
    assert (pd.Series(kinds) == df["code"].map(unit_kind)).all()  # vectorised = one by one
    assert set(kinds) <= {"community", "village", "special"}
    # the rule against the names: 居委会/社区 are communities, 村委会 villages, in all but a few cases
    is_comm = df["name"].str.contains("居委会|居民委员会|社区").to_numpy()
    is_vil = df["name"].str.contains("村委会|村民委员会").to_numpy() & ~is_comm
    assert (kinds[is_comm] == "community").mean() > 0.97 and (kinds[is_vil] == "village").mean() > 0.97
    # every village's township is its parent by the code
    assert (df["code"].map(parent_code) == df["township_code"]).all()
    twp = df["township_code"].map(unit_kind)
    assert twp.isin(["street", "town", "township"]).mean() > 0.99


def _layout_villages(seats: bool):
    net, units, fac, dem = _tiny_layout()
    geoms = ([Point(500100, 3000100), Point(500200, 3000100), Point(500300, 3000100)] if seats else
             [box(499950, 3000000, 500150, 3000200), box(500150, 3000000, 500250, 3000200), box(500250, 3000000, 500350, 3000200)])
    vil = gpd.GeoDataFrame({"code": ["430302001001", "430302100201", "430302100202"], "name": ["西社区", "东一村", "东二村"]},
                           geometry=geoms, crs=units.crs)
    return net, units, fac, dem, vil


@pytest.mark.parametrize("seats", [False, True])
def test_assess_with_villages_tiny(seats):
    # Travel from the station at x=0: 100 s, 200 s, 300 s -> 1.67, 3.33, 5 min; cutoff 2.5 min.
    net, units, fac, dem, vil = _layout_villages(seats)
    cat = gc.load_catalogue(overrides={"types": {"social_work": {"cutoff_min": 2.5}}})
    r = gc.assess(net, fac, dem, units=units, villages=vil, catalogue=cat, types=["social_work"])
    assert r.demand["village_code"].tolist() == ["430302001001", "430302100201", "430302100202"]
    u = r.units
    # nested: each township, then its villages
    assert u["unit_code"].tolist() == ["430302001000", "430302001001", "430302100000", "430302100201", "430302100202"]
    assert u["level"].tolist() == ["township", "village", "township", "village", "village"]
    assert u["parent_code"].tolist()[1::2] == ["430302001000", "430302100000"] and u["parent_code"][4] == "430302100000"
    assert u["unit_kind"].tolist() == ["street", "community", "town", "village", "village"]
    assert u["pop"].tolist() == [100, 100, 80, 50, 30]
    v = u[u["level"] == "village"].set_index("unit_code")
    assert v["reached"].tolist() == [True, False, False]  # seat times 1.67/3.33/5 min, or covered shares 1/0/0
    s = r.summary.set_index(["level", "indicator", "unit_kind"])
    row = s.loc[("village", "share_units_with_facility", "village_community")]
    assert row["value"] == pytest.approx(1 / 3) and row["target"] == 0.3 and bool(row["passed"])
    assert s.loc[("village", "share_units_reached", "village"), "value"] == 0
    assert s.loc[("township", "share_units_with_facility", "street"), "value"] == 1


def test_village_measure_reach_judges_reach():
    net, units, fac, dem, vil = _layout_villages(True)
    cat = gc.load_catalogue(overrides={"types": {"social_work": {"cutoff_min": 4.0, "village_measure": "reach"}}})
    r = gc.assess(net, fac, dem, units=units, villages=vil, catalogue=cat, types=["social_work"])
    s = r.summary.set_index(["level", "indicator", "unit_kind"])
    reach = s.loc[("village", "share_units_reached", "village_community")]
    assert reach["value"] == pytest.approx(2 / 3) and reach["target"] == 0.3  # seats at 1.67 and 3.33 min ≤ 4
    assert pd.isna(s.loc[("village", "share_units_with_facility", "village_community"), "target"])


def test_facility_codes_beat_geometry():
    net, units, fac, dem, vil = _layout_villages(False)
    fac = fac.assign(village_code=["430302100202"])  # registered in 东二村 although drawn in the west
    r = gc.assess(net, fac, dem, units=units, villages=vil, types=["social_work"])
    assert r.facilities["village_code"].tolist() == ["430302100202"]
    assert r.facilities["unit_code"].tolist() == ["430302100000"]
    has = r.units.set_index("unit_code")["has_facility"]
    assert has.to_dict() == {"430302001000": False, "430302001001": False, "430302100000": True,
                             "430302100201": False, "430302100202": True}


def test_presence_from_codes_without_geometry():
    units = pd.DataFrame({"code": ["430321100000", "430321101000", "430321201000", "430321001000"],
                          "name": ["甲镇", "乙镇", "丙乡", "丁街道"], "pop_60": [900, 800, 700, 600]})
    villages = pd.DataFrame({"code": ["430321100201", "430321100202", "430321101201", "430321201201", "430321001001"],
                             "name": ["一村", "二村", "三村", "四村", "五社区"]})
    fac = pd.DataFrame({"type": ["综合养老服务中心", "综合养老服务中心", "农村互助养老服务点", "农村互助养老服务点"],
                        "township_code": ["430321100000", "430321201000", None, None],
                        "village_code": [None, None, "430321100202", "430321201201"]})
    r = gc.assess_presence(fac, units=units, villages=villages, types=["elder_care_centre", "mutual_aid_elder_care"])
    assert r.demand is None and r.service_areas is None
    s = r.summary.set_index(["type", "level", "indicator", "unit_kind"])
    key = ("elder_care_centre", "township", "share_units_with_facility")
    # combined 乡镇: (towns with + townships with) / (towns + townships) = (1 + 1) / (2 + 1)
    tt = s.loc[(*key, "town_township")]
    assert (tt["numerator"], tt["denominator"], tt["target"]) == (2, 3, 0.6) and bool(tt["passed"])
    assert s.loc[(*key, "town"), "value"] == 0.5 and pd.isna(s.loc[(*key, "town"), "target"])  # breakdown only
    assert s.loc[(*key, "street"), "value"] == 0 and s.loc[(*key, "street"), "shortfall"] == 1
    mv = s.loc[("mutual_aid_elder_care", "village", "share_units_with_facility", "village")]
    assert (mv["numerator"], mv["denominator"], mv["target"]) == (2, 4, 0.6) and not bool(mv["passed"])
    assert mv["shortfall"] == 1  # ceil(0.6 × 4) − 2
    # a village-level type lists its village rows first, a township-level type its township rows
    first = r.summary.groupby("type", sort=False)["level"].first().to_dict()
    assert first == {"elder_care_centre": "township", "mutual_aid_elder_care": "village"}
    u = r.units[(r.units["type"] == "elder_care_centre") & (r.units["level"] == "township")].set_index("unit_code")
    assert u["pop_60"].tolist() == [900, 800, 700, 600]
    assert not isinstance(r.units, gpd.GeoDataFrame)


# ---------------------------------------------------------------- indicators against a plain recount


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(1, 8))
    parts = rng.choice(np.r_[1:60, 100:160, 200:260], size=n_t, replace=False)
    units = pd.DataFrame({"code": [f"430321{p:03d}000" for p in parts], "name": [f"U{p}" for p in parts]})
    vcodes = []
    for p in parts:
        for v in rng.choice(np.r_[1:30, 200:260, 500:510], size=int(rng.integers(0, 6)), replace=False):
            vcodes.append(f"430321{p:03d}{v:03d}")
    villages = pd.DataFrame({"code": vcodes, "name": vcodes})
    n_d = int(rng.integers(0, 300))
    all_codes = units["code"].tolist() + [None]
    dem = pd.DataFrame({"unit_code": rng.choice(np.array(all_codes, dtype=object), n_d),
                        "pop": rng.integers(0, 50, n_d).astype(float)})
    dem["pop_60"] = np.floor(dem["pop"] * rng.random(n_d))
    dem["pop_0_17"] = np.floor((dem["pop"] - dem["pop_60"]) * rng.random(n_d))
    dem["village_code"] = [rng.choice([c for c in vcodes if c[:9] == u[:9]] or [None]) if isinstance(u, str) else None
                           for u in dem["unit_code"]]
    for t in ("elder_care_centre", "social_work"):
        mins = rng.exponential(10, n_d)
        mins[rng.random(n_d) < 0.05] = np.inf
        dem[f"{t}_min"] = mins
        dem[f"{t}_covered"] = mins <= 15
    n_f = int(rng.integers(0, 12))
    fac = pd.DataFrame({"type": rng.choice(["elder_care_centre", "social_work"], n_f),
                        "unit_code": rng.choice(np.array(all_codes, dtype=object), n_f),
                        "capacity": rng.integers(10, 100, n_f).astype(float)})
    fac["village_code"] = [rng.choice([c for c in vcodes if c[:9] == u[:9]] or [None]) if isinstance(u, str) else None
                           for u in fac["unit_code"]]
    fac["nursing_beds"] = np.floor(fac["capacity"] * rng.random(n_f))
    return units, villages, dem, fac


def _quantile(v, w, q):
    pairs = sorted((a, b) for a, b in zip(v, w) if b > 0 and math.isfinite(a))
    if not pairs:
        return math.nan
    total, run = sum(b for _, b in pairs), 0.0
    for a, b in pairs:
        run += b
        if run >= q * total:
            return a
    return pairs[-1][0]


def _recount(units, villages, dem, fac, t, cat):
    ft = cat[t]
    rows = {}
    for level, table, key in (("township", units, "unit_code"), ("village", villages, "village_code")):
        for code in table["code"]:
            d = dem[dem[key] == code]
            f = fac[(fac[key] == code) & (fac["type"] == t)]
            w = d[ft.weight].to_numpy() if d[ft.weight].sum() > 0 else d["pop"].to_numpy()
            tot_w = d[ft.weight].sum()
            reached = tot_w > 0 and d.loc[d[f"{t}_covered"], ft.weight].sum() / tot_w >= 0.5
            rows[(level, code)] = {"n": len(f), "pop": d["pop"].sum(), "cov60": d.loc[d[f"{t}_covered"], "pop_60"].sum(),
                                   "reached": reached,
                                   "med": _quantile(d[f"{t}_min"], w, 0.5), "p90": _quantile(d[f"{t}_min"], w, 0.9),
                                   "cap": f["capacity"].sum()}
    return rows


@pytest.mark.parametrize("seed", range(60))
def test_indicators_match_a_loop_recount(seed):
    units, villages, dem, fac = _case(seed)
    cat = gc.default_catalogue()
    types = ["elder_care_centre", "social_work"]
    table, summary, gaps = _indicators(dem, fac, units, cat, types, villages=villages)
    for t in types:
        want = _recount(units, villages, dem, fac, t, cat)
        got = table[table["type"] == t]
        assert len(got) == len(want)
        for _, r in got.iterrows():
            w = want[(r["level"], r["unit_code"])]
            assert r["n_facilities"] == w["n"] and r["has_facility"] == (w["n"] > 0)
            assert r["pop"] == pytest.approx(w["pop"]) and r["pop_60_covered"] == pytest.approx(w["cov60"])
            assert r["capacity"] == pytest.approx(w["cap"])
            if r["level"] == "village":  # reached: at least half of the type's people within the cutoff
                assert bool(r["reached"]) == w["reached"]
            for col, k in (("median_min", "med"), ("p90_min", "p90")):
                assert (math.isnan(r[col]) and math.isnan(w[k])) or r[col] == w[k]
        # per kind and per group: units with a facility / units, against the target
        s = summary[(summary["type"] == t) & (summary["indicator"] == "share_units_with_facility")]
        for level, frame in (("township", units), ("village", villages)):
            kinds = {c: unit_kind(c) or "any" for c in frame["code"]}
            have = {c: want[(level, c)]["n"] > 0 for c in frame["code"]}
            groups = {k: [k] for k in set(kinds.values())}
            for g, members in KIND_GROUPS.items():
                if set(members) & set(kinds.values()) and (g == "town_township") == (level == "township"):
                    groups[g] = list(members)
            sl = s[s["level"] == level].set_index("unit_kind")
            assert set(sl.index) == set(groups)
            for g, members in groups.items():
                codes = [c for c in frame["code"] if kinds[c] in members]
                assert sl.loc[g, "denominator"] == len(codes)
                assert sl.loc[g, "numerator"] == sum(have[c] for c in codes)
                target = cat[t].unit_target(None if g == "any" else g)
                assert (pd.isna(sl.loc[g, "target"]) and target is None) or sl.loc[g, "target"] == target
        # 护理型床位占比 over the type's facilities (only types with a nursing-bed target: review of issue 15)
        f = fac[fac["type"] == t]
        nb = summary[(summary["type"] == t) & (summary["indicator"] == "nursing_bed_share")]
        if f["capacity"].sum() > 0 and cat[t].nursing_bed_share_target is not None:
            assert nb["value"].iloc[0] == pytest.approx(f["nursing_beds"].sum() / f["capacity"].sum())
        else:
            assert nb.empty
    # the demand-weighted gaps: uncovered people per township
    for _, g in gaps.iterrows():
        d = dem[(dem["unit_code"] == g["unit_code"]) & ~dem[f"{g['type']}_covered"]]
        assert g["people_uncovered"] == pytest.approx(d[g["weight"]].sum())


def test_vectorised_at_scale_runs():
    # 1,000 townships × 1,000,000 demand points (SYNTHETIC): a smoke run of the vectorised path, no timing assert
    rng = np.random.default_rng(1)
    units = pd.DataFrame({"code": [f"43{i:04d}101000" for i in range(1000)], "name": [str(i) for i in range(1000)]})
    n = 1_000_000
    dem = pd.DataFrame({"unit_code": units["code"].to_numpy()[rng.integers(0, 1000, n)], "pop": rng.random(n)})
    dem["pop_60"] = dem["pop"] / 2
    dem["pop_0_17"] = dem["pop"] / 4
    dem["social_work_min"] = rng.exponential(10, n)
    dem["social_work_covered"] = dem["social_work_min"] <= 15
    fac = pd.DataFrame({"type": ["social_work"] * 300, "unit_code": units["code"].to_numpy()[:300]})
    table, summary, _ = _indicators(dem, fac, units, gc.default_catalogue(), ["social_work"])
    assert len(table) == 1000 and table["pop"].sum() == pytest.approx(dem["pop"].sum())
    row = summary.set_index(["indicator", "unit_kind"]).loc[("share_units_with_facility", "town")]
    assert (row["numerator"], row["denominator"]) == (300, 1000)


def test_seat_assignment_stays_within_the_township():
    # Point at x=200 lies in 东镇 (x 150–350); the 西社区 seat at x=140 is nearer (60 m) but in another township,
    # so the point goes to the nearest seat of its own township (东一村 at x=300, not 东二村 at x=340).
    net, units, fac, dem, vil = _layout_villages(True)
    vil = vil.set_geometry(gpd.GeoSeries([Point(500140, 3000100), Point(500300, 3000100), Point(500340, 3000100)],
                                         crs=units.crs))
    r = gc.assess(net, fac, dem, units=units, villages=vil, types=["social_work"])
    assert r.demand["village_code"].tolist() == ["430302001001", "430302100201", "430302100201"]


def test_code_table_villages_take_people_from_their_columns():
    net, units, fac, dem, _ = _layout_villages(False)
    vil = pd.DataFrame({"code": ["430302001001", "430302100201"], "name": ["西社区", "东一村"], "pop_60": [12, 34]})
    fac = fac.assign(village_code=["430302100201"])
    r = gc.assess(net, fac, dem, units=units, villages=vil, types=["social_work"])
    assert "village_code" not in r.demand  # a code table places no demand
    v = r.units[r.units["level"] == "village"].set_index("unit_code")
    assert v["pop_60"].to_dict() == {"430302001001": 12, "430302100201": 34}
    assert v["has_facility"].to_dict() == {"430302001001": False, "430302100201": True}
    s = r.summary.set_index(["level", "indicator"])
    assert "share_units_reached" not in s.loc["village"].index  # nothing to judge reach by


def test_bad_village_code_on_a_facility_names_the_row():
    net, units, fac, dem, vil = _layout_villages(False)
    with pytest.raises(InputError, match="not a 12-digit village-level code"):
        gc.assess(net, fac.assign(village_code=["430302100000"]), dem, units=units, villages=vil, types=["social_work"])


def test_facility_codes_read_from_spreadsheet_numbers():
    units = pd.DataFrame({"code": ["430321100000"], "name": ["甲镇"]})
    villages = pd.DataFrame({"code": ["430321100201", "430321100202"], "name": ["一村", "二村"]})
    fac = pd.DataFrame({"type": ["儿童之家"], "village_code": [430321100202.0]})  # as Excel stores a long number
    r = gc.assess_presence(fac, units=units, villages=villages, types=["children_home"])
    assert r.units.set_index("unit_code")["has_facility"].to_dict() == {
        "430321100000": True, "430321100201": False, "430321100202": True}
    with pytest.raises(InputError, match="not a 12-digit village-level code"):
        gc.assess_presence(fac.assign(village_code=["甲村"]), units=units, villages=villages, types=["children_home"])
