"""Print-ready coverage maps: one page per facility type, A4/A3 landscape, PNG (300 dpi) and PDF.

Each page shows, in a projected (metre) CRS, the admin units coloured by whether
they meet the type's target (a facility in the unit when the target counts
units, the covered share of the weighted people against the people target
otherwise), the type's service area, its facilities (by ``status`` when the
facility table has one) and the demand left uncovered (points, or a hexagon
grid summing the weight when there are more than :data:`MAX_POINTS`, so a
million points render in seconds, summed once per type for all paper sizes).  Units are labelled
with their name and covered share, failing units first, leaving out a label that would print over one
already placed (the page notes how many: :mod:`geoplan.outputs._print_labels`).
Every page has a title, a legend, a scale bar in metres, a north arrow and a source note.  No tile
server is needed.

Chinese labels use the CJK font the charts use (:func:`geoplan.outputs.figures.find_cjk_font`;
the PyPI package ``noto-cjk-sans-otc`` when no system font has Chinese).  PDFs
embed their fonts as TrueType subsets (``pdf.fonttype`` 42) with a
``ToUnicode`` map, so the text can be searched and copied.
"""

from __future__ import annotations

import functools
import io
import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.outputs._i18n import check_lang, label, mode_of, pick, type_caption
from geoplan.outputs._print_labels import crs_caption, fitting, label_spots, omitted_note
from geoplan.outputs._print_cells import draw_classes
from geoplan.outputs import figures
from geoplan.outputs._report import Section

#: Landscape paper sizes in millimetres (width, height), ISO 216.
PAPER_MM: dict[str, tuple[int, int]] = {"A4": (297, 210), "A3": (420, 297)}

#: Above this many uncovered demand points the map draws a hexagon grid instead of points.
MAX_POINTS = 5000

_PASS, _FAIL, _NONE = "#9ae6b4", "#fbb67a", "#e2e8f0"
_SERVICE = "#90cdf4"
_UNCOVERED = "#c53030"
_FACILITY_MARKERS = ("o", "s", "^", "D", "v", "P")
_FACILITY_COLORS = ("#1a365d", "#805ad5", "#2c7a7b", "#975a16", "#702459", "#2d3748")

_T = {
    "title": ("{name}覆盖情况图", "Coverage of {name}"),
    "pass_units": ("达标单位（已建设施）", "Units passing (have a facility)"),
    "fail_units": ("未达标单位（未建设施）", "Units not passing (no facility)"),
    "pass_people": ("达标单位（覆盖率 ≥ {t}）", "Units passing (covered ≥ {t})"),
    "fail_people": ("未达标单位（覆盖率 < {t}）", "Units not passing (covered < {t})"),
    "no_target": ("单位（无目标）", "Units (no target)"),
    "service": ("服务范围（{caption}）", "Service area ({caption})"),
    "facilities": ("{name}（{n} 处）", "{name} ({n})"),
    "uncovered": ("未覆盖需求点（{n} 个，{people}）", "Uncovered demand points ({n}; {people})"),
    "uncovered_hex": ("未覆盖{w}（每格合计）", "Uncovered {w} (sum per cell)"),
    "people": ("{v:,} 名{w}", "{w} {v:,}"),
    "legend": ("图例", "Legend"),
    "north": ("北", "N"),
    "m": ("米", "m"),
    "km": ("千米", "km"),
    "osm": ("路网与设施数据：© OpenStreetMap 贡献者（ODbL 1.0）", "Roads and facilities: © OpenStreetMap contributors (ODbL 1.0)"),
    "crs": ("投影：{crs}；距离按路网出行时间计算", "Projection: {crs}; reach measured as network travel time"),
    "made": ("制图：geoplan", "Made with geoplan"),
    "subtitle": ("单位标注为{w}覆盖率", "Units labelled with the share of {w} covered"),
    "subtitle_presence": ("单位按是否已有该类设施着色", "Units coloured by whether they have such a facility"),
    "crs_presence": ("投影：{crs}", "Projection: {crs}"),
}

_t = functools.partial(pick, _T)


