"""Web maps, classes and legends: :func:`add_choropleth` (classed fills, shared legends) and :func:`add_legend`.
See :mod:`geoplan.outputs.maps`."""

from __future__ import annotations

import html
import logging
from typing import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from geoplan._errors import InputError
from geoplan.outputs._i18n import label

log = logging.getLogger("geoplan")

from geoplan.outputs._map_base import (
    FastRender, GeoJson,
    _FONT_STACK, _NO_DATA, _check_cols, _details, _drawable, _feature_collection, _lang, _layer_name, to_map_datum,
)

def _class_colors(k: int, colormap: str | Sequence[str]) -> list[str]:
    if not isinstance(colormap, str):
        cols = list(colormap)
        if len(cols) < k:
            raise InputError(f"{k} classes need {k} colours, got {len(cols)}", field="colormap")
        return cols[:k]
    import matplotlib  # heavy: loaded only for a named colormap (a map with given colours never needs it)
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
    fill_opacity: float = 0.7,
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
    fill_opacity
        Opacity of the fills (lower keeps the basemap readable under them).

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
    keep = _drawable(data)
    data = data[keep]
    fill = [f for f, ok in zip(fill, keep) if ok]
    if popup_cols is None:
        popup_cols = (["unit_name"] if "unit_name" in data.columns else []) + [value_col]
    props, popup, tooltip = _details(data, popup_cols, tooltip_col, lang)
    props["_fill"] = fill
    group = folium.FeatureGroup(name=_layer_name(name), show=show)
    GeoJson(
        _feature_collection(data, props),
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#4a5568",
                                  "weight": 1, "fillOpacity": float(fill_opacity)},
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


class _Legend(FastRender):
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
