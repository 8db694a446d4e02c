"""Year over year (issue 15 item 7): units as of a date from a boundaries register, and indicator changes.

* :func:`units_at` gives the township and village units in force on a date from a divisions table
  (:mod:`geoplan.registers.boundaries`: ``valid_from`` / ``valid_to``, merges and splits recorded as
  history), so that the denominators of the share indicators are those of that date;
* :func:`recode_at` moves a facility's unit code that is no longer in force (a merged unit) to the
  unit it went into, following ``successors`` while there is exactly one;
* :func:`compare_summaries` joins two summaries (two dates, or two runs read by :func:`read_run`) into
  one table of changes: value before and after, change in percentage points, passed before and after.

No report wording here: :mod:`geoplan.outputs._compare_outputs` writes the comparison report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.coverage._register import parse_as_of
from geoplan.coverage._units import _digits, unit_kinds, unit_level

__all__ = ["units_at", "recode_at", "compare_summaries", "read_run", "RUN_FILE", "COMPARE_COLUMNS", "KEY_COLUMNS"]

#: The machine-readable file a coverage report folder holds (written by ``outputs.write_coverage``).
RUN_FILE = "summary.csv"
#: Columns that name one indicator of a summary.
KEY_COLUMNS = ["type", "level", "indicator", "unit_kind"]
#: Columns of :func:`compare_summaries`.
COMPARE_COLUMNS = [*KEY_COLUMNS, "type_name_zh", "type_name_en", "value_before", "value_after", "change_pp",
                   "numerator_before", "denominator_before", "numerator_after", "denominator_after", "target",
                   "passed_before", "passed_after", "shortfall_after"]


def _level_of(divisions: pd.DataFrame) -> pd.Series:
    if "level" in divisions.columns:
        return divisions["level"].fillna("").astype(str)
    return divisions["code"].map(unit_level).fillna("")


def units_at(divisions: pd.DataFrame, as_of: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The township-level and village-level units in force on a date.

    Parameters
    ----------
    divisions
        A divisions table with history (:func:`geoplan.registers.boundaries.new_divisions`, ``merge``,
        ``split``, or ``load_divisions`` of a store): ``code``, ``name``, ``level``, ``valid_from``,
        ``valid_to``.
    as_of
        The date (ISO text, a ``datetime.date`` or a year: the end of that year).

    Returns
    -------
    (townships, villages)
        Frames (GeoDataFrames when the table has geometry) with ``code`` (12 digits), ``name`` and
        ``kind`` (street/town/township; community/village/special), index 0..n-1; a unit is in force when
        ``valid_from <= as_of < valid_to`` (:func:`geoplan.registers.boundaries.divisions_at`).

    Raises
    ------
    InputError
        A missing column or a date not understood.
    """
    from geoplan.registers._divisions import divisions_at

    missing = [c for c in ("code", "name", "valid_from", "valid_to") if c not in divisions.columns]
    if missing:
        raise InputError(f"the boundaries register lacks column(s) {missing}; columns present: "
                         f"{list(divisions.columns)}", file=divisions.attrs.get("source"), field=missing[0])
    date = parse_as_of(as_of)
    now = divisions_at(divisions, date.isoformat())
    level = _level_of(now)
    out = []
    for lv in ("township", "village"):
        part = now[(level == lv).to_numpy()].copy()
        keep = [c for c in part.columns if c in ("code", "name", "geometry")]
        part = part[keep].sort_values("code", kind="stable").reset_index(drop=True)
        part["kind"] = unit_kinds(part["code"]).astype(object)
        if "geometry" in part.columns and (part.geometry.isna() | part.geometry.is_empty).all():
            # a register of codes only (a merge of units without geometry leaves an empty one): a code table
            part = pd.DataFrame(part.drop(columns="geometry"))
        part.attrs["as_of"] = date.isoformat()
        out.append(part)
    return out[0], out[1]


