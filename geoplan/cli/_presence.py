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
    zh = lang == "zh"
    title = title or ((area or "") + ("设施覆盖（村、社区与乡镇有无设施）" if zh else " facility presence by unit")).strip()
    lead = ("无路网、无人口：只评估各乡镇（街道）和村（社区）有无设施（按台账的所属单位代码）。"
            if zh else "No network and no population: only whether each unit has a facility (by the register's unit codes).")
    bullet = "· " if zh else "- "
    units_table = pd.DataFrame(result.units.drop(columns="geometry", errors="ignore"))
    by_township = _by_township(units_table, result.catalogue, lang)
    secs = [Section("概况" if zh else "Overview", text=lead),
            Section("指标" if zh else "Indicators", table=summary_table(result, lang), sheet="指标" if zh else "summary"),
            Section("各乡镇（街道）" if zh else "Townships",
                    text=("每格：乡镇（街道）的设施数；村级类型为有设施的村（社区）数/村（社区）总数。逐村明细见 units.csv。"
                          if zh else "Each cell: the township's facilities; for village-level types, villages with one / "
                          "villages. Every village is in units.csv."),
                    table=by_township, sheet="乡镇" if zh else "townships"),
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


def _by_township(units, catalogue, lang: str):
    """One row per township: its facilities per type, and its villages with a facility (the full table is long)."""
    import pandas as pd

    from geoplan.coverage._units import kind_label

    zh = lang == "zh"
    twp = units[units["level"] == "township"]
    if not len(twp):
        return pd.DataFrame()
    first = twp.drop_duplicates("unit_code")
    out = pd.DataFrame({("代码" if zh else "Code"): first["unit_code"].to_numpy(),
                        ("名称" if zh else "Name"): first["unit_name"].to_numpy(),
                        ("类别" if zh else "Kind"): [kind_label(k, lang) for k in first["unit_kind"]]})
    vil = units[units["level"] == "village"]
    for t in dict.fromkeys(twp["type"]):
        n = twp[twp["type"] == t].set_index("unit_code")["n_facilities"]
        col = n.reindex(first["unit_code"]).fillna(0).astype(int).astype(str).to_numpy()
        v = vil[vil["type"] == t]
        if len(v) and catalogue[t].level == "village":
            has = v.groupby("parent_code")["has_facility"].agg(["sum", "size"])
            has = has.reindex(first["unit_code"])
            col = [f"{int(a)}/{int(b)}" if pd.notna(b) else "—" for a, b in zip(has["sum"], has["size"])]
        out[catalogue[t].name(lang)] = col
    return out
