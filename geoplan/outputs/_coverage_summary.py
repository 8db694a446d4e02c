"""The coverage report's words and tables as a civil-affairs bureau writes them.

"全市 5 个街道中 2 个已建综合养老服务中心（40.0%），距 80% 目标还差 2 个": one sentence per type and
level; a dashboard with one row per 街道/乡镇 across all types; the summary table with percentages and
gaps in their units; the standards with the document each target comes from; the data sources and
method notes.  People are estimates and are shown as whole numbers (the rounding is said once).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re

import pandas as pd

from geoplan.outputs._i18n import in_lang, label, mode_of

#: Demand groups: (zh noun for people, en noun) by weight column; other columns are shown as they are.
GROUPS: dict[str, tuple[str, str]] = {
    "pop": ("常住人口", "residents"),
    "pop_60": ("60岁以上老年人", "people aged 60+"),
    "pop_0_17": ("0–17岁未成年人", "children aged 0–17"),
}

_LEVEL_NOUN = {"township": ("乡镇（街道）", "streets/townships"), "village": ("村（社区）", "villages/communities"),
               "county": ("区县", "counties")}


def _units_module():
    """Helper U's table of kind labels, when present (``geoplan.coverage._units``)."""
    try:
        from geoplan.coverage import _units
    except ImportError:  # older tree: the labels below stand in
        return None
    return _units


_FALLBACK_KINDS = {
    "street": ("街道", "Street"), "town": ("镇", "Town"), "township": ("乡", "Township"),
    "town_township": ("乡镇", "Towns and townships"), "community": ("社区", "Community"), "village": ("村", "Village"),
    "village_community": ("村（社区）", "Villages and communities"), "special": ("其他", "Other"),
    "county": ("区县", "County"), "any": ("未分类", "Unclassified"), "all": ("全部", "All"),
}


def kind_text(kind, lang: str) -> str:
    """Label of a unit kind or group (``street``, ``town_township``, ``any``...)."""
    u = _units_module()
    if u is not None and hasattr(u, "kind_label"):
        return u.kind_label(None if _missing(kind) else kind, lang)
    zh, en = _FALLBACK_KINDS.get("any" if _missing(kind) else str(kind), (str(kind), str(kind)))
    return in_lang(lang, zh, en)


def level_text(level, lang: str) -> str:
    """Label of a level (``township`` → 乡镇（街道）)."""
    u = _units_module()
    if u is not None and hasattr(u, "level_label") and not _missing(level):
        return u.level_label(level, lang)
    if _missing(level):
        return ""
    zh, en = _LEVEL_NOUN.get(str(level), (str(level), str(level)))
    return in_lang(lang, zh, en)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _level(ft) -> str:
    return getattr(ft, "level", "township") or "township"


def unit_noun(kind, ft, lang: str, *, plural: bool = True) -> str:
    """What a count of units is counted in: 街道, 乡镇, 村（社区）... (the level's noun for unclassified units)."""
    if _missing(kind) or kind in ("any", "all"):
        zh, en = _LEVEL_NOUN.get(_level(ft), _LEVEL_NOUN["township"])
        return in_lang(lang, zh, en)
    text = kind_text(kind, lang)
    if lang == "zh" or not plural or text.endswith("s"):
        return text if lang == "zh" else text.lower()
    text = text.lower()
    return text[:-1] + "ies" if text.endswith("y") else text + "s"


def group_noun(col: str, lang: str) -> str:
    """The people a weight column counts (60岁以上老年人); an unknown column (低保户数) as it is."""
    pair = GROUPS.get(col)
    return col if pair is None else in_lang(lang, *pair)


def whole(v) -> int | None:
    """People are estimates: shown rounded half up to whole people."""
    if _missing(v):
        return None
    return int(math.floor(float(v) + 0.5))


def pct(v, *, target: bool = False) -> str:
    """A share as a percentage: 40.0%; a target without decimals when it has none (80%)."""
    if _missing(v):
        return "—"
    p = float(v) * 100
    if target and abs(p - round(p)) < 1e-9:
        return f"{round(p)}%"
    return f"{p:.1f}%"


