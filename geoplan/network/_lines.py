"""Road networks from the line layers planners actually have.

Bureaus often get road centre-lines from the natural-resources bureau or a
survey as a Shapefile, GeoPackage or CAD (DXF) export: lines that cross
without sharing a vertex, tiny gaps at junctions, duplicated segments, no
direction or speed.  Taken as they are such layers fall apart into many
disconnected pieces.  This module reads them, nodes and repairs them, maps
their attributes, and returns an osmnx-style graph plus a report of every
change so a planner can check it.

Main functions
--------------
- :func:`read_lines` — any layer pyogrio/GDAL reads (Shapefile, GeoPackage,
  GeoJSON, DXF...).
- :func:`graph_from_lines` — noded, repaired ``networkx.MultiDiGraph`` in
  osmnx form and a :class:`RepairReport`.
- :func:`network_from_lines` — the same as a compact
  :class:`geoplan.network.Network` for coverage and site suggestion.
- :func:`components_report` — connected parts and the points that fall on
  small ones.

Attribute mapping
-----------------
Columns are found by name (case-insensitive), or given with ``field_map``:

============  ==========================================================
attribute     column names recognised
============  ==========================================================
``highway``   道路等级, 等级, 道路类型, 道路类别, 公路等级, highway, fclass,
              class, road_class, roadclass
``name``      名称, 路名, 道路名称, 道路名, name, road_name, roadname
``oneway``    单行, 单向, 单行线, 是否单行, oneway, one_way
``maxspeed``  限速, 车速, 设计车速, 设计速度, 速度, maxspeed, speed,
              speed_kph, speedlimit
============  ==========================================================

Road class values are mapped to OSM ``highway`` classes by
:data:`CLASS_VALUES` (高速公路→motorway, 快速路→trunk, 主干路→primary,
次干路→secondary, 支路→tertiary, 国道/省道/县道/乡道/村道, 街巷, 步行街...);
OSM class names pass through; anything else becomes ``"road"`` and is
counted in the report.  One-way values: 是/单行/正向/yes/true/1/Y/T → along
the line, 反向/逆向/-1/reverse → against it, 否/双向/双行/no/false/0/N → both
ways (a Geofabrik-style column holding only F/T/B means F = along, T =
against, B = both).  Speeds come from the speed column where readable, else
the class default (:data:`DEFAULT_SPEEDS_KMH`, overridable with
``defaults``).  Walking graphs ignore one-way.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyproj
import shapely

from geoplan._errors import CRSError, InputError, NetworkError
from geoplan.network._noding import REPAIR_TYPES, Repair, node_lines

log = logging.getLogger("geoplan")

MODES = ("walk", "drive")

#: Default node tolerance (m): ends closer than this are one node (coordinate noise).
NODE_TOLERANCE_M = 0.01
#: Default snap tolerance (m): gaps up to this size at junctions are closed and reported.
SNAP_TOLERANCE_M = 1.0

#: Column names recognised for each attribute (compared case-insensitively).
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "highway": ("道路等级", "等级", "道路类型", "道路类别", "公路等级", "highway", "fclass", "class",
                "road_class", "roadclass"),
    "name": ("名称", "路名", "道路名称", "道路名", "name", "road_name", "roadname"),
    "oneway": ("单行", "单向", "单行线", "是否单行", "oneway", "one_way"),
    "maxspeed": ("限速", "车速", "设计车速", "设计速度", "速度", "maxspeed", "speed", "speed_kph",
                 "speedlimit"),
}

#: Road class values (Chinese standards' names) → OSM ``highway`` class.
#: Urban classes after CJJ 37-2012 (快速路/主干路/次干路/支路), highway administrative
#: classes after the OSM China tagging convention (国道 trunk, 省道 primary, 县道
#: secondary, 乡道 tertiary, 村道 unclassified).
CLASS_VALUES: dict[str, str] = {
    "高速公路": "motorway", "高速": "motorway", "匝道": "motorway_link",
    "快速路": "trunk", "城市快速路": "trunk", "国道": "trunk",
    "主干路": "primary", "主干道": "primary", "主干": "primary", "省道": "primary",
    "次干路": "secondary", "次干道": "secondary", "次干": "secondary", "县道": "secondary",
    "支路": "tertiary", "乡道": "tertiary",
    "村道": "unclassified", "乡村道路": "unclassified", "农村公路": "unclassified",
    "街巷": "residential", "小区路": "residential", "居住区道路": "residential", "巷道": "residential",
    "内部道路": "service", "专用公路": "service", "辅路": "service",
    "步行街": "pedestrian", "人行道": "footway", "步道": "footway", "绿道": "path", "游步道": "path",
    "台阶": "steps", "自行车道": "cycleway", "机耕路": "track",
}

#: Default driving speed (km/h) per class where the layer gives none.  Same values as
#: :data:`geoplan.network.DRIVE_SPEEDS_KMH` (CJJ 37-2012 design speeds, lower-middle value).
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0, "trunk": 60.0, "primary": 50.0, "secondary": 40.0, "tertiary": 30.0,
    "unclassified": 30.0, "residential": 25.0, "living_street": 10.0, "service": 15.0, "road": 25.0,
    "motorway_link": 40.0, "trunk_link": 40.0, "primary_link": 30.0, "secondary_link": 30.0,
    "tertiary_link": 25.0, "track": 15.0,
}

#: Classes a car cannot use (left out of drive graphs).
NOT_DRIVABLE = frozenset({"footway", "pedestrian", "path", "steps", "cycleway", "bridleway", "corridor"})
#: Classes a pedestrian cannot use (left out of walk graphs).
NOT_WALKABLE = frozenset({"motorway", "motorway_link"})

_OSM_CLASSES = set(DEFAULT_SPEEDS_KMH) | NOT_DRIVABLE | {"living_street"}
_TRUE = {"1", "1.0", "yes", "y", "true", "t", "是", "单行", "单向", "正向", "顺向", "forward", "f"}
_REV = {"-1", "-1.0", "reverse", "backward", "反向", "逆向"}
_FALSE = {"0", "0.0", "no", "n", "false", "否", "双向", "双行", "b", "both", "none", "nan", ""}


# --------------------------------------------------------------------------- reading


def read_lines(
    path: str | Path,
    *,
    layer: str | int | None = None,
    datum: str | None = None,
    crs: Any = None,
):
    """Read a road line layer from any file GDAL reads.

    Parameters
    ----------
    path
        Shapefile, GeoPackage, GeoJSON, FileGDB, DXF... (whatever pyogrio reads).
    layer
        Layer name or index for multi-layer files (GeoPackage, DXF).
    datum
        ``"gcj02"`` (Amap/Tencent) or ``"bd09"`` (Baidu) when the lon/lat are in
        that shifted datum: coordinates are moved to WGS-84 (see
        :func:`geoplan.crs.geometry_to_wgs84`).  ``None``: take the CRS as it is.
    crs
        CRS to assign when the file has none (DXF, Shapefile without ``.prj``).
        Ignored when the file has one.

    Returns
    -------
    geopandas.GeoDataFrame
        As read (plus the datum shift); ``attrs["geoplan_datum_from"]`` records a shift.

    Raises
    ------
    InputError
        File missing or unreadable.
    CRSError
        The layer has no CRS and ``crs`` is not given.
    """
    import geopandas as gpd

    p = Path(path)
    if not p.exists():
        raise InputError("road layer not found", file=p)
    try:
        gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio/GDAL raise many kinds
        raise InputError(f"cannot read the road layer: {exc}", file=p) from exc
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                "the road layer has no CRS (no .prj / no SRS); pass crs=... (CLI: --crs EPSG:4547)", file=p
            )
        gdf = gdf.set_crs(crs)
    if datum is not None:
        gdf = _shift_datum(gdf, datum)
    gdf.attrs["geoplan_source"] = str(p)
    return gdf


def _shift_datum(gdf, datum: str):
    from geoplan.io import _crs as gcrs

    key = gcrs.check_datum(datum)
    prior = gdf.attrs.get("geoplan_datum_from")
    if prior is not None:
        raise InputError(
            f"this layer was already moved from {prior} to WGS-84; do not pass datum= twice", field="datum"
        )
    if key in ("wgs84", "cgcs2000"):
        return gdf
    out = gcrs.geometry_to_wgs84(gdf, key)
    out.attrs = dict(gdf.attrs)
    out.attrs["geoplan_datum_from"] = key
    return out


# --------------------------------------------------------------------------- CRS


@functools.lru_cache(maxsize=32)
def _to_lonlat(wkt: str):
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(wkt), 4326, always_xy=True).transform


#: Ellipsoid for ground lengths.  CGCS2000 (GRS 80) and WGS-84 differ by 0.1 mm in
#: the semi-minor axis: no length changes measurably with the choice.
_GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_lengths(geoms: np.ndarray, crs: Any) -> np.ndarray:
    """Length on the ellipsoid (metres) of each line, whatever CRS it is drawn in.

    Each vertex is transformed to WGS-84 lon/lat and the geodesic distances
    between consecutive vertices are summed (pyproj ``Geod``).  Planar lengths in
    a projected CRS differ from the ground by the projection's scale factor
    (UTM: up to 0.04 % short at the central meridian, 0.1 % long at the zone edge).

    Parameters
    ----------
    geoms
        Array of LineStrings (or anything with coordinates) in ``crs``.
    crs
        Their CRS.

    Returns
    -------
    numpy.ndarray
        float64, aligned to ``geoms``; 0 for empty geometries.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    if len(geoms) == 0:
        return out
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(xy) < 2:
        return out
    c = pyproj.CRS.from_user_input(crs)
    lon, lat = _to_lonlat(c.to_wkt())(xy[:, 0], xy[:, 1])
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    same = idx[1:] == idx[:-1]
    _, _, d = _GEOD.inv(lon[:-1][same], lat[:-1][same], lon[1:][same], lat[1:][same])
    return np.bincount(idx[1:][same], weights=d, minlength=len(geoms))


