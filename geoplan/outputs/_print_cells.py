"""The uncovered-demand hexagon grid of the print maps, drawn as a few classes.

Each class is one compound shape (a PDF page gets five paths, not two thousand: matplotlib writes a collection
element by element, which was most of a page's PDF time), and the legend says what each red means (the continuous
shading had one swatch and no numbers).  The hexagon cells themselves stay on the axes, not drawn, with their sums.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["N_CLASSES", "class_breaks", "draw_classes"]

#: Number of classes at most (fewer when the sums take fewer distinct values).
N_CLASSES = 5


def _nice(v: float) -> float:
    """``v`` rounded up to two significant figures (whole numbers below 100)."""
    if v <= 100:
        return float(math.ceil(v))
    step = 10.0 ** (math.floor(math.log10(v)) - 1)
    return math.ceil(v / step) * step


def class_breaks(values: np.ndarray, n: int = N_CLASSES) -> list[float]:
    """Upper bounds of the classes: quantiles of ``values`` rounded up to nice numbers, the last the largest value.

    Every value lies in exactly one class ``(previous bound, bound]`` (the first from minus infinity).
    """
    v = np.asarray(values, dtype=float)
    top = float(v.max())
    inner = sorted({_nice(float(q)) for q in np.quantile(v, np.arange(1, n) / n)})
    return [b for b in inner if b < top] + [top]


def _number(v: float) -> str:
    return f"{v:,.0f}" if v >= 1 or v == 0 else f"{v:.2g}"


def draw_classes(ax, cells, *, cmap: str = "Reds", alpha: float = 0.85, zorder: float = 4) -> list[tuple[tuple, str]]:
    """Draw the hexagon cells of ``cells`` (an ``Axes.hexbin`` collection) as one shape per class; hide ``cells``.

    Returns
    -------
    list of (colour, label)
        Per class drawn, for the legend (labels ``≤ 20``, ``20–50``, ``> 100``).
    """
    import matplotlib
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    vals = np.asarray(cells.get_array(), dtype=float)
    hexagon = np.asarray(cells.get_paths()[0].vertices, dtype=float)[:6]
    centres = np.asarray(cells.get_offsets(), dtype=float)
    cells.set_visible(False)
    bounds = class_breaks(vals)
    colors = matplotlib.colormaps[cmap](np.linspace(0.3, 0.95, len(bounds)))
    codes = np.array([Path.MOVETO] + [Path.LINETO] * 5 + [Path.CLOSEPOLY], dtype=Path.code_type)
    ring = np.concatenate([hexagon, hexagon[:1]])  # closed: CLOSEPOLY's vertex is ignored but needed
    out, lo = [], -np.inf
    for k, (hi, color) in enumerate(zip(bounds, colors)):
        sel = (vals > lo) & (vals <= hi)
        if sel.any():
            verts = (ring[None, :, :] + centres[sel][:, None, :]).reshape(-1, 2)
            # add_artist, not add_patch: the cells already set the data limits, and add_patch would walk every
            # segment of the shape in Python to update them
            ax.add_artist(PathPatch(Path(verts, np.tile(codes, int(sel.sum()))), facecolor=color, edgecolor="none",
                                    linewidth=0, alpha=alpha, zorder=zorder))
            if len(bounds) == 1:
                text = _number(hi)
            elif k == 0:
                text = f"≤ {_number(hi)}"
            elif k == len(bounds) - 1:
                text = f"> {_number(lo)}"
            else:
                text = f"{_number(lo)}–{_number(hi)}"
            out.append((tuple(color), text))
        lo = hi
    return out
