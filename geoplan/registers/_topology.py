"""Topology of division polygons, their shared boundary lines and lengths, comparison of two sources.

Everything is measured in a projected CRS (metres).  Internals of :mod:`geoplan.registers.boundaries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.ops import linemerge

from geoplan._errors import InputError
from geoplan.io._crs import projected_crs_for



# ----------------------------------------------------------------------------- topology
def _projected(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise InputError("layer has no CRS")
    if gdf.crs.is_projected:
        return gdf
    return gdf.to_crs(projected_crs_for(gdf))


def _polys(g) -> list:
    g = shapely.make_valid(g)
    parts = shapely.get_parts(g)
    return [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]


@dataclass
class TopologyResult:
    """Topology findings: ``table`` (one row per finding) and ``layer`` (same rows, WGS-84 geometry).

    Attributes
    ----------
    table
        One row per finding (see :func:`check_topology`).
    layer
        The same rows with the pieces as WGS-84 geometry.
    """

    table: pd.DataFrame
    layer: gpd.GeoDataFrame = field(repr=False)


def check_topology(units: gpd.GeoDataFrame, *, parent: shapely.Geometry | None = None, tolerance_m: float = 1.0,
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
    """Outer boundary of the union of ``units`` with its length in metres (WGS-84 geometry).

    Parameters
    ----------
    units
        Polygons in any CRS; the length is measured in a projected CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``line_code`` ``"outer"``, ``length_m`` and the boundary line in WGS-84.
    """
    pu = _projected(units)
    b = shapely.boundary(shapely.union_all(pu.geometry.values))
    return gpd.GeoDataFrame({"line_code": ["outer"], "length_m": [b.length]}, geometry=[b], crs=pu.crs).to_crs("EPSG:4326")



def geodesic_length_m(geom: shapely.Geometry) -> float:
    """Geodesic length (WGS-84 ellipsoid) of a lon/lat line: an independent check of projected lengths.

    Parameters
    ----------
    geom
        A line (or other geometry) in WGS-84 lon/lat.

    Returns
    -------
    float
        Length in metres (:meth:`pyproj.Geod.geometry_length`).
    """
    return float(pyproj.Geod(ellps="WGS84").geometry_length(geom))


def compare_sources(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> pd.DataFrame:
    """Compare the same units from two sources (matched on ``code``), in metres.

    Parameters
    ----------
    a, b
        The two sources' polygons with ``code`` (and ``name`` in ``a``); ``b`` is
        reprojected to ``a``'s projected CRS.  Codes missing from ``b`` are skipped.

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
