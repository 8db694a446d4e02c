"""One area of a batch: the Dask task :func:`run_area`, with its memory watch and suggestion hook.

It loads the area's networks (one per travel mode, through :func:`geoplan.network.load_networks`),
runs :func:`geoplan.coverage.assess` and writes ``output/areas/<area_id>/`` all-or-nothing, its
``done.json`` last.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

import geopandas as gpd
import pandas as pd

from geoplan._errors import GeoplanError, InputError, NetworkError
from geoplan._output import check_output_folder, csv_safe, output_folder
from geoplan.batch._areas import Area, _area_polygon, _buffered, _within, area_catalogue, area_id_problem
from geoplan.batch._provenance import MARKER, _area_files, _marker, _options, _rewrite_marker, fingerprint
from geoplan.coverage._coverage import assess
from geoplan.io import read_points
from geoplan.network._loading import load_networks

log = logging.getLogger("geoplan")


# --------------------------------------------------------------------------- memory


class _MemoryWatch:
    """Peak RSS of this process while a block runs (psutil sampling + ru_maxrss when it rose)."""

    def __init__(self, interval: float = 0.01) -> None:
        try:
            import psutil
        except ImportError:  # psutil comes with distributed; without it only ru_maxrss is used
            psutil = None
        self._proc = psutil.Process() if psutil is not None else None
        self._interval = interval
        self._stop = threading.Event()
        self.start_rss = self.peak_rss = 0

    @staticmethod
    def _maxrss() -> int:
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
        except (ImportError, OSError):  # pragma: no cover - Windows
            return 0

    def _rss(self) -> int:
        return self._proc.memory_info().rss if self._proc is not None else self._maxrss()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_rss = max(self.peak_rss, self._rss())

    def __enter__(self) -> "_MemoryWatch":
        self._maxrss0 = self._maxrss()
        self.start_rss = self.peak_rss = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self._rss())
        maxrss1 = self._maxrss()
        if maxrss1 > self._maxrss0:  # the lifetime high-water mark was set during this block
            self.peak_rss = max(self.peak_rss, maxrss1)


# --------------------------------------------------------------------------- one area

def _suggest(hook, area: Area, result, nets, fac, dem, units):
    """Run the optional site-suggestion hook; returns (table or None, note).

    ``nets`` is ``{mode: Network}``; each type is planned on its own mode's graph.
    """
    if hook is None or hook is False:
        return None, ""
    inputs = {"result": result, "network": nets, "facilities": fac, "demand": dem, "units": units}
    if callable(hook):
        return hook(**inputs), ""
    # Suggestion loads HiGHS and numba: only when a batch asks for it (a broken suggest still fails loudly).
    from geoplan import suggest as suggest_mod

    options = dict(hook) if isinstance(hook, Mapping) else {}
    cat = options.pop("catalogue", None) or result.catalogue  # the area's catalogue, its modes overridden
    types = [options.pop("facility_type")] if "facility_type" in options else list(result.catalogue.keys)
    options.setdefault("model", "mclp")
    if options["model"] in ("mclp", "pmedian"):
        options.setdefault("p", 1)  # default: the single best next site per type
    tables, notes = [], []
    for t in types:
        try:
            key = cat.resolve(t)
            if key is None:
                raise InputError(f"unknown facility type {t!r}", field="facility_type")
            if cat[key].mode not in nets:  # a catalogue given to the hook alone: no fallback to another mode
                raise NetworkError(f"no {cat[key].mode} network was built for {key}")
            res = suggest_mod.suggest_sites(nets[cat[key].mode], fac, dem, facility_type=key, units=units,
                                            catalogue=cat, **options)
        except GeoplanError as exc:  # one type that cannot be planned must not sink the area
            notes.append(f"{t}: {exc}")
            continue
        tables.append(pd.DataFrame(res.sites.assign(geometry_wkt=res.sites.geometry.to_wkt()).drop(columns="geometry")))
    table = pd.concat(tables, ignore_index=True) if tables else None
    return table, "; ".join(notes)


def _modes_used(result) -> dict[str, str]:
    """``{type}_mode`` = the travel mode each type was timed with (``walk``/``drive``)."""
    return {f"{t}_mode": m for t, m in result.modes.items()}


def _covered_shares(summary: pd.DataFrame) -> dict[str, float]:
    """``{type}_covered`` = the type's people-covered share (its target population)."""
    out = {}
    rows = summary[summary["indicator"].astype(str).str.match(r"share_pop.*_covered")]
    for _, r in rows.iterrows():
        out[f"{r['type']}_covered"] = float(r["value"]) if pd.notna(r["value"]) else float("nan")
    return out


