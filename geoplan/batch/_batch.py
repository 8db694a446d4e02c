"""Many areas (counties) in one run on Dask: partitioned, buffered, resumable.

A province or a city with many counties runs the same coverage job for every
area (shared/DESIGN.md §9).  Each area is one independent :mod:`dask.distributed`
task that

1. loads **only its own area's network**: the area polygon buffered by
   ``buffer_m`` (so residents near a county line can reach facilities across
   it), one graph per travel mode its facility types need (walk and/or drive,
   from the catalogue and the row's 方式 override), all from the area's one
   network file and read exactly as ``geoplan coverage`` reads it
   (:func:`geoplan.network.load_networks`); ``.osm.pbf`` files are clipped
   while reading (pyrosm ``bounding_box``), GraphML and line layers are read
   and then clipped;
2. takes the facilities inside the buffered area and the demand inside the
   area itself (people are counted once, in their own county);
3. runs :func:`geoplan.coverage.assess`, each type on its own mode's graph
   (and, when asked and when ``geoplan.suggest`` exists, site suggestion);
4. writes ``output/areas/<area_id>/`` all-or-nothing
   (:func:`geoplan._output.output_folder`): GeoParquet tables
   (``demand.parquet``, ``facilities.parquet``, ``units.parquet``),
   ``summary.csv``, the report folder ``report/`` (:meth:`CoverageResult.save`)
   and last the completion marker ``done.json``.  A rerun skips areas whose
   marker exists.

A failing area becomes a row with status ``failed``, its error type and message;
the others go on.  The summary across areas is written to
``output/summary.csv``, and ``output/summary/report.{md,html,xlsx}`` by the report writer the
caller passes (:func:`geoplan.outputs.write_batch_summary`; ``geoplan batch`` does).

The modules: ``_areas`` (the areas table, outlines), ``_runner`` (one area: the Dask task),
``_provenance`` (``done.json``: what produced a result), this one (the run over all areas).

Lost workers
------------
On a cluster (``scheduler=`` an address) a worker that dies while it runs an area -- killed, out
of memory, its machine lost -- takes only that attempt with it: the scheduler notices the broken
connection and runs the area again on another worker (after ``distributed.scheduler.allowed-failures``
such deaths, 3 by default, the area is reported ``failed`` with ``KilledWorker``).  The task needs
no Dask ``retries`` for this (those re-run a task that *raised*; :func:`run_area` never raises, an
area that fails is a row of the summary, and would fail again).  Re-running is safe because an
area's folder is written to a hidden temporary folder and renamed into place whole
(:func:`geoplan._output.output_folder`), so a killed attempt leaves at most a temporary folder,
never a partial ``areas/<area_id>/``; the next attempt's writer and the end of the run clear it
(on another machine's worker: :func:`_clear_lost_writers`).  If the scheduler or the ``geoplan
batch`` process itself dies, run the same command again: finished areas are skipped.

Memory
------
``peak_rss_mb`` is the peak resident memory of the worker process while the
task ran, sampled every 10 ms with psutil and combined with the kernel's
high-water mark (``getrusage`` ``ru_maxrss``) when that rose during the task
(``ru_maxrss`` alone is a per-process lifetime maximum, so it says nothing
about the second task on the same worker).  ``rss_increase_mb`` is that peak
minus the RSS when the task started: the memory the area needed on top of
what the worker already held.  With the default LocalCluster
(``threads_per_worker=1``, processes) one task runs per process at a time, so
both numbers belong to that area; on a cluster whose workers run several
threads they include whatever else ran in the process meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from geoplan._errors import GeoplanError, InputError, OutputExistsError
from geoplan._output import _check_shape, _resolve, read_marker, sweep_stale, write_csv, write_marker
from geoplan.batch._areas import Area, area_catalogue, check_area_ids, read_areas
from geoplan.batch._provenance import _area_files, _finished, _options, fingerprint, read_marker_kind, same_provenance
from geoplan.batch._runner import run_area

log = logging.getLogger("geoplan")


# --------------------------------------------------------------------------- the batch


@contextlib.contextmanager
def _client(scheduler: Any, n_workers: int):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GeoplanError(
            "geoplan batch needs dask.distributed: pip install 'geoplan[dask]' (or 'dask[distributed]')"
        ) from exc
    if scheduler is None:
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                yield client
    elif isinstance(scheduler, Client):
        yield scheduler
    else:
        with Client(str(scheduler)) as client:
            yield client


_SUMMARY_COLUMNS = ["area_id", "name", "status", "error_type", "error", "elapsed_s", "peak_rss_mb",
                    "rss_increase_mb", "modes", "n_nodes", "n_edges", "n_facilities", "n_demand", "pop", "note"]


def run_batch(
    areas: str | os.PathLike | Sequence[Area],
    output: str | os.PathLike,
    *,
    scheduler: Any = None,
    n_workers: int = 2,
    buffer_m: float = 2000,
    suggest: Any = None,
    overwrite: bool = False,
    lang: str = "zh",
    catalogue: Any = None,
    with_service_areas: bool = True,
    report: Callable[..., Mapping[str, Path]] | None = None,
) -> pd.DataFrame:
    """Run coverage for every area on Dask, one task per area; resumable.

    Parameters
    ----------
    areas
        An areas table path (see :func:`read_areas`) or a list of :class:`Area`.
    output
        Batch folder: ``areas/<area_id>/`` per area, ``summary.csv`` (and
        ``summary/report.{md,html,xlsx}`` when ``report`` is given).  It is created (with the marker
        ``.geoplan-output``) or must be a batch folder geoplan created (or an
        empty folder); any other existing folder is refused, even with
        ``overwrite``, so batch never writes among the user's own files.
        Finished areas in it are skipped (status ``"skipped"``) when what
        produced them is unchanged: ``done.json`` records the area's row, the
        size and SHA-256 of its input files, the options and geoplan's
        version (:func:`fingerprint`); a changed area is recomputed.
    scheduler
        ``None``: a :class:`distributed.LocalCluster` with ``n_workers``
        single-threaded worker processes, closed at the end; a scheduler
        address (``"tcp://host:8786"``) to use an existing cluster (its workers
        must see the same file paths); or a :class:`distributed.Client`.
    n_workers
        Workers of the LocalCluster.
    buffer_m
        Buffer (metres) around each area for its network and facilities.
    suggest
        Site-suggestion hook, see :func:`run_area`.
    overwrite
        Recompute finished areas too (each folder is replaced only when its area succeeds).
        It never lets batch write into a folder it did not create.
    lang
        Report language, ``"zh"`` or ``"en"``.
    catalogue
        Facility types and targets for every area.
    with_service_areas
        Compute service-area polygons.
    report
        Writer of the summary report, called as ``report(summary, output, lang=lang, inputs=files
        read)`` once the table is complete, e.g. :func:`geoplan.outputs.write_batch_summary`
        (``summary/report.{md,html,xlsx}``; ``geoplan batch`` passes it).  ``None``: only
        ``summary.csv``.  Batch computes; the presentation layer is the caller's to choose.

    Returns
    -------
    pandas.DataFrame
        One row per area (table order): ``area_id``, ``name``, ``status``
        (``ok``/``failed``/``skipped``), ``error_type``, ``error``,
        ``elapsed_s``, ``peak_rss_mb``, ``rss_increase_mb``, ``modes`` (graphs
        built), counts, ``{type}_covered`` shares, ``{type}_mode`` (the travel
        mode each type was timed with), ``output``.  ``attrs["paths"]`` holds the
        summary files written.

    Raises
    ------
    InputError
        A bad areas table (checked whole, before any work or any folder is made).
    OutputExistsError
        ``output`` exists and is not a batch folder geoplan created.
    OSError
        ``ENOSPC`` when an area failed because the disk was full (after the summary is written).
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be zh or en, not {lang!r}", field="lang")
    table_file = str(areas) if isinstance(areas, (str, os.PathLike)) else None
    area_list = read_areas(areas) if table_file is not None else list(areas)
    if not area_list:
        raise InputError("no areas to run", file=table_file)
    check_area_ids(area_list, file=table_file)
    for a in area_list:  # an unknown type in a 方式 override stops the batch before any work, like a bad id
        area_catalogue(a, catalogue, file=table_file)
    out = _batch_folder(output)
    inputs = ([table_file] if table_file else []) + [f for a in area_list for f in _area_files(a)]
    options = _options(buffer_m=buffer_m, suggest=suggest, lang=lang, catalogue=catalogue,
                       with_service_areas=with_service_areas)
    cache: dict = {}
    prints = {a.area_id: fingerprint(a, options=options, cache=cache) for a in area_list}
    if not out.exists():
        out.mkdir(parents=True)
        write_marker(out, "batch")
    elif read_marker_kind(out) is None:  # an empty folder the user made for the batch
        write_marker(out, "batch")
    (out / "areas").mkdir(exist_ok=True)
    sweep_stale(out / "areas")  # left by a run that was killed (kill -9, power cut)
    sweep_stale(out)

    records: dict[str, dict] = {}
    todo: list[Area] = []
    for a in area_list:
        done = None if overwrite else _finished(out, a)
        if done is not None:
            same, changed = same_provenance(done.get("provenance"), prints[a.area_id])
            if not same:
                log.info("area %s: %s changed since it ran, recomputed", a.area_id, changed)
                done = None
        if done is not None:
            done.update(status="skipped", output=str(out / "areas" / a.area_id))
            records[a.area_id] = done
            log.info("area %s: finished earlier, skipped", a.area_id)
        else:
            todo.append(a)

    if todo:
        from distributed import as_completed

        with _client(scheduler, n_workers) as client:
            run_id = uuid.uuid4().hex[:8]
            started = time.time()
            futures = {}
            for a in todo:
                fut = client.submit(run_area, a, str(out), buffer_m=buffer_m, suggest=suggest, lang=lang,
                                    catalogue=catalogue, with_service_areas=with_service_areas,
                                    provenance=prints[a.area_id], inputs=inputs,
                                    key=f"geoplan-area-{a.area_id}-{run_id}", pure=False, retries=0)
                futures[fut] = a
            log.info("batch: %d area(s) to run, %d skipped, on %s", len(todo), len(area_list) - len(todo),
                     client.scheduler.address if client.scheduler else "?")
            for i, fut in enumerate(as_completed(futures), 1):
                a = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. the worker died (KilledWorker)
                    rec = {"area_id": a.area_id, "name": a.name, "status": "failed",
                           "error_type": type(exc).__name__, "error": _task_error(exc)}
                records[a.area_id] = rec
                if rec["status"] == "ok":
                    log.info("[%d/%d] area %s ok in %.1f s, peak RSS %.0f MB", i, len(todo), a.area_id,
                             rec.get("elapsed_s", float("nan")), rec.get("peak_rss_mb", float("nan")))
                else:
                    log.warning("[%d/%d] area %s FAILED: %s: %s", i, len(todo), a.area_id, rec.get("error_type"),
                                rec.get("error"))

    for a in area_list:  # the summary reports only results that exist on disk
        rec = records[a.area_id]
        if rec.get("status") in ("ok", "skipped") and _finished(out, a) is None:
            records[a.area_id] = {**rec, "status": "failed", "error_type": "OutputMissing",
                                  "error": f"result folder {out / 'areas' / a.area_id} is missing or incomplete",
                                  "output": ""}
    sweep_stale(out / "areas")  # temporary folders of workers that died during this run
    if todo:  # ... and of workers on other machines, which sweep_stale cannot see are dead
        _clear_lost_writers(out / "areas", {aid for aid, r in records.items() if r.get("status") == "ok"},
                            since=started - _CLOCK_SLACK_S)
    rows = [records[a.area_id] for a in area_list]
    summary = pd.DataFrame(rows)
    extra = sorted(c for c in summary.columns if c.endswith(("_covered", "_mode")))
    cols = [c for c in _SUMMARY_COLUMNS if c in summary.columns] + extra + ["output"]
    text_cols = ["error_type", "error", "note", "output", "modes"] + [c for c in extra if c.endswith("_mode")]
    for c in cols:
        if c not in summary.columns:
            summary[c] = "" if c in text_cols else np.nan
    summary = summary[cols]
    text_cols = [c for c in text_cols if c in summary.columns]
    summary[text_cols] = summary[text_cols].fillna("")

    paths = {"csv": write_csv(summary, out / "summary.csv", overwrite=True)}
    if report is not None:  # the summary report is presentation: the caller's writer (batch imports no outputs)
        paths.update(report(summary, out, lang=lang, inputs=inputs))
    summary.attrs["paths"] = paths
    n = summary["status"].value_counts()
    log.info("batch: %d ok, %d skipped, %d failed; summary %s", n.get("ok", 0), n.get("skipped", 0),
             n.get("failed", 0), paths["csv"])
    if (summary["error_type"] == "DiskFull").any():  # the run failed, not the area: say so (CLI: exit 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))
    return summary


