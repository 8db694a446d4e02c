"""Figures: PNG charts with a CJK font (or an English fallback without one)."""

from __future__ import annotations

import glob
import logging

import numpy as np
import pandas as pd
import pytest

from geoplan._errors import InputError
from geoplan.outputs import figures

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_name": ["雨湖路街道", "城正街街道", "姜畲镇", "<script>x</script>"],
            "share_pop_covered": [0.9, 0.55, 0.3, np.nan],
            "target": [0.8, 0.8, 0.6, 0.6],
        }
    )


def _size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_coverage_by_unit_png(units):
    png = figures.coverage_by_unit(units, value="share_pop_covered", target="target",
                                   label_col="unit_name")
    assert png.startswith(PNG)
    w, h = _size(png)
    assert w > 500 and h > 200
    png2 = figures.coverage_by_unit(units, value="share_pop_covered", target=0.8,
                                    label_col="unit_name", lang="en", title="Coverage")
    assert png2.startswith(PNG)


def test_coverage_by_unit_missing_column(units):
    with pytest.raises(InputError, match="not in table"):
        figures.coverage_by_unit(units, value="nope", target=0.8, label_col="unit_name")


def test_travel_time_hist_png():
    rng = np.random.default_rng(1)
    png = figures.travel_time_hist(
        {"elder_care_centre": np.r_[rng.gamma(3, 3, 200), np.inf, np.nan],
         "social_work": pd.Series(rng.gamma(4, 3, 200))},
        cutoff_min=15,
    )
    assert png.startswith(PNG)
    png2 = figures.travel_time_hist({"social_work": [1.0, 2.0]},
                                    cutoff_min={"social_work": 15}, lang="en")
    assert png2.startswith(PNG)


def test_no_glyph_warnings(units, recwarn):
    """With a CJK font, drawing Chinese gives no 'Glyph missing' warnings (no tofu)."""
    if figures.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    figures.coverage_by_unit(units, value="share_pop_covered", target="target",
                             label_col="unit_name")
    figures.travel_time_hist({"minor_protection": [3.0, 5.0]}, cutoff_min=10)
    assert not [w for w in recwarn if "missing from" in str(w.message).lower()]


def test_cjk_font_found_when_installed():
    have_system = bool(glob.glob("/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc"))
    have_bundle = figures._bundled_font_path() is not None
    if not (have_system or have_bundle):
        pytest.skip("neither fonts-noto-cjk nor noto-cjk-sans-otc installed")
    fam = figures.find_cjk_font()
    assert fam is not None and "CJK" in fam
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=fam),
                                 fallback_to_default=False)
    entry = next(f for f in font_manager.fontManager.ttflist if f.name == fam)
    try:
        font = FT2Font(path, face_index=getattr(entry, "index", 0))
    except TypeError:  # older matplotlib without face_index
        font = FT2Font(path)
    for ch in "人口覆盖率养老服务":
        assert font.get_char_index(ord(ch)) != 0, ch


def test_bundled_font_is_a_cjk_collection():
    path = figures._bundled_font_path()
    if path is None:
        pytest.skip("noto-cjk-sans-otc not installed")
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    names = {f.name for f in font_manager.fontManager.ttflist if f.fname == path}
    assert "Noto Sans CJK SC" in names


def test_fallback_to_english_without_font(monkeypatch, units, caplog):
    figures.find_cjk_font.cache_clear()
    monkeypatch.setattr(figures, "_known_family", lambda: None)
    monkeypatch.setattr(figures, "SYSTEM_FONT_GLOBS", ())
    monkeypatch.setattr(figures, "_bundled_font_path", lambda: None)
    try:
        with caplog.at_level(logging.WARNING, logger="geoplan"):
            assert figures.chart_lang("zh") == "en"
            assert figures.chart_lang("zh") == "en"
            png = figures.coverage_by_unit(units, value="share_pop_covered", target=0.8,
                                           label_col="unit_name", title="人口覆盖率")
        assert png.startswith(PNG)
        warnings = [r for r in caplog.records if "no CJK font" in r.getMessage()]
        assert len(warnings) == 1
        assert figures._ascii_name("雨湖路街道") == "Yu Hu Lu Jie Dao"
    finally:
        figures.find_cjk_font.cache_clear()


def test_bad_lang(units):
    with pytest.raises(InputError, match="lang"):
        figures.coverage_by_unit(units, value="share_pop_covered", label_col="unit_name",
                                 lang="fr")
