"""Safe output: all-or-nothing folders and files that never cost the user a file.

Rules (the same for every subcommand, ``geoplan batch`` and the Python API):

* An output folder is written into a hidden temporary folder beside it
  (``.<name>.<random>.tmp``) and moved into place in one step when complete;
  on any error or on SIGTERM/SIGINT/SIGHUP (see :func:`install_signal_handlers`)
  the temporary folder is removed and nothing else is touched.
* Every folder geoplan writes carries a marker file :data:`MARKER`
  (``.geoplan-output``, JSON: command, geoplan version, time, process id).
* An existing folder is replaced only with ``overwrite`` **and** only when
  geoplan created it (it holds the marker, and nothing but the files the marker
  lists) or it is empty, and never when it is the working directory or holds
  it, the home folder, a filesystem root, or holds any input of the run --
  compared by path *and* by device and inode, so the same folder reached
  through a bind mount or another path is recognised.  Everything else is
  refused with :class:`~geoplan.OutputExistsError` saying why, before any
  work is done.  A mount point is written into (its contents replaced), since
  it cannot be renamed.
* The replace is recoverable: the new folder's marker says it is complete
  before the two renames; an interrupted replace is completed or undone by
  the signal handler or by the next run's sweep, never leaving nothing.
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
import errno
import hashlib
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

from geoplan._errors import InputError, OutputExistsError

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


def _resolve(path: str | os.PathLike) -> Path:
    """``path`` made absolute with its links resolved; a symbolic-link loop is a one-line geoplan error."""
    p = Path(path).expanduser()
    try:
        return p.resolve()
    except RuntimeError as exc:  # Python < 3.13 reports a loop this way
        raise OutputExistsError(f"output {p} is a symbolic link loop / 输出路径是循环的符号链接") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputExistsError(f"output {p} is a symbolic link loop / 输出路径是循环的符号链接") from exc
        raise


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _check_shape(final: Path) -> None:
    """Refuse early a path that can never be made: a parent that is a file, a name too long."""
    existing = next((a for a in [final, *final.parents] if os.path.lexists(a)), None)
    if existing is not None and existing != final and not existing.is_dir():
        raise OutputExistsError(f"cannot make the output {final}: {existing} is a file, not a folder "
                                f"/ 上级路径是文件而不是文件夹")
    limit = _name_max(existing if existing is not None and existing.is_dir() else final.parent)
    for part in [final, *final.parents]:
        if part == existing:
            break
        if len(os.fsencode(part.name)) > limit:
            raise InputError(f"output name {part.name[:40]}… is {len(os.fsencode(part.name))} bytes long; the "
                             f"file system allows {limit} / 输出名称过长，请换一个较短的名称", field="output")


def _tmp_prefix(name: str) -> str:
    """Prefix of a hidden temporary beside ``name``: the name itself, or a short hash when it is long."""
    if len(os.fsencode(name)) > 160:  # ".<name>.<8>.old.tmp" must stay within the 255-byte limit
        name = "gp-" + hashlib.sha1(os.fsencode(name)).hexdigest()[:12]
    return f".{name}."


def _dir_id(p: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _holds(final: Path, final_id: tuple[int, int] | None, inner: Path) -> bool:
    """Is ``inner`` ``final`` or inside it -- by path, or by (device, inode) of ``inner`` and its ancestors
    (the same folder reached by another path: a bind mount, a hard-linked or renamed parent)."""
    if _is_within(inner, final):
        return True
    if final_id is None:
        return False
    return any(_dir_id(a) == final_id for a in [inner, *inner.parents])


def _never_reason(final: Path, inputs: Iterable[str | os.PathLike] | None) -> str | None:
    """Why ``final`` may never be replaced, even with overwrite (root, home, working directory, inputs)."""
    fid = _dir_id(final)
    if final.parent == final or (fid is not None and fid == _dir_id(Path(final.anchor or "/"))):
        return "it is a filesystem root"
    home = Path.home().resolve()
    if final == home or (fid is not None and fid == _dir_id(home)):
        return "it is your home folder"
    cwd = Path.cwd().resolve()
    if _holds(final, fid, cwd):
        return "it is the working directory" if cwd == final or _dir_id(cwd) == fid else \
            "it holds the working directory"
    for inp in _all_inputs(inputs):
        if _holds(final, fid, inp):
            return "it is an input of this run" if inp == final or _dir_id(inp) == fid else \
                f"it holds the input {inp}"
    return None


def _kind_words(kind: str) -> str:
    return "a geoplan folder" if kind == "folder" else f"a geoplan {kind} folder"


def _listing(folder: Path) -> list[str]:
    """Every entry under ``folder`` (folders too) as a relative POSIX path, except the marker."""
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for n in dirs + files:
            r = (rel / n).as_posix()
            if r != MARKER:
                out.append(r)
    return sorted(out)


# a temporary of atomic_write_file: ".<name>.<8 random><suffix>" (left by a kill while geoplan rewrote <name>)
_ATOMIC_TMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(\.[^.]*)?$")


def _unexpected(folder: Path, rec: dict, limit: int = 6) -> list[str]:
    """Entries of ``folder`` its marker does not list (a marker copied by hand lists nothing).

    A hidden temporary of a listed file (geoplan killed while rewriting it, e.g. a batch ``done.json``)
    counts as geoplan's.
    """
    listed = set(rec.get("files") or ()) if isinstance(rec.get("files"), list) else set()
    extra = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for n in sorted(dirs + files):
            r = (rel / n).as_posix()
            m = _ATOMIC_TMP.match(n)
            if m and (rel / m.group("name")).as_posix() in listed | {MARKER}:
                continue
            if r != MARKER and r not in listed:
                extra.append(r)
                if len(extra) >= limit:
                    return extra
    return extra


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
    final = _resolve(path)
    never = _never_reason(final, inputs)
    if never is not None:
        return never
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
        return f"it is {_kind_words(str(rec.get('kind', 'folder')))}, not a {kind} folder"
    extra = _unexpected(final, rec)
    if extra:
        shown = ", ".join(extra[:5]) + (", …" if len(extra) > 5 else "")
        return f"it holds files geoplan did not write there ({shown})"
    return None


def _refuse(final: Path, reason: str, *, never: bool = False) -> OutputExistsError:
    if never:
        return OutputExistsError(f"will not replace {final}: {reason}; geoplan never replaces it, even with "
                                 f"--overwrite; choose a new output folder / 该文件夹永远不会被替换，请换一个新的输出文件夹")
    return OutputExistsError(
        f"will not replace {final}: {reason}; choose a new output folder, or delete it yourself "
        f"/ 不替换该文件夹（仅替换 geoplan 自己创建的输出文件夹），请换一个新的输出文件夹"
    )


def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False,
                        inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Refuse early (before slow work) when ``path`` exists and may not be replaced; returns it resolved.

    Also refuses a path that can never be made (a parent is a file, a name too
    long, a symbolic-link loop).
    """
    final = _resolve(path)
    _check_shape(final)
    if final.exists() or final.is_symlink():
        never = _never_reason(final, inputs)
        if never is not None:
            raise _refuse(final, never, never=True)
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


