"""Boundary markers (界桩): codes, checks against the lines, proposals, inspections and the inspection route.

Internals of :mod:`geoplan.registers.boundaries` (the public names are re-exported there).
"""

from __future__ import annotations

from datetime import date as _date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from geoplan._errors import InputError
from geoplan.io._files import _existing
from geoplan.io._tables import read_table
from geoplan.registers._divisions import normalize_code
from geoplan.registers._topology import _projected



# ----------------------------------------------------------------------------- markers
MARKER_TYPES = {"Q": "single", "A": "paired", "B": "paired", "C": "triple", "D": "triple", "E": "triple"}
STATUSES = ("proposed", "surveyed", "found", "moved", "damaged", "missing")


def parse_marker_code(code: str) -> dict[str, Any]:
    """Split a marker code ``<line_code>-<seq:3 digits><type>`` (type Q, A/B, C/D/E; GB/T 17796-2009).

    Examples: ``430302000000-430304000000-1-003Q`` (single marker 3), ``...-1-007A`` / ``...-1-007B``
    (a pair).  Raises :class:`InputError` naming what is wrong.

    Parameters
    ----------
    code
        The marker code.

    Returns
    -------
    dict
        ``line_code``, ``seq`` (int), ``type`` (one letter) and ``group`` (from :data:`MARKER_TYPES`).

    Raises
    ------
    InputError
        A malformed code, sequence 000, or a bad unit code in the line code (field ``marker_code``).
    """
    s = str(code).strip()
    line, sep, tail = s.rpartition("-")
    if not sep or len(tail) != 4 or not tail[:3].isdigit() or tail[3] not in MARKER_TYPES:
        raise InputError(f"marker code {s!r}: expected <line code>-<3-digit sequence><type Q|A|B|C|D|E>",
                         field="marker_code")
    if int(tail[:3]) == 0:
        raise InputError(f"marker code {s!r}: sequence starts at 001", field="marker_code")
    parts = line.split("-")
    if len(parts) != 3 or not parts[2].isdigit():
        raise InputError(f"marker code {s!r}: line code must be <code_a>-<code_b>-<n>", field="marker_code")
    for p in parts[:2]:
        normalize_code(p, field="marker_code")
    return {"line_code": line, "seq": int(tail[:3]), "type": tail[3], "group": MARKER_TYPES[tail[3]]}


def check_markers(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, tolerance_m: float = 5.0) -> pd.DataFrame:
    """Check a marker register: code format, pair/triple completeness, sequence order, offset.

    Parameters
    ----------
    markers
        ``marker_code``, ``line_code``, points.
    lines
        Output of :func:`shared_lines`.
    tolerance_m
        Allowed distance from a marker to its line.

    Returns
    -------
    DataFrame
        One row per marker: ``marker_code, offset_m, problems`` (``;``-joined, empty if none).
        Sequence rule: along a line running more west–east than north–south numbers increase
        west→east, otherwise north→south (compared on the markers' positions).
    """
    lp = _projected(lines)
    mp = markers.to_crs(lp.crs).reset_index(drop=True)
    byline = dict(zip(lp["line_code"], lp.geometry))
    out = []
    parsed = []
    for r in mp.itertuples(index=False):
        probs = []
        try:
            p = parse_marker_code(r.marker_code)
            if p["line_code"] != r.line_code:
                probs.append(f"code names line {p['line_code']}")
        except InputError as exc:
            p = None
            probs.append(str(exc))
        line = byline.get(r.line_code)
        off = float(line.distance(r.geometry)) if line is not None else float("nan")
        if line is None:
            probs.append("unknown line")
        elif off > tolerance_m:
            probs.append(f"offset {off:.1f} m > {tolerance_m:g} m")
        parsed.append(p)
        out.append({"marker_code": r.marker_code, "line_code": r.line_code, "offset_m": off, "problems": probs})
    df = pd.DataFrame(out)
    ok = [i for i, p in enumerate(parsed) if p]
    groups: dict[tuple, list[str]] = {}
    for i in ok:
        p = parsed[i]
        groups.setdefault((p["line_code"], p["seq"]), []).append(p["type"])
    for i in ok:
        p = parsed[i]
        types = set(groups[(p["line_code"], p["seq"])])
        need = {"single": {"Q"}, "paired": {"A", "B"}, "triple": {"C", "D", "E"}}[p["group"]]
        if types != need:
            df.at[i, "problems"] = df.at[i, "problems"] + [f"{p['group']} group {p['seq']:03d} has {''.join(sorted(types))}"]
    for lc, line in byline.items():
        idx = [i for i in ok if parsed[i]["line_code"] == lc]
        if len(idx) < 2:
            continue
        x0, y0, x1, y1 = line.bounds
        ew = (x1 - x0) >= (y1 - y0)
        pos = {i: (mp.geometry[i].x if ew else -mp.geometry[i].y) for i in idx}
        by_seq = sorted(idx, key=lambda i: (parsed[i]["seq"], pos[i]))
        firsts: dict[int, float] = {}
        for i in by_seq:
            firsts.setdefault(parsed[i]["seq"], pos[i])
        order = sorted(firsts)
        bad = set()
        for s0, s1 in zip(order, order[1:]):  # adjacent numbers in the wrong order: flag both
            if firsts[s1] < firsts[s0] - tolerance_m:
                bad |= {s0, s1}
        for i in idx:
            if parsed[i]["seq"] in bad:
                df.at[i, "problems"] = df.at[i, "problems"] + [
                    "out of sequence (" + ("west→east" if ew else "north→south") + ")"]
    df["problems"] = df["problems"].map(lambda p: "; ".join(p))
    return df


