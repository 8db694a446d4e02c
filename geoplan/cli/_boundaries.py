"""``geoplan boundaries``: divisions with history, topology, shared lines, markers, inspections."""

from __future__ import annotations

from pathlib import Path

import click

from geoplan._errors import StoreError
from geoplan.cli._common import DATUMS, echo_paths, lang_opt, output_opt, overwrite_opt


@click.group("boundaries")
def command() -> None:
    """行政区划与界线 / administrative divisions, boundary lines and markers."""


# Datums are never guessed (as for every geoplan input): without --datum the file must state it.
_DATUM_HELP = ("坐标系：wgs84/cgcs2000（GPS、天地图）、gcj02（高德、腾讯）、bd09（百度）；中国大陆的坐标必须说明"
               "（文件的 CGCS2000/投影坐标系或“坐标系”列也算），不作猜测 / datum of the polygons; required in "
               "mainland China unless the file states it (a CGCS2000 or projected CRS, a 坐标系 column): "
               "geoplan never guesses.")


def _datum_opt(f):
    return click.option("--datum", type=click.Choice(DATUMS), default=None, help=_DATUM_HELP)(f)


def _units(path: str, datum: str | None):
    """Division polygons, read by :func:`geoplan.boundaries.read_units` (datum stated or asked for)."""
    from geoplan.registers import boundaries as B

    g = B.read_units(path, datum=datum, datum_option="--datum")
    if "code" in g.columns:
        g["code"] = g["code"].astype(str)
    return g


@command.command("demo")
@output_opt
@overwrite_opt
@lang_opt
def demo(output: str, overwrite: bool, lang: str) -> None:
    """湘潭示例：两个来源比较、拓扑、共有界线、建议界桩、报告与地图 / Xiangtan demo."""
    from geoplan.demo import run_boundaries_demo as run_demo
    from geoplan._output import output_folder

    with output_folder(output, overwrite=overwrite) as tmp:
        paths = run_demo(Path(tmp), lang=lang)
    echo_paths({k: Path(output) / Path(p).name for k, p in paths.items()})


@command.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False), help="GeoPackage store.")
@click.option("--valid-from", required=True, help="ISO date the units are in force from.")
@_datum_opt
@click.option("--code-col", default="code", show_default=True)
@click.option("--name-col", default="name", show_default=True)
def import_(path, store_path, valid_from, datum, code_col, name_col) -> None:
    """导入区划多边形到库（全部或不导入）/ import division polygons into a store (all or nothing)."""
    from geoplan.registers import boundaries as B
    from geoplan.registers import open_store

    # read and check the file before the store is touched; a store created here is removed if the import fails
    div = B.import_divisions(path, valid_from=valid_from, datum=datum, datum_option="--datum",
                             code_col=code_col, name_col=name_col)
    with open_store(store_path) as store:
        B.store_divisions(store, div, file=str(path), code_col=code_col)
    click.echo(f"{len(div)}\t{store_path}")


def _outputs(output, overwrite, layers: dict) -> None:
    import geopandas as gpd
    import pandas as pd

    from geoplan._output import output_folder, write_csv

    with output_folder(output, overwrite=overwrite) as tmp:
        for name, df in layers.items():  # write_csv: names like "=1+2" stay text in a spreadsheet
            write_csv(pd.DataFrame(df.drop(columns="geometry", errors="ignore")), Path(tmp) / f"{name}.csv")
            if isinstance(df, gpd.GeoDataFrame) and len(df):
                df.to_file(Path(tmp) / f"{name}.gpkg", driver="GPKG")
    echo_paths({n: Path(output) / f"{n}.csv" for n in layers})


@command.command("check")
@click.argument("path", type=click.Path(exists=True))
@output_opt
@overwrite_opt
@click.option("--tolerance", type=float, default=1.0, show_default=True, help="metres")
@click.option("--sliver-width", type=float, default=50.0, show_default=True, help="metres")
@_datum_opt
def check(path, output, overwrite, tolerance, sliver_width, datum) -> None:
    """缝隙、重叠、狭长多边形 / gaps, overlaps, slivers between neighbours."""
    from geoplan.registers import boundaries as B

    res = B.check_topology(_units(path, datum), tolerance_m=tolerance, sliver_width_m=sliver_width)
    _outputs(output, overwrite, {"topology": res.layer})


@command.command("lines")
@click.argument("path", type=click.Path(exists=True))
@output_opt
@overwrite_opt
@click.option("--tolerance", type=float, default=0.0, show_default=True, help="metres")
@_datum_opt
def lines(path, output, overwrite, tolerance, datum) -> None:
    """共有界线及长度 / shared boundary lines with lengths, and the outer boundary."""
    from geoplan.registers import boundaries as B

    units = _units(path, datum)
    _outputs(output, overwrite, {"lines": B.shared_lines(units, tolerance_m=tolerance),
                                 "outer": B.outer_boundary(units)})