def paper_pixels(size: str, dpi: int) -> tuple[int, int]:
    """Pixel size (width, height) of a landscape page: millimetres / 25.4 × dpi, rounded.

    Parameters
    ----------
    size
        ``"A4"`` or ``"A3"``.
    dpi
        Dots per inch.

    Returns
    -------
    tuple of int
        Width and height in pixels (A4 at 300 dpi: 3508 × 2480).
    """
    if size not in PAPER_MM:
        raise InputError(f"paper size must be one of {sorted(PAPER_MM)}, got {size!r}", field="sizes")
    w, h = PAPER_MM[size]
    return round(w / 25.4 * dpi), round(h / 25.4 * dpi)


def _projected(result):
    """The CRS to draw in: the service areas' (the network's, metres), else the units' UTM zone."""
    from geoplan.io._crs import ensure_projected

    from geoplan.outputs._coverage_map import map_units

    crs = getattr(result.service_areas_by_type, "crs", None)
    if crs is not None and crs.is_projected:
        return crs
    drawn = map_units(result.units)
    layer = drawn if drawn is not None else result.demand
    return ensure_projected(layer).crs


def _has_geometry(frame) -> bool:
    import geopandas as gpd

    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame and frame.crs is not None


def _units_of(result, key: str, crs):
    """The type's unit rows in ``crs``; an empty layer when the result has no unit polygons."""
    import geopandas as gpd

    from geoplan.outputs._coverage_map import map_units

    ft = result.catalogue[key]
    # one level: the type's own when its units have shapes (村 for 互助养老), else the township level
    drawn = map_units(result.units, getattr(ft, "level", None)) if "type" in result.units else None
    if drawn is None:
        return gpd.GeoDataFrame({"has_facility": []}, geometry=[], crs=crs)
    return drawn[drawn["type"] == key].to_crs(crs)


def _wrap(text: str, width: int, lang: str) -> str:
    """Break a legend label into lines of at most ``width`` display cells (a CJK character is two).

    Breaks fall after a comma or semicolon and before an opening bracket; in English also at spaces.
    """
    from geoplan.outputs._report import display_width

    pattern = r"(?<=[，；;])|(?<=,\s)|(?=[（(])" + (r"|(?<=\s)" if lang == "en" else "")
    lines, line = [], ""
    for word in re.split(pattern, text):
        if line and display_width(line + word) > width:
            lines.append(line.rstrip())
            line = ""
        line += word
    return "\n".join(lines + [line.rstrip()])


def _unit_status(units: pd.DataFrame, ft) -> tuple[pd.Series, str]:
    """Per unit: True/False (passes) or NA (no target), and which kind of target decided it."""
    share_col = f"share_{ft.weight}_covered"
    if ft.unit_targets:
        has = units["has_facility"].astype(bool)
        if "unit_kind" in units:  # a kind the targets do not count (社区 for 农村互助养老): no target
            judged = [ft.unit_target(None if pd.isna(k) or k == "any" else k) is not None or not hasattr(ft, "unit_target")
                      for k in units["unit_kind"]]
            return has.astype(object).where(judged, pd.NA), "units"
        return has, "units"
    if ft.people_target is not None and share_col in units:
        share = pd.to_numeric(units[share_col], errors="coerce")
        return (share >= float(ft.people_target)).where(share.notna()), "people"
    return pd.Series(pd.NA, index=units.index, dtype=object), "none"


def _source_note(result, lang: str, crs, extra: str | None) -> str:
    """The note under the map: data licences found in the result, the projection, the maker."""
    parts = []
    sources = [str((rep or {}).get("source", "")) for rep in
               (getattr(result, "network_reports", None) or {None: result.network_report}).values()]
    osm_ids = result.facilities["id"].astype(str).str.startswith("osm:").any() if "id" in result.facilities else False
    if osm_ids or any(s.lower().endswith((".pbf", ".osm", ".osm.bz2", ".osm.xml")) for s in sources):
        parts.append(_t("osm", lang))
    if extra:
        parts.append(extra)
    presence = getattr(result, "demand", None) is None
    parts.append(_t("crs_presence" if presence else "crs", lang, crs=crs_caption(crs, lang)))
    parts.append(_t("made", lang))
    return ("；" if lang == "zh" else "; ").join(parts)


