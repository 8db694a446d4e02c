"""Web maps, layers: :func:`add_points`, :func:`add_polygons`, :func:`add_markers_by_status`,
:func:`add_suggested_sites`.  See :mod:`geoplan.outputs.maps`."""

from __future__ import annotations

import html
import logging
import math
from typing import Any, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
from jinja2 import Template

from geoplan.outputs._i18n import label

log = logging.getLogger("geoplan")

from geoplan.outputs._map_base import (
    FastRender, GeoJson,
    _FONT_STACK, _PALETTE, CATEGORY_COLORS, _check_cols, _details, _drawable, _feature_collection, _lang, _layer_name,
    _popup_html, _value_text, to_map_datum,
)
from geoplan.outputs._map_legend import add_legend

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
    data = data[_drawable(data)]
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
        GeoJson(
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
    data = data[_drawable(data)]
    st = {"color": "#2b6cb0", "weight": 2, "fillColor": "#2b6cb0", "fillOpacity": 0.15}
    st.update(style or {})
    props, popup, tooltip = _details(data, popup_cols, tooltip_col, lang)
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    GeoJson(_feature_collection(data, props), style_function=lambda f, st=st: dict(st),
            popup=popup, tooltip=tooltip).add_to(group)
    group.add_to(m)
    return group


#: Default colours of boundary-marker statuses (GB/T 17796 registers; see geoplan.registers.boundaries).
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


class _RankedSites(FastRender):
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
    data = data[_drawable(data)]
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
