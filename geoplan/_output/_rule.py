"""The output-folder rule: which existing folder geoplan may replace, and why not."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
from pathlib import Path
from typing import Iterable

from geoplan._errors import InputError, OutputExistsError
from geoplan._output._state import MARKER, _all_inputs, read_marker


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


# --------------------------------------------------------------------------- parent folders


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
