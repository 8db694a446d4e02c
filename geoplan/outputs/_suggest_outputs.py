"""Write a :class:`~geoplan.suggest.SuggestResult`: report, layers and a before/after map."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan.outputs import maps
from geoplan.outputs._coverage_outputs import _unit_rows, coverage_layers, write_gpkg
from geoplan.outputs._coverage_summary import group_noun, header_lines, short_type, unit_noun
from geoplan.outputs._i18n import in_lang, label, mode_of, pick, type_caption
from geoplan._output import output_folder
from geoplan.outputs._report import Section, write_report
from geoplan.suggest import status_text

_T = {
    "title": ("{name}选址建议", "Site suggestion: {name}"),
    "overview": ("概况", "Overview"),
    "sites": ("建议新址（按新增覆盖排序）", "Suggested sites, ranked by what each adds"),
    "compare": ("建设前后指标对比", "Indicators before and after"),
    "units": ("建设后各单位指标", "Indicators per unit after"),
    "times": ("建设前后出行时间", "Travel times before and after"),
    "infeasible": ("不可用的候选点", "Candidates left out"),
    "before": ("现状服务范围", "Service areas now"),
    "after": ("建设后服务范围", "Service areas after"),
    "new": ("建议新址", "Suggested sites"),
    "existing": ("现有设施", "Existing facilities"),
    "uncovered": ("建设后仍未覆盖", "Still uncovered after"),
    "unreachable": ("无法到达的需求点", "Demand no site can reach"),
}

_REASONS = {"beyond every site": ("所有现有设施和候选点均无法在时限内到达", "beyond every site within the time"),
            "too far from the road network": ("距路网过远", "too far from the road network"),
            "outside the admin units": ("不在行政单位范围内", "outside the admin units")}


_t = functools.partial(pick, _T)


_MODELS = {
    "mclp": ("最大覆盖模型（MCLP）", "maximal covering (MCLP)"),
    "lscp": ("最少设施全覆盖模型（LSCP）", "set covering (LSCP)"),
    "pmedian": ("总出行时间最小模型（p-中值）", "p-median"),
    "pcenter": ("最远出行时间最小模型（p-中心）", "p-center"),
    "reach_target": ("达标所需最少新址", "fewest sites to reach the target"),
    "reach_target_units": ("各单位至少一处所需最少新址", "fewest sites so every unit has one"),
    "capacitated_mclp": ("有容量限制的最大覆盖模型", "capacitated maximal covering"),
    "capacitated_pmedian": ("有容量限制的 p-中值模型", "capacitated p-median"),
}
_SOLVERS = {"highs": ("精确求解（HiGHS）", "exact (HiGHS)"), "exact": ("精确求解（HiGHS）", "exact (HiGHS)"),
            "greedy": ("启发式（贪心＋交换）", "heuristic (greedy + interchange)"),
            "heuristic": ("启发式（贪心＋交换）", "heuristic (greedy + interchange)")}


def _word(table: dict, key, lang: str) -> str:
    """A model or solver name in the report's language; unknown keys pass through."""
    pair = table.get(str(key).split("+")[0].split(" (")[0].strip().lower())
    return str(key) if pair is None else pair[0 if lang == "zh" else 1]


def titled(title: str | None, area: str | None, standard: str, lang: str) -> str:
    """``--title`` as given, else the area before the standard title (湘潭市雨湖区社工站选址建议)."""
    if title:
        return title
    if not area:
        return standard
    return f"{area}{standard}" if lang == "zh" else f"{standard}, {area}"