def _nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) near a fifth of the map width."""
    target = max(span_m / 5.0, 1.0)
    k = 10 ** math.floor(math.log10(target))
    return max((m * k for m in (1, 2, 5) if m * k <= target), default=k)


def _scale_bar(ax, lang: str) -> None:
    """Two-segment black/white bar in map metres at the lower left, labelled 0 and its length."""
    import matplotlib
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    left, bottom, h = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0), 0.012 * (y1 - y0)
    # a white box under the bar and its labels, so they stay readable over what lies beneath
    ax.add_patch(Rectangle((left - 0.02 * (x1 - x0), bottom - 0.025 * (y1 - y0)), length + 0.05 * (x1 - x0),
                           0.085 * (y1 - y0), facecolor="#fafafa", edgecolor="#a0aec0", linewidth=0.6, alpha=0.9,
                           zorder=9))
    for i, color in enumerate(("black", "white")):
        ax.add_patch(Rectangle((left + i * length / 2, bottom), length / 2, h, facecolor=color,
                               edgecolor="black", linewidth=0.8, zorder=10))
    km = length >= 1000
    unit = _t("km" if km else "m", lang)
    fontsize = matplotlib.rcParams["font.size"]
    ax.text(left, bottom + 1.8 * h, "0", ha="center", va="bottom", fontsize=fontsize, zorder=10)
    ax.text(left + length, bottom + 1.8 * h, f"{length / (1000 if km else 1):g} {unit}", ha="center",
            va="bottom", fontsize=fontsize, zorder=10)


def _fill_box(xmin: float, ymin: float, xmax: float, ymax: float, ratio: float) -> tuple:
    """Widen the shorter side of the extent, centred, so its width/height is ``ratio`` (the map frame's):
    with equal axes the frame then keeps its size instead of shrinking to the area's shape."""
    w, h = xmax - xmin, ymax - ymin
    if w < ratio * h:
        extra = (ratio * h - w) / 2
        return xmin - extra, ymin, xmax + extra, ymax
    extra = (w / ratio - h) / 2
    return xmin, ymin - extra, xmax, ymax + extra


def _north_arrow(ax, lang: str) -> None:
    """An arrow pointing up (grid north of the projected CRS, within a degree of true north in a UTM zone),
    on a white box so it stays readable over units and points."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((0.925, 0.845), 0.05, 0.145, boxstyle="round,pad=0.005", transform=ax.transAxes,
                                facecolor="#fafafa", edgecolor="#a0aec0", linewidth=0.6, alpha=0.9, zorder=9))
    ax.annotate("", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                arrowprops=dict(facecolor="black", edgecolor="black", width=4, headwidth=12, headlength=12), zorder=10)
    ax.text(0.95, 0.965, _t("north", lang), transform=ax.transAxes, ha="center", va="bottom",
            fontsize=13, zorder=10)


def _demand_xy(result, crs) -> tuple | None:
    """The demand points' coordinates in ``crs``, projected once for every type (no new geometries)."""
    from pyproj import Transformer

    dem = result.demand
    if dem is None:
        return None
    x, y = dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy()
    if dem.crs is not None and dem.crs != crs:  # always_xy: as geopandas' to_crs
        x, y = Transformer.from_crs(dem.crs, crs, always_xy=True).transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _uncovered(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict | None:
    """A type's uncovered demand for every paper size: the points (at most :data:`MAX_POINTS`) or the
    hexagon cells summing their weight, so a page costs the same however many points there are."""
    if not len(x):
        return None
    out = {"n": len(x), "people": int(round(float(w.sum())))}
    if len(x) <= MAX_POINTS:
        return {**out, "x": x, "y": y, "w": w}
    from matplotlib.figure import Figure

    # one extent for the aggregation and every page, widened when the points lie on a line
    extent = [float(x.min()), float(x.max()), float(y.min()), float(y.max())]
    for i in (0, 2):
        if extent[i + 1] - extent[i] < 1.0:
            extent[i], extent[i + 1] = extent[i] - 1.0, extent[i + 1] + 1.0
    cells = Figure().add_subplot().hexbin(x, y, C=w, reduce_C_function=np.sum, gridsize=60, mincnt=1,
                                          extent=extent)
    centres = np.asarray(cells.get_offsets(), dtype=float)
    return {**out, "hex": (centres[:, 0], centres[:, 1], np.asarray(cells.get_array(), dtype=float), extent)}


def _draw_uncovered(ax, unc: dict | None, weight: str, lang: str, handles: list) -> None:
    """Uncovered demand as dots sized by weight, or as a hexagon grid of summed weight when there are many."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if unc is None:
        return
    if "hex" in unc:
        # each cell centre carries its cell's sum: binned again with the same extent it lands in its own cell
        cx, cy, sums, extent = unc["hex"]
        cells = ax.hexbin(cx, cy, C=sums, reduce_C_function=np.sum, gridsize=60, extent=extent, mincnt=1,
                          linewidths=0, zorder=4)
        handles.append(Patch(facecolor="none", edgecolor="none", label=_t("uncovered_hex", lang, w=label(weight, lang))))
        handles += [Patch(facecolor=c, alpha=0.85, label=text) for c, text in draw_classes(ax, cells)]
        return
    w = unc["w"]
    size = 4 + 36 * np.sqrt(w / w.max()) if w.max() > 0 else np.full(len(w), 6.0)
    ax.scatter(unc["x"], unc["y"], s=size, color=_UNCOVERED, alpha=0.75, linewidths=0, zorder=4)
    handles.append(Line2D([], [], marker="o", linestyle="none", color=_UNCOVERED, markersize=5,
                          label=_t("uncovered", lang, n=unc["n"],
                                   people=_t("people", lang, v=unc["people"], w=label(weight, lang)))))


def _draw_facilities(ax, fac, ft, lang: str, handles: list) -> None:
    """The type's facilities; one marker per ``status`` value when the table has that column."""
    from matplotlib.lines import Line2D

    groups = [(None, fac)] if "status" not in fac or not len(fac) else list(fac.groupby("status", sort=True))
    for i, (status, part) in enumerate(groups):
        marker, color = _FACILITY_MARKERS[i % len(_FACILITY_MARKERS)], _FACILITY_COLORS[i % len(_FACILITY_COLORS)]
        ax.scatter(part.geometry.x, part.geometry.y, marker=marker, s=70, color=color, edgecolors="white",
                   linewidths=1.2, zorder=6)
        name = ft.name(lang) if status is None else f"{ft.name(lang)}·{label(str(status), lang)}"
        handles.append(Line2D([], [], marker=marker, linestyle="none", color=color, markeredgecolor="white",
                              markersize=8, label=_t("facilities", lang, name=name, n=len(part))))


def _layers(result, key: str, xy: tuple | None = None) -> dict:
    """What the pages of ``key`` draw, in the drawing CRS: computed once and shared by every paper size
    (``xy``: the demand's coordinates from :func:`_demand_xy`, shared by every type)."""
    ft = result.catalogue[key]
    crs = _projected(result)
    units = _units_of(result, key, crs)
    status, kind = _unit_status(units, ft)
    sa = result.service_areas_by_type
    sa = sa[sa["type"] == key].to_crs(crs) if sa is not None and len(sa) else None
    dem, col = result.demand, f"{key}_covered"  # demand is None in a presence-only result
    unc = None
    if dem is not None:
        x, y = xy if xy is not None else _demand_xy(result, crs)
        miss = ~dem[col].fillna(False).astype(bool).to_numpy() if col in dem else np.zeros(len(dem), dtype=bool)
        w = (pd.to_numeric(dem[ft.weight][miss], errors="coerce").fillna(0).to_numpy(dtype=float)
             if ft.weight in dem else np.ones(int(miss.sum())))
        unc = _uncovered(x[miss], y[miss], w)
    fac = result.facilities if _has_geometry(result.facilities) else None  # a table of codes has no places
    if fac is not None:
        fac = fac[(fac["type"] == key).to_numpy() & fac.geometry.notna().to_numpy()].to_crs(crs)
    spots = label_spots(units, ft, status)  # in priority order: failing units first
    bounds = (units if len(units) else dem.to_crs(crs)).total_bounds
    return {"ft": ft, "crs": crs, "units": units, "status": status, "kind": kind, "sa": sa, "unc": unc,
            "fac": fac, "labels": spots, "bounds": bounds, "presence": dem is None}


def map_figure(result, key: str, *, lang: str = "zh", size: str = "A4", title: str | None = None,
               source_note: str | None = None, _prepared: dict | None = None):
    """The print map of one facility type as a matplotlib Figure (no pyplot, Agg canvas attached).

    Parameters
    ----------
    result
        A :class:`geoplan.coverage.CoverageResult`.
    key
        Facility type key (one of ``result.catalogue.keys``).
    lang
        ``"zh"`` (default) or ``"en"``; ``"zh"`` without any CJK font falls back to English.
    size
        ``"A4"`` or ``"A3"`` (landscape).
    title
        Page title (default "<type name>覆盖情况图").
    source_note
        Extra text for the source note (e.g. the census the people come from).

    Returns
    -------
    matplotlib.figure.Figure
        The page; ``fig.legends[0]`` is its legend.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from geoplan.outputs.figures import _rc, chart_lang

    if key not in result.catalogue.keys:
        raise InputError(f"facility type {key!r} not in the result; types: {list(result.catalogue.keys)}", field="type")
    lang = chart_lang(lang)
    lay = _prepared if _prepared is not None else _layers(result, key)
    ft, crs, units, status, kind = lay["ft"], lay["crs"], lay["units"], lay["status"], lay["kind"]
    paper_pixels(size, 1)  # checks the name
    w_mm, h_mm = PAPER_MM[size]
    scale = w_mm / 297.0  # text grows with the paper so an A3 page reads like an enlarged A4 one
    with matplotlib.rc_context({**_rc(lang), "pdf.fonttype": 42, "font.size": 9 * scale}):
        # the Agg canvas is attached at the end: geopandas asks the canvas for a redraw after each plot,
        # a whole page drawn for nothing with Agg and a no-op on the base canvas
        fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4))
        box = (0.03, 0.08, 0.68, 0.80)  # the map fills the left ~70 % of the page; legend and notes on the right
        ax = fig.add_axes(box)
        colors = [_NONE if pd.isna(s) else (_PASS if s else _FAIL) for s in status]
        if len(units):
            units.plot(ax=ax, color=colors, edgecolor="#4a5568", linewidth=0.8, zorder=1)
        handles: list = []
        if kind != "none" and len(units):
            t = f"{float(ft.people_target):.0%}" if kind == "people" else ""
            handles += [Patch(facecolor=_PASS, edgecolor="#4a5568", label=_t(f"pass_{kind}", lang, t=t)),
                        Patch(facecolor=_FAIL, edgecolor="#4a5568", label=_t(f"fail_{kind}", lang, t=t))]
        if len(units) and pd.isna(status).any():
            handles.append(Patch(facecolor=_NONE, edgecolor="#4a5568", label=_t("no_target", lang)))
        sa = lay["sa"]
        if sa is not None and len(sa):
            # hatched and outlined, not filled: a fill would blend with the unit colours into mixes the legend lacks
            sa.plot(ax=ax, facecolor="none", edgecolor=_SERVICE, hatch="////", linewidth=0.8, zorder=2)
            mode = label(mode_of(result, key), lang)
            caption = f"{mode} {ft.cutoff_min:g} 分钟" if lang == "zh" else f"{mode}, {ft.cutoff_min:g} min"
            handles.append(Patch(facecolor="none", edgecolor=_SERVICE, hatch="////",
                                 label=_t("service", lang, caption=caption)))
        _draw_uncovered(ax, lay["unc"], ft.weight, lang, handles)
        if lay["fac"] is not None:
            _draw_facilities(ax, lay["fac"], ft, lang, handles)
        ax.set_aspect("equal")
        xmin, ymin, xmax, ymax = lay["bounds"]
        pad = 0.04 * max(xmax - xmin, ymax - ymin, 1.0)
        xmin, ymin, xmax, ymax = _fill_box(xmin - pad, ymin - pad, xmax + pad, ymax + pad,
                                           box[2] * w_mm / (box[3] * h_mm))
        per_pt = (xmax - xmin) / (box[2] * w_mm / 25.4 * 72)  # map units per point: the frame is filled exactly
        kept = fitting(lay["labels"], 7 * scale, per_pt)
        for x, y, text in kept:
            ax.text(x, y, text, ha="center", va="center", fontsize=7 * scale, zorder=8, clip_on=True,
                    bbox=dict(boxstyle="round,pad=0.2", facecolor="white", alpha=0.7, linewidth=0))
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        _scale_bar(ax, lang)
        _north_arrow(ax, lang)
        fig.text(0.5, 0.955, title or _t("title", lang, name=ft.name(lang)), ha="center", va="center",
                 fontsize=22 * scale)
        sub = (_t("subtitle_presence", lang) if lay["presence"] else
               type_caption(result, key, lang) + ("；" if lang == "zh" else "; ") + _t("subtitle", lang, w=label(ft.weight, lang)))
        fig.text(0.5, 0.915, sub, ha="center", va="center", fontsize=11 * scale)
        for h in handles:
            h.set_label(_wrap(h.get_label(), 30, lang))
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.985, 0.88), title=_t("legend", lang),
                   frameon=True, fontsize=9 * scale, title_fontsize=11 * scale, alignment="left")
        # the note on labels left out goes above the source note, in the same block (it grows upwards)
        note = omitted_note(len(lay["labels"]) - len(kept), lang)
        footer = (note + "\n" if note else "") + _source_note(result, lang, crs, source_note)
        fig.text(0.03, 0.03, footer, ha="left", va="bottom", fontsize=7.5 * scale, color="#4a5568", wrap=True)
        FigureCanvasAgg(fig)
    return fig


def _save_pdf_page(fig, pdf, size: str) -> None:
    """Add the page to an open ``PdfPages``, exactly the paper's size, fonts as TrueType (searchable)."""
    import matplotlib

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig.set_size_inches(*(mm / 25.4 for mm in PAPER_MM[size]))
        pdf.savefig(fig)


def _pages(result, folder, *, lang, title, sizes, formats, dpi, source_note, png_sizes=None, screen=None,
           prepared: dict | None = None):
    """Render each type's page once per size and write it; yields (key, size, screen PNG, paths).

    All types of one size go into one multi-page PDF (``maps_<size>.pdf``); a type's layers are prepared
    once for all sizes (and for later calls given the same ``prepared`` dict).  ``screen`` is ``(size, dpi)`` of
    the copy for the reports, scaled down from the 300-dpi page (drawing a page again costs as much at any dpi:
    the text dominates)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from PIL import Image

    check_lang(lang)
    for f in formats:
        if f not in ("png", "pdf"):
            raise InputError(f"map format must be png or pdf, got {f!r}", field="formats")
    for s in sizes:
        paper_pixels(s, dpi)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    prepared = {} if prepared is None else prepared
    if ("xy",) not in prepared:  # a tuple: never one of the types' keys (strings)
        prepared[("xy",)] = _demand_xy(result, _projected(result))
    xy = prepared[("xy",)]
    for size in sizes:
        pdf_path = out / f"maps_{size}.pdf"
        # Fixed metadata (no creation date): two runs give the same PDF bytes.
        pdf = PdfPages(pdf_path, metadata={"CreationDate": None, "Creator": "geoplan"}) if "pdf" in formats else None
        try:
            for key in result.catalogue.keys:
                if key not in prepared:
                    prepared[key] = _layers(result, key, xy)
                fig = map_figure(result, key, lang=lang, size=size, title=title, source_note=source_note,
                                 _prepared=prepared[key])
                paths, page, small = [], None, None
                if "png" in formats and (png_sizes is None or size in png_sizes):
                    paths.append(out / f"{key}_{size}.png")
                    page = figures._rgb(fig, paper_pixels(size, dpi), dpi)
                    figures._png_bytes(page, dpi, paths[-1])
                if screen is not None and screen[0] == size:
                    sdpi = screen[1]
                    if page is not None and sdpi <= dpi:
                        small = figures._png_bytes(page.resize(paper_pixels(size, sdpi), Image.Resampling.LANCZOS,
                                                       reducing_gap=1.0), sdpi)
                    else:
                        small = figures._png_bytes(figures._rgb(fig, paper_pixels(size, sdpi), sdpi), sdpi)
                if pdf is not None:
                    _save_pdf_page(fig, pdf, size)
                yield key, size, small, paths
        finally:
            if pdf is not None:
                with matplotlib.rc_context({"pdf.fonttype": 42}), figures._fonts_subset_once():
                    pdf.close()  # the fonts are subset and embedded when the file closes
        if pdf is not None:
            yield None, size, None, [pdf_path]


def write_print_maps(result, folder, *, lang: str = "zh", title: str | None = None,
                     sizes: Sequence[str] = ("A4", "A3"), formats: Sequence[str] = ("png", "pdf"),
                     dpi: int = 300, source_note: str | None = None, _prepared: dict | None = None) -> list[Path]:
    """Write one print map per facility type, for each paper size and format.

    Parameters
    ----------
    result
        A :class:`geoplan.coverage.CoverageResult`.
    folder
        Folder to write into (created if missing); files are named
        ``<type>_<size>.png`` (e.g. ``social_work_A4.png``) and one PDF per paper size with a page
        per type (``maps_A4.pdf``).
    lang
        ``"zh"`` (default) or ``"en"``.
    title
        Title for every page (default: one per type, "<type name>覆盖情况图").
    sizes
        Paper sizes, landscape: ``"A4"`` and/or ``"A3"``.
    formats
        ``"png"`` and/or ``"pdf"``.
    dpi
        Resolution of the PNG files (A4 at 300 dpi is 3508 × 2480 pixels).
    source_note
        Extra text for each page's source note.

    Returns
    -------
    list of pathlib.Path
        The files written: per size, the PNG of each type, then the PDF.
    """
    pages = _pages(result, folder, lang=lang, title=title, sizes=sizes, formats=formats, dpi=dpi,
                   source_note=source_note, prepared=_prepared)
    return [p for *_, paths in pages for p in paths]


def print_map_sections(result, folder, *, lang: str = "zh", title: str | None = None,
                       sizes: Sequence[str] = ("A4", "A3"), formats: Sequence[str] = ("png", "pdf"),
                       dpi: int = 300, source_note: str | None = None,
                       png_sizes: Sequence[str] = ("A4",), screen_dpi: int = 110,
                       _prepared: dict | None = None) -> tuple[list[Section], list[Path]]:
    """Write the print maps into ``folder`` and return report sections showing them.

    Parameters
    ----------
    result
        A :class:`geoplan.coverage.CoverageResult`.
    folder
        Folder for the print files (see :func:`write_print_maps` for the other options).
    lang, title, sizes, formats, dpi, source_note
        As in :func:`write_print_maps`.
    png_sizes
        Paper sizes written as PNG too (default A4 only: the A3 PDF is vector and prints sharp at any
        size, and an A3 PNG at 300 dpi takes seconds per page).
    screen_dpi
        Resolution of the copies embedded in the reports (the first paper size's page, scaled
        down from its PNG when there is one; kept small so report.html stays light).

    Returns
    -------
    tuple
        The sections ("附图 1：..."), one per type, and the files written.
    """
    sections, written = [], []
    for key, size, small, paths in _pages(result, folder, lang=lang, title=title, sizes=sizes, formats=formats,
                                          dpi=dpi, source_note=source_note, png_sizes=png_sizes,
                                          screen=(sizes[0], screen_dpi), prepared=_prepared):
        written += paths
        if key is None or size != sizes[0]:
            continue
        name = result.catalogue[key].name(lang)
        n = len(sections) + 1
        heading = f"附图 {n}：{name}覆盖情况" if lang == "zh" else f"Map {n}: coverage of {name}"
        png = next((p for p in paths if str(p).endswith(".png")), None)  # the 300-dpi page, for the Word file
        sections.append(Section(heading, figure=small, print_figure=png))
    return sections, written


__all__ = ["write_print_maps", "map_figure", "print_map_sections", "paper_pixels", "PAPER_MM", "MAX_POINTS"]