def _task_error(exc: BaseException) -> str:
    """The summary's ``error`` for a task that did not return (run_area itself never raises)."""
    if type(exc).__name__ == "KilledWorker":  # every worker that tried the area died (memory, kill, lost machine)
        return ("每次运行该地区时工作进程都中断（内存不足？请看工作进程日志）/ every worker that ran this area died "
                f"(out of memory? see the worker logs): {exc}")
    return str(exc)


#: Clock difference tolerated between this machine and the workers' (seconds).
_CLOCK_SLACK_S = 60.0


def _clear_lost_writers(areas: Path, finished: set[str], *, since: float) -> list[Path]:
    """Remove the half-written area folders of workers on other machines that died during this run.

    :func:`geoplan._output.sweep_stale` removes a temporary folder only when its writer is known to be
    gone, which on another host it cannot check (only after a week).  Once every task of the run has
    returned, a temporary area folder written by another host since the run began, for an area that
    this run has finished, belongs to a lost worker (Dask ran the area again elsewhere): nothing in it
    is still needed.  Complete results (marker ``temporary: false``) are left to ``sweep_stale``.

    Returns the folders removed.
    """
    removed = []
    here = socket.gethostname()
    try:
        entries = list(areas.iterdir())
    except OSError:
        return removed
    for q in entries:
        if not (q.name.startswith(".") and q.name.endswith(".tmp")) or q.name.endswith(".old.tmp") or q.is_symlink():
            continue
        rec = read_marker(q) or {}
        try:
            created = float(rec.get("created_ts"))
        except (TypeError, ValueError):
            continue
        if (rec.get("temporary") is True and rec.get("kind") == "area" and rec.get("final") in finished
                and rec.get("host") not in (None, here) and created >= since):
            try:
                shutil.rmtree(q)
            except OSError as exc:
                log.debug("could not remove %s: %s", q, exc)
                continue
            log.info("removed %s, left by a worker on %s that died while writing area %s", q.name, rec["host"],
                     rec["final"])
            removed.append(q)
    return removed


def _batch_folder(output: str | os.PathLike) -> Path:
    """The batch folder, resolved; refuses an existing folder batch did not create (unless empty)."""
    out = _resolve(output)  # a symbolic-link loop, a parent that is a file, a name too long: one-line errors
    _check_shape(out)
    if not out.exists() and not out.is_symlink():
        return out
    if not out.is_dir():
        raise OutputExistsError(f"batch output {out} is a file, not a folder")
    kind = read_marker_kind(out)
    if kind == "batch":
        return out
    try:
        empty = not any(out.iterdir())
    except OSError:
        empty = False
    if empty and kind is None:
        return out
    why = (f"it is {'a geoplan folder' if kind == 'folder' else f'a geoplan {kind} folder'}, not a batch folder"
           if kind is not None else
           "geoplan batch did not create it (no .geoplan-output marker), so it may hold other files")
    raise OutputExistsError(f"will not write the batch into {out}: {why}; choose a new output folder "
                            f"/ 只写入 geoplan batch 自己创建的文件夹，请换一个新的输出文件夹")
