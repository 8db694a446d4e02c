"""Travel speeds: the one speed table and the one speed-limit parser, for OSM and road line layers alike."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd

from geoplan._errors import InputError


#: Default walking speed in km/h (osmnx examples use 4.5; DESIGN.md §2: 4.5–5 in the field,
#: r5r uses 3.6 for the elderly).
WALK_SPEED_KMH = 4.5

#: Default driving speeds in km/h by OSM ``highway`` class, used where ``maxspeed`` is absent.
#: Source: typical Chinese urban design speeds (CJJ 37-2012 城市道路工程设计规范: 快速路 60–100,
#: 主干路 40–60, 次干路 30–50, 支路 20–40), taking the lower-middle value for planning.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 30.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "motorway_link": 40.0,
    "trunk_link": 40.0,
    "primary_link": 30.0,
    "secondary_link": 30.0,
    "tertiary_link": 25.0,
    # Line layers from surveys label farm and forest roads 机耕路 (-> track); pyrosm's and
    # osmnx's drive networks leave OSM tracks out, so this entry only ever speaks to layers.
    "track": 15.0,
}
_FALLBACK_DRIVE_KMH = 25.0

#: Speed (km/h) of the access stretch from a point to its road on a drive network (a service road's).
DRIVE_ACCESS_KMH = 15.0


#: Chinese speed units, read as km/h.
_CN_SPEED_UNITS = re.compile(r"(公里|千米)\s*(/|每)?\s*(小时|时|h)?")


def parse_speed(value: Any) -> float:
    """Speed in km/h from a speed limit; NaN when absent or unreadable.

    The one parser for OSM ``maxspeed`` and line layers' speed columns: ``40``,
    ``"40"``, ``"50 mph"``, ``"40km/h"``, ``"40公里/小时"``, ``"限速40"``; ``"CN:urban"``
    and yes/no values give NaN.  Several values (``"40;30"``, OSM's per-lane or
    conditional lists) give the lowest: travel times are then never shorter than
    the slowest posted limit, so coverage is not over-stated.
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return math.nan  # a yes/no column is not a speed
    if isinstance(value, (list, tuple)):
        speeds = [parse_speed(v) for v in value]
        speeds = [s for s in speeds if not math.isnan(s)]
        return min(speeds) if speeds else math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if v > 0 else math.nan
    text = _CN_SPEED_UNITS.sub("km/h", str(value).strip().lower().replace("限速", ""))
    if not text or text == "nan":
        return math.nan
    parts = re.split(r"[;|,]", text)
    speeds = []
    for part in parts:
        m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?\s*$", part)
        if m:
            v = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
            if v > 0:
                speeds.append(v)
    return min(speeds) if speeds else math.nan


def _highway_class(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).split(";")[0].strip()


def _drive_speeds(highway: pd.Series, maxspeed: pd.Series | None, speeds: Mapping[str, float]) -> tuple[np.ndarray, int]:
    """Speed in km/h per edge: OSM maxspeed where readable, else by highway class. Returns (speeds, n_assumed)."""
    by_class = highway.map(lambda h: speeds.get(_highway_class(h), _FALLBACK_DRIVE_KMH)).to_numpy(float)
    if maxspeed is None:
        return by_class, len(by_class)
    parsed = np.array([parse_speed(v) for v in maxspeed], dtype=float)
    have = ~np.isnan(parsed)
    return np.where(have, parsed, by_class), int((~have).sum())



def _edge_speeds(
    mode: str,
    highway: pd.Series,
    maxspeed: pd.Series | None,
    *,
    walk_speed_kmh: float,
    drive_speeds: Mapping[str, float] | None,
    report: dict,
) -> np.ndarray:
    if mode == "walk":
        if not walk_speed_kmh > 0:
            raise InputError(f"walk speed must be positive, got {walk_speed_kmh}", field="walk_speed_kmh")
        report["walk_speed_kmh"] = float(walk_speed_kmh)
        return np.full(len(highway), float(walk_speed_kmh))
    speeds = dict(DRIVE_SPEEDS_KMH)
    speeds.update(drive_speeds or {})
    kmh, assumed = _drive_speeds(highway, maxspeed, speeds)
    report["edges_speed_from_class"] = assumed
    return kmh

