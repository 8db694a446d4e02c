"""Checks of the unit and village layers of a coverage run (review of issue 15).

- units or villages marked abolished (``abolished`` truthy, as in ``data/names/townships_cn.csv.gz`` and
  :mod:`geoplan.registers.names`, or ``valid_to`` not after the as-of date) leave the denominators and
  are listed (``unit_abolished``);
- villages whose township is not among the township units (``village_parent_missing``): their township
  indicator cannot include them; a facility still counts at the township its own code names;
- facilities whose 所属村（社区）代码 is not in the village list (``facility_village_unknown``): no village
  indicator, but they count at their township when it is known;
- demand points in a township with no village seat (``demand_without_village``), one row per township.

Each function appends rows to ``check_rows`` (:data:`geoplan.coverage._checks.CHECK_COLUMNS`) and
(Chinese, English) pairs to ``lines``.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from geoplan.coverage._checks import _row, _where
from geoplan.coverage._units import township_key
from geoplan.io._numbers import _blank, _code_text

__all__ = ["drop_abolished", "village_parent_missing", "facility_village_unknown", "demand_without_village"]

_TRUE = {"1", "true", "yes", "y", "t", "是", "已撤销", "撤销", "abolished"}


def _truthy(v) -> bool:
    if _blank(v):
        return False
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v) != 0
    return str(v).strip().lower() in _TRUE


def drop_abolished(frame, *, as_of: _dt.date | None, what_zh: str, what_en: str, check_rows: list, lines: list):
    """``frame`` without the units marked abolished (or ended by ``valid_to`` on or before ``as_of``)."""
    if frame is None:
        return frame
    gone = np.zeros(len(frame), dtype=bool)
    if "abolished" in frame.columns:
        gone |= frame["abolished"].map(_truthy).to_numpy(bool)
    if "valid_to" in frame.columns and as_of is not None:
        ends = pd.to_datetime(frame["valid_to"].map(lambda v: None if _blank(v) else str(v)), errors="coerce")
        gone |= (ends.notna() & (ends.dt.date <= as_of)).to_numpy(bool)
    if not gone.any():
        return frame
    src = frame.attrs.get("source")
    names = frame["name"] if "name" in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    for lab in frame.index[gone]:
        code = _code_text(frame.at[lab, "code"]) if "code" in frame.columns else None
        check_rows.append(_row("unit_abolished", code, names.at[lab], src, _where(frame, lab)["row"],
                               f"{what_zh}已撤销（或在评估时点前终止），不计入分母",
                               f"{what_en} abolished (or ended before the as-of date): left out of the denominators"))
    first = frame.index[gone][0]
    lines.append((f"{int(gone.sum())} 个已撤销的{what_zh}不计入分母（如 {names.at[first]}），明细见输入数据检查",
                  f"{int(gone.sum())} abolished {what_en} left out of the denominators (e.g. {names.at[first]}); "
                  "listed in the input checks"))
    out = frame[~gone]
    out.attrs.update(frame.attrs)
    return out


def village_parent_missing(vil, units, *, check_rows: list, lines: list) -> None:
    """List the villages whose township (first 9 digits) is not among the township units."""
    if vil is None or units is None or not len(vil):
        return
    ukeys = set(units["code"].map(township_key).dropna())
    vkeys = vil["code"].map(township_key)
    miss = ~vkeys.isin(ukeys).to_numpy()
    if not miss.any():
        return
    src = vil.attrs.get("source")
    for lab in vil.index[miss]:
        check_rows.append(_row("village_parent_missing", vil.at[lab, "code"], vil.at[lab, "name"], src,
                               _where(vil, lab)["row"],
                               f"上级乡镇（街道）代码 {vkeys.at[lab]} 不在行政单位中，该村（社区）不计入乡镇（街道）汇总",
                               f"township code {vkeys.at[lab]} is not among the units: the village is in no township total"))
    first = vil.index[miss][0]
    childless = sorted(ukeys - set(vkeys.dropna()))
    zh = (f"{int(miss.sum())} 个村（社区）的上级乡镇（街道）代码不在行政单位中（如 {vil.at[first, 'name']} "
          f"{vil.at[first, 'code']}，上级 {vkeys.at[first]}），明细见输入数据检查；设施仍按其自身代码计入所在乡镇（街道）")
    en = (f"{int(miss.sum())} village(s) whose township code is not among the units (e.g. {vil.at[first, 'name']} "
          f"{vil.at[first, 'code']}, township {vkeys.at[first]}); listed in the input checks; facilities still count at "
          "the township their own code names")
    if childless:
        zh += (f"。行政单位中另有 {len(childless)} 个乡镇（街道）在村（社区）名单中没有下级（如 {childless[0]}）："
               "两份名单很可能采用了不同版本的区划代码（例如地名库的乡镇表与 2023 年统计用区划代码的村级名单，"
               "湘潭市有若干乡镇代码不一致），请使用同一版本的乡镇和村（社区）名单")
        en += (f". {len(childless)} township(s) of the units have no village in the list (e.g. {childless[0]}): the "
               "two lists most likely use different vintages of the division codes (e.g. the place-name township "
               "table and the 2023 statistical village list differ for several Xiangtan townships); use one vintage")
    lines.append((zh, en))


def facility_village_unknown(fac, vil, facilities, *, check_rows: list, lines: list) -> None:
    """List the facilities whose own village code is not in the village list."""
    if vil is None or "village_code" not in fac.columns or not len(fac):
        return
    codes = fac["village_code"]
    miss = (codes.notna() & ~codes.isin(set(vil["code"]))).to_numpy()
    if not miss.any():
        return
    src = facilities.attrs.get("source")
    names = fac["name"] if "name" in fac.columns else pd.Series([None] * len(fac), index=fac.index)
    ids = fac["id"] if "id" in fac.columns else pd.Series(fac.index, index=fac.index)
    known = fac["unit_code"].notna() if "unit_code" in fac.columns else pd.Series(False, index=fac.index)
    for lab in fac.index[miss]:
        at = "仍计入所在乡镇（街道）" if known.at[lab] else "所在乡镇（街道）也不在行政单位中"
        at_en = "still counted at its township" if known.at[lab] else "its township is not among the units either"
        row = _where(facilities, lab)["row"] if lab in facilities.index else lab
        check_rows.append(_row("facility_village_unknown", ids.at[lab], names.at[lab], src, row,
                               f"所属村（社区）代码 {codes.at[lab]} 不在村（社区）名单中，不计入村级指标；{at}",
                               f"village code {codes.at[lab]} is not in the village list: not in the village "
                               f"indicators; {at_en}"))
    lines.append((f"{int(miss.sum())} 处设施的所属村（社区）代码不在村（社区）名单中（如 {codes[miss].iloc[0]}，"
                   "可能是代码有误或村已合并），不计入村级指标；其所在乡镇（街道）已知的仍计入乡镇指标，明细见输入数据检查",
                   f"{int(miss.sum())} facility(ies) with a village code not in the village list (e.g. "
                   f"{codes[miss].iloc[0]}: a typo or a merged village): not in the village indicators; counted at "
                   "their township when it is known; listed in the input checks"))


def demand_without_village(dem, vil, *, check_rows: list, lines: list) -> None:
    """One row per township whose demand points got no village (no seat of its own)."""
    if dem is None or "village_code" not in dem.columns or "unit_code" not in dem.columns:
        return
    none = (dem["village_code"].isna() & dem["unit_code"].notna()).to_numpy()
    if not none.any():
        return
    pop = pd.to_numeric(dem["pop"], errors="coerce") if "pop" in dem.columns else pd.Series(0.0, index=dem.index)
    grouped = pd.DataFrame({"t": dem["unit_code"][none], "pop": pop[none]}).groupby("t")["pop"].agg(["size", "sum"])
    for code, (n, people) in grouped.iterrows():
        check_rows.append(_row("demand_without_village", code, None, dem.attrs.get("source"), None,
                               f"该乡镇（街道）在村（社区）名单中没有驻地点：{int(n)} 个需求点（{int(round(people))} 人）"
                               "未归入任何村（社区），只计入乡镇指标",
                               f"no village seat in this township: {int(n)} demand point(s) ({int(round(people))} "
                               "people) in no village, counted at township level only"))
    lines.append((f"{len(grouped)} 个乡镇（街道）没有村（社区）驻地点，其 {int(none.sum())} 个需求点未归入村（社区），"
                   "不会移入其他乡镇的村（社区）；明细见输入数据检查",
                   f"{len(grouped)} township(s) without village seats: their {int(none.sum())} demand point(s) are in no "
                   "village (never moved into another township's villages); listed in the input checks"))
