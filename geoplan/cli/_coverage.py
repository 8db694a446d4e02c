"""``geoplan coverage``: network coverage report from the planner's files."""

from __future__ import annotations

import click

from geoplan.cli._common import datum_opt, echo_paths, lang_opt, output_opt, overwrite_opt


@click.command("coverage")
@click.option("--network", "network_path", type=click.Path(exists=True, dir_okay=False),
              help="路网文件 / road network: .osm.pbf, .osm, .graphml, or a road line layer (.shp/.gpkg/.geojson).")
@click.option("--place", help="在线下载路网的地名（需联网）/ download the network for this place with osmnx (online).")
@click.option("--mode", type=click.Choice(["walk", "drive"]), default="walk", show_default=True, help="步行或驾车 / travel mode.")
@click.option("--walk-speed", type=float, default=4.5, show_default=True, help="步行速度 km/h / walking speed.")
@click.option("--facilities", "facilities_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="设施表 / facilities: CSV, Excel, GeoJSON, GPKG or Shapefile with 经度/纬度/名称/类型.")
@datum_opt("facilities", "设施")
@click.option("--demand", "demand_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="需求点 / demand points with 人口 (and 60岁以上, 0-17岁).")
@datum_opt("demand", "需求点")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False),
              help="行政单位面 / admin-unit polygons (街道/乡镇 or 村/社区) with code and name.")
@datum_opt("units", "行政单位")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="标准与目标配置 / TOML or YAML overriding cutoffs and targets.")
@click.option("--type", "types", multiple=True, help="只评估这些设施类型 / only these facility types (repeatable).")
@click.option("--no-service-areas", is_flag=True, help="不计算服务范围面 / skip service-area polygons.")
@click.option("--basemap", type=click.Choice(["osm", "amap", "tianditu"]), default="osm", show_default=True,
              help="地图底图 / map basemap (amap shifts overlays to GCJ-02).")
@output_opt
@overwrite_opt
@lang_opt
def command(network_path, place, mode, walk_speed, facilities_path, facilities_datum, demand_path, demand_datum,
            units_path, units_datum, config_path, types, no_service_areas, basemap, output, overwrite, lang):
    """评估设施覆盖并生成报告 / assess coverage and write a report folder.

    \b
    Example:
      geoplan coverage --network roads.osm.pbf --facilities 设施.xlsx \\
          --facilities-datum gcj02 --demand 小区人口.csv --units 街道.geojson -o 覆盖评估2026
    """
    from geoplan import coverage, io, network, standards
    from geoplan._errors import InputError
    from geoplan._output import check_new_file

    check_new_file(output, overwrite=overwrite)  # fail before the slow steps
    if bool(network_path) == bool(place):
        raise InputError("give exactly one of --network (a file) or --place (online)")
    net = load_network(network_path, place=place, mode=mode, walk_speed_kmh=walk_speed)
    fac = io.read_points(facilities_path, datum=facilities_datum, kind="facilities")
    dem = io.read_points(demand_path, datum=demand_datum, kind="demand")
    units = io.read_polygons(units_path, datum=units_datum) if units_path else None
    cat = standards.load_catalogue(config_path)
    result = coverage.assess(net, fac, dem, units=units, catalogue=cat, types=list(types) or None,
                             with_service_areas=not no_service_areas)
    paths = result.save(output, lang=lang, overwrite=overwrite, basemap=basemap)
    echo_paths(paths)


def load_network(path, *, place=None, mode="walk", walk_speed_kmh=4.5):
    """A Network from a file (by its suffix) or a place name (online)."""
    from pathlib import Path

    from geoplan import network

    if place:
        return network.from_place(place, mode=mode, walk_speed_kmh=walk_speed_kmh)
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    if suffix.endswith(".graphml"):
        return network.from_graphml(path, mode=mode, walk_speed_kmh=walk_speed_kmh)
    if suffix.endswith((".pbf", ".osm", ".xml", ".osm.bz2")):
        return network.from_osm_file(path, mode=mode, walk_speed_kmh=walk_speed_kmh)
    from geoplan import lines

    return lines.network_from_lines(path, mode=mode, walk_speed_kmh=walk_speed_kmh)
