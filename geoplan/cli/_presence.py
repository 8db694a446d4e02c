"""The presence-only branch of ``geoplan coverage`` (no network, no demand): which units have a facility.

Used when ``coverage`` gets neither ``--network``/``--place`` nor ``--demand``/``--census``: the register
(which may lack coordinates) is matched to ``--units`` and ``--villages`` by its 所属村（社区）代码 /
所属乡镇（街道）代码 (:func:`geoplan.coverage.assess_presence`).  The folder is the one
:meth:`~geoplan.coverage.CoverageResult.save` writes for such a result: report.md/html/xlsx/docx (with one row
per township, the villages as counts), ``summary.csv``, ``units.csv`` (every unit) and ``checks.csv``.
"""

from __future__ import annotations

from pathlib import Path


def presence_run(*, facilities_path, facilities_datum, units_path, units_datum, villages_path, villages_datum,
                 units_store, config_path, mode_args, types, as_of, other_types, output, overwrite, lang, title, area,
                 report_date=None, map=True) -> dict:
    """Read the inputs, run :func:`geoplan.coverage.assess_presence` and save the report folder."""
    from geoplan import coverage, io
    from geoplan._errors import InputError
    from geoplan.cli._common import resolve_types
    from geoplan.coverage import standards
    from geoplan.network import parse_modes

    if units_path is None and villages_path is None and units_store is None:
        raise InputError("a presence run (no --network and no --demand/--census) needs --units and/or --villages "
                         "(or --units-store with --as-of)", field="--units")
    cat = standards.load_catalogue(config_path)
    cat = cat.with_modes(parse_modes(mode_args, cat), source="--mode")
    keys = resolve_types(types, cat)
    ext = Path(facilities_path).suffix.lower()
    if ext in (".csv", ".txt", ".tsv", ".xlsx", ".xls"):
        fac = io.read_register(facilities_path)
    else:  # a GIS layer: its points place facilities without codes
        fac = io.read_points(facilities_path, datum=facilities_datum, kind="facilities")
    units = io.read_unit_list(units_path, datum=units_datum, datum_option="--units-datum") if units_path else None
    villages = io.read_unit_list(villages_path, datum=villages_datum) if villages_path else None
    divisions = None
    if units_store:
        from geoplan.registers import Store
        from geoplan.registers.boundaries import load_divisions

        with Store(units_store, readonly=True) as store:
            divisions = load_divisions(store)
    result = coverage.assess_presence(fac, units=units, villages=villages, catalogue=cat, types=keys, as_of=as_of,
                                      divisions=divisions, other_types=other_types)
    return result.save(output, lang=lang, overwrite=overwrite, title=title, area=area, date=report_date, map=map)