def _scale_error(crs: pyproj.CRS, bounds: Sequence[float]) -> float:
    """Largest length distortion of ``crs`` over the layer, as a fraction (0.01 = 1 %).

    Measured, not assumed from longitudes: short planar crosses at the centre
    and corners of ``bounds`` are compared with their geodesic lengths.  This
    holds for any projection and prime meridian (S-JTSK/Ferro, EPSG:2065:
    about 0.01 % in Prague).
    """
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    h = max(1.0, min(100.0, (maxx - minx + maxy - miny) / 20))  # probe half-length (m), inside the layer
    worst = 0.0
    for x, y in ((cx, cy), (minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy)):
        probes = np.array([shapely.LineString([(x - h, y), (x + h, y)]), shapely.LineString([(x, y - h), (x, y + h)])],
                          dtype=object)
        g = geodesic_lengths(probes, crs)
        if not np.all(np.isfinite(g) & (g > 0)):
            return math.inf
        worst = max(worst, float(np.max(np.abs(2 * h / g - 1))))
    return worst


def metric_crs(crs: Any, bounds: Sequence[float]) -> tuple[pyproj.CRS, str]:
    """The CRS to compute in, and why.

    A projected CRS in metres whose scale error over the layer (measured
    against geodesic lengths at its centre and corners) is under 0.5% (UTM,
    CGCS2000 Gauss–Krüger EPSG:4526–4554, national grids, S-JTSK/Krovak) is
    kept.  The CRS only carries the geometry and the tolerances: edge lengths
    are geodesic (:func:`geodesic_lengths`) whichever CRS is used.  Geographic CRSs, CRSs in feet, and Web Mercator (EPSG:3857, scale
    error 1/cos(latitude), +60% in London) are replaced by the UTM zone of the
    layer's centre.

    Parameters
    ----------
    crs
        The layer's CRS.
    bounds
        ``(minx, miny, maxx, maxy)`` in that CRS.
    """
    from geoplan.io._crs import utm_crs

    c = pyproj.CRS.from_user_input(crs)
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if c.is_geographic:
        lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
        if c.to_epsg() != 4326:
            lon, lat = _to_lonlat(c.to_wkt())(lon, lat)
        return utm_crs(lon, lat), f"geographic CRS {c.name}: computed in UTM"
    lon, lat = _to_lonlat(c.to_wkt())((minx + maxx) / 2, (miny + maxy) / 2)
    if not c.is_projected:
        return utm_crs(lon, lat), f"{c.name} is not a projected CRS: computed in UTM"
    unit = (c.axis_info[0].unit_name or "").lower() if c.axis_info else ""
    if unit not in ("metre", "meter"):
        return utm_crs(lon, lat), f"{c.name} is in {unit or 'unknown units'}: computed in UTM metres"
    try:
        scale = _scale_error(c, (minx, miny, maxx, maxy))
    except pyproj.exceptions.ProjError:  # pragma: no cover - outside the projection's domain
        scale = math.inf
    if not math.isfinite(scale) or scale > 0.005:
        return utm_crs(lon, lat), f"{c.name} distorts lengths by {scale:.1%} here: computed in UTM"
    return c, f"kept {c.name} (scale error {scale:.3%} here; lengths are geodesic)"


# --------------------------------------------------------------------------- attributes


def _find_columns(columns: Sequence[str], field_map: Mapping[str, str] | None) -> dict[str, str | None]:
    field_map = dict(field_map or {})
    unknown = set(field_map) - set(FIELD_NAMES)
    if unknown:
        raise InputError(
            f"field_map keys must be among {sorted(FIELD_NAMES)}, got {sorted(unknown)}", field="field_map"
        )
    lower = {str(c).strip().lower(): c for c in columns}
    out: dict[str, str | None] = {}
    for attr, names in FIELD_NAMES.items():
        if attr in field_map:
            col = field_map[attr]
            if col is not None and col not in columns:
                raise InputError(f"column {col!r} (field_map[{attr!r}]) is not in the layer", field=col)
            out[attr] = col
            continue
        out[attr] = next((lower[n.lower()] for n in names if n.lower() in lower), None)
    return out


def _norm_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    return str(v).strip().lower()


def road_class(value: Any) -> str | None:
    """OSM ``highway`` class for a layer's road class value, ``None`` if unrecognised."""
    t = _norm_text(value)
    if not t:
        return None
    if t in _OSM_CLASSES:
        return t
    raw = str(value).strip()
    if raw in CLASS_VALUES:
        return CLASS_VALUES[raw]
    for k, cls in CLASS_VALUES.items():  # e.g. "城市主干路", "一级支路"
        if k in raw:
            return cls
    return None


def oneway_direction(value: Any, *, geofabrik: bool = False) -> int | None:
    """1 along the line, -1 against it, 0 both ways, ``None`` if unrecognised."""
    t = _norm_text(value)
    if geofabrik:
        return {"f": 1, "t": -1, "b": 0, "": 0}.get(t)
    if t in _TRUE:
        return 1
    if t in _REV:
        return -1
    if t in _FALSE:
        return 0
    return None


#: Chinese speed units, read as km/h.
_CN_SPEED_UNITS = re.compile(r"(公里|千米)\s*(/|每)?\s*(小时|时|h)?")


def parse_speed(value: Any) -> float:
    """Speed in km/h from values like ``40``, ``"40"``, ``"40km/h"``, ``"40公里/小时"``, ``"30 mph"``; NaN if none.

    One parser for OSM and line layers: Chinese units and a leading 限速 are
    rewritten, then :func:`geoplan.network._parse_speed` reads the value.
    Several values (``"40;30"``, OSM's per-lane or conditional lists) give the
    lowest: travel times are then never shorter than the slowest posted limit,
    so coverage is not over-stated.
    """
    from geoplan.network._network import _parse_speed

    if isinstance(value, (bool, np.bool_)):
        return math.nan  # a yes/no column is not a speed
    if isinstance(value, str):
        value = _CN_SPEED_UNITS.sub("km/h", value.strip().lower().replace("限速", ""))
    return _parse_speed(value)


def _level_codes(df: pd.DataFrame, level_col: str | Sequence[str] | None) -> np.ndarray | None:
    if level_col is None:
        return None
    cols = [level_col] if isinstance(level_col, str) else list(level_col)
    for c in cols:
        if c not in df.columns:
            raise InputError(f"level column {c!r} is not in the layer", field=c)

    def norm(v):
        t = _norm_text(v)
        if t in _FALSE or t in {"f", "ground", "地面"}:
            return "0"
        if t in _TRUE or t in {"t"}:
            return "1"
        try:
            return repr(float(t))
        except ValueError:
            return t

    keys = df[cols].apply(lambda r: tuple(norm(v) for v in r), axis=1) if len(df) else pd.Series([], dtype=object)
    codes, _ = pd.factorize(keys)
    return codes.astype(np.int64)


def _attributes(df: pd.DataFrame, mode: str, field_map, defaults) -> tuple[pd.DataFrame, dict, dict]:
    cols = _find_columns(list(df.columns), field_map)
    n = len(df)
    speeds = dict(DEFAULT_SPEEDS_KMH)
    for k, v in (defaults or {}).items():
        if not (isinstance(v, (int, float)) and v > 0):
            raise InputError(f"default speed for {k!r} must be a positive number of km/h, got {v!r}", field="defaults")
        speeds[str(k)] = float(v)
    info: dict[str, Any] = {"fields_used": {k: v for k, v in cols.items() if v is not None}}
    counts: dict[str, int] = {}
    if cols["highway"] is not None:
        raw = df[cols["highway"]]
        cls = raw.map(road_class)
        unrec = cls.isna() & raw.map(_norm_text).ne("")
        counts["class_unrecognised"] = int(unrec.sum())
        if unrec.any():
            info["class_values_unrecognised"] = sorted(map(str, raw[unrec].unique()))[:20]
        highway = cls.fillna("road")
    else:
        highway = pd.Series(["road"] * n, index=df.index)
    name = df[cols["name"]].map(lambda v: "" if _norm_text(v) == "" else str(v).strip()) if cols["name"] else pd.Series([""] * n, index=df.index)
    if cols["oneway"] is not None and mode == "drive":
        raw = df[cols["oneway"]]
        vals = set(raw.map(_norm_text).unique()) - {""}
        geofabrik = bool(vals) and vals <= {"f", "t", "b"} and bool(vals & {"f", "b"})
        direction = raw.map(lambda v: oneway_direction(v, geofabrik=geofabrik))
        unrec = direction.isna()
        counts["oneway_unrecognised"] = int(unrec.sum())
        if unrec.any():
            info["oneway_values_unrecognised"] = sorted(map(str, raw[unrec].unique()))[:20]
        direction = direction.fillna(0).astype(int)
    else:
        direction = pd.Series(np.zeros(n, dtype=int), index=df.index)
    if cols["maxspeed"] is not None:
        given = df[cols["maxspeed"]].map(parse_speed).astype(float)
    else:
        given = pd.Series(np.full(n, np.nan), index=df.index)
    by_class = highway.map(lambda h: speeds.get(h, speeds.get("road", 25.0))).astype(float)
    counts["speed_from_class"] = int(given.isna().sum())
    out = pd.DataFrame(
        {
            "highway": highway.to_numpy(),
            "name": name.to_numpy(),
            "direction": direction.to_numpy(),
            "maxspeed": given.to_numpy(),
            "speed_kph": np.where(given.notna(), given, by_class),
        },
        index=df.index,
    )
    return out, counts, info


# --------------------------------------------------------------------------- report


@dataclasses.dataclass
class RepairReport:
    """What :func:`graph_from_lines` changed, so a planner can check it.

    Attributes
    ----------
    counts
        Number of each kind of repair and of lines read/used (see :data:`REPAIR_TYPES`).
    repairs
        GeoDataFrame in ``crs`` with one row per repair: ``type``, ``source_row``
        (index label of the input line), ``distance_m`` (how far something
        moved, or the dropped length), ``detail``, ``geometry`` (the move as a
        short line, the split point, the dropped line...).
    components
        DataFrame of connected parts (weakly connected), largest first:
        ``component``, ``nodes``, ``edges``, ``length_m``.
    naive_components
        Number of connected parts when the lines are joined only where their
        ends coincide exactly (the layer as a naive reader sees it).
    crs
        The metric CRS the graph is in.
    crs_note
        Why that CRS.
    info
        Fields used, unrecognised attribute values, tolerances, mode.
    """

    counts: dict
    repairs: Any
    components: pd.DataFrame
    naive_components: int
    crs: pyproj.CRS
    crs_note: str = ""
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def n_components(self) -> int:
        """Connected parts after noding (before any were dropped)."""
        return int(len(self.components))

    def summary(self) -> str:
        """A Markdown summary (Chinese and English labels)."""
        lines = ["# 路网修复报告 / Road network repair report", ""]
        lines.append(f"- 坐标系 / CRS: {self.crs.to_string()} ({self.crs_note})")
        lines.append("- 长度 / lengths: WGS-84 椭球面测地线长度（米）/ geodesic on the WGS-84 ellipsoid (m)")
        for k in ("mode", "node_tolerance_m", "snap_tolerance_m", "level_col"):
            if k in self.info:
                lines.append(f"- {k}: {self.info[k]}")
        if self.info.get("fields_used"):
            lines.append(f"- 字段 / fields used: {self.info['fields_used']}")
        lines += ["", "| 项目 / item | 数量 / count |", "|---|---:|"]
        for k, v in self.counts.items():
            lines.append(f"| {k} | {v:,} |")
        lines += ["", f"连通分量（修复前，仅端点重合相连）/ parts before noding: {self.naive_components:,}",
                  f"连通分量（修复后）/ parts after noding: {self.n_components:,}", ""]
        if len(self.components):
            top = self.components.head(10)
            lines += ["| component | nodes | edges | length_m |", "|---:|---:|---:|---:|"]
            lines += [f"| {r.component} | {r.nodes:,} | {r.edges:,} | {r.length_m:,.0f} |" for r in top.itertuples()]
            if len(self.components) > 10:
                lines.append(f"| … {len(self.components) - 10} more | | | |")
        for k in ("class_values_unrecognised", "oneway_values_unrecognised"):
            if self.info.get(k):
                lines.append(f"\n{k}: {', '.join(self.info[k])}")
        lines += ["", "修复类型 / repair types:"] + [f"- `{k}`: {v}" for k, v in REPAIR_TYPES.items()]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        c = self.counts
        return (
            f"RepairReport(lines={c.get('lines_read', 0)}, parts before={self.naive_components}, "
            f"after={self.n_components}, snapped={c.get('ends_merged', 0) + c.get('end_snapped_to_line', 0)}, "
            f"duplicates={c.get('duplicate_dropped', 0)}, zero_length={c.get('zero_length_dropped', 0)})"
        )


# --------------------------------------------------------------------------- building


def _prepare(lines, drop_non_lines: bool):
    """Validate geometry; explode multi-parts; return (gdf of LineStrings, repairs, counts)."""
    import geopandas as gpd

    if isinstance(lines, gpd.GeoSeries):
        lines = gpd.GeoDataFrame(geometry=lines)
    if not isinstance(lines, gpd.GeoDataFrame):
        raise InputError(f"expected a GeoDataFrame of road lines, got {type(lines).__name__}")
    if lines.crs is None:
        raise CRSError("the road layer has no CRS; set it (gdf.set_crs(...)) or pass crs= to read_lines")
    if len(lines) == 0:
        raise InputError("the road layer is empty: no features")
    gdf = lines.copy()
    gdf["_src_label"] = lines.index
    gdf = gdf.reset_index(drop=True)
    geom = gdf.geometry
    repairs: list[Repair] = []
    counts = {"lines_read": int(len(gdf))}
    empty = geom.isna() | geom.is_empty
    counts["empty_dropped"] = int(empty.sum())
    for lab in gdf.loc[empty, "_src_label"]:
        repairs.append(Repair("empty_dropped", None, lab))
    gdf = gdf[~empty]
    types = gdf.geom_type
    is_line = types.isin(["LineString", "MultiLineString", "LinearRing"])
    if not is_line.any():
        found = ", ".join(f"{t} × {k}" for t, k in types.value_counts().items()) or "nothing"
        raise InputError(f"the layer has no lines (found {found}): a road network needs LineStrings")
    if (~is_line).any():
        bad = gdf.loc[~is_line]
        found = ", ".join(f"{t} × {k}" for t, k in bad.geom_type.value_counts().items())
        if not drop_non_lines:
            raise InputError(
                f"the layer mixes lines with other geometry ({found}); pass drop_non_lines=True "
                "(CLI: --drop-non-lines) to leave those out",
                row=bad["_src_label"].iloc[0],
                field="geometry",
            )
        for lab, g in zip(bad["_src_label"], bad.geometry):
            repairs.append(Repair("non_line_dropped", g, lab, detail=g.geom_type))
        counts["non_line_dropped"] = int(len(bad))
        gdf = gdf[is_line]
    gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.to_numpy()), crs=gdf.crs)
    parts = gdf.explode(index_parts=False, ignore_index=True)
    counts["parts_after_explode"] = int(len(parts))
    return parts, repairs, counts


def _naive_components(geoms: np.ndarray) -> int:
    from scipy import sparse
    from scipy.sparse import csgraph

    if len(geoms) == 0:
        return 0
    a = shapely.get_coordinates(shapely.get_point(geoms, 0))
    b = shapely.get_coordinates(shapely.get_point(geoms, -1))
    _, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(geoms)
    k = inv.max() + 1
    g = sparse.coo_array((np.ones(m), (inv[:m], inv[m:])), shape=(k, k))
    return int(csgraph.connected_components(g, directed=False)[0])


def graph_from_lines(
    lines,
    *,
    mode: str = "walk",
    datum: str | None = None,
    node_tolerance: float = NODE_TOLERANCE_M,
    snap_tolerance: float = SNAP_TOLERANCE_M,
    level_col: str | Sequence[str] | None = None,
    field_map: Mapping[str, str] | None = None,
    defaults: Mapping[str, float] | None = None,
    largest_component: bool = False,
    drop_non_lines: bool = False,
    crs: Any = None,
    layer: str | int | None = None,
):
    """Build a noded, repaired road graph (osmnx form) from a line layer.

    Parameters
    ----------
    lines
        GeoDataFrame (or GeoSeries) of LineStrings/MultiLineStrings with a CRS:
        any projected or geographic CRS, e.g. CGCS2000 Gauss–Krüger
        (EPSG:4526–4554), UTM, WGS-84; or a path, read with :func:`read_lines`.
    mode
        ``"walk"`` (every line two-way; motorways left out) or ``"drive"``
        (one-way respected; footways/paths left out).
    datum
        ``"gcj02"``/``"bd09"`` when lon/lat are in a shifted Chinese datum (they
        are moved to WGS-84 first); ``None`` to trust the CRS.
    node_tolerance
        Ends closer than this (m) are one node, silently (coordinate noise).
    snap_tolerance
        Gaps up to this size (m) are closed: dead ends (line ends meeting no
        other line; copies of one line count as one) are moved onto the
        nearest other end, then onto the nearest line (splitting it).  An end
        that already lies on another line (a T junction as drawn) is not
        moved.  An end is never moved onto a place it already reaches along
        the lines within twice this distance, so roads drawn as many short
        pieces do not fold up.  Every move is reported.  0 disables snapping
        (ends within ``node_tolerance`` of a line are still joined).
    level_col
        Column(s) giving the vertical level (e.g. ``"layer"``, ``["bridge",
        "tunnel"]``, ``"层级"``).  Lines whose level values differ are not
        joined where their interiors cross (bridges, tunnels), and ends are
        snapped only to ends and lines of their own level (a footway end near
        a tunnel stays where it is).  Ends that touch a line (within
        ``node_tolerance``) still connect whatever the levels, as drawn (a
        ramp landing on a road).  ``None``: every crossing is a junction.
    field_map
        Override the column used for ``"highway"`` (road class), ``"name"``,
        ``"oneway"``, ``"maxspeed"``; ``None`` as a value means "no such column".
    defaults
        Driving speed (km/h) per ``highway`` class where the layer gives none,
        merged over :data:`DEFAULT_SPEEDS_KMH` (e.g. ``{"residential": 20}``).
    largest_component
        Keep only the largest connected part; dropped segments go to the repairs layer.
    drop_non_lines
        Leave out points/polygons mixed into the layer (reported) instead of raising.
    crs
        Metric CRS to compute in; default: the layer's own when it is metric and
        undistorted, else the UTM zone (see :func:`metric_crs`).
    layer
        Layer to read when ``lines`` is a path to a multi-layer file.

    Returns
    -------
    G : networkx.MultiDiGraph
        Nodes ``x``, ``y``, ``component``; edges ``length`` (m on the
        WGS-84 ellipsoid, :func:`geodesic_lengths`), ``highway``,
        ``oneway`` (bool), ``reversed``, ``name``, ``speed_kph``, ``maxspeed``
        (only where the layer gives one), ``geometry`` (in ``G.graph["crs"]``),
        ``source_row`` (input index label), ``segment``.  ``G.graph["crs"]`` is
        projected (metres).  Walk graphs have both directions of every segment.
    report : RepairReport

    Raises
    ------
    CRSError
        The layer has no CRS, or ``crs`` is not projected.
    InputError
        No lines, lines mixed with other geometry (without ``drop_non_lines``),
        bad options or unknown columns.
    NetworkError
        Nothing usable is left after repair.
    """
    import geopandas as gpd
    import networkx as nx

    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, not {mode!r}", field="mode")
    if isinstance(lines, (str, os.PathLike)):
        lines = read_lines(lines, layer=layer)
    for nm, v in (("node_tolerance", node_tolerance), ("snap_tolerance", snap_tolerance)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise InputError(f"{nm} must be a non-negative number of metres, got {v!r}", field=nm)
    parts, repairs, counts = _prepare(lines, drop_non_lines)
    if datum is not None:
        parts = _shift_datum(parts, datum)
    if crs is None:
        target, note = metric_crs(parts.crs, parts.total_bounds)
    else:
        target = pyproj.CRS.from_user_input(crs)
        if not target.is_projected:
            raise CRSError(f"crs must be a projected CRS in metres, got {target.name}", field="crs")
        note = "given"
    if pyproj.CRS(parts.crs) != target:
        parts = parts.to_crs(target)
    levels = _level_codes(parts, level_col)
    attrs, acounts, info = _attributes(parts, mode, field_map, defaults)
    counts.update(acounts)
    excluded = NOT_DRIVABLE if mode == "drive" else NOT_WALKABLE
    usable = ~attrs["highway"].isin(excluded).to_numpy()
    counts[f"not_{mode}able_left_out"] = int((~usable).sum())
    if not usable.any():
        raise NetworkError(f"no line in the layer can be used for {mode} (all classes are {sorted(excluded)})")
    parts = parts[usable]
    attrs = attrs[usable]
    if levels is not None:
        levels = levels[usable]
    geoms = parts.geometry.to_numpy()
    naive = _naive_components(geoms[shapely.length(geoms) > 0])

    noded = node_lines(geoms, level=levels, node_tolerance=node_tolerance, snap_tolerance=snap_tolerance)
    counts.update({k: v for k, v in noded.counts.items()})
    src_labels = parts["_src_label"].to_numpy()
    for r in noded.repairs:
        r.source_row = src_labels[r.source_row] if isinstance(r.source_row, (int, np.integer)) and r.source_row >= 0 else r.source_row
    repairs.extend(noded.repairs)
    if len(noded.segments) == 0:
        raise NetworkError("no usable line is left after dropping empty, zero-length and duplicate lines")

    # components on the undirected segment graph
    from scipy import sparse
    from scipy.sparse import csgraph

    nn = len(noded.node_xy)
    g = sparse.coo_array((np.ones(len(noded.u)), (noded.u, noded.v)), shape=(nn, nn))
    ncomp, comp = csgraph.connected_components(g, directed=False)
    # ground lengths: planar lengths in the projected CRS are off by its scale factor
    seg_len = geodesic_lengths(noded.segments, target)
    comp_df = (
        pd.DataFrame({"c": comp[noded.u], "len": seg_len})
        .groupby("c")
        .agg(edges=("len", "size"), length_m=("len", "sum"))
    )
    comp_df["nodes"] = np.bincount(comp, minlength=ncomp)[comp_df.index]
    comp_df = comp_df.sort_values(["nodes", "length_m"], ascending=False)
    rank = np.empty(ncomp, dtype=np.int64)
    rank[comp_df.index.to_numpy()] = np.arange(ncomp)  # 0 = largest
    comp_df = comp_df.reset_index(drop=True)
    comp_df.insert(0, "component", np.arange(ncomp))
    comp_df = comp_df[["component", "nodes", "edges", "length_m"]]
    comp = rank[comp]

    keep_seg = np.ones(len(noded.segments), bool)
    if largest_component and ncomp > 1:
        keep_seg = comp[noded.u] == 0
        for k in np.flatnonzero(~keep_seg):
            repairs.append(Repair("small_component_dropped", noded.segments[k], src_labels[noded.source[k]],
                                  float(seg_len[k]), f"component {comp[noded.u[k]]}"))
        counts["small_component_dropped"] = int((~keep_seg).sum())

    G = nx.MultiDiGraph(crs=target, mode=mode, created_by="geoplan.lines.graph_from_lines")
    used_nodes = np.unique(np.r_[noded.u[keep_seg], noded.v[keep_seg]])
    for i in used_nodes:
        G.add_node(int(i), x=float(noded.node_xy[i, 0]), y=float(noded.node_xy[i, 1]), component=int(comp[i]))
    a = attrs.to_dict("records")
    n_oneway = 0
    rev_geoms = shapely.reverse(noded.segments)
    for k in np.flatnonzero(keep_seg):
        u, v = int(noded.u[k]), int(noded.v[k])
        row = a[noded.source[k]]
        geom = noded.segments[k]
        d = {
            "length": float(seg_len[k]),
            "highway": row["highway"],
            "name": row["name"],
            "speed_kph": float(row["speed_kph"]),
            "source_row": src_labels[noded.source[k]],
            "segment": int(k),
        }
        if math.isfinite(row["maxspeed"]):
            d["maxspeed"] = float(row["maxspeed"])
        direction = int(row["direction"]) if mode == "drive" else 0
        oneway = direction != 0
        n_oneway += oneway
        if direction in (0, 1):
            G.add_edge(u, v, **d, oneway=oneway, reversed=False, geometry=geom)
        if direction in (0, -1):
            G.add_edge(v, u, **d, oneway=oneway, reversed=True, geometry=rev_geoms[k])
    counts["oneway_segments"] = int(n_oneway)
    counts["nodes"] = G.number_of_nodes()
    counts["edges"] = G.number_of_edges()
    counts["components"] = int(ncomp)

    rep_gdf = gpd.GeoDataFrame(
        {
            "type": [r.type for r in repairs],
            "source_row": pd.array([r.source_row for r in repairs], dtype=object).astype(str) if repairs else [],
            "distance_m": [float(r.distance_m) for r in repairs],
            "detail": [r.detail for r in repairs],
        },
        geometry=gpd.GeoSeries([r.geometry for r in repairs], crs=None),
    )
    # repairs recorded before projection (dropped non-lines) are in the input CRS
    pre = rep_gdf["type"].isin(["non_line_dropped", "empty_dropped"]).to_numpy()
    if pre.any() and lines.crs is not None and pyproj.CRS(lines.crs) != target:
        rep_gdf.loc[pre, "geometry"] = gpd.GeoSeries(rep_gdf.geometry[pre], crs=lines.crs).to_crs(target).to_numpy()
    rep_gdf = rep_gdf.set_crs(target, allow_override=True)
    info.update(
        mode=mode,
        node_tolerance_m=node_tolerance,
        snap_tolerance_m=snap_tolerance,
        level_col=level_col,
        datum=datum,
    )
    report = RepairReport(counts, rep_gdf, comp_df, naive, target, note, info)
    log.info("%s", report)
    return G, report


# --------------------------------------------------------------------------- connectivity


@dataclasses.dataclass
class ComponentsReport:
    """Connected parts of a graph and where given points fall.

    Attributes
    ----------
    components
        ``component`` (0 = largest), ``nodes``, ``edges``, ``length_m``.
    points
        Aligned to the input points (empty when none were given): ``component``,
        ``component_nodes``, ``on_largest``, ``node`` (nearest node id),
        ``distance_m`` (to the nearest edge).
    """

    components: pd.DataFrame
    points: pd.DataFrame

    @property
    def n_components(self) -> int:
        return int(len(self.components))

    @property
    def off_largest(self) -> pd.DataFrame:
        """The points that do not fall on the largest part."""
        return self.points[~self.points["on_largest"]] if len(self.points) else self.points


def components_report(G, points=None) -> ComponentsReport:
    """Connected parts of a road graph, and which points fall on small parts.

    Parameters
    ----------
    G
        osmnx-style graph (node ``x``, ``y``; ``G.graph["crs"]``); edges may carry
        ``geometry``.  Parts are weakly connected components.
    points
        Optional GeoDataFrame/GeoSeries of facilities or demand points (any
        CRS).  Each is assigned to the part of its nearest edge.

    Returns
    -------
    ComponentsReport
    """
    import geopandas as gpd
    import networkx as nx

    if G.number_of_nodes() == 0:
        raise NetworkError("the graph is empty")
    comps = sorted(nx.weakly_connected_components(G) if G.is_directed() else nx.connected_components(G),
                   key=lambda c: -len(c))
    label = {}
    rows = []
    for i, c in enumerate(comps):
        for nd in c:
            label[nd] = i
        rows.append([i, len(c), 0, 0.0])
    seen = set()
    for u, v, d in G.edges(data=True):
        key = d.get("segment", None)
        i = label[u]
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        rows[i][2] += 1
        rows[i][3] += float(d.get("length", 0.0))
    comp_df = pd.DataFrame(rows, columns=["component", "nodes", "edges", "length_m"])
    cols = ["component", "component_nodes", "on_largest", "node", "distance_m"]
    if points is None:
        return ComponentsReport(comp_df, pd.DataFrame(columns=cols))
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise CRSError("points have no CRS: say which coordinates they are in")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise CRSError("the graph has no CRS (G.graph['crs'])")
    geo = geo.to_crs(gcrs)
    pts = geo.representative_point().to_numpy()
    us, geoms = [], []
    for u, v, d in G.edges(data=True):
        g = d.get("geometry")
        if g is None:
            g = shapely.LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        us.append((u, v))
        geoms.append(g)
    tree = shapely.STRtree(np.array(geoms, dtype=object))
    (ip, ie), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    e = np.full(len(pts), -1)
    dd = np.full(len(pts), np.nan)
    e[ip] = ie
    dd[ip] = dist
    out_comp, out_node = [], []
    for k, p in enumerate(pts):
        if e[k] < 0:
            out_comp.append(-1)
            out_node.append(None)
            continue
        u, v = us[e[k]]
        du = math.hypot(G.nodes[u]["x"] - p.x, G.nodes[u]["y"] - p.y)
        dv = math.hypot(G.nodes[v]["x"] - p.x, G.nodes[v]["y"] - p.y)
        out_node.append(u if du <= dv else v)
        out_comp.append(label[u])
    comp_arr = np.array(out_comp)
    sizes = comp_df["nodes"].to_numpy()
    df = pd.DataFrame(
        {
            "component": comp_arr,
            "component_nodes": np.where(comp_arr >= 0, sizes[np.maximum(comp_arr, 0)], 0),
            "on_largest": comp_arr == 0,
            "node": out_node,
            "distance_m": dd,
        },
        index=geo.index,
    )
    return ComponentsReport(comp_df, df)


# --------------------------------------------------------------------------- conversions


def graph_to_gdfs(G):
    """Nodes and edges of a :func:`graph_from_lines` graph as GeoDataFrames.

    Edges: one row per segment (the reverse copy of a two-way segment is left out).
    """
    import geopandas as gpd

    crs = G.graph.get("crs")
    nid = list(G.nodes)
    nodes = gpd.GeoDataFrame(
        {
            "node": nid,
            "x": [G.nodes[n]["x"] for n in nid],
            "y": [G.nodes[n]["y"] for n in nid],
            "component": [G.nodes[n].get("component", -1) for n in nid],
        },
        geometry=gpd.points_from_xy([G.nodes[n]["x"] for n in nid], [G.nodes[n]["y"] for n in nid]),
        crs=crs,
    )
    rows, seen = [], set()
    for u, v, k, d in G.edges(keys=True, data=True):
        s = d.get("segment", (u, v, k))
        if s in seen:
            continue
        seen.add(s)
        r = {"u": u, "v": v, "key": k}
        r.update({a: d.get(a) for a in ("highway", "name", "oneway", "length", "speed_kph", "maxspeed", "source_row")})
        r["source_row"] = str(r["source_row"])
        r["geometry"] = d.get("geometry")
        rows.append(r)
    edges = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    return nodes, edges


def save_graph(
    G,
    report: RepairReport | None,
    folder: str | Path,
    *,
    overwrite: bool = False,
    layers: Mapping[str, Any] | None = None,
    notes: str = "",
) -> dict[str, Path]:
    """Write a graph and its repair report into a new folder.

    Parameters
    ----------
    G
        A :func:`graph_from_lines` graph.
    report
        Its :class:`RepairReport` (or None).
    folder
        Output folder; written atomically (:func:`geoplan._output.output_folder`).
    overwrite
        Replace an existing folder.
    layers
        Extra GeoDataFrames to add to ``network.gpkg`` (name → layer).
    notes
        Extra Markdown appended to ``summary.md``.

    Returns
    -------
    dict
        File name → path: ``network.graphml`` (osmnx GraphML, loads with
        :func:`geoplan.network.from_graphml`), ``network.gpkg`` (layers
        ``nodes``, ``edges``, ``repairs``), ``components.csv``, ``summary.md``.
    """
    import osmnx as ox

    from geoplan._output import output_folder

    out: dict[str, Path] = {}
    final = Path(folder).resolve()
    with output_folder(final, overwrite=overwrite) as tmp:
        H = G.copy()
        H.graph["crs"] = pyproj.CRS(G.graph["crs"]).to_wkt() if G.graph.get("crs") is not None else None
        for _, _, d in H.edges(data=True):
            d["source_row"] = str(d.get("source_row"))
        ox.save_graphml(H, tmp / "network.graphml")
        nodes, edges = graph_to_gdfs(G)
        gpkg = tmp / "network.gpkg"
        nodes.to_file(gpkg, layer="nodes", engine="pyogrio")
        edges.to_file(gpkg, layer="edges", engine="pyogrio")
        if report is not None:
            rep = report.repairs.copy()
            if len(rep):
                rep.to_file(gpkg, layer="repairs", engine="pyogrio")
            report.components.to_csv(tmp / "components.csv", index=False)
            (tmp / "summary.md").write_text(report.summary() + notes, encoding="utf-8")
        for name, lyr in (layers or {}).items():
            lyr.to_file(gpkg, layer=name, engine="pyogrio")
    for name in ("network.graphml", "network.gpkg", "components.csv", "summary.md"):
        if (final / name).exists():
            out[name] = final / name
    return out


def network_from_lines(
    lines,
    *,
    mode: str = "walk",
    walk_speed_kmh: float | None = None,
    largest_component: bool = True,
    **kwargs,
):
    """Build a compact :class:`geoplan.network.Network` from a line layer.

    Runs :func:`graph_from_lines` (all keyword options pass through) and then
    :func:`geoplan.network.from_networkx`, so coverage and site suggestion run
    on it exactly as on an OSM network.

    Parameters
    ----------
    lines
        The road layer (see :func:`graph_from_lines`).
    mode
        ``"walk"`` or ``"drive"``.
    walk_speed_kmh
        Walking speed; default :data:`geoplan.network.WALK_SPEED_KMH`.
    largest_component
        Keep only the largest connected part (default True, as for OSM networks).
    **kwargs
        Passed to :func:`graph_from_lines`.

    Returns
    -------
    geoplan.network.Network
        ``network.report["lines"]`` holds the repair counts and
        ``network.report["repairs"]`` the :class:`RepairReport`.
    """
    from geoplan.network import _network as gnet

    G, report = graph_from_lines(lines, mode=mode, largest_component=largest_component, **kwargs)
    opts = {} if walk_speed_kmh is None else {"walk_speed_kmh": walk_speed_kmh}
    net = gnet.from_networkx(G, mode=mode, largest_component=largest_component, **opts)
    net.report["lines"] = dict(report.counts)
    net.report["repairs"] = report
    return net


__all__ = [
    "CLASS_VALUES",
    "DEFAULT_SPEEDS_KMH",
    "FIELD_NAMES",
    "ComponentsReport",
    "RepairReport",
    "components_report",
    "graph_from_lines",
    "geodesic_lengths",
    "graph_to_gdfs",
    "metric_crs",
    "network_from_lines",
    "read_lines",
    "save_graph",
]
