"""Place names (地名): gazetteer with history, rule checks, sign pinyin, road signs, door numbers.

The gazetteer lives in a :class:`geoplan.registers.Store` (GeoPackage) as an
append-only event layer ``place_name_events`` (named, renamed, amended,
abolished; each with a date and approval document number) plus a convenience
layer ``place_names`` holding the current state, rewritten on every change so
QGIS shows today's names.  Nothing is ever deleted; :meth:`Gazetteer.state_at`
replays the events up to any date.

Rare characters: the 通用规范汉字表 (2013, 8,105 characters) is not shipped by
any installed package, so the rule NAME-RARE uses a documented proxy: GB 2312
(6,763 characters, via Python's codec) plus the characters that already occur
in the 38,749 official township and county names (``chars_official_extra.txt``).
Rule source texts are paraphrases (摘要), not quotations.

Rule checks (:func:`check_names`), sign pinyin (:func:`sign_pinyin`), road-name
signs (:func:`road_signs`) and door numbers (:func:`door_numbers`) work on plain
(Geo)DataFrames and need no store.
"""

from __future__ import annotations

import os
from typing import Iterable

import pandas as pd

from geoplan._errors import InputError
from geoplan.registers._gazetteer import Gazetteer, load_names, require_gazetteer
from geoplan.registers._namefiles import (
    _TRUTHY, CURRENT_LAYER, EVENTS_LAYER, FIELDS, read_name_list, read_names, write_names,
)
from geoplan.registers._namerules import RULES, _as_folder, scope_findings, word_findings
from geoplan.registers._signs import SignSurvey, door_numbers, doors_along, fit_door_rule, read_features, road_signs
from geoplan.registers._spelling import homophone_key, sign_pinyin, split_name, wordlists_folder

__all__ = [
    "FIELDS",
    "EVENTS_LAYER",
    "CURRENT_LAYER",
    "RULES",
    "Gazetteer",
    "SignSurvey",
    "read_names",
    "write_names",
    "check_names",
    "abolished_mask",
    "summarize_findings",
    "sign_pinyin",
    "split_name",
    "homophone_key",
    "road_signs",
    "door_numbers",
    "wordlists_folder",
    "load_names",
    "require_gazetteer",
    "read_name_list",
    "read_features",
    "doors_along",
    "fit_door_rule",
]



def check_names(
    names: pd.DataFrame,
    *,
    wordlists: str | os.PathLike | None = None,
    rules: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Check names against the naming rules; every finding explains itself.

    Parameters
    ----------
    names
        Columns ``name`` (required), ``code``, ``category``, ``admin_code``
        (12-digit; the scope of duplicates comes from it: county-level names
        nationwide, townships within the province (2 digits), villages and
        communities within the county (6), roads within the township (9)).
        Rows marked abolished (a truthy ``abolished`` column — 1, true, yes,
        是 — or ``event == "abolished"``) are skipped: an abolished name is
        neither checked nor counted as a duplicate/homophone of a current one.
    wordlists
        Folder of user word lists (missing files fall back to the shipped ones).
    rules
        Rule ids to run (default all, see :data:`RULES`).

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``rule``, ``severity``, ``title``, ``code``,
        ``name``, ``part`` (the offending part), ``why``, ``source`` (the
        rule's source, paraphrased), ``row`` (index label of ``names``).
    """
    if "name" not in names.columns:
        raise InputError("names table needs a 'name' column", field="name")
    folder = _as_folder(wordlists)
    wanted = set(RULES) if rules is None else set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise InputError(f"unknown rule id(s) {sorted(unknown)}; known: {', '.join(RULES)}", field="rules")
    df = names.copy()
    if "code" not in df:
        df["code"] = [str(i) for i in df.index]
    df["code"] = df["code"].astype(str)
    for c in ("category", "admin_code"):
        if c not in df:
            df[c] = None
    # abolished names are history, not names in use: they can clash with nothing
    df = df[~abolished_mask(df)]
    out = []
    for idx, r in df.iterrows():
        for f in word_findings(str(r["name"]).strip(), folder=folder):
            out.append({"row": idx, **f})
    for f in scope_findings(df, folder=folder):
        out.append({"row": f.pop("idx"), **f})
    recs = []
    for f in out:
        if f["rule"] not in wanted:
            continue
        sev, title, src = RULES[f["rule"]]
        r = df.loc[f["row"]]
        recs.append(
            {
                "rule": f["rule"],
                "severity": sev,
                "title": title,
                "code": r["code"],
                "name": r["name"],
                "part": f["part"],
                "why": f["why"],
                "source": src,
                "row": f["row"],
            }
        )
    cols = ["rule", "severity", "title", "code", "name", "part", "why", "source", "row"]
    res = pd.DataFrame(recs, columns=cols)
    order = {"error": 0, "warning": 1, "info": 2}
    res["_sev"] = res["severity"].map(order)
    res["_rule"] = res["rule"].map({r: k for k, r in enumerate(RULES)})
    res = res.sort_values(["_sev", "_rule", "code"], kind="stable").drop(columns=["_sev", "_rule"])
    return res.reset_index(drop=True)


def abolished_mask(df: pd.DataFrame) -> pd.Series:
    """Rows marked abolished: a truthy ``abolished`` column or ``event == "abolished"``.

    Parameters
    ----------
    df
        A names table; the columns ``abolished`` and ``event`` are optional.

    Returns
    -------
    pandas.Series
        Boolean, aligned to ``df.index``.
    """
    mask = pd.Series(False, index=df.index)
    if "abolished" in df:
        mask |= df["abolished"].map(lambda v: str(v).strip().lower() in _TRUTHY)
    if "event" in df:
        mask |= df["event"].map(lambda v: str(v).strip().lower() == "abolished")
    return mask


def summarize_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Counts per rule: rule, severity, title, findings, names (distinct codes).

    Parameters
    ----------
    findings
        Output of :func:`check_names`.

    Returns
    -------
    pandas.DataFrame
        One row per rule of :data:`RULES` (also rules without findings), in that order.
    """
    rows = []
    for rule, (sev, title, _src) in RULES.items():
        f = findings[findings["rule"] == rule]
        rows.append({"rule": rule, "severity": sev, "title": title, "findings": len(f),
                     "names": f["code"].nunique()})
    return pd.DataFrame(rows)


