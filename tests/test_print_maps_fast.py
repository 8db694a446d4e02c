"""Print maps and report charts that cost little at any size (issue 17).

The pages are drawn from layers prepared once per type (the uncovered demand as hexagon cells when there are
many points), unit labels that would print over each other are left out, the screen copy is the 300-dpi page
scaled down, the A4 and A3 PDFs share their font subsets, and a chart is drawn once and cropped.  Each shortcut
is checked against what it replaces, computed independently: matplotlib's own hexbin over the raw points, the
labels' real text extents, a page drawn directly at the screen dpi, ``savefig(bbox_inches="tight")``, and PDFs
written with the subsets made afresh.  Real data: the Helsinki demo; SYNTHETIC only where named so.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geoplan.outputs import _print_maps, figures
from geoplan.outputs._print_maps import map_figure, paper_pixels, print_map_sections


@pytest.fixture(scope="module")
def demo_result():
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards

    demo = gdemo.load_demo()
    return coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                           catalogue=standards.default_catalogue())


def _synthetic_grid_units(result, n_side: int = 10):
    """SYNTHETIC: the demo's unit rows replaced by an n × n grid of small square units over the same area,
    named like a bureau's (so their labels crowd an A4 page), with random shares."""
    import geopandas as gpd
    from shapely.geometry import box

    units = result.units
    crs = _print_maps._projected(result)
    x0, y0, x1, y1 = units.to_crs(crs).total_bounds
    rng = np.random.default_rng(7)
    rows = []
    for key in result.catalogue.keys:
        for i in range(n_side * n_side):
            cx, cy = divmod(i, n_side)
            w, h = (x1 - x0) / n_side, (y1 - y0) / n_side
            rows.append({"type": key, "unit_code": f"S{i:03d}", "unit_name": f"合成单元{i}",
                         "has_facility": bool(rng.random() < 0.5), "share_pop_covered": float(rng.random()),
                         "share_pop_60_covered": float(rng.random()), "share_pop_0_17_covered": float(rng.random()),
                         "geometry": box(x0 + cx * w, y0 + cy * h, x0 + (cx + 1) * w, y0 + (cy + 1) * h)})
    grid = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(units.crs)
    return dataclasses.replace(result, units=grid)


# --- uncovered demand: hexagon cells computed once, drawn the same ---------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_hexagons_from_the_aggregate_equal_matplotlibs_hexbin_of_the_points(seed):
    """SYNTHETIC points: redrawing the cells from their centres and sums gives matplotlib's hexbin of the raw
    points (same cells, same sums), for clustered, uniform and nearly collinear clouds."""
    from matplotlib.figure import Figure

    rng = np.random.default_rng(seed)
    n = int(rng.integers(_print_maps.MAX_POINTS + 1, 40_000))
    kind = seed % 3
    if kind == 0:
        x, y = rng.normal(0, 3000, n), rng.normal(0, 1500, n)
    elif kind == 1:
        x, y = rng.uniform(-5e4, 5e4, n), rng.uniform(6.6e6, 6.7e6, n)
    else:
        x = rng.uniform(0, 8000, n)
        y = 0.5 * x + rng.normal(0, 5, n)
    w = rng.integers(0, 20, n).astype(float)
    unc = _print_maps._uncovered(x, y, w)
    assert unc["n"] == n and unc["people"] == int(round(w.sum()))
    ax = Figure().add_subplot()
    _print_maps._draw_uncovered(ax, unc, "pop", "zh", [])
    (drawn,) = ax.collections
    # independent: matplotlib's hexbin over every raw point (its own extent: the data's min and max)
    ref = Figure().add_subplot().hexbin(x, y, C=w, reduce_C_function=np.sum, gridsize=60, mincnt=1)
    a = {tuple(np.round(o, 6)): v for o, v in zip(drawn.get_offsets(), drawn.get_array())}
    b = {tuple(np.round(o, 6)): v for o, v in zip(ref.get_offsets(), ref.get_array())}
    assert a.keys() == b.keys()
    assert all(a[k] == pytest.approx(b[k]) for k in a)
    assert float(np.sum(drawn.get_array())) == pytest.approx(float(w.sum()))


