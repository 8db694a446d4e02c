"""``geoplan suggest``: where to build the next facilities."""

from __future__ import annotations

import click

from geoplan._errors import InputError
from geoplan.cli._common import (
    check_kwargs, check_opts, datum_opt, echo_paths, lang_opt, mode_opt, output_opt, overwrite_opt, parse_weights,
    resolve_types, weight_opt,
)


@click.command("suggest")
@click.option("--demo", "use_demo", is_flag=True, help="用内置演示数据 / use the embedded demo data.")
@click.option("--network", "network_path", type=click.Path(exists=True, dir_okay=False),
              help="路网文件 / road network (.osm.pbf, .osm, .graphml or a line layer).")
@mode_opt
@click.option("--facilities", "facilities_path", type=click.Path(exists=True, dir_okay=False), help="现有设施 / existing facilities.")
@datum_opt("facilities", "设施")
@click.option("--demand", "demand_path", type=click.Path(exists=True, dir_okay=False), help="需求点 / demand points.")
@datum_opt("demand", "需求点")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False), help="行政单位面 / admin units.")
@datum_opt("units", "行政单位")
@click.option("--candidates", "candidates_path", type=click.Path(exists=True, dir_okay=False),
              help="候选点（公有用地、村委会、社区中心…）/ candidate sites; default: road nodes on a grid.")
@datum_opt("candidates", "候选点")
@click.option("--spacing", type=float, default=200.0, show_default=True, help="无候选点时路网候选间距(米) / grid spacing for network candidates.")
@click.option("--type", "facility_type", required=True, multiple=True,
              help="设施类型，可重复：多类时合址选址 / facility type (key or Chinese name); repeat for several types, co-located.")
@click.option("--model", type=click.Choice(["mclp", "lscp", "pmedian", "reach_target"]), default="mclp", show_default=True,
              help="mclp: p 处新址覆盖最多; lscp: 最少新址全覆盖; pmedian: 总出行最短; reach_target: 达到目标的最少新址.")
@click.option("-p", "p", type=int, help="新址数量 / number of new sites (mclp, pmedian).")
@click.option("--target", type=float,
              help="目标覆盖率 0–1 (reach_target；多类时用于每一类，缺省取各类人口目标或 1) / target share (several types: for each).")
@click.option("--site-cost", type=float, default=1.0, show_default=True,
              help="多类时：单独设置一处设施的费用 / several types: cost of one facility in a building of its own.")
@click.option("--saving", type=float, default=0.5, show_default=True,
              help="多类时：合址每处节省的费用 / several types: saving for a facility sharing a building.")
@click.option("--indicator", type=click.Choice(["people", "units"]), default="people", show_default=True,
              help="reach_target 的指标：覆盖人口比例或有设施的单位比例 / people covered or units with a facility.")
@weight_opt
@click.option("--capacity", "capacity",
              help="容量（床位/服务名额）：列名，或统一数值（无该列值的站点）/ capacity per site: a column name, or one "
                   "number for every site without its own 'capacity' (mclp, pmedian).")
