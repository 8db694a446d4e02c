"""Web maps (folium/Leaflet): basemaps, layers, legends, one HTML file.

Building blocks, not a finished map of any one analysis::

    m = base_map(units, basemap="amap")
    add_choropleth(m, units, value_col="share_pop_covered", name="人口覆盖率")
    add_points(m, facilities, name="设施", category_col="facility_type",
               popup_cols=["name", "facility_type"], tooltip_col="name")
    finish(m, "map.html")

Also: :func:`add_suggested_sites` (numbered markers, rank and gain in the
popup), :func:`add_markers_by_status` (e.g. boundary markers 界桩 by status),
and ``add_choropleth(..., legend=<earlier layer>)`` so that several layers of
one indicator (one per facility type, or before/after) share one legend.

Datums.  Layers are given in any CRS and converted to WGS-84 longitude/latitude.
On the Amap (Gaode) basemap, whose tiles are drawn in GCJ-02, every overlay is
also shifted WGS-84 → GCJ-02 (:func:`geoplan.crs.geometry_from_wgs84`) so
features sit on the right street; OpenStreetMap and Tianditu (CGCS2000 ≈
WGS-84) need no shift.  Give WGS-84/CGCS2000 data (convert Amap/Baidu source
data to WGS-84 on input, as :mod:`geoplan.io` does).

Escaping.  Every text from user data (popups, tooltips, layer names, legend
entries) is HTML-escaped in Python before it reaches the page, so a name such
as ``<script>alert(1)</script>`` shows as text.  Only the properties needed for
display go into the page's GeoJSON.

Tianditu key.  Tianditu tiles need a key (``tk``) in the tile URL.  geoplan
never writes it into the HTML file: the tile URL holds a ``{tk}`` placeholder
that a small script fills at view time from, in order, the page address
(``map.html#tk=KEY`` or ``?tk=KEY``; :func:`viewer_url` builds such an address
from ``tianditu_key=`` or the ``TIANDITU_KEY`` environment variable), or the
browser's ``localStorage`` (``geoplan.tianditu_key``; set on first use).
Without a key, the map shows a small box to paste one.  :func:`finish` refuses
to write a file that contains the key.

Offline.  folium links Leaflet and other libraries from CDNs by default.
geoplan keeps only Leaflet (no jQuery, Bootstrap or icon fonts are used) and
:func:`finish` inlines Leaflet's JS and CSS (images as data URIs) from a local
copy: the ``django-js-lib-leaflet`` package (Leaflet 1.9.4, BSD-2, a pure
asset package with no dependencies; a geoplan dependency), Debian's
``libjs-leaflet`` (``/usr/share/javascript/leaflet``), or a folder named by the
``GEOPLAN_LEAFLET_DIR`` environment variable.  The resulting file works
offline except for the basemap tiles.  If no local copy is found the CDN
links stay (and a warning is logged).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import logging
import math
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from geoplan._errors import CRSError, GeoplanError, InputError
from geoplan.outputs._i18n import VALUE_KEY_COLUMNS, bool_text, label
from geoplan._output import check_new_file

log = logging.getLogger("geoplan")

from geoplan.io._crs import geometry_from_wgs84 as _geometry_from_wgs84

AMAP_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
TIANDITU_VEC = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={tk}"
)
TIANDITU_CVA = (
    "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={tk}"
)
LEAFLET_JS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"

#: Basemap name → datum its tiles are drawn in.
BASEMAP_DATUM = {"osm": "wgs84", "amap": "gcj02", "tianditu": "wgs84"}

#: Default colours per facility type (one style per type).
CATEGORY_COLORS: dict[str, str] = {
    "elder_care_centre": "#c53030",
    "elder_care_station": "#dd6b20",
    "minor_protection": "#2b6cb0",
    "social_work": "#2f855a",
}
_PALETTE = ("#2b6cb0", "#c53030", "#2f855a", "#d69e2e", "#805ad5", "#dd6b20", "#319795",
            "#b83280", "#4a5568", "#975a16")
_NO_DATA = "#bdbdbd"

_FONT_STACK = ('"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",'
               '"WenQuanYi Micro Hei",sans-serif')


# --------------------------------------------------------------------------- datum helpers


def map_datum(m: folium.Map) -> str:
    """Datum of the map's basemap: ``"gcj02"`` for Amap, else ``"wgs84"``."""
    return getattr(m, "_geoplan_datum", "wgs84")


