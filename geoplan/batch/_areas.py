"""The areas table of a batch: one row per area (county), its outline, buffer and catalogue.

:func:`read_areas` reads and checks the whole table before any work (ids that can name a folder,
required columns, travel-mode words, WKT); :func:`area_catalogue` applies a row's 方式 override;
``_area_polygon``/``_buffered``/``_within`` give an area's outline, its buffered extent and the
points inside them.
"""

from __future__ import annotations

import dataclasses
import io as _io
import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import pandas as pd
import shapely

from geoplan._errors import InputError
from geoplan.coverage.standards import default_catalogue
from geoplan.io import decode_text, read_polygons, utm_crs
from geoplan.network._loading import check_modes, parse_modes, split_modes


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

    Parameters
    ----------
    areas
        The rows of the areas table.
    file
        The areas table, for messages.

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


def _read_table(p: Path, file: str) -> tuple[pd.DataFrame, Any]:
    """The areas table as text cells with canonical column names, and its geometries (GIS files) or ``None``."""
    suffix = p.suffix.lower()
    geoms = None
    if suffix in (".csv", ".txt"):
        text = decode_text(p.read_bytes(), file=file)  # io's one sniffer (a UTF-8 BOM is decisive there)
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
    return frame, geoms


def _is_wkt(text: str, *, file: str, row: int) -> bool:
    """Is a 范围 (polygon) cell WKT (checked: a non-empty polygon) rather than a file name?"""
    kind = re.match(r"^\s*(MULTI)?(POINT|LINESTRING|POLYGON|GEOMETRYCOLLECTION|TRIANGLE|TIN|"
                    r"POLYHEDRALSURFACE|CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE)"
                    r"\s*(ZM|Z|M)?\s*(\(|EMPTY\b)", text, flags=re.I)
    if not kind:
        return False
    try:
        geom = shapely.from_wkt(text)
    except Exception as exc:  # noqa: BLE001 - shapely raises GEOSException
        raise InputError(f"bad WKT polygon: {' '.join(str(exc).split())}", file=file, row=row,
                         field="polygon") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise InputError(f"the area outline must be a POLYGON or MULTIPOLYGON (WGS-84), not "
                         f"{'an empty ' if geom.is_empty else 'a '}{geom.geom_type.upper()}",
                         file=file, row=row, field="polygon")
    return True


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
    p = Path(path)
    file = str(p)
    if not p.exists():
        raise InputError("areas table not found", file=file)
    frame, geoms = _read_table(p, file)
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
            if _is_wkt(text, file=file, row=row):
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


# --------------------------------------------------------------------------- outline, buffer, catalogue


def _area_polygon(area: Area):
    """The area outline (shapely, WGS-84) and the units GeoDataFrame (or None)."""
    units = (read_polygons(area.units, datum=area.units_datum, datum_option="行政单位坐标系 (units_datum)")
             if area.units else None)
    if area.polygon is not None:
        poly = shapely.from_wkt(area.polygon)
    elif area.polygon_file is not None:
        poly = read_polygons(area.polygon_file, datum=area.units_datum,
                             datum_option="行政单位坐标系 (units_datum)").geometry.union_all()
    else:
        poly = units.geometry.union_all()
    if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"area {area.area_id}: the outline is not a polygon ({poly.geom_type})", field="polygon")
    return shapely.make_valid(poly), units


def _buffered(poly, buffer_m: float):
    """``poly`` (WGS-84) buffered by ``buffer_m`` metres in its UTM zone; returns (buffered WGS-84, UTM CRS)."""
    c = poly.centroid
    crs = utm_crs(c.x, c.y)
    s = gpd.GeoSeries([poly], crs=4326).to_crs(crs)
    return s.buffer(buffer_m).to_crs(4326).iloc[0], crs


def area_catalogue(
    area: Area, catalogue: "geoplan.coverage.standards.Catalogue | None" = None, *, file: str | None = None,
) -> "geoplan.coverage.standards.Catalogue":
    """The catalogue in force for ``area``: ``catalogue`` (default: geoplan's) with the row's 方式 override applied.

    Parameters
    ----------
    area
        The area; ``area.mode`` is parsed as ``geoplan coverage --mode`` parses its values.
    catalogue
        Facility types and targets for every area.
    file
        The areas table, for messages.

    Returns
    -------
    geoplan.coverage.standards.Catalogue
        A copy of the catalogue with the area's travel modes applied.

    Raises
    ------
    InputError
        An unknown facility type in the override (with the area's row and field ``mode``).
    """
    cat = catalogue if catalogue is not None else default_catalogue()
    where = f"areas table 方式 (mode){'' if area.row is None else f', row {area.row}'}"
    over = parse_modes(split_modes(area.mode), cat, option="方式 (mode)", field="mode", file=file, row=area.row)
    return cat.with_modes(over, source=where)


def _within(gdf, polygon):
    return gdf[shapely.contains_xy(polygon, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())]