@click.option("--solver", type=click.Choice(["exact", "greedy"]), default="exact", show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="求解时限(秒) / solver time limit.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), help="标准与目标配置 / TOML or YAML.")
@check_opts
@click.option("--basemap", type=click.Choice(["osm", "amap", "tianditu"]), default="osm", show_default=True)
@click.option("--title", default=None, help="报告标题（默认：评估范围 + 标准标题）/ report title.")
@click.option("--area", default=None, help="评估范围，如“湘潭市雨湖区”，写入标题与概况 / area assessed, for the title.")
@click.option("--report-date", default=None, metavar="YYYY-MM-DD",
              help="报告生成日期（默认 SOURCE_DATE_EPOCH 或今天）/ report date (default SOURCE_DATE_EPOCH or today).")
@output_opt
@overwrite_opt
@lang_opt
def command(use_demo, network_path, mode_args, facilities_path, facilities_datum, demand_path, demand_datum, units_path,
            units_datum, candidates_path, candidates_datum, spacing, facility_type, model, p, target, site_cost, saving, indicator,
            weight_args, capacity, solver, time_limit, config_path, invalid_units, allow_empty_units, allow_outside,
            allow_far_facilities, allow_zero_weight, other_types, basemap, title, area, report_date, output, overwrite, lang):
    """选址建议：保留现有设施，给出排序的新址及建设前后指标 / suggest new sites.

    \b
    Examples:
      geoplan suggest --demo --type 社工站 -p 2 -o 选址
      geoplan suggest --network roads.osm.pbf --facilities 设施.xlsx --demand 人口.csv \\
          --units 街道.geojson --type 社区养老服务站 --model reach_target --target 0.9 -o 选址
      geoplan suggest --demo --type 社工站 --type 未成年人保护工作站 --target 0.9 --saving 0.5 -o 合址

    \b
    With several --type: the fewest-cost new facilities so each type reaches its target share of people
    (--target, else the type's people target, else 1), a facility sharing a building costing --saving less.
    """
    from geoplan import demo as gdemo
    from geoplan import io
    from geoplan.coverage import standards
    from geoplan import suggest
    from geoplan._output import check_new_file
    from geoplan.network import load_network, parse_modes
    from geoplan.suggest import suggest_colocated

    check_new_file(output, overwrite=overwrite)
    cat = standards.load_catalogue(config_path)
    cat = cat.with_modes(parse_modes(mode_args, cat), source="--mode")
    types = resolve_types(facility_type, cat)
    weights = parse_weights(weight_args, cat, types) or {}
    modes = {t: cat[t].mode for t in types}
    if len(set(modes.values())) > 1:
        raise InputError("co-located site suggestion measures every type on one network, but the modes differ ("
                         + ", ".join(f"{t}: {m}" for t, m in modes.items()) + "); give one --mode walk|drive",
                         field="--mode")
    mode = modes[types[0]]  # the mode the types are configured (or overridden) to use; no fallback
    note = ""
    if use_demo:
        demo = gdemo.load_demo(mode=mode, lang=lang)
        net, fac, dem, units = demo.network, demo.facilities, demo.demand, demo.units
        note = gdemo.demo_note(lang, demand=dem)
    else:
        if not (network_path and facilities_path and demand_path):
            raise InputError("give --demo, or --network, --facilities and --demand")
        net = load_network(network_path, mode=mode)
        fac = io.read_points(facilities_path, datum=facilities_datum, kind="facilities")
        dem = io.read_points(demand_path, datum=demand_datum, kind="demand")
        units = io.read_polygons(units_path, datum=units_datum) if units_path else None
    cand = io.read_points(candidates_path, datum=candidates_datum, kind="points") if candidates_path else None
    checks = check_kwargs(invalid_units, allow_empty_units, allow_outside, allow_far_facilities, allow_zero_weight,
                          other_types)
    if len(types) > 1:
        # Several types: one model (least cost to reach every type's target); single-type options do not apply.
        ctx = click.get_current_context()
        given = [{"p": "-p", "weight_args": "--weight"}.get(n, f"--{n}")
                 for n in ("model", "p", "indicator", "capacity", "weight_args")
                 if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
        if given:
            raise InputError(f"{', '.join(given)} apply to one --type; with several types each type's target is reached at "
                             "least cost (use --target, --site-cost, --saving)", field=given[0])
        res = suggest_colocated(net, fac, dem, types=types, candidates=cand, units=units, targets=target, catalogue=cat,
                                site_cost=site_cost, saving=saving, solver=solver, time_limit=time_limit, spacing_m=spacing,
                                checks=checks)
    else:
        res = suggest.suggest_sites(net, fac, dem, facility_type=types[0], candidates=cand, units=units, model=model, p=p,
                                    target=target, indicator=indicator, catalogue=cat, solver=solver, time_limit=time_limit,
                                    spacing_m=spacing, capacity=_capacity_arg(capacity), weight=weights.get(types[0]),
                                    checks=checks)
    if len(types) > 1:
        from geoplan.outputs._colocate_outputs import write_colocated as write
    else:
        from geoplan.outputs._suggest_outputs import write_suggestion as write
    echo_paths(write(res, output, lang=lang, overwrite=overwrite, basemap=basemap, data_note=note, title=title,
                     area=area, date=report_date))


def _capacity_arg(text: str | None) -> str | float | None:
    """``--capacity 30`` is a number for every site; anything else names a column."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text