def people_text(n, col: str, lang: str) -> str:
    """``5,934 名60岁以上老年人`` / ``5,934 people aged 60+``; other columns ``120（低保户数）``."""
    n = whole(n)
    if col in GROUPS:
        return in_lang(lang, f"{n:,} 名{group_noun(col, lang)}", f"{n:,} {group_noun(col, lang)}")
    return f"{n:,}（{col}）" if lang == "zh" else f"{n:,} ({col})"


def _type_name(result, key: str, lang: str) -> str:
    return result.catalogue[key].name(lang)


def presence_only(result) -> bool:
    """A presence-only result (:func:`geoplan.coverage.assess_presence`): no demand, no travel times."""
    return getattr(result, "demand", None) is None


def _kind_groups() -> dict:
    return dict(_units_module().KIND_GROUPS)  # 乡镇 = 镇 + 乡, 村（社区） = 村 + 社区


def shown_levels(summary: pd.DataFrame, catalogue) -> pd.Series:
    """Which summary rows belong to a level worth reporting: the type's own level, or a level with a target.

    A 综合养老服务中心 counted over villages (none has one: it serves a township) says nothing; a 社工站
    with a village target does.  Rows without ``level`` (older results) are all shown.
    """
    if "level" not in summary or not len(summary):
        return pd.Series(True, index=summary.index)
    ok = pd.Series(True, index=summary.index)
    units_rows = summary["indicator"].astype(str).str.startswith("share_units")
    for (t, level), g in summary[units_rows].groupby(["type", "level"], sort=False):
        ft = catalogue[t]
        if level != _level(ft) and not g["target"].notna().any():
            ok[g.index] = False
    return ok


def _sentence_rows(summary: pd.DataFrame, catalogue) -> dict:
    """Rows of ``share_units_with_facility`` said in a sentence → the rows of their breakdown (镇, 乡).

    Per type and level: a group row (乡镇, 村（社区）) with its parts in brackets when it has a target or
    none of its parts has one; a part without its own target is said only inside its group; other rows
    when they have a target, or are at the type's own level where no row has one (not 其他 special units).
    """
    groups = _kind_groups()
    s = summary[(summary["indicator"] == "share_units_with_facility") & shown_levels(summary, catalogue)]
    out: dict = {}
    by = ["type", "level"] if "level" in s else ["type"]
    for key, g in s.groupby(by, sort=False):
        t = key[0] if isinstance(key, tuple) else key
        ft = catalogue[t]
        level = g["level"].iloc[0] if "level" in g else _level(ft)
        kinds = g["unit_kind"].astype(object)
        folded: set = set()
        for i, r in g.iterrows():
            members = groups.get(r["unit_kind"])
            if not members:
                continue
            parts = g[kinds.isin(members).to_numpy()]
            if not len(parts):
                continue
            if not _missing(r["target"]) or not parts["target"].notna().any():
                order = {k: j for j, k in enumerate(members)}
                out[i] = [p for _, p in sorted(parts.iterrows(), key=lambda x: order.get(x[1]["unit_kind"], 99))]
                folded |= set(parts.index[parts["target"].isna()])
        for i, r in g.iterrows():
            if r["unit_kind"] in groups or i in folded:
                continue
            if not _missing(r["target"]) or (level == _level(ft) and r["unit_kind"] != "special"
                                             and not g["target"].notna().any()):
                out[i] = []
    return out


def _breakdown(parts, ft, lang: str) -> str:
    """``；其中镇 35 个中 19 个、乡 10 个中 8 个`` / ``; towns 19 of 35, townships 8 of 10``."""
    if len(parts) < 2:
        return ""
    if lang == "zh":
        return "；其中" + "、".join(f"{kind_text(p['unit_kind'], lang)} {whole(p['denominator'])} 个中 "
                                   f"{whole(p['numerator'])} 个" for p in parts)
    return "; " + ", ".join(f"{unit_noun(p['unit_kind'], ft, lang)} {whole(p['numerator'])} of "
                            f"{whole(p['denominator'])}" for p in parts)


def short_type(ft, lang: str) -> str:
    """A type's name in tables: the short label of a built-in key (社工站), else the catalogue's name (殡仪馆)."""
    shown = label(ft.key, lang)
    return ft.name(lang) if shown == ft.key else str(shown)


