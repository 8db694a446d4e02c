"""Administrative divisions with history: 12-digit codes, dates, merges and splits, persistence in a store.

Internals of :mod:`geoplan.registers.boundaries` (the public names are re-exported there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date as _date
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import InputError



DIVISION_COLUMNS = ["code", "name", "level", "parent", "valid_from", "valid_to",
                    "predecessors", "successors"]
LEVELS = ("province", "city", "county", "township", "village")
# Province-level prefixes in GB/T 2260 (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81, 82).
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
EVENTS_LAYER = "division_events"
DIVISIONS_LAYER = "divisions"


# ----------------------------------------------------------------------------- codes
def normalize_code(value: Any, *, file: str | None = None, row: int | None = None,
                   field: str | None = "code") -> str:
    """Return a 12-digit statistical code as text, restoring what a number lost.

    Parameters
    ----------
    value
        Text or number.  6 digits (county, GB/T 2260) and 9 digits (township) are padded
        with zeros to 12; 2 and 4 digits are province/city.  Floats must be whole numbers.
    file, row, field
        Where the value came from, for the error message.

    Returns
    -------
    str
        12 digits.

    Raises
    ------
    InputError
        Empty, non-digit, or an impossible length.  An 11-digit *number* is rejected, not
        padded: PRC codes start with a province 11–82, so a real 12-digit code never has a
        leading zero to lose — 11 digits means a digit is missing, and guessing would invent
        a unit.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise InputError("empty division code", file=file, row=row, field=field)
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise InputError(f"division code {value!r} is not a whole number", file=file, row=row, field=field)
        value = int(value)
    s = str(value).strip()
    if s.endswith(".0"):
        s = s[:-2]
    if not s.isdigit():
        raise InputError(f"division code {s!r} must be digits only", file=file, row=row, field=field)
    if len(s) in (2, 4, 6, 9):
        s = s.ljust(12, "0")
    if len(s) != 12:
        raise InputError(f"division code {s!r} has {len(s)} digits; expected 6 (county), 9 (township) or 12"
                         + (" (an 11-digit number cannot be a code that lost a leading zero: provinces are 11–82)"
                            if len(s) == 11 else ""), file=file, row=row, field=field)
    if int(s[:2]) not in PROVINCES:
        raise InputError(f"division code {s!r}: {s[:2]} is not a province code", file=file, row=row, field=field)
    return s


def code_level(code: str) -> str:
    """Level of a 12-digit code: province, city, county, township or village (by its zero tail).

    Parameters
    ----------
    code
        A normalised 12-digit code (see :func:`normalize_code`).

    Returns
    -------
    str
        ``"province"``, ``"city"``, ``"county"``, ``"township"`` or ``"village"``.
    """
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def parent_code(code: str) -> str | None:
    """Code of the next level up (``None`` for a province)."""
    lvl = code_level(code)
    cut = {"province": None, "city": 2, "county": 4, "township": 6, "village": 9}[lvl]
    return None if cut is None else code[:cut].ljust(12, "0")


def check_code(code: str) -> dict[str, str]:
    """Check a 12-digit code for form and level and describe its type.

    Parameters
    ----------
    code
        The code, in any form :func:`normalize_code` accepts.

    Returns
    -------
    dict
        ``code, level, kind, status`` where status is ``ok`` or ``unusual`` (a range the
        NBS coding rules reserve for 'similar' units, or not assigned; flagged, not invalid).
        Township part (digits 7–9): 001–099 街道 street, 100–199 镇 town, 200–399 乡 township,
        400–599 类似乡级单位 (development zones, farms...), other → unusual.  Village part
        (10–12): 001–199 居委会 community, 200–399 村委会 village, 400–599 类似村级单位.

    Raises
    ------
    InputError
        ``code`` is not a valid code (see :func:`normalize_code`).
    """
    code = normalize_code(code)
    lvl = code_level(code)
    kind, status = lvl, "ok"
    if lvl in ("township", "village"):
        t = int(code[6:9])
        kind = ("street" if 1 <= t <= 99 else "town" if t <= 199 else "township" if t <= 399
                else "similar_township" if t <= 599 else "unassigned")
        if t > 399 or t == 0:
            status = "unusual"
    if lvl == "village":
        v = int(code[9:])
        kind = ("community" if v <= 199 else "village" if v <= 399 else "similar_village" if v <= 599
                else "unassigned")
        if v > 399 or int(code[6:9]) == 0:
            status = "unusual"
    return {"code": code, "level": lvl, "kind": kind, "status": status}


