"""Which register rows count in :func:`geoplan.coverage.assess`: status, year built, types outside the catalogue.

Rules (issue 15):

- only facilities whose status is *built* count, for travel times and for presence in a unit; a register
  without a status column, or a row with an empty status, counts as built (the notes say so);
- with ``as_of`` (a date), a built facility counts when its ``year_built`` is missing or not after the as-of
  date, compared as precisely as the register gives it (a full date as a date, a year alone by the year); closed facilities never count (a register gives no closing date, so a closure cannot be dated);
- rows whose type is not in the catalogue are an error unless ``other_types="skip"``.

Every row left out becomes a row of :attr:`CoverageResult.checks` (``facility_planned``,
``facility_under_construction``, ``facility_closed``, ``facility_built_after_as_of``,
``facility_type_skipped``) with its file and spreadsheet row; :attr:`CoverageResult.facilities` holds the
rows that count, with the input's index labels.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, Mapping

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.coverage._checks import _row, _where
from geoplan.coverage.standards import Catalogue
from geoplan.io._numbers import _numeric_column
from geoplan.io._register import STATUS_VALUES, STATUS_ZH, parse_built, parse_status

OTHER_TYPES = ("error", "skip")

_LEFT_OUT = {  # status -> check name, Chinese and English reason
    "planned": ("facility_planned", "规划中，尚未建设，不计入", "planned, not built: not counted"),
    "under_construction": ("facility_under_construction", "在建，尚未建成，不计入",
                           "under construction, not built yet: not counted"),
    "closed": ("facility_closed", "已停用，不计入", "closed: not counted"),
}


def parse_as_of(as_of: Any) -> _dt.date | None:
    """The as-of date from a ``datetime.date``, a ``datetime``/Timestamp, ISO text (``"2022-12-31"``) or a year.

    A year alone (``2022`` or ``"2022"``) means the end of that year.

    Raises
    ------
    InputError
        Anything else (field ``as_of``).
    """
    if as_of is None:
        return None
    if isinstance(as_of, pd.Timestamp) or isinstance(as_of, _dt.datetime):
        return as_of.date()
    if isinstance(as_of, _dt.date):
        return as_of
    text = str(as_of).strip()
    if text.isdigit() and len(text) == 4:
        return _dt.date(int(text), 12, 31)
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"as-of date {as_of!r} not understood; give an ISO date such as 2022-12-31 (or a year)",
                         field="as_of") from None


def with_weights(catalogue: Catalogue, weights: Mapping[str, str] | None, *, source: str = "weight override"
                 ) -> Catalogue:
    """A copy of ``catalogue`` in which the named types are weighted by other demand columns.

    Parameters
    ----------
    weights
        Type (key, Chinese name or alias) → demand column (e.g. ``{"社工站": "低保户数"}``).
    source
        Recorded as the source of the weight.

    Raises
    ------
    InputError
        An unknown type or an empty column name (field ``weight``).
    """
    if not weights:
        return catalogue
    wanted = {}
    for name, col in weights.items():
        key = catalogue.resolve(name)
        if key is None:
            raise InputError(f"unknown facility type {name!r} in the weight override; known: "
                             f"{', '.join(catalogue.known_keys)} (or their Chinese names)", field="weight")
        if not str(col or "").strip():
            raise InputError(f"empty weight column for {name!r}", field="weight")
        wanted[key] = str(col).strip()
    def changed(t):
        return (dataclasses.replace(t, weight=wanted[t.key], sources={**t.sources, "weight": source})
                if t.key in wanted else t)

    # replace() keeps the extra types and their mode overrides (a new Catalogue would rebuild them from the defaults)
    return dataclasses.replace(catalogue, types=tuple(map(changed, catalogue.types)),
                               extra=tuple(map(changed, catalogue.extra)))


def weight_column(demand, col: str, *, labels) -> np.ndarray:
    """A weight column of the demand as non-negative floats, with the readers' number rules and messages."""
    if col not in demand.columns:
        raise InputError(f"demand has no weight column {col!r}; columns present: "
                         f"{', '.join(str(c) for c in demand.columns if c != 'geometry')}",
                         file=demand.attrs.get("source"), field=col)
    return _numeric_column(demand, col, what="weight", file=demand.attrs.get("source"), rows=labels,
                           required=True, nonneg=True)


