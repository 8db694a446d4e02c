"""Web maps, the base: tile sources and their datums (GCJ-02 shift for Amap), :func:`base_map`,
the Tianditu key kept out of the file, :func:`viewer_url`, and the helpers every layer uses
(popups, tooltips, escaped names, GeoJSON of the displayed properties).  See :mod:`geoplan.outputs.maps`."""

from __future__ import annotations

import html
import logging
import math
import os
import re
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template
from shapely.geometry import box

from geoplan._errors import CRSError, InputError
from geoplan.outputs._i18n import VALUE_KEY_COLUMNS, bool_text, check_lang, label
from geoplan.io._shifts import geometry_from_wgs84 as _geometry_from_wgs84

log = logging.getLogger("geoplan")

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
    """Datum of the map's basemap: ``"gcj02"`` for Amap, else ``"wgs84"``.

    Parameters
    ----------
    m
        A map from :func:`base_map` (any other map reads as WGS-84).

    Returns
    -------
    str
        ``"gcj02"`` or ``"wgs84"``.
    """
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


# --------------------------------------------------------------------------- rendering


class _Text(Element):
    """Rendered text put on the page as it is."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text[:-1] if text.endswith("\n") else text  # as Jinja drops one final newline

    def render(self, **kwargs) -> str:
        return self._text


class FastRender(MacroElement):
    """``MacroElement.render`` without compiling what it rendered: branca wraps each rendered part of an element
    in ``Element(text)``, which parses the text as a Jinja template (about a third of a large map's time, as the
    parts hold the layers' GeoJSON, and a name holding ``{{`` would be read as template code)."""

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part, box_ in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            if macros.get(part) is not None:
                box_.add_child(_Text(self._finished(macros[part](self, kwargs))), name=self.get_name())
        for element in list(self._children.values()):
            element.render(**kwargs)

    def _finished(self, text: str) -> str:
        """The rendered part as it goes on the page (a subclass may fill in what it kept out of the template)."""
        return text


class _Features(dict):
    """A GeoJSON FeatureCollection whose geometries stay text (shapely's writer) until the page is written.

    Each feature's geometry is a slot, ``{"type": <its type>, <token>: k}``, where :class:`GeoJson` puts ``texts[k]``
    (parsing the text into lists for Jinja to write out again cost seconds at a few thousand service areas)."""

    def __init__(self, features: list[dict], texts: list[str], token: str, bounds: np.ndarray):
        super().__init__(type="FeatureCollection", features=features)
        self.texts = texts
        self.token = token
        self.bounds = bounds  # (min lon, min lat, max lon, max lat): folium's get_bounds would read the lists


class GeoJson(folium.GeoJson, FastRender):
    """:class:`folium.GeoJson` rendered by :class:`FastRender`; a :class:`_Features` layer's geometries are put
    in as the text they were written as."""

    def _finished(self, text: str) -> str:
        data = self.data
        if not isinstance(data, _Features):
            return text
        slot = re.compile(r'\{[^{}]*"' + data.token + r'": (\d+)[^{}]*\}')  # a random token: in no user text
        return slot.sub(lambda m: data.texts[int(m.group(1))], text)

    def _get_self_bounds(self) -> list:
        if not isinstance(self.data, _Features):
            return super()._get_self_bounds()
        b = self.data.bounds
        return [[None, None], [None, None]] if not np.isfinite(b).all() else [[b[1], b[0]], [b[3], b[2]]]


# --------------------------------------------------------------------------- basemap


class _TiandituKey(FastRender):
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
    check_lang(lang)
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
    return check_lang(lang or getattr(m, "_geoplan_lang", "zh"))


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


_POPUP_OPEN = f'<table class="geoplan-pop" style="font-family:{html.escape(_FONT_STACK)};font-size:12px">'
#: Page CSS for popup tables (the label column), so that each popup row stays short.
POPUP_CSS = ".geoplan-pop th{text-align:left;padding-right:8px}"


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


#: Decimals of longitude/latitude written into a page: 6 decimals are about 0.1 m, far finer than any
#: layer geoplan maps, and cut the GeoJSON to about half of full precision.
COORD_DECIMALS = 6


def round_coords(geoms: Any, decimals: int = COORD_DECIMALS) -> np.ndarray:
    """Geometries with every coordinate rounded to ``decimals`` (vectorised; empty/None kept).

    Parameters
    ----------
    geoms
        A GeoSeries, geometry array or sequence of shapely geometries (longitude/latitude).
    decimals
        Decimals kept (default 6: about 0.1 m).

    Returns
    -------
    numpy.ndarray
        Object array of rounded geometries.
    """
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    return shapely.transform(arr, lambda c: np.round(c, decimals))


def geojson_text(geoms: Any, props: Sequence[str] | None = None) -> str:
    """A GeoJSON FeatureCollection as text, coordinates rounded to :data:`COORD_DECIMALS`.

    Built with shapely's vectorised writer (linear in the number of features, no per-feature
    Python objects beyond the strings); safe to put inside a ``<script>`` (``</`` is escaped).

    Parameters
    ----------
    geoms
        Geometries in the page's longitude/latitude; empty or missing ones are left out.
    props
        One JSON object text per geometry (already escaped where it holds user text), or None.

    Returns
    -------
    str
        The FeatureCollection.
    """
    arr = round_coords(geoms)
    ok = _drawable(arr)
    texts = shapely.to_geojson(arr[ok])
    if props is None:
        feats = ['{"type":"Feature","properties":{},"geometry":' + g + "}" for g in texts]
    else:
        keep = np.asarray(props, dtype=object)[ok]
        feats = ['{"type":"Feature","properties":' + p + ',"geometry":' + g + "}" for g, p in zip(texts, keep)]
    return ('{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}").replace("</", "<\\/")


_GEOMETRY_TYPES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                   "GeometryCollection")  # by shapely.get_type_id


def _drawable(geoms: Any) -> np.ndarray:
    """Which of ``geoms`` (a GeoDataFrame's rows, or geometries) have a geometry that is there and not empty."""
    geoms = geoms.geometry.values if isinstance(geoms, gpd.GeoDataFrame) else np.asarray(geoms)
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _feature_collection(gdf: gpd.GeoDataFrame, props: dict[str, list]) -> _Features:
    """Minimal GeoJSON: geometry (coordinates rounded to 6 decimals, no bbox; missing or empty ones left out)
    plus only the given (already escaped) properties, for :class:`GeoJson`."""
    arr = round_coords(gdf.geometry)
    ok = np.flatnonzero(_drawable(arr))
    token = uuid.uuid4().hex
    kinds = np.asarray(_GEOMETRY_TYPES)[shapely.get_type_id(arr[ok])].tolist()  # folium's popups ask for it
    feats = [{"type": "Feature", "properties": {k: v[i] for k, v in props.items()},
              "geometry": {"type": kind, token: j}} for j, (i, kind) in enumerate(zip(ok.tolist(), kinds))]
    bounds = shapely.total_bounds(arr[ok]) if len(ok) else np.full(4, np.nan)  # nothing to draw: no bounds
    return _Features(feats, shapely.to_geojson(arr[ok]).tolist(), token, bounds)


def popup_rows(gdf: pd.DataFrame, cols: Sequence[str], lang: str) -> list[str]:
    """Per row, the escaped ``<tr>`` label/value rows of ``cols`` (column by column: no row iteration)."""
    out = [""] * len(gdf)
    for c in cols:
        head = f"<tr><th>{html.escape(str(label(c, lang)))}</th><td>"
        vals = [html.escape(_value_text(v, c, lang)) for v in gdf[c].tolist()]
        out = [o + head + v + "</td></tr>" for o, v in zip(out, vals)]
    return out


def _details(gdf: gpd.GeoDataFrame, popup_cols: Sequence[str] | None, tooltip_col: str | None,
             lang: str) -> tuple[dict[str, list], folium.GeoJsonPopup | None,
                                 folium.GeoJsonTooltip | None]:
    props: dict[str, list] = {}
    popup = tooltip = None
    if not len(gdf):  # nothing drawn: no popup (folium checks its fields against the first feature)
        return props, popup, tooltip
    if popup_cols:
        props["_popup"] = [_POPUP_OPEN + r + "</table>" for r in popup_rows(gdf, popup_cols, lang)]
        popup = folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=400)
    if tooltip_col:
        props["_tooltip"] = [html.escape(_value_text(v, tooltip_col, lang))
                             for v in gdf[tooltip_col].tolist()]
        tooltip = folium.GeoJsonTooltip(fields=["_tooltip"], labels=False, sticky=True)
    return props, popup, tooltip


