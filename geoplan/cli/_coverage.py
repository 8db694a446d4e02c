"""``geoplan coverage``: network coverage report from the planner's files."""

from __future__ import annotations

import click

from geoplan._errors import InputError
from geoplan.cli._common import (
    check_kwargs, check_opts, datum_opt, echo_paths, lang_opt, mode_opt, output_opt, overwrite_opt, parse_weights,
    resolve_types, weight_opt,
)

@click.command("coverage")
@click.option("--network", "network_path", type=click.Path(exists=True, dir_okay=False),
              help="路网文件 / road network: .osm.pbf, .osm, .graphml, or a road line layer (.shp/.gpkg/.geojson).")
@click.option("--place", help="在线下载路网的地名（需联网）/ download the network for this place with osmnx (online).")
@mode_opt
@click.option("--walk-speed", type=float, default=None,
              help="步行速度 km/h（默认 geoplan.network.WALK_SPEED_KMH，4.5）/ walking speed (default: "
                   "geoplan.network.WALK_SPEED_KMH, 4.5).")
@click.option("--facilities", "facilities_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="设施表 / facilities: CSV, Excel, GeoJSON, GPKG or Shapefile with 经度/纬度/名称/类型.")
@datum_opt("facilities", "设施")
@click.option("--demand", "demand_path", type=click.Path(exists=True, dir_okay=False),
              help="需求点 / demand points with 人口 (and 60岁以上, 0-17岁); optional with --census.")
@datum_opt("demand", "需求点")
@click.option("--census", "census_path", type=click.Path(exists=True, dir_okay=False),
              help="按行政区划代码的人口表（如七普，CSV/Excel）：各单位人口分配到单位内的需求点（无 --demand 时用路网节点），"
                   "需 --units / population table by division code (census; CSV/Excel): each unit's people go to the "
                   "demand points inside it (road nodes without --demand); needs --units.")
@click.option("--census-by", default=None, metavar="floor_area|count|COLUMN",
              help="人口表的分配依据：建筑面积、点数或需求点的某列（默认：有建筑面积时按面积，否则按点数）/ split "
                   "each unit's people by floor_area, count or a demand column (default: floor area when given, else count).")
@click.option("--census-sheet", default=None, help="人口表的工作表 / Excel sheet of the census table.")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False),
              help="行政单位面 / admin-unit polygons (街道/乡镇 or 村/社区) with code and name.")
@datum_opt("units", "行政单位")
@click.option("--villages", "villages_path", type=click.Path(exists=True, dir_okay=False),
              help="村（社区）：面、驻地点或代码表（行政区划代码/代码、名称，可含经度/纬度）；村级指标（社工站覆盖村（社区）、"
                   "互助养老覆盖村等）/ village-level units: polygons, seat points or a code table (code, name, optional "
                   "longitude/latitude), for the village indicators.")