# ----------------------------------------------------------------------------- dates
def iso_date(value: Any, *, what: str = "date", file: str | None = None, row: int | None = None,
             field: str | None = None) -> str:
    """A strict ISO date ``YYYY-MM-DD`` (impossible dates such as 2020-02-30 refused).

    Raises
    ------
    InputError
        Anything else; the message names ``what`` and the value.
    """
    t = str(value).strip() if value is not None else ""
    try:
        if len(t) != 10:
            raise ValueError("not YYYY-MM-DD")
        return _date.fromisoformat(t).isoformat()
    except ValueError as exc:
        raise InputError(f"bad {what} {t!r} (use YYYY-MM-DD): {exc}", file=file, row=row, field=field or what) from exc



# ----------------------------------------------------------------------------- hierarchy
def _split_codes(s: Any) -> list[str]:
    return [c for c in str(s or "").split(",") if c]


def new_divisions(units: gpd.GeoDataFrame, *, valid_from: str, code_col: str = "code",
                  name_col: str = "name", file: str | None = None) -> gpd.GeoDataFrame:
    """Turn a polygons layer into a divisions table (codes checked, levels and parents filled).

    Parameters
    ----------
    units
        GeoDataFrame with a code and a name column.
    valid_from
        ISO date from which these units are in force.
    code_col, name_col
        Column names.
    file
        Source file name for error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`DIVISION_COLUMNS` and the geometry, in the CRS of ``units``;
        ``valid_to``, ``predecessors`` and ``successors`` empty.

    Raises
    ------
    InputError
        A missing column, a bad or duplicate code (with its row), or a bad ``valid_from``.
    """
    for col in (code_col, name_col):
        if col not in units.columns:
            raise InputError(f"missing column {col!r}", file=file, field=col)
    valid_from = iso_date(valid_from, what="valid_from", file=file)
    codes = [normalize_code(v, file=file, row=i + 2, field=code_col) for i, v in enumerate(units[code_col])]
    dup = pd.Series(codes)[pd.Series(codes).duplicated()]
    if len(dup):
        i = int(dup.index[0])
        raise InputError(f"duplicate code {dup.iloc[0]}", file=file, row=i + 2, field=code_col)
    out = gpd.GeoDataFrame({
        "code": codes, "name": units[name_col].astype(str).to_numpy(),
        "level": [code_level(c) for c in codes], "parent": [parent_code(c) or "" for c in codes],
        "valid_from": str(valid_from), "valid_to": "", "predecessors": "", "successors": "",
    }, geometry=units.geometry.to_numpy(), crs=units.crs)
    return out


def divisions_at(divisions: gpd.GeoDataFrame, date: str) -> gpd.GeoDataFrame:
    """Units in force on ``date`` (``valid_from <= date < valid_to``), with ``code``, ``name`` columns.

    Parameters
    ----------
    divisions
        A divisions table (see :func:`new_divisions`).
    date
        ISO date; compared as text with ``valid_from`` and ``valid_to``.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows in force, re-indexed from 0.
    """
    d = str(date)
    vf = divisions["valid_from"].fillna("").astype(str)
    vt = divisions["valid_to"].fillna("").astype(str)
    keep = (vf <= d) & ((vt == "") | (vt > d))
    return divisions[keep].reset_index(drop=True)


