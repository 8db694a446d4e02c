"""Labels for reports, maps and figures: canonical English keys → Chinese.

geoplan's tables use canonical English column and field names (``pop``,
``share_pop_covered``...).  Presentation code translates them here, at the
edge, so computation never depends on the display language.

Extending the table: add entries to :data:`LABELS` (``key: (zh, en)``).  An
unknown key passes through unchanged, so a new column shows under its English
name until someone adds a label for it.
"""

from __future__ import annotations

from typing import Literal, Mapping

import pandas as pd

from geoplan._errors import InputError

Lang = Literal["zh", "en"]

#: key → (Chinese, English).  English is a readable form of the key.
LABELS: dict[str, tuple[str, str]] = {
    # --- admin units ---------------------------------------------------------
    "unit_name": ("单位名称", "Unit name"),
    "unit_code": ("区划代码", "Unit code"),
    "unit_level": ("区划层级", "Unit level"),
    "level": ("层级", "Level"),
    "parent_code": ("上级区划代码", "Parent code"),
    "parent_name": ("上级单位", "Parent unit"),
    "township": ("街道/乡镇", "Street/township"),
    "street": ("街道", "Street"),
    "town": ("镇", "Town"),
    "village": ("村/社区", "Village/community"),
    "community": ("社区", "Community"),
    "county": ("县（市、区）", "County"),
    "city": ("市", "City"),
    "province": ("省", "Province"),
    "area_km2": ("面积（平方公里）", "Area (km²)"),
    # --- population / demand -------------------------------------------------
    "pop": ("人口", "Population"),
    "pop_60": ("60岁以上人口", "Population 60+"),
    "pop_0_17": ("0–17岁人口", "Population 0–17"),
    "pop_covered": ("覆盖人口", "Population covered"),
    "pop_60_covered": ("覆盖60岁以上人口", "Population 60+ covered"),
    "pop_0_17_covered": ("覆盖0–17岁人口", "Population 0–17 covered"),
    "pop_uncovered": ("未覆盖人口", "Population not covered"),
    "pop_60_uncovered": ("未覆盖60岁以上人口", "Population 60+ not covered"),
    "pop_0_17_uncovered": ("未覆盖0–17岁人口", "Population 0–17 not covered"),
    "share_pop_covered": ("人口覆盖率", "Share of population covered"),
    "share_pop_60_covered": ("60岁以上人口覆盖率", "Share of population 60+ covered"),
    "share_pop_0_17_covered": ("0–17岁人口覆盖率", "Share of population 0–17 covered"),
    "n_demand": ("需求点数", "Demand points"),
    "demand_id": ("需求点编号", "Demand point ID"),
    "covered": ("已覆盖", "Covered"),
    "buildings": ("建筑数", "Buildings"),
    # --- travel ---------------------------------------------------------------
    "median_min": ("中位出行时间(分钟)", "Median travel time (min)"),
    "p90_min": ("90%分位出行时间(分钟)", "90th percentile travel time (min)"),
    "mean_min": ("平均出行时间(分钟)", "Mean travel time (min)"),
    "max_min": ("最长出行时间(分钟)", "Longest travel time (min)"),
    "travel_min": ("出行时间(分钟)", "Travel time (min)"),
    "travel_time_min": ("出行时间(分钟)", "Travel time (min)"),
    "travel_s": ("出行时间(秒)", "Travel time (s)"),
    "distance_m": ("距离(米)", "Distance (m)"),
    "cutoff_min": ("时间阈值(分钟)", "Cutoff (min)"),
    "cutoff_m": ("距离阈值(米)", "Cutoff (m)"),
    "mode": ("出行方式", "Mode"),
    "walk": ("步行", "Walk"),
    "drive": ("驾车", "Drive"),
    "snap_m": ("吸附距离(米)", "Snap distance (m)"),
    "too_far": ("距道路过远", "Too far from road"),
    "nearest_facility": ("最近设施", "Nearest facility"),
    "nearest_min": ("到最近设施时间(分钟)", "Time to nearest facility (min)"),
    # --- indicators / targets -------------------------------------------------
    "has_facility": ("有设施", "Has facility"),
    "n_facilities": ("设施数", "Facilities"),
    "n_units": ("单位数", "Units"),
    "n_units_with_facility": ("已建单位数", "Units with a facility"),
    "share_units_with_facility": ("已建单位占比", "Share of units with a facility"),
    "indicator": ("指标", "Indicator"),
    "unit_kind": ("单位类别", "Unit kind"),
    "counted": ("统计对象", "Counted"),
    "share_value": ("现状", "Now"),
    "share_target": ("目标", "Target"),
    "share_people_target": ("人口覆盖目标", "People target"),
    "verdict": ("是否达标", "Verdict"),
    "gap_text": ("缺口", "Shortfall"),
    "people_uncovered": ("未覆盖人数", "People not covered"),
    "demand_points_uncovered": ("未覆盖需求点数", "Demand points not covered"),
    "served": ("服务对象", "Served group"),
    "unit_targets": ("单位目标", "Unit targets"),
    "numerator": ("分子", "Numerator"),
    "denominator": ("分母", "Denominator"),
    "shortfall_unit": ("缺口单位", "Shortfall in"),
    "units": ("单位数", "Units"),
    "value": ("数值", "Value"),
    "target": ("目标", "Target"),
    "passed": ("是否达标", "Passed"),
    "shortfall": ("缺口", "Shortfall"),
    # site suggestion
    "before": ("建设前", "Before"),
    "after": ("建设后", "After"),
    "passed_before": ("建设前是否达标", "Passed before"),
    "passed_after": ("建设后是否达标", "Passed after"),
    "share_before": ("建设前", "Before"),
    "share_after": ("建设后", "After"),
    "rank": ("排序", "Rank"),
    "gain": ("新增覆盖人数", "People gained"),
    "candidate": ("候选点", "Candidate"),
    "reason": ("原因", "Reason"),
    "source": ("来源", "Source"),
    "shortfall_units": ("缺口（单位数）", "Shortfall (units)"),
    "shortfall_pop": ("缺口（人口）", "Shortfall (population)"),
    "year": ("年份", "Year"),
    "source": ("来源", "Source"),
    "note": ("备注", "Note"),
    "beds": ("床位", "Beds"),
    "beds_per_1000_60": ("每千名老人床位数", "Beds per 1,000 people 60+"),
    "accessibility": ("可达性", "Accessibility"),
    # --- facilities -----------------------------------------------------------
    "facility_id": ("设施编号", "Facility ID"),
    "facility_name": ("设施名称", "Facility name"),
    "facility_type": ("设施类型", "Facility type"),
    "tier": ("层级", "Tier"),
    "name": ("名称", "Name"),
    "type": ("类型", "Type"),
    "address": ("地址", "Address"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "lon_wgs84": ("经度(WGS-84)", "Longitude (WGS-84)"),
    "lat_wgs84": ("纬度(WGS-84)", "Latitude (WGS-84)"),
    "lon_gcj02": ("经度(GCJ-02)", "Longitude (GCJ-02)"),
    "lat_gcj02": ("纬度(GCJ-02)", "Latitude (GCJ-02)"),
    "site_location": ("位置", "Site"),
    "road": ("最近的具名道路", "Nearest named road"),
    "road_m": ("距道路(米)", "Distance to road (m)"),
    "township_unit": ("所在街道/乡镇", "Street/township"),
    "village_unit": ("所在村/社区", "Village/community"),
    "demand_unit": ("所在单位", "Unit"),
    "people": ("人数", "People"),
    "quickest_site_min": ("最近站点出行时间(分钟)", "Quickest site (min)"),
    "status": ("状态", "Status"),
    "existing": ("现有", "Existing"),
    # marker status (界桩状态): map legends and popups show them through label()
    "proposed": ("建议（未实测）", "Proposed"),
    "surveyed": ("已实测", "Surveyed"),
    "found": ("完好", "Found"),
    "moved": ("移位", "Moved"),
    "damaged": ("损坏", "Damaged"),
    "missing": ("缺失", "Missing"),
    "elder_care_centre": ("综合养老服务中心", "Comprehensive elder-care centre"),
    "elder_care_station": ("社区养老服务站", "Community elder-care station"),
    "elder_care": ("养老服务设施", "Elder-care facility"),
    "minor_protection": ("未成年人保护工作站", "Minor-protection station"),
    "social_work": ("社工站", "Social-work station"),
    # --- site suggestion ------------------------------------------------------
    "rank": ("排序", "Rank"),
    "gain": ("新增覆盖人数", "People gained"),
    "gain_pop": ("新增覆盖人口", "Population gained"),
    "candidate_id": ("候选点编号", "Candidate ID"),
    "scenario": ("方案", "Scenario"),
    "n_new_sites": ("新增设施数", "New sites"),
    "objective": ("目标函数值", "Objective"),
    "gap": ("最优性差距", "Optimality gap"),
    "selected": ("入选", "Selected"),
    "suggested": ("建议新址", "Suggested site"),
    # --- map layers -----------------------------------------------------------
    "service_area": ("服务范围", "Service area"),
    "service_areas": ("服务范围", "Service areas"),
    "uncovered_demand": ("未覆盖需求点", "Uncovered demand"),
    "covered_demand": ("已覆盖需求点", "Covered demand"),
    "admin_units": ("行政区划", "Admin units"),
    "facilities": ("设施", "Facilities"),
    "legend": ("图例", "Legend"),
    "no_data": ("无数据", "No data"),
    # --- place names / boundaries --------------------------------------------
    "pinyin": ("拼音", "Pinyin"),
    "rule": ("规则", "Rule"),
    "reason": ("原因", "Reason"),
    "category": ("类别", "Category"),
    "marker_code": ("界桩编号", "Marker code"),
    "line_code": ("界线编号", "Line code"),
    "offset_m": ("偏离距离(米)", "Offset (m)"),
    "length_m": ("长度(米)", "Length (m)"),
    "length_km": ("长度(公里)", "Length (km)"),
    "valid_from": ("生效日期", "Valid from"),
    "area_a_km2": ("来源一面积(平方公里)", "Area, first source (km²)"),
    "area_b_km2": ("来源二面积(平方公里)", "Area, second source (km²)"),
    "only_a_m2": ("仅来源一覆盖的面积(平方米)", "Only in the first source (m²)"),
    "only_b_m2": ("仅来源二覆盖的面积(平方米)", "Only in the second source (m²)"),
    "iou": ("交并比", "Intersection over union"),
    "only_a_km2": ("仅来源一覆盖的面积(平方公里)", "Only in the first source (km²)"),
    "only_b_km2": ("仅来源二覆盖的面积(平方公里)", "Only in the second source (km²)"),
    "share_iou": ("交并比", "Intersection over union"),
    "hausdorff_m": ("边界最大偏差(米)", "Largest boundary offset (m)"),
    "kind": ("类别", "Kind"),
    "n": ("处数", "Count"),
    "count": ("数量", "Count"),
    "area_m2": ("面积(平方米)", "Area (m²)"),
    "max_area_m2": ("最大一处面积(平方米)", "Largest one (m²)"),
    "unit_a": ("一侧单位代码", "Unit on one side"),
    "unit_b": ("另一侧单位代码", "Unit on the other side"),
    "name_a": ("一侧单位名称", "Name on one side"),
    "name_b": ("另一侧单位名称", "Name on the other side"),
    "width_m": ("宽度(米)", "Width (m)"),
    "geodesic_m": ("椭球面长度(米)", "Geodesic length (m)"),
    "surveyed": ("已实测", "Surveyed"),
    "last_inspection": ("上次联检", "Last inspection"),
    "photo": ("照片", "Photo"),
    "problems": ("问题", "Problems"),
    "due": ("应联检", "Due"),
    "old_status": ("原状态", "Old status"),
    "new_status": ("新状态", "New status"),
    "date": ("日期", "Date"),
    "notes": ("备注", "Notes"),
    "severity": ("严重程度", "Severity"),
    "title": ("问题", "Finding"),
    "why": ("说明", "Why"),
    "findings": ("问题数", "Findings"),
    "names": ("地名数", "Names"),
    "part": ("涉及文字", "Part"),
    "roads": ("道路", "Roads"),
    "sign_texts": ("牌文", "Sign texts"),
    "intersection": ("路口", "Intersection"),
    "road_end": ("路端", "Road end"),
    "index": ("序号", "No."),
    "number_before": ("原门牌号", "Number before"),
    "number": ("门牌号", "Number"),
    "side": ("所在侧", "Side"),
    "along_m": ("沿路距离(米)", "Along the road (m)"),
    "valid_to": ("失效日期", "Valid to"),
    # --- misc ---------------------------------------------------------------------
    "id": ("编号", "ID"),
    "code": ("代码", "Code"),
    "weight": ("权重", "Weight"),
    "people_target": ("人口覆盖目标", "Population target"),
    "unit_target": ("已建单位占比目标", "Unit target"),
    "sources": ("依据", "Sources"),
    # --- booleans -------------------------------------------------------------
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


#: Columns whose string *values* are canonical keys (facility types, modes...)
#: and are shown by their label.  Other string values are shown as they are.
VALUE_KEY_COLUMNS = frozenset({"facility_type", "type", "mode", "tier", "status", "category",
                               "indicator", "shortfall_unit"})

#: Values shown by their label in a given column: column → value → (Chinese, English).
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "kind": {"gap": ("缝隙", "gap"), "overlap": ("重叠", "overlap"), "sliver_gap": ("狭长缝隙", "sliver gap"),
             "sliver_overlap": ("狭长重叠", "sliver overlap"), "intersection": ("路口", "intersection"),
             "road_end": ("路端", "road end")},
    "status": {"proposed": ("建议（未实测）", "proposed"), "surveyed": ("已实测", "surveyed"), "found": ("完好", "found"),
               "moved": ("移位", "moved"), "damaged": ("损坏", "damaged"), "missing": ("缺失", "missing"),
               "kept": ("保留现有", "kept"), "new": ("新编", "new"), "too_far": ("距道路过远", "too far"),
               "built": ("已建成", "built"), "planned": ("规划", "planned")},
    "source": {"network": ("路网节点", "road node"), "file": ("候选点文件", "candidate file"),
               "unit": ("单位驻地", "unit seat")},
    "reason": {"line end (junction)": ("界线端点（三交点）", "line end (junction)"),
               "road crossing": ("道路与界线交叉处", "road crossing")},
    "severity": {"error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "note")},
    "side": {"left": ("左", "left"), "right": ("右", "right"), "north": ("北", "north"), "south": ("南", "south"),
             "east": ("东", "east"), "west": ("西", "west")},
    "end": {"first": ("起点", "first"), "last": ("终点", "last"), "north": ("北", "north"), "south": ("南", "south"),
            "east": ("东", "east"), "west": ("西", "west")},
}
VALUE_LABELS["old_status"] = VALUE_LABELS["new_status"] = VALUE_LABELS["status"]


def value_label(value: object, col: str, lang: str) -> object:
    """``value`` of column ``col`` by its label in :data:`VALUE_LABELS`, else unchanged."""
    pair = VALUE_LABELS.get(col, {}).get(value) if isinstance(value, str) else None
    return value if pair is None else (pair[0] if lang == "zh" else pair[1])


def show_values(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy with the values of the :data:`VALUE_LABELS` columns by their labels (for maps and prose)."""
    cols = [c for c in df.columns if c in VALUE_LABELS]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = [value_label(v, c, lang) for v in out[c]]
    return out


#: Labels of per-facility-type columns ``<type>_<suffix>`` such as
#: ``social_work_min``: suffix → (zh pattern, en pattern) around the type's label.
SUFFIX_PATTERNS: dict[str, tuple[str, str]] = {
    "min": ("{}出行时间(分钟)", "Travel time to {} (min)"),
    "covered": ("{}已覆盖", "Covered by {}"),
    "nearest": ("最近的{}", "Nearest {}"),
    "n": ("{}数量", "Number of {}"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` when it is ``"zh"`` or ``"en"``; else raise :class:`~geoplan.InputError` (a ValueError)."""
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", field="lang")
    return lang


def in_lang(lang: str, zh: str, en: str) -> str:
    """``zh`` or ``en`` by ``lang``: the one helper for a phrase written inline in both languages."""
    return zh if lang == "zh" else en


def pick(table: Mapping[str, tuple[str, str]], key: str, lang: str, **kw: object) -> str:
    """The ``lang`` half of ``table[key]`` (a ``(zh, en)`` pair), formatted with ``kw``.

    Each output module keeps its own table of bilingual phrases and binds this one helper to it
    (``_t = functools.partial(pick, _T)``), instead of each defining its own ``_t``.
    """
    zh, en = table[key]
    return (zh if lang == "zh" else en).format(**kw)


def mode_of(result, key: str) -> str:
    """The travel mode a type was actually measured with (the result's, not the config's)."""
    modes = getattr(result, "modes", None) or {}
    return modes.get(key) or result.catalogue[key].mode


def type_caption(result, key: str, lang: str) -> str:
    """E.g. ``社工站（步行 15 分钟）`` / ``Social-work station (walk, 15 min)``, mode from the result."""
    ft = result.catalogue[key]
    mode = label(mode_of(result, key), lang)
    return f"{ft.name(lang)}（{mode} {ft.cutoff_min:g} 分钟）" if lang == "zh" else f"{ft.name(lang)} ({mode}, {ft.cutoff_min:g} min)"


def label(key: object, lang: str = "zh") -> object:
    """Return the display label of ``key`` in ``lang``.

    Parameters
    ----------
    key
        Canonical English name (column, field, facility type...).  Anything
        that is not a known key (including non-strings) is returned unchanged.
    lang
        ``"zh"`` (Chinese) or ``"en"`` (English).

    Returns
    -------
    object
        The label, or ``key`` itself when unknown.

    Examples
    --------
    >>> label("pop_60")
    '60岁以上人口'
    >>> label("pop_60", "en")
    'Population 60+'
    >>> label("social_work_min")
    '社工站出行时间(分钟)'
    >>> label("my_column")
    'my_column'
    """
    check_lang(lang)
    if not isinstance(key, str):
        return key
    entry = LABELS.get(key)
    if entry is None:
        base, _, suffix = key.rpartition("_")
        if suffix in SUFFIX_PATTERNS and base in LABELS:
            zh, en = SUFFIX_PATTERNS[suffix]
            return zh.format(LABELS[base][0]) if lang == "zh" else en.format(LABELS[base][1])
        return key
    return entry[0] if lang == "zh" else entry[1]


def translate_columns(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Return a copy of ``df`` with column names translated by :func:`label`.

    Unknown column names pass through unchanged.  The index name is translated
    too.  Two columns that would end up with the same label keep their
    original names, so no information is lost.

    Parameters
    ----------
    df
        Table with canonical English column names.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    pandas.DataFrame
        A renamed copy (the data is not copied deeply).
    """
    check_lang(lang)
    new = [label(c, lang) for c in df.columns]
    counts: dict[object, int] = {}
    for n in new:
        counts[n] = counts.get(n, 0) + 1
    new = [n if counts[n] == 1 else c for n, c in zip(new, df.columns)]
    out = df.copy(deep=False)
    out.columns = new
    if out.index.name is not None:
        out.index = out.index.rename(label(out.index.name, lang))
    return out


def bool_text(value: bool, lang: str = "zh") -> str:
    """Return 是/否 (``zh``) or yes/no (``en``) for a boolean."""
    return label("yes" if value else "no", lang)  # type: ignore[return-value]


__all__ = ["LABELS", "SUFFIX_PATTERNS", "VALUE_KEY_COLUMNS", "VALUE_LABELS", "value_label", "show_values", "label", "translate_columns",
           "bool_text", "check_lang", "in_lang", "pick", "mode_of", "type_caption"]