def propose_markers(lines: gpd.GeoDataFrame, *, roads: gpd.GeoDataFrame | None = None,
                    markers: gpd.GeoDataFrame | None = None, min_markers: int = 3,
                    near_m: float = 50.0) -> gpd.GeoDataFrame:
    """Propose marker positions for lines with fewer than ``min_markers`` markers.

    Where ``roads`` cross a line (points of intersection), a single marker (Q) is proposed;
    without roads, or where no road crosses, the line's two end points (where three units
    meet, or the line meets the outer boundary) are proposed, because that is where triple
    markers stand.  Every row has ``status = "proposed"`` and ``surveyed = False``: these are
    candidate positions for a field team, never surveyed markers.  Positions within ``near_m`` of an
    existing marker of the line are skipped; new numbers continue after the line's highest existing
    sequence number (renumber west→east after the survey).

    Parameters
    ----------
    lines
        Shared lines (as :func:`shared_lines` gives them) with ``line_code``.
    roads
        Road lines; any CRS.
    markers
        Existing markers with ``line_code`` and ``marker_code``.
    min_markers
        Lines with at least this many existing markers get no proposals.
    near_m
        Distance in metres within which a proposal duplicates an existing marker.

    Returns
    -------
    GeoDataFrame
        ``marker_code, type, line_code, status, surveyed, reason, last_inspection, photo``, WGS-84.
    """
    lp = _projected(lines)
    have = markers["line_code"].value_counts() if markers is not None and len(markers) else pd.Series(dtype=int)
    rp = _projected(roads).to_crs(lp.crs) if roads is not None and len(roads) else None
    rows = []
    for r in lp.itertuples(index=False):
        if int(have.get(r.line_code, 0)) >= min_markers:
            continue
        pts, reason = [], "road crossing"
        if rp is not None:
            cand = rp.geometry.values[shapely.STRtree(rp.geometry.values).query(r.geometry, predicate="intersects")]
            for g in cand:
                pts += [p for p in shapely.get_parts(shapely.intersection(r.geometry, g)) if p.geom_type == "Point"]
        if not pts:
            reason = "line end (junction)"
            pts = [Point(r.geometry.coords[0]), Point(r.geometry.coords[-1])]
        x0, y0, x1, y1 = r.geometry.bounds
        ew = (x1 - x0) >= (y1 - y0)
        start = 0
        if markers is not None and len(markers):
            mine = markers[markers["line_code"] == r.line_code].to_crs(lp.crs)
            near = [p for p in pts if len(mine) and mine.distance(p).min() <= near_m]
            pts = [p for p in pts if p not in near]
            seqs = [int(str(c)[-4:-1]) for c in mine["marker_code"] if str(c)[-4:-1].isdigit()]
            start = max(seqs, default=0)
        pts = sorted(pts, key=lambda p: p.x if ew else -p.y)
        for k, p in enumerate(pts, start + 1):
            rows.append({"marker_code": f"{r.line_code}-{k:03d}Q", "type": "Q", "line_code": r.line_code,
                         "status": "proposed", "surveyed": False, "reason": reason, "last_inspection": "",
                         "photo": "", "geometry": p})
    cols = ["marker_code", "type", "line_code", "status", "surveyed", "reason", "last_inspection", "photo", "geometry"]
    return gpd.GeoDataFrame(rows, columns=cols, geometry="geometry", crs=lp.crs).to_crs("EPSG:4326")