def recode_at(codes: pd.Series, divisions: pd.DataFrame, as_of: Any) -> tuple[pd.Series, pd.DataFrame]:
    """Unit codes as of a date: a code no longer in force moves to the unit it was merged into.

    Parameters
    ----------
    codes
        Unit codes (a facility register's 所属村（社区）代码 or 所属乡镇（街道）代码), any index.
    divisions
        The divisions table with history.
    as_of
        The date.

    Returns
    -------
    (codes, moved)
        The codes as of the date (aligned to ``codes``; unchanged where in force, unknown, or split
        into several units), and one row per code moved: ``old_code``, ``new_code``.
    """
    date = parse_as_of(as_of).isoformat()
    vf = divisions["valid_from"].fillna("").astype(str)
    vt = divisions["valid_to"].fillna("").astype(str)
    in_force = set(divisions.loc[((vf <= date) & ((vt == "") | (vt > date))).to_numpy(), "code"].astype(str))
    succ = divisions[vt != ""].copy()
    succ = succ[(succ["valid_to"].astype(str) <= date)] if len(succ) else succ
    nxt: dict[str, list[str]] = {}
    if "successors" in divisions.columns:
        for c, s in zip(succ["code"].astype(str), succ["successors"].fillna("").astype(str)):
            nxt[c] = [x for x in s.split(",") if x]
    text = codes.map(_digits)
    moved = {}
    for c in set(text.dropna()):
        cur, seen = c, set()
        while cur not in in_force and cur in nxt and len(nxt[cur]) == 1 and cur not in seen:
            seen.add(cur)
            cur = nxt[cur][0]
        if cur != c and cur in in_force:
            moved[c] = cur
    out = text.map(lambda c: moved.get(c, c) if isinstance(c, str) else c)
    out = out.where(text.notna(), codes)
    return out, pd.DataFrame({"old_code": list(moved), "new_code": list(moved.values())})


def _passed(v) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return {"true": True, "false": False}.get(v.strip().lower())
    return bool(v)


def _prepared(summary: pd.DataFrame, names: dict | None) -> pd.DataFrame:
    missing = [c for c in (*KEY_COLUMNS, "value") if c not in summary.columns]
    if missing:
        raise InputError(f"a coverage summary lacks column(s) {missing}", file=summary.attrs.get("source"),
                         field=missing[0])
    s = summary.copy()
    s["unit_kind"] = s["unit_kind"].astype(object).where(s["unit_kind"].notna(), "any")
    for c in ("numerator", "denominator", "target", "shortfall"):
        s[c] = pd.to_numeric(s[c], errors="coerce") if c in s.columns else np.nan
    s["value"] = pd.to_numeric(s["value"], errors="coerce")
    s["passed"] = s["passed"].map(_passed) if "passed" in s.columns else None
    for lang in ("zh", "en"):
        col = f"type_name_{lang}"
        if col not in s.columns:
            s[col] = s["type"].map(lambda t: (names or {}).get(t, (t, t))[0 if lang == "zh" else 1])
    return s.drop_duplicates(KEY_COLUMNS, keep="first")


def compare_summaries(before: pd.DataFrame, after: pd.DataFrame, *, catalogue=None) -> pd.DataFrame:
    """Indicator changes between two summaries (two dates or two runs).

    Parameters
    ----------
    before, after
        Coverage results, or their summaries (:attr:`CoverageResult.summary`, or as :func:`read_run` reads
        them): one row per type,
        level, indicator and unit kind with ``value``, ``numerator``, ``denominator``, ``target``, ``passed``.
    catalogue
        Names of the types (default: the results' catalogue, the names the summaries carry, else the keys).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS`, one row per indicator present in either summary (in the order
        of ``after``, then those only in ``before``); ``change_pp`` is the change in percentage points for
        shares (``value`` in 0–1) and the plain difference for other indicators (minutes, ``indicator``
        not starting ``share``); the target is the one ``after`` was judged against.
    """
    if catalogue is None:
        catalogue = getattr(after, "catalogue", None) or getattr(before, "catalogue", None)
    before, after = getattr(before, "summary", before), getattr(after, "summary", after)
    names = None if catalogue is None else {ft.key: (ft.name_zh, ft.name_en) for ft in catalogue}
    b, a = _prepared(before, names), _prepared(after, names)
    keep = [*KEY_COLUMNS, "type_name_zh", "type_name_en", "value", "numerator", "denominator", "target", "passed",
            "shortfall"]
    m = a[keep].merge(b[keep], on=KEY_COLUMNS, how="outer", suffixes=("_after", "_before"), sort=False)
    order = {k: i for i, k in enumerate(map(tuple, a[KEY_COLUMNS].to_numpy()))}
    m["_o"] = [order.get(tuple(k), len(order) + i) for i, k in enumerate(m[KEY_COLUMNS].to_numpy())]
    m = m.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    for lang in ("zh", "en"):
        m[f"type_name_{lang}"] = m[f"type_name_{lang}_after"].where(m[f"type_name_{lang}_after"].notna(),
                                                                   m[f"type_name_{lang}_before"])
    share = m["indicator"].astype(str).str.startswith("share").to_numpy()
    diff = m["value_after"].to_numpy(float) - m["value_before"].to_numpy(float)
    m["change_pp"] = np.where(share, diff * 100.0, diff)
    m["target"] = m["target_after"].where(m["target_after"].notna(), m["target_before"])
    m["shortfall_after"] = m["shortfall_after"]
    return m[COMPARE_COLUMNS]