@command.command("markers")
@click.argument("markers_path", type=click.Path(exists=True))
@click.argument("lines_path", type=click.Path(exists=True))
@output_opt
@overwrite_opt
@click.option("--tolerance", type=float, default=5.0, show_default=True, help="metres")
@click.option("--roads", type=click.Path(exists=True), default=None, help="road lines for proposed markers")
@click.option("--markers-layer", default=None, help="layer in a GeoPackage (e.g. markers)")
@click.option("--lines-layer", default=None, help="layer in a GeoPackage (e.g. shared_lines)")
def markers(markers_path, lines_path, output, overwrite, tolerance, roads, markers_layer, lines_layer) -> None:
    """界桩检查与建议 / check the marker register, propose markers for lines with too few."""
    from geoplan.registers import boundaries as B

    mk, ln = B.read_layer(markers_path, layer=markers_layer), B.read_layer(lines_path, layer=lines_layer)
    _outputs(output, overwrite, {
        "marker_checks": B.check_markers(mk, ln, tolerance_m=tolerance),
        "proposed": B.propose_markers(ln, roads=B.read_layer(roads) if roads else None, markers=mk)})


@command.command("inspect")
@click.argument("markers_path", type=click.Path(exists=True))
@click.argument("records_csv", type=click.Path(exists=True))
@click.option("--date", "date_", required=True,
              help="联检日期（如 2026-11-20），记录中的“日期”列优先 / inspection date; a row's own date wins.")
@output_opt
@overwrite_opt
@lang_opt
@click.option("--markers-layer", default=None, help="layer in a GeoPackage (e.g. markers)")
def inspect(markers_path, records_csv, date_, output, overwrite, lang, markers_layer) -> None:
    """联检记录 → 更新登记表、报告 / apply an inspection record, write the report.

    \b
    MARKERS_PATH: 界桩登记表（GeoPackage/Shapefile…）/ the marker register.
    RECORDS_CSV: 联检记录（CSV 或 Excel），每行一个界桩 / one row per marker inspected:
      界桩编号 (marker_code)      必填 / required
      检查结果 (result)           必填：完好/移位/损坏/缺失 (found/moved/damaged/missing)
      日期 (date)                 可选，缺省用 --date / optional, default --date
      说明/备注 (notes)           可选 / optional
      照片 (photo)                可选：照片文件名 / optional photo file
      测量经度/测量纬度           可选：实测坐标（WGS-84/CGCS2000 度）/ measured_lon, measured_lat
    \b
    建议（未实测）界桩不能记为“移位”，除非同时给出测量经纬度；
    a proposed marker can be recorded as moved only with a survey (measured coordinates).
    """
    from geoplan.registers import boundaries as B
    from geoplan._output import output_folder, write_csv
    from geoplan.outputs import Section, write_report

    # geoplan's table reader: encoding detected, an empty or malformed file is an error naming it
    reg, hist = B.record_inspection(B.read_layer(markers_path, layer=markers_layer), B.read_inspection(records_csv),
                                     date=date_)
    with output_folder(output, overwrite=overwrite) as tmp:
        reg.to_file(Path(tmp) / "markers.gpkg", driver="GPKG")
        write_csv(hist, Path(tmp) / "history.csv")
        zh = lang == "zh"
        counts = reg["status"].value_counts().rename_axis("status").rename("count").reset_index()
        paths = write_report(tmp, title=(f"界线联检报告（{date_}）" if zh else f"Joint boundary inspection, {date_}"),
                             lang=lang, sections=[
                                 Section("界桩状态" if zh else "Marker status", table=counts),
                                 Section("联检记录" if zh else "Records", table=hist)])
    echo_paths({k: Path(output) / Path(p).name for k, p in paths.items()})


@command.command("history")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--date", "date_", default=None, help="show the divisions in force on this date")
def history(store_path, date_) -> None:
    """区划沿革（TSV）/ the division record of a store (TSV on stdout).

    With ``--date``: the units in force that day.  Without: every version of
    every unit (valid_from, valid_to, predecessors, successors), then, after an
    empty line, the change events (merges, splits) when there are any.
    """
    import pandas as pd

    from geoplan._output import csv_safe
    from geoplan.registers import Store
    from geoplan.registers import boundaries as B

    with Store(store_path, readonly=True) as store:  # looking never modifies the file
        # an empty answer would look like "no changes": a store without divisions is an error
        if not store.has_layer(B.DIVISIONS_LAYER):
            raise StoreError(f"{store_path}: no divisions recorded (import division polygons with "
                             "'geoplan boundaries import' first)")
        div = B.load_divisions(store)  # StoreError naming the file when the layer is damaged
        if date_:
            tables = [pd.DataFrame(B.divisions_at(div, B.iso_date(date_)).drop(columns="geometry"))]
        else:
            tables = [pd.DataFrame(div.drop(columns="geometry", errors="ignore"))
                      .sort_values(["code", "valid_from"], kind="stable")]
            if store.has_layer(B.EVENTS_LAYER):
                tables.append(pd.DataFrame(store.read_layer(B.EVENTS_LAYER)).drop(columns="geometry", errors="ignore"))
        if not len(tables[0]):
            raise StoreError(f"{store_path}: no divisions recorded" + (f" in force on {date_}" if date_ else ""))
    # names are user data: '=HYPERLINK(...)' must stay text when the TSV is pasted into a spreadsheet
    click.echo("\n".join(csv_safe(t).to_csv(sep="\t", index=False) for t in tables), nl=False)