# ----------------------------------------------------------------------------- inspection
def lines_due(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, *, on: str, every_years: int = 5) -> pd.DataFrame:
    """Lines due for joint inspection (联检) on ``on``: last inspection (latest of its markers)
    older than ``every_years`` years, or never inspected.  Columns ``line_code, last_inspection, due``.

    Parameters
    ----------
    lines
        Shared lines with ``line_code``.
    markers
        Markers with ``line_code`` and ``last_inspection`` (ISO date or empty).
    on
        ISO date of the check.
    every_years
        Inspection interval in years.

    Returns
    -------
    pandas.DataFrame
        One row per line, in the order of ``lines``: ``line_code``, ``last_inspection`` (``""``
        if never) and ``due`` (bool; also true when the last inspection is exactly
        ``every_years`` old).
    """
    last = (markers[markers["last_inspection"].fillna("").astype(str) != ""]
            .groupby("line_code")["last_inspection"].max()) if len(markers) else pd.Series(dtype=str)
    d = _date.fromisoformat(str(on))
    limit = d.replace(year=d.year - every_years).isoformat()
    df = pd.DataFrame({"line_code": lines["line_code"].to_numpy()})
    lastd = {k: str(v) for k, v in last.items()}
    df["last_inspection"] = [lastd.get(c, "") for c in df["line_code"]]
    df["due"] = (df["last_inspection"] == "") | (df["last_inspection"] <= limit)
    return df


def _tour_length(order: list[int], D: np.ndarray) -> float:
    return float(sum(D[a, b] for a, b in zip(order, order[1:])))


def inspection_route(markers: gpd.GeoDataFrame, *, graph: "networkx.Graph | None" = None,
                     start: int = 0) -> tuple[list[int], float]:
    """Order in which to visit markers: nearest neighbour then 2-opt (open path from ``start``).

    Parameters
    ----------
    markers
        Points (any CRS; distances in metres).
    graph
        Optional networkx graph in the same projected CRS as used here (node attributes
        ``x``, ``y``; edge attribute ``length`` in metres): distances are shortest-path lengths
        between the nodes nearest to each marker.  Without it, straight-line distances.
    start
        Position of the first marker.

    Returns
    -------
    (order, length_m)
        Positions into ``markers`` and the path length in metres.
    """
    pm = _projected(markers)
    xy = np.column_stack([pm.geometry.x, pm.geometry.y])
    n = len(xy)
    if n == 0:
        return [], 0.0
    if graph is None:
        D = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    else:
        import networkx as nx  # only for distances along a road graph, when one is given

        nodes = list(graph.nodes)
        nxy = np.array([[graph.nodes[v]["x"], graph.nodes[v]["y"]] for v in nodes])
        near = [nodes[int(np.argmin(np.hypot(*(nxy - p).T)))] for p in xy]
        D = np.full((n, n), np.inf)
        for i in range(n):
            dist = nx.single_source_dijkstra_path_length(graph, near[i], weight="length")
            for j in range(n):
                D[i, j] = dist.get(near[j], np.inf)
    order, left = [start], set(range(n)) - {start}
    while left:
        nxt = min(left, key=lambda j: D[order[-1], j])
        order.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for k in range(i + 1, n):
                new = order[:i] + order[i:k + 1][::-1] + order[k + 1:]
                if _tour_length(new, D) < _tour_length(order, D) - 1e-9:
                    order, improved = new, True
    return order, _tour_length(order, D)


#: Headers accepted in an inspection record, best match first (compared as geoplan.io compares headers:
#: full-width/half-width, case, spaces and bracketed notes ignored).
INSPECTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "marker_code": ("marker_code", "界桩编号", "界桩号", "桩号", "编号", "marker", "code"),
    "result": ("result", "检查结果", "结果", "状态", "界桩状态", "status"),
    "date": ("date", "日期", "检查日期", "联检日期"),
    "notes": ("notes", "说明", "备注", "note", "remarks"),
    "photo": ("photo", "照片", "照片文件"),
    "lon": ("measured_lon", "测量经度", "实测经度", "survey_lon", "经度", "lon", "longitude"),
    "lat": ("measured_lat", "测量纬度", "实测纬度", "survey_lat", "纬度", "lat", "latitude"),
}

