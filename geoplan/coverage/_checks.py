"""Checks that :func:`geoplan.coverage.assess` runs before it measures anything.

Travel modes: every facility type is measured on a network of its own mode,
and a missing mode is an error (never a silent fallback to another network).

Geometry: invalid admin-unit polygons are repaired with shapely ``make_valid``
(or refused); units without demand, demand outside every unit above a share,
and facilities beyond the snap limit stop the run unless the caller says to
continue.  Everything found is returned as rows of a checks table so the
report lists it, each row naming the unit or facility, its file and row.
"""

from __future__ import annotations

from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._errors import InputError, NetworkError
from geoplan.io._checks import _check_duplicates, source_rows  # rows live in attrs as one text (issue 17)
from geoplan.io._numbers import _code_texts

#: Check keys → (zh, en) display names.
CHECK_NAMES = {
    "invalid_unit_repaired": ("行政单位面无效，已修复", "Invalid unit polygon, repaired"),
    "units_overlap": ("行政单位相互重叠", "Admin units overlap"),
    "unit_without_demand": ("行政单位内无需求点", "Unit contains no demand"),
    "demand_outside_units": ("需求点不在任何行政单位内", "Demand outside every unit"),
    "facility_far_from_network": ("设施距路网过远，未参与出行时间计算（仍计入所在单位的设施覆盖）",
                                  "Facility far from the network, left out of travel times (still counted in its unit)"),
    "demand_far_from_network": ("需求点距路网过远，计为未覆盖", "Demand far from the network, counted as uncovered"),
    # register rows left out of assess (geoplan.coverage._register)
    "facility_planned": ("规划设施，未计入", "Planned facility, not counted"),
    "facility_under_construction": ("在建设施，未计入", "Facility under construction, not counted"),
    "facility_closed": ("停用设施，未计入", "Closed facility, not counted"),
    "facility_built_after_as_of": ("评估时点后建成，未计入", "Built after the as-of date, not counted"),
    "facility_type_skipped": ("设施目录以外的类型，已跳过", "Type outside the catalogue, skipped"),
    # review of issue 15 (geoplan.coverage._register / _villages / _presence_checks)
    "facility_type_not_assessed": ("本次未评估的类型，未计入", "Type not assessed in this run, not counted"),
    "village_parent_missing": ("村（社区）的上级乡镇（街道）不在行政单位中", "Village whose township is not among the units"),
    "facility_village_unknown": ("设施所属村（社区）代码不在村（社区）名单中", "Facility village code not in the village list"),
    "demand_without_village": ("所在乡镇（街道）没有村（社区）驻地，需求点未归入村（社区）",
                               "Township without village seats: demand not placed in a village"),
    "unit_abolished": ("已撤销的单位，不计入分母", "Abolished unit, left out of the denominators"),
}
CHECK_COLUMNS = ["check", "item", "name", "file", "row", "detail_zh", "detail_en"]
#: Default largest share of demand (points or people) allowed outside every unit.
MAX_OUTSIDE_SHARE = 0.05
MODE_ZH = {"walk": "步行", "drive": "驾车"}


def _row(check: str, item: Any, name: Any, file: Any, row: Any, zh: str, en: str) -> dict:
    return {"check": check, "item": None if item is None else str(item), "name": None if name is None else str(name),
            "file": None if file is None else str(file), "row": row, "detail_zh": zh, "detail_en": en}


def empty_checks() -> pd.DataFrame:
    return pd.DataFrame(columns=CHECK_COLUMNS)


def _where(frame, label) -> dict:
    """file/row of a record for an error: spreadsheet row when the frame came from geoplan.io."""
    rows = source_rows(frame)
    if rows is not None:
        return {"file": frame.attrs.get("source"), "row": int(rows[frame.index.get_loc(label)])}
    return {"file": frame.attrs.get("source"), "row": label}


# --------------------------------------------------------------------------- modes


def networks_by_mode(network) -> dict[str, Any]:
    """``{mode: Network}`` from one Network or a mapping; a mapping's key must be its network's mode."""
    if not isinstance(network, Mapping):
        return {network.mode: network}
    nets = {}
    for key, net in network.items():
        if key not in ("walk", "drive"):
            raise NetworkError(f"networks are keyed 'walk' or 'drive', not {key!r}")
        if net.mode != key:
            # A walk graph under "drive" would time a drive type on foot and label it 驾车.
            raise NetworkError(f"the network given as {key!r} was built for {net.mode!r}")
        nets[key] = net
    if not nets:
        raise NetworkError("no network given")
    return nets