@dataclass
class Change:
    """Result of a merge or split: the whole divisions table after it and the one event row.

    Attributes
    ----------
    divisions
        The divisions table after the change.
    event
        The event: ``kind``, ``date``, ``document``, ``old_codes``, ``new_codes`` (comma-separated),
        and ``event_id`` when written to a store.
    """

    divisions: gpd.GeoDataFrame
    event: dict[str, Any]


def _overlaps(divisions: gpd.GeoDataFrame, code: str, date: str) -> pd.DataFrame:
    """Rows of ``code`` whose validity reaches ``date`` or later (they would overlap a unit from ``date`` on)."""
    vt = divisions["valid_to"].fillna("").astype(str)
    return divisions[(divisions["code"] == code) & ((vt == "") | (vt > date))]


def _span(r) -> str:
    return f"{r['valid_from']}–{r['valid_to'] or '(in force)'}"


def _apply(old_codes: list[str], new_rows: list[dict], divisions: gpd.GeoDataFrame, *, kind: str,
           date: str, document: str, tx=None) -> Change:
    cur = divisions_at(divisions, date)
    missing = [c for c in old_codes if c not in set(cur["code"])]
    if missing:
        known = divisions[divisions["code"].isin(missing)]
        spans = "; ".join(f"{r['code']} {_span(r)}" for _, r in known.iterrows()) or "not in the register"
        raise InputError(f"{kind} dated {date}: units {missing} are not in force on that date ({spans})",
                         field="date")
    # a change dated before a later recorded change of the same unit would give it two successors
    later = cur[cur["code"].isin(old_codes) & (cur["valid_to"].fillna("").astype(str) != "")]
    if len(later):
        r = later.iloc[0]
        raise InputError(f"{kind} dated {date}: unit {r['code']} already changed on {r['valid_to']} "
                         f"(valid {_span(r)}); record changes in date order", field="date")
    new_codes = [r["code"] for r in new_rows]
    for c in new_codes:
        if c in old_codes:
            continue
        hit = _overlaps(divisions, c, date)
        if len(hit):
            raise InputError(f"{kind} dated {date}: new code {c} is already in force from that date on "
                             f"(valid {_span(hit.iloc[0])}); one code cannot be in force twice", field="date")
    d = divisions.copy()
    idx = d.index[d["code"].isin(old_codes) & ((d["valid_to"].fillna("") == "") | (d["valid_to"] > date))
                  & (d["valid_from"] <= date)]
    d.loc[idx, "valid_to"] = date
    d.loc[idx, "successors"] = ",".join(new_codes)
    add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=d.crs)
    add["predecessors"] = ",".join(old_codes)
    add["successors"] = ""
    add["valid_from"] = date
    add["valid_to"] = ""
    d = pd.concat([d, add[d.columns]], ignore_index=True)
    event = {"kind": kind, "date": date, "document": document, "old_codes": ",".join(old_codes),
             "new_codes": ",".join(new_codes)}
    if tx is not None:
        # the id is taken under the write lock and unique by constraint: concurrent changes cannot share one
        event = {"event_id": int(tx.max_value(EVENTS_LAYER, "event_id") or 0) + 1, **event}
        tx.write_layer(DIVISIONS_LAYER, d, mode="replace")
        tx.write_layer(EVENTS_LAYER, pd.DataFrame([event]), mode="append")
        tx.create_index(EVENTS_LAYER, ["event_id"], unique=True)
    return Change(gpd.GeoDataFrame(d, geometry="geometry", crs=divisions.crs), event)


def _in_store(store_or_divisions, change):
    """Run ``change(divisions, tx)``: on a store, read and write inside one write transaction."""
    if isinstance(store_or_divisions, gpd.GeoDataFrame):
        return change(store_or_divisions.copy(), None)
    with store_or_divisions.transaction() as tx:
        return change(load_divisions(store_or_divisions), tx)


