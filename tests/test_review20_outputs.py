"""Review 20 (issue 17 follow-up): print-map labels and footer, the travel-time chart's legend.

* D2: on a crowded page failing units (未达标) keep their labels first, then more people, then larger units; the
  page says how many units were left without a label.  Checked on a SYNTHETIC grid of units over the real demo
  area against this file's own box estimate (shapely boxes, widths from ``unicodedata``), own priority order and
  own greedy placement; the note's number against a count of the drawn Text artists.
* D9: the Chinese footer names the projection in Chinese (UTM zones, CGCS2000 Gauss-Krüger zones derived from
  pyproj's parameters, checked against every EPSG CGCS2000 Gauss-Krüger CRS's English name); the language
  scanner the report tests use finds no English word in it.
* D11: the histogram's legend covers no bar (bars read from the drawn step outlines), for the demo and
  generated cases.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

import numpy as np
import pytest

from geoplan.outputs import _print_maps, figures
from geoplan.outputs._print_labels import crs_caption
from geoplan.outputs._print_maps import map_figure


@pytest.fixture(scope="module")
def demo_result():
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards

    demo = gdemo.load_demo()
    return coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                           catalogue=standards.default_catalogue())


# --- D2: label priority and the note -------------------------------------------------------------------------

def _dense_grid(result, n_side: int, seed: int):
    """SYNTHETIC: n × n units of uneven widths over the demo area, random facilities, shares and people
    (some people unknown, so the area decides)."""
    import geopandas as gpd
    from shapely.geometry import box

    crs = _print_maps._projected(result)
    x0, y0, x1, y1 = result.units.to_crs(crs).total_bounds
    rng = np.random.default_rng(seed)
    xs = x0 + np.concatenate([[0], np.cumsum(rng.uniform(0.5, 1.5, n_side))]) / 1.0
    xs = x0 + (xs - x0) / (xs[-1] - x0) * (x1 - x0)
    ys = np.linspace(y0, y1, n_side + 1)
    rows = []
    for key in result.catalogue.keys:
        for i in range(n_side * n_side):
            cx, cy = divmod(i, n_side)
            people = {w: (np.nan if rng.random() < 0.2 else float(rng.integers(0, 5000)))
                      for w in ("pop", "pop_60", "pop_0_17")}
            rows.append({"type": key, "unit_code": f"S{i:03d}", "unit_name": f"合成单元{i:03d}",
                         "has_facility": bool(rng.random() < 0.4),
                         **people, **{f"share_{w}_covered": float(min(1.0, rng.uniform(0.3, 1.3)))
                                      for w in ("pop", "pop_60", "pop_0_17")},
                         "geometry": box(xs[cx], ys[cy], xs[cx + 1], ys[cy + 1])})
    grid = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(result.units.crs)
    return dataclasses.replace(result, units=grid)


def _cells(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _own_labels(result, key: str, size: str, xlim: tuple):
    """Each unit's label, failing flag and estimated box, in this test's own priority order."""
    from shapely.geometry import box

    ft = result.catalogue[key]
    crs = _print_maps._projected(result)
    units = result.units[result.units["type"] == key].to_crs(crs).reset_index(drop=True)
    share = units[f"share_{ft.weight}_covered"]
    failing = ~units["has_facility"].astype(bool) if ft.unit_targets else share < ft.people_target
    fs = 7 * _print_maps.PAPER_MM[size][0] / 297.0
    per_pt = (xlim[1] - xlim[0]) / (0.68 * _print_maps.PAPER_MM[size][0] / 25.4 * 72)
    out = []
    for i, row in units.iterrows():
        text = f"{row['unit_name']}\n{share[i]:.1%}"
        p = row.geometry.representative_point()
        hw = (0.55 * fs * max(_cells(t) for t in text.split("\n")) + 0.4 * fs) / 2 * per_pt
        hh = (1.2 * fs * 2 + 0.4 * fs) / 2 * per_pt
        people = row[ft.weight]
        rank = (not failing[i], -(people if people == people else -1.0), -row.geometry.area, i)
        out.append({"name": row["unit_name"], "failing": bool(failing[i]), "rank": rank,
                    "box": box(p.x - hw, p.y - hh, p.x + hw, p.y + hh)})
    return sorted(out, key=lambda u: u["rank"])


@pytest.mark.parametrize("key,lang,size,seed", [("elder_care_station", "zh", "A4", 1),
                                                 ("social_work", "zh", "A3", 2),
                                                 ("minor_protection", "en", "A4", 3)])
def test_failing_units_labelled_first_and_the_page_counts_the_rest(demo_result, key, lang, size, seed):
    r = _dense_grid(demo_result, 14, seed)
    fig = map_figure(r, key, lang=lang, size=size)
    ax = fig.axes[0]
    drawn = {t.get_text().split("\n")[0] for t in ax.texts if t.get_text().startswith("合成单元")}
    own = _own_labels(r, key, size, ax.get_xlim())
    # own greedy placement: a label is drawn unless its box overlaps one drawn before it
    placed = []
    for u in own:
        if not any(u["box"].intersection(p["box"]).area > 0 for p in placed):
            placed.append(u)
    assert drawn == {u["name"] for u in placed}
    failing = [u for u in own if u["failing"]]
    assert failing and any(u["name"] in drawn for u in failing)
    for u in failing:  # a failing unit without a label had no room: a drawn failing label takes its place
        if u["name"] not in drawn:
            assert any(u["box"].intersection(p["box"]).area > 0 for p in placed
                       if p["failing"] and p["rank"] < u["rank"]), u["name"]
    # the labels drawn do not print over each other (their real boxes)
    fig.canvas.draw()
    rend = fig.canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(rend) for t in ax.texts if t.get_text().startswith("合成单元")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert min(a.x1, b.x1) - max(a.x0, b.x0) <= 0.5 or min(a.y1, b.y1) - max(a.y0, b.y0) <= 0.5
    # the note: its number is the units without a drawn label
    n_units = int((r.units["type"] == key).sum())
    missing = n_units - len(drawn)
    assert missing > 0
    notes = " ".join(t.get_text() for t in fig.texts)
    pattern = r"另有 (\d+) 个单位因图面空间不足未标注名称，见报告“各单位指标”表。" if lang == "zh" else \
        r"(\d+) more units are not labelled for lack of space on the map; see the report's \"Indicators per unit\""
    found = re.findall(pattern, notes)
    assert found == [str(missing)], notes


def test_no_note_when_every_unit_is_labelled(demo_result):
    for lang in ("zh", "en"):
        fig = map_figure(demo_result, "social_work", lang=lang, size="A4")
        names = set(demo_result.units.loc[demo_result.units["type"] == "social_work", "unit_name"])
        drawn = {t.get_text().split("\n")[0] for t in fig.axes[0].texts}
        assert names <= drawn
        notes = " ".join(t.get_text() for t in fig.texts)
        assert "未标注" not in notes and "not labelled" not in notes


# --- D9: the projection in the footer ------------------------------------------------------------------------

def _zh_offenders(texts: list[str], tmp_path) -> list:
    from _langscan import offenders

    (tmp_path / "footer.md").write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    return offenders(tmp_path, "zh")


def test_utm_footer_in_chinese(tmp_path):
    from pyproj import CRS

    assert crs_caption(CRS.from_epsg(32635), "zh") == "WGS 84 / UTM 投影第 35 带（北半球，EPSG:32635）"
    assert crs_caption(CRS.from_epsg(32749), "zh") == "WGS 84 / UTM 投影第 49 带（南半球，EPSG:32749）"
    assert crs_caption(CRS.from_epsg(25835), "zh") == "UTM 投影第 35 带（北半球，EPSG:25835）"  # ETRS89: code only
    assert crs_caption(CRS.from_epsg(3857), "zh") == "EPSG:3857"
    assert crs_caption(CRS.from_epsg(32635), "en") == "WGS 84 / UTM zone 35N (EPSG:32635)"
    texts = [crs_caption(CRS.from_epsg(c), "zh") for c in (*range(32601, 32661), *range(32701, 32761), 25835,
                                                            3857, 2193, 27700, 3414)]
    assert not _zh_offenders(texts, tmp_path)


def test_cgcs2000_gauss_kruger_zones_from_parameters_match_the_epsg_names(tmp_path):
    """Every EPSG "CGCS2000 / ... Gauss-Kruger ..." CRS: the zone and width derived from the parameters agree
    with the number in pyproj's English name; the CM variants give the central meridian."""
    from pyproj import CRS
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    infos = [i for i in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
             if i.name.startswith("CGCS2000 /") and "Gauss-Kruger" in i.name]
    assert len(infos) >= 60
    texts = []
    for info in infos:
        zh = crs_caption(CRS.from_epsg(int(info.code)), "zh")
        texts.append(zh)
        assert zh.endswith(f"EPSG:{info.code}）"), (info.name, zh)
        zone = re.search(r"zone (\d+)$", info.name)
        cm = re.search(r"CM (\d+)E$", info.name)
        width = 3 if "3-degree" in info.name else 6
        if zone:
            assert zh.startswith(f"CGCS2000 / {width} 度分带高斯-克吕格投影第 {zone.group(1)} 带"), (info.name, zh)
        else:
            assert cm, info.name
            assert f"中央经线东经 {cm.group(1)}°" in zh, (info.name, zh)
            if "度分带" in zh:  # a width only when the meridian tells it
                assert width == 3 and int(cm.group(1)) % 6 == 0, (info.name, zh)
    assert not _zh_offenders(texts, tmp_path)


