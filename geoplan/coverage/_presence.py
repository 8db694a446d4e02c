"""Presence-only coverage (:func:`assess_presence`): which units have a facility of each type, from codes or places.

No network and no demand: the unit tables and the summary hold the presence indicators per level
(township, village); people columns come from the unit tables themselves (e.g. a census table joined by code).
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from geoplan.coverage import _checks, _villages
from geoplan._errors import InputError
from geoplan.coverage._compare import inputs_at
from geoplan.coverage._coverage import CoverageResult, Note
from geoplan.coverage._register import counted_rows, parse_as_of
from geoplan.coverage._indicators import _indicators
from geoplan.coverage.standards import Catalogue, default_catalogue

__all__ = ["assess_presence"]


def assess_presence(facilities: pd.DataFrame, *, units: pd.DataFrame | None = None, villages: pd.DataFrame | None = None,
                    catalogue: Catalogue | None = None, types: Iterable[str] | None = None, as_of=None,
                    divisions: pd.DataFrame | None = None, other_types: str = "error") -> CoverageResult:
    """Presence indicators only (which units have a facility of each type): no network, no demand.

    Parameters
    ----------
    facilities
        Facilities with ``type`` and, for codes, ``village_code`` / ``township_code`` (a register's
        所属村（社区）代码 / 所属乡镇（街道）代码); points are placed in units spatially when they carry no code.
    units, villages
        Township and village units with ``code`` and ``name``: polygons, points or plain code tables.
        People columns (``pop``, ``pop_60``, ``pop_0_17`` or a type's weight column, e.g. joined from a
        census table by code) fill the people columns of the unit table.
    catalogue
        Facility types and targets (default :func:`geoplan.coverage.default_catalogue`).
    types
        Limit to these types (default: the catalogue's types and every type present in ``facilities``).
    as_of
        Evaluate the state at this date (ISO text, a date or a year): only built facilities whose
        ``year_built`` is not after its year count (:func:`geoplan.coverage.assess`); statuses are read
        with or without ``as_of`` (only 建成 counts; the others become rows of ``checks``).
    divisions
        A boundaries register with history (:mod:`geoplan.registers.boundaries`); with ``as_of`` the
        township and village units are those in force on that date (``units``/``villages`` not given) and
        facility codes of units merged away move to the unit they went into.
    other_types
        ``"error"`` (default): a row whose type is not in the catalogue is an error; ``"skip"``: such rows
        are left out and listed (``facility_type_skipped`` rows of ``checks`` and a note).

    Returns
    -------
    CoverageResult
        ``demand``, ``service_areas`` and ``service_areas_by_type`` are None; ``units`` and ``summary``
        hold the presence indicators per level (``share_units_with_facility``; no people covered).

    Raises
    ------
    InputError
        A missing column, an unknown type, a duplicate unit code or a malformed village code.
    """
    catalogue = catalogue or default_catalogue()
    as_of = parse_as_of(as_of)
    notes: list = []
    if divisions is not None:  # units as of the date, from the register's history (issue 15 item 7)
        if units is not None or villages is not None:
            raise InputError("give either divisions= (with as_of) or units=/villages=, not both", field="divisions")
        facilities, units, villages, lines = inputs_at(facilities, divisions, as_of)
        notes += [Note(zh, en) for zh, en in lines]
    vrows: list = []
    vlines: list = []
    fac, units, vil, type_list = _villages.presence(facilities, units=units, villages=villages, catalogue=catalogue,
                                                    types=types, other_types=other_types, as_of=as_of,
                                                    check_rows=vrows, lines=vlines)
    notes += [Note(zh, en) for zh, en in vlines]
    keep, rows, lines = counted_rows(fac if "id" in fac.columns else fac.assign(id=fac.index), facilities,
                                     fac["type"].isna(), catalogue, as_of=as_of, other_types=other_types)
    notes += [Note(zh, en) for zh, en in lines]
    fac = fac[keep]
    if "status" in fac.columns:  # the rows kept are built (an empty status counts as built)
        fac = fac.assign(status="built")
    unit_table, summary, gaps = _indicators(None, fac, units, catalogue, type_list, villages=vil)
    return CoverageResult(demand=None, facilities=fac, service_areas=None, service_areas_by_type=None, units=unit_table,
                          summary=summary, gaps=gaps, catalogue=catalogue.subset(type_list), notes=notes, network_report={},
                          modes={t: catalogue[t].mode for t in type_list},
                          checks=pd.DataFrame(vrows + rows, columns=_checks.CHECK_COLUMNS), as_of=as_of)
