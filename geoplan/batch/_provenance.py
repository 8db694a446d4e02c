"""What produced a finished area (``done.json``), so a rerun skips only areas that are still current.

``fingerprint`` records an area's row, the size and SHA-256 of its input files, the options and
geoplan's version; ``same_provenance`` compares a recorded one with the current one; ``_finished``
reads the marker of an area whose results are all on disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import pickle
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from geoplan._output import _version, atomic_write_file, read_marker
from geoplan.batch._areas import Area

#: Name of the completion marker written last into each area folder.
MARKER = "done.json"


def _jsonable(rec: Mapping) -> dict:
    out = {}
    for k, v in rec.items():
        if isinstance(v, (np.integer,)):
            v = int(v)
        elif isinstance(v, (np.floating, float)):
            v = None if math.isnan(float(v)) else float(v)
        out[k] = v
    return out


def _marker(rec: Mapping, provenance: Mapping | None) -> dict:
    out = _jsonable(rec)
    out["provenance"] = dict(provenance or {})
    return out


def _rewrite_marker(path: Path, rec: Mapping) -> None:
    atomic_write_file(path, lambda p: p.write_text(json.dumps(rec, ensure_ascii=False, indent=1),
                                                   encoding="utf-8"), overwrite=True)


# --------------------------------------------------------------------------- provenance


def _area_files(area: Area) -> list[str]:
    """The input files of an area (a Shapefile with its sidecar files)."""
    files = []
    for f in (area.network, area.facilities, area.demand, area.units, area.polygon_file):
        if not f:
            continue
        files.append(f)
        p = Path(f)
        if p.suffix.lower() == ".shp":
            files += [str(p.with_suffix(ext)) for ext in (".dbf", ".shx", ".prj", ".cpg")
                      if p.with_suffix(ext).exists()]
    return files


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_folder(path: Path) -> tuple[int, str]:
    """Total size and SHA-256 over every file of a folder input (a FileGDB): relative path, size, SHA-256."""
    h = hashlib.sha256()
    total = 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for n in sorted(files):
            f = Path(root) / n
            size = f.stat().st_size
            total += size
            h.update(json.dumps([f.relative_to(path).as_posix(), size, _sha256_file(f)]).encode("utf-8"))
    return total, h.hexdigest()


def _file_state(path: str, cache: dict | None = None) -> dict:
    """Size, modification time and SHA-256 of a file or a folder input (``{"missing": True}`` when absent)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return {"missing": True}
    key = (str(p), st.st_size, st.st_mtime_ns)
    if cache is not None and key in cache:
        return cache[key]
    if p.is_dir():  # a folder's own size/mtime miss changes to the files inside it
        size, digest = _sha256_folder(p)
        state = {"size": size, "mtime_ns": st.st_mtime_ns, "sha256": digest, "folder": True}
    else:
        state = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                 "sha256": _sha256_file(p) if p.is_file() else None}
    if cache is not None:
        cache[key] = state
    return state


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def _options(*, buffer_m, suggest, lang, catalogue, with_service_areas) -> dict:
    """The options that change an area's result, in a JSON-able form."""
    if callable(suggest):
        hook: Any = f"{getattr(suggest, '__module__', '?')}.{getattr(suggest, '__qualname__', repr(suggest))}"
    elif isinstance(suggest, Mapping):
        hook = dict(suggest)
    else:
        hook = suggest
    cat = None
    if catalogue is not None:
        # A dataclass repr is deterministic (a pickle of sets is not, under hash randomisation).
        cat = repr(catalogue)
        if " at 0x" in cat:
            with contextlib.suppress(Exception):
                cat = hashlib.sha256(pickle.dumps(catalogue)).hexdigest()
    return {"buffer_m": float(buffer_m), "suggest": hook, "lang": lang, "catalogue": cat,
            "with_service_areas": bool(with_service_areas)}


def fingerprint(area: Area, *, options: Mapping, cache: dict | None = None) -> dict:
    """What produces an area's result: its row, its input files, the options and geoplan's version.

    Recorded in ``done.json``; a rerun recomputes an area whose fingerprint
    changed (:func:`same_provenance`).

    Parameters
    ----------
    area
        The area (its table row; the spreadsheet row number is left out).
    options
        Batch options (buffer, suggestion, language, catalogue, service areas).
    cache
        Shared between areas so each file is hashed once per run.

    Returns
    -------
    dict
        ``geoplan`` (version), ``row`` and ``options`` (SHA-256 of their JSON),
        ``inputs`` (``{path: {size, mtime_ns, sha256}}``).
    """
    row = {k: v for k, v in dataclasses.asdict(area).items() if k != "row"}
    return {"geoplan": _version(), "row": _digest(row), "options": _digest(dict(options)),
            "inputs": {f: _file_state(f, cache) for f in _area_files(area)}}


def same_provenance(recorded: Mapping | None, current: Mapping) -> tuple[bool, str]:
    """Is a finished result still current?  Returns (same, what changed).

    Files compare by size and content (SHA-256); a new modification time with
    the same content (a copy, ``touch``) is not a change.
    """
    if not recorded:
        return False, "no provenance recorded (older geoplan)"
    for key, what in (("geoplan", "geoplan version"), ("row", "its row of the areas table"),
                      ("options", "the batch options")):
        if recorded.get(key) != current.get(key):
            return False, what
    old, new = recorded.get("inputs") or {}, current.get("inputs") or {}
    if set(old) != set(new):
        return False, "its input files"
    for f, state in new.items():
        before = old[f]
        if state.get("missing") or before.get("missing") or state.get("size") != before.get("size") \
                or state.get("sha256") != before.get("sha256"):
            return False, f"input file {f}"
    return True, ""


#: What a finished area folder holds besides ``done.json`` (a folder missing one is not finished).
_AREA_FILES = ("demand.parquet", "facilities.parquet", "units.parquet", "summary.csv", "report")


def _finished(output: Path, area: Area) -> dict | None:
    """The ``done.json`` record of a finished area whose results are all on disk, else ``None``."""
    folder = output / "areas" / area.area_id
    marker = folder / MARKER
    if not marker.is_file() or not all((folder / name).exists() for name in _AREA_FILES):
        return None
    try:
        rec = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("status") == "ok" else None


def read_marker_kind(folder: Path) -> str | None:
    """The kind recorded in a folder's geoplan marker, or ``None``."""
    rec = read_marker(folder)
    return None if rec is None else str(rec.get("kind", "folder"))