def counted_rows(fac, facilities, unknown: pd.Series, catalogue: Catalogue, *, as_of: _dt.date | None,
                 other_types: str) -> tuple[np.ndarray, list[dict], list[tuple[str, str]]]:
    """Which facilities count, the check rows of the others and the notes (Chinese, English).

    Parameters
    ----------
    fac
        The facilities with canonical types (None where ``unknown``).
    facilities
        The input frame (for file and row of each check).
    unknown
        Rows whose type is not in the catalogue (already refused unless ``other_types="skip"``).
    """
    src = facilities.attrs.get("source")
    n = len(fac)
    keep = np.ones(n, dtype=bool)
    checks: list[dict] = []
    notes: list[tuple[str, str]] = []
    name = fac["name"] if "name" in fac.columns else pd.Series([None] * n, index=fac.index)

    def listed(lab, check, zh, en):
        checks.append(_row(check, fac.at[lab, "id"], name.at[lab], src, _where(facilities, lab)["row"], zh, en))

    skipped = unknown.to_numpy(bool)
    if skipped.any():
        keep &= ~skipped
        raw = facilities["type"].where(facilities["type"].notna(), None)
        for lab in fac.index[skipped]:
            t = raw.at[lab]
            listed(lab, "facility_type_skipped", f"类型“{t}”不在设施目录中，已跳过",
                   f"type {t!r} is not in the catalogue: skipped")
        counts = raw[skipped].fillna("（空）").astype(str).value_counts()
        notes.append((f"跳过设施目录以外类型的设施 {int(skipped.sum())} 处（按要求 --other-types skip）："
                      + "、".join(f"{t} {c} 处" for t, c in counts.items()),
                      f"{int(skipped.sum())} facility(ies) of types outside the catalogue skipped (other_types=skip): "
                      + ", ".join(f"{t} {c}" for t, c in counts.items())))

    status = _statuses(fac, facilities, notes)
    for st, (check, zh, en) in _LEFT_OUT.items():
        hit = (status == st) & keep
        for lab in fac.index[hit]:
            listed(lab, check, f"{catalogue[fac.at[lab, 'type']].name_zh}：{zh}",
                   f"{catalogue[fac.at[lab, 'type']].name_en}: {en}")
        keep &= ~hit
    if as_of is not None:
        keep = _as_of(fac, facilities, keep, as_of, listed, notes, catalogue)
    left = {st: int(((status == st) & ~skipped).sum()) for st in _LEFT_OUT}
    if any(left.values()):
        notes.append(("只有已建成的设施计入出行时间和单位覆盖；未计入："
                      + "、".join(f"{STATUS_ZH[s]} {c} 处" for s, c in left.items() if c) + "（明细见输入数据检查）",
                      "only built facilities count for travel times and presence in units; left out: "
                      + ", ".join(f"{c} {s.replace('_', ' ')}" for s, c in left.items() if c)
                      + " (listed in the input checks)"))
    return keep, checks, notes


def _statuses(fac, facilities, notes: list) -> np.ndarray:
    """Canonical status per row; a missing column or cell is built (and noted)."""
    if "status" not in fac.columns:
        notes.append(("设施表没有“状态”列：全部设施按已建成计入",
                      "the facility register has no status column: every facility is counted as built"))
        return np.full(len(fac), "built", dtype=object)
    out = []
    accepted = "; ".join(f"{k}: {'/'.join(v[1:])}" for k, v in STATUS_VALUES.items())
    for lab, v in fac["status"].items():
        try:
            out.append(parse_status(v))
        except ValueError:
            raise InputError(f"status {v!r} not understood; accepted: {accepted}", **_where(facilities, lab),
                             field="status") from None
    blank = sum(s is None for s in out) + int(facilities.attrs.get("status_blank", 0) or 0)
    if blank:
        notes.append((f"{blank} 处设施未填状态，按已建成计入", f"{blank} facility(ies) without a status: counted as built"))
    return np.array(["built" if s is None else s for s in out], dtype=object)


