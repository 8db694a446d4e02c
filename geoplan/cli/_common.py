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
    return click.option(
        f"--{name}-datum", f"{name}_datum", type=click.Choice(DATUMS), default="wgs84", show_default=True,
        help=f"{what}坐标系：wgs84/cgcs2000（GPS、天地图）、gcj02（高德、腾讯）、bd09（百度） / datum of the {what} coordinates.",
    )


def echo_paths(paths: dict) -> None:
    """Print what was written, one path a line, to stdout (machine-readable)."""
    for key, path in paths.items():
        click.echo(f"{key}\t{path}")
