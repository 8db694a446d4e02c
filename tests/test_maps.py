"""Maps: layers in the HTML, escaping, GCJ-02 shift on Amap, Tianditu key never written."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from geoplan.outputs import maps
from geoplan.outputs import _map_legend  # internals: class colours
from geoplan.outputs._i18n import label
from geoplan._errors import CRSError, GeoplanError, InputError, OutputExistsError

XSS = "<script>alert(1)</script>"
XSS2 = "<img src=x onerror=alert(2)>"
BEIJING = (116.397428, 39.90923)  # Tiananmen, WGS-84


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"unit_name": ["雨湖路街道", XSS, "姜畲镇"], "unit_code": ["1", "2", "3"],
         "share_pop_covered": [0.85, None, 0.3]},
        geometry=[box(116.38, 39.90, 116.39, 39.92), box(116.39, 39.90, 116.40, 39.92),
                  box(116.40, 39.90, 116.41, 39.92)],
        crs=4326,
    )


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["敬老院", XSS2, XSS], "facility_type": ["elder_care_centre", "minor_protection",
                                                       "social_work"], "beds": [40, None, 0]},
        geometry=[Point(*BEIJING), Point(116.405, 39.905), Point(116.385, 39.915)],
        crs=4326,
    )


def _build(tmp_path, units, facilities, basemap="osm", **kw):
    m = maps.base_map(units, basemap=basemap, **kw)
    maps.add_choropleth(m, units, value_col="share_pop_covered", name="人口覆盖率",
                        tooltip_col="unit_name")
    maps.add_polygons(m, units, name="行政区划", popup_cols=["unit_name", "unit_code"])
    maps.add_points(m, facilities, name="设施", category_col="facility_type",
                    popup_cols=["name", "facility_type", "beds"], tooltip_col="name")
    return maps.finish(m, tmp_path / f"{basemap}.html")


def _geojson_coords(text: str) -> list[list[float]]:
    """All Point coordinates in the page's GeoJSON, in page order."""
    return [json.loads(c) for c in re.findall(r'"coordinates": ?(\[[-0-9.eE]+, ?[-0-9.eE]+\])', text)]


