"""The presence-only branch of ``geoplan coverage`` (no network, no demand): which units have a facility.

Used when ``coverage`` gets neither ``--network``/``--place`` nor ``--demand``/``--census``: the register
(which may lack coordinates) is matched to ``--units`` and ``--villages`` by its 所属村（社区）代码 /
所属乡镇（街道）代码 (:func:`geoplan.coverage.assess_presence`).  The report folder holds report.md/html/xlsx,
``summary.csv``, ``units.csv`` and ``checks.csv``.
"""

from __future__ import annotations

from pathlib import Path


def presence_run(*, facilities_path, facilities_datum, units_path, units_datum, villages_path, villages_datum,
                 units_store, config_path, mode_args, types, as_of, other_types, output, overwrite, lang, title, area
                 ) -> dict:
    """Read the inputs, run :func:`geoplan.coverage.assess_presence` and write the report folder."""
    import pandas as pd

    from geoplan import coverage, io
    from geoplan._errors import InputError
    from geoplan._output import output_folder
    from geoplan.cli._common import resolve_types
    from geoplan.coverage import standards
    from geoplan.io._register_read import read_register, read_unit_list
    from geoplan.network import parse_modes
    from geoplan.outputs._coverage_outputs import checks_section, standards_table, summary_table
    from geoplan.outputs._report import Section, write_report

    if units_path is None and villages_path is None and units_store is None:
        raise InputError("a presence run (no --network and no --demand/--census) needs --units and/or --villages "
                         "(or --units-store with --as-of)", field="--units")
    cat = standards.load_catalogue(config_path)
    cat = cat.with_modes(parse_modes(mode_args, cat), source="--mode")
    keys = resolve_types(types, cat)
    ext = Path(facilities_path).suffix.lower()
    if ext in (".csv", ".txt", ".tsv", ".xlsx", ".xls"):
        fac = read_register(facilities_path)
    else:  # a GIS layer: its points place facilities without codes
        fac = io.read_points(facilities_path, datum=facilities_datum, kind="facilities")
    units = read_unit_list(units_path, datum=units_datum, datum_option="--units-datum") if units_path else None
    villages = read_unit_list(villages_path, datum=villages_datum) if villages_path else None
    divisions = None
    if units_store:
        from geoplan.registers import Store
        from geoplan.registers.boundaries import load_divisions

        with Store(units_store, readonly=True) as store:
            divisions = load_divisions(store)
    result = coverage.assess_presence(fac, units=units, villages=villages, catalogue=cat, types=keys, as_of=as_of,
                                      divisions=divisions, other_types=other_types)
    zh = lang == "zh"
    title = title or ((area or "") + ("设施覆盖（村、社区与乡镇有无设施）" if zh else " facility presence by unit")).strip()
    lead = ("无路网、无人口：只评估各乡镇（街道）和村（社区）有无设施（按台账的所属单位代码）。"
            if zh else "No network and no population: only whether each unit has a facility (by the register's unit codes).")
    bullet = "· " if zh else "- "
    units_table = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    secs = [Section("概况" if zh else "Overview", text=lead),
            Section("指标" if zh else "Indicators", table=summary_table(result, lang), sheet="指标" if zh else "summary"),
            Section("各单位" if zh else "Units", table=units_table, sheet="单位" if zh else "units"),
            checks_section(result, lang),
            Section("标准" if zh else "Standards", table=standards_table(result.catalogue, lang, result.modes)),
            Section("数据与方法说明" if zh else "Data and method",
                    text="\n\n".join(bullet + n.text(lang) for n in result.notes) or "—")]
    final = Path(output)
    with output_folder(final, overwrite=overwrite) as tmp:
        paths = write_report(tmp, title=title, sections=secs, lang=lang)
        for name, frame in (("summary", result.summary), ("units", units_table), ("checks", result.checks)):
            frame.to_csv(tmp / f"{name}.csv", index=False, encoding="utf-8-sig")
            paths[name] = tmp / f"{name}.csv"
        paths = {k: final / Path(v).relative_to(tmp) for k, v in paths.items()}
    return paths