def _layer_name(name: str) -> str:
    """A layer's name as HTML for the layer control; ``{`` as an entity, since folium's layer groups and control
    (not :class:`FastRender`) pass their text through Jinja, which would run ``{{ }}`` or choke on ``{%``."""
    return html.escape(str(name)).replace("{", "&#123;")


class _Title(FastRender):
    """The map's title (and a note line) in a box at the top; texts go in as JSON and are set as text."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    var box = L.control({position: "topright"});
    box.onAdd = function () {
        var div = L.DomUtil.create("div", "geoplan-title");
        div.style.cssText = {{ this.css|tojson }};
        var h = L.DomUtil.create("div", "", div);
        h.style.fontWeight = "bold"; h.style.fontSize = "16px";
        h.textContent = {{ this.title|tojson }};
        var note = {{ this.note|tojson }};
        if (note) { var n = L.DomUtil.create("div", "", div); n.style.fontSize = "12px"; n.textContent = note; }
        return div;
    };
    box.addTo(map);
    document.title = {{ this.title|tojson }};
})();
{% endmacro %}
"""
    )

    def __init__(self, title: str, note: str):
        super().__init__()
        self._name = "GeoplanTitle"
        self.title = title
        self.note = note
        self.css = ("background:rgba(255,255,255,.92);padding:6px 12px;border-radius:4px;max-width:480px;"
                    f"box-shadow:0 1px 4px rgba(0,0,0,.3);font-family:{_FONT_STACK};line-height:1.4")


