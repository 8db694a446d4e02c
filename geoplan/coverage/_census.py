"""People from a census table keyed by division code, placed on demand points: :func:`allocate_census`.

A bureau knows each 乡镇 or 村's people (七普) but not where inside the unit they live.  Each unit's
people go to the demand points inside it (buildings or settlement points; road nodes when nothing finer
exists, :func:`demand_from_network`) in proportion to floor area, to the number of points or to any
column, as whole people by the largest-remainder method, so that every unit's total of every column is
preserved exactly.  Nothing is lost silently: codes of the table that match no unit, units the table
does not list and units with people but no demand point are listed in the result."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan._errors import InputError
from geoplan.coverage._checks import assign_units
from geoplan.io._census import _as_codes, _level, census_columns
from geoplan.io._checks import source_rows
from geoplan.io._crs import ensure_projected

__all__ = ["CensusAllocation", "allocate_census", "census_demand", "demand_from_network", "largest_remainder"]

_CANON_ZH = {"pop": "常住人口", "pop_60": "60岁以上", "pop_0_17": "0-17岁"}
_CANON_EN = {"pop": "residents", "pop_60": "aged 60+", "pop_0_17": "aged 0-17"}
# Weight of a unit's people by the demand point's floor area: these columns, else the footprint area.
_AREA_COLUMNS = ("floor_area", "建筑面积", "area")
# Weights are turned into integers at this scale so the remainders are compared exactly.
_WEIGHT_SCALE = 1_000_000


def largest_remainder(total: int, weights, *, cap=None) -> np.ndarray:
    """Split a whole ``total`` in proportion to ``weights`` into whole parts that sum to ``total``.

    Each part is the floor of its exact share; the people left over go one each to the parts with the
    largest remainders (ties: the earlier part).  Weights are scaled to integers (1e-6 resolution) so the
    arithmetic is exact.  With ``cap`` no part exceeds its cap: a capped part keeps its cap and what is
    left goes, by the same order, to the parts below their caps.

    Parameters
    ----------
    total
        A whole number >= 0.
    weights
        Non-negative weights with a positive sum.
    cap
        Optional whole upper bound per part (their sum at least ``total``).

    Returns
    -------
    numpy.ndarray of int64
    """
    w = np.rint(np.asarray(weights, dtype=float) * _WEIGHT_SCALE).astype(object)
    s = int(w.sum())
    if s <= 0:
        raise ValueError("weights must have a positive sum")
    num = w * int(total)
    base = (num // s).astype(np.int64)
    if cap is not None:
        cap = np.asarray(cap, dtype=np.int64)
        if int(cap.sum()) < int(total):
            raise ValueError("the caps sum to less than the total")
        base = np.minimum(base, cap)
    rem = num - base.astype(object) * s
    order = sorted(range(len(w)), key=lambda i: (-rem[i], i))
    left = int(total) - int(base.sum())
    while left > 0:  # one round without caps; with caps, until every person has a part below its cap
        take = [i for i in order if cap is None or base[i] < cap[i]][:left]
        base[take] += 1
        left -= len(take)
    return base


@dataclass(frozen=True)
class CensusAllocation:
    """Result of :func:`allocate_census`.

    Attributes
    ----------
    demand
        The demand points with the census columns replaced (whole numbers) and ``unit_code`` (the
        code of the unit containing the point; empty outside every unit).
    units
        One row per table row: ``code``, ``name``, ``matched`` (``exact``; ``children`` — the units
        inside this code, e.g. the villages of a township; ``parent`` — the unit containing it;
        ``missing``), ``points``, ``weighting`` (``by`` or ``count`` when all weights were zero),
        the table's columns.
    missing_codes
        Rows of the table whose code matches no unit (their people are not placed).
    units_not_in_table
        Units (code, name) the table says nothing about (their points get no people).
    unplaced
        Table rows with people but no demand point in their unit (their people are not placed).
    columns, by, source
        The columns allocated, the weighting and the table's file.
    """

    demand: gpd.GeoDataFrame
    units: pd.DataFrame
    missing_codes: pd.DataFrame
    units_not_in_table: pd.DataFrame
    unplaced: pd.DataFrame
    columns: list[str] = field(default_factory=list)
    by: str = "count"
    source: str | None = None

    def method(self, lang: str = "zh") -> str:
        """The method, in words for the report (``"zh"`` or ``"en"``).

        Parameters
        ----------
        lang
            ``"zh"`` or ``"en"``.

        Returns
        -------
        str
        """
        zh_cols = "、".join(_CANON_ZH.get(c, c) for c in self.columns)
        en_cols = ", ".join(_CANON_EN.get(c, c) for c in self.columns)
        by_zh = {"floor_area": "建筑面积", "count": "需求点个数（每点相同）"}.get(self.by, f"“{self.by}”列")
        by_en = {"floor_area": "floor area", "count": "number of points (equal shares)"}.get(self.by, f"column {self.by!r}")
        placed = int(self.units["points"].gt(0).sum())
        src = self.source or "-"
        if lang == "zh":
            text = (f"人口按行政区划代码分配：人口表 {src} 共 {len(self.units)} 个单位，其{zh_cols}按{by_zh}比例"
                    f"分配到单位内的需求点（最大余数法取整，每个单位每列合计保持不变）；{placed} 个单位已分配")
            extra = [f"{len(self.missing_codes)} 个代码在单位中找不到" if len(self.missing_codes) else "",
                     f"{len(self.units_not_in_table)} 个单位不在人口表中" if len(self.units_not_in_table) else "",
                     f"{len(self.unplaced)} 个单位有人口但无需求点（人口未分配，见列表）" if len(self.unplaced) else ""]
            return text + "".join("；" + e for e in extra if e) + "。"
        text = (f"Population by division code: {len(self.units)} units of {src}; their {en_cols} were split over "
                f"the demand points inside each unit in proportion to {by_en} (whole people by largest remainder; "
                f"every unit's total of every column preserved); {placed} units placed")
        extra = [f"{len(self.missing_codes)} code(s) match no unit" if len(self.missing_codes) else "",
                 f"{len(self.units_not_in_table)} unit(s) not in the table" if len(self.units_not_in_table) else "",
                 f"{len(self.unplaced)} unit(s) with people but no demand point (people not placed, listed)"
                 if len(self.unplaced) else ""]
        return text + "".join("; " + e for e in extra if e) + "."

    def notes(self) -> list:
        """Report notes (:class:`~geoplan.coverage.Note`: English text carrying its Chinese ``.zh``): the
        method, then the codes not matched and the units whose people were not placed (first 20 of each)."""
        from geoplan.coverage._coverage import Note

        out = [Note(self.method("zh"), self.method("en"))]

        def codes(t: pd.DataFrame) -> str:
            items = [f"{c}{'' if n is None or n != n else ' ' + str(n)}" for c, n in zip(t["code"], t["name"])]
            return "、".join(items[:20]) + (" …" if len(items) > 20 else "")

        people = [c for c in self.columns if c == "pop"] or self.columns[:1]
        if len(self.missing_codes):
            out.append(Note(f"人口表中在单位里找不到的代码（人口未分配）：{codes(self.missing_codes)}",
                            f"codes of the census table matching no unit (people not placed): {codes(self.missing_codes)}"))
        if len(self.units_not_in_table):
            out.append(Note(f"人口表未列出的单位（其需求点人口为 0）：{codes(self.units_not_in_table)}",
                            f"units not in the census table (their points get no people): "
                            f"{codes(self.units_not_in_table)}"))
        even = self.units[(self.units["points"] > 0) & (self.units["weighting"] != self.by)]
        if len(even):
            out.append(Note(f"以下单位内各点的分配依据均为 0，改为按点数平均分配：{codes(even)}",
                            f"every point of these units weighs zero: split evenly by count instead: {codes(even)}"))
        if len(self.unplaced):
            n = int(self.unplaced[people].to_numpy().sum()) if people else 0
            out.append(Note(f"有人口但单位内无需求点的单位（共 {n} 人未分配）：{codes(self.unplaced)}",
                            f"units with people but no demand point ({n} people not placed): {codes(self.unplaced)}"))
        return out


def _split_row(counts: dict[str, np.ndarray], k: int, w: np.ndarray, code: str) -> dict[str, np.ndarray]:
    """One table row's columns split over points weighing ``w``.

    60+ and 0–17 are parts of the total: the total is split first, then 60+ with each point's total as
    its cap, then 0–17 with what is left, so no point gets more people aged 60+ (or 0–17, or both) than
    people.
    """
    out = {c: largest_remainder(int(v[k]), w) for c, v in counts.items() if c not in ("pop", "pop_60", "pop_0_17")}
    parts = [c for c in ("pop_60", "pop_0_17") if c in counts]
    if "pop" not in counts:
        out.update({c: largest_remainder(int(counts[c][k]), w) for c in parts})
        return out
    if sum(int(counts[c][k]) for c in parts) > int(counts["pop"][k]):
        raise InputError(f"census code {code}: 60+ and 0–17 together exceed the total population", field="pop")
    out["pop"] = room = largest_remainder(int(counts["pop"][k]), w)
    for c in parts:
        out[c] = largest_remainder(int(counts[c][k]), w, cap=room)
        room = room - out[c]
    return out


def _weights(demand: gpd.GeoDataFrame, by: str, crs) -> np.ndarray:
    if by == "count":
        return np.ones(len(demand))
    if by == "floor_area":
        for col in _AREA_COLUMNS:
            if col in demand.columns:
                return _weight_column(demand, col)
        geom = demand.geometry.to_crs(crs)
        if geom.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            return geom.area.to_numpy(dtype=float)  # footprint area in m² when no floor area is given
        raise InputError("by='floor_area' needs a floor_area (建筑面积) column or building polygons; "
                         "use by='count' for points", file=demand.attrs.get("source"), field="floor_area")
    if by not in demand.columns:
        raise InputError(f"weight column {by!r} not in the demand; columns are: {', '.join(map(str, demand.columns))}",
                         file=demand.attrs.get("source"), field=by)
    return _weight_column(demand, by)


def _weight_column(demand: gpd.GeoDataFrame, col: str) -> np.ndarray:
    w = pd.to_numeric(demand[col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise InputError(f"weight {col!r} must be a number >= 0: {demand[col].iloc[bad[0]]!r}",
                         file=demand.attrs.get("source"), row=demand.index[bad[0]], field=col)
    return w


def _match(code: str, level: str, exact: dict[str, int], unit_codes: list[str]) -> tuple[str, list[int]]:
    """Unit positions holding a table code's people: the same code, the units inside it, or the unit around it."""
    if code in exact:
        return "exact", [exact[code]]
    if level in ("county", "township"):
        stem = code[:6] if level == "county" else code[:9]
        inside = [i for i, u in enumerate(unit_codes) if u.startswith(stem) and u != code]
        if inside:
            return "children", inside
    for parent in ((code[:9] + "000") if level == "village" else None, code[:6] + "000000"):
        if parent and parent != code and parent in exact:
            return "parent", [exact[parent]]
    return "missing", []


