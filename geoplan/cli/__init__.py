"""geoplan's command line: a thin click layer over the public API.

One module per subcommand (``geoplan/cli/_<name>.py``), each exposing a
``command`` object; logs and progress go to stderr, data to files or stdout.
Options and callbacks shared by several subcommands live in ``_common.py``.
Subcommand modules parse options, call geoplan's public API and print; they hold no domain code.

Imports: a subcommand module imports at the top only click, the standard library, ``geoplan._errors`` and
``geoplan.cli._common``; geoplan's subpackages (and pandas, geopandas) are imported inside the command
functions, so that ``geoplan --help`` and every subcommand's ``--help`` stay fast.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys

import click

from geoplan._errors import GeoplanError

# Subcommand modules, in the order --help lists them.
_SUBCOMMANDS = ("demo", "coverage", "suggest", "names", "boundaries", "network", "batch", "compare")


# OSErrors that are the disk's or the permissions' fault (not a bug): a one-line message, exit 2.
_WRITE_ERRORS = {
    errno.EACCES: "无法访问 / cannot access: 没有权限 / permission denied",
    errno.EPERM: "无法访问 / cannot access: 不允许的操作 / operation not permitted",
    errno.ENOSPC: "无法写入 / cannot write: 磁盘已满 / no space left on device",
    errno.EROFS: "无法写入 / cannot write: 只读文件系统 / read-only file system",
    errno.EDQUOT: "无法写入 / cannot write: 超出磁盘配额 / disk quota exceeded",
    errno.EFBIG: "无法写入 / cannot write: 文件过大 / file too large",
    # path problems of the output the checks upfront did not catch (e.g. a race): still one line, not a traceback
    errno.ELOOP: "无法写入 / cannot write: 符号链接循环 / symbolic link loop",
    errno.ENAMETOOLONG: "无法写入 / cannot write: 名称过长 / file name too long",
    errno.ENOTDIR: "无法写入 / cannot write: 上级路径不是文件夹 / a parent is not a folder",
    errno.EBUSY: "无法写入 / cannot write: 设备或资源忙 / device or resource busy",
    errno.ENOTEMPTY: "无法写入 / cannot write: 文件夹已被另一个运行写入 / folder written by another run meanwhile",
    errno.EEXIST: "无法写入 / cannot write: 路径已存在 / path exists",
}

#: Output arguments by command (besides ``-o/--output``): never counted as inputs of the run.
OUTPUT_PARAMS: dict[str, frozenset[str]] = {
    "names export": frozenset({"out"}),
}


def is_output_param(command: str, param: click.Parameter) -> bool:
    """Is ``param`` an output of ``command``?  Declared, not guessed from a name: ``-o``, a param with
    ``geoplan_output = True``, or one listed in :data:`OUTPUT_PARAMS`."""
    return ("-o" in getattr(param, "opts", ()) or getattr(param, "geoplan_output", False)
            or (param.name or "") in OUTPUT_PARAMS.get(command, ()) or (param.name or "") == "output")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Group(click.Group):
    """Turns a GeoplanError (or a write error: permission, disk full, read-only) into a one-line
    message and exit code 2 (no traceback); SIGTERM/SIGINT/SIGHUP remove unfinished output."""

    def invoke(self, ctx):
        from geoplan._output import cleanup_temporaries, signal_cleanup

        try:
            with signal_cleanup():
                return super().invoke(ctx)
        except GeoplanError as exc:
            cleanup_temporaries()
            click.echo(f"错误 / Error: {_one_line(exc)}", err=True)
            sys.exit(2)
        except RuntimeError as exc:
            if "symlink loop" not in str(exc).lower():
                raise
            cleanup_temporaries()
            click.echo(f"错误 / Error: {_WRITE_ERRORS[errno.ELOOP]}: {_one_line(exc)}", err=True)
            sys.exit(2)
        except OSError as exc:
            if exc.errno not in _WRITE_ERRORS:
                raise
            cleanup_temporaries()
            where = exc.filename or ""
            click.echo(f"错误 / Error: {_WRITE_ERRORS[exc.errno]}{': ' + str(where) if where else ''}", err=True)
            sys.exit(2)


def _input_paths(ctx: click.Context, command: str = "") -> list[str]:
    """Existing paths given to the command, except its outputs (:func:`is_output_param`)."""
    paths = []
    for param in ctx.command.params:
        if not isinstance(param.type, click.Path) or is_output_param(command, param):
            continue
        value = ctx.params.get(param.name)
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v not in (None, "", "-") and os.path.exists(v):
                paths.append(os.fspath(v))
    return paths


def _with_run_context(cmd: click.Command, name: str) -> None:
    """Wrap a (sub)command so output_folder knows the command name and the inputs it reads."""
    if isinstance(cmd, click.Group):
        for sub_name, sub in cmd.commands.items():
            _with_run_context(sub, f"{name} {sub_name}")
        return
    callback = cmd.callback
    if callback is None or getattr(callback, "_geoplan_wrapped", False):
        return

    @functools.wraps(callback)
    def wrapped(*args, **kwargs):
        from geoplan._output import run_context

        ctx = click.get_current_context()
        try:
            with run_context(command=name, inputs=_input_paths(ctx, name)):
                return callback(*args, **kwargs)
        except OSError as exc:
            # a failed write() (disk full) names no file: name the output the user gave
            outs = [ctx.params.get(p.name) for p in ctx.command.params if is_output_param(name, p)]
            out = next((o for o in outs if o), None)
            if exc.errno in _WRITE_ERRORS and not exc.filename and out:
                exc.filename = os.fspath(out)
            raise

    wrapped._geoplan_wrapped = True  # type: ignore[attr-defined]
    cmd.callback = wrapped


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
    # Solver banners (HiGHS) and progress bars (tqdm) only with -v: see geoplan.suggest._base.solver_output_wanted.
    logging.getLogger("geoplan.progress").setLevel(logging.DEBUG if verbose and not quiet else logging.INFO)
    _each_warning_once()
    # fontTools logs every PDF font subset at INFO, with its whole glyph list (20 kB per run): only with -vv
    logging.getLogger("fontTools").setLevel(logging.ERROR if quiet else logging.DEBUG if verbose >= 2 else logging.WARNING)
    if verbose == 0:  # Dask's INFO chatter only with -v; worker processes read the level from the environment
        level = "error" if quiet else "warning"
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", level)
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                     "distributed.core", "distributed.http.proxy"):
            logging.getLogger(name).setLevel(level.upper())
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet


class _OnceFilter(logging.Filter):
    """Let each warning (same logger, level and text) through once per run."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _each_warning_once() -> None:
    """Python warnings and logged warnings: each shown once per run, not once per call site or per area."""
    import warnings

    warnings.simplefilter("once")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _OnceFilter) for f in handler.filters):
            handler.addFilter(_OnceFilter())


def _register() -> None:
    """Add every subcommand explicitly: a broken subcommand module is an ImportError, never a missing command."""
    from geoplan.cli import _batch, _boundaries, _compare, _coverage, _demo, _names, _network, _suggest

    modules = {"demo": _demo, "coverage": _coverage, "suggest": _suggest, "names": _names,
               "boundaries": _boundaries, "network": _network, "batch": _batch, "compare": _compare}
    for name in _SUBCOMMANDS:
        command = modules[name].command
        _with_run_context(command, command.name)
        main.add_command(command)


_register()
