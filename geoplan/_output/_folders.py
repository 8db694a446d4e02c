"""All-or-nothing writers: a folder of results (:func:`output_folder`) and single files."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from geoplan._errors import OutputExistsError
from geoplan._output._leftovers import _settle, sweep_stale
from geoplan._output._rule import (
    _check_shape,
    _listing,
    _missing_parents,
    _refuse,
    _remove_if_empty,
    _resolve,
    _tmp_prefix,
    check_output_folder,
    refuse_reason,
)
from geoplan._output._state import (
    _LIVE_LOCK,
    _SWAPS,
    MARKER,
    _all_inputs,
    _register,
    _register_parents,
    _unregister,
    _unregister_parents,
    marker_record,
    write_marker,
)


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
