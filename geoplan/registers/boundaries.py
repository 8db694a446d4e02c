"""Administrative boundaries: hierarchy with history, topology, shared lines, markers, inspections.

Units are rows of a GeoDataFrame with columns ``code`` (12-digit statistical code, text),
``name``, ``level``, ``parent``, ``valid_from``, ``valid_to`` (ISO dates, ``valid_to`` empty
while in force), ``predecessors``/``successors`` (comma-separated codes) and a geometry.
Merges and splits are single recorded operations (one row in the events table).
All lengths and areas are computed in a projected CRS (metres) and reported in m / m².
Persistence goes through :class:`geoplan.store.Store` (layers ``divisions``,
``division_events``, ``markers``, ``marker_history``), one transaction per operation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import linemerge

from geoplan._errors import InputError

__all__ = [
    "normalize_code", "code_level", "check_code", "DIVISION_COLUMNS", "new_divisions",
    "divisions_at", "merge", "split", "Change", "import_divisions",
    "check_topology", "TopologyResult", "shared_lines", "outer_boundary",
    "parse_marker_code", "check_markers", "propose_markers", "lines_due",
    "inspection_route", "record_inspection", "save_divisions", "load_divisions",
    "compare_sources", "geodesic_length_m", "record_inspection_in_store", "store_divisions",
    "read_units", "read_inspection",
]

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
    """Level of a 12-digit code: province, city, county, township or village (by its zero tail)."""
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

    Returns
    -------
    dict
        ``code, level, kind, status`` where status is ``ok`` or ``unusual`` (a range the
        NBS coding rules reserve for 'similar' units, or not assigned; flagged, not invalid).
        Township part (digits 7–9): 001–099 街道 street, 100–199 镇 town, 200–399 乡 township,
        400–599 类似乡级单位 (development zones, farms...), other → unusual.  Village part
        (10–12): 001–199 居委会 community, 200–399 村委会 village, 400–599 类似村级单位.
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
    """Units in force on ``date`` (``valid_from <= date < valid_to``), with ``code``, ``name`` columns."""
    d = str(date)
    vf = divisions["valid_from"].fillna("").astype(str)
    vt = divisions["valid_to"].fillna("").astype(str)
    keep = (vf <= d) & ((vt == "") | (vt > d))
    return divisions[keep].reset_index(drop=True)


@dataclass
class Change:
    """Result of a merge or split: the whole divisions table after it and the one event row."""

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


def merge(store_or_divisions, codes: Sequence[str], *, new_code: str, new_name: str, date: str,
          document: str) -> Change:
    """Merge units into one, as one recorded operation.

    Parameters
    ----------
    store_or_divisions
        A :class:`geoplan.store.Store` (read, changed and written in one transaction) or a
        divisions GeoDataFrame (left untouched; the new table is returned).
    codes
        Codes of the units merged (in force on ``date``).
    new_code, new_name
        The resulting unit (may reuse one of ``codes``: it then gets a new row from ``date``).
    date
        ISO date the change takes effect: old rows get ``valid_to = date``.
    document
        Approval document (批文), e.g. "湘政函〔2020〕12号".
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


def split(store_or_divisions, code: str, parts: gpd.GeoDataFrame, *, date: str, document: str) -> Change:
    """Split one unit into ``parts`` (GeoDataFrame with ``code``, ``name``, geometry), one operation."""
    code = normalize_code(code)
    date = iso_date(date)
    rows = []
    for i, r in enumerate(parts.itertuples(index=False)):
        c = normalize_code(r.code, row=i + 2)
        rows.append({"code": c, "name": r.name, "level": code_level(c), "parent": parent_code(c) or "",
                     "geometry": r.geometry})
    return _in_store(store_or_divisions, lambda d, tx: _apply([code], rows, d, kind="split", date=date,
                                                              document=document, tx=tx))


def save_divisions(store, divisions: gpd.GeoDataFrame) -> None:
    """Replace the divisions layer of a store (one transaction)."""
    with store.transaction() as tx:
        tx.write_layer(DIVISIONS_LAYER, divisions, mode="replace")


def load_divisions(store) -> gpd.GeoDataFrame:
    """Read the divisions layer of a store, codes as text."""
    d = store.read_layer(DIVISIONS_LAYER)
    for c in DIVISION_COLUMNS:
        d[c] = d[c].fillna("").astype(str) if c in d.columns else ""
    return d


# Table files have no geometry: a planner who passes one needs to hear that, not a pandas error.
_TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}


def _read_layer(p: Path, file: str, *, layer: str | int | None, encoding: str | None) -> gpd.GeoDataFrame:
    """A GIS layer as read by :mod:`geoplan.io`, with its encoding detected like a CSV's.

    GeoJSON is UTF-8 by definition, but files exported by Chinese tools are
    sometimes GBK; as for CSV files (:mod:`geoplan.io`), UTF-8 is tried first,
    then GB18030 (a superset of GBK).
    """
    from geoplan.io import _io as gio

    try:
        return gio._read_vector(p, file, layer=layer, encoding=encoding)
    except InputError as exc:
        if encoding is not None or exc.field != "encoding":
            raise
    try:
        return gio._read_vector(p, file, layer=layer, encoding="gb18030")
    except InputError as exc:
        if exc.field != "encoding":
            raise
        raise InputError("cannot decode the attribute text (tried UTF-8 and GBK/GB18030); save the file as "
                         "UTF-8 or pass encoding=...", file=file, field="encoding") from exc


def read_units(path: str | Path, *, datum: str | None = None, layer: str | int | None = None,
               encoding: str | None = None, datum_option: str = "--datum") -> gpd.GeoDataFrame:
    """Read a polygon layer (GeoJSON/Shapefile/GeoPackage) into WGS-84 lon/lat, the datum stated or asked for.

    The same rule as :func:`geoplan.io.read_polygons`: datums are never guessed.

    Parameters
    ----------
    path
        The file.
    datum
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``: what the file's lon/lat really
        are (Amap exports are GCJ-02 while labelled EPSG:4326); GCJ-02/BD-09 are converted to
        WGS-84.  None: the file must state it -- a CGCS2000 or projected CRS, or a
        ``坐标系``/``datum`` column -- unless the polygons lie outside mainland China, where the
        datums coincide; otherwise an :class:`InputError` asks for it.
    layer
        Layer of a multi-layer file (a GeoPackage with several layers needs it).
    encoding
        Attribute text encoding (default: UTF-8, else GBK/GB18030).
    datum_option
        How the user states the datum, named in that error (default ``--datum``, the option of
        ``geoplan boundaries``; the message also names ``datum=``).

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns and polygons in EPSG:4326; ``attrs["datum"]`` and
        ``attrs["datum_source"]`` say which datum was read and how it was stated.

    Raises
    ------
    InputError
        Missing, empty or unreadable file (undecodable text included), a table without
        geometry, a missing or non-polygon geometry (row = feature number + 1, as elsewhere
        in this module), no datum stated for polygons in mainland China.
    """
    from geoplan.io import _io as gio
    from geoplan.io._crs import check_datum, geometry_to_wgs84

    if datum is not None:
        datum = check_datum(datum)
    p, file = gio._existing(path)
    if p.suffix.lower() in _TABLE_SUFFIXES:
        raise InputError("no geometry: this is a table; give a polygon layer (GeoJSON, GeoPackage, Shapefile)",
                         file=file, field="geometry")
    with gio._Reading(file):  # any other reader failure becomes an InputError naming the file
        gdf = _read_layer(p, file, layer=layer, encoding=encoding)
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
            raise InputError("no geometry; give a polygon layer (GeoJSON, GeoPackage, Shapefile)",
                             file=file, field="geometry")
        bad = gdf.geometry.isna() | ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError("geometry is missing or not a polygon", file=file, row=i + 2, field="geometry")
        crs_note = gio._crs_datum(gdf.crs)  # a CGCS2000 or projected CRS states the datum; EPSG:4326 does not
        # No CRS at all: GeoJSON without one is lon/lat by definition.
        gdf = gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf.to_crs("EPSG:4326")
        xy = shapely.get_coordinates(np.asarray(gdf.geometry.values, dtype=object))
        if not np.isfinite(xy).all():
            raise InputError("the polygons have no valid coordinates", file=file, field="geometry")
        rows = list(range(2, len(gdf) + 2))
        datum, stated = gio._resolve_datum(
            datum, column=gio._datum_column(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), rows, file),
            crs_note=crs_note, lon=xy[:, 0], lat=xy[:, 1], file=file, option=datum_option)
        gdf = geometry_to_wgs84(gdf, datum).set_crs("EPSG:4326", allow_override=True)
    gdf.attrs.update(source=file, datum=datum, datum_source=stated)
    return gdf


def import_divisions(path: str | Path, *, valid_from: str, datum: str | None = "wgs84", code_col: str = "code",
                     name_col: str = "name", layer: str | None = None, store=None, encoding: str | None = None,
                     datum_option: str = "--datum") -> gpd.GeoDataFrame:
    """Read divisions from GeoJSON/Shapefile/GeoPackage (pyogrio) and optionally append them to a store.

    Parameters
    ----------
    path
        The file.
    valid_from
        ISO date the units are in force from.
    datum
        ``"wgs84"`` (default), ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``: what the file's lon/lat
        really are (Amap exports are GCJ-02 while labelled EPSG:4326).  Converted to WGS-84.
        None: stated by the file or asked for, as in :func:`read_units` (what
        ``geoplan boundaries import`` does without ``--datum``).
    code_col, name_col, layer
        Column names; layer inside a GeoPackage.
    store
        A :class:`geoplan.store.Store`; every row is checked before anything is written, then
        all rows are appended in one transaction (a bad row leaves the store unchanged); see
        :func:`store_divisions`.
    encoding, datum_option
        As in :func:`read_units`.

    Raises
    ------
    InputError
        As :func:`read_units`, bad or duplicate codes, a code already in force in the store.
    """
    valid_from = iso_date(valid_from, what="valid_from", file=str(path))
    gdf = read_units(path, datum=datum, layer=layer, encoding=encoding, datum_option=datum_option)
    div = new_divisions(gdf, valid_from=valid_from, code_col=code_col, name_col=name_col, file=str(path))
    div.attrs.update(gdf.attrs)
    if store is not None:
        store_divisions(store, div, file=str(path), code_col=code_col)
    return div


def store_divisions(store, div: gpd.GeoDataFrame, *, file: str | None = None, code_col: str = "code") -> None:
    """Append new divisions (as :func:`new_divisions` makes them) to a store, in one write transaction.

    The register is read inside the same transaction (a concurrent import waits), and each
    code must not already be in force on or after its ``valid_from``: importing the same
    units again with an earlier ``valid_from`` would leave every code in force twice.

    Raises
    ------
    InputError
        A code's validity would overlap a stored row of the same code; the message names
        the file, row (header = 1), code and both date ranges.  Nothing is written.
    """
    with store.transaction() as tx:
        if store.has_layer(DIVISIONS_LAYER):
            old = load_divisions(store)
            for i, r in enumerate(div.itertuples(index=False)):
                hit = _overlaps(old, r.code, str(r.valid_from))
                if len(hit):
                    h = hit.iloc[0]
                    raise InputError(
                        f"code {r.code} ({r.name}) is already in force on or after {r.valid_from} in the store "
                        f"(stored validity {_span(h)}): a code cannot be in force twice (record a merge/split "
                        "instead of importing it again)",
                        file=file, row=i + 2, field=code_col)
        tx.write_layer(DIVISIONS_LAYER, div, mode="append")


# ----------------------------------------------------------------------------- topology
def _projected(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise InputError("layer has no CRS")
    if gdf.crs.is_projected:
        return gdf
    from geoplan.io._crs import projected_crs_for
    return gdf.to_crs(projected_crs_for(gdf))


def _polys(g) -> list:
    g = shapely.make_valid(g)
    parts = shapely.get_parts(g)
    return [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]


@dataclass
class TopologyResult:
    """Topology findings: ``table`` (one row per finding) and ``layer`` (same rows, WGS-84 geometry)."""

    table: pd.DataFrame
    layer: gpd.GeoDataFrame = field(repr=False)


def check_topology(units: gpd.GeoDataFrame, *, parent=None, tolerance_m: float = 1.0,
                   sliver_width_m: float = 50.0) -> TopologyResult:
    """Gaps, overlaps, slivers between neighbouring units; children against their parent.

    Parameters
    ----------
    units
        Siblings (``code``, ``name``, polygons; any CRS with units).  Computed in metres
        (UTM chosen by :func:`geoplan.crs.projected_crs_for` when geographic).
    parent
        Optional parent polygon (shapely, in ``units.crs``): parts of it no child covers are
        ``not_covered``; parts of a child outside it are ``outside_parent``.
    tolerance_m
        Pieces whose width (diameter of the largest inscribed circle) is at most this are
        digitising noise and are dropped.
    sliver_width_m
        A remaining overlap/gap piece with width at most this is kind ``sliver_overlap``
        / ``sliver_gap`` (a thin strip along a shared line rather than a real disagreement).

    Returns
    -------
    TopologyResult
        Columns ``kind, unit_a, unit_b, area_m2, width_m, lon, lat`` (representative point: always
        inside the piece), sorted by kind then area.
    """
    pu = _projected(units).reset_index(drop=True)
    geoms = pu.geometry.values
    codes = pu["code"].astype(str).tolist()
    rows: list[dict] = []

    def add(kind, a, b, g):
        for p in _polys(g):
            width = 2 * shapely.maximum_inscribed_circle(p).length  # widest inscribed circle
            if width <= tolerance_m:
                continue
            k = kind
            if kind in ("overlap", "gap") and width <= sliver_width_m:
                k = "sliver_" + kind
            rows.append({"kind": k, "unit_a": a, "unit_b": b, "area_m2": p.area, "width_m": width, "geometry": p})

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right):
        if i < j:
            inter = shapely.intersection(geoms[i], geoms[j])
            if inter.area > 0:
                add("overlap", codes[i], codes[j], inter)
    union = shapely.union_all(geoms)
    for poly in shapely.get_parts(union):
        for ring in getattr(poly, "interiors", []):
            hole = shapely.Polygon(ring)
            near = [codes[k] for k in tree.query(hole, predicate="intersects")]
            near += [codes[k] for k in tree.query(hole.buffer(max(tolerance_m, 1.0)), predicate="intersects")]
            near = sorted(set(near))
            add("gap", near[0] if near else "", near[1] if len(near) > 1 else "", hole)
    if parent is not None:
        par = gpd.GeoSeries([parent], crs=units.crs).to_crs(pu.crs).iloc[0]
        add("not_covered", "", "", shapely.difference(par, union))
        for c, g in zip(codes, geoms):
            add("outside_parent", c, "", shapely.difference(g, par))
    layer = gpd.GeoDataFrame(rows, geometry="geometry", crs=pu.crs) if rows else gpd.GeoDataFrame(
        {"kind": [], "unit_a": [], "unit_b": [], "area_m2": [], "width_m": []}, geometry=[], crs=pu.crs)
    rp = layer.geometry.representative_point().to_crs("EPSG:4326")
    layer["lon"], layer["lat"] = rp.x.to_numpy(), rp.y.to_numpy()
    layer = layer.sort_values(["kind", "area_m2"], ascending=[True, False]).reset_index(drop=True).to_crs("EPSG:4326")
    return TopologyResult(pd.DataFrame(layer.drop(columns="geometry")), layer)


# ----------------------------------------------------------------------------- shared lines
def _line_parts(g) -> list[LineString]:
    lines = [p for p in shapely.get_parts(g) if p.geom_type in ("LineString", "LinearRing") and p.length > 0]
    if not lines:
        return []
    merged = linemerge(MultiLineString([LineString(p.coords) for p in lines]))
    return [p for p in shapely.get_parts(merged) if p.length > 0]


def _west_key(g) -> tuple[float, float]:
    x0, y0, x1, y1 = g.bounds
    return (x0, -y1)


def shared_lines(units: gpd.GeoDataFrame, *, tolerance_m: float = 0.0, min_length_m: float = 1.0) -> gpd.GeoDataFrame:
    """The boundary line between each pair of neighbouring units, with length in metres.

    Parameters
    ----------
    units
        ``code``, ``name``, polygons.
    tolerance_m
        0 (default): the exact common part of both boundaries (units from one source that
        share vertices).  > 0: the part of unit A's boundary within this distance of unit B
        (sources whose neighbours do not share vertices); A is the lower code.
    min_length_m
        Pieces shorter than this are dropped (touching at a corner).

    Returns
    -------
    GeoDataFrame
        ``line_code`` = ``<code_a>-<code_b>-<seq>`` with the codes sorted and the pieces of one
        pair numbered 1, 2, ... from west (then north) — stable as long as the pair and the
        geometry are; ``unit_a, unit_b, name_a, name_b, length_m``; geometry in WGS-84.
    """
    pu = _projected(units).sort_values("code").reset_index(drop=True)
    geoms = pu.geometry.values
    codes = pu["code"].astype(str).tolist()
    names = pu["name"].astype(str).tolist() if "name" in pu else codes
    tree = shapely.STRtree(geoms)
    left, right = tree.query(shapely.buffer(geoms, tolerance_m) if tolerance_m else geoms, predicate="intersects")
    rows = []
    for i, j in sorted(set((min(a, b), max(a, b)) for a, b in zip(left, right) if a != b)):
        bi = shapely.boundary(geoms[i])
        g = (shapely.intersection(bi, shapely.buffer(geoms[j], tolerance_m)) if tolerance_m
             else shapely.intersection(bi, shapely.boundary(geoms[j])))
        parts = sorted((p for p in _line_parts(g) if p.length >= min_length_m), key=_west_key)
        for k, p in enumerate(parts, 1):
            rows.append({"line_code": f"{codes[i]}-{codes[j]}-{k}", "unit_a": codes[i], "unit_b": codes[j],
                         "name_a": names[i], "name_b": names[j], "length_m": p.length, "geometry": p})
    out = gpd.GeoDataFrame(rows, columns=["line_code", "unit_a", "unit_b", "name_a", "name_b", "length_m", "geometry"],
                           geometry="geometry", crs=pu.crs)
    return out.to_crs("EPSG:4326")


def outer_boundary(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Outer boundary of the union of ``units`` with its length in metres (WGS-84 geometry)."""
    pu = _projected(units)
    b = shapely.boundary(shapely.union_all(pu.geometry.values))
    return gpd.GeoDataFrame({"line_code": ["outer"], "length_m": [b.length]}, geometry=[b], crs=pu.crs).to_crs("EPSG:4326")


# ----------------------------------------------------------------------------- markers
MARKER_TYPES = {"Q": "single", "A": "paired", "B": "paired", "C": "triple", "D": "triple", "E": "triple"}
STATUSES = ("proposed", "surveyed", "found", "moved", "damaged", "missing")


def parse_marker_code(code: str) -> dict[str, Any]:
    """Split a marker code ``<line_code>-<seq:3 digits><type>`` (type Q, A/B, C/D/E; GB/T 17796-2009).

    Examples: ``430302000000-430304000000-1-003Q`` (single marker 3), ``...-1-007A`` / ``...-1-007B``
    (a pair).  Raises :class:`InputError` naming what is wrong.
    """
    s = str(code).strip()
    line, sep, tail = s.rpartition("-")
    if not sep or len(tail) != 4 or not tail[:3].isdigit() or tail[3] not in MARKER_TYPES:
        raise InputError(f"marker code {s!r}: expected <line code>-<3-digit sequence><type Q|A|B|C|D|E>",
                         field="marker_code")
    if int(tail[:3]) == 0:
        raise InputError(f"marker code {s!r}: sequence starts at 001", field="marker_code")
    parts = line.split("-")
    if len(parts) != 3 or not parts[2].isdigit():
        raise InputError(f"marker code {s!r}: line code must be <code_a>-<code_b>-<n>", field="marker_code")
    for p in parts[:2]:
        normalize_code(p, field="marker_code")
    return {"line_code": line, "seq": int(tail[:3]), "type": tail[3], "group": MARKER_TYPES[tail[3]]}


def check_markers(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, tolerance_m: float = 5.0) -> pd.DataFrame:
    """Check a marker register: code format, pair/triple completeness, sequence order, offset.

    Parameters
    ----------
    markers
        ``marker_code``, ``line_code``, points.
    lines
        Output of :func:`shared_lines`.
    tolerance_m
        Allowed distance from a marker to its line.

    Returns
    -------
    DataFrame
        One row per marker: ``marker_code, offset_m, problems`` (``;``-joined, empty if none).
        Sequence rule: along a line running more west–east than north–south numbers increase
        west→east, otherwise north→south (compared on the markers' positions).
    """
    lp = _projected(lines)
    mp = markers.to_crs(lp.crs).reset_index(drop=True)
    byline = dict(zip(lp["line_code"], lp.geometry))
    out = []
    parsed = []
    for r in mp.itertuples(index=False):
        probs = []
        try:
            p = parse_marker_code(r.marker_code)
            if p["line_code"] != r.line_code:
                probs.append(f"code names line {p['line_code']}")
        except InputError as exc:
            p = None
            probs.append(str(exc))
        line = byline.get(r.line_code)
        off = float(line.distance(r.geometry)) if line is not None else float("nan")
        if line is None:
            probs.append("unknown line")
        elif off > tolerance_m:
            probs.append(f"offset {off:.1f} m > {tolerance_m:g} m")
        parsed.append(p)
        out.append({"marker_code": r.marker_code, "line_code": r.line_code, "offset_m": off, "problems": probs})
    df = pd.DataFrame(out)
    ok = [i for i, p in enumerate(parsed) if p]
    groups: dict[tuple, list[str]] = {}
    for i in ok:
        p = parsed[i]
        groups.setdefault((p["line_code"], p["seq"]), []).append(p["type"])
    for i in ok:
        p = parsed[i]
        types = set(groups[(p["line_code"], p["seq"])])
        need = {"single": {"Q"}, "paired": {"A", "B"}, "triple": {"C", "D", "E"}}[p["group"]]
        if types != need:
            df.at[i, "problems"] = df.at[i, "problems"] + [f"{p['group']} group {p['seq']:03d} has {''.join(sorted(types))}"]
    for lc, line in byline.items():
        idx = [i for i in ok if parsed[i]["line_code"] == lc]
        if len(idx) < 2:
            continue
        x0, y0, x1, y1 = line.bounds
        ew = (x1 - x0) >= (y1 - y0)
        pos = {i: (mp.geometry[i].x if ew else -mp.geometry[i].y) for i in idx}
        by_seq = sorted(idx, key=lambda i: (parsed[i]["seq"], pos[i]))
        firsts: dict[int, float] = {}
        for i in by_seq:
            firsts.setdefault(parsed[i]["seq"], pos[i])
        order = sorted(firsts)
        bad = set()
        for s0, s1 in zip(order, order[1:]):  # adjacent numbers in the wrong order: flag both
            if firsts[s1] < firsts[s0] - tolerance_m:
                bad |= {s0, s1}
        for i in idx:
            if parsed[i]["seq"] in bad:
                df.at[i, "problems"] = df.at[i, "problems"] + [
                    "out of sequence (" + ("west→east" if ew else "north→south") + ")"]
    df["problems"] = df["problems"].map(lambda p: "; ".join(p))
    return df


def propose_markers(lines: gpd.GeoDataFrame, *, roads: gpd.GeoDataFrame | None = None,
                    markers: gpd.GeoDataFrame | None = None, min_markers: int = 3,
                    near_m: float = 50.0) -> gpd.GeoDataFrame:
    """Propose marker positions for lines with fewer than ``min_markers`` markers.

    Where ``roads`` cross a line (points of intersection), a single marker (Q) is proposed;
    without roads, or where no road crosses, the line's two end points (where three units
    meet, or the line meets the outer boundary) are proposed, because that is where triple
    markers stand.  Every row has ``status = "proposed"`` and ``surveyed = False``: these are
    candidate positions for a field team, never surveyed markers.  Positions within ``near_m`` of an
    existing marker of the line are skipped; new numbers continue after the line's highest existing
    sequence number (renumber west→east after the survey).

    Returns
    -------
    GeoDataFrame
        ``marker_code, type, line_code, status, surveyed, reason, last_inspection, photo``, WGS-84.
    """
    lp = _projected(lines)
    have = markers["line_code"].value_counts() if markers is not None and len(markers) else pd.Series(dtype=int)
    rp = _projected(roads).to_crs(lp.crs) if roads is not None and len(roads) else None
    rows = []
    for r in lp.itertuples(index=False):
        if int(have.get(r.line_code, 0)) >= min_markers:
            continue
        pts, reason = [], "road crossing"
        if rp is not None:
            cand = rp.geometry.values[shapely.STRtree(rp.geometry.values).query(r.geometry, predicate="intersects")]
            for g in cand:
                pts += [p for p in shapely.get_parts(shapely.intersection(r.geometry, g)) if p.geom_type == "Point"]
        if not pts:
            reason = "line end (junction)"
            pts = [Point(r.geometry.coords[0]), Point(r.geometry.coords[-1])]
        x0, y0, x1, y1 = r.geometry.bounds
        ew = (x1 - x0) >= (y1 - y0)
        start = 0
        if markers is not None and len(markers):
            mine = markers[markers["line_code"] == r.line_code].to_crs(lp.crs)
            near = [p for p in pts if len(mine) and mine.distance(p).min() <= near_m]
            pts = [p for p in pts if p not in near]
            seqs = [int(str(c)[-4:-1]) for c in mine["marker_code"] if str(c)[-4:-1].isdigit()]
            start = max(seqs, default=0)
        pts = sorted(pts, key=lambda p: p.x if ew else -p.y)
        for k, p in enumerate(pts, start + 1):
            rows.append({"marker_code": f"{r.line_code}-{k:03d}Q", "type": "Q", "line_code": r.line_code,
                         "status": "proposed", "surveyed": False, "reason": reason, "last_inspection": "",
                         "photo": "", "geometry": p})
    cols = ["marker_code", "type", "line_code", "status", "surveyed", "reason", "last_inspection", "photo", "geometry"]
    return gpd.GeoDataFrame(rows, columns=cols, geometry="geometry", crs=lp.crs).to_crs("EPSG:4326")


# ----------------------------------------------------------------------------- inspection
def lines_due(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, *, on: str, every_years: int = 5) -> pd.DataFrame:
    """Lines due for joint inspection (联检) on ``on``: last inspection (latest of its markers)
    older than ``every_years`` years, or never inspected.  Columns ``line_code, last_inspection, due``."""
    last = (markers[markers["last_inspection"].fillna("").astype(str) != ""]
            .groupby("line_code")["last_inspection"].max()) if len(markers) else pd.Series(dtype=str)
    d = _date.fromisoformat(str(on))
    limit = d.replace(year=d.year - every_years).isoformat()
    df = pd.DataFrame({"line_code": lines["line_code"].to_numpy()})
    lastd = {k: str(v) for k, v in last.items()}
    df["last_inspection"] = [lastd.get(c, "") for c in df["line_code"]]
    df["due"] = (df["last_inspection"] == "") | (df["last_inspection"] <= limit)
    return df


def _tour_length(order: list[int], D: np.ndarray) -> float:
    return float(sum(D[a, b] for a, b in zip(order, order[1:])))


def inspection_route(markers: gpd.GeoDataFrame, *, graph=None, start: int = 0) -> tuple[list[int], float]:
    """Order in which to visit markers: nearest neighbour then 2-opt (open path from ``start``).

    Parameters
    ----------
    markers
        Points (any CRS; distances in metres).
    graph
        Optional networkx graph in the same projected CRS as used here (node attributes
        ``x``, ``y``; edge attribute ``length`` in metres): distances are shortest-path lengths
        between the nodes nearest to each marker.  Without it, straight-line distances.
    start
        Position of the first marker.

    Returns
    -------
    (order, length_m)
        Positions into ``markers`` and the path length in metres.
    """
    pm = _projected(markers)
    xy = np.column_stack([pm.geometry.x, pm.geometry.y])
    n = len(xy)
    if n == 0:
        return [], 0.0
    if graph is None:
        D = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    else:
        import networkx as nx
        nodes = list(graph.nodes)
        nxy = np.array([[graph.nodes[v]["x"], graph.nodes[v]["y"]] for v in nodes])
        near = [nodes[int(np.argmin(np.hypot(*(nxy - p).T)))] for p in xy]
        D = np.full((n, n), np.inf)
        for i in range(n):
            dist = nx.single_source_dijkstra_path_length(graph, near[i], weight="length")
            for j in range(n):
                D[i, j] = dist.get(near[j], np.inf)
    order, left = [start], set(range(n)) - {start}
    while left:
        nxt = min(left, key=lambda j: D[order[-1], j])
        order.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for k in range(i + 1, n):
                new = order[:i] + order[i:k + 1][::-1] + order[k + 1:]
                if _tour_length(new, D) < _tour_length(order, D) - 1e-9:
                    order, improved = new, True
    return order, _tour_length(order, D)


def read_inspection(path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a joint-inspection record (CSV/TXT or Excel) with :mod:`geoplan.io`'s table reader.

    Parameters
    ----------
    path
        Columns ``marker_code``, ``result`` and optionally ``notes``, ``photo``.  The text
        encoding is detected as for every geoplan table (UTF-8, else GBK/GB18030).
    encoding, sheet
        Force a CSV encoding; an Excel sheet (default: the first).

    Returns
    -------
    pandas.DataFrame
        Text cells (empty cells are None), indexed by spreadsheet row (header = 1), with
        ``attrs["source"]`` = the file, as :func:`record_inspection` takes it.

    Raises
    ------
    InputError
        Missing, empty or unreadable file, no data rows, or a missing column; the message
        names the file.
    """
    from geoplan.io import _io as gio

    p, file = gio._existing(path)
    ext = p.suffix.lower()
    with gio._Reading(file):
        if ext in (".csv", ".txt", ".tsv"):
            raw = gio._csv_rows(p, encoding, file)
        elif ext in (".xlsx", ".xlsm"):
            raw = gio._excel_rows(p, sheet, file)
        else:
            raise InputError("an inspection record must be a CSV or Excel (.xlsx) table", file=file)
        frame = gio._rows_to_frame(raw, ["marker_code", "result"], file)
    for col in ("marker_code", "result"):
        if col not in frame.columns:
            raise InputError(f"missing column {col!r}; columns are: {', '.join(map(str, frame.columns))}",
                             file=file, field=col)
    frame = frame.map(lambda v: None if v is None else str(v).strip())
    frame.attrs["source"] = file
    return frame


def record_inspection(markers: gpd.GeoDataFrame, records: pd.DataFrame, *, date: str,
                      history: pd.DataFrame | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Apply an inspection record to the register and append to its history.

    Parameters
    ----------
    markers
        The register.
    records
        ``marker_code, result`` (found | moved | damaged | missing), optional ``notes``, ``photo``.
    date
        Inspection date (ISO).
    history
        Existing history table (``marker_code, date, old_status, new_status, notes``).

    Returns
    -------
    (register, history)
        A proposed marker that is "found" stays proposed: an inspection of a proposal does not
        make it surveyed (a survey does).
    """
    reg = markers.copy()
    hist = [] if history is None else history.to_dict("records")
    known = set(reg["marker_code"])
    file = records.attrs.get("source")
    # read_inspection indexes rows by spreadsheet row (a title line above the header shifts them)
    rows = list(records.index) if records.index.name == "row" else list(range(2, len(records) + 2))
    for row, r in zip(rows, records.itertuples(index=False)):
        if r.marker_code not in known:
            raise InputError(f"unknown marker {r.marker_code}", file=file, row=row, field="marker_code")
        if r.result not in ("found", "moved", "damaged", "missing"):
            raise InputError(f"result {r.result!r} must be found, moved, damaged or missing", file=file, row=row,
                             field="result")
        k = reg.index[reg["marker_code"] == r.marker_code][0]
        old = reg.at[k, "status"]
        new = old if (old == "proposed" and r.result == "found") else r.result
        reg.at[k, "status"] = new
        reg.at[k, "last_inspection"] = str(date)
        if isinstance(getattr(r, "photo", None), str) and r.photo:
            reg.at[k, "photo"] = r.photo
        hist.append({"marker_code": r.marker_code, "date": str(date), "old_status": old, "new_status": new,
                     "notes": "" if pd.isna(getattr(r, "notes", "")) else str(getattr(r, "notes", ""))})
    return reg, pd.DataFrame(hist, columns=["marker_code", "date", "old_status", "new_status", "notes"])


def geodesic_length_m(geom) -> float:
    """Geodesic length (WGS-84 ellipsoid) of a lon/lat line: an independent check of projected lengths."""
    return float(pyproj.Geod(ellps="WGS84").geometry_length(geom))


def compare_sources(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> pd.DataFrame:
    """Compare the same units from two sources (matched on ``code``), in metres.

    Returns
    -------
    DataFrame
        ``code, name, area_a_km2, area_b_km2, only_a_m2, only_b_m2, iou, hausdorff_m``
        (Hausdorff distance between the two boundaries: the worst disagreement of the line).
    """
    pa = _projected(a)
    pb = b.to_crs(pa.crs)
    gb = dict(zip(pb["code"].astype(str), pb.geometry))
    rows = []
    for r in pa.itertuples(index=False):
        g2 = gb.get(str(r.code))
        if g2 is None:
            continue
        g1 = r.geometry
        inter = shapely.intersection(g1, g2).area
        rows.append({"code": r.code, "name": getattr(r, "name", ""), "area_a_km2": g1.area / 1e6,
                     "area_b_km2": g2.area / 1e6, "only_a_m2": g1.area - inter, "only_b_m2": g2.area - inter,
                     "iou": inter / shapely.union(g1, g2).area,
                     "hausdorff_m": shapely.hausdorff_distance(shapely.boundary(g1), shapely.boundary(g2))})
    return pd.DataFrame(rows)


def record_inspection_in_store(store, records: pd.DataFrame, *, date: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """:func:`record_inspection` on the store's ``markers`` layer; register and ``marker_history``
    are written in one transaction (a bad record leaves both unchanged)."""
    with store.transaction() as tx:  # read under the write lock: a concurrent update cannot be lost
        reg = store.read_layer("markers")
        hist = store.read_layer("marker_history") if store.has_layer("marker_history") else None
        reg2, hist2 = record_inspection(reg, records, date=date, history=hist)
        tx.write_layer("markers", reg2, mode="replace")
        tx.write_layer("marker_history", hist2, mode="replace")
    return reg2, hist2