def summary_sentences(result, *, lang: str, area: str | None = None) -> list[str]:
    """One sentence per type and level against its target, as a bureau report puts it.

    Types by their short names (综合养老服务中心, 社工站); a group of kinds (乡镇 = 镇 + 乡, 村（社区）)
    with its parts in brackets (:func:`_sentence_rows`).
    """
    zh = lang == "zh"
    where = area or in_lang(lang, "评估范围内", "the area assessed")
    plan = _sentence_rows(result.summary, result.catalogue)
    out = []
    for i, r in result.summary.iterrows():
        ind, t = r["indicator"], r["type"]
        ft = result.catalogue[t]
        name = short_type(ft, lang)
        target, value = r.get("target"), r.get("value")
        if ind == "share_units_with_facility":
            if i not in plan:
                continue
            n, have = whole(r["denominator"]), whole(r["numerator"])
            noun = unit_noun(r.get("unit_kind"), ft, lang)
            if n is None or n == 0:
                continue
            village = r.get("level") == "village"
            more = _breakdown(plan[i], ft, lang)
            if zh:
                s = f"{where}{n:,} 个{noun}中 {have:,} 个{'已有' if village else '已建'}{name}（{pct(value)}{more}）"
            else:
                verb = "has" if have == 1 else "have"
                s = f"In {where}, {have} of the {n} {noun} {verb} a {name[0].lower() + name[1:]} ({pct(value)}{more})"
        elif str(ind).startswith("share_") and str(ind).endswith("_covered"):
            col = r.get("shortfall_unit") or str(ind)[len("share_"):-len("_covered")]
            tot, c = whole(r["denominator"]), whole(r["numerator"])
            if tot is None or tot == 0 or _missing(value):
                continue
            mode = label(mode_of(result, t), lang)
            if zh:
                s = (f"{group_noun(col, lang)} {tot:,} 人中 {c:,} 人在{mode} {ft.cutoff_min:g} 分钟内可达{name}"
                     f"（{pct(value)}）" if col in GROUPS else
                     f"{col} 合计 {tot:,}，其中 {c:,} 在{mode} {ft.cutoff_min:g} 分钟内可达{name}（{pct(value)}）")
            else:
                s = (f"{c:,} of {tot:,} {group_noun(col, lang)} live within {ft.cutoff_min:g} min ({mode.lower()}) "
                     f"of a {name[0].lower() + name[1:]} ({pct(value)})")
        else:
            continue
        if _missing(target):  # the catalogue sets none (the tool knows no year)
            s += in_lang(lang, "，未设目标。" if ind == "share_units_with_facility" else "，未设人口覆盖目标。",
                         "; no target is set.")
        elif r.get("passed"):
            s += in_lang(lang, f"，已达到 {pct(target, target=True)} 的目标。", f", meeting the {pct(target, target=True)} target.")
        elif _missing(r.get("shortfall")):
            s += in_lang(lang, f"，目标 {pct(target, target=True)}，无法计算缺口。",
                         f"; target {pct(target, target=True)}, shortfall not computable.")
        elif ind == "share_units_with_facility":
            k = whole(r["shortfall"])
            s += in_lang(lang, f"，距 {pct(target, target=True)} 目标还差 {k} 个。",
                         f"; {k} more are needed for the {pct(target, target=True)} target.")
        else:
            k = _people_shortfall(r)
            s += in_lang(lang, f"，距 {pct(target, target=True)} 目标还差 {people_text(k, col, lang)}。",
                         f"; the {pct(target, target=True)} target needs {people_text(k, col, lang)} more.")
        out.append(s)
    return out


def _people_shortfall(r) -> int | None:
    """People short of a target in whole people; at a 100% target the rounded total minus the rounded covered,
    so the sentence adds up with the figures printed beside it (10,386 - 4,642 = 5,744)."""
    t, den, num = r.get("target"), whole(r.get("denominator")), whole(r.get("numerator"))
    if not _missing(t) and float(t) >= 1 - 1e-12 and den is not None and num is not None:
        return max(0, den - num)
    return whole(r.get("shortfall"))


