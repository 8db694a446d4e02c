"""Write a :class:`~geoplan.coverage.CoverageResult` as a report folder.

The folder holds ``report.md``/``report.html``/``report.xlsx``, a GeoPackage
``layers.gpkg`` (and GeoJSON copies) and ``map.html``; it is written
all-or-nothing through :func:`geoplan._output.output_folder`.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan._output import output_folder
from geoplan.coverage._checks import CHECK_NAMES
from geoplan.outputs import figures
from geoplan.outputs._coverage_map import coverage_map
from geoplan.outputs._i18n import label, pick, type_caption
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
    "figure_units": ("各单位覆盖率与目标", "Coverage by unit against target"),
    "figure_times": ("出行时间分布", "Travel-time distribution"),
}


_t = functools.partial(pick, _T)


def _pct(v) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"


def _judged(summary: pd.DataFrame):
    """Summary rows that have a target and a verdict."""
    for _, r in summary.iterrows():
        t = r["target"]
        if t is None or (isinstance(t, float) and math.isnan(t)) or r["passed"] is None:
            continue
        yield r


def overview_text(result, *, lang: str, data_note: str = "") -> str:
    """Plain-language overview: what was measured, on what network, key results."""
    zh = lang == "zh"
    lines = [data_note] if data_note else []
    n_dem, n_fac = len(result.demand), len(result.facilities)
    reports = getattr(result, "network_reports", None) or {None: result.network_report}
    nets = []
    for mode, rep in reports.items():
        nodes, edges = rep.get("nodes", "?"), rep.get("edges", "?")
        read, dropped = rep.get("nodes_read", "?"), rep.get("nodes_dropped_not_strongly_connected", 0)
        name = "" if mode is None else label(mode, lang)
        nets.append(f"{name}路网节点 {nodes} 个、边 {edges} 条（读入 {read} 个节点，为保证连通去除 {dropped} 个）" if zh else
                    f"{name + ' ' if name else ''}network of {nodes} nodes and {edges} edges ({read} read, {dropped} "
                    "dropped to keep it connected)")
    lines.append(
        f"需求点 {n_dem} 个，设施 {n_fac} 处；" + "；".join(nets) + "。"
        "出行时间按门到门计算：需求点或设施沿直线到最近的可进入道路（不含隧道、地下及室内通道、高速公路；距离另列为 snap_m，"
        "按接入速度计时），加上沿该路段到路口的部分和路网最短路；路段长度为 WGS-84 椭球面长度。"
        if zh else
        f"{n_dem} demand points, {n_fac} facilities; " + "; ".join(nets) + ". Travel times are network shortest paths "
        "door to door: the straight stretch from each point to the nearest road it may enter (not tunnels, underground "
        "or indoor ways, motorways; listed as snap_m, timed at the access speed), the part of that road to its "
        "junctions, and the network path; road lengths are ellipsoidal (WGS-84)."
    )
    lines.append(_t("modes", lang) + ("；" if zh else "; ").join(type_caption(result, t, lang) for t in result.catalogue.keys))
    for r in _judged(result.summary):
        name = result.catalogue[r["type"]].name(lang)
        by_units = r["indicator"] == "share_units_with_facility"
        if zh:
            ok = "达标" if r["passed"] else f"未达标，缺口 {r['shortfall']:g}"
            what = "有设施的单位比例" if by_units else "覆盖人口比例"
            lines.append(f"· {name}：{what} {_pct(r['value'])}，目标 {_pct(r['target'])}，{ok}。")
        else:
            ok = "passed" if r["passed"] else f"not passed, shortfall {r['shortfall']:g}"
            what = "share of units with a facility" if by_units else "share of people covered"
            lines.append(f"- {name}: {what} {_pct(r['value'])}, target {_pct(r['target'])}, {ok}.")
    if result.notes:
        texts = [n.text(lang) if hasattr(n, "text") else str(n) for n in result.notes]
        lines.append(("说明：" if zh else "Notes: ") + ("；" if zh else "; ").join(texts))
    return "\n\n".join(lines)


def standards_table(catalogue, lang: str, modes=None) -> pd.DataFrame:
    """The standards in force; ``mode`` is the mode used (``modes``), the catalogue's only when not given."""
    rows = []
    for ft in catalogue:
        rows.append({
            "type": ft.key,
            "mode": (modes or {}).get(ft.key, ft.mode),
            "cutoff_min": ft.cutoff_min,
            "weight": ft.weight,
            "unit_targets": ", ".join(f"{k}: {v:.0%}" for k, v in ft.unit_targets.items()) or "—",
            "people_target": ft.people_target,
            "sources": " | ".join(f"{k}: {v}" for k, v in ft.sources.items()),
        })
    return pd.DataFrame(rows)