def allocate_census(
    demand: gpd.GeoDataFrame | None,
    census: pd.DataFrame,
    *,
    units: gpd.GeoDataFrame,
    by: str = "floor_area",
    code_col: str = "code",
    name_col: str = "name",
) -> CensusAllocation:
    """Give each unit's people (from a census table keyed by code) to the demand points inside it.

    Parameters
    ----------
    demand
        Demand points (or building polygons, placed by a representative point).  ``None`` when
        ``units`` are seat points: each unit's people then sit at its seat.
    census
        Table from :func:`geoplan.io.read_census` (``code`` 12 digits, ``level``, counts).  A code may
        match a unit exactly, be a township/county whose villages/townships are the units, or a village
        inside a unit (its people go to that unit's points).
    units
        Unit polygons (or seat points) with a code column (6, 9 or 12 digits; padded to 12).
    by
        ``"floor_area"`` (a ``floor_area``/``建筑面积`` column, else building footprint area),
        ``"count"`` (equal shares) or the name of a numeric demand column.  Where a unit's weights are
        all zero, its people are split by count (``weighting`` says so).
    code_col, name_col
        Columns of ``units``.

    Returns
    -------
    CensusAllocation
        The demand (census columns replaced, whole numbers) and the lists that say what was not matched.

    Raises
    ------
    InputError
        No code column in the units, a unit code repeated, a bad weight, demand missing with polygon units.
    """
    if code_col not in units.columns:
        raise InputError(f"the units have no {code_col!r} column", file=units.attrs.get("source"), field=code_col)
    cols = census_columns(census)
    tcodes = _as_codes(census["code"])
    levels = census["level"].tolist() if "level" in census.columns else [
        _level(c, len(str(v).strip())) for c, v in zip(tcodes, census["code"])]
    counts = {}
    for c in cols:
        v = pd.to_numeric(census[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0) | (v != np.round(v)))
        if bad.size:
            rows = source_rows(census)
            raise InputError(f"people must be whole numbers >= 0: {census[c].iloc[bad[0]]!r}",
                             file=census.attrs.get("source"),
                             row=census.index[bad[0]] if rows is None else int(rows[bad[0]]), field=c)
        counts[c] = v.astype(np.int64)
    ucodes = _as_codes(units[code_col])
    dup = pd.Series(ucodes)[pd.Series(ucodes).duplicated() & pd.Series(ucodes).ne("")]
    if len(dup):
        raise InputError(f"unit code {dup.iloc[0]} appears twice", file=units.attrs.get("source"), field=code_col)
    seats = units.geometry.geom_type.isin(["Point"]).all()
    if seats:
        if demand is not None:
            raise InputError("the units are seat points: each unit's people sit at its seat; give no demand file",
                             file=units.attrs.get("source"), field="geometry")
        demand = gpd.GeoDataFrame({"id": ucodes}, geometry=units.geometry.values, crs=units.crs)
        by = "count"
    elif demand is None:
        raise InputError("demand points are needed to place people inside unit polygons "
                         "(demand_from_network gives road nodes)", field="demand")
    crs = ensure_projected(units.iloc[:1]).crs
    u = gpd.GeoDataFrame({"code": ucodes}, geometry=units.geometry.values, crs=units.crs)
    if seats:
        point_unit = np.arange(len(u))
    else:
        at = assign_units(demand, u, crs=crs)[0]
        point_unit = at.map(pd.Series(np.arange(len(u)), index=ucodes)).fillna(-1).to_numpy(dtype=int)
    points_of = pd.Series(np.arange(len(point_unit))).groupby(point_unit).indices  # unit position -> points
    weights = _weights(demand, by, crs)
    exact = {c: i for i, c in enumerate(ucodes) if c}
    alloc = {c: np.zeros(len(demand), dtype=np.int64) for c in cols}
    rows, used_units = [], set()
    table_names = census["name"].tolist() if "name" in census.columns else [None] * len(census)
    for k, (code, level) in enumerate(zip(tcodes, levels)):
        how, members = _match(code, level, exact, ucodes)
        used_units.update(members)
        parts = [points_of[m] for m in members if m in points_of]
        idx = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=int)
        w = weights[idx]
        weighting = by if len(idx) == 0 or w.sum() > 0 else "count"
        if len(idx) and w.sum() <= 0:
            w = np.ones(len(idx))  # every point weighs zero: equal shares, said in the units table
        if len(idx):
            for c, part in _split_row(counts, k, w, code).items():
                alloc[c][idx] += part
        rows.append({"code": code, "name": table_names[k],
                     "matched": how, "points": len(idx), "weighting": weighting,
                     **{c: int(counts[c][k]) for c in cols}})
    table = pd.DataFrame(rows, columns=["code", "name", "matched", "points", "weighting", *cols])
    names = units[name_col].tolist() if name_col in units.columns else [None] * len(units)
    out = demand.drop(columns=[c for c in (*cols, "pop", "pop_60", "pop_0_17") if c in demand.columns]).copy()
    for c in cols:
        out[c] = alloc[c]
    out["unit_code"] = np.where(point_unit >= 0, np.array(ucodes + [""], dtype=object)[point_unit], "")
    out.attrs.update(demand.attrs)
    people = table[cols].sum(axis=1) > 0 if cols else pd.Series(False, index=table.index)
    return CensusAllocation(
        demand=out,
        units=table,
        missing_codes=table[table["matched"] == "missing"].reset_index(drop=True),
        units_not_in_table=pd.DataFrame({"code": [ucodes[i] for i in range(len(u)) if i not in used_units],
                                         "name": [names[i] for i in range(len(u)) if i not in used_units]}),
        unplaced=table[(table["matched"] != "missing") & (table["points"] == 0) & people].reset_index(drop=True),
        columns=cols, by=by, source=census.attrs.get("source"),
    )


