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
also shifted WGS-84 → GCJ-02 (:func:`geoplan.io.geometry_from_wgs84`) so
features sit on the right street; OpenStreetMap and Tianditu (CGCS2000 ≈
WGS-84) need no shift.  Give WGS-84/CGCS2000 data (convert Amap/Baidu source
data to WGS-84 on input, as :mod:`geoplan.io` does).

Escaping.  Every text from user data (popups, tooltips, layer names, legend
entries) is HTML-escaped in Python before it reaches the page, so a name such
as ``<script>alert(1)</script>`` shows as text.  Only the properties needed for
display go into the page's GeoJSON, and coordinates are rounded to 6 decimals
(:data:`COORD_DECIMALS`, about 0.1 m).

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

The building blocks live in private modules: ``_map_base`` (tiles, datums, :func:`base_map`,
:func:`add_title`, popups, rounded GeoJSON), ``_map_layers`` (points, polygons, status markers,
suggested sites), ``_map_legend`` (choropleths, legends) and ``_map_demand`` (layers that share one
GeoJSON held once in the page: demand points per type, demand summed in grid cells, units per type);
:func:`finish` (one self-contained HTML file) is here.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import os
import re
import tempfile
from pathlib import Path

import folium

from geoplan._errors import GeoplanError
from geoplan._output import check_new_file

log = logging.getLogger("geoplan")

# The public surface of the web maps, built in three private modules: the base (tiles, datums,
# Tianditu key, popups), classes and legends, and the layers; finishing the page is below.
from geoplan.outputs._map_base import (  # noqa: F401 - tile and datum constants stay readable as maps.X
    AMAP_TILES, BASEMAP_DATUM, CATEGORY_COLORS, LEAFLET_CSS_CDN, LEAFLET_JS_CDN, TIANDITU_CVA, TIANDITU_VEC,
    COORD_DECIMALS, POPUP_CSS, _FONT_STACK, add_title, base_map, map_datum, round_coords, to_map_datum, viewer_url,
)
from geoplan.outputs._map_base import stable_ids
from geoplan.outputs._map_layers import (
    STATUS_COLORS, STATUS_LABELS, add_markers_by_status, add_points, add_polygons, add_suggested_sites,
)
from geoplan.outputs._map_legend import add_choropleth, add_legend


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
    ".leaflet-tooltip,.leaflet-popup-content{font-family:%s}%s</style>" % (_FONT_STACK, _FONT_STACK, POPUP_CSS)
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
    text = stable_ids(m.get_root().render(), m.get_root())  # numbered element ids: the same map, the same file
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
    "add_title",
    "add_points",
    "add_polygons",
    "add_choropleth",
    "add_legend",
    "add_suggested_sites",
    "add_markers_by_status",
    "finish",
    "viewer_url",
    "map_datum",
    "round_coords",
    "COORD_DECIMALS",
    "to_map_datum",
    "CATEGORY_COLORS",
    "STATUS_COLORS",
    "STATUS_LABELS",
]