def gap_text(r, ft, lang: str) -> str:
    """A shortfall with its unit: 差 2 个乡镇（街道） / 5,744 名60岁以上老年人."""
    if _missing(r.get("target")):
        return in_lang(lang, "未设目标", "no target")
    if _missing(r.get("shortfall")):
        return in_lang(lang, "无法计算", "n/a")
    k = whole(r["shortfall"]) if r["indicator"] == "share_units_with_facility" else _people_shortfall(r)
    if k == 0:
        return "—"
    if r["indicator"] == "share_units_with_facility":
        return in_lang(lang, f"差 {k} 个{unit_noun(r.get('unit_kind'), ft, lang)}",
                       f"{k} more {unit_noun(r.get('unit_kind'), ft, lang)}")
    col = r.get("shortfall_unit") or ""
    return in_lang(lang, f"差 {people_text(k, col, lang)}", f"{people_text(k, col, lang)} more")


def summary_table(result, lang: str) -> pd.DataFrame:
    """Shares against targets: one row per type and level, percentages, gaps in their units.

    Types by their full catalogue names (乡镇/街道社工站): a table is read cell by cell, and the
    full name says which facility is meant.  Levels that say nothing (a township centre counted over
    villages, no target) are left out; a presence-only result has no travel mode column.
    """
    rows = []
    shown = shown_levels(result.summary, result.catalogue)
    for i, r in result.summary.iterrows():
        ind = str(r["indicator"])
        if not ind.startswith("share_") or not shown[i]:
            continue
        ft = result.catalogue[r["type"]]
        units_ind = ind == "share_units_with_facility"
        col = r.get("shortfall_unit") or ind[len("share_"):-len("_covered")]
        what = (in_lang(lang, "已建单位占比", "Share of units with one") if units_ind else
                in_lang(lang, f"{group_noun(col, lang)}覆盖率", f"Share of {group_noun(col, lang)} covered"))
        rows.append({
            "type": ft.name(lang),
            "mode": mode_of(result, r["type"]),
            "counted": unit_noun(r.get("unit_kind"), ft, lang) if units_ind else group_noun(col, lang),
            "indicator": what,
            "numerator": whole(r["numerator"]),
            "denominator": whole(r["denominator"]),
            "share_value": None if _missing(r["value"]) else float(r["value"]),
            "share_target": None if _missing(r["target"]) else float(r["target"]),
            "verdict": (in_lang(lang, "未设目标", "no target") if _missing(r["passed"]) else
                        in_lang(lang, "达标", "passed") if r["passed"] else in_lang(lang, "未达标", "not passed")),
            "gap_text": gap_text(r, ft, lang),
        })
    out = pd.DataFrame(rows, columns=["type", "mode", "counted", "indicator", "numerator", "denominator", "share_value",
                                      "share_target", "verdict", "gap_text"])
    return out.drop(columns="mode") if presence_only(result) else out


def times_table(result, lang: str) -> pd.DataFrame:
    """Median and 90th-percentile travel time per type, beside the catchment."""
    rows = {}
    for _, r in result.summary.iterrows():
        if r["indicator"] in ("median_min", "p90_min"):
            ft = result.catalogue[r["type"]]
            row = rows.setdefault(r["type"], {"type": ft.name(lang), "mode": mode_of(result, r["type"]),
                                              "cutoff_min": ft.cutoff_min})
            row[r["indicator"]] = None if _missing(r["value"]) else float(r["value"])
    return pd.DataFrame(list(rows.values()), columns=["type", "mode", "cutoff_min", "median_min", "p90_min"])


def village_kinds(ft) -> tuple[str, ...] | None:
    """The village-level kinds a type's targets count (村 for 互助养老; 村 and 社区 for 社工站), or None.

    A village-level type without a village target counts every village-level unit (``()``); a
    township-level type without one is not counted over villages (None).
    """
    groups = _kind_groups()
    kinds = [m for k in ft.unit_targets for m in groups.get(k, (k,)) if m in ("village", "community", "special")]
    if kinds:
        return tuple(dict.fromkeys(kinds))
    return () if _level(ft) == "village" else None


def village_noun(ft, lang: str) -> str:
    """What a type's village count counts: 村, 社区 or 村（社区）."""
    kinds = village_kinds(ft) or ()
    if len(kinds) == 1:
        return kind_text(kinds[0], lang) if lang == "zh" else unit_noun(kinds[0], ft, lang)
    return in_lang(lang, *_LEVEL_NOUN["village"])