#: Inspection results as written in a record → the register's status.
INSPECTION_RESULTS: dict[str, str] = {
    "found": "found", "完好": "found", "正常": "found", "ok": "found", "intact": "found",
    "moved": "moved", "移位": "moved", "位移": "moved",
    "damaged": "damaged", "损坏": "damaged", "破损": "damaged",
    "missing": "missing", "缺失": "missing", "丢失": "missing", "灭失": "missing",
}


def read_inspection(path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a joint-inspection record (CSV/TXT or Excel) with :mod:`geoplan.io`'s table reader.

    Parameters
    ----------
    path
        One row per marker inspected.  Columns (Chinese or English headers, see
        :data:`INSPECTION_COLUMNS`): 界桩编号 ``marker_code`` and 检查结果 ``result``
        (完好/移位/损坏/缺失 or found/moved/damaged/missing) required; optional 日期 ``date``,
        说明/备注 ``notes``, 照片 ``photo``, and the survey 测量经度/测量纬度 (WGS-84/CGCS2000
        degrees) of a marker found elsewhere.  The text encoding is detected as for every
        geoplan table (UTF-8, else GBK/GB18030).
    encoding, sheet
        Force a CSV encoding; an Excel sheet (default: the first).

    Returns
    -------
    pandas.DataFrame
        Text cells (empty cells are None) under the canonical names (``marker_code``,
        ``result``, ``date``, ``notes``, ``photo``, ``lon``, ``lat``), indexed by spreadsheet
        row (header = 1), with ``attrs["source"]`` = the file, as :func:`record_inspection` takes it.

    Raises
    ------
    InputError
        Missing, empty or unreadable file, no data rows, or a missing column; the message
        names the file.
    """
    p, file = _existing(path)
    if p.suffix.lower() not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        raise InputError("an inspection record must be a CSV or Excel (.xlsx) table", file=file)
    wanted = [h for names in INSPECTION_COLUMNS.values() for h in names]
    frame = read_table(path, header=wanted, sheet=sheet, encoding=encoding)
    found = _inspection_columns(frame.columns, file)
    for col in ("marker_code", "result"):
        if col not in found:
            raise InputError(f"missing column {col!r} ({INSPECTION_COLUMNS[col][1]}); columns are: "
                             f"{', '.join(map(str, frame.columns))}", file=file, field=col)
    frame = frame[list(found.values())].rename(columns={v: k for k, v in found.items()})
    frame = frame.map(lambda v: None if v is None else str(v).strip())
    frame.attrs["source"] = file
    return frame


def _inspection_columns(columns, file) -> dict[str, str]:
    """Canonical name → the record's column (geoplan.io's header matching)."""
    from geoplan.io._columns import _match_columns

    return _match_columns(list(map(str, columns)), INSPECTION_COLUMNS, {}, file=file)


def _cell(v) -> str | None:
    """A record's cell as text; None when empty (None, NaN or blank)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def _survey(rec: dict, *, file, row) -> Point | None:
    """The measured position (WGS-84) of a record, None when the record has none."""
    lon, lat = _cell(rec.get("lon")), _cell(rec.get("lat"))
    if lon is None and lat is None:
        return None
    vals = []
    for field, v, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        try:
            x = float(str(v).replace("，", ".").strip())
        except (TypeError, ValueError):
            raise InputError(f"measured {'longitude' if field == 'lon' else 'latitude'} {v!r} is not a number "
                             "(测量经度/测量纬度: decimal degrees)", file=file, row=row, field=field) from None
        if not np.isfinite(x) or abs(x) > lim:
            raise InputError(f"measured {'longitude' if field == 'lon' else 'latitude'} {x:g} is out of range",
                             file=file, row=row, field=field)
        vals.append(x)
    return Point(vals)


