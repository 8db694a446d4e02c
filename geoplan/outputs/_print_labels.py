"""Unit labels and page notes of the print maps (:mod:`geoplan.outputs._print_maps`).

Labels are placed in priority order: units failing their target (未达标) first, then the others, each group by
the people the type serves (its weight column) and then by area, so when a page is crowded the units a planner
must act on keep their names.  A label whose estimated box would print over one already placed is left out,
and the page says how many were (:func:`omitted_note`).  :func:`crs_caption` names the drawing CRS in the
page's language: pyproj's names are English ("WGS 84 / UTM zone 35N").
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from geoplan.outputs._i18n import pick

_T = {
    "omitted": ("另有 {n} 个单位因图面空间不足未标注名称，见报告“各单位指标”表。",
                "{n} more {units} not labelled for lack of space on the map; see the report's "
                '"Indicators per unit" tables.'),
    "utm": ("{datum}UTM 投影第 {zone} 带（{hemi}，EPSG:{epsg}）", ""),
    "north": ("北半球", ""),
    "south": ("南半球", ""),
    "gk_zone": ("CGCS2000 / {deg} 度分带高斯-克吕格投影第 {zone} 带（EPSG:{epsg}）", ""),
    "gk_cm": ("CGCS2000 / {deg}高斯-克吕格投影（中央经线东经 {cm:g}°，EPSG:{epsg}）", ""),
}

_t = functools.partial(pick, _T)


def label_spots(units, ft, status: pd.Series) -> list[tuple[float, float, str]]:
    """Each unit's label (name, and its covered share on a second line) at a point inside it, in priority order.

    Failing units (``status`` False) come first, then passing and untargeted ones; within each, more people of
    the type's weight first, then larger area, then the units' own order.
    """
    n = len(units)
    if not n:
        return []
    share = units.get(f"share_{ft.weight}_covered", pd.Series([None] * n, index=units.index))
    names, codes = units.get("unit_name", [None] * n), units.get("unit_code", [""] * n)
    texts = [str(name if name is not None and not pd.isna(name) else code)
             + ("" if s is None or pd.isna(s) else f"\n{float(s):.1%}")
             for name, code, s in zip(names, codes, share)]
    at = units.geometry.representative_point()
    failing = np.array([s is not None and not pd.isna(s) and not bool(s) for s in status], dtype=bool)
    people = (pd.to_numeric(units[ft.weight], errors="coerce").fillna(-1.0).to_numpy(dtype=float)
              if ft.weight in units else np.full(n, -1.0))
    area = np.nan_to_num(units.geometry.area.to_numpy(dtype=float), nan=0.0)
    # lexsort: the last key sorts first; the stable sort keeps the units' order among equals
    order = np.lexsort((-area, -people, ~failing))
    x, y = at.x.to_numpy(), at.y.to_numpy()
    return [(float(x[i]), float(y[i]), texts[i]) for i in order]


def fitting(labels: list, fontsize: float, per_pt: float) -> list:
    """The labels that do not overlap a label kept before them (in the order given: priority first).

    A box is estimated from the display width (a CJK character two cells of about 0.55 em) and the lines
    (1.2 em each), in map units (``per_pt`` per point): labels that would print over each other are left
    out (the report's unit table lists every unit, and the page says how many are left out), and each
    label drawn costs time on every page."""
    from geoplan.outputs._report import display_width

    kept, boxes = [], []
    pad = 0.4 * fontsize
    for x, y, text in labels:
        lines = text.split("\n")
        hw = (0.55 * fontsize * max(display_width(t) for t in lines) + pad) / 2 * per_pt
        hh = (1.2 * fontsize * len(lines) + pad) / 2 * per_pt
        box = (x - hw, y - hh, x + hw, y + hh)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
            continue
        boxes.append(box)
        kept.append((x, y, text))
    return kept


def omitted_note(n: int, lang: str) -> str:
    """The page's note that ``n`` unit labels were left out ("" when none were)."""
    if n <= 0:
        return ""
    return _t("omitted", lang, n=n, units="unit is" if n == 1 else "units are")


def _gauss_kruger(crs, epsg: int | None) -> str | None:
    """A CGCS2000 Gauss-Krüger CRS named in Chinese from its parameters, else None.

    The zone comes from the false easting (zone × 1,000,000 + 500,000) and is 3-degree when the central
    meridian is 3 × zone, 6-degree when it is 6 × zone − 3.  Without a zone in the false easting (the
    "CM" CRSs) the central meridian is given, and the width only when the meridian tells it (a multiple
    of 6 is no 6-degree meridian)."""
    geo = crs.geodetic_crs
    op = crs.coordinate_operation
    if geo is None or geo.to_epsg() != 4490 or op is None or op.method_name != "Transverse Mercator":
        return None
    p = {q.name: q.value for q in op.params}
    cm, fe = p.get("Longitude of natural origin"), p.get("False easting")
    if (cm is None or fe is None or p.get("Scale factor at natural origin") != 1.0
            or p.get("Latitude of natural origin") != 0.0 or p.get("False northing") != 0.0):
        return None
    zone, rest = divmod(fe, 1_000_000)
    if rest != 500_000:
        return None
    if zone == 0:
        deg = "3 度分带" if cm % 6 == 0 else ""  # ≡ 3 (mod 6): a 3-degree and a 6-degree central meridian
        return _t("gk_cm", "zh", deg=deg, cm=cm, epsg=epsg) if cm % 3 == 0 else None
    for width, centre in ((3, 3 * zone), (6, 6 * zone - 3)):
        if cm == centre:
            return _t("gk_zone", "zh", deg=width, zone=int(zone), epsg=epsg)
    return None


def crs_caption(crs, lang: str) -> str:
    """The drawing CRS for the page's footer: pyproj's name and EPSG code in English; in Chinese a UTM
    zone or a CGCS2000 Gauss-Krüger zone in Chinese words, any other CRS by its EPSG code."""
    if crs is None:
        return "?"
    epsg = crs.to_epsg()
    if lang != "zh":
        return crs.name + (f" (EPSG:{epsg})" if epsg else "")
    if epsg is None:
        return "自定义投影（无 EPSG 代码）"
    zone = crs.utm_zone  # e.g. "35N", from the projection's parameters
    if zone:
        wgs84 = crs.geodetic_crs is not None and crs.geodetic_crs.to_epsg() == 4326
        return _t("utm", "zh", datum="WGS 84 / " if wgs84 else "", zone=int(zone[:-1]),
                  hemi=_t("north" if zone[-1] == "N" else "south", "zh"), epsg=epsg)
    return _gauss_kruger(crs, epsg) or f"EPSG:{epsg}"