def dashboard(result, lang: str) -> pd.DataFrame:
    """One row per 街道/乡镇 across all types.

    有/无 for types judged by units, 达标/未达标 for types judged by people; with village rows, a type
    counted over villages (互助养老 over 村, 社工站 over 村（社区）) gets ``x/y``: the villages of the
    township with one / those counted.  A presence-only result also shows the township's people.
    """
    units = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    if not len(units):
        return pd.DataFrame()
    vil = units[units["level"] == "village"] if "level" in units else units.iloc[:0]
    tw = units[units["level"] != "village"] if "level" in units else units
    base = tw.drop_duplicates("unit_code")[["unit_code", "unit_name"] +
                                           (["unit_kind"] if "unit_kind" in tw else [])].copy()
    if "unit_kind" in base:
        if base["unit_kind"].isna().all():
            base = base.drop(columns="unit_kind")
        else:
            base["unit_kind"] = [kind_text(k, lang) for k in base["unit_kind"]]
    base = base.set_index("unit_code", drop=False)
    if presence_only(result):
        first = tw[tw["type"] == result.catalogue.keys[0]].set_index("unit_code")
        for col in ("pop", "pop_60", "pop_0_17"):
            if col in first and pd.to_numeric(first[col], errors="coerce").fillna(0).gt(0).any():
                base[col] = [whole(v) for v in first[col].reindex(base.index)]
    for t in result.catalogue.keys:
        ft = result.catalogue[t]
        kinds = village_kinds(ft) if len(vil) else None
        if not (len(vil) and _level(ft) == "village"):
            sub = tw[tw["type"] == t].set_index("unit_code")
            if ft.unit_targets or ft.people_target is None:
                vals = sub["has_facility"].map(lambda b: in_lang(lang, "有", "yes") if b else in_lang(lang, "无", "no"))
            else:
                share = sub.get(f"share_{ft.weight}_covered")
                vals = share.map(lambda s: "—" if _missing(s) else
                                 in_lang(lang, "达标", "passed") if s >= ft.people_target - 1e-12 else
                                 in_lang(lang, "未达标", "not passed")) if share is not None else None
            base[ft.name(lang)] = vals.reindex(base.index).to_numpy() if vals is not None else "—"
        if kinds is not None:
            v = vil[vil["type"] == t]
            if kinds:
                v = v[v["unit_kind"].isin(kinds).to_numpy()]
            n = v.groupby("parent_code").size()
            have = v.groupby("parent_code")["has_facility"].sum()
            col = f"{ft.name(lang)}·{village_noun(ft, lang)}" if lang == "zh" else \
                f"{ft.name(lang)} ({village_noun(ft, lang)})"
            base[col] = [f"{int(have.get(c, 0))}/{int(n.get(c, 0))}" if n.get(c, 0) else "—" for c in base.index]
    return base.reset_index(drop=True)


_OUTSIDE_REF = re.compile(r"\s*[（(]\s*(?:shared/)?DESIGN\.md[^）)]*[）)]"
                          r"|\s*[，,;；]\s*(?:shared/)?DESIGN\.md(?:\s*§\s*[\d–\-.]+)?|(?:shared/)?DESIGN\.md(?:\s*§\s*[\d–\-.]+)?")


def no_outside_refs(text: str) -> str:
    """Drop citations of files that are not in the repository (the project's design notes)."""
    return _OUTSIDE_REF.sub("", text or "").strip()


def _source(ft, field: str, lang: str) -> str | None:
    if hasattr(ft, "source"):
        s = ft.source(field, lang)
    else:
        s = ft.sources.get(field)
    return None if s is None else no_outside_refs(s)


def targets_text(ft, lang: str) -> str:
    """``街道 80%，乡镇 60%`` / ``Street 80%, Towns and townships 60%``; a lone ``any`` target by the level's noun."""
    sep = "，" if lang == "zh" else ", "
    # ``any`` is every unit of the type's level that no other key of that level names: alone at its level
    # (社工站: any + 村（社区）) it is every 乡镇（街道）, beside 街道/乡镇 keys it is the others
    same_level = set(ft.unit_targets) - {"any", "village", "community", "village_community"}

    def who(k):
        if k != "any":
            return kind_text(k, lang)
        noun = unit_noun(None, ft, lang)
        return in_lang(lang, f"其他{noun}", f"other {noun}") if same_level else noun
    return sep.join(f"{who(k)} {pct(v, target=True)}" for k, v in ft.unit_targets.items()) or "—"