def require_modes(nets: Mapping[str, Any], catalogue, type_list) -> None:
    """Raise unless every type's mode has a network (no fallback to another mode)."""
    missing = [(t, catalogue[t].mode) for t in type_list if catalogue[t].mode not in nets]
    if missing:
        what = ", ".join(f"{t} ({catalogue[t].name_zh}): {m}" for t, m in missing)
        raise NetworkError(
            f"no network for the travel mode of {what}; networks given: {', '.join(sorted(nets))}. Pass a mapping "
            "{'walk': ..., 'drive': ...} built from the same source, or override the mode (modes=..., CLI --mode TYPE=MODE)"
        )


# --------------------------------------------------------------------------- units


#: GEOS validity reasons in Chinese (the English text of ``shapely.is_valid_reason`` before the ``[x y]``).
_REASONS_ZH = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points in geometry component": "组成部分的点数过少",
    "Hole lies outside shell": "内环位于外环之外",
    "Nested holes": "内环相互嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "外环相互嵌套",
    "Duplicate Rings": "存在重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}


def reason_zh(reason: str) -> str:
    """``Self-intersection[24.94 60.17]`` → ``自相交（位置 24.94, 60.17）``."""
    text, _, rest = reason.partition("[")
    where = rest.rstrip("]").split()
    zh = _REASONS_ZH.get(text.strip(), "几何无效")
    return f"{zh}（位置 {', '.join(where)}）" if where else zh


def check_codes(units, villages=None) -> None:
    """Refuse admin units with an empty or repeated code, and villages with a repeated code, before any slow step.

    The error names the file, both rows (source rows when the frame came from :mod:`geoplan.io`, else
    index labels) and the field ``code``, as the readers do for repeated division codes.  Codes compare as
    text (``430302001`` and ``430302001.0`` are one code).  A village layer marking abolished villages
    (``abolished`` / ``valid_to``) is left to the village step, which drops them first (a code may be reused).
    """
    for frame, what in ((units, "admin unit"), (villages, "village")):
        if frame is None or "code" not in frame.columns:
            continue  # no layer, or no code column: the later checks name it
        if what == "village" and ({"abolished", "valid_to"} & set(frame.columns)):
            continue
        rows = source_rows(frame)
        labels = list(frame.index if rows is None else rows)
        codes = _code_texts(frame["code"])
        src = frame.attrs.get("source")
        if what == "admin unit":
            blank = [i for i, c in enumerate(codes) if c is None or c == ""]
            if blank:
                raise InputError("admin unit without a code", file=src, row=labels[blank[0]], field="code")
        _check_duplicates([None if c == "" else c for c in codes], labels, field="code", file=src,
                          what=f"{what} code")


