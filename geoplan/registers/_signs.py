"""Road-name signs and door numbers along roads (work on GeoDataFrames in metres; no store).

Internals of :mod:`geoplan.registers.names` (the public names are re-exported there).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import CRSError, InputError
from geoplan.registers._spelling import sign_pinyin

log = logging.getLogger("geoplan")


@dataclass(frozen=True)
class SignSurvey:
    """Result of :func:`road_signs`.

    Attributes
    ----------
    locations
        GeoDataFrame of points where road-name signs belong: ``kind``
        (``intersection``/``road_end``), ``roads`` (names meeting there, ``；``
        separated), ``sign_texts`` (standard name + sign pinyin per road),
        ``has_sign`` (a matching existing sign within ``max_distance``; None when
        no signs were given).
    findings
        DataFrame: ``rule`` (SIGN-MISSING, SIGN-TEXT), ``road``, ``sign_id``,
        ``text``, ``why``.
    """

    locations: gpd.GeoDataFrame
    findings: pd.DataFrame


def _require_metres(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; project it to metres (e.g. a UTM zone)")
    if gdf.crs.is_geographic:
        raise CRSError(f"{what} is in degrees ({gdf.crs.to_string()}); project it to metres first")


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", "", str(s)).replace("（", "(").replace("）", ")")


def road_signs(
    roads: gpd.GeoDataFrame,
    *,
    name_col: str = "name",
    signs: gpd.GeoDataFrame | None = None,
    sign_text_col: str = "text",
    max_distance: float = 30.0,
    snap: float = 1.0,
    wordlists: str | os.PathLike | None = None,
) -> SignSurvey:
    """Where road-name signs belong, and which roads or signs are wrong.

    Signs belong at every point where two or more differently named roads meet
    or cross (``intersection``) and at the free ends of named roads
    (``road_end``).  With ``signs`` given, each named road without a sign within
    ``max_distance`` of it is flagged (SIGN-MISSING), and each sign whose text
    does not equal the standard name of a road near it is flagged (SIGN-TEXT).

    Parameters
    ----------
    roads
        Road lines in a projected CRS (metres), with a name column; unnamed rows
        are ignored.
    name_col
        Column of standard road names.
    signs
        Existing signs as points (same CRS) with a text column.
    sign_text_col
        Column of the sign text (Chinese name as written on the sign).
    max_distance
        Metres between a sign and the road it names.
    snap
        Metres within which road ends count as meeting.
    wordlists
        Folder of user word lists / pinyin dictionary.

    Returns
    -------
    SignSurvey
    """
    _require_metres(roads, "roads")
    if name_col not in roads:
        raise InputError(f"roads have no column {name_col!r}", field=name_col)
    r = roads[[name_col, roads.geometry.name]].copy()
    r = r[r[name_col].notna() & (r[name_col].astype(str).str.strip() != "")]
    r = r[r.geometry.notna() & ~r.geometry.is_empty]
    r[name_col] = r[name_col].astype(str).str.strip()
    r = r.explode(index_parts=False).reset_index(drop=True)
    r = r[r.geom_type == "LineString"]
    merged = r.dissolve(by=name_col).geometry.apply(lambda g: shapely.line_merge(g))
    names = list(merged.index)
    geoms = list(merged.values)
    pts: list[tuple[float, float, frozenset, str]] = []
    tree = shapely.STRtree(geoms)
    # intersections between differently named roads
    left, right = tree.query(geoms, predicate="dwithin", distance=snap)
    for a, b in zip(left, right):
        if a >= b:
            continue
        inter = shapely.intersection(geoms[a], geoms[b])
        if inter.is_empty:  # ends that stop just short of each other
            inter = shapely.centroid(shapely.shortest_line(geoms[a], geoms[b]))
        for part in getattr(inter, "geoms", [inter]):
            c = part.representative_point() if part.geom_type != "Point" else part
            p = shapely.Point(c.x, c.y)
            near = tree.query(p, predicate="dwithin", distance=snap)
            pts.append((p.x, p.y, frozenset(names[k] for k in near), "intersection"))
    # free ends
    for k, g in enumerate(geoms):
        for line in getattr(g, "geoms", [g]):
            for xy in (line.coords[0], line.coords[-1]):
                p = shapely.Point(xy)
                near = [names[j] for j in tree.query(p, predicate="dwithin", distance=snap)]
                if len(set(near)) == 1:
                    # an end of this road meets no other named road: check it is a true end of the road
                    others = [ln for ln in getattr(g, "geoms", [g]) if ln is not line]
                    if any(o.distance(p) <= snap for o in others):
                        continue
                    pts.append((p.x, p.y, frozenset([names[k]]), "road_end"))
    # merge points closer than 3*snap
    recs: list[dict] = []
    grid = {}
    for x, y, rs, kind in pts:
        key = (round(x / (3 * snap)), round(y / (3 * snap)))
        if key in grid:
            rec = recs[grid[key]]
            rec["roads"] = rec["roads"] | rs
            if kind == "intersection":
                rec["kind"] = "intersection"
            continue
        grid[key] = len(recs)
        recs.append({"kind": kind, "roads": rs, "geometry": shapely.Point(x, y)})
    loc = gpd.GeoDataFrame(
        {
            "kind": [r_["kind"] for r_ in recs],
            "roads": ["；".join(sorted(r_["roads"])) for r_ in recs],
            "sign_texts": [
                "；".join(f"{n} {sign_pinyin(n, category='road', wordlists=wordlists)}" for n in sorted(r_["roads"]))
                for r_ in recs
            ],
        },
        geometry=[r_["geometry"] for r_ in recs],
        crs=roads.crs,
    )
    findings: list[dict] = []
    has_sign = [None] * len(loc)
    if signs is not None:
        findings, has_sign = _check_signs(signs, loc, recs, names=names, merged=merged, tree=tree, crs=roads.crs,
                                          sign_text_col=sign_text_col, max_distance=max_distance)
    loc["has_sign"] = has_sign
    return SignSurvey(loc, pd.DataFrame(findings, columns=["rule", "road", "sign_id", "text", "why"]))


def _check_signs(signs: gpd.GeoDataFrame, loc: gpd.GeoDataFrame, recs: list[dict], *, names: list, merged: pd.Series,
                 tree: shapely.STRtree, crs, sign_text_col: str, max_distance: float) -> tuple[list[dict], list]:
    """Existing signs against the roads: findings (SIGN-TEXT, SIGN-MISSING) and ``has_sign`` per location."""
    findings: list[dict] = []
    has_sign = [None] * len(loc)
    _require_metres(signs, "signs")
    if sign_text_col not in signs:
        raise InputError(f"signs have no column {sign_text_col!r}", field=sign_text_col)
    signs = signs.to_crs(crs)
    std = {_norm_text(n): n for n in names}
    good_by_road: dict[str, list] = {n: [] for n in names}
    for sid, srow in signs.iterrows():
        text = _norm_text(srow[sign_text_col])
        near = [names[k] for k in tree.query(srow.geometry, predicate="dwithin", distance=max_distance)]
        if text in std and std[text] in near:
            good_by_road[std[text]].append(srow.geometry)
            continue
        if near:
            nearest = min(near, key=lambda n: merged[n].distance(srow.geometry))
            why = f"牌文 '{srow[sign_text_col]}' 与附近道路标准名称不符 (最近: {nearest})"
        else:
            nearest, why = None, f"牌文 '{srow[sign_text_col]}': {max_distance:g} m 内没有同名道路"
        findings.append({"rule": "SIGN-TEXT", "road": nearest, "sign_id": sid, "text": srow[sign_text_col], "why": why})
    for n in names:
        if not good_by_road[n]:
            findings.append({"rule": "SIGN-MISSING", "road": n, "sign_id": None, "text": None,
                             "why": f"道路 '{n}' 在 {max_distance:g} m 内没有文字正确的路名牌"})
    for i, (p, rs) in enumerate(zip(loc.geometry, recs)):
        has_sign[i] = all(any(p.distance(s) <= max_distance for s in good_by_road[n]) for n in rs["roads"])
    return findings, has_sign


# --------------------------------------------------------------------------- door numbers
_COMPASS = {"north": (0.0, 1.0), "south": (0.0, -1.0), "east": (1.0, 0.0), "west": (-1.0, 0.0)}


def _parse_number(s) -> tuple[int, int] | None:
    """'12' -> (12, 0); '12-1'/'12之1' -> (12, 1); '33b' -> (33, 2); None for no number.

    Raises ValueError for text that is not a door number.
    """
    if s is None or (isinstance(s, float) and np.isnan(s)) or str(s).strip() == "":
        return None
    m = re.match(r"\s*(\d+)\s*(?:[-之]\s*(\d+)|([A-Za-z]))?", str(s))
    if not m:
        raise ValueError(str(s))
    sub = int(m.group(2)) if m.group(2) else (ord(m.group(3).lower()) - 96 if m.group(3) else 0)
    return int(m.group(1)), sub


def door_numbers(
    road: shapely.LineString | gpd.GeoSeries,
    buildings: gpd.GeoDataFrame,
    *,
    start: Literal["east", "west", "north", "south", "first", "last"] = "east",
    odd_side: Literal["left", "right", "north", "south", "east", "west"] = "north",
    number_col: str = "number",
    max_distance: float = 100.0,
) -> pd.DataFrame:
    """Number buildings along a road; keep existing numbers, give new ones sub-numbers.

    Numbering runs from the ``start`` end of the road; odd numbers on
    ``odd_side`` (left/right of the numbering direction, or a compass side),
    even on the other, 1, 3, 5 … and 2, 4, 6 … in order along the road.
    Existing numbers in ``number_col`` are never changed.  A building without a
    number gets the free main number between its numbered neighbours on its
    side when there is one, else a sub-number of the building before it
    (``12-1``, ``12-2``); after the last numbered building the main sequence
    continues.  Existing numbers that break the rule (wrong side parity, out of
    order) are kept and flagged.

    Parameters
    ----------
    road
        The road centre line in metres (a LineString, or a one-row GeoSeries).
    buildings
        Building points/polygons in the same projected CRS.
    start, odd_side
        The city's rule (a common one: east–west streets from the east, north
        side odd; north–south streets from the north, west side odd).
    number_col
        Column with existing numbers (missing column: number everything anew).
    max_distance
        Buildings farther than this from the road are left out (status ``too_far``).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``buildings.index``: ``number`` (str), ``status`` (kept, new,
        new_sub, too_far, review), ``side`` (left/right of the numbering
        direction), ``along_m``, ``offset_m``, ``note``.
    """
    _require_metres(buildings, "buildings")
    if isinstance(road, gpd.GeoSeries):
        _require_metres(road, "road")
        road = shapely.line_merge(road.to_crs(buildings.crs).union_all())
    if road.geom_type != "LineString":
        raise InputError(f"road must be one continuous line, got {road.geom_type}", field="road")
    coords = np.asarray(road.coords)
    a, b = coords[0], coords[-1]
    flip = {
        "east": a[0] < b[0],
        "west": a[0] > b[0],
        "north": a[1] < b[1],
        "south": a[1] > b[1],
        "first": False,
        "last": True,
    }
    if start not in flip:
        raise InputError(f"start must be one of {', '.join(flip)}", field="start")
    if flip[start]:
        road = shapely.reverse(road)
        coords = coords[::-1]
    d = coords[-1] - coords[0]
    left_normal = np.array([-d[1], d[0]])
    if odd_side in ("left", "right"):
        odd_left = odd_side == "left"
    elif odd_side in _COMPASS:
        odd_left = float(np.dot(left_normal, _COMPASS[odd_side])) > 0
    else:
        raise InputError("odd_side must be left, right or a compass side", field="odd_side")
    pts = buildings.geometry.representative_point()
    along = np.array([road.project(p) for p in pts])
    near = [road.interpolate(s) for s in along]
    offset = np.array([p.distance(q) for p, q in zip(pts, near)])
    side = []
    for p, s in zip(pts, along):
        s0, s1 = max(s - 1.0, 0.0), min(s + 1.0, road.length)
        p0, p1 = road.interpolate(s0), road.interpolate(s1)
        cross = (p1.x - p0.x) * (p.y - p0.y) - (p1.y - p0.y) * (p.x - p0.x)
        side.append("left" if cross >= 0 else "right")
    existing = buildings[number_col] if number_col in buildings else pd.Series([None] * len(buildings), index=buildings.index)
    res = pd.DataFrame(
        {"number": None, "status": None, "side": side, "along_m": along, "offset_m": offset, "note": ""},
        index=buildings.index,
    )
    res["number"] = res["number"].astype(object)
    for lab, row in zip(buildings.index, existing):
        if res.at[lab, "offset_m"] > max_distance:
            res.at[lab, "status"] = "too_far"
    for sd in ("left", "right"):
        parity = 1 if (sd == "left") == odd_left else 0
        sel = res[(res["side"] == sd) & (res["status"] != "too_far")].sort_values("along_m", kind="stable")
        _number_side(res, sel.index, existing, parity)
    return res


def _number_side(res: pd.DataFrame, labels: pd.Index, existing: pd.Series, parity: int) -> None:
    """Number the buildings ``labels`` of one side (in order along the road) in ``res``, in place.

    Existing numbers are kept (flagged ``review`` on wrong parity or order); a building without
    one gets the free main number between its numbered neighbours, else a sub-number of the
    building before it.  ``parity`` is 1 for the odd side, 0 for the even side.
    """
    parsed = {}
    for lab in labels:
        try:
            parsed[lab] = _parse_number(existing.loc[lab])
        except ValueError:
            parsed[lab] = None
            res.at[lab, "note"] = f"现有门牌 '{existing.loc[lab]}' 无法识别 / existing number not understood"
    used = {v for v in parsed.values() if v is not None}
    last_main = max((m for m, _ in used), default=None)
    prev_seen = None  # last numbered (main, sub) along the road
    prev_main = 0
    for pos, lab in enumerate(labels):
        v = parsed[lab]
        if v is not None:
            res.at[lab, "number"] = str(existing.loc[lab]).strip()
            res.at[lab, "status"] = "kept"
            notes = []
            if v[0] % 2 != parity:
                notes.append("单双号与所在侧不符 / parity does not match side")
            if prev_seen is not None and v < prev_seen:
                notes.append("顺序倒置 / out of order")
            res.at[lab, "note"] = "; ".join(notes)
            if notes:
                res.at[lab, "status"] = "review"
            prev_seen = v
            prev_main = v[0]
            continue
        if res.at[lab, "note"]:
            res.at[lab, "status"] = "review"
            continue
        # next numbered main number after this building on this side
        nxt = next((parsed[l2][0] for l2 in labels[pos + 1 :] if parsed[l2] is not None), None)
        if not used:
            cand = prev_main + 2 if prev_main else (1 if parity else 2)
            parsed[lab] = (cand, 0)
            res.at[lab, "number"], res.at[lab, "status"] = str(cand), "new"
            prev_main, prev_seen = cand, (cand, 0)
            continue
        # free main number strictly between neighbours
        lo = prev_main + 1
        hi = nxt if nxt is not None else None
        cand = lo if lo % 2 == parity else lo + 1
        if (hi is None or cand < hi) and (cand, 0) not in used and (last_main is None or hi is not None or cand > last_main):
            parsed[lab] = (cand, 0)
            used.add((cand, 0))
            res.at[lab, "number"], res.at[lab, "status"] = str(cand), "new"
            prev_main, prev_seen = cand, (cand, 0)
            continue
        if prev_seen is None:
            res.at[lab, "status"] = "review"
            res.at[lab, "note"] = "起点与首个门牌之间无空号 / no free number before the first door"
            continue
        base = prev_seen[0]
        k = 1
        while (base, k) in used:
            k += 1
        used.add((base, k))
        parsed[lab] = (base, k)
        res.at[lab, "number"], res.at[lab, "status"] = f"{base}-{k}", "new_sub"
        prev_seen = (base, k)


# --------------------------------------------------------------------------- inputs of signs and doors
def read_features(path: str | os.PathLike, *, kind: Literal["roads", "signs", "buildings"],
                  layer: str | None = None) -> gpd.GeoDataFrame:
    """Roads, sign points or buildings from a GIS file, or from an ``.osm.pbf`` extract.

    From OSM: ``roads`` are the driving network; ``buildings`` keep ``addr:housenumber`` as
    ``number`` and ``addr:street`` as ``street``.  The CRS is the file's (EPSG:4326 for OSM).

    Parameters
    ----------
    path
        A GIS file GeoPandas reads, or an ``.osm.pbf`` extract.
    kind
        What to read; from an OSM extract ``"signs"`` reads the buildings.
    layer
        Layer of a multi-layer GIS file (ignored for OSM).

    Returns
    -------
    geopandas.GeoDataFrame
        The features, in the file's CRS.

    Raises
    ------
    InputError
        The file cannot be read, or the OSM extract has none of ``kind``.
    """
    p = Path(path)
    if p.name.endswith(".osm.pbf"):
        from pyrosm import OSM  # heavy: loaded only for an OSM extract

        osm = OSM(str(p))
        if kind == "roads":
            g = osm.get_network(network_type="driving")
        else:
            g = osm.get_buildings()
            if g is not None and "addr:housenumber" in g:
                g = g.rename(columns={"addr:housenumber": "number", "addr:street": "street"})
        if g is None or g.empty:
            raise InputError(f"no {kind} in the OSM file", file=p)
        return g.set_crs(4326, allow_override=True) if g.crs is None else g
    try:
        return gpd.read_file(p, layer=layer)
    except Exception as exc:
        raise InputError(f"cannot read {kind}: {exc}", file=p) from exc


def doors_along(line: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, road_name: str, start: str = "east",
                odd_side: str = "north", number_col: str = "number", max_distance: float = 100.0) -> pd.DataFrame:
    """:func:`door_numbers` for the buildings near a named road given as one or more line rows.

    The rows are merged into one line (a road that is not one continuous line is numbered
    along its longest part, with a warning); buildings whose ``street`` names another road are
    left out.  ``number_before`` holds the existing numbers when ``number_col`` is given.

    Parameters
    ----------
    line
        Rows of the road's centre line, in a projected CRS (metres).
    buildings
        Buildings in the same CRS; an optional ``street`` column.
    road_name
        The road's name (compared with ``street``; named in the warning).
    start, odd_side, number_col, max_distance
        As in :func:`door_numbers`.

    Returns
    -------
    pandas.DataFrame
        :func:`door_numbers`'s table for the buildings near the road, with ``number_before``
        first when ``number_col`` is a column of ``buildings``.
    """
    merged = shapely.line_merge(line.geometry.union_all())
    if merged.geom_type != "LineString":
        merged = max(merged.geoms, key=lambda g: g.length)
        log.warning("road %s is not one continuous line; numbering its longest part", road_name)
    near = buildings[buildings.geometry.distance(merged) <= max_distance]
    if "street" in near:
        near = near[near["street"].isna() | (near["street"] == road_name)]
    res = door_numbers(merged, near, start=start, odd_side=odd_side, number_col=number_col, max_distance=max_distance)
    if number_col in near:
        res.insert(0, "number_before", near[number_col])
    return res


def fit_door_rule(line: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, road_name: str,
                  number_col: str = "number", max_distance: float = 60.0) -> tuple[str, str, pd.DataFrame]:
    """Which numbering rule do a road's existing door numbers follow?

    Tries numbering from either end of the line with odd numbers on either side and keeps the
    rule that flags the fewest numbers for review (the first such rule on a tie).

    Parameters
    ----------
    line
        Rows of the road's centre line, in a projected CRS (metres).
    buildings
        Buildings in the same CRS with existing numbers.
    road_name
        The road's name (see :func:`doors_along`).
    number_col
        Column with the existing numbers.
    max_distance
        Buildings farther from the road (metres) are left out.

    Returns
    -------
    tuple
        ``(start, odd_side, numbers)``: ``start`` ``"first"``/``"last"``, ``odd_side``
        ``"left"``/``"right"``, and :func:`doors_along`'s table for that rule.
    """
    best = None
    for start in ("first", "last"):
        for odd in ("left", "right"):
            res = doors_along(line, buildings, start=start, odd_side=odd, number_col=number_col,
                              max_distance=max_distance, road_name=road_name)
            bad = int((res["status"] == "review").sum())
            if best is None or bad < best[0]:
                best = (bad, start, odd, res)
    _, start, odd, res = best
    return start, odd, res