def standards_table(catalogue, lang: str, modes=None, *, presence: bool = False) -> pd.DataFrame:
    """The standards in force, targets as percentages, each with the document it comes from.

    ``presence``: a presence-only run (no travel times, no people covered): only the unit targets.
    """
    rows = []
    for ft in catalogue:
        fields = [f for f in (("unit_targets",) if presence else
                              ("unit_targets", "people_target", "cutoff_min", "weight", "mode"))
                  if _source(ft, f, lang)]
        names = {"unit_targets": in_lang(lang, "单位目标", "unit targets"),
                 "people_target": in_lang(lang, "人口目标", "people target"),
                 "cutoff_min": in_lang(lang, "时间阈值", "cutoff"), "weight": in_lang(lang, "服务对象", "served group"),
                 "mode": in_lang(lang, "出行方式", "mode")}
        rows.append({
            "type": ft.name(lang),
            "mode": (modes or {}).get(ft.key, ft.mode),
            "cutoff_min": ft.cutoff_min,
            "served": group_noun(ft.weight, lang),
            "unit_targets": targets_text(ft, lang),
            "share_people_target": ft.people_target,
            "sources": ("；" if lang == "zh" else "; ").join(f"{names[f]}：{_source(ft, f, lang)}" if lang == "zh" else
                                                             f"{names[f]}: {_source(ft, f, lang)}" for f in fields),
        })
    out = pd.DataFrame(rows)
    if presence and len(out):
        out = out.drop(columns=["mode", "cutoff_min", "served", "share_people_target"])
    return out


def catalogue_source(catalogue, lang: str) -> str:
    """Where the catalogue as a whole comes from, without paths outside the repository."""
    src = str(getattr(catalogue, "source", "") or "")
    if src.startswith("geoplan defaults"):
        return in_lang(lang, "geoplan 内置默认标准与目标（可用配置文件覆盖）。",
                       "geoplan's built-in standards and targets (a config file may override them).")
    return no_outside_refs(src)


def report_date(date: str | None = None) -> str:
    """The date the report was made: ``date`` if given, else ``SOURCE_DATE_EPOCH`` (reproducible builds), else today."""
    if date:
        return str(date)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).date().isoformat()
    return _dt.date.today().isoformat()


def as_of_of(result) -> str | None:
    """The result's as-of date (统计截止日) when it carries one."""
    v = getattr(result, "as_of", None)
    if _missing(v) or v == "":
        return None
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)


def report_title(result, lang: str, *, title: str | None = None, area: str | None = None) -> str:
    """The title: ``--title`` as given, else area and year before the standard title."""
    if title:
        return title
    as_of = as_of_of(result)
    year = as_of[:4] if as_of and as_of[:4].isdigit() else None
    presence = presence_only(result)
    if lang == "zh":
        what = "民政服务设施覆盖情况报告" if presence else "民政服务设施网络覆盖评估报告"
        return f"{area or ''}{year + '年' if year else ''}{what}"
    head = "Civil-affairs facilities in each unit" if presence else "Network coverage of civil-affairs facilities"
    tail = ", ".join(x for x in (area, year) if x)
    return f"{head}: {tail}" if tail else head


def header_lines(result, lang: str, *, area: str | None, date: str | None) -> list[str]:
    """Area, as-of date and date made: the lines under the title."""
    lines = []
    if area:
        lines.append(in_lang(lang, f"评估范围：{area}", f"Area: {area}"))
    as_of = as_of_of(result)
    if as_of:
        lines.append(in_lang(lang, f"统计截止日：{as_of}", f"Data as of: {as_of}"))
    lines.append(in_lang(lang, f"报告生成日期：{report_date(date)}", f"Report date: {report_date(date)}"))
    return lines