def _overview(res, lang: str, data_note: str) -> str:
    sol = res.solution
    ft = res.after.catalogue[res.facility_type]
    gap = "未证明" if lang == "zh" else "not proven"
    if sol.gap is not None:
        gap = f"{sol.gap:.2%}"
    lines = [data_note] if data_note else []
    if lang == "zh":
        lines.append(
            f"设施类型：{type_caption(res.after, res.facility_type, 'zh')}；模型：{_word(_MODELS, sol.model, 'zh')}，求解：{_word(_SOLVERS, sol.solver, 'zh')}，结果：{status_text(sol.status, 'zh')}，最优性差距 {gap}，用时 "
            f"{sol.seconds:.2f} 秒。现有设施全部保留并计入。建议新址 {len(res.sites)} 处。"
        )
    else:
        lines.append(
            f"Facility type: {type_caption(res.after, res.facility_type, 'en')}; model {_word(_MODELS, sol.model, 'en')}, solver {_word(_SOLVERS, sol.solver, 'en')}, result: {status_text(sol.status, 'en')}, optimality gap "
            f"{gap}, {sol.seconds:.2f} s. Existing facilities are all kept and counted. {len(res.sites)} new site(s) suggested."
        )
    short, unserved = sol.diagnostics.get("capacity_short"), sol.diagnostics.get("unserved_total")
    if short:
        lines.append((f"总需求超过开放设施的总容量：无论如何选址，仍有 {short:g} 人无法得到服务。" if lang == "zh" else
                      f"Total demand is above the capacity of the open sites: {short:g} cannot be served wherever they go."))
    if unserved:
        lines.append((f"容量限制下有 {unserved:g} 人未能分配到设施（附近站点已满）。" if lang == "zh" else
                      f"Within the capacities, {unserved:g} people are left unassigned (the sites near them are full)."))
    lost = getattr(res, "unreachable", None)
    if lost is not None and len(lost):
        n_people = int(round(float(lost["people"].sum())))
        people = ft.weight in ("pop", "pop_60", "pop_0_17")
        who_zh = f"{n_people:,} 名{group_noun(ft.weight, 'zh')}" if people else f"{group_noun(ft.weight, 'zh')} {n_people:,}"
        who_en = f"{n_people:,} {group_noun(ft.weight, 'en')}" if people else f"{group_noun(ft.weight, 'en')} {n_people:,}"
        lines.append(in_lang(lang, f"有 {len(lost):,} 个需求点共 {who_zh}，任何现有设施或候选点都无法在 "
                                   f"{ft.cutoff_min:g} 分钟内到达（不计入目标），逐一列于“{_t('unreachable', 'zh')}”表。",
                             f"{len(lost):,} demand point(s) with {who_en} cannot be reached within "
                             f"{ft.cutoff_min:g} min from any existing facility or candidate (not counted in the target); "
                             f"they are listed in the table “{_t('unreachable', 'en')}”."))
    if len(res.sites) and "lon_gcj02" in res.sites and res.sites["lon_gcj02"].isna().all():
        lines.append(in_lang(lang, "建议新址位于中国大陆以外，GCJ-02（高德/腾讯）坐标不适用，相应栏留空。",
                             "The suggested sites lie outside mainland China, where GCJ-02 (Amap/Tencent) does not "
                             "apply: those columns are left empty."))
    return "\n\n".join(lines)


def _site_name(row, lang: str) -> str:
    """A site as a planner names it: a road node by its road, a file's candidate by its name (or id)."""
    road = row.get("road")
    road = None if road is None or (isinstance(road, float) and math.isnan(road)) else str(road)
    if row.get("source") == "network":
        if road:
            return in_lang(lang, f"路网节点（{road}旁）", f"road node by {road}")
        return in_lang(lang, "路网节点（附近无具名道路）", "road node (no named road near)")
    name = row.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    return str(row.get("id", ""))


def site_table(res, lang: str) -> pd.DataFrame:
    """The suggested sites for the report and Excel: rank, gain, where (road, unit, WGS-84 and GCJ-02)."""
    sites = res.sites
    ft = res.after.catalogue[res.facility_type]
    out = pd.DataFrame({"rank": sites["rank"].to_numpy(), "gain": sites["gain"].to_numpy(),
                        "site_location": [_site_name(r, lang) for r in sites.to_dict("records")]})
    for col in ("road", "road_m"):
        if col in sites:
            out[col] = sites[col].to_numpy()
    for level in ("township", "village"):
        if f"{level}_code" in sites and sites[f"{level}_code"].notna().any():
            out[f"{level}_unit"] = [_unit_text(c, n) for c, n in zip(sites[f"{level}_code"], sites[f"{level}_name"])]
    for col, key in (("lon", "lon_wgs84"), ("lat", "lat_wgs84"), ("lon_gcj02", "lon_gcj02"), ("lat_gcj02", "lat_gcj02")):
        if col in sites:
            out[key] = sites[col].to_numpy()
    out["type"] = short_type(ft, lang)
    return out


