"""Write a :class:`~geoplan.coverage.CoverageResult` as a report folder.

The folder holds ``report.md``/``report.html``/``report.xlsx``, a GeoPackage
``layers.gpkg`` (and GeoJSON copies) and ``map.html``; it is written
all-or-nothing through :func:`geoplan._output.output_folder`.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geoplan._fork import started
from geoplan._output import output_folder
from geoplan.coverage._checks import CHECK_NAMES
from geoplan.outputs import figures
from geoplan.outputs._coverage_map import can_map, coverage_map
from geoplan.outputs._docx import _chinese_number
from geoplan.outputs._coverage_summary import (
    catalogue_source, dashboard, group_noun, header_lines, kind_text, level_text, method_notes, presence_only,
    report_title, short_type, standards_table, summary_sentences, summary_table, times_table, village_kinds, whole,
)
from geoplan.outputs._i18n import in_lang, label, pick, type_caption
from geoplan.outputs._report import Section, write_report

log = logging.getLogger("geoplan")

_T = {
    "title": ("民政服务设施网络覆盖评估报告", "Network coverage of civil-affairs facilities"),
    "overview": ("概况", "Overview"),
    "summary": ("指标与目标", "Indicators against targets"),
    "units": ("各单位指标：{name}", "Indicators per unit: {name}"),
    "gaps": ("覆盖缺口（按受影响人数排序）", "Coverage gaps, ranked by people affected"),
    "facilities": ("设施清单", "Facilities"),
    "standards": ("服务标准与目标来源", "Service standards and sources of targets"),
    "network": ("路网", "Road network"),
    "notes": ("说明", "Notes"),
    "checks": ("输入数据检查", "Input checks"),
    "checks_none": ("未发现问题。", "Nothing found."),
    "modes": ("各类设施的出行方式（实际计算所用路网）：", "Travel mode per facility type (the network each was measured on): "),
    "figure_units": ("各单位人口覆盖率与目标", "Share of people covered per unit against target"),
    "figure_times": ("出行时间分布", "Travel-time distribution"),
    "dashboard": ("各单位达标一览", "Each unit at a glance"),
    "dashboard_note": ("按乡镇（街道）列出各类设施：按单位考核的类型写“有/无”（单位内是否已建），按人口考核的类型写"
                       "“达标/未达标”（单位内人口覆盖率是否达到目标）。",
                       "One row per unit: for types judged by units, whether the unit has one (yes/no); for types "
                       "judged by people, whether the unit's share of people covered meets the target."),
    "dashboard_sheet": ("达标一览", "Each unit at a glance"),
    "summary_sheet": ("指标与目标", "Indicators and targets"),
    "times": ("出行时间", "Travel times"),
    "dashboard_villages": ("形如“3/5”的列：辖内已有该类设施的村（社区）数 / 应统计的村（社区）数。",
                           "Columns such as 3/5: villages/communities of the unit with such a facility / those "
                           "counted."),
    "villages": ("各村（社区）设施一览", "Facilities in each village and community"),
    "villages_note": ("每个村（社区）一行，按所属乡镇（街道）排列：“有/无”为村（社区）内是否已有该类设施；"
                      "“—”表示该类设施的目标不统计这类单位且其中没有设施。",
                      "One row per village or community, by its street/township: yes/no, whether it has such a "
                      "facility; \u201c—\u201d: the type's target does not count such units and there is none."),
    "villages_sheet": ("村（社区）", "villages"),
    "presence_counts": ("本次评估已建成设施 {n_fac} 处，{units}；按设施所属单位判断各单位是否已有设施，"
                        "不计算出行时间。",
                        "{n_fac} built facilities were placed in {units}; whether each unit has a facility is "
                        "assessed, without travel times."),
    "no_map": ("各单位没有边界或位置数据（代码表），未生成地图（map.html 和打印地图）。",
               "The units have no boundaries or locations (code tables): no map (map.html or print maps) was made."),
    "sources": ("数据来源与方法说明", "Data sources and method"),
}


_t = functools.partial(pick, _T)


def _unit_counts(result, lang: str) -> str:
    """``乡镇（街道）70 个、村（社区）957 个`` / ``70 township-level and 957 village-level units``."""
    u = result.units
    levels = u["level"] if "level" in u else pd.Series("township", index=u.index)
    parts = []
    for level in ("township", "village"):
        n = u.loc[(levels == level).to_numpy(), "unit_code"].nunique()
        if n:
            parts.append(f"{level_text(level, lang)}{n} 个" if lang == "zh" else
                         f"{n} {level_text(level, lang).lower().replace(' level', '-level')} units")
    return ("、" if lang == "zh" else " and ").join(parts)


def overview_text(result, *, lang: str, data_note: str = "", area: str | None = None,
                  date: str | None = None, lead=(), map_note: bool = False) -> str:
    """The overview: area, dates, the network measured on, and one sentence per type and level against its target.

    ``data_note`` (where the data come from) goes to the sources section (:func:`sources_text`); it is
    accepted here for callers that pass it.  ``lead``: lines put first (e.g. that the data are
    illustrative); ``map_note``: say that no map was made (no unit has geometry).
    """
    zh = lang == "zh"
    lines = [str(x) for x in ([lead] if isinstance(lead, str) else lead) if str(x)]
    lines.append("\n".join(header_lines(result, lang, area=area, date=date)))
    if presence_only(result):
        lines.append(_t("presence_counts", lang, n_fac=len(result.facilities), units=_unit_counts(result, lang)))
    else:
        n_dem, n_fac = len(result.demand), len(result.facilities)
        reports = getattr(result, "network_reports", None) or {None: result.network_report}
        nets = []
        for mode, rep in reports.items():
            nodes, edges = (f"{int(v):,}" if str(v).isdigit() else v for v in (rep.get("nodes", "?"), rep.get("edges", "?")))
            name = "" if mode is None else label(mode, lang)
            nets.append(f"{name}路网节点 {nodes} 个、边 {edges} 条" if zh else
                        f"a {name.lower() + ' ' if name else ''}network of {nodes} nodes and {edges} edges")
        lines.append(f"本次评估需求点 {n_dem:,} 个、设施 {n_fac:,} 处，" + "；".join(nets) + "。" if zh else
                     f"{n_dem} demand points and {n_fac} facilities were assessed on " + "; ".join(nets) + ".")
        lines.append(_t("modes", lang) + ("；" if zh else "; ").join(type_caption(result, t, lang)
                                                                       for t in result.catalogue.keys))
    # numbered as an official document numbers its points: （一）（二）…
    lines += [(f"（{_chinese_number(i)}）" if zh and i < 100 else "- ") + s
              for i, s in enumerate(summary_sentences(result, lang=lang, area=area), start=1)]
    if result.notes:
        texts = [n.text(lang) if hasattr(n, "text") else str(n) for n in result.notes]
        lines.append(("说明：" if zh else "Notes: ") + ("；" if zh else "; ").join(texts))
    if map_note:
        lines.append(_t("no_map", lang))
    return "\n\n".join(lines)


def village_table(result, lang: str) -> pd.DataFrame:
    """One row per village-level unit with its township, people and, per type counted over villages, 有/无/—."""
    u = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    if "level" not in u or not (u["level"] == "village").any():
        return pd.DataFrame()
    vil = u[u["level"] == "village"]
    first = vil[vil["type"] == result.catalogue.keys[0]].set_index("unit_code")
    tw_names = u[u["level"] != "village"].drop_duplicates("unit_code").set_index("unit_code")["unit_name"]
    out = pd.DataFrame({"township": first["parent_code"].map(tw_names).to_numpy(), "unit_code": first.index,
                        "unit_name": first["unit_name"].to_numpy(),
                        "unit_kind": [kind_text(k, lang) for k in first["unit_kind"]]})
    for col in ("pop", "pop_60", "pop_0_17"):
        if col in first and pd.to_numeric(first[col], errors="coerce").fillna(0).gt(0).any():
            out[col] = [whole(v) for v in first[col]]
    yes, no = in_lang(lang, "有", "yes"), in_lang(lang, "无", "no")
    for t in result.catalogue.keys:
        ft = result.catalogue[t]
        kinds = village_kinds(ft)
        if kinds is None:
            continue
        sub = vil[vil["type"] == t].set_index("unit_code").reindex(first.index)
        counted = sub["unit_kind"].isin(kinds) if kinds else pd.Series(True, index=sub.index)
        has = sub["has_facility"].fillna(False).astype(bool)
        out[ft.name(lang)] = [yes if h else no if c else "—" for h, c in zip(has, counted)]
    return out


def _figures(result, lang: str) -> list[Section]:
    """Charts when a font renders the labels."""
    out = []
    try:
        units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
        # the first type judged by people, so the chart shows its target line; else the first type
        key = next((t for t in result.catalogue.keys if result.catalogue[t].people_target is not None),
                   result.catalogue.keys[0])
        sub = units[units["type"] == key]
        if len(sub) > 1:
            ft = result.catalogue[key]
            col = f"share_{ft.weight}_covered"
            target = ft.people_target if ft.people_target is not None else None
            png = figures.coverage_by_unit(sub, value=col, target=target, label_col="unit_name", lang=lang,
                                           title=in_lang(lang, f"{ft.name(lang)}：各单位{group_noun(ft.weight, lang)}覆盖率",
                                                         f"{ft.name(lang)}: share of {group_noun(ft.weight, lang)} covered"))
            out.append(Section(_t("figure_units", lang) + f" — {ft.name(lang)}", figure=png))
        mins = {type_caption(result, t, lang): result.demand[f"{t}_min"] for t in result.catalogue.keys}
        # each type's own cutoff, dashed in its colour (one line at the largest misread the 5-minute types)
        cut = {type_caption(result, t, lang): result.catalogue[t].cutoff_min for t in result.catalogue.keys}
        out.append(Section(_t("figure_times", lang), figure=figures.travel_time_hist(mins, cutoff_min=cut, lang=lang)))
    except Exception as exc:  # a chart must never sink the report
        log.warning("figures skipped: %s", exc)
    return out


def _named_types(df: pd.DataFrame, result, lang: str) -> pd.DataFrame:
    """Every type by its table name: the label of a built-in key, a config's type (殡仪馆) by its catalogue name."""
    if "type" not in df.columns or not len(df):
        return df
    names = {ft.key: ft.name(lang) for ft in result.catalogue}
    out = df.copy()
    out["type"] = out["type"].map(lambda t: names.get(t, t))
    return out


