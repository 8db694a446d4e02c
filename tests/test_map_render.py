"""Web maps render their layers' text as it is (:class:`geoplan.outputs._map_base.FastRender`).

branca renders an element's parts and then compiles each as a Jinja template; geoplan's layers skip that
second step.  Checked here against folium's own rendering of the same map (byte for byte but for the spacing
of geometries' JSON, on the real
Xiangtan district polygons that ship in ``data/boundaries``), and with a place name that holds template
syntax, which must reach the page unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest

from geoplan.outputs import _map_base, _map_layers
from geoplan.outputs.maps import add_polygons, base_map

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "xiangtan_fastgeocn_wgs84.geojson"


@pytest.fixture()
def districts():
    return gpd.read_file(DATA)


def _page(gdf):
    m = base_map(gdf, basemap="osm")
    add_polygons(m, gdf, name="区县", popup_cols=["name"], tooltip_col="name")
    return m.get_root().render()


def test_fast_render_writes_what_folium_writes(districts, monkeypatch):
    fast = _page(districts)
    # the same map with geoplan's layers rendered by branca's own MacroElement.render
    monkeypatch.setattr(_map_base.FastRender, "render", folium.GeoJson.__mro__[-3].render)
    assert folium.GeoJson.__mro__[-3].__name__ == "MacroElement"
    # ... with the layer's data as plain dicts from geopandas' own GeoJSON writer (geoplan keeps geometries as
    # shapely's text until the page is written)
    monkeypatch.setattr(_map_layers, "_feature_collection", _geopandas_collection)
    slow = _page(districts)
    assert fast.count("geo_json_") == slow.count("geo_json_") > 0
    # element ids are random per element, and the two writers space and order a geometry's keys differently:
    # compared with ids replaced and each geometry written one way
    fast, slow = (_GEOMETRY.sub(_canonical, re.sub(r"_[0-9a-f]{32}", "_ID", t)) for t in (fast, slow))
    assert fast.count('"coordinates"') == len(districts)
    assert fast == slow


_GEOMETRY = re.compile(r'"geometry": (\{[^{}]*\})')


def _canonical(m):
    return '"geometry": ' + json.dumps(json.loads(m.group(1)), sort_keys=True)


def _geopandas_collection(gdf, props):
    geo = json.loads(gpd.GeoSeries(_map_base.round_coords(gdf.geometry), crs=4326).to_json(drop_id=True,
                                                                                         show_bbox=False))
    for i, f in enumerate(geo["features"]):
        f["properties"] = {k: v[i] for k, v in props.items()}
    return geo


def test_template_syntax_in_a_name_reaches_the_page(districts, monkeypatch):
    gdf = districts.head(2).copy()
    gdf["name"] = ["{{ 7 * 7 }}区", "{% if true %}乡{% endif %}"]
    page = _page(gdf)
    assert "{{ 7 * 7 }}" in page and "{% if true %}" in page and "{% endif %}" in page
    # branca's own rendering runs the name as template code
    monkeypatch.setattr(_map_base.FastRender, "render", folium.GeoJson.__mro__[-3].render)
    assert "{{ 7 * 7 }}" not in _page(gdf)


def test_template_syntax_in_a_layer_name_is_shown_not_run(districts):
    """Layer names go through folium's own groups and layer control: the brace is written as an entity."""
    for name in ("{{ 7 * 7 }}区", "{% if %}乡", "{# c #}镇"):
        m = base_map(districts, basemap="osm")
        add_polygons(m, districts, name=name)
        folium.LayerControl().add_to(m)
        page = m.get_root().render()
        # the control's labels are JSON strings set as innerHTML: the entity shows the brace
        shown = json.dumps(name.replace("{", "&#123;"))[1:-1].replace("&", "\\u0026")
        assert shown in page