def _as_of(fac, facilities, keep: np.ndarray, as_of: _dt.date, listed, notes: list, catalogue: Catalogue
           ) -> np.ndarray:
    """Leave out the built facilities built after the as-of date, as precisely as the register dates them.

    A full date (``built_date``, or a date in ``year_built``) counts when not after ``as_of``; a year and
    month when not after the as-of month; a year alone when not after the as-of year.
    """
    parts: list = [None] * len(fac)
    dates = fac["built_date"] if "built_date" in fac.columns else pd.Series(pd.NaT, index=fac.index)
    if "year_built" in fac.columns:
        for i, (lab, v) in enumerate(fac["year_built"].items()):
            if pd.notna(dates.at[lab]):
                d = pd.Timestamp(dates.at[lab])
                parts[i] = (d.year, d.month, d.day)
                continue
            try:
                parts[i] = parse_built(None if pd.isna(v) else v)
            except ValueError:
                raise InputError(f"year built {v!r} not understood; give a year (2019) or a date (2019-05-01)",
                                 **_where(facilities, lab), field="year_built") from None
    ref = (as_of.year, as_of.month, as_of.day)
    later = keep & np.array([p is not None and tuple(x for x in p if x is not None) > ref[:sum(x is not None for x in p)]
                             for p in parts], dtype=bool)
    for lab, p in zip(fac.index[later], [p for p, m in zip(parts, later) if m]):
        ft = catalogue[fac.at[lab, "type"]]
        when = "-".join(f"{x:02d}" if k else str(x) for k, x in enumerate(p) if x is not None)
        listed(lab, "facility_built_after_as_of",
               f"{ft.name_zh}：建成于 {when}，晚于评估时点 {as_of.isoformat()}，不计入",
               f"{ft.name_en}: built {when}, after the as-of date {as_of.isoformat()}: not counted")
    no_year = int((keep & np.array([p is None for p in parts], dtype=bool)).sum())
    notes.append((f"评估时点 {as_of.isoformat()}：计入状态为建成且建成时间不晚于评估时点的设施（台账给出完整日期时按日期比较，"
                  f"只给年份时按年份比较：年份不晚于 {as_of.year} 年即计入，只给年月时按年月比较；未填建成年份的 {no_year} 处"
                  f"也计入）；建成晚于评估时点的 {int(later.sum())} 处未计入。停用设施一律不计入："
                  "台账没有停用日期，无法判断其在评估时点是否仍在使用",
                  f"As of {as_of.isoformat()}: facilities count when built no later than the as-of date (a full date "
                  f"in the register is compared as a date; a year alone counts when no later than {as_of.year}, a "
                  f"year and month when no later than that month; no year given: {no_year}, counted); "
                  f"{int(later.sum())} built later are left out. Closed facilities never count: the register gives no "
                  "closing date, so a closure cannot be dated."))
    return keep & ~later

def not_assessed(fac, facilities, type_list: list[str], catalogue: Catalogue
                 ) -> tuple[list[dict], list[tuple[str, str]]]:
    """Check rows and a note for counted facilities of known types that are not assessed in this run.

    Without ``types`` only the default types are assessed; rows of the extra built-in types (殡仪馆,
    婚姻登记处...) would otherwise vanish from the indicators without a word (``facility_type_not_assessed``).
    """
    out = fac.index[~fac["type"].isin(type_list).to_numpy()]
    if not len(out):
        return [], []
    src = facilities.attrs.get("source")
    name = fac["name"] if "name" in fac.columns else pd.Series([None] * len(fac), index=fac.index)
    ident = fac["id"] if "id" in fac.columns else pd.Series(fac.index, index=fac.index)
    checks = [_row("facility_type_not_assessed", ident.at[lab], name.at[lab], src, _where(facilities, lab)["row"],
                   f"{catalogue[fac.at[lab, 'type']].name_zh}：本次未评估该类型，不计入指标",
                   f"{catalogue[fac.at[lab, 'type']].name_en}: type not assessed in this run: not counted")
              for lab in out]
    counts = fac.loc[out, "type"].value_counts()
    first = catalogue[counts.index[0]]
    zh = (f"{len(out)} 处 {first.name_zh} 等未评估类型的设施未计入指标（"
          + "、".join(f"{catalogue[t].name_zh} {c} 处" for t, c in counts.items())
          + "；用 --type 指定类型即可评估）")
    en = (f"{len(out)} facility(ies) of types not assessed in this run are not counted ("
          + ", ".join(f"{catalogue[t].name_en} {c}" for t, c in counts.items()) + "; name them with --type to assess them)")
    return checks, [(zh, en)]