def _decoded(text: str) -> str:
    """The page with JSON \\uXXXX escapes undone: what the browser's strings hold."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda mo: chr(int(mo.group(1), 16)), text)


def test_layers_legend_and_offline(tmp_path, units, facilities):
    path = _build(tmp_path, units, facilities)
    text = path.read_text(encoding="utf-8")
    assert text.count("L.featureGroup(") == 3
    for name in ("人口覆盖率", "行政区划", "设施"):
        assert name in _decoded(text)
    assert "L.control.layers(" in text
    assert "tile.openstreetmap.org" in text
    # legends: facility types and classes, in Chinese
    strings = _decoded(text)
    for word in ("综合养老服务中心", "未成年人保护工作站", "社工站", "80% – 100%", "无数据"):
        assert word in strings
    # no CDN: Leaflet inlined from the local copy, nothing else fetched
    if maps._leaflet_dir() is not None:
        assert "cdn.jsdelivr" not in text and "cdnjs" not in text
        assert "code.jquery.com" not in text and "bootstrap" not in text.lower()
        assert not re.search(r'<script[^>]+src=', text)
        assert not re.search(r'<link[^>]+href="https?:', text)


def test_user_text_escaped(tmp_path, units, facilities):
    text = _build(tmp_path, units, facilities).read_text(encoding="utf-8")
    assert XSS not in text and XSS2 not in text
    # Strings handed to Leaflet (inserted as HTML) carry the data escaped: shown as text.
    strings = _decoded(text)
    assert XSS not in strings and XSS2 not in strings
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in strings  # popup of a point
    assert '"_tooltip": "&lt;img src=x onerror=alert(2)&gt;"' in strings
    assert '"_tooltip": "&lt;script&gt;alert(1)&lt;/script&gt;"' in strings  # unit tooltip


def test_layer_name_and_legend_escaped(tmp_path, units):
    m = maps.base_map(units)
    maps.add_polygons(m, units, name=XSS)
    maps.add_legend(m, [("#ff0000", XSS2)], title=XSS)
    text = _decoded(maps.finish(m, tmp_path / "m.html").read_text(encoding="utf-8"))
    assert XSS not in text and XSS2 not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text


def test_gcj02_shift_on_amap(tmp_path, units, facilities):
    osm = _geojson_coords(_build(tmp_path, units, facilities, "osm").read_text(encoding="utf-8"))
    amap_text = _build(tmp_path, units, facilities, "amap").read_text(encoding="utf-8")
    amap = _geojson_coords(amap_text)
    assert "autonavi.com" in amap_text
    assert osm[0] == pytest.approx(list(BEIJING))
    dlon, dlat = amap[0][0] - osm[0][0], amap[0][1] - osm[0][1]
    dist = Geod(ellps="WGS84").inv(osm[0][0], osm[0][1], amap[0][0], amap[0][1])[2]
    # GCJ-02 moves Beijing roughly 0.006° east and 0.001° north: a few hundred metres.
    assert 0.004 < dlon < 0.008 and 0.0005 < dlat < 0.003
    assert 300 < dist < 800
    # polygons are shifted too
    m = maps.base_map(units, basemap="amap")
    shifted = maps.to_map_datum(m, units)
    assert shifted.total_bounds[0] - units.total_bounds[0] == pytest.approx(dlon, abs=5e-4)


def test_projected_input_is_reprojected(tmp_path, facilities):
    utm = facilities.to_crs(32650)
    m = maps.base_map(utm)
    out = maps.to_map_datum(m, utm)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(BEIJING[0], abs=1e-7)


def test_tianditu_key_never_written(tmp_path, units, facilities, monkeypatch):
    monkeypatch.setenv("TIANDITU_KEY", "envsecret0123456789")
    path = _build(tmp_path, units, facilities, "tianditu", tianditu_key="argsecret987654321")
    text = path.read_text(encoding="utf-8")
    assert "argsecret" not in text and "envsecret" not in text
    assert "tianditu.gov.cn" in text and "tk={tk}" in text
    assert "localStorage" in text
    url = maps.viewer_url(path)
    assert url.startswith("file://") and url.endswith("#tk=envsecret0123456789")
    assert maps.viewer_url(path, tianditu_key="a b").endswith("#tk=a%20b")


def test_finish_refuses_page_with_key(tmp_path, units):
    m = maps.base_map(units, basemap="tianditu", tianditu_key="leakykey12345")
    maps.add_polygons(m, units.assign(unit_name="leakykey12345"), name="x",
                      tooltip_col="unit_name")
    with pytest.raises(GeoplanError, match="Tianditu key"):
        maps.finish(m, tmp_path / "leak.html")
    assert not (tmp_path / "leak.html").exists()


def test_no_overwrite_by_default(tmp_path, units):
    m = maps.base_map(units)
    maps.finish(m, tmp_path / "m.html")
    with pytest.raises(OutputExistsError):
        maps.finish(m, tmp_path / "m.html")
    maps.finish(m, tmp_path / "m.html", overwrite=True)


def test_bad_inputs(units):
    with pytest.raises(InputError):
        maps.base_map(units, basemap="google")
    with pytest.raises(CRSError):
        maps.base_map(units.set_crs(None, allow_override=True))
    with pytest.raises(InputError):
        maps.base_map((500, 0, 600, 1))
    m = maps.base_map((116.3, 39.8, 116.5, 40.0))
    with pytest.raises(InputError):
        maps.add_points(m, units, name="x", tooltip_col="missing")
    with pytest.raises(InputError):
        maps.add_choropleth(m, units, value_col="share_pop_covered", name="x", bins=[0.5, 0.1])


def test_choropleth_explicit_bins_and_colors(tmp_path, units):
    m = maps.base_map(units, lang="en")
    maps.add_choropleth(m, units.assign(pop=[100, 2000, 30000]), value_col="pop", name="Pop",
                        bins=[0, 1000, 10000, 50000], colormap=["#eee", "#999", "#333"])
    text = maps.finish(m, tmp_path / "c.html").read_text(encoding="utf-8")
    assert "0 – 1,000" in _decoded(text)
    assert "Population" in _decoded(text)


def test_popup_labels_and_values(tmp_path, facilities):
    m = maps.base_map(facilities)
    maps.add_points(m, facilities.assign(type=facilities.facility_type, name="social_work"),
                    name="p", popup_cols=["name", "type", "beds"], lang="zh")
    text = _decoded(maps.finish(m, tmp_path / "p.html").read_text(encoding="utf-8"))
    assert "名称</th><td>social_work</td>" in text  # free text is not translated
    assert "类型</th><td>社工站</td>" in text  # category keys are
    assert "床位</th><td>40</td>" in text and "床位</th><td></td>" in text


# --------------------------------------------------------------------------- suggested sites, markers, shared legend


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"rank": [1, 2, 3], "gain": [1520.0, 730.5, 12.0], "name": ["社区中心", XSS, "`${alert(5)}`"],
         "type": ["social_work", "elder_care_centre", "social_work"]},
        geometry=[Point(116.392, 39.91), Point(116.402, 39.912), Point(116.386, 39.905)],
        crs=4326,
    )


def _script_of(text: str, var: str) -> int:
    """Position where the page defines a Leaflet variable."""
    return text.index(f"var {var} = ")


def test_suggested_sites_rank_gain_and_escaping(tmp_path, sites):
    m = maps.base_map(sites)
    g = maps.add_suggested_sites(m, sites, name="建议新址", popup_cols=["name", "type"],
                                 category_col="type")
    text = maps.finish(m, tmp_path / "s.html").read_text(encoding="utf-8")
    strings = _decoded(text)
    assert "建议新址" in strings and text.count("L.featureGroup(") == 1
    assert text.count("L.marker(") == 1 and '"lat": 39.91' in text  # one loop over the sites' JSON
    # rank on the marker, rank and gain first in the popup, labels in Chinese
    gain = label("gain", "zh")  # the label table's wording
    assert "排序</th><td>1</td>" in strings and f"{gain}</th><td>1,520</td>" in strings
    assert f"{gain}</th><td>730.5</td>" in strings
    assert "类型</th><td>社工站</td>" in strings
    assert f"排序 2 · {gain} 730.5" in strings  # default tooltip
    # user text escaped, and carried as JSON (never inside a JS template literal)
    assert XSS not in text and XSS not in strings
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in strings
    lines = [ln.strip() for ln in text.splitlines() if "${alert(5)}" in ln]
    assert lines and all(ln.startswith("var sites = [{") for ln in lines)
    # legend of the categories, tied to the layer
    assert "社工站" in strings and "综合养老服务中心" in strings
    assert g.get_name() in text[text.index("geoplan-legend"):]


def test_suggested_sites_on_amap_are_shifted(tmp_path, sites):
    m = maps.base_map(sites, basemap="amap")
    maps.add_suggested_sites(m, sites.to_crs(32650), name="x", gain_col=None, tooltip_col="name")
    text = _decoded(maps.finish(m, tmp_path / "a.html").read_text(encoding="utf-8"))
    lon = float(re.search(r'"lon": ([0-9.]+)', text).group(1))
    assert 0.004 < lon - 116.392 < 0.008  # GCJ-02 shift of a few hundred metres
    assert '"tooltip": "&lt;script&gt;alert(1)&lt;/script&gt;"' in text
    with pytest.raises(InputError):
        maps.add_suggested_sites(m, sites, name="x", rank_col="order")


def test_markers_by_status(tmp_path, sites):
    markers = sites.assign(marker_code=["430302-430304-1-001Q", XSS, "c"],
                           status=["missing", "proposed", "found"])
    m = maps.base_map(markers)
    maps.add_markers_by_status(m, markers, name="界桩", popup_cols=["marker_code", "status"],
                               tooltip_col="marker_code")
    text = maps.finish(m, tmp_path / "b.html").read_text(encoding="utf-8")
    strings = _decoded(text)
    assert "界桩" in strings and XSS not in strings
    # legend in the fixed status order, Chinese labels, status colours
    legend = strings[strings.index("geoplan-legend"):]
    pos = [legend.index(w) for w in ("拟设（未实测）", "完好", "缺失")]
    assert pos == sorted(pos)
    for status in ("proposed", "found", "missing"):
        assert maps.STATUS_COLORS[status] in text
    assert "<td>缺失</td>" in strings  # the popup shows the label, not the key
    m = maps.base_map(markers, lang="en")
    maps.add_markers_by_status(m, markers.assign(status=["moved", "lost", None]), name="Markers")
    strings = _decoded(maps.finish(m, tmp_path / "e.html").read_text(encoding="utf-8"))
    assert "Moved" in strings and "lost" in strings and "No data" in strings


def test_choropleths_share_one_legend(tmp_path, units):
    m = maps.base_map(units)
    bins = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    a = maps.add_choropleth(m, units, value_col="share_pop_covered", name="甲", bins=bins,
                            legend_title="覆盖率（各类设施）")
    b = maps.add_choropleth(m, units.assign(share_pop_covered=[0.1, 0.5, 0.95]),
                            value_col="share_pop_covered", name="乙", legend=a, show=False,
                            colormap="Reds", bins=3)  # classes come from a: bins/colormap unused
    c = maps.add_choropleth(m, units, value_col="share_pop_covered", name="丙", legend=False)
    text = maps.finish(m, tmp_path / "l.html").read_text(encoding="utf-8")
    strings = _decoded(text)
    assert strings.count("geoplan-legend") == 1
    assert "覆盖率（各类设施）" in strings and "80% – 100%" in strings
    # the one legend follows both layers, and is defined after both of them
    legend_at = text.index('L.DomUtil.create("div", "geoplan-legend")')
    for g in (a, b):
        assert _script_of(text, g.get_name()) < legend_at
    layers_line = re.search(r"var layers = \[([^\]]*)\];", text[legend_at:]).group(1)
    assert layers_line == f"{a.get_name()}, {b.get_name()}"
    assert c.get_name() not in layers_line
    # same class colours on both layers
    fills_a = _map_legend._class_colors(5, "YlGn")
    assert all(col in text for col in fills_a)
    with pytest.raises(InputError):
        maps.add_choropleth(m, units, value_col="share_pop_covered", name="x", legend=c.__class__())
    with pytest.raises(InputError):
        maps.add_choropleth(m, units, value_col="share_pop_covered", name="x", legend="yes")


@pytest.mark.parametrize("kind", ["no rows", "empty and missing geometries"])
def test_layers_with_nothing_to_draw(tmp_path, units, kind):
    """A layer may have nothing to draw (every point covered, no unit with geometry): the page is still written."""
    from shapely.geometry import Polygon

    empty = gpd.GeoDataFrame({"unit_name": ["x", "y"], "v": [0.1, 0.2], "name": ["p", "q"]},
                             geometry=[Polygon(), None], crs=4326)
    if kind == "no rows":
        empty = empty.iloc[:0]
    m = maps.base_map(units, basemap="osm")
    maps.add_polygons(m, empty, name="面", popup_cols=["name"], tooltip_col="name")
    maps.add_points(m, empty.iloc[:0], name="点")
    maps.add_choropleth(m, empty, value_col="v", name="分级")
    page = maps.finish(m, tmp_path / "map.html").read_text(encoding="utf-8")
    assert page.count('"type": "FeatureCollection"') >= 3 and '"coordinates"' not in page.split("</style>")[-1]