def record_inspection(markers: gpd.GeoDataFrame, records: pd.DataFrame, *, date: str,
                      history: pd.DataFrame | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Apply an inspection record to the register and append to its history.

    Parameters
    ----------
    markers
        The register.
    records
        As :func:`read_inspection` returns it: ``marker_code``, ``result`` (found | moved |
        damaged | missing, or 完好/移位/损坏/缺失), optional ``date``, ``notes``, ``photo``, and the
        survey ``lon``/``lat`` (WGS-84 degrees).  Chinese headers are matched too.
    date
        Inspection date (ISO), for rows without their own ``date``.
    history
        Existing history table (``marker_code, date, old_status, new_status, notes``).

    Returns
    -------
    (register, history)
        A proposed marker that is "found" stays proposed: an inspection of a proposal does not
        make it surveyed (a survey does).  A marker with a survey gets the measured position and
        ``surveyed = True``; a proposed one becomes "surveyed".

    Raises
    ------
    InputError
        An unknown marker, a bad result, a bad survey, or a proposed marker recorded as moved
        without a survey (file, row and field named).
    """
    reg = markers.copy()
    hist = [] if history is None else history.to_dict("records")
    known = set(reg["marker_code"].astype(str))
    file = records.attrs.get("source")
    if not {"marker_code", "result"} <= set(records.columns):  # a frame built by hand with Chinese headers
        found = _inspection_columns(records.columns, file)
        records = records[list(found.values())].rename(columns={v: k for k, v in found.items()})
    # read_inspection indexes rows by spreadsheet row (a title line above the header shifts them)
    rows = list(records.index) if records.index.name == "row" else list(range(2, len(records) + 2))
    for row, rec in zip(rows, records.to_dict("records")):  # dicts: any header survives (itertuples renames)
        code = _cell(rec.get("marker_code"))
        if code not in known:
            raise InputError(f"unknown marker {code}", file=file, row=row, field="marker_code")
        raw = _cell(rec.get("result"))
        result = INSPECTION_RESULTS.get(raw.lower()) if raw is not None else None
        if result is None:
            raise InputError(f"result {raw!r} must be 完好/移位/损坏/缺失 (found, moved, damaged or missing)",
                             file=file, row=row, field="result")
        k = reg.index[reg["marker_code"].astype(str) == code][0]
        old = reg.at[k, "status"]
        survey = _survey(rec, file=file, row=row)
        if old == "proposed" and result == "moved" and survey is None:
            raise InputError(f"marker {code} is only proposed (never surveyed): it cannot be recorded as moved "
                             "without a survey; give 测量经度/测量纬度 (measured_lon/measured_lat)",
                             file=file, row=row, field="result")
        new = old if (old == "proposed" and result == "found") else result
        if survey is not None:
            pos = gpd.GeoSeries([survey], crs=4326)
            reg.loc[[k], "geometry"] = (pos.to_crs(reg.crs) if reg.crs is not None else pos).to_numpy()
            if "surveyed" in reg:
                reg.at[k, "surveyed"] = True
            new = "surveyed" if old == "proposed" else new
        when = _cell(rec.get("date")) or str(date)
        reg.at[k, "status"] = new
        reg.at[k, "last_inspection"] = when
        if _cell(rec.get("photo")):
            reg.at[k, "photo"] = _cell(rec["photo"])
        hist.append({"marker_code": code, "date": when, "old_status": old, "new_status": new,
                     "notes": _cell(rec.get("notes")) or ""})
    return reg, pd.DataFrame(hist, columns=["marker_code", "date", "old_status", "new_status", "notes"])


def record_inspection_in_store(store: "geoplan.registers.Store", records: pd.DataFrame, *,
                               date: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """:func:`record_inspection` on the store's ``markers`` layer; register and ``marker_history``
    are written in one transaction (a bad record leaves both unchanged).

    Parameters
    ----------
    store
        The store with layer ``markers`` (and ``marker_history``, created if missing).
    records
        As in :func:`record_inspection`.
    date
        Inspection date (ISO).

    Returns
    -------
    (register, history)
        The updated layers, as written.

    Raises
    ------
    InputError
        An unknown marker or a bad result (file, row and field named).
    StoreError
        The store has no ``markers`` layer.
    """
    with store.transaction() as tx:  # read under the write lock: a concurrent update cannot be lost
        reg = store.read_layer("markers")
        hist = store.read_layer("marker_history") if store.has_layer("marker_history") else None
        reg2, hist2 = record_inspection(reg, records, date=date, history=hist)
        tx.write_layer("markers", reg2, mode="replace")
        tx.write_layer("marker_history", hist2, mode="replace")
    return reg2, hist2
