"""Safe output: all-or-nothing folders and files that never cost the user a file.

Rules (the same for every subcommand, ``geoplan batch`` and the Python API):

* An output folder is written into a hidden temporary folder beside it
  (``.<name>.<random>.tmp``) and moved into place in one step when complete;
  on any error or on SIGTERM/SIGINT/SIGHUP (see :func:`install_signal_handlers`)
  the temporary folder is removed and nothing else is touched.
* Every folder geoplan writes carries a marker file :data:`MARKER`
  (``.geoplan-output``, JSON: command, geoplan version, time, process id).
* An existing folder is replaced only with ``overwrite`` **and** only when
  geoplan created it (it holds the marker) or it is empty, and never when it
  is the working directory or holds it, the home folder, a filesystem root, or
  holds any input of the run.  Everything else is refused with
  :class:`~geoplan.OutputExistsError` saying why, before any work is done.
* An existing *file* is replaced only with ``overwrite`` and never when it is
  one of the run's inputs or is not a regular file (a folder, a device).
* Temporary folders left by a killed run (``kill -9``, a power cut) are
  swept on the next run that writes into the same parent folder: those with the
  marker whose process is gone (same host), or older than
  :data:`STALE_AFTER_S` (another host).
* User text written to CSV is neutralised against spreadsheet formula
  injection (:func:`csv_safe`).

The CLI tells this module which files a run reads (:func:`run_context`), so
``output_folder`` refuses to replace a folder holding one even when a library
function calls it without ``inputs=``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from geoplan._errors import OutputExistsError

log = logging.getLogger("geoplan")

#: Marker file written into every folder geoplan creates.
MARKER = ".geoplan-output"
#: A temporary folder of another host is swept only after this many seconds (7 days).
STALE_AFTER_S = 7 * 24 * 3600

_TMP_DIR = re.compile(r"^\..+\.tmp$")
# exactly what tempfile.mkdtemp(prefix=".<name>.", suffix=".tmp") makes
_MKDTEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")

# What the current CLI run reads and its command name (set by geoplan.cli).
_RUN: contextvars.ContextVar[dict | None] = contextvars.ContextVar("geoplan_run", default=None)

# Temporary folders/files of this process, removed by the signal handlers.
_LIVE: set[Path] = set()
_LIVE_LOCK = threading.Lock()


# --------------------------------------------------------------------------- run context


@contextlib.contextmanager
def run_context(*, command: str, inputs: Iterable[str | os.PathLike] = ()) -> Iterator[None]:
    """Tell :func:`output_folder` and :func:`check_new_file` what this run reads.

    Parameters
    ----------
    command
        Command line name for the marker, e.g. ``"coverage"``.
    inputs
        Paths the run reads; an output may not replace them or a folder holding one.
    """
    token = _RUN.set({"command": command, "inputs": [str(p) for p in inputs]})
    try:
        yield
    finally:
        _RUN.reset(token)


def _all_inputs(inputs: Iterable[str | os.PathLike] | None) -> list[Path]:
    run = _RUN.get() or {}
    out = []
    for p in list(inputs or ()) + list(run.get("inputs", ())):
        if p is None or str(p) == "":
            continue
        try:
            out.append(Path(p).expanduser().resolve())
        except (OSError, RuntimeError):  # unresolvable (loop): compare as given
            out.append(Path(os.path.abspath(p)))
    return out


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("geoplan")
    except Exception:  # noqa: BLE001 - not installed (source checkout)
        return "unknown"


def _proc_start() -> float | None:
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - psutil missing or unsupported platform
        return None


def marker_record(kind: str = "folder", *, temporary: bool = False) -> dict:
    """The JSON written into :data:`MARKER` (``temporary`` while the folder is still being written)."""
    run = _RUN.get() or {}
    return {
        "geoplan": _version(),
        "kind": kind,
        "temporary": temporary,
        "command": run.get("command", "python"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "created_ts": time.time(),
        "pid": os.getpid(),
        "proc_start": _proc_start(),
        "host": socket.gethostname(),
    }


def write_marker(folder: str | os.PathLike, kind: str = "folder", *, temporary: bool = False,
                 record: dict | None = None) -> Path:
    """Write :data:`MARKER` into ``folder`` (marks it as geoplan's); ``record`` when prepared beforehand."""
    path = Path(folder) / MARKER
    rec = record if record is not None else marker_record(kind, temporary=temporary)
    path.write_text(json.dumps(rec, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of ``folder`` or ``None`` when it has none (or it is not geoplan's JSON)."""
    path = Path(folder) / MARKER
    try:
        if not path.is_file() or path.is_symlink():
            return None
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and "geoplan" in rec else None


# --------------------------------------------------------------------------- the rule


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def refuse_reason(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] | None = None,
                  kind: str | None = None) -> str | None:
    """Why geoplan must not replace the existing folder ``path``, or ``None`` when it may.

    Parameters
    ----------
    path
        An existing folder.
    inputs
        Files the run reads (added to those of :func:`run_context`).
    kind
        When given, the marker must be of this kind (``"batch"`` for a batch folder).
    """
    final = Path(path).expanduser().resolve()
    home = Path.home().resolve()
    cwd = Path.cwd().resolve()
    if final.parent == final:
        return "it is a filesystem root"
    if final == home:
        return "it is your home folder"
    if _is_within(cwd, final):
        return "it is the working directory" if cwd == final else "it holds the working directory"
    for inp in _all_inputs(inputs):
        if _is_within(inp, final):
            return f"it holds the input {inp}" if inp != final else "it is an input of this run"
    if not final.is_dir():
        return "it is a file, not a folder geoplan wrote"
    rec = read_marker(final)
    if rec is None:
        try:
            empty = not any(final.iterdir())
        except OSError:
            empty = False
        if empty:
            return None
        return f"geoplan did not create it (no {MARKER} marker), so it may hold other files"
    if kind is not None and rec.get("kind", "folder") != kind:
        return f"it is a geoplan {rec.get('kind', 'folder')} folder, not a {kind} folder"
    return None


def _refuse(final: Path, reason: str) -> OutputExistsError:
    return OutputExistsError(
        f"will not replace {final}: {reason}; choose a new output folder, or delete it yourself "
        f"/ 不替换该文件夹（仅替换 geoplan 自己创建的输出文件夹），请换一个新的输出文件夹"
    )


def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False,
                        inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Refuse early (before slow work) when ``path`` exists and may not be replaced; returns it resolved."""
    final = Path(path).expanduser().resolve()
    if final.exists() or final.is_symlink():
        if not overwrite:
            raise OutputExistsError(
                f"output {final} exists; pass overwrite=True (CLI: --overwrite) to replace it "
                f"/ 输出已存在，如需替换请加 --overwrite"
            )
        reason = refuse_reason(final, inputs=inputs)
        if reason is not None:
            raise _refuse(final, reason)
    return final


# --------------------------------------------------------------------------- folders


@contextlib.contextmanager
def output_folder(path: str | os.PathLike, *, overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike] | None = None, kind: str = "folder") -> Iterator[Path]:
    """Write a folder of results atomically.

    Yields a temporary folder beside ``path``; when the ``with`` block ends
    without error the temporary folder replaces ``path``.  On any error (and
    on SIGTERM/SIGINT/SIGHUP under the CLI) the temporary folder is removed
    and ``path`` is left exactly as it was, so a failed run never leaves a
    half-written report behind.  The folder gets the :data:`MARKER` file.

    Parameters
    ----------
    path
        The final folder.
    overwrite
        Replace an existing ``path`` -- only one geoplan created (or an empty
        one), never the working directory, home, a root, or a folder holding
        an input.  Without it an existing path raises
        :class:`~geoplan.OutputExistsError` before anything is written.
    inputs
        Files this run reads (the CLI adds its own through :func:`run_context`).
    kind
        Recorded in the marker.

    Raises
    ------
    OutputExistsError
        ``path`` exists and may not be replaced (the message says why).
    """
    final = check_output_folder(path, overwrite=overwrite, inputs=inputs)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(final.parent)
    record = marker_record(kind, temporary=True)  # prepared first: the folder is unmarked only for microseconds
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    _register(tmp)
    try:
        write_marker(tmp, record=record)
        yield tmp
        write_marker(tmp, kind)  # complete: no longer a temporary folder a later run may sweep
        _normal_permissions(tmp)
        # Checked again at the end: the folder may have appeared (or changed) while we worked.
        if (final.exists() or final.is_symlink()) and not overwrite:
            raise OutputExistsError(f"output {final} appeared while geoplan was writing; nothing was replaced")
        old = None
        if final.exists() or final.is_symlink():
            reason = refuse_reason(final, inputs=inputs)
            if reason is not None:
                raise _refuse(final, reason)
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old.tmp", dir=final.parent))
            _register(old)
            os.replace(final, old / final.name)
        os.replace(tmp, final)
        _unregister(tmp)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            _unregister(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _unregister(tmp)
        raise


def check_new_file(path: str | os.PathLike, *, overwrite: bool = False,
                   inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Refuse to replace an existing output unless asked and allowed; return the path.

    An existing folder follows the folder rule (:func:`output_folder`).  An
    existing file is replaced only with ``overwrite``, and never when it is
    an input of the run or not a regular file.
    """
    p = Path(path)
    if p.is_dir():
        check_output_folder(p, overwrite=overwrite, inputs=inputs)
        return p
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise OutputExistsError(f"{p} exists; pass overwrite=True (CLI: --overwrite) to replace it "
                                    f"/ 文件已存在，如需替换请加 --overwrite")
        resolved = p.resolve()
        if any(resolved == inp for inp in _all_inputs(inputs)):
            raise OutputExistsError(f"will not replace {p}: it is an input of this run / 不能用输出覆盖输入文件")
        if not resolved.is_file():
            raise OutputExistsError(f"will not replace {p}: it is not a regular file")
    return p


def atomic_write_file(path: str | os.PathLike, writer: Callable[[Path], Any], *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Call ``writer(tmp_path)`` then move the result onto ``path`` in one step.

    ``path`` follows :func:`check_new_file`; on any error the temporary file is removed.
    """
    p = check_new_file(path, overwrite=overwrite, inputs=inputs)
    if p.is_dir():
        raise OutputExistsError(f"will not replace {p}: it is a folder, a file was expected")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    _register(tmp_path)
    try:
        writer(tmp_path)
        os.replace(tmp, p)
    except BaseException:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else os.unlink(tmp)
        raise
    finally:
        _unregister(tmp_path)
    return p


def _normal_permissions(folder: Path) -> None:
    """mkdtemp/mkstemp create private (0700/0600) entries; give results the user's usual permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777 & ~umask)
        for f in files:
            os.chmod(os.path.join(root, f), 0o666 & ~umask)


# --------------------------------------------------------------------------- leftovers


def _register(p: Path) -> None:
    with _LIVE_LOCK:
        _LIVE.add(p)


def _unregister(p: Path) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(p)


def cleanup_temporaries() -> int:
    """Remove this process's temporary folders and files now (signal handlers); returns how many."""
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for p in live:
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.lexists(p):
                p.unlink()
    return len(live)


def _alive(pid: int, proc_start: float | None) -> bool:
    """Is the process that wrote a marker still running (and not a new process with a reused id)?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        pass
    except OSError:
        return True
    if proc_start is None:
        return True
    try:
        import psutil

        return abs(psutil.Process(pid).create_time() - float(proc_start)) < 2.0
    except Exception:  # noqa: BLE001 - gone meanwhile, or psutil missing
        return True


def is_stale(folder: str | os.PathLike, *, now: float | None = None) -> bool:
    """True for a geoplan temporary folder whose writer is gone (or another host's, older than a week)."""
    folder = Path(folder)
    if not _TMP_DIR.match(folder.name) or folder.is_symlink() or not folder.is_dir():
        return False
    rec = read_marker(folder)
    if rec is None and _MKDTEMP_NAME.match(folder.name) and folder not in _LIVE:
        # killed between making the folder and marking it: empty, so nothing can be lost
        with contextlib.suppress(OSError):
            if not any(folder.iterdir()) and (now or time.time()) - folder.stat().st_mtime > 2:
                return True
    if rec is None:
        # the ".old" holder of a replace holds the previous folder, whose marker is one level down
        inner = [q for q in folder.iterdir()] if folder.name.endswith(".old.tmp") else []
        rec = read_marker(inner[0]) if len(inner) == 1 and inner[0].is_dir() else None
        if rec is None:
            return False
        age = (now or time.time()) - folder.stat().st_mtime
        return age > 60  # an interrupted replace: the new folder is in place, the old one is garbage
    if folder in _LIVE or not rec.get("temporary"):
        return False
    age = (now or time.time()) - float(rec.get("created_ts") or folder.stat().st_mtime)
    if rec.get("host") == socket.gethostname() and isinstance(rec.get("pid"), int):
        return not _alive(rec["pid"], rec.get("proc_start"))
    return age > STALE_AFTER_S


def sweep_stale(parent: str | os.PathLike) -> list[Path]:
    """Remove geoplan temporary folders in ``parent`` left by killed runs; returns what was removed.

    Only hidden ``.<name>.<random>.tmp`` folders holding geoplan's marker are
    considered (see :func:`is_stale`); nothing else is ever touched.
    """
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for q in entries:
        try:
            if is_stale(q):
                shutil.rmtree(q)
                removed.append(q)
        except OSError as exc:  # e.g. read-only: leave it, say so
            log.debug("could not remove stale temporary folder %s: %s", q, exc)
    if removed:
        log.info("removed %d temporary folder(s) left by an interrupted run in %s", len(removed), parent)
    return removed


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n))


def _on_signal(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    # Remove the temporary output first (the process may be killed for good soon), then unwind.
    cleanup_temporaries()
    name = signal.Signals(signum).name
    try:
        print(f"中断 / interrupted ({name}); 未完成的输出已删除 / unfinished output removed", file=sys.stderr)
    except Exception:  # noqa: BLE001 - stderr closed
        pass
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def signal_cleanup() -> Iterator[None]:
    """While active, SIGTERM/SIGINT/SIGHUP remove the temporary outputs and exit with 128 + signal.

    Only in the main thread (elsewhere Python cannot set handlers); the previous
    handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for s in _SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            previous[s] = signal.signal(s, _on_signal)
    try:
        yield
    finally:
        for s, h in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(s, h)


# --------------------------------------------------------------------------- CSV injection

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# every character str.splitlines() breaks on: a reader that splits a cell there (a bare CR is not
# quoted by pandas; some readers break on U+2028) starts a new line with what follows it
_BREAK_THEN_FORMULA = re.compile("([\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])(?=[=+\\-@\t])")


def _text_risky(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(_FORMULA_START) or bool(_BREAK_THEN_FORMULA.search(value)))


def csv_safe_text(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading ``'`` (OWASP); other values unchanged.

    The same ``'`` goes after any line break inside the text that is followed by
    ``= + - @`` or tab, so no physical line of the file starts a formula even
    where a reader splits the cell.
    """
    if not isinstance(value, str):
        return value
    value = _BREAK_THEN_FORMULA.sub(r"\1'", value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe(df):
    """Copy of ``df`` with every text cell (and header) made safe by :func:`csv_safe_text`.

    Numbers stay numbers (a negative number is not text and is not touched).
    """
    import pandas as pd

    out = pd.DataFrame(df).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            risky = out[col].map(_text_risky).astype(bool)
            if risky.any():  # only those cells change: missing values and numbers stay what they were
                out.loc[risky, col] = out.loc[risky, col].map(csv_safe_text)
    out.columns = [csv_safe_text(c) for c in out.columns]
    return out


def write_csv(df, path: str | os.PathLike, *, overwrite: bool = False, **kwargs) -> Path:
    """Write ``df`` as UTF-8 (with BOM, for Excel) CSV atomically, text made formula-safe.

    Lines end in CRLF (RFC 4180): the csv module then quotes every cell holding
    a CR or LF, so a bare CR inside a name cannot split a row.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("encoding", "utf-8-sig")
    kwargs.setdefault("lineterminator", "\r\n")
    safe = csv_safe(df)
    return atomic_write_file(path, lambda p: safe.to_csv(p, **kwargs), overwrite=overwrite)


__all__ = [
    "MARKER",
    "output_folder",
    "check_output_folder",
    "check_new_file",
    "atomic_write_file",
    "refuse_reason",
    "run_context",
    "sweep_stale",
    "cleanup_temporaries",
    "signal_cleanup",
    "csv_safe",
    "csv_safe_text",
    "write_csv",
]