def test_demand_projected_once_as_geopandas_projects_it(demo_result):
    """The coordinates the pages draw are those of geopandas' ``to_crs`` (the way the layer was drawn before)."""
    crs = _print_maps._projected(demo_result)
    x, y = _print_maps._demand_xy(demo_result, crs)
    ref = demo_result.demand.to_crs(crs).geometry
    assert demo_result.demand.crs != crs
    np.testing.assert_allclose(x, ref.x.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, ref.y.to_numpy(), rtol=0, atol=1e-6)
    lay = _print_maps._layers(demo_result, "social_work", (x, y))
    unc = demo_result.demand[~demo_result.demand["social_work_covered"].astype(bool)]
    assert lay["unc"]["n"] == len(unc)
    assert lay["unc"]["people"] == int(np.floor(unc["pop"].sum() + 0.5))


def test_uncovered_layer_is_prepared_once_per_type(demo_result, monkeypatch, tmp_path):
    """Both paper sizes of a type draw the same prepared layer: the demand is projected once per type."""
    calls = []
    real = _print_maps._layers
    monkeypatch.setattr(_print_maps, "_layers", lambda r, k, *a: calls.append(k) or real(r, k, *a))
    monkeypatch.setattr(_print_maps, "MAX_POINTS", 10)
    list(_print_maps._pages(demo_result, tmp_path, lang="zh", title=None, sizes=("A4", "A3"), formats=("png",), dpi=20,
                            source_note=None))
    assert calls == list(demo_result.catalogue.keys)


# --- unit labels ------------------------------------------------------------------------------------------------

def test_crowded_labels_never_overlap_and_every_left_out_label_would(demo_result):
    """SYNTHETIC 10 × 10 grid of units: the labels drawn do not overlap by their real text extents, and each unit
    left out would have overlapped a drawn label (by its box estimate, checked with shapely)."""
    from shapely.geometry import box

    r = _synthetic_grid_units(demo_result)
    key = "social_work"
    for size in ("A4", "A3"):
        fig = map_figure(r, key, size=size)
        ax = fig.axes[0]
        fig.canvas.draw()
        rend = fig.canvas.get_renderer()
        labels = [t for t in ax.texts if "合成单元" in t.get_text()]
        assert 0 < len(labels) < 100
        boxes = [t.get_bbox_patch().get_window_extent(rend) for t in labels]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
                overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap_w <= 0.5 or overlap_h <= 0.5, (labels[i].get_text(), labels[j].get_text())
        # every label left out overlaps a kept one (estimated boxes, as the page decides)
        lay = _print_maps._layers(r, key)
        scale = _print_maps.PAPER_MM[size][0] / 297.0
        x0, x1 = ax.get_xlim()
        per_pt = (x1 - x0) / (0.68 * _print_maps.PAPER_MM[size][0] / 25.4 * 72)
        kept = _print_maps.fitting(lay["labels"], 7 * scale, per_pt)
        assert [t.get_text() for t in labels] == [t for *_, t in kept]

        def est(x, y, text):
            lines = text.split("\n")
            fs = 7 * scale
            hw = (0.55 * fs * max(sum(2 if ord(c) > 0x2E7F else 1 for c in s) for s in lines) + 0.4 * fs) / 2 * per_pt
            hh = (1.2 * fs * len(lines) + 0.4 * fs) / 2 * per_pt
            return box(x - hw, y - hh, x + hw, y + hh)

        kept_boxes = [est(*k) for k in kept]
        for spot in lay["labels"]:
            if spot in kept:
                continue
            assert any(est(*spot).intersection(k).area > 0 for k in kept_boxes), spot[2]