def demand_from_network(net, units: gpd.GeoDataFrame, *, code_col: str = "code") -> gpd.GeoDataFrame:
    """Road nodes inside the units as demand points (when nothing finer than the units exists).

    Parameters
    ----------
    net
        A :class:`~geoplan.network.Network`.
    units
        Unit polygons with a code column.
    code_col
        The units' code column.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per network node inside a unit, in the network's CRS: ``id`` (``node:<id>``),
        ``node`` (position in the network), ``pop`` 0; index 0..n-1.
    """
    if code_col not in units.columns:
        raise InputError(f"the units have no {code_col!r} column", file=units.attrs.get("source"), field=code_col)
    pts = gpd.GeoDataFrame({"node": np.arange(net.n_nodes)}, geometry=gpd.points_from_xy(net.x, net.y), crs=net.crs)
    u = gpd.GeoDataFrame({"code": _as_codes(units[code_col])}, geometry=units.geometry.values, crs=units.crs)
    at = assign_units(pts, u, crs=net.crs)[0]
    pts = pts[at.notna().to_numpy()].reset_index(drop=True)
    pts.insert(0, "id", [f"node:{net.node_ids[i]}" for i in pts["node"]])
    pts["pop"] = 0
    return pts


def census_demand(
    census: pd.DataFrame,
    *,
    units: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
    networks=None,
    by: str | None = None,
) -> CensusAllocation:
    """Demand for :func:`~geoplan.coverage.assess` from a census table: the CLI's ``--census``.

    Parameters
    ----------
    census
        Table from :func:`geoplan.io.read_census`.
    units
        Unit polygons (or seat points) with ``code``.
    demand
        Demand points or buildings; None: each unit's road nodes (:func:`demand_from_network`, the
        walk network when there is one), or the seats when ``units`` are points.
    networks
        A Network or ``{mode: Network}``, needed when ``demand`` is None and units are polygons.
    by
        As :func:`allocate_census`; None: ``floor_area`` when the demand has a floor-area column or
        building polygons, else ``count`` (always ``count`` for road nodes and seats).

    Returns
    -------
    CensusAllocation
    """
    seats = units.geometry.geom_type.isin(["Point"]).all()
    if demand is None and not seats:
        if networks is None:
            raise InputError("a census table needs demand points or a road network to place its people",
                             field="demand")
        net = networks.get("walk", next(iter(networks.values()))) if isinstance(networks, dict) else networks
        demand, by = demand_from_network(net, units), "count"
    if by is None:
        polys = demand is not None and demand.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
        by = "floor_area" if demand is not None and (polys or any(c in demand.columns for c in _AREA_COLUMNS)) \
            else "count"
    return allocate_census(demand, census, units=units, by=by)