def _rounding_note(result, lang: str) -> str:
    """How people are rounded, and how many lie outside every unit (only in the totals), so the note is true."""
    zh = lang == "zh"
    text = in_lang(lang, "人数为估算值，四舍五入取整；未覆盖人数为取整后的人数减去取整后的已覆盖人数。各单位的数字"
                         "分别取整，相加与合计可能有几人的取整差。",
                   "People are estimates rounded to whole people; people uncovered are the rounded people minus the "
                   "rounded people covered. Each unit's figures are rounded on their own, so their sum may differ "
                   "from the total by a few people.")
    dem = getattr(result, "demand", None)
    out = dem["unit_code"].isna().to_numpy() if dem is not None and "unit_code" in dem else None
    if out is None or not out.any():
        return text
    col = "pop" if "pop" in dem else next((ft.weight for ft in result.catalogue if ft.weight in dem), None)
    n_pts = int(out.sum())
    n_people = whole(pd.to_numeric(dem.loc[out, col], errors="coerce").fillna(0).sum()) if col else None
    who = (f"（{group_noun(col, lang)} {n_people:,} 人）" if zh else f" ({n_people:,} {group_noun(col, lang)})") \
        if col in GROUPS else ""
    if zh:
        return text + f"另有 {n_pts} 个需求点{who}不在任何单位内，只计入合计，不计入各单位表。"
    return text + f" Another {n_pts} demand point{'s' if n_pts != 1 else ''}{who} {'lie' if n_pts != 1 else 'lies'} outside every unit: " \
                  "counted in the totals only, not in the per-unit tables."


def method_notes(result, lang: str, data_note: str = "") -> str:
    """Data sources and method notes: inputs, road data licence, travel times, rounding, targets."""
    parts = []
    if data_note:
        parts.append(no_outside_refs(data_note))
    if presence_only(result):
        parts.append(in_lang(
            lang,
            "本次只看各单位是否已有设施，不计算出行时间，也不使用路网：设施按台账的所属村（社区）代码、所属乡镇"
            "（街道）代码归入单位（没有代码时按位置归入），单位内有一处已建成的设施即计为“已有”。表中人口为单位表"
            "所附人数（如按行政区划代码关联的人口普查表），只作列示，不参与是否已有设施的判断。",
            "Only whether each unit has a facility is assessed; no travel times and no road network: facilities "
            "are placed in units by the register's village and township codes (by location when they have no "
            "code), and a unit has one when at least one built facility lies in it. People shown are those of "
            "the unit tables (e.g. a census table joined by division code), listed only; they do not decide "
            "whether a unit has a facility."))
        parts.append(in_lang(lang, "目标及其依据见“服务标准与目标来源”。",
                             "Targets and their sources: see \u201cService standards and sources of targets\u201d."))
        return "\n\n".join(p for p in parts if p)
    parts.append(in_lang(
        lang,
        "道路数据来自 OpenStreetMap（© OpenStreetMap contributors，ODbL 1.0 许可）；人口为输入需求点的人数"
        "（普查或估算），按需求点所在单位汇总。",
        "Road data: OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0). People are those of the demand points "
        "given (census or estimates), summed by the unit each point lies in."))
    parts.append(in_lang(
        lang,
        "出行时间按门到门计算：需求点或设施沿直线到最近的可进入道路（不含隧道、地下及室内通道、高速公路；该段距离"
        "另列为“吸附距离”，按接入速度计时），加上沿该路段到路口的部分和路网最短路；路段长度为 WGS-84 椭球面长度。"
        "需求点在服务时间阈值内可达任一同类设施即计为“已覆盖”。",
        "Travel times are network shortest paths door to door: the straight stretch from each point to the nearest "
        "road it may enter (not tunnels, underground or indoor ways, motorways; listed as the snap distance, timed "
        "at the access speed), the part of that road to its junctions, and the network path; road lengths are "
        "ellipsoidal (WGS-84). A demand point is covered when a facility of the type is within the cutoff."))
    parts.append(_rounding_note(result, lang))
    parts.append(in_lang(lang, "目标及其依据见“服务标准与目标来源”。",
                         "Targets and their sources: see \u201cService standards and sources of targets\u201d."))
    return "\n\n".join(p for p in parts if p)


__all__ = ["summary_sentences", "summary_table", "times_table", "dashboard", "standards_table", "report_title",
           "header_lines", "method_notes", "report_date", "pct", "whole", "people_text", "group_noun", "kind_text",
           "no_outside_refs", "gap_text", "level_text", "short_type", "unit_noun", "catalogue_source", "as_of_of",
           "presence_only", "shown_levels", "village_kinds", "village_noun"]
