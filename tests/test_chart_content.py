"""Charts are checked by what they draw (bars, target line, labels), read from the matplotlib Figure.

The chart functions return PNG bytes; the tests catch the Figure on its way to PNG (``figures._png``)
and compare it with the table it was drawn from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoplan.outputs import figures


@pytest.fixture
def caught(monkeypatch):
    figs = []
    real = figures._png

    def keep(fig):
        figs.append(fig)
        return real(fig)

    monkeypatch.setattr(figures, "_png", keep)
    return figs


def _units():
    return pd.DataFrame({"unit_name": ["雨湖路街道", "城正街街道", "先锋街道"],
                         "share_pop_60_covered": [0.9, 0.4, 0.75]})


def test_coverage_by_unit_bars_target_and_labels(caught):
    df = _units()
    png = figures.coverage_by_unit(df, value="share_pop_60_covered", target=0.8, lang="zh")
    assert png.startswith(b"\x89PNG")
    (fig,) = caught
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    # one bar per unit, its length the share in percent, sorted lowest first (as the table sorted)
    expected = np.sort(df["share_pop_60_covered"].to_numpy()) * 100
    assert np.allclose([b.get_width() for b in bars], expected)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == list(df.sort_values("share_pop_60_covered")["unit_name"])
    # the target line at 80 %
    vlines = [ln for ln in ax.get_lines() if np.allclose(ln.get_xdata(), [80, 80])]
    assert len(vlines) == 1
    # bars under the target are coloured as failing, the others as passing
    fails = [b for b in bars if b.get_width() < 80]
    assert len({tuple(b.get_facecolor()) for b in fails}) == 1
    assert {tuple(b.get_facecolor()) for b in fails} != {tuple(b.get_facecolor()) for b in bars if b.get_width() >= 80}
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "达标" in legend and "未达标" in legend and any("80%" in t for t in legend)
    assert ax.get_xlim() == (0, 100)


def test_travel_time_hist_cutoff_line(caught):
    mins = {"社工站（步行 15 分钟）": pd.Series([3.0, 7.0, 12.0, 18.0, 25.0])}
    figures.travel_time_hist(mins, cutoff_min=15, lang="zh")
    (fig,) = caught
    ax = fig.axes[0]
    (step,) = ax.patches  # one step outline per type
    xy = step.get_xy()
    edges = np.unique(xy[:, 0])
    counts, _ = np.histogram(mins["社工站（步行 15 分钟）"], bins=edges)
    assert xy[:, 1].max() == counts.max()  # the outline's highest step is the fullest bin
    assert "社工站（步行 15 分钟）" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(np.allclose(ln.get_xdata(), [15, 15]) for ln in ax.get_lines())
