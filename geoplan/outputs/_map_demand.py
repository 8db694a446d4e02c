"""Web maps, demand: drawn point by point from one shared table, or aggregated into square grid cells.

Both ways cost time linear in the number of demand points: the page's data is built column by column
(no row iteration, no folium object per feature) and written once; every facility-type layer reads
the same data in the browser and styles it by that type's values.

- :func:`add_demand_points` (up to ``max_points`` points, see :mod:`geoplan.outputs._coverage_map`):
  one GeoJSON of the points carrying the escaped popup rows common to all types, and per type the
  minutes, the nearest facility and whether the point is covered; one layer per type.
- :func:`aggregate_demand` and :func:`add_demand_grid` (more points): square cells in projected metres,
  the cell size a round number chosen from the extent (:func:`grid_size`), carrying per type the people
  not covered (by the type's weight, e.g. 60岁以上人口) and point counts; one layer per type coloured by
  the people not covered, drawn on a canvas so that tens of thousands of cells stay fluid.  The
  per-point layer stays in the report folder's GeoPackage (layer ``demand``).

Every text from user data is escaped in Python; numbers are formatted in the page.
"""

from __future__ import annotations

import html
import json
import math
from typing import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from jinja2 import Template

from geoplan.io._crs import utm_crs
from geoplan.outputs._map_base import (
    FastRender,
    _POPUP_OPEN, _layer_name, _value_text, geojson_text, popup_rows, to_map_datum,
)
from geoplan.outputs._map_legend import add_legend