def to_map_datum(m: folium.Map, gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Return ``gdf`` as longitude/latitude in the datum of ``m``'s basemap.

    Parameters
    ----------
    m
        A map from :func:`base_map`.
    gdf
        Layer with a CRS (WGS-84/CGCS2000 or any projected CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326 coordinates, shifted to GCJ-02 for Amap.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    """
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise CRSError("layer has no CRS; set it (e.g. EPSG:4326) before mapping", field="crs")
    out = gdf.to_crs(4326)
    if map_datum(m) == "gcj02":
        out = _geometry_from_wgs84(out, "gcj02")
    return out


def _bounds(bounds_or_gdf: Any) -> tuple[float, float, float, float]:
    if isinstance(bounds_or_gdf, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if bounds_or_gdf.crs is None:
            raise CRSError("layer has no CRS; set it before mapping", field="crs")
        g = bounds_or_gdf.to_crs(4326)
        b = tuple(float(v) for v in g.total_bounds)
    else:
        b = tuple(float(v) for v in bounds_or_gdf)
        if len(b) != 4:
            raise InputError("bounds must be (min_lon, min_lat, max_lon, max_lat)")
    if not all(math.isfinite(v) for v in b):
        raise InputError("empty layer or non-finite bounds: nothing to map")
    minx, miny, maxx, maxy = b
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(f"bounds {b} are not longitude/latitude (min_lon, min_lat, max_lon, max_lat)")
    return minx, miny, maxx, maxy


# --------------------------------------------------------------------------- basemap


class _TiandituKey(MacroElement):
    """View-time Tianditu key: from the page address or localStorage, never from the file."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
    var layers = [{% for l in this.layers %}{{ l.get_name() }}{% if not loop.last %}, {% endif %}{% endfor %}];
    var map = {{ this._parent.get_name() }};
    var STORE = "geoplan.tianditu_key";
    function fromAddress() {
        var m = /[#&?]tk=([^&#]+)/.exec(window.location.hash + "&" + window.location.search);
        return m ? decodeURIComponent(m[1]) : null;
    }
    function stored() { try { return window.localStorage.getItem(STORE); } catch (e) { return null; } }
    function apply(key) {
        try { window.localStorage.setItem(STORE, key); } catch (e) {}
        layers.forEach(function (l) { l.options.tk = key; l.redraw(); });
    }
    var key = fromAddress();
    if (key) {
        try {  // keep the key out of the address bar, history and bookmarks
            var clean = window.location.href.replace(/([#&?])tk=[^&#]*&?/, "$1").replace(/[#?&]$/, "");
            window.history.replaceState(null, "", clean);
        } catch (e) {}
    } else {
        key = stored();
    }
    if (key) { apply(key); return; }
    var box = L.control({position: "topright"});
    box.onAdd = function () {
        var div = L.DomUtil.create("div", "geoplan-tk leaflet-bar");
        div.style.background = "white"; div.style.padding = "4px 6px";
        div.innerHTML = {{ this.prompt|tojson }};
        L.DomEvent.disableClickPropagation(div);
        div.querySelector("button").onclick = function () {
            var v = div.querySelector("input").value.trim();
            if (v) { apply(v); map.removeControl(box); }
        };
        return div;
    };
    box.addTo(map);
})();
{% endmacro %}
"""
    )

    def __init__(self, layers: Sequence[folium.TileLayer], prompt: str):
        super().__init__()
        self._name = "TiandituKey"
        self.layers = list(layers)
        self.prompt = prompt


def base_map(
    bounds_or_gdf: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float],
    *,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    lang: str = "zh",
    max_zoom: int = 19,
) -> folium.Map:
    """Create a map fitted to a layer or to bounds, with one basemap.

    Parameters
    ----------
    bounds_or_gdf
        A GeoDataFrame/GeoSeries with a CRS, or WGS-84 bounds
        ``(min_lon, min_lat, max_lon, max_lat)``.
    basemap
        ``"osm"`` (OpenStreetMap, default), ``"amap"`` (Gaode, GCJ-02 tiles:
        overlays added with geoplan's functions are shifted to GCJ-02) or
        ``"tianditu"`` (vector map with Chinese annotation; needs a key at view
        time, see the module notes).
    tianditu_key
        Never written into the map: it is only remembered in memory so that
        :func:`finish` can refuse a page that would contain it.  Open the
        saved map with :func:`viewer_url` (which takes the key, or
        ``TIANDITU_KEY``) to hand it to the page at view time.
    lang
        Language of the map's own texts (basemap names, the key prompt).
    max_zoom
        Highest zoom level.

    Returns
    -------
    folium.Map
        The map; add layers with :func:`add_points`, :func:`add_polygons`,
        :func:`add_choropleth`, then :func:`finish`.
    """
    if basemap not in BASEMAP_DATUM:
        raise InputError(f"basemap must be one of {sorted(BASEMAP_DATUM)}, got {basemap!r}",
                         field="basemap")
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    if tianditu_key is not None and not str(tianditu_key).strip():
        raise InputError("tianditu_key is empty", field="tianditu_key")
    minx, miny, maxx, maxy = _bounds(bounds_or_gdf)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, zoom_start=13,
                   control_scale=True, max_zoom=max_zoom)
    # Only Leaflet is needed: no jQuery, Bootstrap or icon fonts (finish() inlines Leaflet).
    m.default_js = [("leaflet", LEAFLET_JS_CDN)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_CDN)]
    m._geoplan_datum = BASEMAP_DATUM[basemap]  # type: ignore[attr-defined]
    m._geoplan_lang = lang  # type: ignore[attr-defined]
    # Kept in memory only, so that finish() can refuse a page that would leak it.
    m._geoplan_secrets = {k for k in (tianditu_key, os.environ.get("TIANDITU_KEY")) if k}  # type: ignore[attr-defined]
    zh = lang == "zh"
    if basemap == "osm":
        folium.TileLayer(
            "OpenStreetMap", name="OpenStreetMap", max_zoom=max_zoom,
        ).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            tiles=AMAP_TILES, attr="&copy; 高德地图 AutoNavi", name="高德地图" if zh else "Amap",
            subdomains="1234", max_zoom=max_zoom, max_native_zoom=18,
        ).add_to(m)
    else:
        vec = folium.TileLayer(
            tiles=TIANDITU_VEC, attr="&copy; 天地图 Tianditu", name="天地图" if zh else "Tianditu",
            subdomains="01234567", max_zoom=max_zoom, max_native_zoom=18, tk="",
        ).add_to(m)
        cva = folium.TileLayer(
            tiles=TIANDITU_CVA, attr="&copy; 天地图 Tianditu",
            name="天地图注记" if zh else "Tianditu labels", subdomains="01234567",
            max_zoom=max_zoom, max_native_zoom=18, overlay=True, tk="",
        ).add_to(m)
        prompt = (
            '<label style="font-size:12px">天地图密钥 (tk) <input type="password" size="14"></label> '
            '<button type="button">确定</button>'
            if zh else
            '<label style="font-size:12px">Tianditu key (tk) <input type="password" size="14">'
            '</label> <button type="button">OK</button>'
        )
        m.add_child(_TiandituKey([vec, cva], prompt))
    fit = [[miny, minx], [maxy, maxx]]
    if m._geoplan_datum == "gcj02":  # type: ignore[attr-defined]
        from shapely.geometry import box

        b = to_map_datum(m, gpd.GeoSeries([box(minx, miny, maxx, maxy)], crs=4326)).total_bounds
        fit = [[b[1], b[0]], [b[3], b[2]]]
    m.fit_bounds(fit)
    return m


def viewer_url(path: str | os.PathLike, *, tianditu_key: str | None = None) -> str:
    """Address to open a saved map with, carrying the Tianditu key in the fragment.

    The fragment (``#tk=...``) stays in the browser: it is not sent to any
    server, not written into the file, and the page removes it from the
    address bar after reading it (keeping the key in ``localStorage``).

    Parameters
    ----------
    path
        The saved HTML map.
    tianditu_key
        The key; default: the ``TIANDITU_KEY`` environment variable.

    Returns
    -------
    str
        ``file://...`` address, with ``#tk=KEY`` when a key is known.
    """
    url = Path(path).resolve().as_uri()
    key = tianditu_key or os.environ.get("TIANDITU_KEY")
    if key:
        url += "#tk=" + urllib.parse.quote(key, safe="")
    return url


# --------------------------------------------------------------------------- layer helpers


def _lang(m: folium.Map, lang: str | None) -> str:
    lang = lang or getattr(m, "_geoplan_lang", "zh")
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return lang


def _value_text(v: Any, col: str, lang: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return bool_text(bool(v), lang)
    if isinstance(v, (np.integer, int)):
        return f"{int(v):,}" if not col.endswith(("_code", "_id")) else str(int(v))
    if isinstance(v, (np.floating, float)):
        v = float(v)
        if col.startswith("share_"):
            return f"{v * 100:.1f}%"
        return f"{v:,.2f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{int(v):,}"
    if isinstance(v, str):
        return str(label(v, lang)) if col in VALUE_KEY_COLUMNS else v
    return str(v)


def _popup_html(row: pd.Series, cols: Sequence[str], lang: str) -> str:
    rows = "".join(
        f"<tr><th style=\"text-align:left;padding-right:8px\">{html.escape(str(label(c, lang)))}"
        f"</th><td>{html.escape(_value_text(row[c], c, lang))}</td></tr>"
        for c in cols
    )
    return f'<table style="font-family:{html.escape(_FONT_STACK)};font-size:12px">{rows}</table>'


def _check_cols(gdf: pd.DataFrame, cols: Iterable[str | None]) -> None:
    for c in cols:
        if c is not None and c not in gdf.columns:
            raise InputError(f"column {c!r} not in layer", field=c)


def _feature_collection(gdf: gpd.GeoDataFrame, props: dict[str, list]) -> dict:
    """Minimal GeoJSON: geometry plus only the given (already escaped) properties."""
    geo = json.loads(gpd.GeoSeries(gdf.geometry.values, crs=4326).to_json(drop_id=True))
    for i, f in enumerate(geo["features"]):
        f["properties"] = {k: v[i] for k, v in props.items()}
    geo["features"] = [f for f in geo["features"] if f.get("geometry")]
    return geo


def _details(gdf: gpd.GeoDataFrame, popup_cols: Sequence[str] | None, tooltip_col: str | None,
             lang: str) -> tuple[dict[str, list], folium.GeoJsonPopup | None,
                                 folium.GeoJsonTooltip | None]:
    props: dict[str, list] = {}
    popup = tooltip = None
    if popup_cols:
        props["_popup"] = [_popup_html(r, popup_cols, lang) for _, r in gdf.iterrows()]
        popup = folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=400)
    if tooltip_col:
        props["_tooltip"] = [html.escape(_value_text(v, tooltip_col, lang))
                             for v in gdf[tooltip_col]]
        tooltip = folium.GeoJsonTooltip(fields=["_tooltip"], labels=False, sticky=True)
    return props, popup, tooltip


def _layer_name(name: str) -> str:
    return html.escape(str(name))


# --------------------------------------------------------------------------- layers


def add_points(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    category_col: str | None = None,
    colors: Mapping[Any, str] | None = None,
    color: str = "#2b6cb0",
    radius: float = 6,
    popup_cols: Sequence[str] | None = None,
    tooltip_col: str | None = None,
    lang: str | None = None,
    show: bool = True,
    legend: bool = True,
) -> folium.FeatureGroup:
    """Add points as circle markers, one style per category.

    Parameters
    ----------
    m
        Map from :func:`base_map`.
    gdf
        Point layer with a CRS.
    name
        Layer name shown in the layer control.
    category_col
        Column whose values choose the colour (e.g. ``facility_type``);
        values are shown by their label in the legend.
    colors
        Category → CSS colour; defaults to :data:`CATEGORY_COLORS` for
        facility types and a fixed palette otherwise.
    color
        Colour when there is no ``category_col``.
    radius
        Marker radius in pixels.
    popup_cols, tooltip_col
        Columns shown in the popup (a label/value table) and the tooltip.
        Values are escaped.
    lang
        Label language (default: the map's).
    show
        Layer visible when the map opens.
    legend
        Add a legend of the categories (with ``category_col``).

    Returns
    -------
    folium.FeatureGroup
        The layer.
    """
    lang = _lang(m, lang)
    _check_cols(gdf, [category_col, tooltip_col, *(popup_cols or [])])
    data = to_map_datum(m, gdf)
    data = data[~data.geometry.is_empty & data.geometry.notna()]
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    if category_col is None:
        groups = [(None, data, color)]
    else:
        cats = list(dict.fromkeys(data[category_col].tolist()))
        palette = dict(CATEGORY_COLORS)
        palette.update(colors or {})
        extra = iter(_PALETTE)
        groups = []
        for c in cats:
            col = palette.get(c) or next(extra, "#4a5568")
            groups.append((c, data[data[category_col] == c], col))
    for _, part, col in groups:
        props, popup, tooltip = _details(part, popup_cols, tooltip_col, lang)
        folium.GeoJson(
            _feature_collection(part, props),
            marker=folium.CircleMarker(radius=radius, weight=1.5, color="#ffffff", fill=True,
                                       fill_color=col, fill_opacity=0.9),
            style_function=lambda f, col=col: {"fillColor": col, "color": "#ffffff",
                                               "weight": 1.5, "fillOpacity": 0.9},
            popup=popup, tooltip=tooltip,
        ).add_to(group)
    group.add_to(m)
    if category_col is not None and legend and groups:
        add_legend(m, [(col, str(label(c, lang))) for c, _, col in groups], title=name,
                   shape="circle", layer=group)
    return group


def add_polygons(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    style: Mapping[str, Any] | None = None,
    popup_cols: Sequence[str] | None = None,
    tooltip_col: str | None = None,
    lang: str | None = None,
    show: bool = True,
) -> folium.FeatureGroup:
    """Add polygons (or lines) with one style.

    Parameters
    ----------
    m
        Map from :func:`base_map`.
    gdf
        Polygon or line layer with a CRS.
    name
        Layer name shown in the layer control.
    style
        Leaflet path options (``color``, ``weight``, ``fillColor``,
        ``fillOpacity``, ``dashArray``...), merged over a default outline.
    popup_cols, tooltip_col
        Columns shown in popups and tooltips (escaped).
    lang
        Label language (default: the map's).
    show
        Layer visible when the map opens.

    Returns
    -------
    folium.FeatureGroup
        The layer.
    """
    lang = _lang(m, lang)
    _check_cols(gdf, [tooltip_col, *(popup_cols or [])])
    data = to_map_datum(m, gdf)
    data = data[~data.geometry.is_empty & data.geometry.notna()]
    st = {"color": "#2b6cb0", "weight": 2, "fillColor": "#2b6cb0", "fillOpacity": 0.15}
    st.update(style or {})
    props, popup, tooltip = _details(data, popup_cols, tooltip_col, lang)
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    folium.GeoJson(_feature_collection(data, props), style_function=lambda f, st=st: dict(st),
                   popup=popup, tooltip=tooltip).add_to(group)
    group.add_to(m)
    return group


def _class_colors(k: int, colormap: str | Sequence[str]) -> list[str]:
    if not isinstance(colormap, str):
        cols = list(colormap)
        if len(cols) < k:
            raise InputError(f"{k} classes need {k} colours, got {len(cols)}", field="colormap")
        return cols[:k]
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[colormap]
    return [to_hex(cmap(x)) for x in np.linspace(0.15, 0.9, k)] if k > 1 else [to_hex(cmap(0.6))]


def _fmt_edge(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.0f}%"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.2f}"


def add_choropleth(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    value_col: str,
    name: str,
    legend_title: str | None = None,
    bins: int | Sequence[float] = 5,
    colormap: str | Sequence[str] = "YlGn",
    popup_cols: Sequence[str] | None = None,
    tooltip_col: str | None = None,
    lang: str | None = None,
    show: bool = True,
    legend: bool | folium.FeatureGroup = True,
) -> folium.FeatureGroup:
    """Colour polygons by a value in classes, with a legend.

    Parameters
    ----------
    m
        Map from :func:`base_map`.
    gdf
        Polygon layer with a CRS.
    value_col
        Numeric column.  Names starting with ``share_`` (or values all in
        0–1 with ``bins`` given as a number) are shown as percentages.
    name
        Layer name shown in the layer control.
    legend_title
        Legend title (default: the label of ``value_col``).
    bins
        Number of classes (quantile breaks; for shares, equal steps over
        0–100%) or explicit class edges (ascending; values outside fall in the
        first/last class).
    colormap
        A matplotlib colormap name or a list of CSS colours (one per class).
    popup_cols, tooltip_col
        Columns shown in popups/tooltips (escaped); default popup: the unit
        name (if there is ``unit_name``) and the value.
    lang
        Label language (default: the map's).
    show
        Layer visible when the map opens.
    legend
        ``True``: a legend of this layer's classes, shown while the layer is
        visible.  ``False``: no legend.  A layer returned by an earlier
        :func:`add_choropleth` call: share that layer's legend — this layer is
        classed with the same class edges and colours (``bins`` and
        ``colormap`` are then not used) and the one legend is shown while any
        of the layers sharing it is visible.  Use this for one indicator
        mapped per facility type, so the map has one legend, not one per
        layer.

    Returns
    -------
    folium.FeatureGroup
        The layer.  Missing values are grey and listed as 无数据/No data.

    Examples
    --------
    One legend for several layers::

        first = None
        for t, part in units.groupby("type"):
            g = add_choropleth(m, part, value_col="share_pop_covered", name=t,
                               bins=[0, .2, .4, .6, .8, 1], legend=first or True,
                               show=first is None)
            first = first or g
    """
    lang = _lang(m, lang)
    _check_cols(gdf, [value_col, tooltip_col, *(popup_cols or [])])
    owner: folium.FeatureGroup | None = None
    if isinstance(legend, folium.FeatureGroup):
        owner = legend
        if getattr(owner, "_geoplan_classes", None) is None:
            raise InputError("legend= must be True, False or a layer returned by add_choropleth",
                             field="legend")
    elif not isinstance(legend, (bool, np.bool_)):
        raise InputError("legend= must be True, False or a layer returned by add_choropleth",
                         field="legend")
    values = pd.to_numeric(gdf[value_col], errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    percent = value_col.startswith("share_") or (
        finite.size > 0 and finite.min() >= 0 and finite.max() <= 1 and isinstance(bins, int)
    )
    if owner is not None:
        edges, percent, colormap = owner._geoplan_classes  # type: ignore[attr-defined]
        bins = list(edges)
    if isinstance(bins, int):
        if bins < 1:
            raise InputError("bins must be at least 1", field="bins")
        if percent:
            edges = np.linspace(0, 1, bins + 1)
        elif finite.size:
            edges = np.unique(np.nanquantile(finite, np.linspace(0, 1, bins + 1)))
            if edges.size == 1:
                edges = np.array([edges[0], edges[0]])
        else:
            edges = np.array([0.0, 1.0])
    else:
        edges = np.asarray(list(bins), dtype=float)
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise InputError("bins must be at least two ascending edges", field="bins")
    k = max(edges.size - 1, 1)
    colors = _class_colors(k, colormap)
    cls = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, k - 1)
    fill = [colors[c] if np.isfinite(v) else _NO_DATA for c, v in zip(cls, values)]

    data = to_map_datum(m, gdf)
    keep = (~data.geometry.is_empty & data.geometry.notna()).to_numpy()
    data = data[keep]
    fill = [f for f, ok in zip(fill, keep) if ok]
    if popup_cols is None:
        popup_cols = (["unit_name"] if "unit_name" in data.columns else []) + [value_col]
    props, popup, tooltip = _details(data, popup_cols, tooltip_col, lang)
    props["_fill"] = fill
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    folium.GeoJson(
        _feature_collection(data, props),
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#4a5568",
                                  "weight": 1, "fillOpacity": 0.7},
        highlight_function=lambda f: {"weight": 3, "color": "#1a202c"},
        popup=popup, tooltip=tooltip,
    ).add_to(group)
    group.add_to(m)
    group._geoplan_classes = (edges, percent, colors)  # type: ignore[attr-defined]
    no_data = (_NO_DATA, str(label("no_data", lang)))

    if owner is not None:
        shared = getattr(owner, "_geoplan_legend", None)
        if shared is not None:
            shared.layers.append(group)
            if not np.isfinite(values).all() and no_data not in shared.items:
                shared.items.append(no_data)
            # the legend's script must run after every layer it follows is defined
            m._children.move_to_end(shared.get_name())
        group._geoplan_legend = shared  # type: ignore[attr-defined]
        return group
    if not legend:
        group._geoplan_legend = None  # type: ignore[attr-defined]
        return group
    items = []
    for i in range(k):
        lo, hi = edges[i], edges[min(i + 1, edges.size - 1)]
        items.append((colors[i], f"{_fmt_edge(lo, percent)} – {_fmt_edge(hi, percent)}"))
    if not np.isfinite(values).all():
        items.append(no_data)
    title = legend_title if legend_title is not None else str(label(value_col, lang))
    group._geoplan_legend = add_legend(m, items, title=title, layer=group)  # type: ignore[attr-defined]
    return group


#: Default colours of boundary-marker statuses (GB/T 17796 registers; see geoplan.boundaries).
STATUS_COLORS: dict[str, str] = {
    "proposed": "#718096",
    "surveyed": "#2b6cb0",
    "found": "#2f855a",
    "moved": "#d69e2e",
    "damaged": "#dd6b20",
    "missing": "#c53030",
}
#: Display labels of marker statuses (zh, en).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "proposed": ("拟设（未实测）", "Proposed (not surveyed)"),
    "surveyed": ("已测设", "Surveyed"),
    "found": ("完好", "Found intact"),
    "moved": ("移位", "Moved"),
    "damaged": ("损坏", "Damaged"),
    "missing": ("缺失", "Missing"),
}


def _status_text(v: Any, lang: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "无数据" if lang == "zh" else "No data"
    zh, en = STATUS_LABELS.get(str(v), (str(v), str(v)))
    return zh if lang == "zh" else en


def add_markers_by_status(
    m: folium.Map,
    markers: gpd.GeoDataFrame,
    *,
    name: str,
    status_col: str = "status",
    colors: Mapping[str, str] | None = None,
    popup_cols: Sequence[str] | None = None,
    tooltip_col: str | None = None,
    radius: float = 7,
    lang: str | None = None,
    show: bool = True,
    legend: bool = True,
) -> folium.FeatureGroup:
    """Add point markers (e.g. boundary markers 界桩) coloured by their status.

    Parameters
    ----------
    m
        Map from :func:`base_map`.
    markers
        Point layer with a CRS and a status column.
    name
        Layer name shown in the layer control.
    status_col
        Column of status keys: ``proposed``, ``surveyed``, ``found``,
        ``moved``, ``damaged``, ``missing`` (see :data:`STATUS_LABELS`); other
        values are shown as they are, in a palette colour.
    colors
        Status → CSS colour, over :data:`STATUS_COLORS`.
    popup_cols, tooltip_col
        Columns shown in popups and tooltips (escaped); the status is shown by
        its label.
    radius
        Marker radius in pixels.
    lang
        Label language (default: the map's).
    show
        Layer visible when the map opens.
    legend
        Add a legend of the statuses present (in the order of
        :data:`STATUS_LABELS`), shown while the layer is visible.

    Returns
    -------
    folium.FeatureGroup
        The layer.
    """
    lang = _lang(m, lang)
    _check_cols(markers, [status_col, tooltip_col, *(popup_cols or [])])
    order = {k: i for i, k in enumerate(STATUS_LABELS)}
    keys = markers[status_col].astype(object).where(markers[status_col].notna(), None)
    rank = [order.get(str(k), len(order)) for k in keys]
    data = markers.assign(**{status_col: [_status_text(k, lang) for k in keys]})
    data = data.iloc[np.argsort(rank, kind="stable")]
    palette = dict(STATUS_COLORS)
    palette.update(colors or {})
    extra = iter(_PALETTE[3:])
    by_text: dict[str, str] = {}
    for k in keys.iloc[np.argsort(rank, kind="stable")]:
        t = _status_text(k, lang)
        if t not in by_text:
            by_text[t] = palette.get(str(k)) or next(extra, "#4a5568")
    return add_points(m, data, name=name, category_col=status_col, colors=by_text, radius=radius,
                      popup_cols=popup_cols, tooltip_col=tooltip_col, lang=lang, show=show,
                      legend=legend)


class _RankedSites(MacroElement):
    """Numbered markers; every per-site text travels as JSON and is escaped HTML."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
    var group = {{ this._parent.get_name() }};
    var sites = {{ this.sites|tojson }};
    var size = {{ this.size|tojson }};
    sites.forEach(function (s) {
        var icon = L.divIcon({className: "geoplan-site", html: s.icon, iconSize: [size, size],
                              iconAnchor: [size / 2, size / 2], popupAnchor: [0, -size / 2]});
        var marker = L.marker([s.lat, s.lon], {icon: icon, riseOnHover: true});
        if (s.popup) { marker.bindPopup(s.popup, {maxWidth: 400}); }
        if (s.tooltip) { marker.bindTooltip(s.tooltip, {sticky: true}); }
        marker.addTo(group);
    });
})();
{% endmacro %}
"""
    )

    def __init__(self, sites: list[dict], size: int):
        super().__init__()
        self._name = "RankedSites"
        self.sites = sites
        self.size = size


def add_suggested_sites(
    m: folium.Map,
    sites: gpd.GeoDataFrame,
    *,
    name: str,
    rank_col: str = "rank",
    gain_col: str | None = "gain",
    popup_cols: Sequence[str] | None = None,
    tooltip_col: str | None = None,
    category_col: str | None = None,
    colors: Mapping[Any, str] | None = None,
    color: str = "#805ad5",
    size: int = 24,
    lang: str | None = None,
    show: bool = True,
    legend: bool = True,
) -> folium.FeatureGroup:
    """Add suggested sites as numbered markers (the rank), with rank and gain in the popup.

    Parameters
    ----------
    m
        Map from :func:`base_map`.
    sites
        Suggested sites with a CRS (points; other geometries are shown at a
        representative point), e.g. the ranked table of a site suggestion.
    name
        Layer name shown in the layer control.
    rank_col
        Column of the rank (1 = first to build); written on the marker.
    gain_col
        Column of the marginal gain each site adds (e.g. people newly
        covered); ``None`` if there is none.
    popup_cols
        Columns shown in the popup, after rank and gain (escaped).
    tooltip_col
        Column shown on hover (escaped); default: the rank and gain.
    category_col
        Column choosing the colour (e.g. facility type), with a legend.
    colors
        Category → CSS colour (default :data:`CATEGORY_COLORS`, then a palette).
    color
        Colour without ``category_col``.
    size
        Marker diameter in pixels.
    lang
        Label language (default: the map's).
    show
        Layer visible when the map opens.
    legend
        With ``category_col``: a legend of the categories, shown while the
        layer is visible.

    Returns
    -------
    folium.FeatureGroup
        The layer.
    """
    lang = _lang(m, lang)
    _check_cols(sites, [rank_col, gain_col, tooltip_col, category_col, *(popup_cols or [])])
    data = to_map_datum(m, sites)
    data = data[~data.geometry.is_empty & data.geometry.notna()]
    pts = data.geometry.representative_point()
    cols = list(dict.fromkeys([rank_col, *([gain_col] if gain_col else []), *(popup_cols or [])]))
    palette = dict(CATEGORY_COLORS)
    palette.update(colors or {})
    extra = iter(_PALETTE)
    cat_colors: dict[Any, str] = {}
    if category_col is not None:
        for c in dict.fromkeys(data[category_col].tolist()):
            cat_colors[c] = palette.get(c) or next(extra, "#4a5568")
    records = []
    for (_, row), p in zip(data.iterrows(), pts):
        fill = cat_colors.get(row[category_col], color) if category_col else color
        rank_text = html.escape(_value_text(row[rank_col], rank_col, lang))
        icon = (
            f'<div style="width:{int(size)}px;height:{int(size)}px;border-radius:50%;'
            f'background:{html.escape(fill, quote=True)};color:#fff;border:2px solid #fff;'
            f'box-shadow:0 1px 3px rgba(0,0,0,.5);box-sizing:border-box;display:flex;'
            f'align-items:center;justify-content:center;font:bold 12px {html.escape(_FONT_STACK)}">'
            f"{rank_text}</div>"
        )
        if tooltip_col:
            tip = html.escape(_value_text(row[tooltip_col], tooltip_col, lang))
        else:
            tip = f"{html.escape(str(label(rank_col, lang)))} {rank_text}"
            if gain_col:
                tip += (f" · {html.escape(str(label(gain_col, lang)))} "
                        f"{html.escape(_value_text(row[gain_col], gain_col, lang))}")
        records.append({"lat": float(p.y), "lon": float(p.x), "icon": icon,
                        "popup": _popup_html(row, cols, lang), "tooltip": tip})
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    group.add_child(_RankedSites(records, int(size)))
    group.add_to(m)
    if category_col is not None and legend and cat_colors:
        add_legend(m, [(col, str(label(c, lang))) for c, col in cat_colors.items()], title=name,
                   shape="circle", layer=group)
    return group


class _Legend(MacroElement):
    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    var legend = L.control({position: {{ this.position|tojson }}});
    legend.onAdd = function () {
        var div = L.DomUtil.create("div", "geoplan-legend");
        div.innerHTML = {{ this.html|tojson }};
        return div;
    };
{%- if this.layers %}
    var layers = [{% for l in this.layers %}{{ l.get_name() }}{% if not loop.last %}, {% endif %}{% endfor %}];
    function sync() {  // the legend is shown while any of its layers is
        var on = layers.some(function (l) { return map.hasLayer(l); });
        if (on) { if (!legend._map) legend.addTo(map); }
        else if (legend._map) { legend.remove(); }
    }
    map.on("overlayadd overlayremove", function (e) { if (layers.indexOf(e.layer) >= 0) sync(); });
    layers.forEach(function (l) { l.on("add remove", function () { setTimeout(sync, 0); }); });
    sync();
{%- else %}
    legend.addTo(map);
{%- endif %}
})();
{% endmacro %}
"""
    )

    def __init__(self, items: list[tuple[str, str]], title: str, shape: str, position: str,
                 layers: Sequence[folium.map.Layer]):
        super().__init__()
        self._name = "Legend"
        self.items = items
        self.title = title
        self.shape = shape
        self.position = position
        self.layers = list(layers)

    @property
    def html(self) -> str:
        """The legend box; every text escaped."""
        return _legend_html(self.items, self.title, self.shape)


def _legend_html(pairs: Sequence[tuple[str, str]], title: str, shape: str) -> str:
    radius = "50%" if shape == "circle" else "2px"
    rows = "".join(
        '<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'border:1px solid #718096;border-radius:{radius};background:{html.escape(col, quote=True)}">'
        f"</span><span>{html.escape(text)}</span></div>"
        for col, text in pairs
    )
    return (
        f'<div style="background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;'
        f'box-shadow:0 1px 4px rgba(0,0,0,.3);font-family:{html.escape(_FONT_STACK)};'
        f'font-size:12px;line-height:1.4;max-width:260px">'
        f'<div style="font-weight:bold;margin-bottom:4px">{html.escape(title)}</div>{rows}</div>'
    )


def add_legend(
    m: folium.Map,
    items: Sequence[tuple[str, str]] | Mapping[str, str],
    *,
    title: str,
    position: str = "bottomright",
    shape: str = "box",
    layer: folium.map.Layer | Sequence[folium.map.Layer] | None = None,
) -> MacroElement:
    """Add a legend box (a Leaflet control) with coloured entries.

    Parameters
    ----------
    m
        The map.
    items
        ``(colour, text)`` pairs, or a mapping text → colour.  Texts are
        escaped; CJK text renders with the page's CJK font stack.
    title
        Legend title (escaped).
    position
        Leaflet control position (``"bottomright"``, ``"topleft"``...).
    shape
        ``"box"`` (areas) or ``"circle"`` (points).
    layer
        Show the legend only while this layer (or any of these layers) is on
        the map (switched in the layer control); default: always shown.  The
        layers must already be on the map.

    Returns
    -------
    branca.element.MacroElement
        The legend element (added to ``m``).
    """
    if isinstance(items, Mapping):
        pairs = [(str(col), str(text)) for text, col in items.items()]
    else:
        pairs = [(str(col), str(text)) for col, text in items]
    if shape not in ("box", "circle"):
        raise InputError(f"shape must be 'box' or 'circle', got {shape!r}", field="shape")
    layers = [] if layer is None else ([layer] if isinstance(layer, folium.map.Layer) else list(layer))
    el = _Legend(pairs, str(title), shape, position, layers)
    m.add_child(el)
    return el


# --------------------------------------------------------------------------- output


def _leaflet_dir() -> Path | None:
    candidates: list[Path] = []
    env = os.environ.get("GEOPLAN_LEAFLET_DIR")
    if env:
        candidates.append(Path(env))
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(Path(loc) / "static" / "js_lib_leaflet")
    candidates += [Path("/usr/share/javascript/leaflet")]
    for c in candidates:
        if (c / "leaflet.js").is_file() and (c / "leaflet.css").is_file():
            return c
    return None


def _inline_css(folder: Path) -> str:
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    def repl(mo: re.Match) -> str:
        ref = mo.group(1).strip("'\"")
        p = folder / ref
        if ref.startswith(("data:", "#", "http:", "https:")) or not p.is_file():
            return mo.group(0)
        b64 = base64.b64encode(p.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{b64})"

    return re.sub(r"url\(([^)]*)\)", repl, css)


def _inline_assets(text: str) -> tuple[str, bool]:
    folder = _leaflet_dir()
    if folder is None:
        log.warning("no local copy of Leaflet found (install django-js-lib-leaflet or Debian "
                    "libjs-leaflet): the map loads Leaflet from a CDN and needs internet")
        return text, False
    js = (folder / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = _inline_css(folder).replace("</style", "<\\/style")
    js_tag = re.compile(r'<script src="' + re.escape(LEAFLET_JS_CDN) + r'"></script>')
    css_tag = re.compile(r'<link rel="stylesheet" href="' + re.escape(LEAFLET_CSS_CDN) + r'"\s*/?>')
    if not js_tag.search(text) or not css_tag.search(text):
        log.warning("could not find folium's Leaflet links to inline; leaving CDN links")
        return text, False
    text = js_tag.sub(lambda _: f"<script>/* Leaflet (BSD-2-Clause), inlined */\n{js}</script>",
                      text, count=1)
    text = css_tag.sub(lambda _: f"<style>/* Leaflet CSS */\n{css}</style>", text, count=1)
    return text, True


_PAGE_CSS = (
    "<style>.leaflet-container{font-family:%s}"
    ".leaflet-tooltip,.leaflet-popup-content{font-family:%s}</style>" % (_FONT_STACK, _FONT_STACK)
)


def finish(
    m: folium.Map,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inline_assets: bool = True,
    collapsed: bool = False,
) -> Path:
    """Add the layer control and write the map as one HTML file.

    Parameters
    ----------
    m
        The map.
    path
        Output ``.html`` file.
    overwrite
        Replace an existing file (off by default).
    inline_assets
        Inline Leaflet's JS/CSS from a local copy so the file works offline
        except for tiles (see the module notes).
    collapsed
        Collapse the layer control.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    GeoplanError
        The rendered page would contain the Tianditu key (nothing is written).
    """
    out = check_new_file(path, overwrite=overwrite)
    if not getattr(m, "_geoplan_finished", False):
        folium.LayerControl(collapsed=collapsed).add_to(m)
        m.get_root().header.add_child(folium.Element(_PAGE_CSS))
        m._geoplan_finished = True  # type: ignore[attr-defined]
    text = m.get_root().render()
    if inline_assets:
        text, _ = _inline_assets(text)
    secrets = set(getattr(m, "_geoplan_secrets", set()))
    secrets.add(os.environ.get("TIANDITU_KEY", "").strip())
    if any(k and k in text for k in secrets):
        raise GeoplanError("refusing to write a map that contains the Tianditu key")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


__all__ = [
    "base_map",
    "add_points",
    "add_polygons",
    "add_choropleth",
    "add_legend",
    "add_suggested_sites",
    "add_markers_by_status",
    "finish",
    "viewer_url",
    "map_datum",
    "to_map_datum",
    "CATEGORY_COLORS",
    "STATUS_COLORS",
    "STATUS_LABELS",
]