@datum_opt("villages", "村（社区）")
@click.option("--units-store", "units_store", type=click.Path(exists=True, dir_okay=False),
              help="区划台账（geoplan boundaries 的 .gpkg，含合并、拆分历史）：取 --as-of 时点有效的乡镇（街道）和"
                   "村（社区）单位，所属单位已合并的设施计入合并后的单位 / boundaries register (.gpkg with history): the "
                   "township and village units in force on --as-of; facilities in merged units count in the unit they went into.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="标准与目标配置 / TOML or YAML overriding cutoffs, modes and targets.")
@click.option("--type", "types", multiple=True, help="只评估这些设施类型 / only these facility types (repeatable).")
@weight_opt
@click.option("--as-of", "as_of",
              help="评估时点（如 2022-12-31）：只计入状态为建成且建成年份不晚于该年的设施 / evaluate the state at this "
                   "date: facilities built with a year built no later than its year.")
@click.option("--no-service-areas", is_flag=True, help="不计算服务范围面 / skip service-area polygons.")
@check_opts
@click.option("--basemap", type=click.Choice(["osm", "amap", "tianditu"]), default="osm", show_default=True,
              help="地图底图 / map basemap (amap shifts overlays to GCJ-02).")
@click.option("--no-map", "no_map", is_flag=True,
              help="不生成网页地图 map.html / write no web map (e.g. for very many demand points).")
@output_opt
@overwrite_opt
@lang_opt
@click.option("--title", default=None, help="报告标题（默认：评估范围 + 年份 + 标准标题）/ report title.")
@click.option("--area", default=None, help="评估范围，如“湘潭市雨湖区”，写入标题与概况 / area assessed, for the title.")
@click.option("--report-date", default=None, metavar="YYYY-MM-DD",
              help="报告生成日期（默认 SOURCE_DATE_EPOCH 或今天）/ report date (default SOURCE_DATE_EPOCH or today).")
def command(network_path, place, mode_args, walk_speed, facilities_path, facilities_datum, demand_path, demand_datum,
            census_path, census_by, census_sheet,
            units_path, units_store, units_datum, villages_path, villages_datum, config_path, types, weight_args, as_of, no_service_areas, invalid_units,
            allow_empty_units, allow_outside, allow_far_facilities, allow_zero_weight, other_types, basemap, no_map, output,
            overwrite, lang, title, area, report_date):
    """评估设施覆盖并生成报告 / assess coverage and write a report folder.

    Each facility type is measured on the network of its own travel mode (walk or
    drive, from --config or --mode); both graphs are built from the one network
    source when both are needed.

    \b
    Example:
      geoplan coverage --network roads.osm.pbf --facilities 设施.xlsx \\
          --facilities-datum gcj02 --demand 小区人口.csv --units 街道.geojson -o 覆盖评估2026
      geoplan coverage ... --mode 殡仪馆=drive -o 覆盖评估2026
      geoplan coverage --facilities 台账.xlsx --units 乡镇.xlsx --villages 村社区.xlsx -o 村级覆盖
        (no --network/--demand: presence only, by the register's 所属村（社区）代码)
    """
    from geoplan import coverage
    from geoplan import io
    from geoplan.coverage import standards
    from geoplan._output import check_new_file
    from geoplan.network import load_networks, parse_modes

    check_new_file(output, overwrite=overwrite)  # fail before the slow steps
    if units_store and (units_path or not as_of):
        raise InputError("--units-store needs --as-of and replaces --units", field="--units-store")
    if not (network_path or place or demand_path or census_path):  # presence only: which units have a facility
        from geoplan.cli._presence import presence_run

        echo_paths(presence_run(
            facilities_path=facilities_path, facilities_datum=facilities_datum, units_path=units_path,
            units_datum=units_datum, villages_path=villages_path, villages_datum=villages_datum, units_store=units_store,
            config_path=config_path, mode_args=mode_args, types=types, as_of=as_of, other_types=other_types,
            output=output, overwrite=overwrite, lang=lang, title=title, area=area, report_date=report_date,
            map=not no_map))
        return
    if bool(network_path) == bool(place):
        raise InputError("give exactly one of --network (a file) or --place (online)")
    cat = standards.load_catalogue(config_path)
    cat = cat.with_modes(parse_modes(mode_args, cat), source="--mode")
    keys = resolve_types(types, cat)
    weights = parse_weights(weight_args, cat, keys)  # before the slow steps
    needed = {cat[t].mode for t in (keys or cat.keys)}
    speed = {} if walk_speed is None else {"walk_speed_kmh": walk_speed}  # None: the library's one default
    nets = load_networks(network_path, place=place, modes=needed, **speed)
    fac = io.read_points(facilities_path, datum=facilities_datum, kind="facilities")
    dem = io.read_points(demand_path, datum=demand_datum, kind="demand") if demand_path else None
    units = io.read_polygons(units_path, datum=units_datum) if units_path else None
    villages, unit_notes = None, []
    if villages_path:
        villages = io.read_unit_list(villages_path, datum=villages_datum)
    if units_store:  # units as of the date, from the boundaries register's history (issue 15 item 7)
        from geoplan.registers import Store
        from geoplan.registers.boundaries import load_divisions

        with Store(units_store, readonly=True) as store:
            divisions = load_divisions(store)
        fac, units, villages, unit_notes = coverage.inputs_at(fac, divisions, as_of)
    census = None
    if census_path:
        if units is None:
            raise InputError("--census needs --units (the units its codes name)", field="--units")
        census = coverage.census_demand(io.read_census(census_path, sheet=census_sheet), units=units, demand=dem,
                                        networks=nets, by=census_by)
        dem = census.demand
    elif dem is None:
        raise InputError("give --demand (points with people) or --census with --units", field="--demand")
    result = coverage.assess(nets, fac, dem, units=units, villages=villages, catalogue=cat, types=keys,
                             with_service_areas=not no_service_areas, as_of=as_of,
                             weights=weights,
                             **check_kwargs(invalid_units, allow_empty_units, allow_outside, allow_far_facilities,
                                          allow_zero_weight, other_types))
    result.notes.extend(coverage.Note(zh, en) for zh, en in unit_notes)
    if census is not None:
        result.notes.extend(census.notes())  # the method and what was not matched go into the report
    paths = result.save(output, lang=lang, overwrite=overwrite, basemap=basemap, title=title, area=area,
                         date=report_date, map=not no_map)
    echo_paths(paths)
