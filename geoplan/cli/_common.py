"""Options and callbacks shared by geoplan's subcommands (rio-style): the one place a subcommand takes them from."""

from __future__ import annotations

import click

from geoplan._errors import InputError

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


mode_opt = click.option(
    "--mode", "mode_args", multiple=True, metavar="[TYPE=]walk|drive",
    help="出行方式覆盖（可重复）：'drive' 用于全部类型，'殡仪馆=drive' 只用于该类型（类型写代码或中文名）；缺省按配置 / "
         "travel-mode override, repeatable: 'drive' for every type, 'TYPE=drive' for one (key or Chinese name); "
         "default: each type's mode from the config.",
)


def check_opts(f):
    """The geometry-check options shared by coverage and suggest."""
    for opt in reversed([
        click.option("--invalid-units", type=click.Choice(["repair", "refuse"]), default="repair", show_default=True,
                     help="无效（自相交）行政单位面：修复并在报告中列出，或报错停止 / invalid unit polygons: repair and "
                          "report, or stop."),
        click.option("--allow-empty-units", is_flag=True,
                     help="有单位内无需求点时继续（默认报错停止）/ continue when a unit contains no demand point."),
        click.option("--allow-outside", is_flag=True,
                     help="超过 5% 的需求不在任何单位内时继续（默认报错停止）/ continue when over 5 % of the demand lies "
                          "outside every unit."),
        click.option("--allow-far-facilities", is_flag=True,
                     help="设施距路网超过吸附限值时剔除并继续（默认报错停止）/ leave facilities beyond the snap limit out "
                          "and continue."),
        click.option("--allow-zero-weight", is_flag=True,
                     help="某类设施的人口权重列全为 0 时继续（默认报错停止）/ continue when a type's weight column is 0 "
                          "for every demand point."),
        click.option("--other-types", type=click.Choice(["error", "skip"]), default="error", show_default=True,
                     help="设施表中目录以外的类型：报错停止，或跳过并在报告中按类型列出 / facilities of types outside the "
                          "catalogue: stop with an error, or skip them and list them in the report."),
    ]):
        f = opt(f)
    return f


def check_kwargs(invalid_units, allow_empty_units, allow_outside, allow_far_facilities,
                 allow_zero_weight=False, other_types="error") -> dict:
    """The values of :func:`check_opts` as the ``checks`` keywords of coverage and suggest."""
    return {"invalid_units": invalid_units, "allow_empty_units": allow_empty_units, "allow_outside": allow_outside,
            "allow_far_facilities": allow_far_facilities, "allow_zero_weight": allow_zero_weight,
            "other_types": other_types}


weight_opt = click.option(
    "--weight", "weight_args", multiple=True, metavar="[TYPE=]COLUMN",
    help="需求权重列（可重复）：'社工站=低保户数' 只用于该类型，'低保户数' 用于所评估的全部类型；缺省按配置（pop / pop_60 / "
         "pop_0_17）/ demand column to weigh by, repeatable: 'TYPE=COLUMN' for one type (key or Chinese name), "
         "'COLUMN' for every assessed type; default: each type's weight from the config.",
)


def parse_weights(args, catalogue, types) -> dict[str, str] | None:
    """``--weight`` values → ``{type key: column}``; a bare column applies to ``types`` (all types when None)."""
    if not args:
        return None
    out: dict[str, str] = {}
    for a in args:
        name, sep, col = a.partition("=")
        if not sep:
            out.update({t: a.strip() for t in (types or catalogue.keys)})
            continue
        key = catalogue.resolve(name.strip())
        if key is None:
            raise InputError(f"--weight {a!r}: unknown facility type {name.strip()!r}; known: "
                             f"{', '.join(catalogue.known_keys)} (or their Chinese names)", field="--weight")
        if not col.strip():
            raise InputError(f"--weight {a!r}: no column after '='", field="--weight")
        out[key] = col.strip()
    return out


def resolve_types(types, catalogue) -> list[str] | None:
    """``--type`` values (keys or Chinese names) → keys; unknown ones raise."""
    if not types:
        return None
    keys = []
    for t in types:
        key = catalogue.resolve(t)
        if key is None:
            raise InputError(f"--type {t!r}: unknown facility type; known: {', '.join(catalogue.known_keys)} "
                             "(or their Chinese names)", field="--type")
        keys.append(key)
    return list(dict.fromkeys(keys))
