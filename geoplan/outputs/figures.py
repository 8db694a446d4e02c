"""Static charts for reports, with Chinese labels that really render.

Every chart function returns **PNG bytes** (never a file, never a Figure), ready
for :class:`geoplan.outputs.Section` (``figure=``) or ``Path.write_bytes``.
Charts are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas: no pyplot, no global state changed, safe in scripts and servers.

Chinese text needs a CJK font.  :func:`find_cjk_font` looks, in order, for

1. a CJK font matplotlib already knows (Noto Sans CJK SC, Source Han Sans SC,
   WenQuanYi, Microsoft YaHei, SimHei, PingFang SC...);
2. CJK font files at the usual system places (the Debian/Ubuntu package
   ``fonts-noto-cjk`` puts Noto Sans CJK in ``/usr/share/fonts/opentype/noto/``)
   that matplotlib's font cache may not list yet;
3. the Noto Sans CJK collection shipped by the PyPI package
   ``noto-cjk-sans-otc`` (OFL-1.1), a geoplan dependency, so a pip-only install
   renders Chinese too.

If none is found, geoplan logs one warning and draws the chart with English
labels (names are transliterated to pinyin) instead of showing empty boxes.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import logging
import math
import struct
import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.outputs._i18n import check_lang, label

log = logging.getLogger("geoplan")

#: CJK families tried, best first (Simplified Chinese forms first).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Sarasa Gothic SC",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "SimSun",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Droid Sans Fallback",
)

#: Font files looked for when matplotlib's font list has no CJK family.
SYSTEM_FONT_GLOBS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc",
    "/usr/share/fonts/**/NotoSansCJK*.tt[cf]",
    "/usr/share/fonts/**/NotoSansCJK*.otf",
    "/usr/share/fonts/**/SourceHanSans*.ott",
    "/usr/share/fonts/**/wqy-*.tt[cf]",
    "/usr/share/fonts/**/DroidSansFallback*.ttf",
    "/usr/local/share/fonts/**/*CJK*.tt[cf]",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.tt[cf]",
    "C:/Windows/Fonts/simhei.ttf",
)

_PASS_COLOR = "#2f855a"
_FAIL_COLOR = "#dd6b20"
_TARGET_COLOR = "#c53030"
_TYPE_COLORS = ("#2b6cb0", "#d69e2e", "#805ad5", "#38a169", "#e53e3e", "#319795")


def _known_family() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    return None


def _add_font_files(paths: Sequence[str]) -> None:
    from matplotlib import font_manager

    for p in paths:
        try:
            font_manager.fontManager.addfont(p)
        except Exception as exc:  # unreadable font file: skip it
            log.debug("could not add font %s: %s", p, exc)


def _bundled_font_path() -> str | None:
    try:
        import noto_cjk_sans_otc  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(noto_cjk_sans_otc.FONT_PATH)


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Return the name of a font family that renders Chinese, or None.

    Registers system or bundled CJK font files with matplotlib's font
    manager when needed (the only side effect; rcParams are not touched).
    The result is cached; a missing font is logged once as a warning.

    Returns
    -------
    str or None
        A family name usable as ``font.family`` in matplotlib.
    """
    fam = _known_family()
    if fam is None:
        files: list[str] = []
        for pattern in SYSTEM_FONT_GLOBS:
            files += sorted(glob.glob(pattern, recursive=True))
        _add_font_files(list(dict.fromkeys(files)))
        fam = _known_family()
    if fam is None:
        bundled = _bundled_font_path()
        if bundled:
            _add_font_files([bundled])
            fam = _known_family()
    if fam is None:
        log.warning(
            "no CJK font found: charts fall back to English labels. Install the Debian package "
            "fonts-noto-cjk or the Python package noto-cjk-sans-otc to get Chinese labels."
        )
    return fam


def chart_lang(lang: str) -> str:
    """The language charts are drawn in: ``lang``, or ``"en"`` without a CJK font.

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        ``lang``, except ``"en"`` when ``lang`` is ``"zh"`` and no CJK font is installed.

    Raises
    ------
    InputError
        ``lang`` is neither ``"zh"`` nor ``"en"``.
    """
    check_lang(lang)
    if lang == "zh" and find_cjk_font() is None:
        return "en"
    return lang


def _rc(lang: str) -> dict:
    fam = find_cjk_font()
    families = ([fam] if fam else []) + ["DejaVu Sans"]
    return {"font.family": families, "axes.unicode_minus": False, "svg.fonttype": "none"}


def _ascii_name(text: object) -> str:
    """A label without CJK characters (pinyin) for charts drawn without a CJK font."""
    s = str(text)
    if s.isascii():
        return s
    from pypinyin import lazy_pinyin  # a dependency; imported here because only non-ASCII labels need it

    return " ".join(w.capitalize() for w in lazy_pinyin(s) if w.strip())


