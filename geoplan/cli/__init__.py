"""geoplan's command line: a thin click layer over the public API.

One module per subcommand (``geoplan/cli/_<name>.py``), each exposing a
``command`` object; logs and progress go to stderr, data to files or stdout.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from geoplan._errors import GeoplanError

# Subcommand modules, in the order --help lists them.
_SUBCOMMANDS = ("demo", "coverage", "suggest", "names", "boundaries", "network", "batch")


class _Group(click.Group):
    """Turns a GeoplanError into a one-line message and exit code 2 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GeoplanError as exc:
            click.echo(f"错误 / Error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bars.")
@click.version_option(package_name="geoplan")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """geoplan: 民政设施覆盖评估、选址建议、地名与界线管理。

    Coverage of elder-care, minor-protection and social-work facilities by the
    road network; site suggestion; place names; administrative boundaries.
    Run ``geoplan demo`` for a complete example on the embedded real data.
    """
    # Default: geoplan's own progress (INFO) on stderr, other libraries' warnings only; -v all INFO; -vv DEBUG.
    root_level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=root_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("geoplan").setLevel(logging.ERROR if quiet else min(root_level, logging.INFO))
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet


for _name in _SUBCOMMANDS:
    _modname = f"geoplan.cli._{_name}"
    try:
        _mod = importlib.import_module(_modname)
    except ModuleNotFoundError as _exc:  # subcommand not written yet
        if _exc.name != _modname:
            raise
        continue
    main.add_command(_mod.command)