def _unit_text(code, name) -> str | None:
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return None
    return f"{name}（{code}）" if isinstance(name, str) and name else str(code)


def unreachable_table(res, lang: str) -> pd.DataFrame:
    """The demand no site can reach: unit, id/name, people, the quickest site's time when one is in the horizon."""
    lost = res.unreachable
    out = pd.DataFrame({
        "demand_unit": [_unit_text(c, n) for c, n in zip(lost["unit_code"], lost["unit_name"])],
        "id": lost["id"].astype(str).to_numpy(), "name": lost["name"].to_numpy(),
        "people": lost["people"].to_numpy(float),
        "quickest_site_min": lost["nearest_min"].to_numpy(float),
        "reason": [_REASONS.get(r, (r, r))[0 if lang == "zh" else 1] for r in lost["reason"]],
    })
    if not out["name"].map(lambda v: isinstance(v, str) and bool(v.strip())).any():
        out = out.drop(columns="name")
    if out["quickest_site_min"].isna().all():  # none within the search horizon: an empty column says nothing
        out = out.drop(columns="quickest_site_min")
    weight = res.after.catalogue[res.facility_type].weight
    if weight in ("pop", "pop_60", "pop_0_17"):  # the people counted, by their label (60岁以上人口...)
        out = out.rename(columns={"people": weight})
    return out


