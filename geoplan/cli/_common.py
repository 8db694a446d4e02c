"""Options shared by geoplan's subcommands (rio-style)."""

from __future__ import annotations

import click

DATUMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

output_opt = click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False),
    help="输出文件夹 / output folder (written all-or-nothing).",
)
overwrite_opt = click.option("--overwrite", is_flag=True, default=False, help="替换已有输出 / replace an existing output folder.")
lang_opt = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="报告语言 / report language."
)


def datum_opt(name: str, what: str):
    """``--NAME-datum``: the datum of one input's coordinates, with no default.

    geoplan never guesses a datum: when the option is not given the reader
    (:func:`geoplan.io.read_points`, :func:`geoplan.io.read_polygons`) takes it
    from the file (a 坐标系 column, a CGCS2000 or projected CRS) or, for
    coordinates inside mainland China, stops and asks for this option.
    Outside the mainland (e.g. the Helsinki demo) no datum question arises.
    """
    return click.option(
        f"--{name}-datum", f"{name}_datum", type=click.Choice(DATUMS), default=None,
        help=(f"{what}坐标系：wgs84/cgcs2000（GPS、天地图）、gcj02（高德、腾讯）、bd09（百度）；"
              f"中国大陆的坐标必须说明（或在表中加“坐标系”列），不作猜测 / datum of the {what} coordinates; "
              "required for points in mainland China unless the file states it (a 坐标系 column, a CGCS2000 "
              "or projected CRS): geoplan never guesses."),
    )


def echo_paths(paths: dict) -> None:
    """Print what was written, one path a line, to stdout (machine-readable)."""
    for key, path in paths.items():
        click.echo(f"{key}\t{path}")