def _write_table(gdf, path: Path) -> None:
    """GeoParquet for GeoDataFrames, Parquet otherwise; object columns of mixed types become text."""
    frame = gdf.copy()
    for col in frame.columns:
        if col != getattr(frame, "_geometry_column_name", None) and frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    frame.to_parquet(path, index=False)


def run_area(
    area: Area,
    output: str | os.PathLike,
    *,
    buffer_m: float = 2000,
    suggest: Any = None,
    lang: str = "zh",
    catalogue: Any = None,
    with_service_areas: bool = True,
    provenance: Mapping | None = None,
    inputs: Sequence[str | os.PathLike] = (),
) -> dict:
    """Run one area and write ``output/areas/<area_id>/``; never raises for the area's own errors.

    This is the Dask task.  It can also be called directly (same results).

    Parameters
    ----------
    area
        The area.
    output
        The batch output folder.
    buffer_m
        Buffer around the area polygon for the network and facilities (metres).
    suggest
        ``None`` (no suggestion), a callable ``f(*, result, network, facilities,
        demand, units) -> DataFrame`` (written as ``suggestions.parquet``), or
        ``True``/a mapping of keyword options for
        :func:`geoplan.suggest.suggest_sites` (e.g. ``{"facility_type": "社工站",
        "model": "mclp", "p": 2}``); without ``facility_type`` every type is planned,
        and the default is the single best new site per type (MCLP, p = 1).  A type
        that cannot be planned is named in the ``note``.  When ``geoplan.suggest``
        is absent the step is skipped and the ``note`` says so.
        A picklable callable is needed on a cluster (a module-level function).
    lang
        Report language.
    catalogue
        Facility types and targets (default: :func:`geoplan.coverage.default_catalogue`);
        the row's 方式 override (``area.mode``) applies on top.  Every travel
        mode the types then need is built from the area's network file.
    with_service_areas
        Compute service-area polygons for the report map.
    provenance
        What produced the result (:func:`fingerprint`), recorded in ``done.json``
        so a rerun can tell a stale result from a current one (computed here when
        not given).
    inputs
        Every file the whole batch reads (all areas and the areas table): the
        area folder is never replaced when it holds one -- refused for this
        area before any work.

    Returns
    -------
    dict
        One summary row: ``status`` ``"ok"`` or ``"failed"``, ``error_type``,
        ``error``, ``elapsed_s``, ``peak_rss_mb``, ``rss_increase_mb``, counts
        (``n_nodes``/``n_edges`` summed over the graphs built), ``modes`` (the
        graphs built, e.g. ``"drive,walk"``), per-type covered shares
        ``{type}_covered`` and modes used ``{type}_mode``.
    """
    rec: dict[str, Any] = {"area_id": area.area_id, "name": area.name, "status": "failed", "error_type": "",
                           "error": "", "worker_pid": os.getpid()}
    t0 = time.perf_counter()
    watch = _MemoryWatch()
    folder = Path(output) / "areas" / "?"
    try:
        with watch:
            problem = area_id_problem(area.area_id)
            if problem is not None:  # never let an id like ".." name (and replace) another folder
                raise InputError(f"area_id {area.area_id!r} cannot name a folder: it {problem}", field="area_id")
            folder = Path(output) / "areas" / area.area_id
            # all the batch's inputs, not only this area's: another area's file may sit in this folder
            run_inputs = [*_area_files(area), *(os.fspath(f) for f in inputs)]
            check_output_folder(folder, overwrite=True, inputs=run_inputs)  # before any work
            if provenance is None:
                provenance = fingerprint(area, options=_options(buffer_m=buffer_m, suggest=suggest, lang=lang,
                                                                catalogue=catalogue,
                                                                with_service_areas=with_service_areas))
            cat = area_catalogue(area, catalogue)
            poly, units = _area_polygon(area)
            buffered, _ = _buffered(poly, buffer_m)
            # Every mode the types need, from the one file, read as `geoplan coverage` reads it; no fallback.
            nets = load_networks(area.network, modes={ft.mode for ft in cat}, within=buffered)
            fac = read_points(area.facilities, datum=area.facilities_datum, kind="facilities",
                              datum_option="设施坐标系 (facilities_datum)")
            dem = read_points(area.demand, datum=area.demand_datum, kind="demand",
                              datum_option="需求点坐标系 (demand_datum)")
            fac = _within(fac, buffered)
            dem = _within(dem, poly)
            if len(dem) == 0:
                raise InputError(f"area {area.area_id}: no demand points inside the area", file=area.demand)
            if units is None:
                units = gpd.GeoDataFrame({"code": [area.area_id], "name": [area.name], "kind": [None]},
                                         geometry=[poly], crs=4326)
            else:
                units = units[units.geometry.representative_point().within(poly.buffer(1e-9))]
            result = assess(nets, fac, dem, units=units, catalogue=cat, with_service_areas=with_service_areas)
            suggestions, note = _suggest(suggest, area, result, nets, fac, dem, units)
            rec.update(n_nodes=sum(n.n_nodes for n in nets.values()), n_edges=sum(n.n_edges for n in nets.values()),
                       modes=",".join(sorted(nets)), n_facilities=len(fac), n_demand=len(dem),
                       pop=float(pd.to_numeric(dem["pop"]).sum()))
            rec.update(_covered_shares(result.summary))
            rec.update(_modes_used(result))
            rec["note"] = note
            with output_folder(folder, overwrite=True, inputs=run_inputs, kind="area") as tmp, _disk_full_named(tmp):
                _write_table(result.demand, tmp / "demand.parquet")
                _write_table(result.facilities, tmp / "facilities.parquet")
                _write_table(result.units, tmp / "units.parquet")
                csv_safe(result.summary).to_csv(tmp / "summary.csv", index=False, encoding="utf-8-sig")
                if suggestions is not None:
                    _write_table(suggestions, tmp / "suggestions.parquet")
                result.save(tmp / "report", lang=lang, title=f"{area.name} ({area.area_id})")
                rec["status"] = "ok"
                rec["elapsed_s"] = round(time.perf_counter() - t0, 3)
                (tmp / MARKER).write_text(json.dumps(_marker(rec, provenance), ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - one area's failure must not stop the batch
        rec["status"] = "failed"
        rec["error_type"] = type(exc).__name__
        rec["error"] = str(exc)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            rec["error_type"] = "DiskFull"
            rec["error"] = f"无法写入 / cannot write: 磁盘已满 / no space left on device: {exc.filename or folder}"
        log.debug("area %s failed:\n%s", area.area_id, traceback.format_exc())
    rec["elapsed_s"] = round(time.perf_counter() - t0, 3)
    rec["peak_rss_mb"] = round(watch.peak_rss / 2**20, 1)
    rec["rss_increase_mb"] = round((watch.peak_rss - watch.start_rss) / 2**20, 1)
    if rec["status"] == "ok":  # the marker gets the final measurements (rewritten in place, same folder)
        _rewrite_marker(folder / MARKER, _marker(rec, provenance))
    rec["output"] = str(folder) if rec["status"] == "ok" else ""
    return rec


#: Below this many free bytes a failed write is taken as "disk full" (libraries report it in their own words).
_DISK_FULL_BYTES = 1 << 20


@contextlib.contextmanager
def _disk_full_named(folder: Path):
    """Turn a write error raised while the disk is full (e.g. SQLite's "no such table: gpkg_contents")
    into ``OSError(ENOSPC)``; checked while the temporary folder still takes the space."""
    try:
        yield
    except Exception as exc:
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        if not full:
            with contextlib.suppress(OSError):
                full = shutil.disk_usage(folder).free < _DISK_FULL_BYTES
        if full and not (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder.parent)) from exc
        raise
