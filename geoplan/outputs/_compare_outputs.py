"""The comparison report (``geoplan compare``): indicator changes between two dates or two runs, with targets.

"社工站覆盖村（社区）比例由 21.3% 提高到 34.0%，提高 12.7 个百分点，达到 30% 目标": one sentence per judged
indicator, then the table of every share indicator before → after (percentages, change in percentage
points, passed before and after).  The table comes from :func:`geoplan.coverage._compare.compare_summaries`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from geoplan._output import output_folder
from geoplan.outputs._coverage_summary import _missing, group_noun, kind_text, pct, whole
from geoplan.outputs._i18n import check_lang, in_lang, label
from geoplan.outputs._report import Section, write_report

__all__ = ["comparison_sentences", "comparison_table", "write_comparison"]

_LEVEL_DEFAULT_NOUN = {"township": ("乡镇（街道）", "streets/townships"), "village": ("村（社区）", "villages/communities")}


def _type_name(r, lang: str) -> str:
    shown = label(r["type"], lang)
    if shown != r["type"]:
        return str(shown)
    name = r.get(f"type_name_{lang}")
    return str(r["type"]) if _missing(name) else str(name)


def _noun(r, lang: str) -> str:
    kind = r.get("unit_kind")
    if _missing(kind) or kind in ("any", "all"):
        return in_lang(lang, *_LEVEL_DEFAULT_NOUN.get(str(r.get("level")), _LEVEL_DEFAULT_NOUN["township"]))
    text = kind_text(kind, lang)
    if lang == "zh":
        return text
    text = text.lower()
    return text if text.endswith("s") else "other units" if kind == "special" else \
        text[:-1] + "ies" if text.endswith("y") else text + "s"


def _subject(r, lang: str) -> str | None:
    """What the share measures: 社工站覆盖村（社区）比例 / share of villages with a social-work station."""
    ind, name, noun = str(r["indicator"]), _type_name(r, lang), _noun(r, lang)
    if ind == "share_units_with_facility":
        return in_lang(lang, f"{name}覆盖{noun}比例", f"the share of {noun} with a {name[:1].lower() + name[1:]}")
    if ind == "share_units_reached":
        return in_lang(lang, f"服务时间内可达{name}的{noun}比例",
                       f"the share of {noun} within reach of a {name[:1].lower() + name[1:]}")
    if ind.startswith("share_") and ind.endswith("_covered"):
        col = ind[len("share_"):-len("_covered")]
        return in_lang(lang, f"{name}的{group_noun(col, lang)}覆盖率",
                       f"the share of {group_noun(col, lang)} covered by a {name[:1].lower() + name[1:]}")
    return None


def _change(b: float, a: float, pp: float, lang: str) -> str:
    if abs(pp) < 0.05:
        return in_lang(lang, f"保持在 {pct(a)}", f"stayed at {pct(a)}")
    up = pp > 0
    return in_lang(lang, f"由 {pct(b)} {'提高' if up else '下降'}到 {pct(a)}，{'提高' if up else '下降'} {abs(pp):.1f} 个百分点",
                   f"{'rose' if up else 'fell'} from {pct(b)} to {pct(a)}, {'up' if up else 'down'} "
                   f"{abs(pp):.1f} percentage points")


def comparison_sentences(table: pd.DataFrame, *, lang: str = "zh", judged_only: bool = True) -> list[str]:
    """One sentence per share indicator with a target (all shares with ``judged_only=False``).

    Parameters
    ----------
    table
        :func:`geoplan.coverage._compare.compare_summaries`.
    lang
        ``"zh"`` or ``"en"``.
    judged_only
        Only indicators with a target.

    Returns
    -------
    list of str
        E.g. "社工站覆盖村（社区）比例由 19.2% 提高到 32.5%，提高 13.3 个百分点，达到 30% 目标".
    """
    check_lang(lang)
    out = []
    for _, r in table.iterrows():
        subject = _subject(r, lang)
        if subject is None or (judged_only and _missing(r["target"])):
            continue
        b, a = r["value_before"], r["value_after"]
        if _missing(b) or _missing(a):
            when = in_lang(lang, "前一时点无此指标", "not measured at the first date") if _missing(b) else \
                in_lang(lang, "后一时点无此指标", "not measured at the second date")
            out.append(in_lang(lang, f"{subject}：{when}", f"{subject[:1].upper() + subject[1:]}: {when}"))
            continue
        s = f"{subject}{_change(float(b), float(a), float(r['change_pp']), lang)}" if lang == "zh" else \
            f"{subject[:1].upper() + subject[1:]} {_change(float(b), float(a), float(r['change_pp']), lang)}"
        if not _missing(r["target"]):
            tg = pct(r["target"], target=True)
            if r["passed_after"] is True:
                s += in_lang(lang, f"，达到 {tg} 目标", f", meeting the {tg} target")
                if r["passed_before"] is False:
                    s += in_lang(lang, "（前一时点未达到）", " (not met before)")
            elif r["passed_after"] is False:
                k = whole(r["shortfall_after"])
                more = "" if k is None or str(r["indicator"]) != "share_units_with_facility" else \
                    in_lang(lang, f"，还差 {k} 个", f"; {k} more needed")
                s += in_lang(lang, f"，未达到 {tg} 目标{more}", f", below the {tg} target{more}")
        out.append(s + in_lang(lang, "。", "."))
    return out


def _verdict(v, lang: str) -> str:
    if v is None or _missing(v):
        return in_lang(lang, "未设目标", "no target")
    return in_lang(lang, "达标", "passed") if v else in_lang(lang, "未达标", "not passed")


def comparison_table(table: pd.DataFrame, *, before: str, after: str, lang: str = "zh") -> pd.DataFrame:
    """The share indicators before → after as the report shows them (headers in ``lang``).

    Parameters
    ----------
    table
        :func:`geoplan.coverage._compare.compare_summaries`.
    before, after
        Labels of the two columns (the dates, or the run names).
    lang
        ``"zh"`` or ``"en"``.
    """
    check_lang(lang)
    rows = []
    for _, r in table.iterrows():
        if not str(r["indicator"]).startswith("share_"):
            continue
        if _missing(r["target"]) and not (r["numerator_before"] or r["numerator_after"]):
            continue  # nothing at either date and no target: a row of zeros says nothing
        units = str(r["indicator"]).startswith("share_units")
        fmt = (lambda n, d: "—" if _missing(n) or _missing(d) else f"{whole(n)}/{whole(d)}") if units else \
            (lambda n, d: "—" if _missing(n) or _missing(d) else f"{whole(n):,}/{whole(d):,}")
        rows.append({
            in_lang(lang, "设施类型", "Facility type"): _type_name(r, lang),
            in_lang(lang, "指标", "Indicator"): _subject(r, lang),
            in_lang(lang, f"{before}", f"{before}"): pct(r["value_before"]),
            in_lang(lang, f"{before} 计数", f"{before} count"): fmt(r["numerator_before"], r["denominator_before"]),
            in_lang(lang, f"{after}", f"{after}"): pct(r["value_after"]),
            in_lang(lang, f"{after} 计数", f"{after} count"): fmt(r["numerator_after"], r["denominator_after"]),
            in_lang(lang, "变化（百分点）", "Change (pp)"): "—" if _missing(r["change_pp"]) else f"{r['change_pp']:+.1f}",
            in_lang(lang, "目标", "Target"): "—" if _missing(r["target"]) else pct(r["target"], target=True),
            in_lang(lang, f"{before} 是否达标", f"Passed {before}"): _verdict(r["passed_before"], lang),
            in_lang(lang, f"{after} 是否达标", f"Passed {after}"): _verdict(r["passed_after"], lang),
        })
    return pd.DataFrame(rows)


def write_comparison(table: pd.DataFrame, folder: str | Path, *, before: str, after: str, lang: str = "zh",
                     title: str | None = None, lead: Iterable[str] = (), notes: Iterable[str] = (),
                     sections: Iterable[Section] = (), overwrite: bool = False) -> dict[str, Path]:
    """Write the comparison report folder (report.md/html/xlsx and ``compare.csv``), all-or-nothing.

    Parameters
    ----------
    table
        :func:`geoplan.coverage._compare.compare_summaries`.
    folder
        Output folder.
    before, after
        Labels of the two dates or runs.
    lang
        ``"zh"`` (default) or ``"en"``.
    title
        Report title (default: 设施覆盖指标变化对比（before 至 after）).
    lead
        Lines put first, before the sentences (e.g. that the data are illustrative).
    notes
        Notes on the data and method, in their own section.
    sections
        Further sections (e.g. the indicator tables of each date).
    overwrite
        Replace an existing folder geoplan created.

    Returns
    -------
    dict of str to pathlib.Path
        ``md``, ``html``, ``xlsx`` and ``csv``.
    """
    check_lang(lang)
    title = title or in_lang(lang, f"设施覆盖指标变化对比（{before} 至 {after}）",
                             f"Change in coverage indicators ({before} to {after})")
    lead = [str(x) for x in lead]
    said = comparison_sentences(table, lang=lang)
    bullet = "· " if lang == "zh" else "- "
    text = "\n\n".join([*lead, *(bullet + s for s in said)]) or in_lang(lang, "两次评估没有共同的指标。",
                                                                       "The two runs share no indicator.")
    secs = [Section(in_lang(lang, "主要变化", "Main changes"), text=text),
            Section(in_lang(lang, "指标对比", "Indicators compared"), table=comparison_table(table, before=before,
                                                                                       after=after, lang=lang),
                    sheet=in_lang(lang, "指标对比", "compared"))]
    secs += list(sections)
    notes = [str(n) for n in notes]
    if notes:
        secs.append(Section(in_lang(lang, "数据与方法说明", "Data and method"), text="\n\n".join(bullet + n for n in notes)))
    final = Path(folder)
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=title, sections=secs, lang=lang)
        table.to_csv(tmp / "compare.csv", index=False, encoding="utf-8-sig")
        paths["csv"] = tmp / "compare.csv"
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths
