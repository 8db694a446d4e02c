"""The village level of a coverage run: village layer checks, village codes of demand and facilities, seat times.

Villages come as polygons, as seat points (村委会/居委会 seats) or as a plain code table.  Demand
points get ``village_code`` by polygon, or by the nearest seat among the villages of the point's own
township (projected metres); a code table assigns no demand.  Facilities take ``village_code`` and
``township_code`` from their own columns (a register's 所属村（社区）代码 / 所属乡镇（街道）代码) when
present, and otherwise spatially.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geoplan._errors import CRSError, InputError
from geoplan.coverage import _checks
from geoplan.coverage import _village_checks as _vc
from geoplan.coverage._engine import nearest_points
from geoplan.coverage._units import _digits, township_key, unit_level
from geoplan.io._numbers import _code_text
from geoplan.network._snap import snap

__all__ = ["prepare_villages", "assign_villages", "seat_minutes", "facility_codes", "geometry_kind"]


def geometry_kind(frame) -> str | None:
    """``"polygon"``, ``"point"`` or None (no geometry: a code table)."""
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame or frame.geometry.isna().all():
        return None
    types = set(frame.geometry.dropna().geom_type)
    if types <= {"Point"}:
        return "point"
    if types <= {"Polygon", "MultiPolygon"}:
        return "polygon"
    raise InputError(f"village geometry must be polygons or seat points, not {sorted(types)}",
                     file=frame.attrs.get("source"), field="geometry")


def prepare_villages(villages, *, what: str = "villages") -> tuple[pd.DataFrame, str | None]:
    """A copy of the village layer with text codes; its geometry kind.  Checks code, name, level and CRS."""
    missing = [c for c in ("code", "name") if c not in villages.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {missing}; columns present: {list(villages.columns)}",
                         file=villages.attrs.get("source"), field=missing[0])
    out = villages.copy()
    # a spreadsheet's code column with a blank is read as floats (430302100201.0): back to digit text
    out["code"] = out["code"].map(lambda c: _code_text(c) or "")
    dup = out["code"].duplicated()
    if dup.any():
        raise InputError(f"duplicate {what} code {out['code'][dup].iloc[0]!r}", **_checks._where(villages, out.index[dup][0]),
                         field="code")
    kind = geometry_kind(out)
    if kind is not None and out.crs is None:
        raise CRSError(f"{what} have no CRS", file=villages.attrs.get("source"))
    return out, kind


def _township_of(codes: pd.Series, unit_codes) -> pd.Series:
    """The units-layer code of the township of each (village or township) code, by the first 9 digits."""
    if unit_codes is None:
        return pd.Series(np.nan, index=codes.index, dtype=object)
    units = pd.Index(pd.Series(unit_codes).map(lambda c: _code_text(c) or ""))
    by_key = pd.Series(units, index=units.map(township_key))
    by_key = by_key[~by_key.index.duplicated()]
    return codes.map(lambda c: township_key(c) if isinstance(c, str) else None).map(by_key)


def _nearest_seat(points, villages, point_township: pd.Series, *, crs) -> pd.Series:
    """Code of the nearest seat, among the villages of the point's township.

    A point in a township that has no village seat gets no village (None), never a village of another
    township: village people must add up within their township.  A point in no township (no units
    given, or outside them) takes the nearest seat of all.
    """
    pxy = np.column_stack(_xy(points, crs))
    vxy = np.column_stack(_xy(villages, crs))
    vkey = villages["code"].map(township_key).to_numpy(object)
    pkey = point_township.map(lambda c: township_key(c) if isinstance(c, str) else None).to_numpy(object)
    codes = villages["code"].to_numpy(object)
    out = np.full(len(points), None, dtype=object)
    by_village = pd.Series(np.arange(len(vkey))).groupby(pd.Series(vkey).fillna("")).indices
    groups = pd.Series(np.arange(len(pkey))).groupby(pd.Series(pkey).fillna("")).indices
    everyone = np.arange(len(vkey))
    for key, pidx in groups.items():
        vidx = by_village.get(key, everyone[:0]) if key else everyone
        if not len(vidx):
            continue
        _, j = cKDTree(vxy[vidx]).query(pxy[pidx])
        out[pidx] = codes[vidx[j]]
    return pd.Series(out, index=points.index, dtype=object)


def _xy(frame, crs) -> tuple[np.ndarray, np.ndarray]:
    geom = frame.geometry.to_crs(crs)
    pts = geom.representative_point() if not set(geom.geom_type) <= {"Point"} else geom
    return pts.x.to_numpy(), pts.y.to_numpy()


def _codes(values: pd.Series) -> pd.Series:
    """Codes as digit text (a spreadsheet's ``430302100201.0`` too); None where empty or not digits."""
    return values.map(_digits).astype(object)


def facility_codes(fac, units, villages, vkind: str | None, *, crs) -> None:
    """Set ``unit_code`` and ``village_code`` of facilities from their own code columns, else spatially.

    A facility's ``township_code`` (所属乡镇（街道）代码) names its township; without it the township of its
    ``village_code``; without either the spatial unit already on ``fac`` stays.
    """
    unit_codes = None if units is None else units["code"].map(lambda c: _code_text(c) or "")
    if unit_codes is not None:
        for col in ("village_code", "township_code"):  # the later column wins
            if col in fac.columns:
                own = _township_of(_codes(fac[col]), unit_codes)
                base = fac["unit_code"] if "unit_code" in fac.columns else pd.Series(np.nan, index=fac.index, dtype=object)
                fac["unit_code"] = own.where(own.notna(), base)
    if villages is None:
        return
    given = pd.Series(np.nan, index=fac.index, dtype=object)
    if "village_code" in fac.columns:
        raw = fac["village_code"]
        given = _codes(raw)
        stated = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
        bad = stated & (given.map(unit_level) != "village").to_numpy()
        if bad.any():
            first = fac.index[bad][0]
            raise InputError(f"village code {raw[first]!r} is not a 12-digit village-level code",
                             **_checks._where(fac, first), field="village_code")
    spatial = pd.Series(np.nan, index=fac.index, dtype=object)
    todo = given.isna().to_numpy()
    if todo.any() and vkind is not None and isinstance(fac, gpd.GeoDataFrame) and fac.crs is not None:
        sub = fac[todo]
        ok = ~sub.geometry.isna().to_numpy()
        if ok.any():
            sub = sub[ok]
            if vkind == "polygon":
                spatial.loc[sub.index] = _checks.assign_units(sub, villages, crs=crs)[0]
            else:
                twp = sub["unit_code"] if "unit_code" in sub.columns else pd.Series(np.nan, index=sub.index)
                spatial.loc[sub.index] = _nearest_seat(sub, villages, twp, crs=crs)
    fac["village_code"] = given.where(given.notna(), spatial)


def assign_villages(dem, villages, vkind: str | None, *, crs) -> None:
    """Set ``village_code`` of demand points: by polygon, or by the nearest seat of their township; a code table sets none."""
    if vkind == "polygon":
        dem["village_code"] = _checks.assign_units(dem, villages, crs=crs)[0]
    elif vkind == "point":
        twp = dem["unit_code"] if "unit_code" in dem.columns else pd.Series(np.nan, index=dem.index)
        dem["village_code"] = _nearest_seat(dem, villages, twp, crs=crs)
    # a code table places no demand: its villages' people come from its own columns (e.g. a census table)


def seat_minutes(villages, fac, fac_snaps: dict, used: dict, catalogue, type_list, *, max_snap_m) -> dict:
    """Door-to-door minutes from each village seat to the nearest facility of each type (inf when too far)."""
    out = {}
    seat_snaps = {}
    for t in type_list:
        net = used[t]
        if net.mode not in seat_snaps:
            seat_snaps[net.mode] = snap(net, villages, max_distance=max_snap_m)
        ssn, fsn = seat_snaps[net.mode], fac_snaps[net.mode]
        sel = fac.index[(fac["type"] == t).to_numpy() & ~fsn["too_far"].to_numpy()]
        if "status" in fac.columns:
            sel = sel[(fac.loc[sel, "status"].astype("string").fillna("built") == "built").to_numpy()]
        if not len(sel):
            out[t] = np.full(len(villages), math.inf)
            continue
        cost, _ = nearest_points(net, fsn.loc[sel], ssn, towards=True)
        out[t] = np.where(ssn["too_far"].to_numpy(), math.inf, cost / 60.0)
    return out


def village_step(units, villages, dem, fac, *, crs, facilities=None, as_of=None, check_rows: list | None = None,
                 lines: list | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """The village layer checked, and ``village_code`` (and coded ``unit_code``) set on ``dem`` and ``fac``.

    Abolished villages are left out; villages without their township among ``units``, facilities with
    a village code not in the list and demand in townships without seats become rows of ``check_rows``
    and notes in ``lines`` (:mod:`geoplan.coverage._village_checks`).
    """
    check_rows = [] if check_rows is None else check_rows
    lines = [] if lines is None else lines
    if villages is not None:
        villages = _vc.drop_abolished(villages, as_of=as_of, what_zh="村（社区）", what_en="village(s)",
                                      check_rows=check_rows, lines=lines)
    vil, vkind = prepare_villages(villages) if villages is not None else (None, None)
    facility_codes(fac, units, vil, vkind, crs=crs)
    _vc.village_parent_missing(vil, units, check_rows=check_rows, lines=lines)
    _vc.facility_village_unknown(fac, vil, fac if facilities is None else facilities, check_rows=check_rows,
                                 lines=lines)
    if vil is not None and dem is not None:
        assign_villages(dem, vil, vkind, crs=crs)
        _vc.demand_without_village(dem, vil, check_rows=check_rows, lines=lines)
    return vil, vkind


def presence(facilities, *, units=None, villages=None, catalogue, types=None, other_types: str = "error",
             as_of=None, check_rows: list | None = None, lines: list | None = None):
    """The parts of a presence-only run: facilities with codes, unit and village tables, types to assess.

    Facilities may be a plain table with ``type`` and code columns; units and villages may be plain
    code tables.  With ``other_types="skip"`` rows of unknown types keep ``type`` None (the caller lists
    them).  Returns ``(fac, units, villages, type_list)``.
    """
    if "type" not in facilities.columns:
        raise InputError(f"facilities lack column(s) ['type']; columns present: {list(facilities.columns)}",
                         file=facilities.attrs.get("source"), field="type")
    if other_types not in ("error", "skip"):
        raise InputError(f"other_types must be one of error, skip, not {other_types!r}", field="other_types")
    resolved = facilities["type"].map(catalogue.resolve)
    if resolved.isna().any() and other_types != "skip":
        bad = resolved.index[resolved.isna()][0]
        raise InputError(f"unknown facility type {facilities.loc[bad, 'type']!r}; known: "
                         f"{', '.join(catalogue.known_keys)} (or their Chinese names); to leave such rows out and "
                         "list them, pass other_types='skip' (CLI --other-types skip)",
                         **_checks._where(facilities, bad), field="type")
    fac = facilities.copy()
    fac["type"] = resolved
    type_list = (list(dict.fromkeys(catalogue.resolve(t) or t for t in types)) if types is not None
                 else list(dict.fromkeys([*catalogue.keys, *resolved.dropna()])))
    for t in type_list:
        catalogue[t]  # raises on unknown
    crs = None
    if units is not None:
        units = _vc.drop_abolished(units, as_of=as_of, what_zh="乡镇（街道）", what_en="unit(s)",
                                   check_rows=[] if check_rows is None else check_rows,
                                   lines=[] if lines is None else lines)
        units, ukind = prepare_villages(units, what="admin units")
        if ukind is not None:
            crs = units.estimate_utm_crs()
            if isinstance(fac, gpd.GeoDataFrame) and fac.crs is not None and fac.geometry.notna().all():
                fac["unit_code"] = _checks.assign_units(fac, units, crs=crs)[0]
    if crs is None and isinstance(villages, gpd.GeoDataFrame) and villages.crs is not None \
            and geometry_kind(villages) is not None:
        crs = villages.estimate_utm_crs()
    vil, _ = village_step(units, villages, None, fac, crs=crs, facilities=facilities, as_of=as_of,
                          check_rows=check_rows, lines=lines)
    return fac, units, vil, type_list