def test_demo_page_footer_has_no_english_words(demo_result, tmp_path):
    fig = map_figure(demo_result, "social_work", lang="zh", size="A4")
    footer = [t.get_text() for t in fig.texts if "投影" in t.get_text()]
    assert len(footer) == 1 and "UTM 投影第 35 带（北半球，EPSG:32635）" in footer[0]
    assert "zone" not in footer[0]
    assert not _zh_offenders(footer, tmp_path)
    en = map_figure(demo_result, "social_work", lang="en", size="A4")
    assert any("WGS 84 / UTM zone 35N (EPSG:32635)" in t.get_text() for t in en.texts)


# --- D11: the histogram legend -------------------------------------------------------------------------------

@pytest.fixture
def caught(monkeypatch):
    figs = []
    real = figures._png

    def keep(fig):
        figs.append(fig)
        return real(fig)

    monkeypatch.setattr(figures, "_png", keep)
    return figs


def _legend_clear_of_bars(fig) -> int:
    """Assert the legend's box meets no bar's box (bars from the drawn step outlines); return the bars seen."""
    from matplotlib.transforms import Bbox

    ax = fig.axes[0]
    rend = fig.canvas.get_renderer()
    leg = ax.get_legend().get_window_extent(rend)
    n = 0
    for outline in ax.patches:
        xy = outline.get_xy()
        for (xa, ya), (xb, yb) in zip(xy[:-1], xy[1:]):
            if ya == yb and xb > xa and ya > 0:  # the top of one bar
                bar = Bbox(ax.transData.transform([(xa, 0.0), (xb, ya)]))
                n += 1
                assert not leg.overlaps(bar), (leg, bar)
    fb = fig.bbox
    assert fb.x0 - 1 <= leg.x0 and leg.x1 <= fb.x1 + 1 and fb.y0 - 1 <= leg.y0 and leg.y1 <= fb.y1 + 1
    return n


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_histogram_legend_covers_no_bar(demo_result, caught, lang):
    from geoplan.outputs import _coverage_outputs

    _coverage_outputs._figures(demo_result, lang)
    hist = [f for f in caught if f.axes and f.axes[0].get_legend() and
            all(p.__class__.__name__ == "Polygon" for p in f.axes[0].patches)]
    assert len(hist) == 1
    assert _legend_clear_of_bars(hist[0]) > 20


@pytest.mark.parametrize("seed", range(6))
def test_generated_histograms_legend_covers_no_bar(caught, seed):
    rng = np.random.default_rng(seed)
    keys = ["elder_care_centre", "elder_care_station", "minor_protection", "social_work", "街道/乡镇综合养老服务中心（步行 15 分钟）"]
    n_types = int(rng.integers(1, len(keys) + 1))
    data = {}
    for k in keys[:n_types]:
        # the tallest bars at the right end sometimes (where the old legend sat)
        v = rng.gamma(rng.uniform(1, 6), rng.uniform(1, 4), int(rng.integers(20, 400)))
        if rng.random() < 0.5:
            v = v.max() - v
        data[k] = np.r_[v, [np.inf] * int(rng.integers(0, 3))]
    cut = 15 if seed % 2 else {k: float(rng.choice([5, 10, 15])) for k in data}
    figures.travel_time_hist(data, cutoff_min=cut, lang="zh" if seed % 3 else "en")
    (fig,) = caught
    assert _legend_clear_of_bars(fig) > 0