def _polygonal(geom):
    """The polygonal part of what make_valid returns (it may add lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def repair_units(units, *, how: str, crs) -> tuple[Any, list[dict]]:
    """Repair (``how="repair"``) or refuse (``"refuse"``) invalid unit polygons.

    Returns the units (repaired copy) and one check row per repaired unit,
    saying what was wrong (GEOS reason and place), and the parts and area after.
    """
    if how not in ("repair", "refuse"):
        raise InputError(f"invalid_units must be 'repair' or 'refuse', not {how!r}", field="invalid_units")
    src = units.attrs.get("source")
    rows: list[dict] = []
    geoms = units.geometry.to_numpy().copy()
    for i, label in enumerate(units.index):
        g = geoms[i]
        code, name = units.at[label, "code"], units.at[label, "name"]
        if g is None or g.is_empty:
            raise InputError(f"admin unit {code} ({name}) has no geometry", **_where(units, label), field="geometry")
        if g.is_valid:
            continue
        reason = shapely.is_valid_reason(g)
        if how == "refuse":
            raise InputError(
                f"admin unit {code} ({name}) has an invalid polygon: {reason}. Fix it in the file, or pass "
                "invalid_units='repair' (CLI --invalid-units repair) to repair it with shapely make_valid",
                **_where(units, label), field="geometry",
            )
        fixed = _polygonal(shapely.make_valid(g))
        if fixed.is_empty:
            raise InputError(f"admin unit {code} ({name}) has an invalid polygon ({reason}) that make_valid cannot "
                             "turn into an area", **_where(units, label), field="geometry")
        geoms[i] = fixed
        area = float(gpd.GeoSeries([fixed], crs=units.crs).to_crs(crs).area.iloc[0])
        n_parts = len(shapely.get_parts(fixed))
        rows.append(_row(
            "invalid_unit_repaired", code, name, src, _where(units, label)["row"],
            f"{reason_zh(reason)}；已用 make_valid 修复为 {n_parts} 个部分，面积 {area / 1e6:.3f} 平方公里。请核对原始面。",
            f"{reason}; repaired with make_valid into {n_parts} part(s), area {area / 1e6:.3f} km². Check the source polygon.",
        ))
    if rows:
        units = units.copy()
        units["geometry"] = geoms
        units = units.set_geometry("geometry")
    return units, rows


def _first_closure(geoms: np.ndarray, tree) -> np.ndarray:
    """Position of the first unit (file order) whose closure holds each geometry, -1 for none.

    For points on a unit boundary (a shared edge or vertex): "within" holds them in no unit, yet they
    lie in the adjacent units' closures; each goes to one of them, and a shared boundary is no overlap.
    """
    out = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms):
        gi, ui = tree.query(geoms, predicate="covered_by")
        order = np.lexsort((ui, gi))
        gi, ui = gi[order], ui[order]
        first = np.r_[True, gi[1:] != gi[:-1]] if len(gi) else np.zeros(0, bool)
        out[gi[first]] = ui[first]
    return out


def _unmatched(pi: np.ndarray, n: int) -> np.ndarray:
    """Positions 0..n-1 not in ``pi`` (sorted): a mask, not ``np.setdiff1d``'s sort of a million."""
    hit = np.zeros(n, dtype=bool)
    hit[pi] = True
    return np.flatnonzero(~hit)


def _point_pairs(points, u, crs) -> pd.DataFrame | None:
    """What ``sjoin(points, u, how="left", predicate="within")`` gives for plain points, without a million new
    geometries: coordinates reprojected alone, one STRtree query; None when the geometries are not all points.
    Points within no unit but on a unit's boundary join that unit (the first in file order, one row).

    A point is its own representative point; rows outside every unit keep NaN, as the left join does.
    """
    g = points.geometry
    geoms = g.to_numpy()
    if g.crs is None or not points.index.is_unique or len(geoms) == 0 or not (
            (shapely.get_type_id(geoms) == 0).all() and not shapely.is_empty(geoms).any()):
        return None
    from pyproj import CRS, Transformer

    xy = shapely.get_coordinates(geoms)
    to = CRS.from_user_input(crs)
    if not g.crs.is_exact_same(to):  # as GeoSeries.to_crs decides
        x, y = Transformer.from_crs(g.crs, to, always_xy=True).transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([x, y])
    tree = shapely.STRtree(u.geometry.to_numpy())
    pts = shapely.points(xy)
    pi, ui = tree.query(pts, predicate="within")
    miss = _unmatched(pi, len(geoms))
    edge = _first_closure(pts[miss], tree)
    pi, ui = np.concatenate([pi, miss[edge >= 0]]), np.concatenate([ui, edge[edge >= 0]])
    order = np.lexsort((ui, pi))  # by point, then unit: the join's row order
    pi, ui = pi[order], ui[order]
    miss = miss[edge < 0]  # in no unit's closure either
    pos = np.concatenate([pi, miss])
    right = np.concatenate([ui.astype(float), np.full(len(miss), np.nan)])
    # reindex at -1 (no such unit) gives NaN with the dtype the left join gives
    code = u["code"].reset_index(drop=True).reindex(np.concatenate([ui, np.full(len(miss), -1)])).to_numpy()
    return pd.DataFrame({"index_right": right, "code": code}, index=points.index[pos])


def _joined(points, u, crs) -> pd.DataFrame:
    """The spatial join of the representative points with the units ("within"), for geometries that are not
    plain points; as :func:`_point_pairs`, a point within no unit but on a boundary joins the first such unit."""
    pts = gpd.GeoDataFrame(geometry=points.geometry.to_crs(crs).representative_point().to_numpy(), crs=crs)
    joined = gpd.sjoin(pts, u, how="left", predicate="within")  # positional index: 0..n-1
    at = np.flatnonzero(joined["index_right"].isna().to_numpy())
    if len(at):
        edge = _first_closure(pts.geometry.to_numpy()[joined.index[at]], shapely.STRtree(u.geometry.to_numpy()))
        hit = at[edge >= 0]
        joined.iloc[hit, joined.columns.get_loc("index_right")] = edge[edge >= 0]
        joined.iloc[hit, joined.columns.get_loc("code")] = u["code"].to_numpy()[edge[edge >= 0]]
    joined.index = points.index[joined.index.to_numpy()]
    return joined


