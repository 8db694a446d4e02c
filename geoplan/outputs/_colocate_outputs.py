"""Write a :class:`~geoplan.suggest.ColocatedResult`: report, GeoPackage layers and a before/after map.

:meth:`ColocatedResult.save <geoplan.suggest.ColocatedResult.save>` delegates here, so that
planning several types never loads reports, maps or charts.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan._output import output_folder
from geoplan.outputs import maps
from geoplan.outputs._coverage_outputs import coverage_layers, write_gpkg
from geoplan.outputs._i18n import pick
from geoplan.outputs._report import Section, write_report
from geoplan.outputs._coverage_summary import header_lines
from geoplan.outputs._suggest_outputs import _SOLVERS, _word, titled
from geoplan.suggest._base import status_text
from geoplan.suggest._colocate import ColocatedResult

__all__ = ["write_colocated"]

_T = {
    "title": ("多类设施合址选址建议", "Site suggestion for several facility types"),
    "overview": ("概况", "Overview"),
    "sites": ("建议站点（按性价比排序）", "Suggested sites, ranked by people gained per cost"),
    "placements": ("各站点新增设施", "New facilities per site"),
    "shares": ("覆盖目标", "Coverage targets"),
    "compare": ("建设前后指标对比", "Indicators before and after"),
    "units": ("建设后各单位指标", "Indicators per unit after"),
    "infeasible": ("不可用的候选点", "Candidates left out"),
    "before": ("现状服务范围：{name}", "Service areas now: {name}"),
    "after": ("建设后服务范围：{name}", "Service areas after: {name}"),
    "uncovered": ("建设后仍未覆盖：{name}", "Still uncovered after: {name}"),
    "new": ("建议站点", "Suggested sites"),
    "existing": ("现有设施", "Existing facilities"),
}

#: Labels of this module's own columns (the shared label table in geoplan._i18n does not have them).
_COLS = {
    "types": ("新增设施类型", "New types"),
    "type_keys": ("类型代码", "Type keys"),
    "existing_type_keys": ("已有设施类型代码", "Existing type keys"),
    "existing_types": ("已有设施", "Already there"),
    "new_site": ("新建场所", "New building"),
    "colocated": ("合址（享受节省）", "Co-located (with saving)"),
    "cost": ("费用", "Cost"),
    "cost_without_saving": ("不合址费用", "Cost without saving"),
    "site_rank": ("站点排序", "Site rank"),
    "best_possible": ("全部候选可达", "Best possible"),
    "total_weight": ("总人数", "Total people"),
}


_t = functools.partial(pick, _T)


def _cols(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    i = 0 if lang == "zh" else 1
    return df.rename(columns={c: v[i] for c, v in _COLS.items() if c in df.columns})


def _overview(res: ColocatedResult, lang: str, data_note: str) -> str:
    sol = res.solution
    cat = res.after.catalogue
    names = "、".join(cat[k].name_zh for k in res.types) if lang == "zh" else ", ".join(cat[k].name_en for k in res.types)
    gap = ("未证明" if lang == "zh" else "not proven") if sol.gap is None else f"{sol.gap:.2%}"
    n_new = int(res.sites["new_site"].sum())
    n_old = len(res.sites) - n_new
    n_col = int(res.placements["colocated"].sum())
    lines = [data_note] if data_note else []
    if lang == "zh":
        lines.append(
            f"设施类型：{names}；求解：{_word(_SOLVERS, sol.solver, 'zh')}，结果：{status_text(sol.status, 'zh')}，最优性差距 {gap}，用时 {sol.seconds:.2f} 秒。"
            f"现有设施全部保留并计入，现有设施所在场所也可容纳新类型。建议新增设施 {len(res.placements)} 处，"
            f"分布在 {len(res.sites)} 个站点（新建场所 {n_new} 个，利用现有场所 {n_old} 个），其中 {n_col} 处与其他设施合址。"
        )
        lines.append(
            f"费用口径：单独设置一处设施计 {res.site_cost:g}，与其他设施合址（同一场所的第二、第三类设施，或进驻现有场所）"
            f"每处节省 {res.saving:g}。方案费用 {sol.cost:g}（不合址为 {sol.cost_without_saving:g}）。"
        )
    else:
        lines.append(
            f"Facility types: {names}; solver {_word(_SOLVERS, sol.solver, 'en')}, result: {status_text(sol.status, 'en')}, optimality gap {gap}, {sol.seconds:.2f} s. "
            f"Existing facilities are kept and counted, and their buildings may take new types. {len(res.placements)} new "
            f"facilities suggested at {len(res.sites)} sites ({n_new} new buildings, {n_old} existing ones); {n_col} share a "
            "building with another facility."
        )
        lines.append(
            f"Costs: one facility in a building of its own costs {res.site_cost:g}; a facility sharing a building (a second or "
            f"third type at one site, or moving into an existing building) costs {res.saving:g} less. Plan cost "
            f"{sol.cost:g} ({sol.cost_without_saving:g} without co-location)."
        )
    for k in res.types:
        un = sol.diagnostics.get("uncoverable_weight", {}).get(k)
        if un:
            lines.append(f"{cat[k].name_zh}：有 {un:g} 人不在任何站点的服务范围内（已计入分母）。" if lang == "zh" else
                         f"{cat[k].name_en}: {un:g} people are beyond the reach of every site (counted in the total).")
    return "\n\n".join(lines)


def _sites_table(res: ColocatedResult, lang: str) -> pd.DataFrame:
    """The sites without geometry; type names in the report's language (the data keeps Chinese)."""
    df = pd.DataFrame(res.sites.drop(columns="geometry"))
    if lang != "zh":
        cat = res.catalogue or res.after.catalogue
        for col, keys in (("types", "type_keys"), ("existing_types", "existing_type_keys")):
            df[col] = ["; ".join(cat[k].name_en for k in v.split(",")) if v else "" for v in df[keys]]
    return _cols(df, lang)


