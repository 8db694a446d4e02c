"""Population tables keyed by division code (七普 by township or village): :func:`read_census`.

A bureau's census table has no coordinates: one row per 乡镇/街道 or 村/社区 with its 行政区划代码,
often its 名称, the resident population and parts of it (60 岁以上, 0–17 岁) and other counts
(低保户数, 特困人员, 留守儿童...).  Codes are kept as 12-digit text (9 digits padded with ``000``,
6 with ``000000``); people are whole numbers."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.io._checks import _check_duplicates, _check_pop_parts, _row_ranges
from geoplan.io._columns import COLUMN_ALIASES, _match_columns, _norm_header
from geoplan.io._files import PathLike
from geoplan.io._numbers import _blank, _division_code, _numeric_column, _parse_number
from geoplan.io._tables import read_table

#: Headers of a census table: the code column, the name and the three canonical people columns.
CENSUS_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("行政区划代码", "区划代码", "统计用区划代码", "代码", "admin_code", "code", "编码"),
    "name": ("名称", "name", "行政区划名称", "区划名称", "单位名称", "乡镇街道", "村社区", "地区"),
    "pop": ("常住人口", "总人口", "pop", "population", "人口", "人口数", "常住人口数"),
    "pop_60": tuple(dict.fromkeys(("60岁以上", "60岁及以上", "60周岁及以上人口", "60周岁及以上", "60周岁以上",
                                   "60周岁以上人口") + COLUMN_ALIASES["pop_60"])),
    "pop_0_17": tuple(dict.fromkeys(("0-17岁", "0—17岁", "未成年人", "0至17岁", "0~17岁", "0～17岁", "0至17周岁",
                                     "0-17周岁", "18岁以下", "18周岁以下", "未满18周岁", "未满18岁")
                                    + COLUMN_ALIASES["pop_0_17"])),
}

# Numeric columns that are not counts of people or households: never split over points.
_NOT_COUNTS = re.compile(r"序号|编号|行号|^no\.?$|^id$|年份|年度|面积|密度|比例|比重|占比|率|%|％|平均|人均|经度|纬度",
                         re.IGNORECASE)

# Rows that sum the others (a table's 合计 line) are skipped, never read as a unit.
_TOTAL_ROW = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计|total|sum)\s*$", re.IGNORECASE)


def _level(code: str, width: int) -> str:
    if width == 6 or code.endswith("000000"):
        return "county"
    if width == 9 or code.endswith("000"):
        return "township"
    return "village"


def _codes(t: pd.DataFrame, col: str, name_col: str | None, file: str) -> tuple[list[str], list[str], list[int]]:
    """12-digit codes, levels and the data rows kept (total rows without a code skipped)."""
    codes, levels, keep = [], [], []
    for row, v in t[col].items():
        if _blank(v):
            if name_col is not None and not _blank(t.at[row, name_col]) and _TOTAL_ROW.match(str(t.at[row, name_col])):
                continue
            raise InputError("empty division code", file=file, row=row, field=col)
        c = _division_code(v, numeric=False, strict=True, file=file, row=row, field=col)
        assert c is not None
        codes.append(c.ljust(12, "0"))
        levels.append(_level(c.ljust(12, "0"), len(c)))
        keep.append(row)
    return codes, levels, keep


def _count_column(t: pd.DataFrame, col: str, *, what: str, file: str) -> np.ndarray:
    """Whole, non-negative numbers (people, households) of one column."""
    vals = _numeric_column(t, col, what=what, file=file, rows=t.index, required=True, nonneg=True)
    frac = np.flatnonzero(vals != np.round(vals))
    if frac.size:
        raise InputError(f"{what} must be a whole number: {t[col].iloc[frac[0]]!r}", file=file,
                         row=t.index[frac[0]], field=col)
    return vals.astype(np.int64)


def _is_count_column(values: pd.Series) -> bool:
    """Every non-empty cell a whole number >= 0 (a count), and at least one cell."""
    cells = [v for v in values.tolist() if not _blank(v)]
    if not cells:
        return False
    for v in cells:
        x = _parse_number(v)
        if x is None or x < 0 or x != round(x):
            return False
    return True


def _check_nesting(codes: list[str], levels: list[str], rows: list[int], *, file: str, field: str) -> None:
    """A unit and a unit inside it in one table would count the same people twice."""
    where = dict(zip(codes, rows))
    for c, lvl, row in zip(codes, levels, rows):
        parents = {"village": [c[:9] + "000", c[:6] + "000000"], "township": [c[:6] + "000000"]}.get(lvl, [])
        for p in parents:
            if p in where:
                raise InputError(
                    f"division code {c} lies inside {p} (row {where[p]}), also in the table: the same people "
                    "would be counted twice; keep one level", file=file, row=row, field=field)


def read_census(
    path: PathLike,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    code_col: str | None = None,
) -> pd.DataFrame:
    """Read a population table keyed by 行政区划代码 (CSV in UTF-8/GBK, or Excel).

    Parameters
    ----------
    path
        CSV/TXT/TSV or ``.xlsx`` with a code column (行政区划代码, 区划代码, 代码, ...; 6, 9 or 12
        digits), optionally 名称, and counts: 常住人口/总人口 become ``pop``, 60岁以上/60岁及以上
        ``pop_60``, 0-17岁/0—17岁/未成年人 ``pop_0_17``; every other column whose cells are all whole
        non-negative numbers (低保户数, 特困人员, ...) is kept under its own header, unless its header
        says it is no count (序号, 年份, 面积, 密度, 比例/率, 人均...).  A 合计/总计 row without a code is
        skipped.  Also read as ``pop_60``: 60周岁及以上人口, 60周岁以上; as ``pop_0_17``: 0至17岁, 0~17岁,
        18岁以下, 未满18周岁.  Blank cells of such an extra count column are missing values (nullable
        ``Int64``; the column is listed in ``attrs["incomplete"]`` and not split over demand points); a
        blank in 常住人口/60+/0–17 is an error.

        Codes follow the national statistical division-code rules: township part (digits 7–9) 001–099
        街道, 100–199 镇, 200–399 乡, 400–599 政企合一 units (开发区, 农场...); village part (digits 10–12)
        001–199 居委会, 200–399 村委会, 400–599 similar units (虚拟社区 498, 虚拟生活区 598 in the 2023 list).
        Other values (e.g. 999) are named by no range: they are accepted and listed in ``attrs["special"]``
        with the 400–599 codes; :func:`geoplan.coverage.unit_kind` classes such a village part ``special``
        (其他) and such a township part as no kind (未分类): neither has a kind-specific target.
    sheet
        Excel sheet name or 0-based number.
    encoding
        Force a CSV encoding (default: detected).
    code_col
        The code column's header, when it is not one of the usual ones.

    Returns
    -------
    pandas.DataFrame
        ``code`` (12-digit text), ``level`` (county/township/village), ``name`` (if given), the
        count columns as int64; index 0..n-1; ``attrs``: ``source``, ``row_ranges`` (spreadsheet
        rows), ``columns`` (canonical name -> the header as written), ``dropped`` (headers of
        columns that are not counts), ``incomplete`` (count columns with blank cells), ``special``
        (codes outside the 街道/镇/乡 and 居委会/村委会 ranges).

    Raises
    ------
    InputError
        Naming file, row (as the spreadsheet numbers it) and field: no code column, a code that
        lost digits (``4.30302E+11``, 11 digits), an empty or negative or fractional count, a
        duplicate code, a unit and a unit inside it both listed, 60+ or 0–17 (or both together)
        greater than the total.
    """
    wanted = [a for names in CENSUS_ALIASES.values() for a in names]
    t = read_table(path, header=wanted, sheet=sheet, encoding=encoding)
    file = t.attrs["source"]
    found = _match_columns(t.columns, CENSUS_ALIASES, {"code": code_col}, file=file)
    if "code" not in found:
        raise InputError("no division-code column found (行政区划代码, 区划代码 or 代码); columns are: "
                         + ", ".join(map(str, t.columns)), file=file, field="行政区划代码")
    ccol, ncol = found["code"], found.get("name")
    codes, levels, keep = _codes(t, ccol, ncol, file)
    if not keep:
        raise InputError("the table has no unit rows", file=file)
    t = t.loc[keep]
    _check_duplicates(codes, keep, field=ccol, file=file, what="division code")
    _check_nesting(codes, levels, keep, file=file, field=ccol)
    out = pd.DataFrame({"code": codes, "level": levels})
    if ncol is not None:
        out["name"] = [None if _blank(v) else str(v).strip() for v in t[ncol]]
    pops: dict[str, np.ndarray] = {}
    for canon in ("pop", "pop_60", "pop_0_17"):
        if canon in found:
            pops[canon] = _count_column(t, found[canon], what=f"{canon} ({found[canon]})", file=file)
            out[canon] = pops[canon]
    _check_pop_parts(pops, fields={k: found[k] for k in pops}, file=file, rows=keep)
    if {"pop", "pop_60", "pop_0_17"} <= set(pops):
        bad = np.flatnonzero(pops["pop_60"] + pops["pop_0_17"] > pops["pop"])
        if bad.size:
            i = bad[0]
            raise InputError(f"pop_60 + pop_0_17 ({pops['pop_60'][i] + pops['pop_0_17'][i]}) exceeds the total "
                             f"population ({pops['pop'][i]})", file=file, row=keep[i], field=found["pop"])
    used = set(found.values())
    dropped, incomplete = [], []
    for col in t.columns:
        if col in used:
            continue
        if not _NOT_COUNTS.search(str(col)) and _is_count_column(t[col]):
            if _norm_header(col) in {_norm_header(c) for c in out.columns}:
                raise InputError(f"column {col!r} repeats a column already read", file=file, field=col)
            if any(_blank(v) for v in t[col].tolist()):
                # an extra count with blank cells is missing there, not an error; it is not split over points
                out[col] = pd.array([None if _blank(v) else int(round(_parse_number(v))) for v in t[col].tolist()],
                                    dtype="Int64")
                incomplete.append(str(col))
            else:
                out[col] = _count_column(t, col, what=str(col), file=file)
        else:
            dropped.append(str(col))
    special = [c for c in codes if int(c[6:9]) >= 400 or (c[9:] != "000" and int(c[9:]) >= 400)]
    out.attrs.update(source=file, row_ranges=_row_ranges(keep), columns=dict(found), dropped=dropped,
                     incomplete=incomplete, special=special)
    return out


def census_columns(census: pd.DataFrame) -> list[str]:
    """The count columns of a table from :func:`read_census` (all but code, level and name).

    Columns with blank cells (``attrs["incomplete"]``) are left out: their people cannot be split.
    """
    skip = set(census.attrs.get("incomplete") or ())
    return [c for c in census.columns if c not in ("code", "level", "name") and c not in skip]


def _as_codes(values: Any) -> list[str]:
    """12-digit code text of a column (numbers and 6/9-digit codes padded), for matching units to a table."""
    out = []
    for v in values:
        if _blank(v):
            out.append("")
            continue
        s = str(int(v)) if isinstance(v, (int, np.integer, float, np.floating)) else str(v).strip()
        out.append(s.ljust(12, "0") if s.isdigit() and len(s) in (6, 9) else s)
    return out
