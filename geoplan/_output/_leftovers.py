"""Leftovers: settling an interrupted replace, this process's cleanup, the next run's sweep, signals."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

from geoplan._output._rule import _remove_if_empty, _tmp_prefix, refuse_reason
from geoplan._output._state import (
    _LIVE,
    _LIVE_LOCK,
    _MKDTEMP_NAME,
    _PARENTS,
    _SWAPS,
    _TMP_DIR,
    MARKER,
    STALE_AFTER_S,
    marker_record,
    read_marker,
    write_marker,
)

log = logging.getLogger("geoplan")


# --------------------------------------------------------------------------- this process: settle, clean up


def _complete_for(tmp: Path, final: Path) -> bool:
    rec = read_marker(tmp) if tmp.is_dir() and not tmp.is_symlink() else None
    return bool(rec) and rec.get("temporary") is False and rec.get("final") == final.name


def _settle(tmp: Path, old: Path | None, final: Path, *, in_swap: bool) -> None:
    """Leave ``final`` whole after an interrupted replace: the new result when it is complete and
    ``final`` is missing, else the old folder moved back; then remove what is left over."""
    with contextlib.suppress(OSError):
        if in_swap and not os.path.lexists(final):
            if _complete_for(tmp, final):
                os.replace(tmp, final)
            elif old is not None and os.path.lexists(old / final.name):
                os.replace(old / final.name, final)
    if os.path.lexists(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    if old is not None and os.path.lexists(final):  # never delete a parked old folder whose place is empty
        shutil.rmtree(old, ignore_errors=True)


def cleanup_temporaries() -> int:
    """Remove this process's temporary folders and files now (signal handlers); returns how many.

    A replace caught between its two renames is first completed (the new folder
    is complete) or undone (the old folder moved back), so the final folder is
    never left missing; parent folders the run created are removed when empty.
    """
    with _LIVE_LOCK:
        swaps = list(_SWAPS)
        _SWAPS.clear()
        live = list(_LIVE)
        _LIVE.clear()
        parents = list(_PARENTS)
        _PARENTS.clear()
    for tmp, old, final in swaps:
        _settle(tmp, old, final, in_swap=True)
    for p in live:
        with contextlib.suppress(OSError):
            if p.name.endswith(".old.tmp") and any(p.iterdir()) and any(
                    not os.path.lexists(p.parent / q.name) for q in p.iterdir() if q.name != MARKER):
                continue  # holds a parked folder whose place is empty: the next run's sweep puts it back
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.lexists(p):
                p.unlink()
    _remove_if_empty(sorted(parents, key=lambda q: len(q.parts), reverse=True))
    return len(live)


# --------------------------------------------------------------------------- the next run: sweep


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


def _writer_gone(rec: dict, folder: Path, now: float | None) -> bool:
    age = (now or time.time()) - float(rec.get("created_ts") or folder.stat().st_mtime)
    if rec.get("host") == socket.gethostname() and isinstance(rec.get("pid"), int):
        return not _alive(rec["pid"], rec.get("proc_start"))
    return age > STALE_AFTER_S


def is_stale(folder: str | os.PathLike, *, now: float | None = None) -> bool:
    """True for a geoplan temporary folder whose writer is gone (or another host's, older than a week)."""
    folder = Path(folder)
    if not _TMP_DIR.match(folder.name) or folder.is_symlink() or not folder.is_dir():
        return False
    rec = read_marker(folder)
    if rec is None and (_MKDTEMP_NAME.match(folder.name) or folder.name.endswith(".old.tmp")) \
            and folder not in _LIVE:
        # killed between making the folder and marking it: empty, so nothing can be lost
        with contextlib.suppress(OSError):
            if not any(folder.iterdir()) and (now or time.time()) - folder.stat().st_mtime > 2:
                return True
    if rec is None:
        # the ".old" holder of an older geoplan's replace: the previous folder, marker one level down
        inner = [q for q in folder.iterdir()] if folder.name.endswith(".old.tmp") else []
        rec = read_marker(inner[0]) if len(inner) == 1 and inner[0].is_dir() else None
        if rec is None:
            return False
        age = (now or time.time()) - folder.stat().st_mtime
        return age > 60
    if folder in _LIVE:
        return False
    if rec.get("kind") == "old" and folder.name.endswith(".old.tmp"):
        return _writer_gone(rec, folder, now)
    if not rec.get("temporary") and not rec.get("final"):
        return False  # a finished folder that merely has a temporary-looking name
    return _writer_gone(rec, folder, now)


def _newer(final: Path, rec: dict) -> bool:
    """Is the folder at ``final`` newer than the complete result described by ``rec``?"""
    frec = read_marker(final)
    try:
        when = float(frec.get("created_ts")) if frec else final.stat().st_mtime
        return when >= float(rec.get("created_ts") or 0)
    except (OSError, TypeError, ValueError):
        return False


def _finish_replace(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` with a marked old holder, so a kill here is repaired by the next sweep."""
    old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(final.name), suffix=".old.tmp", dir=final.parent))
    rec = marker_record("old", temporary=True)
    rec["final"] = final.name
    write_marker(old, record=rec)
    os.replace(final, old / final.name)
    try:
        os.replace(tmp, final)
    except OSError:
        if not os.path.lexists(final):
            os.replace(old / final.name, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def sweep_stale(parent: str | os.PathLike) -> list[Path]:
    """Clear up geoplan temporary folders in ``parent`` left by killed runs; returns those handled.

    Only hidden ``.<name>.<random>.tmp`` folders holding geoplan's marker are
    considered (see :func:`is_stale`); nothing else is ever touched.  A
    complete result (marker ``temporary: false``) whose final folder is
    missing is moved into place; when the final folder exists it is deleted if
    that folder is newer, else it replaces it when its run had ``overwrite``
    and the folder may be replaced (else it is kept, with a warning); a parked old folder whose final folder is missing is moved back,
    never deleted; unfinished temporaries are removed.
    """
    handled = []
    try:
        entries = sorted(Path(parent).iterdir(), key=lambda q: q.name.endswith(".old.tmp"))  # results first
    except OSError:
        return handled
    for q in entries:
        try:
            if not is_stale(q):
                continue
            rec = read_marker(q) or {}
            name = rec.get("final")
            final = q.parent / str(name) if isinstance(name, str) and name and "/" not in name else None
            if q.name.endswith(".old.tmp"):
                inner = [x for x in q.iterdir() if x.name != MARKER]
                if len(inner) == 1 and not os.path.lexists(q.parent / inner[0].name):
                    os.replace(inner[0], q.parent / inner[0].name)
                    log.warning("restored %s, left out by an interrupted replace", q.parent / inner[0].name)
                elif any(not os.path.lexists(q.parent / x.name) for x in inner):
                    continue  # never delete a parked folder whose place is empty
                shutil.rmtree(q)
            elif rec.get("temporary") is False and final is not None:
                if not os.path.lexists(final):
                    os.replace(q, final)
                    log.warning("moved the complete result of an interrupted run into place: %s", final)
                elif _newer(final, rec):
                    shutil.rmtree(q)
                elif rec.get("overwrite") and not os.path.ismount(final) and refuse_reason(final) is None:
                    _finish_replace(q, final)  # killed just before its replace: do it (what was asked)
                    log.warning("finished the replace of %s an interrupted run had begun", final)
                else:
                    log.warning("kept %s: the complete result of an interrupted run, newer than %s; move it "
                                "yourself if you want it", q, final)
                    continue
            else:
                shutil.rmtree(q)
            handled.append(q)
        except OSError as exc:  # e.g. read-only: leave it, say so
            log.debug("could not clear temporary folder %s: %s", q, exc)
    if handled:
        log.info("cleared %d temporary folder(s) left by an interrupted run in %s", len(handled), parent)
    return handled


# --------------------------------------------------------------------------- signals


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