def assign_units(points, units, *, crs) -> tuple[pd.Series, list[dict]]:
    """Code of the unit containing each point (representative point), NaN outside all.

    A point inside several (overlapping) units goes to the first of them in the
    units file; each overlapping pair is returned as a check row.  A point on a
    unit boundary (a shared edge or vertex), inside none, goes to the first unit
    in the file whose boundary holds it, and is no overlap.
    """
    u = units[["code", "geometry"]].reset_index(drop=True).to_crs(crs)
    joined = _point_pairs(points, u, crs)
    if joined is None:  # not plain points (or no CRS): the spatial join, as before
        joined = _joined(points, u, crs)
    joined = joined.sort_values("index_right", kind="stable")  # first unit in file order wins
    multi = joined[joined.index.duplicated(keep=False)]
    rows = []
    if len(multi):
        # codes as text: a units table read by the caller may hold them as numbers
        pairs = multi.groupby(level=0)["code"].agg(lambda s: tuple(str(c) for c in s)).value_counts()
        for codes, n in pairs.items():
            rows.append(_row(
                "units_overlap", " / ".join(codes), None, units.attrs.get("source"), None,
                f"{n} 个需求点同时落在这些单位内，均计入 {codes[0]}（文件中靠前者）。请检查单位边界是否重叠。",
                f"{n} demand point(s) lie in all of these units; each is counted in {codes[0]} (first in the file). "
                "Check the unit boundaries for overlaps.",
            ))
    first = joined[~joined.index.duplicated(keep="first")]
    return first["code"].reindex(points.index), rows


def check_unit_demand(dem, units, *, demand_src, allow_outside: bool, allow_empty_units: bool,
                      max_outside_share: float = MAX_OUTSIDE_SHARE,
                      repaired: list[dict] | None = None) -> tuple[list[dict], list[tuple[str, str]]]:
    """Units without demand and demand outside every unit: check rows, notes, or an InputError.

    The error names the units file and the first empty unit (or the demand file and the first
    point outside), and the option that lets the run continue.  When units were repaired
    (``repaired``: rows of :func:`repair_units`) the error names them first: a repair that
    lost part of a unit (a bow-tie kept as one half) leaves its demand outside.
    """
    rows: list[dict] = []
    notes: list[tuple[str, str]] = []
    src_u = units.attrs.get("source")
    counts = dem["unit_code"].value_counts()
    empty = [lab for lab in units.index if counts.get(units.at[lab, "code"], 0) == 0]
    for lab in empty:
        rows.append(_row("unit_without_demand", units.at[lab, "code"], units.at[lab, "name"], src_u,
                         _where(units, lab)["row"], "单位内没有任何需求点：其指标为空。请核对单位位置与坐标系。",
                         "no demand point lies inside: its indicators are empty. Check the unit's location and datum."))
    outside = dem["unit_code"].isna().to_numpy()
    n_out = int(outside.sum())
    pop = np.nan_to_num(dem["pop"].to_numpy(float))
    share_n = n_out / len(dem)
    share_pop = float(pop[outside].sum() / pop.sum()) if pop.sum() > 0 else share_n
    share = max(share_n, share_pop)
    if n_out:
        first = dem.index[outside][0]
        ids = dem["id"].astype(str)[outside].tolist()[:10] if "id" in dem else dem.index[outside].tolist()[:10]
        fixed = ", ".join(str(r["item"]) for r in (repaired or []))
        rows.append(_row(
            "demand_outside_units", ", ".join(map(str, ids)) + (" …" if n_out > 10 else ""), None, demand_src,
            _where(dem, first)["row"],
            f"{n_out} / {len(dem)} 个需求点（{share_n:.1%}，人口 {share_pop:.1%}）不在任何行政单位内，不计入各单位指标。"
            + (f"行政单位 {fixed} 的面无效并已修复，修复可能丢失部分面积，请先核对。" if fixed else ""),
            f"{n_out} of {len(dem)} demand points ({share_n:.1%}; {share_pop:.1%} of people) fall outside every unit "
            "and count in no unit's indicators."
            + (f" Unit(s) {fixed} had invalid polygons, repaired; the repair may have lost area: check them first."
               if fixed else ""),
        ))
        notes.append((f"{n_out} 个需求点不在任何行政单位内（{share_n:.1%}）",
                      f"{n_out} demand point(s) fall outside every admin unit ({share_n:.1%})"))
    if empty:
        notes.append((f"{len(empty)} 个行政单位内没有需求点：{', '.join(str(units.at[lab, 'code']) for lab in empty)}",
                      f"{len(empty)} admin unit(s) contain no demand: {', '.join(str(units.at[lab, 'code']) for lab in empty)}"))
    stop_empty = bool(empty) and not allow_empty_units
    stop_out = share > max_outside_share + 1e-12 and not allow_outside
    if stop_empty or stop_out:
        parts, options = [], []
        if empty:
            lab = empty[0]
            parts.append(f"{len(empty)} of {len(units)} admin units contain no demand point (first: "
                         f"{units.at[lab, 'code']} {units.at[lab, 'name']})")
            if stop_empty:
                options.append("allow_empty_units=True (CLI --allow-empty-units)")
        if share > max_outside_share + 1e-12:
            parts.append(f"{n_out} of {len(dem)} demand points ({share_n:.1%}; {share_pop:.1%} of people) fall "
                         f"outside every unit, above the {max_outside_share:.0%} limit")
            if stop_out:
                options.append("allow_outside=True (CLI --allow-outside)")
        where = _where(units, empty[0]) if stop_empty else _where(dem, dem.index[outside][0])
        if not stop_empty:
            where["file"] = demand_src
        hint = ("Are the units and the demand in the same area and datum (wgs84/gcj02/bd09)?")
        if repaired:
            names = ", ".join(f"{r['item']} {r['name']} ({r['detail_en']})" for r in repaired[:3])
            hint = (f"{len(repaired)} unit polygon(s) were invalid and repaired with make_valid, which may have lost "
                    f"part of their area: {names}. Check those polygons first; otherwise: " + hint)
        raise InputError(
            "; ".join(parts) + f". {hint} To continue anyway, pass {' and '.join(options)}",
            **where, field="geometry",
        )
    return rows, notes


