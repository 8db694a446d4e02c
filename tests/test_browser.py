"""Open generated maps and reports in headless Chromium: no JavaScript errors, layers present.

Skipped unless Chromium is installed (Debian packages ``chromium`` and
``chromium-driver``; ``.ci/run`` installs them).  Screenshots go to
``tests/_artifacts/`` (not committed).

How errors are caught: the page is copied with a small script injected at the
top of ``<head>`` that records ``window.onerror`` errors, failed ``<script>``
loads and unhandled promise rejections; after ``load`` it writes them, with
facts about the Leaflet map, as JSON into a ``<pre>`` that ``--dump-dom``
prints.  Tile images that fail to load (no network) are not JavaScript errors
and are ignored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "_artifacts"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")

_HARNESS_HEAD = """<script>
window.__geoplanErrors = [];
window.addEventListener("error", function (e) {
  var t = e.target;
  if (t && t !== window && t.tagName) {  // resource errors: only scripts count
    if (t.tagName === "SCRIPT") window.__geoplanErrors.push("script failed to load: " + t.src);
    return;
  }
  window.__geoplanErrors.push(String(e.message) + " @" + e.filename + ":" + e.lineno);
}, true);
window.addEventListener("unhandledrejection", function (e) {
  window.__geoplanErrors.push("unhandled rejection: " + e.reason);
});
(function () {
  var orig = console.error;
  console.error = function () {
    window.__geoplanErrors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return orig.apply(console, arguments);
  };
})();
</script>"""

_HARNESS_TAIL = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var info = {errors: window.__geoplanErrors, leaflet: typeof L};
  try {
    var maps = Object.keys(window).filter(function (k) {
      return k.indexOf("map_") === 0 && typeof L !== "undefined" && window[k] instanceof L.Map;
    });
    info.maps = maps.length;
    info.overlays = Array.prototype.map.call(
      document.querySelectorAll(".leaflet-control-layers-overlays label"),
      function (l) { return l.textContent.trim(); });
    info.baselayers = Array.prototype.map.call(
      document.querySelectorAll(".leaflet-control-layers-base label"),
      function (l) { return l.textContent.trim(); });
    info.features = document.querySelectorAll(".leaflet-interactive").length;
    info.legends = Array.prototype.map.call(document.querySelectorAll(".geoplan-legend"),
      function (d) { return d.textContent; });
    if (window.__geoplanOpenPopup && maps.length) {
      var m = window[maps[0]], done = false;
      m.eachLayer(function (l) {
        if (!done && l instanceof L.CircleMarker) {  // a click, as a person would do
          l.fire("click", {latlng: l.getLatLng()}, true); done = true;
        }
      });
    }
    info.popupText = Array.prototype.map.call(document.querySelectorAll(".leaflet-popup-content"),
      function (d) { return d.textContent; });
    info.scriptsInPopups = document.querySelectorAll(".leaflet-popup-content script").length;
    info.tables = document.querySelectorAll("table").length;
    info.tiles = Array.prototype.map.call(document.querySelectorAll("img.leaflet-tile"),
      function (i) { return i.getAttribute("src"); }).slice(0, 4);
    info.address = window.location.href;
    info.keyPrompt = document.querySelectorAll(".geoplan-tk").length;
    info.images = Array.prototype.map.call(document.querySelectorAll("img:not(.leaflet-tile)"),
      function (i) { return i.naturalWidth; });
  } catch (e) { info.errors.push("harness: " + e); }
  var pre = document.createElement("pre");
  pre.id = "__geoplan_result";
  pre.textContent = JSON.stringify(info);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _chromium_args(user_dir: Path) -> list[str]:
    return [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
        # No network: every host name fails at once, so tiles fail fast and nothing leaves.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
        f"--user-data-dir={user_dir}", "--virtual-time-budget=5000",
    ]


def check_page(page: Path, tmp_path: Path, *, screenshot: str | None = None,
               open_popup: bool = False, fragment: str = "") -> dict:
    """Open ``page`` in headless Chromium; return what the harness saw.

    ``open_popup`` clicks the first circle marker so that ``popupText`` holds
    what its popup shows.  ``screenshot`` saves
    ``tests/_artifacts/<screenshot>.png`` of the unmodified page.
    """
    text = page.read_text(encoding="utf-8")
    head = _HARNESS_HEAD + ("<script>window.__geoplanOpenPopup = true;</script>"
                            if open_popup else "")
    probed = re.sub(r"<head>", lambda _: "<head>" + head, text, count=1)
    probed = probed.replace("</body>", _HARNESS_TAIL + "</body>", 1)
    probe = page.with_name(page.stem + "__probe.html")
    probe.write_text(probed, encoding="utf-8")
    run = subprocess.run(
        _chromium_args(tmp_path / "chromium-profile") + ["--dump-dom", probe.as_uri() + fragment],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="__geoplan_result">(.*?)</pre>', run.stdout, re.S)
    assert found, f"no harness result; chromium rc={run.returncode}\n{run.stderr[-2000:]}"
    import html as _html

    info = json.loads(_html.unescape(found.group(1)))
    if screenshot:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{screenshot}.png"
        target = page  # the page as delivered (popups closed, nothing injected)
        subprocess.run(
            _chromium_args(tmp_path / "chromium-profile")
            + ["--window-size=1200,850", f"--screenshot={shot}", target.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
        assert shot.exists() and shot.stat().st_size > 1000
        info["screenshot"] = str(shot)
    return info


# --------------------------------------------------------------------------- pages


@pytest.fixture(scope="module")
def layers():
    units = gpd.GeoDataFrame(
        {"unit_name": ["雨湖路街道", "<script>alert(1)</script>", "姜畲镇"],
         "unit_code": ["430302001", "430302002", "430321100"],
         "share_pop_covered": [0.85, np.nan, 0.3]},
        geometry=[box(116.385, 39.900, 116.395, 39.915), box(116.395, 39.900, 116.405, 39.915),
                  box(116.405, 39.900, 116.415, 39.915)],
        crs=4326,
    )
    fac = gpd.GeoDataFrame(
        {"name": ["雨湖区综合养老服务中心", "<img src=x onerror=alert(2)>", "社工站"],
         "facility_type": ["elder_care_centre", "minor_protection", "social_work"],
         "beds": [40, None, 0]},
        geometry=[Point(116.3974, 39.9092), Point(116.40, 39.905), Point(116.41, 39.912)],
        crs=4326,
    )
    return units, fac


def _map(tmp_path: Path, layers, basemap: str) -> Path:
    from geoplan.outputs import maps

    units, fac = layers
    m = maps.base_map(units, basemap=basemap)
    maps.add_choropleth(m, units, value_col="share_pop_covered", name="人口覆盖率",
                        tooltip_col="unit_name")
    maps.add_polygons(m, units.boundary.to_frame("geometry").assign(unit_name=units.unit_name),
                      name="界线", style={"color": "#553c9a", "weight": 3})
    maps.add_points(m, fac, name="设施", category_col="facility_type",
                    popup_cols=["name", "facility_type", "beds"], tooltip_col="name", radius=9)
    return maps.finish(m, tmp_path / f"map_{basemap}.html")


@needs_chromium
@pytest.mark.parametrize("basemap", ["osm", "amap", "tianditu"])
def test_map_in_browser(tmp_path, layers, basemap):
    page = _map(tmp_path, layers, basemap)
    info = check_page(page, tmp_path, screenshot=f"map_{basemap}", open_popup=True)
    assert info["errors"] == []
    assert info["leaflet"] == "object" and info["maps"] == 1
    assert info["overlays"][-3:] == ["人口覆盖率", "界线", "设施"]
    assert len(info["baselayers"]) == 1
    assert info["features"] >= 3 + 3 + 3  # units, boundary lines, facility markers
    assert len(info["legends"]) == 2 and "综合养老服务中心" in "".join(info["legends"])
    assert "无数据" in "".join(info["legends"])
    # the popup shows the escaped name as text, and no script got into the page
    assert info["scriptsInPopups"] == 0


@needs_chromium
def test_tianditu_key_given_at_view_time(tmp_path, layers):
    """The key travels in the address fragment, fills the tile URLs, and leaves the address."""
    from geoplan.outputs import maps

    page = _map(tmp_path, layers, "tianditu")
    assert "viewkey123" not in page.read_text(encoding="utf-8")
    info = check_page(page, tmp_path, fragment="#tk=viewkey123")
    assert info["errors"] == []
    assert info["keyPrompt"] == 0
    assert info["tiles"] and all("tk=viewkey123" in t for t in info["tiles"])
    assert "viewkey123" not in info["address"]
    assert maps.viewer_url(page, tianditu_key="viewkey123").endswith("#tk=viewkey123")
    # without a key in the address or storage (fresh profile): the prompt is shown
    info = check_page(page, tmp_path / "fresh")
    assert info["keyPrompt"] == 1 and info["errors"] == []


@needs_chromium
def test_legend_follows_its_layer(tmp_path, layers):
    from geoplan.outputs import maps

    units, fac = layers
    m = maps.base_map(units)
    maps.add_choropleth(m, units, value_col="share_pop_covered", name="甲", legend_title="甲图例")
    maps.add_choropleth(m, units, value_col="share_pop_covered", name="乙", legend_title="乙图例",
                        show=False)
    maps.add_legend(m, {"总是显示": "#000000"}, title="固定图例")
    info = check_page(maps.finish(m, tmp_path / "legend.html"), tmp_path)
    assert info["errors"] == []
    shown = "".join(info["legends"])
    assert "甲图例" in shown and "固定图例" in shown and "乙图例" not in shown


@needs_chromium
def test_popup_shows_markup_as_text(tmp_path, layers):
    from geoplan.outputs import maps

    units, fac = layers
    m = maps.base_map(units)
    maps.add_points(m, fac.iloc[[1]], name="x", popup_cols=["name"])
    info = check_page(maps.finish(m, tmp_path / "xss.html"), tmp_path, open_popup=True)
    assert info["errors"] == []
    assert any("<img src=x onerror=alert(2)>" in t for t in info["popupText"])


@needs_chromium
def test_report_in_browser(tmp_path):
    from geoplan.outputs.figures import coverage_by_unit
    from geoplan.outputs import Section, write_report

    df = pd.DataFrame({"unit_name": ["雨湖路街道", "城正街街道", "<script>alert(3)</script>"],
                       "unit_code": ["430302001", "430302002", "430302003"],
                       "pop": [12000, 8000, 500],
                       "share_pop_covered": [0.9, 0.55, 0.7], "target": [0.8, 0.8, 0.6],
                       "passed": [True, False, True]})
    png = coverage_by_unit(df, value="share_pop_covered", target="target",
                           label_col="unit_name")
    paths = write_report(tmp_path, title="湘潭市民政服务设施覆盖评估（演示）", sections=[
        Section("概况", text="本报告用于测试浏览器显示。<script>alert(4)</script>"),
        Section("各街道人口覆盖率", table=df, figure=png),
    ])
    info = check_page(paths["html"], tmp_path, screenshot="report")
    assert info["errors"] == []
    assert info["tables"] == 1
    assert info["images"] and all(w > 100 for w in info["images"])


@needs_chromium
def test_harness_catches_errors(tmp_path):
    """The checker itself: a page with a JavaScript error must be reported."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    "<img src='http://127.0.0.1:9/tile.png'>"
                    "<script>undefinedFunction();</script></body></html>", encoding="utf-8")
    info = check_page(page, tmp_path)
    assert len(info["errors"]) == 1 and "undefinedFunction" in info["errors"][0]


