"""The coverage map: a title, units passing or failing per type, service areas, demand, facilities.

Shown when the page opens (what a planner looks at first): the title, the first type's units by
pass/fail, its service area (light), its demand (uncovered points, or grid cells of uncovered people)
and the facilities.  Every other layer (the other types, coverage shares per unit) is in the layer
control, off.  Above ``max_points`` demand points the demand is drawn aggregated into grid cells
(:mod:`geoplan.outputs._map_demand`), so the page stays small and opens fast at a million points; the
points themselves are in the GeoPackage of the report folder.
"""

from __future__ import annotations

import functools
import html
import logging
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.outputs import maps
from geoplan.outputs._i18n import label, pick, type_caption
from geoplan.outputs._map_base import _NO_DATA, popup_rows
from geoplan.outputs._map_demand import add_demand_grid, add_demand_points, add_shared_polygons, aggregate_demand
from geoplan.outputs._map_legend import _class_colors

log = logging.getLogger("geoplan")

#: Demand points above which the map draws grid cells instead of points.
MAX_POINTS = 5000

_TXT = {
    "title": ("民政服务设施覆盖图：{types}", "Coverage of civil-affairs facilities: {types}"),
    "verdict": ("单位达标情况：{name}", "Units passing: {name}"),
    "verdict_legend": ("单位达标情况", "Units passing"),
    "verdict_col": ("达标情况", "Verdict"),
    "rule_col": ("判定依据", "Rule"),
    "pass": ("达标", "Passes"),
    "fail": ("未达标", "Fails"),
    "rule_units": ("有设施", "has a facility"),
    "rule_people": ("覆盖{what}≥{target}", "{what} covered ≥ {target}"),
    "rule_and": ("且", " and "),
    "units": ("覆盖率：{what}", "Share covered: {what}"),
    "facilities": ("现有设施", "Existing facilities"),
    "area": ("服务范围：{name}", "Service area: {name}"),
    "demand": ("需求点：{name}", "Demand: {name}"),
    "demand_legend": ("需求点", "Demand points"),
    "uncovered_item": ("未覆盖", "Not covered"),
    "covered_item": ("已覆盖", "Covered"),
    "grid": ("未覆盖人口（{cell} 米网格）：{name}", "People not covered ({cell} m grid): {name}"),
    "grid_legend": ("未覆盖{what}（每格）", "{what} not covered (per cell)"),
    "all_covered": ("全部覆盖", "All covered"),
    "grid_people": ("未覆盖{what}", "{what} not covered"),
    "n_uncovered": ("未覆盖需求点数", "Demand points not covered"),
    "n_points": ("需求点数", "Demand points"),
    "grid_note": ("需求点 {n:,} 个，按 {cell} 米网格汇总显示；逐点数据见 layers.gpkg 的 demand 图层。",
                  "{n:,} demand points, drawn summed in {cell} m grid cells; every point is in layers.gpkg, "
                  "layer demand."),
    "min": ("出行时间(分钟)", "Travel time (min)"),
    "nearest": ("最近设施", "Nearest facility"),
    "covered": ("已覆盖", "Covered"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "legend": ("覆盖率（所选设施类型）", "Share covered (type shown)"),
}
_PASS, _FAIL = "#38a169", "#e53e3e"

_t = functools.partial(pick, _TXT)


def unit_verdicts(units: pd.DataFrame, catalogue) -> pd.Series:
    """Whether each unit passes for its type: 1.0 passes, 0.0 fails, NaN cannot be judged.

    A unit passes when it has a facility of the type (types with a target share of units with a
    facility) and, for types with a people target, when the share of its people (the type's weight)
    within the cutoff reaches that target; both when the type has both; a type with neither target
    is judged by whether the unit has a facility.

    Parameters
    ----------
    units
        The per-unit indicator table of a coverage result (``type``, ``has_facility``,
        ``share_<weight>_covered``).
    catalogue
        The result's catalogue.

    Returns
    -------
    pandas.Series
        Aligned to ``units``.
    """
    out = pd.Series(np.nan, index=units.index, dtype=float)
    for ft in catalogue:
        sel = (units["type"] == ft.key).to_numpy()
        if not sel.any():
            continue
        has = units.loc[sel, "has_facility"].astype(bool).to_numpy()
        ok = np.ones(int(sel.sum()), dtype=float)
        if ft.unit_targets or ft.people_target is None:
            ok *= has
        if ft.people_target is not None:
            share = pd.to_numeric(units.loc[sel, f"share_{ft.weight}_covered"], errors="coerce").to_numpy(float)
            ok = np.where(np.isfinite(share), ok * (share >= ft.people_target - 1e-12), np.nan)
        out[sel] = ok
    return out


def _has_shape(frame) -> bool:
    return (isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.geometry.name in frame
            and len(frame) > 0)


def map_units(units, level: str | None = None):
    """The unit rows a map draws: those with geometry, at one level (``level`` when it has shapes, else the
    township level, else the village level); None when no unit has geometry."""
    if not _has_shape(units):
        return None
    g = units.geometry
    u = units[(g.notna() & ~g.is_empty).to_numpy()]
    if not len(u):
        return None
    if "level" in u:
        levels = [lv for lv in (level, "township", "village") if lv and (u["level"] == lv).any()]
        if levels:
            u = u[(u["level"] == levels[0]).to_numpy()]
    return u


def can_map(result) -> bool:
    """Whether a map can be drawn: some unit has geometry, or there are demand points."""
    return map_units(result.units) is not None or _has_shape(getattr(result, "demand", None))


def _whole_people(df: pd.DataFrame) -> pd.DataFrame:
    """People columns rounded to whole people for display (estimates carry decimals)."""
    cols = [c for c in df.columns if c.startswith("pop") and not c.startswith("pop_share")
            and pd.api.types.is_float_dtype(df[c])]
    return df.assign(**{c: df[c].round() for c in cols}) if cols else df


def _rule(ft, lang: str) -> str:
    parts = []
    if ft.unit_targets or ft.people_target is None:
        parts.append(_t("rule_units", lang))
    if ft.people_target is not None:
        parts.append(_t("rule_people", lang, what=label(ft.weight, lang), target=f"{ft.people_target:.0%}"))
    return _t("rule_and", lang).join(parts)


def default_title(result, lang: str = "zh", *, area: str | None = None) -> str:
    """The map title from the area (if given) and the types' names."""
    names = ("、" if lang == "zh" else ", ").join(result.catalogue[t].name(lang) for t in result.catalogue.keys)
    title = _t("title", lang, types=names)
    return f"{area}{title}" if area and lang == "zh" else (f"{area}: {title}" if area else title)


def _simplified(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Outlines simplified by ``tolerance_m`` metres (in the local UTM zone), back in the layer's CRS."""
    if gdf.crs is None or not len(gdf):
        return gdf
    proj = gdf.to_crs(gdf.estimate_utm_crs()) if gdf.crs.is_geographic else gdf
    out = proj.assign(geometry=proj.geometry.simplify(tolerance_m, preserve_topology=True))
    return out.to_crs(gdf.crs)


def _units_layers(m, result, lang: str, tolerance_m: float) -> None:
    """Pass/fail per type (the first shown) and coverage shares per type (off), one legend each.

    The unit outlines go into the page once; every layer styles them by its own values.
    """
    cat = result.catalogue
    units = map_units(result.units)
    units = units.assign(_verdict=unit_verdicts(units, cat))
    first = units.drop_duplicates("unit_code")
    polys = _simplified(first[["unit_code", "geometry"]], tolerance_m)
    code_pos = pd.Index(first["unit_code"])
    vcol, rcol = _t("verdict_col", lang), _t("rule_col", lang)
    tips = ([html.escape(str(v)) for v in first["unit_name"].tolist()] if "unit_name" in first else [""] * len(first))
    values, popups, verdict_layers, share_layers = [], [], [], []
    share_colors = _class_colors(5, "YlGn")
    for i, t in enumerate(cat.keys):
        ft = cat[t]
        sub = _whole_people(units[units["type"] == t])
        pos = code_pos.get_indexer(sub["unit_code"])
        col = f"share_{ft.weight}_covered"
        v = sub["_verdict"]
        sub = sub.assign(**{vcol: np.where(v.isna(), label("no_data", lang),
                                           np.where(v == 1, _t("pass", lang), _t("fail", lang))),
                            rcol: _rule(ft, lang)})
        cols = [c for c in ("unit_code", "unit_name", vcol, rcol, "n_facilities", ft.weight, f"{ft.weight}_covered", col,
                            "median_min", "p90_min") if c in sub]
        rows = [""] * len(first)
        for p_, r in zip(pos, popup_rows(sub, cols, lang)):
            rows[p_] = r
        popups.append(rows)
        for what in ("_verdict", col):
            arr = np.full(len(first), np.nan)
            arr[pos] = pd.to_numeric(sub[what], errors="coerce").to_numpy(float)
            values.append(arr)
        name = type_caption(result, t, lang)
        verdict_layers.append({"name": _t("verdict", lang, name=name), "show": i == 0, "popup": i, "edges": [0.5, 1.0],
                               "colors": [_FAIL, _PASS], "nodata": _NO_DATA, "opacity": 0.35})
        share_layers.append({"name": _t("units", lang, what=f"{name} — {label(col, lang)}"), "show": False, "popup": i,
                             "edges": [0.2, 0.4, 0.6, 0.8, 1.0], "colors": share_colors, "nodata": _NO_DATA,
                             "opacity": 0.6})
    specs = [s_ for pair in zip(verdict_layers, share_layers) for s_ in pair]  # type by type in the control
    groups = add_shared_polygons(m, polys, values=np.column_stack(values), popups=popups, tooltips=tips, layers=specs)
    vals = np.column_stack(values)
    no_data = [(_NO_DATA, str(label("no_data", lang)))]
    items = [(_PASS, _t("pass", lang)), (_FAIL, _t("fail", lang))]
    maps.add_legend(m, items + (no_data if np.isnan(vals[:, 0::2]).any() else []), title=_t("verdict_legend", lang),
                    layer=groups[0::2])
    shares = [(c, f"{lo:.0%} – {hi:.0%}") for c, lo, hi in zip(share_colors, (0, .2, .4, .6, .8), (.2, .4, .6, .8, 1))]
    maps.add_legend(m, shares + (no_data if np.isnan(vals[:, 1::2]).any() else []), title=_t("legend", lang),
                    layer=groups[1::2])


def _service_areas(m, result, lang: str, tolerance_m: float) -> None:
    """One light outline per type (the union of its facilities' areas), the first type shown."""
    sa = getattr(result, "service_areas_by_type", None)
    if sa is None or not len(sa):
        return
    for i, t in enumerate(result.catalogue.keys):
        part = sa[sa["type"] == t]
        if not len(part):
            continue
        if part.crs is not None and part.crs.is_projected:
            part = part.assign(geometry=part.geometry.simplify(tolerance_m))  # metres: keeps the page small
        color = maps.CATEGORY_COLORS.get(t, "#555555")
        maps.add_polygons(
            m, part[["geometry"]], name=_t("area", lang, name=type_caption(result, t, lang)),
            style={"color": color, "fillColor": color, "fillOpacity": 0.06, "weight": 1, "opacity": 0.6,
                   "dashArray": "4 3"},
            lang=lang, show=(i == 0),
        )


def _demand_layers(m, result, lang: str, max_points: int, cell_m: float | None) -> str:
    """Demand per type, points or grid cells; returns the note for the title box ('' for points)."""
    cat = result.catalogue
    dem = result.demand
    if dem is None:  # presence only: no demand
        return ""
    if len(dem) <= max_points:
        cols = [c for c in ("id", "name", "pop", "pop_60", "pop_0_17", "unit_code") if c in dem]
        types = [(t, _t("demand", lang, name=type_caption(result, t, lang))) for t in cat.keys]
        labels = {k: _t(k, lang) for k in ("min", "nearest", "covered", "yes", "no", "uncovered_item", "covered_item")}
        add_demand_points(m, _whole_people(dem), types=types, popup_cols=cols, tooltip_col="name" if "name" in dem else None,
                          labels=labels, lang=lang, legend_title=_t("demand_legend", lang))
        return ""
    cells = aggregate_demand(dem, types=cat.keys, weights=[cat[t].weight for t in cat.keys], cell_m=cell_m)
    cell = f"{cells.attrs['cell_m']:,.0f}"
    types = [(t, _t("grid", lang, cell=cell, name=type_caption(result, t, lang))) for t in cat.keys]
    labels = {"uncovered": [_t("grid_people", lang, what=label(cat[t].weight, lang)) for t in cat.keys],
              "n_uncovered": _t("n_uncovered", lang),
              "n_points": _t("n_points", lang), "all_covered": _t("all_covered", lang)}
    titles = [_t("grid_legend", lang, what=label(cat[t].weight, lang)) for t in cat.keys]
    add_demand_grid(m, cells, types=types, labels=labels, legend_titles=titles)
    return _t("grid_note", lang, n=len(dem), cell=cell)


def coverage_map(result: "geoplan.coverage.CoverageResult", path: str | Path, *, lang: str = "zh",
                 basemap: str = "osm", overwrite: bool = False, title: str | None = None, area: str | None = None,
                 max_points: int = MAX_POINTS, cell_m: float | None = None) -> Path:
    """Write the coverage map of a :class:`~geoplan.coverage.CoverageResult` as one HTML file.

    Layer names carry each type's travel mode and cutoff as used in the result (never the config's).
    Building it costs time linear in the number of demand points.

    Parameters
    ----------
    result
        A coverage result.
    path
        The HTML file to write.
    lang
        ``"zh"`` (default) or ``"en"``.
    basemap
        Basemap, as for :func:`geoplan.outputs.maps.base_map`.
    overwrite
        Replace an existing file.
    title
        Title shown on the map (default: from ``area`` and the types' names).
    area
        Name of the area (e.g. ``"雨湖区"``), put before the default title.
    max_points
        Up to this many demand points are drawn one by one; above it, summed into grid cells.
    cell_m
        Grid cell side in metres (default: a round size chosen from the extent).

    Returns
    -------
    pathlib.Path
        The file written (from :func:`geoplan.outputs.maps.finish`).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False (see :func:`geoplan.outputs.maps.finish`).
    """
    started = time.perf_counter()
    drawn = map_units(result.units)
    has_units = drawn is not None
    layers = [g for g in (drawn, result.demand) if _has_shape(g)]
    if not layers:
        from geoplan._errors import InputError

        raise InputError("no map: no unit has geometry and there are no demand points", field="geometry")
    b = np.array([g.to_crs(4326).total_bounds if g.crs != "EPSG:4326" else g.total_bounds for g in layers])
    bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())  # units and demand both in view
    m = maps.base_map(bounds, basemap=basemap, lang=lang)
    span_m = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) * 111_000.0  # degrees to metres, roughly
    tolerance_m = max(1.0, span_m / 20_000)  # below a screen pixel at full extent: keeps the page small
    if has_units:
        _units_layers(m, result, lang, tolerance_m)
    _service_areas(m, result, lang, tolerance_m=max(2.0, tolerance_m))
    note = _demand_layers(m, result, lang, max_points, cell_m)
    fac = result.facilities
    if _has_shape(fac):  # a presence run's register may be a plain table (codes, no places)
        fac = fac[fac.geometry.notna().to_numpy()]
        fcols = [c for c in ("id", "name", "type", "unit_code", "snap_m") if c in fac]
        view = gpd.GeoDataFrame(pd.DataFrame(fac[fcols]), geometry=fac.geometry.to_numpy(), crs=fac.crs)
        radius = 7 if len(view) <= 300 else 5  # many facilities: smaller markers overlap less at the full extent
        maps.add_points(m, view, name=_t("facilities", lang), category_col="type", colors=maps.CATEGORY_COLORS,
                        radius=radius, popup_cols=fcols, tooltip_col="name", lang=lang)
    maps.add_title(m, title or default_title(result, lang, area=area), note=note)
    out = maps.finish(m, path, overwrite=overwrite, collapsed=True)
    log.info("map.html: %d demand points, %.1f s, %.1f MB", 0 if result.demand is None else len(result.demand),
             time.perf_counter() - started,
             out.stat().st_size / 1e6)
    return out