def _text(key: str, lang: str, *, shown_lang: str) -> str:
    out = label(key, shown_lang)
    return str(out) if shown_lang == "zh" else _ascii_name(out)


def _png(fig, dpi: int = 150) -> bytes:
    """The chart as PNG, cropped to what is drawn plus 0.1 inch (as ``bbox_inches="tight"``).

    The page is drawn once and the tight box measured on that drawing (its text extents are cached);
    ``savefig(bbox_inches="tight")`` draws it twice.  Only when something sticks out of the figure
    (a very long unit name) is the figure saved the usual way, which widens the canvas.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    drawn = fig.get_tightbbox(canvas.get_renderer())  # inches
    fw, fh = fig.get_size_inches()
    edge = 1.0 / dpi  # a pixel: text extents reach a fraction of one past the edge (an axis label's descent)
    if drawn.x0 < -edge or drawn.y0 < -edge or drawn.x1 > fw + edge or drawn.y1 > fh + edge:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        return buf.getvalue()
    box = drawn.padded(0.1)
    crop = (math.floor(box.x0 * dpi), math.floor((fh - box.y1) * dpi), math.ceil(box.x1 * dpi),
            math.ceil((fh - box.y0) * dpi))
    w, h = canvas.get_width_height()
    inside = (max(crop[0], 0), max(crop[1], 0), min(crop[2], w), min(crop[3], h))
    image = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).crop(inside).convert("RGB")
    page = Image.new("RGB", (crop[2] - crop[0], crop[3] - crop[1]), "white")  # the padding past the edge
    page.paste(image, (inside[0] - crop[0], inside[1] - crop[1]))
    return _png_bytes(page, dpi)


#: zlib level of the PNG pages: 1, with RGB (no alpha), encodes a 300-dpi map page about a third faster than
#: matplotlib's RGBA at level 6, and the file is smaller (flat colours and text: 0.95 MB instead of 1.2 MB).
PNG_COMPRESS_LEVEL = 1

_SUBSETS: dict = {}  # (font file, face, glyphs) -> the subset font's bytes and glyph map, shared by the PDFs of a run


class _SubsetBytes:
    """A subset font already saved: what matplotlib's PDF writer reads from a fontTools font (``save``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def save(self, fh, reorderTables: bool = False) -> None:  # noqa: N803 (fontTools' name)
        fh.write(self.data)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


@contextlib.contextmanager
def _fonts_subset_once():
    """While PDFs are closed, subset each font once per set of glyphs (the A4 and A3 files use the same).

    Subsetting the CJK collection with fontTools takes about half a second a file; the bytes of a
    subset do not depend on the file it goes into, so the second file reuses them.  Without the matplotlib
    internals this relies on (``_backend_pdf_ps.get_glyphs_subset`` and ``SubsetResults``) every
    file subsets its fonts itself, as before.
    """
    from matplotlib.backends import _backend_pdf_ps as pdfps

    original = getattr(pdfps, "get_glyphs_subset", None)
    if original is None or not hasattr(pdfps, "SubsetResults"):
        yield
        return

    def subset_once(fontfile, glyphs):
        key = (str(fontfile), getattr(fontfile, "face_index", 0), frozenset(glyphs))
        if key not in _SUBSETS:
            with original(fontfile, glyphs) as done:
                _SUBSETS[key] = (pdfps.font_as_file(done.font).getvalue(), dict(done.glyph_index_map))
            while len(_SUBSETS) > 16:  # a few fonts × pages of one run; older runs' subsets go
                _SUBSETS.pop(next(iter(_SUBSETS)))
        data, index_map = _SUBSETS[key]
        return pdfps.SubsetResults(_SubsetBytes(data), dict(index_map))._as_cm()

    pdfps.get_glyphs_subset = subset_once
    try:
        yield
    finally:
        pdfps.get_glyphs_subset = original


def _rgb(fig, pixels: tuple[int, int], dpi: int):
    """``fig`` drawn once at ``dpi`` as a PIL RGB image of exactly ``pixels`` (width, height)."""
    from PIL import Image

    fig.set_size_inches(pixels[0] / dpi, pixels[1] / dpi)  # exactly these pixels (not one short by truncation)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = fig.canvas.buffer_rgba()
    return Image.frombuffer("RGBA", fig.canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1).convert("RGB")