def test_every_page_keeps_title_legend_scale_bar_north_arrow(demo_result):
    """SYNTHETIC crowded units and the hexagon grid: each page still has its title, legend, scale bar and arrow."""
    r = _synthetic_grid_units(demo_result, n_side=12)
    for key in r.catalogue.keys:
        fig = map_figure(r, key, size="A4")
        texts = [t.get_text() for t in fig.texts] + [t.get_text() for t in fig.axes[0].texts]
        assert any(r.catalogue[key].name("zh") in t and "覆盖情况图" in t for t in texts)
        assert len(fig.legends) == 1 and fig.legends[0].get_texts()
        assert any(re.fullmatch(r"[\d.]+ (米|千米)", t) for t in texts)
        assert "北" in texts


# --- files ------------------------------------------------------------------------------------------------------

def test_screen_copy_is_the_page_scaled_down(demo_result, tmp_path):
    """The copy in the reports is the 300-dpi page scaled down: it matches a page drawn directly at the screen dpi
    (the old way) to within antialiasing."""
    sections, paths = print_map_sections(demo_result, tmp_path, sizes=("A4",), formats=("png",), dpi=150,
                                         screen_dpi=60)
    key = demo_result.catalogue.keys[0]
    with Image.open(io.BytesIO(sections[0].figure)) as im:
        assert im.size == paper_pixels("A4", 60)
        small = np.asarray(im.convert("RGB"), dtype=float)
    fig = map_figure(demo_result, key, size="A4")
    buf = io.BytesIO()
    w, h = paper_pixels("A4", 60)
    fig.set_size_inches(w / 60, h / 60)
    fig.savefig(buf, format="png", dpi=60)
    with Image.open(buf) as im:
        direct = np.asarray(im.convert("RGB"), dtype=float)
    assert small.shape == direct.shape
    assert np.abs(small - direct).mean() < 6.0  # of 255: same picture, different antialiasing
    with Image.open(paths[0]) as im:
        assert im.size == paper_pixels("A4", 150) and im.info["dpi"][0] == pytest.approx(150, abs=0.1)


def _streams(pdf: bytes):
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            yield zlib.decompress(m.group(1))
        except zlib.error:
            continue


def test_pdfs_searchable_and_the_same_with_fonts_subset_afresh(demo_result, tmp_path):
    """Both PDFs carry the Chinese title in their ToUnicode maps; the A3 file reuses the subsets the A4 file
    made, and is byte-identical to an A3 file written with its subsets made afresh (as in a new process)."""
    figures._SUBSETS.clear()
    _, first = print_map_sections(demo_result, tmp_path / "a", sizes=("A4", "A3"), formats=("pdf",))
    assert figures._SUBSETS  # made for the A4 file, used by the A3 one
    figures._SUBSETS.clear()
    _, fresh = print_map_sections(demo_result, tmp_path / "b", sizes=("A3",), formats=("pdf",))
    assert first[1].name == fresh[0].name == "maps_A3.pdf"
    assert first[1].read_bytes() == fresh[0].read_bytes()
    for path in first:
        data = path.read_bytes()
        assert b"/FontFile2" in data and b"/ToUnicode" in data
        cmaps = b"".join(_streams(data)).lower()
        for ch in "覆盖情况图社工站":
            assert f"<{ord(ch):04x}>".encode() in cmaps, (path.name, ch)


def test_subset_cache_is_left_as_it_was_found():
    from matplotlib.backends import _backend_pdf_ps

    before = _backend_pdf_ps.get_glyphs_subset
    with pytest.raises(RuntimeError):
        with figures._fonts_subset_once():
            assert _backend_pdf_ps.get_glyphs_subset is not before
            raise RuntimeError("an error while a PDF closes")
    assert _backend_pdf_ps.get_glyphs_subset is before


# --- charts -----------------------------------------------------------------------------------------------------