def _figures(result, lang: str) -> list[Section]:
    """Charts when a font renders the labels."""
    out = []
    try:
        units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
        sub = units[units["type"] == result.catalogue.keys[0]]
        if len(sub) > 1:
            ft = result.catalogue[result.catalogue.keys[0]]
            col = f"share_{ft.weight}_covered"
            target = ft.people_target if ft.people_target is not None else None
            png = figures.coverage_by_unit(sub, value=col, target=target, label_col="unit_name", lang=lang)
            out.append(Section(_t("figure_units", lang) + f" — {ft.name(lang)}", figure=png))
        mins = {type_caption(result, t, lang): result.demand[f"{t}_min"] for t in result.catalogue.keys}
        cut = max(ft.cutoff_min for ft in result.catalogue)
        out.append(Section(_t("figure_times", lang), figure=figures.travel_time_hist(mins, cutoff_min=cut, lang=lang)))
    except Exception as exc:  # a chart must never sink the report
        log.warning("figures skipped: %s", exc)
    return out


def _named_types(df: pd.DataFrame, result, lang: str) -> pd.DataFrame:
    """Types the label table does not know (added in a config, e.g. 殡仪馆) shown by their catalogue name."""
    if "type" not in df.columns or not len(df):
        return df
    names = {}
    for ft in result.catalogue:
        if label(ft.key, lang) == ft.key:
            names[ft.key] = ft.name(lang)
    if not names:
        return df
    out = df.copy()
    out["type"] = out["type"].map(lambda t: names.get(t, t))
    return out


def coverage_sections(result, *, lang: str = "zh", data_note: str = "") -> list[Section]:
    """The report's sections for a coverage result."""
    secs = [Section(_t("overview", lang), text=overview_text(result, lang=lang, data_note=data_note))]
    summary = _named_types(result.summary, result, lang)
    if {"value", "target", "shortfall"} <= set(summary.columns):
        # An indicator that could not be computed (no people of the group) says so: a blank or 0 reads as "none missing".
        na = summary["value"].isna() & summary["target"].notna()
        if na.any():
            summary = summary.astype({"shortfall": object})
            summary.loc[na, "shortfall"] = "无法计算" if lang == "zh" else "n/a"
    secs.append(Section(_t("summary", lang), table=summary, sheet="summary" if lang == "en" else "指标与目标"))
    units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    for t in result.catalogue.keys:
        ft = result.catalogue[t]
        secs.append(Section(_t("units", lang, name=type_caption(result, t, lang)),
                            table=units[units["type"] == t].drop(columns="type"), sheet=ft.name(lang)[:28]))
    secs.extend(_figures(result, lang))
    secs.append(Section(_t("gaps", lang), table=_named_types(result.gaps, result, lang)))
    fac_cols = [c for c in ("id", "name", "type", "unit_code", "snap_m", "too_far") if c in result.facilities]
    secs.append(Section(_t("facilities", lang), table=_named_types(pd.DataFrame(result.facilities[fac_cols]), result, lang)))
    secs.append(checks_section(result, lang))
    secs.append(Section(_t("standards", lang), text=result.catalogue.source,
                        table=_named_types(standards_table(result.catalogue, lang, getattr(result, "modes", None)),
                                           result, lang)))
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
    return Section(_t("checks", lang), table=table, sheet="检查" if lang == "zh" else "checks")


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
    return {name: _for_file(gdf) for name, gdf in layers.items()}


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
            _for_file(gdf).to_file(path, layer=name, driver="GPKG")
    return path


def write_coverage(
    result: "geoplan.coverage.CoverageResult",
    folder: str | Path,
    *,
    lang: str = "zh",
    title: str | None = None,
    data_note: str = "",
    overwrite: bool = False,
    basemap: str = "osm",
) -> dict[str, Path]:
    """Write the whole report folder; returns the paths of what was written.

    Parameters
    ----------
    result
        A coverage result.
    folder
        Output folder, written all-or-nothing.
    lang
        ``"zh"`` (default) or ``"en"``.
    title
        Report title (default the standard title in ``lang``).
    data_note
        Text about the data sources for the report.
    overwrite
        Replace an existing folder geoplan created.
    basemap
        Basemap of the web map.

    Returns
    -------
    dict of str to pathlib.Path
        Paths in ``folder``: the report files (``md``, ``html``, ``xlsx``, ``figures`` when any),
        ``gpkg``, ``geojson`` (a folder, one file per non-empty layer) and ``map``.

    Raises
    ------
    OutputExistsError
        ``folder`` exists and may not be replaced.
    """
    final = Path(folder)
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=title or _t("title", lang), sections=coverage_sections(result, lang=lang, data_note=data_note), lang=lang)
        layers = coverage_layers(result)
        gpkg = write_gpkg(layers, tmp / "layers.gpkg")
        gj = tmp / "geojson"
        gj.mkdir()
        for name, gdf in layers.items():
            if len(gdf):
                gdf.to_file(gj / f"{name}.geojson", driver="GeoJSON")
        paths["gpkg"] = gpkg
        paths["geojson"] = gj
        paths["map"] = coverage_map(result, tmp / "map.html", lang=lang, basemap=basemap)
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths
