"""Reading road line layers: the file, its datum and CRS, and its attribute columns (see :mod:`geoplan.network._lines`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoplan._errors import CRSError, InputError
from geoplan.io._crs import check_datum, geometry_to_wgs84, projected_crs_for
from geoplan.network._geometry import geodesic_lengths
from geoplan.network._speeds import DRIVE_SPEEDS_KMH, parse_speed

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

#: Classes a car cannot use (left out of drive graphs).
NOT_DRIVABLE = frozenset({"footway", "pedestrian", "path", "steps", "cycleway", "bridleway", "corridor"})
#: Classes a pedestrian cannot use (left out of walk graphs).
NOT_WALKABLE = frozenset({"motorway", "motorway_link"})

_OSM_CLASSES = set(DRIVE_SPEEDS_KMH) | NOT_DRIVABLE | {"living_street"}
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
) -> gpd.GeoDataFrame:
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
    key = check_datum(datum)
    prior = gdf.attrs.get("geoplan_datum_from")
    if prior is not None:
        raise InputError(
            f"this layer was already moved from {prior} to WGS-84; do not pass datum= twice", field="datum"
        )
    if key in ("wgs84", "cgcs2000"):
        return gdf
    out = geometry_to_wgs84(gdf, key)
    out.attrs = dict(gdf.attrs)
    out.attrs["geoplan_datum_from"] = key
    return out


# --------------------------------------------------------------------------- CRS


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
    """The CRS to compute in, and why: :func:`geoplan.io.projected_crs_for`, unless the layer's own CRS is good.

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
    c = pyproj.CRS.from_user_input(crs)
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    # The UTM zone comes from geoplan.io's one chooser (the zone of the layer's centre).
    utm = projected_crs_for(gpd.GeoSeries([shapely.box(minx, miny, maxx, maxy)], crs=c))
    if c.is_geographic:
        return utm, f"geographic CRS {c.name}: computed in UTM"
    if not c.is_projected:
        return utm, f"{c.name} is not a projected CRS: computed in UTM"
    unit = (c.axis_info[0].unit_name or "").lower() if c.axis_info else ""
    if unit not in ("metre", "meter"):
        return utm, f"{c.name} is in {unit or 'unknown units'}: computed in UTM metres"
    try:
        scale = _scale_error(c, (minx, miny, maxx, maxy))
    except pyproj.exceptions.ProjError:  # pragma: no cover - outside the projection's domain
        scale = math.inf
    if not math.isfinite(scale) or scale > 0.005:
        return utm, f"{c.name} distorts lengths by {scale:.1%} here: computed in UTM"
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
    speeds = dict(DRIVE_SPEEDS_KMH)
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