def merge(store_or_divisions: "geoplan.registers.Store | gpd.GeoDataFrame", codes: Sequence[str], *, new_code: str,
          new_name: str, date: str, document: str) -> Change:
    """Merge units into one, as one recorded operation.

    Parameters
    ----------
    store_or_divisions
        A :class:`geoplan.registers.Store` (read, changed and written in one transaction) or a
        divisions GeoDataFrame (left untouched; the new table is returned).
    codes
        Codes of the units merged (in force on ``date``).
    new_code, new_name
        The resulting unit (may reuse one of ``codes``: it then gets a new row from ``date``).
    date
        ISO date the change takes effect: old rows get ``valid_to = date``.
    document
        Approval document (批文), e.g. "湘政函〔2020〕12号".

    Returns
    -------
    Change
        The divisions table after the merge and the event.

    Raises
    ------
    InputError
        A bad code or date, a unit not in force on ``date`` or already changed later, or a
        new code already in force from ``date`` on.
    """
    codes = [normalize_code(c) for c in codes]
    new_code = normalize_code(new_code)
    date = iso_date(date)

    def change(d, tx):
        olds = d[d["code"].isin(codes)]
        geom = shapely.union_all(divisions_at(olds, date).geometry.values)
        row = {"code": new_code, "name": new_name, "level": code_level(new_code),
               "parent": parent_code(new_code) or "", "geometry": geom}
        return _apply(codes, [row], d, kind="merge", date=date, document=document, tx=tx)

    return _in_store(store_or_divisions, change)


def split(store_or_divisions: "geoplan.registers.Store | gpd.GeoDataFrame", code: str, parts: gpd.GeoDataFrame, *,
          date: str, document: str) -> Change:
    """Split one unit into ``parts`` (GeoDataFrame with ``code``, ``name``, geometry), one operation.

    Parameters
    ----------
    store_or_divisions
        A :class:`geoplan.registers.Store` (read, changed and written in one transaction) or a
        divisions GeoDataFrame (left untouched; the new table is returned).
    code
        The unit split (in force on ``date``).
    parts
        The resulting units: ``code``, ``name`` and geometry.
    date
        ISO date the change takes effect: the old row gets ``valid_to = date``.
    document
        Approval document (批文).

    Returns
    -------
    Change
        The divisions table after the split and the event.

    Raises
    ------
    InputError
        As for :func:`merge`.
    """
    code = normalize_code(code)
    date = iso_date(date)
    rows = []
    for i, r in enumerate(parts.itertuples(index=False)):
        c = normalize_code(r.code, row=i + 2)
        rows.append({"code": c, "name": r.name, "level": code_level(c), "parent": parent_code(c) or "",
                     "geometry": r.geometry})
    return _in_store(store_or_divisions, lambda d, tx: _apply([code], rows, d, kind="split", date=date,
                                                              document=document, tx=tx))


def save_divisions(store: "geoplan.registers.Store", divisions: gpd.GeoDataFrame) -> None:
    """Replace the divisions layer of a store (one transaction).

    Parameters
    ----------
    store
        The store.
    divisions
        The divisions table, written as layer ``divisions``.
    """
    with store.transaction() as tx:
        tx.write_layer(DIVISIONS_LAYER, divisions, mode="replace")


def load_divisions(store: "geoplan.registers.Store") -> gpd.GeoDataFrame:
    """Read the divisions layer of a store, codes as text.

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    geopandas.GeoDataFrame
        Layer ``divisions``; every column of :data:`DIVISION_COLUMNS` present, as text
        (missing values ``""``).

    Raises
    ------
    StoreError
        The store has no ``divisions`` layer.
    """
    d = store.read_layer(DIVISIONS_LAYER)
    for c in DIVISION_COLUMNS:
        d[c] = d[c].fillna("").astype(str) if c in d.columns else ""
    return d
