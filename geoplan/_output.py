"""Safe output folders: all-or-nothing, never overwrite without being asked."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from geoplan._errors import OutputExistsError


@contextlib.contextmanager
def output_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a folder of results atomically.

    Yields a temporary folder beside ``path``; when the ``with`` block ends
    without error the temporary folder replaces ``path``.  On any error the
    temporary folder is removed and ``path`` is left exactly as it was, so a
    failed run never leaves a half-written report behind.

    Parameters
    ----------
    path
        The final folder.
    overwrite
        Replace an existing ``path``.  Without it an existing path raises
        :class:`~geoplan.OutputExistsError` before anything is written.
    """
    final = Path(path).resolve()
    if final.exists() and not overwrite:
        raise OutputExistsError(
            f"output {final} exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _normal_permissions(tmp)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        if old.exists():
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()


def check_new_file(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse to overwrite an existing file unless asked; return the path."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    return p


def atomic_write_file(path: str | os.PathLike, writer, *, overwrite: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move the result onto ``path`` in one step."""
    p = check_new_file(path, overwrite=overwrite)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        writer(Path(tmp))
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            shutil.rmtree(tmp) if os.path.isdir(tmp) else os.unlink(tmp)
        raise
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