def write_colocated(res: ColocatedResult, folder, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm",
                    data_note: str = "", title: str | None = None, area: str | None = None,
                    date: str | None = None) -> dict:
    """Write the report (Markdown/HTML/Excel), GeoPackage layers and a before/after map, all-or-nothing.

    Returns the paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``map``.  An existing
    folder is replaced only with ``overwrite=True`` (:func:`geoplan._output.output_folder`).  ``title``,
    ``area``, ``date``: report title (default: area + standard title), area assessed, report date (ISO).
    """
    final = Path(folder)
    shares = res.solution.covered_share.drop(columns=["total_weight"])
    for c in ("before", "after", "target", "best_possible"):  # shares shown as percentages
        shares[c] = shares[c].map(lambda v: f"{v:.1%}")
    units = pd.DataFrame(res.after.units.drop(columns="geometry", errors="ignore"))
    sections = [
        Section(_t("overview", lang), text="\n\n".join(["\n".join(header_lines(res.after, lang, area=area, date=date)),
                                                             _overview(res, lang, data_note)])),
        Section(_t("sites", lang), table=_sites_table(res, lang)),
        Section(_t("placements", lang), table=_cols(pd.DataFrame(res.placements.drop(columns="geometry")), lang)),
        Section(_t("shares", lang), table=_cols(shares, lang)),
        Section(_t("compare", lang), table=res.comparison()),
        Section(_t("units", lang), table=units),
    ]
    if len(res.infeasible_candidates):
        sections.append(Section(_t("infeasible", lang), table=res.infeasible_candidates))
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=titled(title, area, _t("title", lang), lang), sections=sections, lang=lang,
                             date=date, cover=True)
        layers = {f"after_{k}": v for k, v in coverage_layers(res.after).items()}
        layers["suggested_sites"] = res.sites
        layers["suggested_facilities"] = res.placements
        paths["gpkg"] = write_gpkg(layers, tmp / "layers.gpkg")
        paths["map"] = _map(res, tmp / "map.html", lang=lang, basemap=basemap)
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths


def _map(res: ColocatedResult, path, *, lang, basemap):
    before, after = res.before, res.after
    extent = after.units if isinstance(after.units, gpd.GeoDataFrame) and len(after.units) else after.demand
    m = maps.base_map(extent, basemap=basemap, lang=lang)
    dem = after.demand
    for key in res.types:
        name = after.catalogue[key].name(lang)
        color = maps.CATEGORY_COLORS.get(key, "#555555")
        for label_key, result, show, col in (("before", before, False, "#718096"), ("after", after, True, color)):
            sa = result.service_areas
            sa = sa[sa["type"] == key] if len(sa) else sa
            if len(sa):
                sa = sa.assign(geometry=sa.geometry.simplify(2.0))
                maps.add_polygons(m, sa[["facility_id", "geometry"]], name=_t(label_key, lang, name=name),
                                  style={"color": col, "fillColor": col, "fillOpacity": 0.15, "weight": 1},
                                  tooltip_col="facility_id", lang=lang, show=show)
        unc = dem[~dem[f"{key}_covered"].astype(bool)]
        if len(unc):
            cols = [c for c in ("id", after.catalogue[key].weight, f"{key}_min") if c in unc]
            maps.add_points(m, gpd.GeoDataFrame(unc[cols], geometry=unc.geometry, crs=dem.crs),
                            name=_t("uncovered", lang, name=name), color="#e53e3e", radius=3, popup_cols=cols, lang=lang,
                            show=False)
    fac = before.facilities
    ex = fac[fac["type"].isin(res.types)]
    if len(ex):
        cols = [c for c in ("id", "name", "type") if c in ex]
        maps.add_points(m, gpd.GeoDataFrame(ex[cols], geometry=ex.geometry, crs=fac.crs), name=_t("existing", lang),
                        category_col="type", radius=8, popup_cols=cols, tooltip_col="name" if "name" in cols else None,
                        lang=lang)
    if len(res.sites):
        sites = _cols(res.sites[["rank", "types", "existing_types", "new_site", "cost", "id", "geometry"]], lang)
        pop = [c for c in sites.columns if c not in ("rank", "geometry")]
        maps.add_suggested_sites(m, sites, name=_t("new", lang), gain_col=None, popup_cols=pop,
                                 tooltip_col=_COLS["types"][0 if lang == "zh" else 1], color="#000000", lang=lang)
    return maps.finish(m, path, collapsed=True)