#: At most this many cells span the bounding box of the demand (the occupied ones go into the page,
#: about 250 bytes each with four types).
GRID_MAX_CELLS = 40_000
_NICE_M = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000, 100_000)
#: Classes of people not covered per cell (YlOrRd), and the colour of cells whose people are all covered.
GRID_COLORS = ("#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
GRID_ALL_COVERED = "#68d391"
UNCOVERED_COLOR = "#c53030"
COVERED_COLOR = "#4a5568"  # grey: covered points stay quiet beside the red ones and the units' green


def grid_size(width_m: float, height_m: float, *, max_cells: int = GRID_MAX_CELLS) -> float:
    """The smallest round cell size (metres) whose grid over ``width_m`` × ``height_m`` has at most ``max_cells``.

    Parameters
    ----------
    width_m, height_m
        Extent of the points in projected metres.
    max_cells
        Cells of the bounding box allowed.

    Returns
    -------
    float
        Cell side in metres (100 m at least).
    """
    w, h = max(float(width_m), 1.0), max(float(height_m), 1.0)
    for s in _NICE_M:
        if (math.floor(w / s) + 1) * (math.floor(h / s) + 1) <= max_cells:
            return float(s)
    return float(math.ceil(math.sqrt(w * h / max_cells) / 1000.0) * 1000.0 + 1000.0)


def _projected_xy(demand: gpd.GeoDataFrame, crs: pyproj.CRS | None) -> tuple[np.ndarray, np.ndarray, pyproj.CRS]:
    geoms = demand.geometry.values
    lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    src = demand.crs
    if crs is None:
        if src is not None and src.is_projected:
            return lon, lat, src
        ok = np.isfinite(lon) & np.isfinite(lat)
        crs = utm_crs(float(np.median(lon[ok])), float(np.median(lat[ok])))
    tr = pyproj.Transformer.from_crs(src, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), crs


def aggregate_demand(demand: gpd.GeoDataFrame, *, types: Sequence[str], weights: Sequence[str],
                     cell_m: float | None = None, crs: pyproj.CRS | None = None) -> gpd.GeoDataFrame:
    """Sum demand into square grid cells: people not covered and point counts per facility type.

    Parameters
    ----------
    demand
        Demand points with a CRS, the weight columns and ``<type>_covered`` per type (as in
        :attr:`geoplan.coverage.CoverageResult.demand`).
    types
        Facility-type keys.
    weights
        The weight column of each type (``pop``, ``pop_60``...), aligned to ``types``.
    cell_m
        Cell side in metres (default: :func:`grid_size` of the extent).
    crs
        Projected CRS of the grid (default: the UTM zone of the points).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell, in ``crs``: ``cell_x``, ``cell_y`` (lower-left corner, metres),
        ``n_points``, and per type ``<type>_uncovered`` (people not covered, the weight summed) and
        ``<type>_n_uncovered`` (points not covered).  ``attrs["cell_m"]`` holds the cell side.
        Points without coordinates are left out; a missing weight counts as 0.
    """
    x, y, crs = _projected_xy(demand, crs)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not x.size:
        out = gpd.GeoDataFrame({"cell_x": [], "cell_y": [], "n_points": []}, geometry=[], crs=crs)
        out.attrs["cell_m"] = float(cell_m or _NICE_M[0])
        return out
    s = float(cell_m) if cell_m else grid_size(np.ptp(x), np.ptp(y))
    x0, y0 = math.floor(x.min() / s) * s, math.floor(y.min() / s) * s  # cells on round multiples of s
    ix = np.floor((x - x0) / s).astype(np.int64)
    iy = np.floor((y - y0) / s).astype(np.int64)
    nx = int(ix.max()) + 1
    cells, inv = np.unique(iy * nx + ix, return_inverse=True)
    inv = inv.ravel()
    cx, cy = x0 + (cells % nx) * s, y0 + (cells // nx) * s
    data: dict[str, np.ndarray] = {"cell_x": cx, "cell_y": cy, "n_points": np.bincount(inv, minlength=cells.size)}
    for t, w in zip(types, weights):
        miss = ~demand[f"{t}_covered"].to_numpy(dtype=bool)[ok]
        people = pd.to_numeric(demand[w], errors="coerce").to_numpy(dtype=float)[ok]
        people = np.where(np.isfinite(people), people, 0.0)
        data[f"{t}_uncovered"] = np.bincount(inv, weights=people * miss, minlength=cells.size)
        data[f"{t}_n_uncovered"] = np.bincount(inv, weights=miss, minlength=cells.size).astype(np.int64)
    out = gpd.GeoDataFrame(data, geometry=shapely.box(cx, cy, cx + s, cy + s), crs=crs)
    out.attrs["cell_m"] = s
    return out


class _SharedData(FastRender):
    """One GeoJSON held once in the page (``var``) for several layers."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {{ this.text }};
{% endmacro %}
"""
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "GeoplanData"
        self.text = text  # JSON built by geojson_text: texts escaped, "</" escaped


class _TypeLayer(FastRender):
    """The shared data drawn for one facility type (``o.index``): points or grid cells."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
    var group = {{ this._parent.get_name() }};
    var data = {{ this.data.get_name() }};
    var o = {{ this.opts|tojson }};
    var i = o.index;
    function num(v, d) { return (v === null || v === undefined) ? "" : Number(v).toLocaleString("en-US", {maximumFractionDigits: d}); }
    function row(k, v) { return "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; }
    function fill(v) {  // o.edges: upper class edges (inclusive unless o.strict)
        if (v === null || v === undefined) { return o.nodata; }
        if (o.zero && !(v > 0)) { return o.zero; }
        for (var k = 0; k < o.edges.length; k++) {
            if (o.strict ? v < o.edges[k] : v <= o.edges[k]) { return o.colors[k]; }
        }
        return o.colors[o.colors.length - 1];
    }
{%- if this.kind == "polygons" %}
    L.geoJSON(data, {
        style: function (f) {
            return {fillColor: fill(f.properties.v[i]), fillOpacity: o.opacity, color: "#4a5568", weight: 1};
        },
        onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(function () { return o.open + p.p[o.popup] + "</table>"; }, {maxWidth: 400});
            if (p.t) { layer.bindTooltip(p.t, {sticky: true}); }
            layer.on("mouseover", function () { layer.setStyle({weight: 3}); });
            layer.on("mouseout", function () { layer.setStyle({weight: 1}); });
        }
    }).addTo(group);
{%- elif this.kind == "cells" %}
    var renderer = L.canvas({padding: 0.5});
    L.geoJSON(data, {
        renderer: renderer,
        style: function (f) {
            var v = f.properties.u[i];
            return {fillColor: fill(v), fillOpacity: v > 0 ? 0.75 : 0.3, color: "#ffffff", weight: 0.5};
        },
        onEachFeature: function (f, layer) {
            layer.bindPopup(function () {
                var p = f.properties;
                return o.open + row(o.labels[0], num(p.u[i], 0)) + row(o.labels[1], num(p.k[i], 0)) +
                       row(o.labels[2], num(p.n, 0)) + "</table>";
            });
        }
    }).addTo(group);
{%- else %}
    function draw(uncovered) {
        L.geoJSON(data, {
            filter: function (f) { return (f.properties.c[i] === 0) === uncovered; },
            pointToLayer: function (f, ll) {
                return L.circleMarker(ll, {radius: uncovered ? 4 : 2.5, color: "#ffffff", weight: uncovered ? 1 : 0.5,
                                           fillColor: uncovered ? o.uncovered : o.covered,
                                           fillOpacity: uncovered ? 0.95 : 0.6});
            },
            onEachFeature: function (f, layer) {
                var p = f.properties;
                layer.bindPopup(function () {
                    return o.open + p.h + row(o.labels[0], num(p.m[i], 1)) + row(o.labels[1], p.f[i]) +
                           row(o.labels[2], p.c[i] ? o.yes : o.no) + "</table>";
                }, {maxWidth: 400});
                if (p.t) { layer.bindTooltip(p.t, {sticky: true}); }
            }
        }).addTo(group);
    }
    if (o.show_covered) { draw(false); }
    draw(true);  // on top
{%- endif %}
})();
{% endmacro %}
"""
    )

    def __init__(self, data: _SharedData, kind: str, opts: dict):
        super().__init__()
        self._name = "GeoplanTypeLayer"
        self.data = data
        self.kind = kind
        self.opts = opts


def _esc(text: object) -> str:
    return html.escape(str(text))


def _json_list(values: np.ndarray, digits: int | None) -> list[str]:
    """Per row, a JSON array text of the columns of ``values`` (rows × types); NaN → null."""
    cols = []
    for j in range(values.shape[1]):
        v = values[:, j]
        if digits is None:
            txt = np.char.mod("%d", np.nan_to_num(v, nan=0).astype(np.int64))
        else:
            txt = np.char.mod(f"%.{digits}f", np.where(np.isfinite(v), v, 0.0))
            txt = np.char.rstrip(np.char.rstrip(txt, "0"), ".")
            txt = np.where(np.isfinite(v), txt, "null")
        cols.append(txt.astype(object))
    return ["[" + ",".join(r) + "]" for r in zip(*cols)] if cols else ["[]"] * values.shape[0]


def add_demand_points(m: folium.Map, demand: gpd.GeoDataFrame, *, types: Sequence[tuple[str, str]],
                      popup_cols: Sequence[str], tooltip_col: str | None, labels: dict[str, str],
                      lang: str, legend_title: str) -> list[folium.FeatureGroup]:
    """One layer per type of the demand points (uncovered red on top, covered green), the first one shown.

    Parameters
    ----------
    m
        Map from :func:`geoplan.outputs.maps.base_map`.
    demand
        Demand points with ``<type>_min``, ``<type>_nearest`` and ``<type>_covered`` per type.
    types
        ``(type key, layer name)`` per type, in layer order.
    popup_cols, tooltip_col
        Columns shown for every type (escaped).
    labels
        Texts ``min``, ``nearest``, ``covered``, ``yes``, ``no``, ``uncovered_item``, ``covered_item`` (plain text).
    lang
        Label language.
    legend_title
        Title of the one legend the layers share.

    Returns
    -------
    list of folium.FeatureGroup
        The layers, in ``types`` order.
    """
    data = to_map_datum(m, demand)
    keys = [k for k, _ in types]
    mins = np.column_stack([pd.to_numeric(data[f"{k}_min"], errors="coerce").to_numpy(float) for k in keys])
    cov = np.column_stack([data[f"{k}_covered"].to_numpy(dtype=bool) for k in keys]).astype(float)
    nearest = [[_esc(_value_text(v, f"{k}_nearest", lang)) for v in data[f"{k}_nearest"].tolist()] for k in keys]
    tips = ([_esc(_value_text(v, tooltip_col, lang)) for v in data[tooltip_col].tolist()] if tooltip_col
            else [""] * len(data))
    rows = popup_rows(data, popup_cols, lang)
    props = [
        '{"t":%s,"h":%s,"m":%s,"f":%s,"c":%s}' % (json.dumps(t, ensure_ascii=False), json.dumps(h, ensure_ascii=False),
                                                    mm, json.dumps(list(ff), ensure_ascii=False), cc)
        for t, h, mm, ff, cc in zip(tips, rows, _json_list(mins, 1), zip(*nearest), _json_list(cov, None))
    ]
    shared = _SharedData(geojson_text(data.geometry, props))
    m.add_child(shared)
    opts = {"open": _POPUP_OPEN, "uncovered": UNCOVERED_COLOR, "covered": COVERED_COLOR, "show_covered": True,
            "labels": [_esc(labels["min"]), _esc(labels["nearest"]), _esc(labels["covered"])],
            "yes": _esc(labels["yes"]), "no": _esc(labels["no"])}
    groups = []
    for i, (_, name) in enumerate(types):
        g = folium.FeatureGroup(name=_layer_name(name), show=(i == 0))
        g.add_child(_TypeLayer(shared, "points", {**opts, "index": i}))
        g.add_to(m)
        groups.append(g)
    if groups:
        add_legend(m, [(UNCOVERED_COLOR, labels["uncovered_item"]), (COVERED_COLOR, labels["covered_item"])],
                   title=legend_title, shape="circle", layer=groups)
    return groups


def _class_edges(values: np.ndarray, k: int = len(GRID_COLORS)) -> list[float]:
    """Upper edges of ``k`` classes of the positive values: quantiles rounded to two significant digits."""
    pos = values[np.isfinite(values) & (values > 0)]
    if not pos.size:
        return [1.0]
    qs = np.quantile(pos, np.linspace(0, 1, k + 1)[1:])
    out: list[float] = []
    for q in qs:
        mag = 10 ** max(math.floor(math.log10(max(q, 1.0))) - 1, 0)
        r = float(math.ceil(q / mag) * mag)
        if not out or r > out[-1]:
            out.append(r)
    return out


def _edge_text(lo: float, hi: float) -> str:
    return f"{lo:,.0f} – {hi:,.0f}"


def add_demand_grid(m: folium.Map, cells: gpd.GeoDataFrame, *, types: Sequence[tuple[str, str]],
                    labels: dict[str, str], legend_titles: Sequence[str]) -> list[folium.FeatureGroup]:
    """One layer per type of grid cells coloured by the people not covered, the first one shown.

    Parameters
    ----------
    m
        Map from :func:`geoplan.outputs.maps.base_map`.
    cells
        From :func:`aggregate_demand`.
    types
        ``(type key, layer name)`` per type, in layer order.
    labels
        Texts ``uncovered`` (people not covered, a list: one per type), ``n_uncovered`` (points not covered), ``n_points`` and
        ``all_covered`` (legend entry of cells without people left out), plain text.
    legend_titles
        Legend title per type (plain text).

    Returns
    -------
    list of folium.FeatureGroup
        The layers, in ``types`` order.
    """
    data = to_map_datum(m, cells)
    keys = [k for k, _ in types]
    u = np.column_stack([data[f"{k}_uncovered"].to_numpy(float) for k in keys])
    k_ = np.column_stack([data[f"{k}_n_uncovered"].to_numpy(float) for k in keys])
    n = np.char.mod("%d", data["n_points"].to_numpy(np.int64)).astype(object)
    props = ['{"n":%s,"u":%s,"k":%s}' % row for row in zip(n, _json_list(u, 2), _json_list(k_, None))]
    shared = _SharedData(geojson_text(data.geometry, props))
    m.add_child(shared)
    base = {"open": _POPUP_OPEN, "zero": GRID_ALL_COVERED}
    groups = []
    for i, ((key, name), title) in enumerate(zip(types, legend_titles)):
        edges = _class_edges(u[:, i])
        colors = list(GRID_COLORS[len(GRID_COLORS) - len(edges):])  # the darkest for the most people
        g = folium.FeatureGroup(name=_layer_name(name), show=(i == 0))
        g.add_child(_TypeLayer(shared, "cells", {**base, "index": i, "edges": edges, "colors": colors,
                                                      "labels": [_esc(labels["uncovered"][i]), _esc(labels["n_uncovered"]),
                                                                 _esc(labels["n_points"])]}))
        g.add_to(m)
        groups.append(g)
        items = [(GRID_ALL_COVERED, labels["all_covered"])]
        lo = 0.0
        for c, hi in zip(colors, edges):
            items.append((c, _edge_text(lo, hi)))
            lo = hi
        add_legend(m, items, title=title, shape="box", layer=g)
    return groups


def add_shared_polygons(m: folium.Map, polygons: gpd.GeoDataFrame, *, values: np.ndarray,
                        popups: Sequence[Sequence[str]], tooltips: Sequence[str],
                        layers: Sequence[dict]) -> list[folium.FeatureGroup]:
    """Several classed layers over one set of polygons held once in the page (e.g. units per facility type).

    Parameters
    ----------
    m
        Map from :func:`geoplan.outputs.maps.base_map`.
    polygons
        The polygons (any CRS), one row per polygon.
    values
        Rows × layers: the value each layer classes (NaN: no data).
    popups
        Per popup set, per polygon: escaped ``<tr>`` rows (see :func:`geoplan.outputs._map_base.popup_rows`).
    tooltips
        Per polygon, an escaped tooltip (or "").
    layers
        Per layer: ``name``, ``show``, ``popup`` (index into ``popups``), ``edges`` (upper class edges, the
        last class takes the rest), ``colors`` (one per class), ``nodata`` (colour), ``opacity``.

    Returns
    -------
    list of folium.FeatureGroup
        The layers, in ``layers`` order.
    """
    data = to_map_datum(m, polygons)
    vals = _json_list(np.asarray(values, dtype=float), 4)
    pops = [json.dumps(list(r), ensure_ascii=False) for r in zip(*popups)] if popups else ["[]"] * len(data)
    props = ['{"t":%s,"p":%s,"v":%s}' % (json.dumps(t, ensure_ascii=False), p, v)
             for t, p, v in zip(tooltips, pops, vals)]
    shared = _SharedData(geojson_text(data.geometry, props))
    m.add_child(shared)
    groups = []
    for j, spec in enumerate(layers):
        g = folium.FeatureGroup(name=_layer_name(spec["name"]), show=bool(spec.get("show", False)))
        opts = {"index": j, "popup": int(spec.get("popup", 0)), "edges": [float(e) for e in spec["edges"]],
                "colors": list(spec["colors"]), "nodata": spec.get("nodata", "#bdbdbd"), "strict": True,
                "opacity": float(spec.get("opacity", 0.5)), "open": _POPUP_OPEN}
        g.add_child(_TypeLayer(shared, "polygons", opts))
        g.add_to(m)
        groups.append(g)
    return groups
