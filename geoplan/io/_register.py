"""Register columns of a facility table: status, year built, stars, nursing beds, staff, village/township codes.

A civil-affairs facility register (设施台账) carries more than a location and a type. These columns are
read by :func:`geoplan.io.read_points` for ``kind="facilities"`` and turned into canonical columns:

=================  ==========================================================  ==============================
canonical          headers                                                     values
=================  ==========================================================  ==============================
``status``         状态, 建设状态, 运营状态, status                             planned / under_construction /
                                                                               built / closed
``year_built``     建成年份, 建成时间, 投用年份, 投用时间, year_built          a year or a date → int year
``stars``          星级, stars                                                 1–5 (三星, 3星, ★★★, 3)
``nursing_beds``   护理型床位, 护理型床位数, nursing_beds                      ≥ 0 and ≤ ``capacity`` (床位)
``staff``          工作人员, 工作人员数, staff                                 whole number ≥ 0
``village_code``   所属村（社区）代码, 村（社区）代码, 村（居）委会代码,        12-digit text (9 digits + 000)
                   村居代码, village_code
``township_code``  所属乡镇（街道）代码, 乡镇（街道）代码, township_code       12-digit text (9 digits + 000)
=================  ==========================================================  ==============================

A register without a status column (no ``status`` column is added), or a row with an empty status
cell (``built`` is filled in), counts as ``built``; the frame's ``attrs`` say so (``status_column``: the header, "" without one; ``status_blank``: the
number of empty cells) so that :func:`geoplan.coverage.assess` can note it in the report.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.io._columns import _match_columns
from geoplan.io._numbers import _blank, _division_code, _numeric_column

#: Accepted headers of the register columns (matched like :data:`geoplan.io.COLUMN_ALIASES`;
#: bracketed notes such as "（社区）" are dropped before matching).
REGISTER_ALIASES: dict[str, tuple[str, ...]] = {
    "status": ("status", "状态", "建设状态", "运营状态", "设施状态"),
    "year_built": ("year_built", "建成年份", "建成时间", "投用年份", "投用时间", "建成日期", "投用日期"),
    "stars": ("stars", "星级", "星级评定"),
    "nursing_beds": ("nursing_beds", "护理型床位", "护理型床位数", "护理床位"),
    "staff": ("staff", "工作人员", "工作人员数", "工作人员数量", "员工数"),
    "village_code": ("village_code", "所属村（社区）代码", "村（社区）代码", "所属村代码", "村代码", "社区代码",
                     "村（居）委会代码", "所属村（居）委会代码", "村居代码", "所属村居代码", "村（居）代码"),
    "township_code": ("township_code", "所属乡镇（街道）代码", "乡镇（街道）代码", "所属乡镇代码", "乡镇代码",
                      "街道代码"),
}

#: Canonical order of the register columns (after the other canonical columns).
REGISTER_COLUMNS: tuple[str, ...] = tuple(REGISTER_ALIASES)

#: The statuses, and the cell values that mean each (after NFKC, spaces dropped, lower case).
STATUS_VALUES: dict[str, tuple[str, ...]] = {
    "planned": ("planned", "规划", "拟建", "规划中"),
    "under_construction": ("under_construction", "underconstruction", "在建", "建设中", "在建中"),
    "built": ("built", "建成", "已建成", "运营", "运营中", "在用", "已建"),
    "closed": ("closed", "停用", "已停用", "关闭", "已关闭", "撤销", "已撤销"),
}
_STATUS_OF = {v: k for k, vals in STATUS_VALUES.items() for v in vals}

#: Chinese labels of the statuses (reports).
STATUS_ZH = {"planned": "规划", "under_construction": "在建", "built": "建成", "closed": "停用"}

_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_YEAR_RANGE = (1900, 2100)


def _clean(v: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v))).lower()


def parse_status(v: Any) -> str | None:
    """The canonical status of a cell (None for an empty cell).

    Parameters
    ----------
    v
        A cell value such as ``"在建"``, ``"运营中"`` or ``"built"``.

    Returns
    -------
    str or None
        ``planned``, ``under_construction``, ``built`` or ``closed``; None when blank.

    Raises
    ------
    ValueError
        A value that is none of :data:`STATUS_VALUES`.
    """
    if _blank(v):
        return None
    s = _clean(v).replace("-", "_")
    if s not in _STATUS_OF:
        raise ValueError(v)
    return _STATUS_OF[s]


def parse_year(v: Any) -> int | None:
    """The year of a year or date cell (None for an empty cell).

    Accepted: ``2019``, ``2019.0``, ``"2019"``, ``"2019年"``, ``"2019-05-01"``, ``"2019/5/1"``,
    ``"2019.5"``, ``"2019年5月"``, ``"201905"``, ``"20190501"``, dates and timestamps (Excel cells).

    Raises
    ------
    ValueError
        Anything else, or a year outside 1900–2100.
    """
    parts = parse_built(v)
    return None if parts is None else parts[0]


def parse_built(v: Any) -> tuple[int, int | None, int | None] | None:
    """Year, month and day of a year-built cell, as precise as the cell is (None for an empty cell).

    ``2019`` → ``(2019, None, None)``; ``"2019年5月"`` → ``(2019, 5, None)``; ``"2019-05-01"`` or an
    Excel date → ``(2019, 5, 1)``.  The values accepted are those of :func:`parse_year`.

    Raises
    ------
    ValueError
        A value :func:`parse_year` refuses, or an impossible date (2019-02-30).
    """
    if _blank(v):
        return None
    month = day = None
    if isinstance(v, (_dt.date, pd.Timestamp)):
        year, month, day = v.year, v.month, v.day
    elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        if not float(v).is_integer():
            raise ValueError(v)
        year = int(v)
    else:
        s = _clean(v)
        m = (re.fullmatch(r"(\d{4})(?:年|\.0)?", s)
             or re.fullmatch(r"(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?|月)?(?:t?\d{1,2}:\d{2}(?::\d{2})?)?", s)
             or re.fullmatch(r"(\d{4})(\d{2})(\d{2})?", s))
        if not m:
            raise ValueError(v)
        year = int(m.group(1))
        groups = m.groups() + (None, None)
        month = int(groups[1]) if groups[1] else None
        day = int(groups[2]) if groups[2] else None
        if month is not None and not 1 <= month <= 12:
            raise ValueError(v)
        if day is not None:
            _dt.date(year, month, day)  # ValueError for 2019-02-30
    if not _YEAR_RANGE[0] <= year <= _YEAR_RANGE[1]:
        raise ValueError(v)
    return year, month, day


def parse_stars(v: Any) -> int | None:
    """Stars 1–5 from ``3``, ``"3"``, ``"3星"``, ``"三星"``, ``"三星级"``, ``"★★★"`` (None for an empty cell).

    Raises
    ------
    ValueError
        Anything else, or a number outside 1–5.
    """
    if _blank(v):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        n = int(v) if float(v).is_integer() else 0
    else:
        s = _clean(v)
        if re.fullmatch(r"★+", s):
            n = len(s)
        else:
            m = re.fullmatch(r"(\d|[一二两三四五])(?:\.0)?(?:星级?|级)?", s)
            if not m:
                raise ValueError(v)
            g = m.group(1)
            n = int(g) if g.isdigit() else _ZH_DIGITS[g]
    if not 1 <= n <= 5:
        raise ValueError(v)
    return n


def _cells(frame: pd.DataFrame, col: str, parse, *, file: str, what: str, accepted: str) -> list:
    out = []
    for v, row in zip(frame[col].tolist(), frame.index):
        try:
            out.append(parse(v))
        except ValueError:
            raise InputError(f"{what} {v!r} not understood; accepted: {accepted}", file=file, row=row,
                             field=col) from None
    return out


def _code12(frame: pd.DataFrame, col: str, *, what: str, file: str) -> list:
    numeric = pd.api.types.is_numeric_dtype(frame[col].dtype)
    out = []
    for v, row in zip(frame[col].tolist(), frame.index):
        c = _division_code(v, numeric=numeric, strict=True, file=file, row=row, field=col)
        if c is not None and len(c) == 6:
            raise InputError(f"{what} {c} is a county code (6 digits); give the 12-digit code (or 9 digits of "
                             "the township)", file=file, row=row, field=col)
        out.append(c if c is None or len(c) == 12 else c + "000")
    return out


def register_columns(frame: pd.DataFrame, used: set, *, file: str, capacity: np.ndarray | None,
                     capacity_field: str | None) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Parse the register columns of a facility table.

    Parameters
    ----------
    frame
        The table, indexed by source row; ``used`` headers (already canonical) are not considered.
    capacity, capacity_field
        The parsed ``capacity`` (床位) values and their header, to check ``nursing_beds`` against.

    Returns
    -------
    values, cols, attrs
        Canonical column → values; canonical column → source header; the frame attrs
        ``status_column`` and ``status_blank``.

    Raises
    ------
    InputError
        A value that is not understood, naming file, row, column and the accepted values.
    """
    cols = _match_columns([c for c in frame.columns if c not in used], REGISTER_ALIASES, {}, file=file)
    rows = frame.index
    out: dict[str, Any] = {}
    if "status" in cols:
        accepted = "; ".join(f"{k}: {'/'.join(v[1:])}" for k, v in STATUS_VALUES.items())
        st = _cells(frame, cols["status"], parse_status, file=file, what="status", accepted=accepted)
        blank = sum(s is None for s in st)
        out["status"] = ["built" if s is None else s for s in st]
    else:
        blank = len(frame)  # no column: every row counts as built (assess notes it)
    if "year_built" in cols:
        years = _cells(frame, cols["year_built"], parse_year, file=file, what="year built",
                       accepted="a year 1900–2100 (2019, 2019年) or a date (2019-05-01, 2019/5/1, 2019年5月)")
        out["year_built"] = pd.array(years, dtype="Int64")
        # the full date where the cell gives one: --as-of compares dates, not only years (review of issue 15)
        parts = [parse_built(v) for v in frame[cols["year_built"]].tolist()]
        if any(p is not None and p[2] is not None for p in parts):
            out["built_date"] = pd.to_datetime([_dt.date(*p) if p is not None and p[2] is not None else None
                                                for p in parts])
    if "stars" in cols:
        out["stars"] = pd.array(_cells(frame, cols["stars"], parse_stars, file=file, what="stars",
                                       accepted="1–5 as 3, 3星, 三星, 三星级 or ★★★"), dtype="Int64")
    for c, what in (("nursing_beds", "nursing beds"), ("staff", "staff")):
        if c in cols:
            out[c] = _numeric_column(frame, cols[c], what=what, file=file, rows=rows, required=False, nonneg=True)
            frac = np.flatnonzero(np.isfinite(out[c]) & (out[c] != np.round(out[c])))
            if frac.size:  # beds and people are counted whole
                raise InputError(f"{what} must be a whole number: {frame[cols[c]].iloc[frac[0]]!r}", file=file,
                                 row=rows[frac[0]], field=cols[c])
    if "nursing_beds" in cols and capacity is not None:
        over = np.flatnonzero(np.asarray(out["nursing_beds"] > capacity, dtype=bool))
        if over.size:
            i = over[0]
            raise InputError(f"nursing beds ({out['nursing_beds'][i]:g}) exceed the beds ({capacity[i]:g}, column "
                             f"{capacity_field}); nursing beds are part of the beds", file=file, row=rows[i],
                             field=cols["nursing_beds"])
    for c, what in (("village_code", "village code"), ("township_code", "township code")):
        if c in cols:
            out[c] = _code12(frame, cols[c], what=what, file=file)
    attrs = {"status_column": str(cols.get("status", "")), "status_blank": int(blank)}
    return out, cols, attrs