# --------------------------------------------------------------------------- facilities


def check_far_facilities(fac, src_frame, *, type_list, catalogue, limits: Mapping[str, float],
                         allow: bool) -> list[dict]:
    """Facilities of the assessed types beyond their network's snap limit: rows, or an InputError."""
    far = fac.index[fac["type"].isin(type_list).to_numpy() & fac["too_far"].to_numpy(bool)]
    rows = []
    for lab in far:
        ft = catalogue[fac.at[lab, "type"]]
        where = _where(src_frame, lab)
        d, lim = float(fac.at[lab, "snap_m"]), limits[ft.mode]
        name = fac.at[lab, "name"] if "name" in fac else None
        rows.append(_row(
            "facility_far_from_network", fac.at[lab, "id"], name, where["file"], where["row"],
            f"{ft.name_zh}：距{MODE_ZH[ft.mode]}路网最近的可进入道路 {d:,.0f} 米，超过吸附限值 {lim:,.0f} 米，"
            "未参与出行时间计算；设施登记在所在单位，仍计入该单位的设施覆盖（有设施）。",
            f"{ft.name_en}: {d:,.0f} m from the nearest road of the {ft.mode} network it may enter, beyond the "
            f"{lim:,.0f} m snap limit; left out of travel times, but still counted as present in its unit "
            "(having a facility is a register fact).",
        ))
    if len(far) and not allow:
        lab = far[0]
        ft = catalogue[fac.at[lab, "type"]]
        raise InputError(
            f"facility {fac.at[lab, 'id']!s} ({ft.name_en}) is {float(fac.at[lab, 'snap_m']):,.0f} m from the nearest "
            f"road of the {ft.mode} network, beyond the {limits[ft.mode]:,.0f} m snap limit ({len(far)} facility(ies) like this): "
            "is it inside the network's area, are the coordinates and datum right? To leave such facilities out of the "
            "travel times (still counted as present in their unit) and continue, pass allow_far_facilities=True (CLI --allow-far-facilities)",
            **_where(src_frame, lab), field="geometry",
        )
    return rows