def _missing_parents(folder: Path) -> list[Path]:
    """The ancestors of ``folder`` (itself included) that do not exist yet, deepest first."""
    out = []
    for a in [folder, *folder.parents]:
        if os.path.lexists(a):
            break
        out.append(a)
    return out


def _remove_if_empty(folders: Iterable[Path]) -> None:
    for d in folders:  # deepest first; stops mattering at the first one that is not empty
        with contextlib.suppress(OSError):
            d.rmdir()


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


def _write_into(final: Path, tmp: Path) -> None:
    """Replace the contents of ``final`` (a mount point: it cannot be renamed) with those of ``tmp``."""
    for entry in list(final.iterdir()):  # refuse_reason checked: only what geoplan wrote, or nothing
        if entry.name == MARKER:
            continue
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for entry in list(tmp.iterdir()):
        if entry.name != MARKER:
            shutil.move(str(entry), str(final / entry.name))
    shutil.move(str(tmp / MARKER), str(final / MARKER))  # last: the marker lists what is now there
    shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def output_folder(path: str | os.PathLike, *, overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike] | None = None, kind: str = "folder") -> Iterator[Path]:
    """Write a folder of results atomically.

    Yields a temporary folder beside ``path``; when the ``with`` block ends
    without error the temporary folder replaces ``path``.  On any error (and
    on SIGTERM/SIGINT/SIGHUP under the CLI) the temporary folder is removed
    and ``path`` is left exactly as it was, so a failed run never leaves a
    half-written report behind.  The folder gets the :data:`MARKER` file,
    which lists every file written (a folder holding anything else is never
    replaced).  A replace interrupted between its two renames is completed or
    undone by the signal handler, or by the next run's :func:`sweep_stale`.

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
    final = _resolve(path)
    sweep_stale(final.parent)  # first: it may put back a folder an interrupted replace left out
    final = check_output_folder(final, overwrite=overwrite, inputs=inputs)
    created = _missing_parents(final.parent)
    final.parent.mkdir(parents=True, exist_ok=True)
    _register_parents(created)
    record = marker_record(kind, temporary=True)  # prepared first: the folder is unmarked only for microseconds
    record["final"] = final.name
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(final.name), suffix=".tmp", dir=final.parent))
    _register(tmp)
    old: Path | None = None
    swap = None
    try:
        write_marker(tmp, record=record)
        yield tmp
        _normal_permissions(tmp)
        done = marker_record(kind)
        done.update(final=final.name, files=_listing(tmp), overwrite=bool(overwrite))
        # complete (temporary: false) before the swap: a kill from here on never loses it (see sweep_stale)
        write_marker(tmp, record=done)
        # Checked again at the end: the folder may have appeared (or changed) while we worked.
        if (final.exists() or final.is_symlink()) and not overwrite:
            raise OutputExistsError(f"output {final} appeared while geoplan was writing; nothing was replaced")
        if final.exists() or final.is_symlink():
            reason = refuse_reason(final, inputs=inputs)
            if reason is not None:
                raise _refuse(final, reason)
            if os.path.ismount(final):  # a mount point cannot be renamed (EBUSY): write into it
                _write_into(final, tmp)
                _unregister(tmp)
                _unregister_parents(created)
                return
            old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(final.name), suffix=".old.tmp", dir=final.parent))
            _register(old)
            oldrec = marker_record("old", temporary=True)
            oldrec["final"] = final.name
            write_marker(old, record=oldrec)
        swap = (tmp, old, final)
        with _LIVE_LOCK:
            _SWAPS.add(swap)
        if old is not None:
            os.replace(final, old / final.name)
        try:
            os.replace(tmp, final)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise OutputExistsError(f"another run wrote {final} at the same moment; its result was kept and "
                                        f"this run's was not installed / 另一个运行同时写入了该文件夹") from exc
            raise
        with _LIVE_LOCK:
            _SWAPS.discard(swap)
        _unregister(tmp)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            _unregister(old)
        _unregister_parents(created)
    except BaseException:
        with _LIVE_LOCK:
            if swap is not None:
                _SWAPS.discard(swap)
        _settle(tmp, old, final, in_swap=swap is not None)
        _unregister(tmp)
        if old is not None:
            _unregister(old)
        _remove_if_empty(created)
        _unregister_parents(created)
        raise


def check_new_file(path: str | os.PathLike, *, overwrite: bool = False,
                   inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Refuse to replace an existing output unless asked and allowed; return the path.

    An existing folder follows the folder rule (:func:`output_folder`).  An
    existing file is replaced only with ``overwrite``, and never when it is
    an input of the run (by path or by device and inode: a hard link, a bind
    mount) or not a regular file.
    """
    p = Path(path)
    resolved = _resolve(p)
    if resolved.is_dir():
        check_output_folder(p, overwrite=overwrite, inputs=inputs)
        return p
    _check_shape(resolved)
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise OutputExistsError(f"{p} exists; pass overwrite=True (CLI: --overwrite) to replace it "
                                    f"/ 文件已存在，如需替换请加 --overwrite")
        for inp in _all_inputs(inputs):
            same = resolved == inp
            if not same:
                with contextlib.suppress(OSError):
                    same = os.path.samefile(resolved, inp)
            if same:
                raise OutputExistsError(f"will not replace {p}: it is an input of this run / 不能用输出覆盖输入文件")
        if not resolved.is_file():
            raise OutputExistsError(f"will not replace {p}: it is not a regular file")
    return p


