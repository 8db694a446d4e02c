"""Markers, the run context and this process's registries of live temporaries.

The lowest module of :mod:`geoplan._output`: the shared state (what the CLI run
reads, the temporary folders and files being written, replaces between their
two renames, parent folders created for an output) lives here, so the rule,
the writers and the leftovers sweep all point down to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

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


# --------------------------------------------------------------------------- registries of live temporaries


# Replaces between their two renames, (tmp, old holder, final): the signal handler completes or undoes them.
_SWAPS: set[tuple] = set()
# Parent folders this process created for an output (removed again, when empty, if the run is interrupted).
_PARENTS: list[Path] = []


def _register(p: Path) -> None:
    with _LIVE_LOCK:
        _LIVE.add(p)


def _unregister(p: Path) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(p)


def _register_parents(ps: list[Path]) -> None:
    with _LIVE_LOCK:
        _PARENTS.extend(ps)


def _unregister_parents(ps: list[Path]) -> None:
    with _LIVE_LOCK:
        for p in ps:
            with contextlib.suppress(ValueError):
                _PARENTS.remove(p)