def _tight_reference(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


@pytest.mark.parametrize("n", [3, 40])
def test_chart_drawn_once_matches_savefig_tight(monkeypatch, n):
    """SYNTHETIC units: the chart drawn once and cropped has the size of savefig(bbox_inches="tight") to a pixel
    or two and the same picture."""
    caught = []
    real = figures._png
    monkeypatch.setattr(figures, "_png", lambda fig, dpi=150: caught.append(fig) or real(fig, dpi))
    rng = np.random.default_rng(n)
    df = pd.DataFrame({"unit_name": [f"合成街道{i}" for i in range(n)], "share_pop_covered": rng.random(n)})
    png = figures.coverage_by_unit(df, value="share_pop_covered", target=0.8)
    with Image.open(io.BytesIO(png)) as im:
        ours = np.asarray(im.convert("RGB"), dtype=float)
    ref = _tight_reference(caught[0])
    assert abs(ours.shape[0] - ref.shape[0]) <= 2 and abs(ours.shape[1] - ref.shape[1]) <= 2
    h, w = min(ours.shape[0], ref.shape[0]) - 2, min(ours.shape[1], ref.shape[1]) - 2
    # the two crops may start a pixel apart: the best of the small shifts is the same picture
    diff = min(np.abs(ours[dy:dy + h, dx:dx + w] - ref[ey:ey + h, ex:ex + w]).mean()
               for dy in (0, 1, 2) for dx in (0, 1, 2) for ey in (0, 1, 2) for ex in (0, 1, 2)
               if dy == 0 or ey == 0 if dx == 0 or ex == 0)
    assert diff < 3.0


def test_chart_with_a_name_past_the_edge_still_shows_all_of_it():
    """A name longer than the left margin: the chart falls back to savefig's tight box, which widens the canvas."""
    long_name = "某某省某某市某某县某某镇某某村民委员会第一居民小组" * 2
    df = pd.DataFrame({"unit_name": [long_name, "短名"], "share_pop_covered": [0.3, 0.9]})
    png = figures.coverage_by_unit(df, value="share_pop_covered", target=0.8)
    with Image.open(io.BytesIO(png)) as im:
        assert im.size[0] > 8 * 150  # wider than the 8-inch figure: nothing cut off


@pytest.mark.parametrize("seed", range(3))
def test_png_pages_decode_to_the_drawn_pixels(seed, tmp_path):
    """(session 23) The pages' PNG encoder (unfiltered rows, zlib level 1; not Pillow's) read back by Pillow, an
    independent decoder: the same pixels, the dpi and the maker; to a path, a buffer or as bytes alike."""
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 300, 2))
    flat = np.full((h, w, 3), 255, np.uint8)
    flat[h // 3:, : w // 2] = (200, 30, 40)  # a map's flat colours, then noise where text would be
    noisy = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for pixels in (flat, noisy, np.where(rng.random((h, w, 1)) < 0.1, noisy, flat)):
        image = Image.fromarray(pixels, "RGB")
        data = figures._png_bytes(image, 300)
        buf = io.BytesIO()
        figures._png_bytes(image, 300, buf)
        figures._png_bytes(image, 300, tmp_path / "p.png")
        assert buf.getvalue() == data == (tmp_path / "p.png").read_bytes()
        back = Image.open(io.BytesIO(data))
        back.load()
        assert back.mode == "RGB" and back.size == (w, h)
        assert np.array_equal(np.asarray(back), pixels)
        assert back.info["dpi"][0] == pytest.approx(300, abs=0.01) and back.info["Software"] == "geoplan"
    rgba = Image.fromarray(np.dstack([flat, np.full((h, w), 128, np.uint8)]), "RGBA")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(figures._png_bytes(rgba, 110)))),
                          np.asarray(rgba.convert("RGB")))  # alpha dropped, as the pages are RGB
    with pytest.raises(ValueError, match="empty"):
        figures._png_bytes(Image.new("RGB", (0, 5)), 300)  # Pillow would not open the file it made
