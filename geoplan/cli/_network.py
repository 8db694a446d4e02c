"""``geoplan network``: build road networks from line layers (Shapefile, GeoPackage, DXF...)."""

from __future__ import annotations

import logging

import click

from geoplan._errors import InputError
from geoplan.cli._common import lang_opt, output_opt, overwrite_opt

log = logging.getLogger("geoplan")


@click.group(name="network")
def command() -> None:
    """路网：从道路线图层构建、修复并检查路网 / road networks from line layers."""


def _field_map(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise InputError(f"--field takes ATTRIBUTE=COLUMN (e.g. highway=道路等级), got {p!r}", field="--field")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@command.command(name="from-lines")
@click.argument("roads", type=click.Path(exists=True, dir_okay=True))
@output_opt
@overwrite_opt
@click.option("--mode", type=click.Choice(["walk", "drive"]), default="walk", show_default=True)
@click.option("--layer", default=None, help="Layer name in a multi-layer file (GeoPackage, DXF).")
@click.option("--crs", "crs", default=None, help="CRS of a layer that has none (DXF, Shapefile without .prj), e.g. EPSG:4547.")
@click.option("--datum", type=click.Choice(["gcj02", "bd09"]), default=None,
              help="The lon/lat are GCJ-02 (Amap/Tencent) or BD-09 (Baidu): shift to WGS-84 first.")
@click.option("--snap", "snap_tolerance", type=float, default=1.0, show_default=True,
              help="Close gaps at junctions up to this many metres (every move is reported).")
@click.option("--node-tolerance", type=float, default=0.01, show_default=True,
              help="Ends closer than this many metres are one node.")
@click.option("--level-col", multiple=True, help="Level column(s) (layer, bridge, tunnel, 层级): crossings on different levels are not joined "
              "and ends snap only to lines on their own level.")
@click.option("--field", "fields", multiple=True, help="ATTRIBUTE=COLUMN for highway/name/oneway/maxspeed, e.g. highway=道路等级.")
@click.option("--largest", is_flag=True, default=False, help="Keep only the largest connected part.")
@click.option("--drop-non-lines", is_flag=True, default=False, help="Leave out points/polygons mixed into the layer (reported).")
@click.option("--points", type=click.Path(exists=True), default=None,
              help="Facilities or demand points: report which fall on small connected parts.")
@lang_opt
def from_lines(roads, output, overwrite, mode, layer, crs, datum, snap_tolerance, node_tolerance, level_col,
               fields, largest, drop_non_lines, points, lang) -> None:
    """把道路线图层打断、修复为路网 / node and repair a road line layer into a network.

    Writes into OUTPUT: network.graphml (osmnx GraphML), network.gpkg (layers
    nodes, edges, repairs[, points]), components.csv and summary.md.

    Example: geoplan network from-lines roads.shp -o out/ --mode walk
    """
    import geopandas as gpd

    from geoplan import network

    gdf = network.read_lines(roads, layer=layer, datum=datum, crs=crs)
    G, report = network.graph_from_lines(
        gdf,
        mode=mode,
        node_tolerance=node_tolerance,
        snap_tolerance=snap_tolerance,
        level_col=list(level_col) or None,
        field_map=_field_map(fields) or None,
        largest_component=largest,
        drop_non_lines=drop_non_lines,
    )
    layers, notes = {}, ""
    if points is not None:
        pts = gpd.read_file(points, engine="pyogrio")
        cr = network.components_report(G, pts)
        layers["points"] = pts.to_crs(report.crs).join(cr.points.drop(columns=["node"]))
        off = int((~cr.points["on_largest"]).sum())
        notes = f"\n点位 / points: {len(pts):,}; 不在最大连通分量上 / not on the largest part: {off:,}\n"
    network.save_graph(G, report, output, overwrite=overwrite, layers=layers, notes=notes)
    c = report.counts
    msg = (
        f"{c['nodes']:,} nodes, {c['edges']:,} edges; parts before noding {report.naive_components:,}, "
        f"after {report.n_components:,}; {len(report.repairs):,} repairs → {output}"
    )
    if lang == "zh":
        msg = (
            f"节点 {c['nodes']:,}，边 {c['edges']:,}；连通分量 修复前 {report.naive_components:,}，"
            f"修复后 {report.n_components:,}；修复记录 {len(report.repairs):,} 条 → {output}"
        )
    click.echo(msg)
