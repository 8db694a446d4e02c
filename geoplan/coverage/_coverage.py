"""Network coverage of facilities: :func:`assess` and its :class:`CoverageResult`.

The searches live in ``_engine`` (nearest, cost matrices, reachable nodes), service areas and
2SFCA in ``_service``, per-unit indicators and the summary against targets in ``_indicators``,
input checks in ``_checks``.

The main entry point is :func:`assess`, which returns a :class:`CoverageResult`
holding per-demand-point travel times, service areas, per-unit indicators and
the summary checked against targets.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan._errors import CRSError, InputError
from geoplan.coverage import _checks, _villages
from geoplan.coverage._village_checks import drop_abolished
from geoplan.coverage._engine import nearest_points
from geoplan.coverage._indicators import _indicators
from geoplan.coverage._register import (
    OTHER_TYPES, counted_rows, not_assessed, parse_as_of, weight_column, with_weights,
)
from geoplan.coverage._service import areas_begun, two_step_fca
from geoplan.coverage.standards import Catalogue, default_catalogue
from geoplan.io._checks import _check_duplicates, _check_point_geometry, _check_pop_parts, source_rows
from geoplan.io._datum import datum_note
from geoplan.io._numbers import _code_texts, _numeric_column
from geoplan.network._network import Network
from geoplan.network._snap import MAX_SNAP_M, snap

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("geoplan")


class Note(str):
    """A note in English (the string itself) that also carries its Chinese text (``.zh``)."""

    def __new__(cls, zh: str, en: str) -> Note:
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj

    def __getnewargs__(self) -> tuple[str, str]:
        # pickle (a result sent back from a Dask worker or a forked child) calls __new__ with these
        return self.zh, str(self)

    def text(self, lang: str = "zh") -> str:
        """The note in one language.

        Parameters
        ----------
        lang
            ``"zh"`` for the Chinese text; anything else gives the English.

        Returns
        -------
        str
        """
        return self.zh if lang == "zh" else str(self)


@dataclasses.dataclass
class CoverageResult:
    """Everything :func:`assess` computed; tables use canonical English column names.

    Attributes
    ----------
    demand
        GeoDataFrame aligned to the input demand, with ``unit_code``, ``snap_m``,
        ``too_far`` and per type ``{type}_min`` (minutes to the nearest, door to door: access stretch, partial edges and network),
        ``{type}_nearest`` (facility id) and ``{type}_covered``.
    facilities
        GeoDataFrame of the input facilities that count (built; by ``as_of``; types in the catalogue),
        with the input's index labels, and ``type`` (key), ``unit_code``, ``snap_m``, ``too_far``.  The
        rows left out are rows of ``checks`` (``facility_planned``, ``facility_under_construction``,
        ``facility_closed``, ``facility_built_after_as_of``, ``facility_type_skipped``).
    service_areas
        One polygon per facility (``facility_id``, ``type``).
    service_areas_by_type
        Dissolved per type.
    units
        GeoDataFrame of admin units × types: ``unit_code``, ``unit_name``, ``unit_kind``,
        ``type``, ``n_facilities``, ``has_facility`` (facilities registered in the unit, also
        those too far from the road to take part in the travel times), people and covered people for
        pop/pop_60/pop_0_17 with shares, ``median_min``, ``p90_min``; ``level`` (township/village),
        ``parent_code``, and for villages ``reached``; each township followed by its villages.
    summary
        One row per type and indicator with ``value``, ``target``, ``passed`` and ``shortfall``.
    gaps
        Uncovered demand per unit and type, ranked by people affected.
    notes
        Plain-language notes about the run (assumptions, dropped parts).
    network_report
        What the first network's builder dropped/repaired.
    modes
        Travel mode actually used per type (``walk``/``drive``): the mode of the
        network each type was measured on.  Reports print this, never the config.
    checks
        Input checks found (repaired units, overlaps, units without demand, demand
        outside the units, facilities/demand far from the network): ``check``, ``item``,
        ``name``, ``file``, ``row``, ``detail_zh``, ``detail_en``.
    network_reports
        Builder report per mode.
    snaps
        Per mode, the snap tables (:func:`geoplan.network.snap`) of ``"demand"`` and
        ``"facilities"``, aligned to the inputs: snapped way (position in
        :meth:`geoplan.network.Network.ways`), end nodes, position
        along the edge, access distance — for later steps to reuse.
    as_of
        The as-of date of the run (``datetime.date``), None when every built facility counted.
    """

    demand: Any
    facilities: Any
    service_areas: Any
    service_areas_by_type: Any
    units: Any
    summary: pd.DataFrame
    gaps: pd.DataFrame
    catalogue: Catalogue
    notes: list[Note]
    network_report: dict
    modes: dict = dataclasses.field(default_factory=dict)
    checks: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame())
    network_reports: dict = dataclasses.field(default_factory=dict)
    snaps: dict = dataclasses.field(default_factory=dict)
    as_of: Any = None

    def save(self, folder: str | Path, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm", data_note: str = "",
             title: str | None = None, area: str | None = None, date: str | None = None, map: bool = True) -> dict:
        """Write the report folder (Markdown/HTML/Excel report, GeoPackage and GeoJSON layers, HTML map).

        The folder is written all-or-nothing; an existing folder is replaced only with ``overwrite=True``.

        Parameters
        ----------
        folder
            The report folder to write.
        lang
            ``"zh"`` (default) or ``"en"``.
        overwrite
            Replace an existing folder.
        basemap
            Background of the HTML map.
        data_note
            A note on the data sources, printed in the report.
        title
            Report title (default: the area, the year of ``as_of`` and the standard title in ``lang``).
        area
            The area assessed (评估范围), in the title and the overview.
        date
            Report date printed (default ``SOURCE_DATE_EPOCH``, else today).
        map
            Write the web map ``map.html`` (False: no map, e.g. to save time on very many points).

        Returns
        -------
        dict of str to Path
            The paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``geojson``, ``map`` (with ``map=True``).

        Raises
        ------
        OutputExistsError
            ``folder`` exists and ``overwrite`` is False.
        """
        from geoplan.outputs._coverage_outputs import write_coverage

        return write_coverage(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note,
                              title=title, area=area, date=date, map=map)


_where = _checks._where  # one helper, in _checks (which _coverage imports): no import cycle


def _require_columns(df, cols, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {missing}; columns present: {list(df.columns)}",
                         file=df.attrs.get("source"), field=missing[0])


def _assign_units(points, units, *, crs=None) -> pd.Series:
    """Code of the unit containing each point (representative point, in ``crs``), NaN outside all.

    A point in several overlapping units goes to the first in file order (the checks table lists overlaps).
    """
    return _checks.assign_units(points, units, crs=crs or points.crs)[0]


def assess(
    network: Network | Mapping[str, Network],
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    units: gpd.GeoDataFrame | None = None,
    villages: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
    types: Iterable[str] | None = None,
    modes: str | Mapping[str, str] | None = None,
    max_snap_m: float | None = None,
    with_service_areas: bool = True,
    invalid_units: str = "repair",
    allow_empty_units: bool = False,
    allow_outside: bool = False,
    max_outside_share: float = _checks.MAX_OUTSIDE_SHARE,
    allow_far_facilities: bool = False,
    allow_zero_weight: bool = False,
    as_of: Any = None,
    other_types: str = "error",
    weights: Mapping[str, str] | None = None,
) -> CoverageResult:
    """Assess how well facilities cover demand by the road network.

    Parameters
    ----------
    network
        A :class:`~geoplan.network.Network`, or a mapping ``{"walk": net, "drive": net}``
        (built from the same source).  Each type is measured on the network of its
        mode (catalogue ``mode``, overridden by ``modes``); a type whose mode has no
        network is a :class:`~geoplan.NetworkError`, never a fallback to another mode.
    facilities
        GeoDataFrame with ``id`` and ``type`` (a catalogue key or alias) columns.
    demand
        GeoDataFrame of demand points with ``pop`` and optionally ``pop_60``, ``pop_0_17``.
    units
        Optional GeoDataFrame of admin units with ``code`` and ``name``.
    villages
        Optional village-level units (村/社区) with ``code`` (12 digits) and ``name``: polygons, seat
        points, or a table without geometry.  Demand gets ``village_code`` by polygon or by the nearest seat
        among the villages of its township (none when its township has no seat: listed); facilities from
        their ``village_code`` column, else spatially; the unit table then lists each township followed by
        its villages (``level``).  Units or villages with ``abolished`` truthy leave the denominators; see
        :mod:`geoplan.coverage._village_checks` for the rows listed in ``checks``.
    catalogue
        Facility types and targets (default :func:`geoplan.coverage.default_catalogue`).
    types
        Limit to these types (keys or Chinese names; default: every catalogue type).
    modes
        Override of the travel modes: ``"walk"``/``"drive"`` for every type, or
        ``{type: mode}`` (key or Chinese name) for some.
    max_snap_m
        Distance from the network beyond which a point is flagged (default per mode).
    with_service_areas
        Compute service-area polygons (the slowest step on big networks).
    invalid_units
        ``"repair"`` (default): invalid unit polygons (e.g. self-intersecting) are
        repaired with shapely ``make_valid`` and listed in ``checks``; ``"refuse"``: an InputError.
    allow_empty_units
        Continue when a unit contains no demand point (default: InputError naming the unit).
    allow_outside
        Continue when more than ``max_outside_share`` of the demand (points or people)
        lies outside every unit (default: InputError).
    max_outside_share
        Share of the demand (points or people) that may lie outside every unit
        before that stops the run (default 5 %).
    allow_far_facilities
        Leave facilities beyond the snap limit out of the travel times and continue
        (default: InputError naming the facility).  Such a facility still counts for
        ``has_facility`` of the unit it lies in: "the unit has a centre" is a register
        fact (the centre exists there), not a travel time.  The checks table and the
        notes say so for each one (未参与出行时间计算，但计入所在单位的设施覆盖).
    allow_zero_weight
        Continue when the weight column of an assessed type (``pop``, ``pop_60``,
        ``pop_0_17``) is 0 for every demand point; its people indicators are then
        reported as not computable, never as a shortfall of 0 (default: InputError
        naming the file and column).
    as_of
        Evaluate the state at this date (``datetime.date`` or ISO text such as ``"2022-12-31"``; a year
        alone means its end): a facility counts when its status is built and its ``year_built`` is
        missing or not after the as-of date (a full date compared as a date, a year alone by the year); later ones are listed in ``checks``
        (``facility_built_after_as_of``).  Closed facilities never count.  Without it, every built
        facility counts.  Planned, under-construction and closed facilities never count and are listed
        in ``checks`` (``facility_planned``, ``facility_under_construction``, ``facility_closed``);
        the notes give the counts (see :mod:`geoplan.coverage._register`).
    other_types
        ``"error"`` (default): a facility whose type is not in the catalogue is an InputError naming file,
        row and value; ``"skip"``: such rows are left out, listed in ``checks``
        (``facility_type_skipped``) and counted by type in the notes.
    weights
        Type (key or Chinese name) → demand column to weigh it by instead of its catalogue weight
        (any numeric column, e.g. ``{"社工站": "低保户数"}``).

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        Bad inputs, and the geometry checks above unless allowed.
    NetworkError
        No network for a type's mode.
    """
    catalogue = (catalogue or default_catalogue()).with_modes(modes, source="mode override (modes=)")
    catalogue = with_weights(catalogue, weights, source="weight override (weights=)")
    as_of = parse_as_of(as_of)
    notes: list[str] = []
    check_rows: list[dict] = []
    fac, type_list = _checked_facilities(facilities, demand, catalogue, types, as_of=as_of, other_types=other_types,
                                         notes=notes, check_rows=check_rows)
    dem = _checked_demand(facilities, demand, units, catalogue, type_list, allow_zero_weight=allow_zero_weight,
                          notes=notes)
    has_capacity = "capacity" in fac.columns and pd.to_numeric(fac["capacity"], errors="coerce").notna().any()
    if has_capacity:
        fac["capacity"] = pd.to_numeric(fac["capacity"], errors="coerce")
    # Each type on the network of its own mode; a missing mode is an error, never a fallback.
    nets = _checks.networks_by_mode(network)
    _checks.require_modes(nets, catalogue, type_list)
    used = {t: nets[catalogue[t].mode] for t in type_list}
    used_modes = list(dict.fromkeys(net.mode for net in used.values()))
    first_net = used[type_list[0]]

    lines: list = []  # abolished units leave the denominators (review of issue 15)
    units = drop_abolished(units, as_of=as_of, what_zh="行政单位", what_en="unit(s)", check_rows=check_rows, lines=lines)
    _checks.check_codes(units, villages)  # repeated codes stop here, before any slow step (review 20, D5)
    fsnaps = {m: snap(nets[m], fac, max_distance=max_snap_m) for m in used_modes}
    # The service areas need only the facilities: begun now in a forked child, beside the units' and the demand's
    # steps (an error in those stops the child).
    with areas_begun(_area_inputs(fac, catalogue, type_list, used, fsnaps) if with_service_areas else []) as areas:
        if units is not None:
            units = _unit_checks(units, dem, fac, demand, first_net, invalid_units=invalid_units,
                                 allow_outside=allow_outside, allow_empty_units=allow_empty_units,
                                 max_outside_share=max_outside_share, notes=notes, check_rows=check_rows)
        vil, vkind = _villages.village_step(units, villages, dem, fac, crs=first_net.crs, facilities=facilities,
                                            as_of=as_of, check_rows=check_rows, lines=lines)
        notes.extend(Note(zh, en) for zh, en in lines)
        snaps, limits = _snap_inputs(nets, used, used_modes, first_net, dem, fac, demand, facilities,
                                     max_snap_m=max_snap_m, fsnaps=fsnaps)
        _far_checks(dem, fac, demand, facilities, first_net, type_list, catalogue, limits,
                    allow_far_facilities=allow_far_facilities, notes=notes, check_rows=check_rows)
        _measure_types(dem, fac, catalogue, type_list, used, snaps, has_capacity=has_capacity)
        seat_min = (_villages.seat_minutes(vil, fac, {m: s[1] for m, s in snaps.items()}, used, catalogue, type_list,
                                           max_snap_m=max_snap_m) if vkind == "point" else None)
        unit_table, summary, gaps = _indicators(dem, fac, units, catalogue, type_list, villages=vil, seat_min=seat_min)
        sa_all, sa_by_type = areas.result(first_net.crs)
    report = dict(first_net.report)
    for m in used_modes:
        rep = nets[m].report
        if rep.get("nodes_dropped_not_strongly_connected"):
            dropped, read = rep["nodes_dropped_not_strongly_connected"], rep.get("nodes_read")
            notes.append(Note(f"{_checks.MODE_ZH[m]}路网：保留最大连通部分，去除 {dropped} / {read} 个节点",
                              f"{m} network: kept the largest connected part; {dropped} of {read} nodes dropped"))
    return CoverageResult(
        demand=dem,
        facilities=fac,
        service_areas=sa_all,
        service_areas_by_type=sa_by_type,
        units=unit_table,
        summary=summary,
        gaps=gaps,
        catalogue=catalogue.subset(type_list),
        notes=notes,
        network_report=report,
        modes={t: used[t].mode for t in type_list},
        checks=pd.DataFrame(check_rows, columns=_checks.CHECK_COLUMNS),
        network_reports={m: dict(nets[m].report) for m in used_modes},
        snaps={m: {"demand": snaps[m][0], "facilities": snaps[m][1]} for m in used_modes},
        as_of=as_of,
    )


# --------------------------------------------------------------------------- the steps of assess


def _checked_facilities(facilities, demand, catalogue: Catalogue, types, *, as_of=None, other_types: str = "error",
                        notes: list, check_rows: list):
    """The facilities that count (canonical types; built, by ``as_of``), and the types to assess.

    Raises on the first bad input; the rows left out (status, year built, skipped types) go to
    ``check_rows`` and their counts to ``notes`` (:func:`geoplan.coverage._register.counted_rows`).
    """
    if other_types not in OTHER_TYPES:
        raise InputError(f"other_types must be one of {', '.join(OTHER_TYPES)}, not {other_types!r}",
                         field="other_types")
    as_of = parse_as_of(as_of)
    _require_columns(facilities, ["id", "type"], "facilities")
    _require_columns(demand, ["pop"], "demand points")
    if len(demand) == 0:
        raise InputError("no demand points", field="geometry")
    for frame, what in ((facilities, "facilities"), (demand, "demand points")):
        if frame.crs is None:
            raise CRSError(f"{what} have no CRS")
    dup = facilities["id"].duplicated(keep=False)
    if dup.any():
        rows = facilities.index[dup].tolist()[:2]
        first, second = (_where(facilities, r)["row"] for r in rows)
        raise InputError(f"duplicate facility id {facilities['id'][dup].iloc[0]!r} (rows {first} and {second})",
                         **_where(facilities, rows[1]), field="id")

    resolved = facilities["type"].map(catalogue.resolve)
    if resolved.isna().any() and other_types != "skip":
        bad = resolved.index[resolved.isna()][0]
        raise InputError(
            f"unknown facility type {facilities.loc[bad, 'type']!r}; known: {', '.join(catalogue.known_keys)} "
            "(or their Chinese names); to leave such rows out and list them, pass other_types='skip' "
            "(CLI --other-types skip)",
            **_where(facilities, bad),
            field="type",
        )
    fac = facilities.copy()
    fac["type"] = resolved
    keep, rows, lines = counted_rows(fac, facilities, resolved.isna(), catalogue, as_of=as_of,
                                     other_types=other_types)
    check_rows += rows
    notes.extend(Note(zh, en) for zh, en in lines)
    fac = fac[keep]
    type_list = list(dict.fromkeys(catalogue.resolve(t) or t for t in types)) if types is not None else catalogue.keys
    for t in type_list:
        catalogue[t]  # raises on unknown
    if not type_list:
        raise InputError("no facility types to assess", field="types")
    if types is None:  # rows of extra built-in types present but not assessed: listed (review of issue 15, point 9)
        rows, lines = not_assessed(fac, facilities, type_list, catalogue)
        check_rows += rows
        notes.extend(Note(zh, en) for zh, en in lines)
    return fac, type_list


def _checked_demand(facilities, demand, units, catalogue: Catalogue, type_list: list[str], *,
                    allow_zero_weight: bool, notes: list) -> pd.DataFrame:
    """Demand with numeric population columns; adds the inputs' datum notes; the checks of geoplan.io's readers."""
    # the datum of every input goes into the report (issue 12 item 8)
    for frame, zh, en in ((facilities, "设施", "facilities"), (demand, "需求点", "demand"), (units, "行政单位", "units")):
        line = datum_note(frame, zh, en) if frame is not None else None
        if line is not None:
            notes.append(Note(*line))
    # The API gets the checks of geoplan.io's readers, with the same helpers and messages
    # (index labels, or the source rows when the frame came from geoplan.io).
    for frame, what in ((facilities, "facility"), (demand, "demand")):
        rows = source_rows(frame)
        labels = frame.index if rows is None else rows
        _check_point_geometry(frame.geometry.to_numpy(), labels, file=frame.attrs.get("source"), points_only=False)
        if what == "demand" and "id" in frame.columns:
            _check_duplicates(list(_code_texts(frame["id"])), list(labels), field="id",
                              file=frame.attrs.get("source"), what="demand id")
    dem = demand.copy()
    rows = source_rows(demand)
    labels = demand.index if rows is None else rows
    pops = {}
    for col in ("pop", "pop_60", "pop_0_17"):
        if col not in dem.columns:
            dem[col] = np.nan
            notes.append(Note(f"需求点没有 {col} 列：以其加权的指标留空", f"demand has no {col} column: indicators weighted by it are left empty"))
            continue
        pops[col] = dem[col] = _numeric_column(demand, col, what="population", file=demand.attrs.get("source"),
                                               rows=labels, required=True, nonneg=True)
    _check_pop_parts(pops, fields={}, file=demand.attrs.get("source"), rows=labels)
    for t in type_list:
        wcol = catalogue[t].weight
        if wcol not in ("pop", "pop_60", "pop_0_17") and wcol not in pops:
            # Any demand column may weigh a type (低保户数, 留守儿童数...): same checks as the people columns.
            pops[wcol] = dem[wcol] = weight_column(demand, wcol, labels=labels)

    for t in type_list:
        wcol = catalogue[t].weight
        if wcol in pops and not allow_zero_weight and not np.nansum(pops[wcol]) > 0:
            raise InputError(
                f"{wcol} is 0 for every demand point: coverage of people for {t} cannot be computed "
                f"(wrong column, or a template without numbers?); pass allow_zero_weight=True to continue "
                "without those indicators",
                file=demand.attrs.get("source"), field=wcol)
        if wcol in pops and not np.nansum(pops[wcol]) > 0:
            notes.append(Note(f"需求点的 {wcol} 全为 0：{catalogue[t].name_zh}的人口覆盖指标无法计算",
                              f"{wcol} is 0 for every demand point: people indicators of {t} cannot be computed"))
    return dem


def _unit_checks(units, dem, fac, demand, first_net: Network, *, invalid_units, allow_outside, allow_empty_units,
                 max_outside_share, notes: list, check_rows: list):
    """Repair and check the admin units; sets ``unit_code`` on ``dem`` and ``fac``; returns the units."""
    # Unit checks first: they are cheap and a wrong unit layer makes every later number wrong.
    _require_columns(units, ["code", "name"], "admin units")
    if units.crs is None:
        raise CRSError("admin units have no CRS", file=units.attrs.get("source"))
    units = units.copy()
    units["code"] = units["code"].astype(str)
    units, rows = _checks.repair_units(units, how=invalid_units, crs=first_net.crs)
    check_rows += rows
    repaired = rows
    for r in rows:
        notes.append(Note(f"行政单位 {r['item']}（{r['name']}）的面无效，已修复：{r['detail_zh']}",
                          f"admin unit {r['item']} ({r['name']}): invalid polygon repaired: {r['detail_en']}"))
    dem["unit_code"], rows = _checks.assign_units(dem, units, crs=first_net.crs)
    check_rows += rows
    fac["unit_code"] = _checks.assign_units(fac, units, crs=first_net.crs)[0]
    rows, unit_notes = _checks.check_unit_demand(
        dem, units, demand_src=demand.attrs.get("source"), allow_outside=allow_outside,
        allow_empty_units=allow_empty_units, max_outside_share=max_outside_share, repaired=repaired)
    check_rows += rows
    notes.extend(Note(zh, en) for zh, en in unit_notes)
    return units


def _snap_inputs(nets, used, used_modes, first_net: Network, dem, fac, demand, facilities, *, max_snap_m, fsnaps):
    """Snap demand to every mode's network (``fsnaps``: the facilities', already); ``snap_m``/``too_far`` on ``dem``
    and ``fac`` (a facility against its own type's mode).  Returns the snaps per mode and the snap limits."""
    snaps: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {
        m: (snap(nets[m], dem, max_distance=max_snap_m), fsnaps[m]) for m in used_modes
    }
    dsnap, fsnap = snaps[first_net.mode]
    dem["snap_m"] = dsnap["snap_m"]
    dem["too_far"] = dsnap["too_far"]
    fac["snap_m"] = fsnap["snap_m"]
    fac["too_far"] = fsnap["too_far"]
    for m in used_modes[1:]:
        # A facility is judged against the network of its own type's mode.
        own = fac["type"].map(lambda t: t in used and used[t].mode == m).to_numpy(bool)
        fac.loc[own, "snap_m"] = snaps[m][1].loc[own, "snap_m"]
        fac.loc[own, "too_far"] = snaps[m][1].loc[own, "too_far"]
    fac["too_far"] = fac["too_far"].astype(bool)
    for frame, what, src in ((dem, "demand points", demand), (fac, "facilities", facilities)):
        far = frame["too_far"].to_numpy()
        if len(frame) and far.mean() > 0.5:
            first = frame.index[far][0]
            raise InputError(
                f"{int(far.sum())} of {len(frame)} {what} are farther than the snap limit from the road network "
                f"(first: {frame.loc[first, 'snap_m']:.0f} m away): are they in the network's area, is the datum right "
                "(wgs84/gcj02/bd09) and are lon/lat swapped?",
                **_where(src, first), field="geometry",
            )
    limits = {m: float(max_snap_m) if max_snap_m is not None else MAX_SNAP_M[m] for m in MAX_SNAP_M}
    return snaps, limits


def _far_checks(dem, fac, demand, facilities, first_net: Network, type_list, catalogue: Catalogue, limits, *,
                allow_far_facilities, notes: list, check_rows: list) -> None:
    """Notes and check rows for demand and facilities beyond the snap limit."""
    check_rows += _checks.check_far_facilities(fac, facilities, type_list=type_list, catalogue=catalogue, limits=limits,
                                               allow=allow_far_facilities)
    if dem["too_far"].any():
        n_far = int(dem["too_far"].sum())
        notes.append(Note(f"{n_far} 个需求点距路网超过吸附限值，计为未覆盖", f"{n_far} demand point(s) lie farther than the snap limit from any road: counted as not covered"))
        first = dem.index[dem["too_far"].to_numpy()][0]
        check_rows.append(_checks._row(
            "demand_far_from_network", dem.at[first, "id"] if "id" in dem else first, None, demand.attrs.get("source"),
            _where(demand, first)["row"],
            f"{n_far} 个需求点距{_checks.MODE_ZH[first_net.mode]}路网超过 {limits[first_net.mode]:,.0f} 米（首个见本行），计为未覆盖。",
            f"{n_far} demand point(s) beyond {limits[first_net.mode]:,.0f} m of the {first_net.mode} network (first on "
            "this row): counted as not covered."))
    far_fac = fac["type"].isin(type_list).to_numpy() & fac["too_far"].to_numpy()
    if far_fac.any():
        # Presence in a unit is a register fact (the centre exists there): far facilities still
        # count for has_facility; only the travel times leave them out.
        notes.append(Note(f"{int(far_fac.sum())} 处设施距路网超过吸附限值，未参与出行时间计算，但仍计入所在单位的设施覆盖（有设施）",
                          f"{int(far_fac.sum())} facility(ies) lie farther than the snap limit from any road: left out "
                          "of travel times, but still counted as present in their unit (a register fact)"))


def _area_inputs(fac, catalogue: Catalogue, type_list, used, fsnaps) -> list:
    """What :func:`areas_begun` traces per type: its network, its facilities on the network, the cutoff."""
    out = []
    for t in type_list:
        net = used[t]
        fsn = fsnaps[net.mode]
        sel = fac.index[(fac["type"] == t) & ~fsn["too_far"]]
        if len(sel):
            out.append((t, net, fac.loc[sel], fsn.loc[sel], catalogue[t].cutoff_min * 60.0))
    return out


def _measure_types(dem, fac, catalogue: Catalogue, type_list, used, snaps, *, has_capacity: bool) -> None:
    """Per type: door-to-door minutes, nearest facility, covered and 2SFCA on ``dem``."""
    for t in type_list:
        ft = catalogue[t]
        net = used[t]
        dsn, fsn = snaps[net.mode]
        sel = fac.index[(fac["type"] == t) & ~fsn["too_far"]]
        cutoff_s = ft.cutoff_min * 60.0
        # Door to door: access stretch + partial edges + network (geoplan.network.snap).
        cost, src = nearest_points(net, fsn.loc[sel], dsn, towards=True)
        minutes = cost / 60.0
        nearest_id = np.where(src >= 0, fac.loc[sel, "id"].to_numpy()[np.maximum(src, 0)] if len(sel) else None, None)
        covered = (minutes <= ft.cutoff_min + 1e-9) & ~dsn["too_far"].to_numpy()
        dem[f"{t}_min"] = minutes
        dem[f"{t}_nearest"] = nearest_id
        dem[f"{t}_covered"] = covered
        if has_capacity and len(sel):
            # Beds (or places) per person of the served group reachable within the cutoff (2SFCA).
            dem[f"{t}_2sfca"] = two_step_fca(
                net, fsn.loc[sel], fac.loc[sel, "capacity"].to_numpy(float),
                dsn, np.where(dsn["too_far"], 0.0, np.nan_to_num(dem[ft.weight].to_numpy())), cutoff=cutoff_s,
            )