def read_run(folder: str | Path) -> tuple[pd.DataFrame, dict]:
    """The summary and the description of a coverage report folder (``summary.csv``, ``run.json`` when present).

    Parameters
    ----------
    folder
        A folder written by :meth:`CoverageResult.save` (or ``geoplan coverage``/``geoplan demo``).

    Returns
    -------
    (summary, info)
        The summary table (codes and kinds as text) and ``info``: ``as_of`` (ISO text or None) and ``label``
        (the as-of date, else the folder name).

    Raises
    ------
    InputError
        The folder holds no ``summary.csv`` (written by geoplan from this version on).
    """
    folder = Path(folder)
    path = folder / RUN_FILE
    if not path.is_file():
        raise InputError(f"{folder} holds no {RUN_FILE}: give a report folder written by geoplan coverage "
                         "(this version or later)", file=str(folder))
    s = pd.read_csv(path, dtype={"type": str, "level": str, "indicator": str, "unit_kind": str, "as_of": str},
                    keep_default_na=True, encoding="utf-8-sig")
    s.attrs["source"] = str(path)
    as_of = None
    if "as_of" in s.columns and s["as_of"].notna().any():
        as_of = str(s["as_of"].dropna().iloc[0])
    meta = folder / "run.json"
    info = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    info = {**info, "as_of": info.get("as_of", as_of)}
    info.setdefault("label", info["as_of"] or folder.name)
    return s, info


def inputs_at(facilities: pd.DataFrame, divisions: pd.DataFrame, as_of: Any
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[tuple[str, str]]]:
    """Units, villages and facilities as of a date from a boundaries register with history.

    The facilities' ``village_code`` / ``township_code`` that name a unit merged away by ``as_of`` are
    moved to the unit it went into (:func:`recode_at`).

    Returns
    -------
    (facilities, townships, villages, notes)
        ``notes`` are (Chinese, English) lines for the report: the date, the number of units and the codes moved.
    """
    date = parse_as_of(as_of)
    if date is None:
        raise InputError("units from a boundaries register need an as-of date", field="as_of")
    twp, vil = units_at(divisions, date)
    fac = facilities.copy()
    moved = pd.Series(False, index=fac.index)
    for col in ("village_code", "township_code"):
        if col in fac.columns:
            before = fac[col].map(_digits)
            fac[col], _ = recode_at(fac[col], divisions, date)
            moved |= before.notna() & (before != fac[col].map(_digits))
    n_moved = int(moved.sum())  # facilities, not cells
    notes = [(f"行政区划按区划台账 {date.isoformat()} 时的状态：乡镇（街道）{len(twp)} 个，村（社区）{len(vil)} 个"
              + (f"；{n_moved} 处设施所属单位已合并，计入合并后的单位" if n_moved else ""),
              f"Admin units as in force on {date.isoformat()} in the boundaries register: {len(twp)} township-level, "
              f"{len(vil)} village-level units"
              + (f"; {n_moved} facility(ies) in units merged since are counted in the unit they went into"
                 if n_moved else ""))]
    return fac, (twp if len(twp) else None), (vil if len(vil) else None), notes