# --------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module", params=["osm", "amap"])
def demo_output(request, tmp_path_factory):
    """``geoplan demo`` run through its CLI, once per basemap."""
    if CHROMIUM is None:
        pytest.skip("Chromium not installed")
    from click.testing import CliRunner

    from geoplan.cli import main

    out = tmp_path_factory.mktemp(f"demo_{request.param}") / "out"
    res = CliRunner().invoke(main, ["demo", "-o", str(out), "--basemap", request.param])
    assert res.exit_code == 0, res.output
    return request.param, out


@needs_chromium
@pytest.mark.slow
def test_demo_map_and_report_in_browser(demo_output, tmp_path):
    basemap, out = demo_output
    info = check_page(out / "map.html", tmp_path, screenshot=f"demo_map_{basemap}",
                      open_popup=True)
    assert info["errors"] == []
    assert info["leaflet"] == "object" and info["maps"] == 1
    assert len(info["overlays"]) >= 4 and info["features"] > 10
    assert info["legends"], "no legend shown"
    assert info["scriptsInPopups"] == 0
    rep = check_page(out / "report.html", tmp_path, screenshot=f"demo_report_{basemap}")
    assert rep["errors"] == []
    assert rep["tables"] >= 1
    assert all(w > 100 for w in rep["images"])