def _png_bytes(image, dpi: int, target=None) -> bytes | None:
    """Encode a page as PNG (to ``target``, a path or buffer, else returned), with its dpi and maker.

    Written here rather than by Pillow: the rows unfiltered (PNG filter 0) at zlib level
    :data:`PNG_COMPRESS_LEVEL`.  A map page is flat colours and text, which zlib finds as they are; Pillow tries
    every filter on every row first.  A 300-dpi A4 map page: 0.14 s instead of 0.23 s, and 5–14 % smaller.
    """
    a = np.asarray(image.convert("RGB"))
    h, w = a.shape[:2]
    if not (h and w):
        raise ValueError("cannot write an empty image as PNG")  # as Pillow says
    rows = np.zeros((h, 3 * w + 1), np.uint8)  # each row: its filter byte (0: none), then R G B per pixel
    rows[:, 1:] = a.reshape(h, 3 * w)
    ppm = int(dpi / 0.0254 + 0.5)  # pixels per metre, rounded as Pillow does
    data = b"".join([b"\x89PNG\r\n\x1a\n",
                     _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)),  # 8-bit RGB, not interlaced
                     _png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
                     _png_chunk(b"tEXt", b"Software\x00geoplan"),
                     _png_chunk(b"IDAT", zlib.compress(rows.data, PNG_COMPRESS_LEVEL)),
                     _png_chunk(b"IEND", b"")])
    if target is None:
        return data
    if hasattr(target, "write"):
        target.write(data)
    else:
        with open(target, "wb") as fh:
            fh.write(data)
    return None


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _is_share(col: str, values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return col.startswith("share_") or (finite.size > 0 and finite.min() >= 0 and finite.max() <= 1)


def coverage_by_unit(
    df: pd.DataFrame,
    *,
    value: str,
    target: float | str | None = None,
    label_col: str = "unit_name",
    lang: str = "zh",
    title: str | None = None,
    sort: bool = True,
) -> bytes:
    """Horizontal bar chart of an indicator per admin unit against its target.

    Parameters
    ----------
    df
        One row per unit.
    value
        Column with the indicator (a share 0–1 is drawn as a percentage).
    target
        The target: a number (one line across the chart), the name of a
        column (a marker per unit, for targets that differ by unit), or None.
    label_col
        Column with the unit names shown on the axis.
    lang
        ``"zh"`` or ``"en"``; ``"zh"`` without a CJK font falls back to
        English and pinyin (a warning is logged once).
    title
        Chart title (default: the label of ``value``).
    sort
        Sort units by value (lowest at the bottom).

    Returns
    -------
    bytes
        The chart as PNG.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    import matplotlib

    shown = chart_lang(lang)
    for col in [value, label_col] + ([target] if isinstance(target, str) else []):
        if col not in df.columns:
            raise InputError(f"column {col!r} not in table; columns: {list(df.columns)}", field=col)
    data = df[[c for c in dict.fromkeys([label_col, value] + ([target] if isinstance(target, str) else []))]]
    data = data.copy()
    if sort:
        data = data.sort_values(value, kind="stable")
    vals = data[value].to_numpy(dtype=float)
    if isinstance(target, str):
        tvals = data[target].to_numpy(dtype=float)
    elif target is None:
        tvals = np.full(len(data), np.nan)
    else:
        tvals = np.full(len(data), float(target))
    share = _is_share(value, np.concatenate([vals, tvals]))
    scale = 100.0 if share else 1.0
    names = [str(n) if shown == "zh" else _ascii_name(n) for n in data[label_col]]
    passed = np.where(np.isnan(tvals), True, np.nan_to_num(vals, nan=-np.inf) >= tvals)

    with matplotlib.rc_context(_rc(shown)):
        n = max(len(data), 1)
        fig = Figure(figsize=(8, min(max(2.0, 0.32 * n + 1.2), 30)))
        ax = fig.add_subplot()
        y = np.arange(len(data))
        colors = [_PASS_COLOR if p else _FAIL_COLOR for p in passed]
        ax.barh(y, np.nan_to_num(vals) * scale, color=colors, height=0.7)
        ax.set_yticks(y, names)
        handles = []
        if not np.isnan(tvals).all():
            handles = [Patch(color=_PASS_COLOR, label="达标" if shown == "zh" else "Passed"),
                       Patch(color=_FAIL_COLOR, label=_fail_text(shown))]
            if isinstance(target, str) and not np.allclose(tvals, tvals[0], equal_nan=True):
                ax.scatter(tvals * scale, y, marker="|", s=200, color=_TARGET_COLOR, zorder=3)
                handles.append(Line2D([], [], color=_TARGET_COLOR, marker="|", linestyle="none",
                                      markersize=12, label=_text("target", lang, shown_lang=shown)))
            else:
                t = float(tvals[~np.isnan(tvals)][0]) * scale
                ax.axvline(t, color=_TARGET_COLOR, linestyle="--", linewidth=1.5)
                tl = _text("target", lang, shown_lang=shown)
                tl += f" {t:.0f}%" if share else f" {t:g}"
                handles.append(Line2D([], [], color=_TARGET_COLOR, linestyle="--", label=tl))
            ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
        xlabel = _text(value, lang, shown_lang=shown)
        ax.set_xlabel(xlabel + (" (%)" if share and not xlabel.endswith("%") else ""))
        if share:
            ax.set_xlim(0, 100)
        ax.set_title(title if (title and (shown == "zh" or str(title).isascii()))
                     else (_ascii_name(title) if title else xlabel))
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _png(fig)


def _legend_lines(texts: list[str], width: int = 32) -> list[str]:
    """Legend entries for beside the chart: when one is longer than ``width`` display cells (a CJK character is
    two), each entry breaks before its first bracket ("...中心\n（步行 15 分钟）"), so the legend stays narrow
    and its entries alike."""
    from geoplan.outputs._report import display_width

    if all(display_width(t) <= width for t in texts):
        return list(texts)
    out = []
    for text in texts:
        at = min((i for i in (text.find("（"), text.find(" (")) if i > 0), default=0)
        out.append(text[:at].rstrip() + "\n" + text[at:].lstrip() if at else text)
    return out


def _fail_text(shown: str) -> str:
    return "未达标" if shown == "zh" else "Not passed"


def travel_time_hist(
    minutes_series_by_type: Mapping[str, pd.Series | Sequence[float]],
    *,
    cutoff_min: float | Mapping[str, float] | None = None,
    lang: str = "zh",
    bins: int | Sequence[float] | None = None,
    title: str | None = None,
) -> bytes:
    """Histogram of nearest-facility travel times, one outline per facility type.

    Parameters
    ----------
    minutes_series_by_type
        Facility type (canonical key such as ``"social_work"``, shown by its
        label) → travel times in minutes (NaN or inf = unreachable, counted
        in the legend).
    cutoff_min
        Cutoff drawn as a vertical line: one number, or one per type.
    lang
        ``"zh"`` or ``"en"`` (falls back to English without a CJK font).
    bins
        Histogram bins (default: 1-minute bins up to the largest finite time).
    title
        Chart title (default: the label of ``travel_min``).

    Returns
    -------
    bytes
        The chart as PNG.
    """
    from matplotlib.figure import Figure
    import matplotlib

    shown = chart_lang(lang)
    series = {k: np.asarray(pd.Series(v, dtype=float)) for k, v in minutes_series_by_type.items()}
    finite_all = np.concatenate([v[np.isfinite(v)] for v in series.values()] or [np.array([])])
    top = float(finite_all.max()) if finite_all.size else 1.0
    if isinstance(cutoff_min, Mapping):
        cut_max = max(cutoff_min.values(), default=0)
    else:
        cut_max = cutoff_min or 0
    if bins is None:
        hi = max(top, float(cut_max), 1.0)
        step = max(1.0, math.ceil(hi / 60))
        bins = np.arange(0, hi + step, step)

    with matplotlib.rc_context(_rc(shown)):
        # constrained layout narrows the axes to make room for the legend outside them (inside it hid bars)
        fig = Figure(figsize=(9, 4), layout="constrained")
        ax = fig.add_subplot()
        names = []
        for key, v in series.items():
            name, unreachable = _text(key, lang, shown_lang=shown), int(v.size - np.isfinite(v).sum())
            if unreachable:
                name += f"（不可达 {unreachable}）" if shown == "zh" else f" ({unreachable} unreachable)"
            names.append(name)
        for i, ((key, v), name) in enumerate(zip(series.items(), _legend_lines(names))):
            color = _TYPE_COLORS[i % len(_TYPE_COLORS)]
            ax.hist(v[np.isfinite(v)], bins=bins, histtype="step", linewidth=1.8, color=color, label=name)
            c = cutoff_min.get(key) if isinstance(cutoff_min, Mapping) else None
            if c is not None:
                ax.axvline(c, color=color, linestyle="--", linewidth=1.2)
        if cutoff_min is not None and not isinstance(cutoff_min, Mapping):
            cl = _text("cutoff_min", lang, shown_lang=shown)
            ax.axvline(float(cutoff_min), color=_TARGET_COLOR, linestyle="--", linewidth=1.5,
                       label=f"{cl}: {float(cutoff_min):g}")
        ax.set_xlabel(_text("travel_min", lang, shown_lang=shown))
        ax.set_ylabel("需求点数" if shown == "zh" else "Demand points")
        ax.set_title(title if (title and (shown == "zh" or str(title).isascii()))
                     else (_ascii_name(title) if title else _text("travel_min", lang,
                                                                  shown_lang=shown)))
        if series:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        ax.grid(alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _png(fig)


__all__ = ["find_cjk_font", "chart_lang", "coverage_by_unit", "travel_time_hist", "CJK_FAMILIES"]