def atomic_write_file(path: str | os.PathLike, writer: Callable[[Path], Any], *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike] | None = None) -> Path:
    """Call ``writer(tmp_path)`` then move the result onto ``path`` in one step.

    ``path`` follows :func:`check_new_file`; on any error the temporary file is
    removed, and an error naming the temporary file names ``path`` instead.
    """
    p = check_new_file(path, overwrite=overwrite, inputs=inputs)
    if p.is_dir():
        raise OutputExistsError(f"will not replace {p}: it is a folder, a file was expected")
    created = _missing_parents(p.parent)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(p.name), suffix=p.suffix[:16], dir=p.parent)
    except OSError as exc:  # read-only, full: name the output, not the hidden temporary
        exc.filename = os.fspath(p)
        _remove_if_empty(created)
        raise
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    _register(tmp_path)
    try:
        writer(tmp_path)
        os.replace(tmp, p)
    except BaseException as exc:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else os.unlink(tmp)
        _remove_if_empty(created)
        if isinstance(exc, OSError) and exc.filename is not None and os.fspath(exc.filename) == os.fspath(tmp):
            exc.filename = os.fspath(p)  # the user knows the output's name, not the hidden temporary's
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
            if not os.path.islink(os.path.join(root, f)):
                os.chmod(os.path.join(root, f), 0o666 & ~umask)


# --------------------------------------------------------------------------- leftovers


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