def _verdict(v, lang: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return in_lang(lang, "未设目标", "no target")
    return in_lang(lang, "达标", "passed") if v else in_lang(lang, "未达标", "not passed")


def comparison_tables(res, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shares before and after as percentages with the verdicts, and the travel times before and after."""
    comp = res.comparison()
    ft = res.after.catalogue[res.facility_type]
    shares, times = [], []
    for _, r in comp.iterrows():
        ind = str(r["indicator"])
        if ind.startswith("share_"):
            units_ind = ind == "share_units_with_facility"
            col = ind[len("share_"):-len("_covered")] if not units_ind else ""
            shares.append({
                "type": short_type(ft, lang),
                "mode": mode_of(res.after, res.facility_type),
                "counted": unit_noun(r.get("unit_kind"), ft, lang) if units_ind else group_noun(col, lang),
                "indicator": (in_lang(lang, "已建单位占比", "Share of units with one") if units_ind else
                              in_lang(lang, f"{group_noun(col, lang)}覆盖率", f"Share of {group_noun(col, lang)} covered")),
                "share_before": r["before"], "share_after": r["after"], "share_target": r["target"],
                "passed_before": _verdict(r["passed_before"], lang), "passed_after": _verdict(r["passed_after"], lang),
            })
        elif ind in ("median_min", "p90_min"):
            times.append({"type": short_type(ft, lang), "indicator": label(ind, lang), "before": r["before"],
                          "after": r["after"], "cutoff_min": ft.cutoff_min})
    return pd.DataFrame(shares), pd.DataFrame(times)


def write_suggestion(res: "geoplan.suggest.SuggestResult", folder: str | Path, *, lang: str = "zh",
                     overwrite: bool = False, basemap: str = "osm", data_note: str = "", title: str | None = None,
                     area: str | None = None, date: str | None = None) -> dict[str, Path]:
    """Write the suggestion folder all-or-nothing; returns the paths written.

    Parameters
    ----------
    res
        The result of :func:`geoplan.suggest.suggest_sites`.
    folder
        Output folder.
    lang
        ``"zh"`` (default) or ``"en"``.
    overwrite
        Replace an existing folder geoplan created.
    basemap
        Basemap of the before/after web map.
    data_note
        Text about the data sources for the report's overview.
    title, area, date
        Report title (default: area + the standard title), area assessed and report date (ISO; default
        ``SOURCE_DATE_EPOCH`` or today), printed under the title.

    Returns
    -------
    dict of str to pathlib.Path
        Paths in ``folder``: ``md``, ``html``, ``xlsx`` (the report), ``gpkg`` and ``map``.

    Raises
    ------
    OutputExistsError
        ``folder`` exists and may not be replaced.
    """
    final = Path(folder)
    ft = res.after.catalogue[res.facility_type]
    units = pd.DataFrame(res.after.units.drop(columns="geometry", errors="ignore"))
    sites = site_table(res, lang)
    shares, times = comparison_tables(res, lang)
    sections = [
        Section(_t("overview", lang), text="\n\n".join(["\n".join(header_lines(res.after, lang, area=area, date=date)),
                                                             _overview(res, lang, data_note)])),
        Section(_t("sites", lang), table=sites),
        Section(_t("compare", lang), table=shares),
        Section(_t("times", lang), table=times),
        Section(_t("units", lang), table=_unit_rows(units, lang)),
    ]
    lost = getattr(res, "unreachable", None)
    if lost is not None and len(lost):
        sections.append(Section(_t("unreachable", lang), table=unreachable_table(res, lang)))
    if len(res.infeasible_candidates):
        left_out = res.infeasible_candidates.assign(
            reason=[_REASONS.get(r, (r, r))[0 if lang == "zh" else 1] for r in res.infeasible_candidates["reason"]])
        sections.append(Section(_t("infeasible", lang), table=left_out))
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=titled(title, area, _t("title", lang, name=ft.name(lang)), lang),
                             sections=sections, lang=lang, date=date, cover=True)
        layers = {f"after_{k}": v for k, v in coverage_layers(res.after).items()}
        layers["suggested_sites"] = res.sites.to_crs(4326)
        paths["gpkg"] = write_gpkg(layers, tmp / "layers.gpkg")
        paths["map"] = _map(res, tmp / "map.html", lang=lang, basemap=basemap)
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths


def _map(res, path, *, lang, basemap):
    key = res.facility_type
    before, after = res.before, res.after
    extent = after.units if isinstance(after.units, gpd.GeoDataFrame) and len(after.units) else after.demand
    m = maps.base_map(extent, basemap=basemap, lang=lang)
    color = maps.CATEGORY_COLORS.get(key, "#555555")
    shown = site_table(res, lang)
    where = dict(zip(res.sites["id"].astype(str), shown["site_location"]))  # new sites by their road, not node ids
    for label_key, result, show, style in (
        ("before", before, False, {"color": "#718096", "fillColor": "#718096", "fillOpacity": 0.15, "weight": 1}),
        ("after", after, True, {"color": color, "fillColor": color, "fillOpacity": 0.15, "weight": 1}),
    ):
        sa = result.service_areas
        if len(sa):
            sa = sa.assign(geometry=sa.geometry.simplify(2.0),
                           facility_id=[where.get(str(f), f) for f in sa["facility_id"]])
            maps.add_polygons(m, sa[["facility_id", "geometry"]], name=_t(label_key, lang), style=style, tooltip_col="facility_id",
                              lang=lang, show=show)
    dem = after.demand
    unc = dem[~dem[f"{key}_covered"].astype(bool)]
    if len(unc):
        cols = [c for c in ("id", "pop", "pop_60", "pop_0_17", f"{key}_min") if c in unc]
        maps.add_points(m, gpd.GeoDataFrame(unc[cols], geometry=unc.geometry, crs=dem.crs), name=_t("uncovered", lang),
                        color="#e53e3e", radius=3, popup_cols=cols, lang=lang)
    fac = before.facilities
    ex = fac[fac["type"] == key]
    if len(ex):
        cols = [c for c in ("id", "name", "type") if c in ex]
        maps.add_points(m, gpd.GeoDataFrame(ex[cols], geometry=ex.geometry, crs=fac.crs), name=_t("existing", lang),
                        color=color, radius=8, popup_cols=cols, tooltip_col="name" if "name" in cols else None, lang=lang)
    for col in ("lon_wgs84", "lat_wgs84", "lon_gcj02", "lat_gcj02"):  # popups print floats at 2 decimals: 6 here
        if col in shown:
            shown[col] = ["" if pd.isna(v) else f"{v:.6f}" for v in shown[col]]
    sites = gpd.GeoDataFrame(shown, geometry=res.sites.geometry.to_numpy(), crs=res.sites.crs)
    cols = [c for c in shown.columns if c != "type"]
    maps.add_points(m, sites, name=_t("new", lang), color="#000000", radius=10, popup_cols=cols,
                    tooltip_col="site_location", lang=lang)
    return maps.finish(m, path, collapsed=True)