def add_title(m: folium.Map, title: str, *, note: str = "") -> MacroElement:
    """Add a title box (and an optional note line) at the top of the map; also the page title.

    Parameters
    ----------
    m
        The map.
    title
        Title text, shown as text (never as markup).
    note
        A smaller line under the title (e.g. how demand is drawn), or empty.

    Returns
    -------
    branca.element.MacroElement
        The title element (added to ``m``).
    """
    el = _Title(str(title), str(note or ""))
    m.add_child(el)
    return el


_ELEMENT_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9A-Za-z])")


def stable_ids(text: str, root=None) -> str:
    """The rendered page with folium's random element ids (``map_af84…``: uuid4 hex after the element's
    name) numbered in order of first appearance, so two renderings of the same map are byte-identical.

    Only 32-hex-digit runs right after an underscore are element ids; a key in a URL (``tk=…``) is not one.
    The text is renumbered as a whole, so every reference between elements stays; ``root`` (the rendered
    figure): its elements take their new ids too, so ``get_name()`` names what the page holds.
    """
    ids: dict[str, str] = {}
    out = _ELEMENT_ID.sub(lambda m: ids.setdefault(m.group(0), f"{len(ids):032x}"), text)
    stack = [root] if root is not None else []
    while stack:
        el = stack.pop()
        if getattr(el, "_id", None) in ids:
            el._id = ids[el._id]
        stack.extend(getattr(el, "_children", {}).values())
    return out