def _unit_rows(units: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A per-unit table for the report: kinds by label, no columns that say nothing."""
    out = units.drop(columns=[c for c in ("type", "mode") if c in units])
    out = out.drop(columns=[c for c in out.columns if c != "unit_kind" and out[c].isna().all()])
    if "level" in out:
        out = out.assign(level=[level_text(v, lang) for v in out["level"]])
    if "unit_kind" in out:
        out = out.drop(columns="unit_kind") if out["unit_kind"].isna().all() else \
            out.assign(unit_kind=[kind_text(k, lang) for k in out["unit_kind"]])
    return out


def _consistent_gaps(result) -> pd.DataFrame:
    """The gaps with whole people that add up: uncovered = rounded unit total - rounded covered.

    Each figure rounded on its own (2,042.6 - 317.3 = 1,725.3) would print 2,043 - 317 = 1,725 beside the
    per-unit table; the difference of the rounded figures is what the reader checks.
    """
    gaps = result.gaps.copy()
    units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    if not len(gaps) or not {"unit_code", "type"} <= set(units.columns):
        return gaps
    keyed = units.drop_duplicates(["unit_code", "type"]).set_index(["unit_code", "type"])
    people = []
    for code, t, w, v in zip(gaps["unit_code"], gaps["type"], gaps["weight"], gaps["people_uncovered"]):
        tot = keyed[w].get((code, t)) if w in keyed else None
        cov = keyed[f"{w}_covered"].get((code, t)) if f"{w}_covered" in keyed else None
        people.append(whole(v) if whole(tot) is None or whole(cov) is None else whole(tot) - whole(cov))
    gaps["people_uncovered"] = people
    gaps = gaps[gaps["people_uncovered"] > 0]
    return gaps.sort_values("people_uncovered", ascending=False, kind="stable").reset_index(drop=True)


def _gaps(result, lang: str) -> pd.DataFrame:
    """Uncovered people per unit and type, the group by its name (60岁以上人口, or 低保户数 as it is)."""
    gaps = _consistent_gaps(result)
    gaps = _named_types(gaps, result, lang).drop(columns=["mode"], errors="ignore")
    if "weight" in gaps:
        gaps = gaps.assign(weight=[group_noun(w, lang) for w in gaps["weight"]]).rename(columns={"weight": "served"})
    return gaps


def coverage_sections(result, *, lang: str = "zh", data_note: str = "", area: str | None = None,
                      date: str | None = None, lead=(), map_note: bool = False) -> list[Section]:
    """The report's sections for a coverage result.

    A presence-only result (:func:`geoplan.coverage.assess_presence`: no demand) has no travel-time,
    chart or gap sections; with village rows its units are the dashboard (one row per 街道/乡镇) and one
    village table (one sheet), not a table per type.

    Parameters
    ----------
    result
        A coverage result.
    lang
        ``"zh"`` or ``"en"``.
    data_note
        Where the data come from (printed under the data sources).
    area
        The area assessed (评估范围), printed in the overview.
    date
        The report date (default ``SOURCE_DATE_EPOCH``, else today).
    lead
        Lines put first in the overview (e.g. that the data are illustrative).
    map_note
        Say in the overview that no map was made (no unit has geometry).

    Returns
    -------
    list of Section
    """
    presence = presence_only(result)
    secs = [Section(_t("overview", lang), text=overview_text(result, lang=lang, area=area, date=date, lead=lead,
                                                             map_note=map_note))]
    board = dashboard(result, lang)
    vtable = village_table(result, lang) if presence else pd.DataFrame()
    if len(board):
        note = _t("dashboard_note", lang)
        if any("/" in str(v) for v in board.iloc[0].tolist()):
            note += ("" if lang == "zh" else " ") + _t("dashboard_villages", lang)
        secs.append(Section(_t("dashboard", lang), text=note, table=board, sheet=_t("dashboard_sheet", lang)))
    secs.append(Section(_t("summary", lang), table=summary_table(result, lang), sheet=_t("summary_sheet", lang)))
    if len(vtable):
        secs.append(Section(_t("villages", lang), text=_t("villages_note", lang), table=vtable,
                            sheet=_t("villages_sheet", lang)))
    if not presence:
        secs.append(Section(_t("times", lang), table=times_table(result, lang)))
    units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    for t in ([] if len(vtable) else result.catalogue.keys):
        ft = result.catalogue[t]
        caption = ft.name(lang) if presence else type_caption(result, t, lang)
        secs.append(Section(_t("units", lang, name=caption),
                            table=_unit_rows(units[units["type"] == t], lang), sheet=short_type(ft, lang)))
    if not presence:
        secs.extend(_figures(result, lang))
        secs.append(Section(_t("gaps", lang), table=_gaps(result, lang)))
    fac_cols = [c for c in ("id", "name", "type", "unit_code", "year_built", "snap_m", "too_far")
                if c in result.facilities]
    fac = pd.DataFrame(result.facilities[fac_cols]).rename(columns={"year_built": "year"})  # 年份: the year built
    secs.append(Section(_t("facilities", lang), table=_named_types(fac, result, lang)))
    secs.append(checks_section(result, lang))
    secs.append(Section(_t("standards", lang), text=catalogue_source(result.catalogue, lang),
                        table=standards_table(result.catalogue, lang, getattr(result, "modes", None),
                                              presence=presence)))
    secs.append(Section(_t("sources", lang), text=method_notes(result, lang, data_note)))
    return secs


def checks_table(result, lang: str) -> pd.DataFrame:
    """The input checks in the report's language (one row per unit, facility or group found)."""
    checks = getattr(result, "checks", None)
    zh = lang == "zh"
    cols = ["检查", "对象", "名称", "文件", "行", "说明"] if zh else ["Check", "Item", "Name", "File", "Row", "Detail"]
    if checks is None or not len(checks):
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame({
        cols[0]: [CHECK_NAMES.get(c, (c, c))[0 if zh else 1] for c in checks["check"]],
        cols[1]: checks["item"].to_numpy(),
        cols[2]: checks["name"].to_numpy(),
        cols[3]: [Path(f).name if isinstance(f, str) and f else f for f in checks["file"]],
        cols[4]: checks["row"].to_numpy(),
        cols[5]: checks["detail_zh" if zh else "detail_en"].to_numpy(),
    })
    return out


def checks_section(result, lang: str) -> Section:
    table = checks_table(result, lang)
    if not len(table):
        return Section(_t("checks", lang), text=_t("checks_none", lang))
    return Section(_t("checks", lang), table=table, sheet="检查" if lang == "zh" else "Input checks")


def coverage_layers(result: "geoplan.coverage.CoverageResult") -> dict[str, gpd.GeoDataFrame]:
    """GeoDataFrames to write, all in WGS-84 (EPSG:4326).

    Parameters
    ----------
    result
        A coverage result.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``demand``, ``facilities``, ``service_areas``, ``service_areas_by_type`` and, when the result
        has unit polygons, ``unit_indicators``; mixed-type object columns are turned into text.
    """
    layers = {
        "demand": result.demand,
        "facilities": result.facilities,
        "service_areas": result.service_areas,
        "service_areas_by_type": result.service_areas_by_type,
    }
    if isinstance(result.units, gpd.GeoDataFrame):
        layers["unit_indicators"] = result.units
    # a presence-only result: no demand or service areas, and plain tables (codes, no geometry) are no layer
    return {name: _for_file(gdf) for name, gdf in layers.items() if _geo(gdf)}


def _geo(frame) -> bool:
    """A layer that can be written: a GeoDataFrame with a CRS and some geometry."""
    return (isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.geometry.name in frame
            and bool(frame.geometry.notna().any()))


def _for_file(gdf):
    """WGS-84 copy whose mixed-type object columns are text (GDAL writes one type per field)."""
    g = gdf.to_crs(4326).copy()
    for col in g.columns:
        if col != g.geometry.name and g[col].dtype == object:
            g[col] = g[col].astype("string")
    return g


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """Write the non-empty layers into one GeoPackage (inside an output_folder, so all-or-nothing).

    Parameters
    ----------
    layers
        Layer name to GeoDataFrame (any CRS; written in WGS-84); empty layers are skipped.
    path
        The ``.gpkg`` file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    for name, gdf in layers.items():
        if len(gdf):
            g = _for_file(gdf)
            # Arrow batches when every column is a plain type (same fields as feature by feature, a third less
            # CPU on a million points); a column pyarrow might type otherwise goes the feature-by-feature way.
            g.to_file(path, layer=name, driver="GPKG", use_arrow=_arrow_safe(g))
    return path


def _arrow_safe(gdf) -> bool:
    """Every attribute column is numeric, bool or text (a string dtype, or objects that are all text)."""
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        dt = gdf[col].dtype
        if isinstance(dt, pd.StringDtype) or dt.kind in "biuf":
            continue
        if dt == object and pd.api.types.infer_dtype(gdf[col], skipna=True) in ("string", "empty"):
            continue
        return False
    return True


#: Above this many features, or this many coordinates, a layer gets no GeoJSON copy (100,000 demand points
#: make a 74 MB text file, 2,000 service areas about 20 MB, that no web tool opens comfortably, and writing them
#: costs more than the GeoPackage); the GeoPackage holds it, and the report says so.
GEOJSON_MAX_FEATURES = 50_000
GEOJSON_MAX_COORDINATES = 250_000


def _too_big(gdf) -> bool:
    """A layer past the GeoJSON copy's limits."""
    return (len(gdf) > GEOJSON_MAX_FEATURES
            or int(shapely.get_num_coordinates(gdf.geometry.to_numpy()).sum()) > GEOJSON_MAX_COORDINATES)


def _geojson_note(skipped: dict[str, int], lang: str) -> str:
    """The sentence of the report's sources section on per-point layers left out of the GeoJSON copies."""
    zh_names = {"demand": "需求点", "facilities": "设施", "unit_indicators": "单位指标",
                "service_areas": "服务范围", "service_areas_by_type": "各类设施服务范围"}
    if lang == "zh":
        what = "、".join(f"{zh_names.get(k, '其他')}图层（{n:,} 个要素）" for k, n in skipped.items())
        return (f"{what}数据量大，仅保存在 layers.gpkg 中；要素超过 {GEOJSON_MAX_FEATURES:,} 个或坐标点超过 "
                f"{GEOJSON_MAX_COORDINATES:,} 个的图层不另存逐要素文本副本，以免文件过大、难以打开。")
    what = ", ".join(f"the {k} layer ({n:,} features)" for k, n in skipped.items())
    return (f"{what[0].upper() + what[1:]} is in layers.gpkg only: layers over {GEOJSON_MAX_FEATURES:,} features or "
            f"{GEOJSON_MAX_COORDINATES:,} coordinates get no GeoJSON copy, which would be too large to open comfortably.")


def write_run_summary(result, path: Path) -> Path:
    """The machine-readable summary of a run (``summary.csv``, UTF-8 with BOM) that ``geoplan compare`` reads.

    The summary's columns plus ``type_name_zh``, ``type_name_en`` and ``as_of`` (ISO date or empty).
    """
    s = result.summary.copy()
    names = {ft.key: (ft.name_zh, ft.name_en) for ft in result.catalogue}
    s["type_name_zh"] = s["type"].map(lambda t: names.get(t, (t, t))[0])
    s["type_name_en"] = s["type"].map(lambda t: names.get(t, (t, t))[1])
    s["as_of"] = result.as_of.isoformat() if getattr(result, "as_of", None) is not None else ""
    # 12 significant digits: no float noise (8458.599999999999) for a reader opening it in Excel, and exact
    # enough that geoplan compare of a run against itself shows no change
    s.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.12g")
    return path


def write_presence_tables(result, folder: Path) -> dict[str, Path]:
    """A presence-only result's full tables as CSV (UTF-8 with BOM): ``units.csv``, one row per unit and type
    (every village, which the report shows only as counts per township), and ``checks.csv``."""
    out = {}
    units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    for name, frame in (("units", units), ("checks", getattr(result, "checks", None))):
        if frame is not None:
            out[name] = Path(folder) / f"{name}.csv"
            pd.DataFrame(frame).to_csv(out[name], index=False, encoding="utf-8-sig")
    return out


def write_coverage(
    result: "geoplan.coverage.CoverageResult",
    folder: str | Path,
    *,
    lang: str = "zh",
    title: str | None = None,
    data_note: str = "",
    overwrite: bool = False,
    basemap: str = "osm",
    area: str | None = None,
    date: str | None = None,
    map: bool = True,
    lead=(),
) -> dict[str, Path]:
    """Write the whole report folder; returns the paths of what was written.

    A presence-only result (:func:`geoplan.coverage.assess_presence`) gets the same folder without
    travel times or demand layers; when no unit has geometry there is no map (``map.html``, print maps)
    and the report says so.

    Parameters
    ----------
    result
        A coverage result.
    folder
        Output folder, written all-or-nothing.
    lang
        ``"zh"`` (default) or ``"en"``.
    title
        Report title (default: the area, the year of the result's ``as_of`` and the standard title).
    data_note
        Text about the data sources for the report.
    overwrite
        Replace an existing folder geoplan created.
    basemap
        Basemap of the web map.
    area
        The area assessed (评估范围): in the title and the overview.
    date
        The report date printed (default ``SOURCE_DATE_EPOCH`` as a date, else today).
    map
        Write the web map ``map.html`` (False: none is written and none is listed).
    lead
        Lines put first in the report (e.g. that the data are illustrative).

    Returns
    -------
    dict of str to pathlib.Path
        Paths in ``folder``: the report files (``md``, ``html``, ``xlsx``, ``docx``, ``figures`` when any),
        ``maps`` (print maps per type: A4 PNG at 300 dpi, A4 and A3 PDF), ``gpkg``, ``geojson`` (a folder,
        one file per non-empty layer of at most :data:`GEOJSON_MAX_FEATURES` features and
        :data:`GEOJSON_MAX_COORDINATES` coordinates: larger ones are in the
        GeoPackage only, as the report's sources section says), ``summary`` and ``map``; for a presence-only
        result also ``units`` and ``checks`` (CSV).  ``maps`` and ``map`` only when a unit has
        geometry or there are demand points; ``gpkg`` and ``geojson`` only when some layer has geometry.

    Raises
    ------
    OutputExistsError
        ``folder`` exists and may not be replaced.
    """
    final = Path(folder)
    with output_folder(final, overwrite=overwrite) as tmp:
        mappable = can_map(result)
        # print maps (maps/: A4 PNG+PDF, A3 PDF, shown as 附图) drawn beside the report sections, layers and web
        # map, on a second core where one may be forked (geoplan._fork): the same bytes either way.  Two tasks:
        # the A4 pages give the report's figures, so the report is written while the A3 pages are drawn.
        prepared: dict = {}  # each type's map layers, made by the first task and used again by the second
        draw = ([functools.partial(_print_maps, result, tmp, lang, size, prepared) for size in ("A4", "A3")]
                if mappable else [])
        if mappable:
            # imported before the fork, once for both processes (the report's charts use them here too): the
            # child draws the longest part of the save and would spend half a second importing them
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.backends.backend_pdf  # noqa: F401
            import PIL.PngImagePlugin  # noqa: F401

            import geoplan.outputs._print_maps  # noqa: F401
        with started(draw) as maps:
            layers = {k: v for k, v in coverage_layers(result).items() if len(v)}
            big = {k: len(v) for k, v in layers.items() if _too_big(v)}
            if big:  # said in the sources section, beside the caller's note
                data_note = "\n\n".join(t for t in (data_note, _geojson_note(big, lang)) if t)
            sections = coverage_sections(result, lang=lang, data_note=data_note, area=area, date=date, lead=lead,
                                         map_note=not mappable)
            extra = _layers_and_map(result, tmp, layers, big, lang=lang, basemap=basemap, title=title, area=area,
                                    map=map and mappable)
            paths = write_report(tmp, title=report_title(result, lang, title=title, area=area),
                                 sections=sections + (maps.result(0) if draw else []), lang=lang, date=date,
                                 cover=True)
            maps.results()
        if mappable:
            paths["maps"] = tmp / "maps"
        paths.update(extra)
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths


def _print_maps(result, tmp: Path, lang: str, size: str, prepared: dict) -> list:
    """One paper size of the print maps: the A4 pages (PNG and PDF) give the report's sections, A3 only a PDF."""
    from geoplan.outputs._print_maps import print_map_sections, write_print_maps

    t0 = time.perf_counter()
    if size == "A4":
        out = print_map_sections(result, tmp / "maps", lang=lang, sizes=(size,), _prepared=prepared)[0]
    else:
        write_print_maps(result, tmp / "maps", lang=lang, sizes=(size,), formats=("pdf",), _prepared=prepared)
        out = []
    log.debug("timing: print maps %s drawn in %.2f s", size, time.perf_counter() - t0)
    return out


def _layers_and_map(result, tmp: Path, layers: dict, big: dict, *, lang: str, basemap: str, title, area,
                    map: bool) -> dict:
    """GeoPackage, GeoJSON copies (not of the ``big`` layers), ``summary.csv``, presence tables and the web map;
    returns their paths."""
    paths: dict = {}
    if layers:
        paths["gpkg"] = write_gpkg(layers, tmp / "layers.gpkg")
        gj = tmp / "geojson"
        gj.mkdir()
        for name, gdf in layers.items():
            if name not in big:
                # 7 decimals of a degree: about 1 cm, a third less text than GDAL's 15
                gdf.to_file(gj / f"{name}.geojson", driver="GeoJSON", engine="pyogrio", use_arrow=_arrow_safe(gdf),
                            layer_options={"COORDINATE_PRECISION": 7})
        paths["geojson"] = gj
    paths["summary"] = write_run_summary(result, tmp / "summary.csv")  # read by geoplan compare
    if presence_only(result):
        paths.update(write_presence_tables(result, tmp))
    if map:
        paths["map"] = coverage_map(result, tmp / "map.html", lang=lang, basemap=basemap, title=title, area=area)
    return paths
