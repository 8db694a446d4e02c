"""Network coverage: nearest facility, cost matrices, service areas and indicators.

All searches are multi-source or cutoff-limited Dijkstra runs of
:func:`scipy.sparse.csgraph.dijkstra` on a :class:`geoplan.network.Network`;
nothing here builds an all-pairs matrix.

The main entry point is :func:`assess`, which returns a :class:`CoverageResult`
holding per-demand-point travel times, service areas, per-unit indicators and
the summary checked against targets.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from geoplan._errors import InputError
from geoplan.network import Network, snap
from geoplan.standards import Catalogue, FacilityType, default_catalogue, unit_kind

log = logging.getLogger("geoplan")

#: Bytes of dense distance rows scipy may allocate at once in batched searches.
_CHUNK_BYTES = 256 * 2**20


def _progress(iterable, *, total=None, desc=None, disable=None):
    from tqdm.auto import tqdm

    if disable is None:
        disable = not log.isEnabledFor(logging.INFO)
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=None, leave=False)


def _graph(net: Network, weight: str, towards: bool):
    # Travel *towards* a set of nodes on a directed graph = search from them on the reversed graph.
    return net.csr(weight, reverse=towards)


def nearest(
    net: Network,
    source_nodes: Iterable[int],
    *,
    cutoff: float | None = None,
    weight: str = "time",
    towards: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost from every node to its nearest source (one multi-source Dijkstra).

    Parameters
    ----------
    net
        The network.
    source_nodes
        Node positions of the sources (facilities); repeats allowed.
    cutoff
        Stop searching beyond this cost (seconds or metres); nodes farther away get ``inf``.
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    towards
        True: cost of travelling from each node *to* a source (what a resident
        faces); False: from the source outwards.  Equal on a walk network.

    Returns
    -------
    cost : ndarray of float, shape (n_nodes,)
    source : ndarray of int, shape (n_nodes,)
        Position in ``source_nodes`` of the nearest source (first one when
        several share a node), ``-1`` where none is reachable.
    """
    src = np.asarray(list(source_nodes) if not isinstance(source_nodes, np.ndarray) else source_nodes, dtype=np.int64)
    n = net.n_nodes
    if len(src) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if src.min() < 0 or src.max() >= n:
        raise InputError("source node out of range", field="source_nodes")
    uniq, first_pos = np.unique(src, return_index=True)
    dist, _pred, sources = csgraph.dijkstra(
        _graph(net, weight, towards),
        directed=True,
        indices=uniq,
        min_only=True,
        return_predecessors=True,
        limit=np.inf if cutoff is None else float(cutoff),
    )
    pos_of_node = dict(zip(uniq.tolist(), first_pos.tolist()))
    out = np.full(n, -1, dtype=np.int64)
    reached = sources >= 0
    out[reached] = [pos_of_node[s] for s in sources[reached]] if reached.sum() < 50_000 else pd.Series(
        pos_of_node
    ).reindex(sources[reached]).to_numpy()
    return dist, out


def _chunks(n_sources: int, n_nodes: int) -> int:
    return max(1, min(n_sources, _CHUNK_BYTES // max(1, 8 * n_nodes)))


def od_matrix(
    net: Network,
    origin_nodes: Iterable[int],
    dest_nodes: Iterable[int],
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = False,
    progress: bool | None = None,
) -> sparse.csr_array:
    """Sparse origin–destination costs within a cutoff.

    Parameters
    ----------
    origin_nodes, dest_nodes
        Node positions (repeats allowed: each row/column is one input item).
    cutoff
        Only pairs within this cost are stored.
    towards
        False: cost from origin to destination.  True: from destination to
        origin (e.g. origins = candidate sites, destinations = residents who
        travel to them).

    Returns
    -------
    scipy.sparse.csr_array, shape (len(origins), len(dests))
        Stored entries only for reachable pairs; explicit zeros are kept (a
        stored 0 means the same node).
    """
    orig = np.asarray(list(origin_nodes) if not isinstance(origin_nodes, np.ndarray) else origin_nodes, dtype=np.int64)
    dest = np.asarray(list(dest_nodes) if not isinstance(dest_nodes, np.ndarray) else dest_nodes, dtype=np.int64)
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise InputError(f"cutoff must be a positive finite number, got {cutoff}", field="cutoff")
    g = _graph(net, weight, towards)
    uniq, inverse = np.unique(orig, return_inverse=True)
    step = _chunks(len(uniq), net.n_nodes)
    rows, cols, vals = [], [], []
    for start in _progress(range(0, len(uniq), step), total=-(-len(uniq) // step), desc="OD", disable=None if progress is None else not progress):
        block = uniq[start : start + step]
        d = csgraph.dijkstra(g, directed=True, indices=block, limit=float(cutoff))
        sub = d[:, dest]
        r, c = np.nonzero(np.isfinite(sub))
        rows.append(r + start)
        cols.append(c)
        vals.append(sub[r, c])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    v = np.concatenate(vals) if vals else np.zeros(0)
    by_uniq = sparse.csr_array((v, (r, c)), shape=(len(uniq), len(dest)))
    by_uniq.sort_indices()
    # Expand unique origins back to one row per input origin, keeping explicit zeros.
    return _take_rows(by_uniq, inverse)


def _take_rows(m: sparse.csr_array, rows: np.ndarray) -> sparse.csr_array:
    counts = np.diff(m.indptr)[rows]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    take = np.concatenate([np.arange(m.indptr[r], m.indptr[r + 1]) for r in rows]) if len(rows) else np.zeros(0, np.int64)
    return sparse.csr_array((m.data[take], m.indices[take], indptr), shape=(len(rows), m.shape[1]))


def reachable_nodes(
    net: Network,
    source_nodes: Iterable[int],
    *,
    cutoff: float,
    weight: str = "time",
    towards: bool = True,
) -> list[np.ndarray]:
    """For each source, the node positions within ``cutoff`` (cutoff-limited searches in batches)."""
    src = np.asarray(list(source_nodes), dtype=np.int64)
    g = _graph(net, weight, towards)
    out: list[np.ndarray] = []
    step = _chunks(len(src), net.n_nodes)
    for start in range(0, len(src), step):
        d = csgraph.dijkstra(g, directed=True, indices=src[start : start + step], limit=float(cutoff))
        out.extend(np.flatnonzero(np.isfinite(row)) for row in np.atleast_2d(d))
    return out


def service_areas(
    net: Network,
    facilities,
    *,
    cutoff: float,
    weight: str = "time",
    nodes: np.ndarray | None = None,
    buffer_m: float | None = None,
    method: str = "edges",
):
    """Service-area polygons: the part of the network within ``cutoff`` of each facility.

    Parameters
    ----------
    facilities
        GeoDataFrame of facilities (index kept).
    nodes
        Their node positions (default: snapped here).
    buffer_m
        Half-width of the polygon around reachable roads (default 50 m walk, 150 m drive).
    method
        ``"edges"``: union of buffered road segments whose both ends are
        reachable (follows the streets); ``"hull"``: a concave hull of reachable nodes (faster, coarser).

    Returns
    -------
    geopandas.GeoDataFrame
        Index aligned to ``facilities``; a polygon in the network CRS (empty if nothing reachable).
    """
    import geopandas as gpd
    import shapely

    if buffer_m is None:
        buffer_m = 50.0 if net.mode == "walk" else 150.0
    if nodes is None:
        nodes = snap(net, facilities)["node"].to_numpy()
    reach = reachable_nodes(net, nodes, cutoff=cutoff, weight=weight, towards=True)
    tails, heads = net.edge_arrays()
    polys = []
    for r in reach:
        if method == "hull":
            pts = shapely.multipoints(np.column_stack([net.x[r], net.y[r]]))
            polys.append(shapely.concave_hull(pts, ratio=0.3).buffer(buffer_m))
            continue
        mask = np.zeros(net.n_nodes, bool)
        mask[r] = True
        e = np.flatnonzero(mask[tails] & mask[heads])
        if len(e) == 0:
            polys.append(shapely.Point(net.x[r[0]], net.y[r[0]]).buffer(buffer_m) if len(r) else shapely.Polygon())
            continue
        lines = shapely.linestrings(
            np.stack([np.column_stack([net.x[tails[e]], net.y[tails[e]]]), np.column_stack([net.x[heads[e]], net.y[heads[e]]])], axis=1)
        )
        polys.append(shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4)))
    return gpd.GeoDataFrame(geometry=polys, index=facilities.index, crs=net.crs)


def two_step_fca(
    net: Network,
    supply_nodes: np.ndarray,
    supply: np.ndarray,
    demand_nodes: np.ndarray,
    demand: np.ndarray,
    *,
    cutoff: float,
    weight: str = "time",
) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) accessibility per demand point.

    Step 1: each facility's supply-to-demand ratio ``R_j = S_j / sum(P_k for k within cutoff of j)``.
    Step 2: each demand point's accessibility ``A_i = sum(R_j for j within cutoff of i)``
    (Luo & Wang 2003).  With beds as supply and people aged 60+ as demand, ``A_i × 1000`` is
    beds per 1,000 elderly reachable.

    Returns
    -------
    ndarray, aligned to ``demand_nodes``; 0 where no facility is within reach.
    """
    supply = np.nan_to_num(np.asarray(supply, dtype=float))
    demand = np.nan_to_num(np.asarray(demand, dtype=float))
    m = od_matrix(net, supply_nodes, demand_nodes, cutoff=cutoff, weight=weight, towards=True, progress=False)
    reach = sparse.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)  # 1 where within cutoff
    pop_in_reach = reach @ demand
    ratio = np.divide(supply, pop_in_reach, out=np.zeros_like(supply), where=pop_in_reach > 0)
    return reach.T @ ratio


# --------------------------------------------------------------------------- indicators


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return math.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1])])


class Note(str):
    """A note in English (the string itself) that also carries its Chinese text (``.zh``)."""

    def __new__(cls, zh: str, en: str):
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj

    def text(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else str(self)


@dataclasses.dataclass
class CoverageResult:
    """Everything :func:`assess` computed; tables use canonical English column names.

    Attributes
    ----------
    demand
        GeoDataFrame aligned to the input demand, with ``unit_code``, ``snap_m``,
        ``too_far`` and per type ``{type}_min`` (minutes to nearest, network part),
        ``{type}_nearest`` (facility id) and ``{type}_covered``.
    facilities
        GeoDataFrame aligned to the input facilities with ``type``, ``unit_code``, ``snap_m``, ``too_far``.
    service_areas
        One polygon per facility (``facility_id``, ``type``).
    service_areas_by_type
        Dissolved per type.
    units
        GeoDataFrame of admin units × types: ``unit_code``, ``unit_name``, ``unit_kind``,
        ``type``, ``n_facilities``, ``has_facility``, people and covered people for
        pop/pop_60/pop_0_17 with shares, ``median_min``, ``p90_min``.
    summary
        One row per type and indicator with ``value``, ``target``, ``passed`` and ``shortfall``.
    gaps
        Uncovered demand per unit and type, ranked by people affected.
    notes
        Plain-language notes about the run (assumptions, dropped parts).
    """

    demand: Any
    facilities: Any
    service_areas: Any
    service_areas_by_type: Any
    units: Any
    summary: pd.DataFrame
    gaps: pd.DataFrame
    catalogue: Catalogue
    notes: list[Note]
    network_report: dict

    def save(self, folder, *, lang: str = "zh", overwrite: bool = False, basemap: str = "osm", data_note: str = "",
             title: str | None = None) -> dict:
        """Write the report folder (Markdown/HTML/Excel report, GeoPackage and GeoJSON layers, HTML map).

        The folder is written all-or-nothing; an existing folder is replaced only with ``overwrite=True``.
        Returns the paths written, keyed ``md``, ``html``, ``xlsx``, ``gpkg``, ``geojson``, ``map``.
        """
        from geoplan._coverage_outputs import write_coverage

        return write_coverage(self, folder, lang=lang, overwrite=overwrite, basemap=basemap, data_note=data_note, title=title)


def _where(frame, label) -> dict:
    """file/row of a record for an error: spreadsheet row when the frame came from geoplan.io."""
    rows = frame.attrs.get("rows")
    if rows is not None and len(rows) == len(frame):
        return {"file": frame.attrs.get("source"), "row": rows[frame.index.get_loc(label)]}
    return {"file": frame.attrs.get("source"), "row": label}


def _require_columns(df, cols, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {missing}; columns present: {list(df.columns)}",
                         file=df.attrs.get("source"), field=missing[0])


def _assign_units(points, units) -> pd.Series:
    """Code of the unit containing each point (representative point), NaN outside all."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=points.geometry.representative_point(), index=points.index, crs=points.crs)
    joined = gpd.sjoin(pts, units[["code", "geometry"]].to_crs(points.crs), how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["code"].reindex(points.index)


def assess(
    network: Network | Mapping[str, Network],
    facilities,
    demand,
    *,
    units=None,
    catalogue: Catalogue | None = None,
    types: Iterable[str] | None = None,
    max_snap_m: float | None = None,
    with_service_areas: bool = True,
) -> CoverageResult:
    """Assess how well facilities cover demand by the road network.

    Parameters
    ----------
    network
        One :class:`~geoplan.network.Network` used for every type, or a mapping
        ``{"walk": net, "drive": net}`` so each type uses its own mode.
    facilities
        GeoDataFrame with ``id`` and ``type`` (a catalogue key or alias) columns.
    demand
        GeoDataFrame of demand points with ``pop`` and optionally ``pop_60``, ``pop_0_17``.
    units
        Optional GeoDataFrame of admin units with ``code`` and ``name``.
    catalogue
        Facility types and targets (default :func:`geoplan.standards.default_catalogue`).
    types
        Limit to these type keys (default: every catalogue type).
    max_snap_m
        Distance from the network beyond which a point is flagged (default per mode).
    with_service_areas
        Compute service-area polygons (the slowest step on big networks).

    Returns
    -------
    CoverageResult
    """
    import geopandas as gpd
    import shapely

    catalogue = catalogue or default_catalogue()
    notes: list[str] = []
    _require_columns(facilities, ["id", "type"], "facilities")
    _require_columns(demand, ["pop"], "demand points")
    if len(demand) == 0:
        raise InputError("no demand points", field="geometry")
    for frame, what in ((facilities, "facilities"), (demand, "demand points")):
        if frame.crs is None:
            from geoplan._errors import CRSError

            raise CRSError(f"{what} have no CRS")
    dup = facilities["id"].duplicated(keep=False)
    if dup.any():
        rows = facilities.index[dup].tolist()[:2]
        first, second = (_where(facilities, r)["row"] for r in rows)
        raise InputError(f"duplicate facility id {facilities['id'][dup].iloc[0]!r} (rows {first} and {second})",
                         **_where(facilities, rows[1]), field="id")

    resolved = facilities["type"].map(catalogue.resolve)
    if resolved.isna().any():
        bad = resolved.index[resolved.isna()][0]
        raise InputError(
            f"unknown facility type {facilities.loc[bad, 'type']!r}; known: {', '.join(catalogue.keys)} "
            "(or their Chinese names)",
            **_where(facilities, bad),
            field="type",
        )
    fac = facilities.copy()
    fac["type"] = resolved
    type_list = list(types) if types is not None else catalogue.keys
    for t in type_list:
        catalogue[t]  # raises on unknown

    dem = demand.copy()
    for col in ("pop", "pop_60", "pop_0_17"):
        if col not in dem.columns:
            dem[col] = np.nan
            notes.append(Note(f"需求点没有 {col} 列：以其加权的指标留空", f"demand has no {col} column: indicators weighted by it are left empty"))
        dem[col] = pd.to_numeric(dem[col], errors="raise").astype(float)
        if (dem[col] < 0).any():
            bad = dem.index[dem[col] < 0][0]
            raise InputError("negative population", **_where(demand, bad), field=col)

    has_capacity = "capacity" in fac.columns and pd.to_numeric(fac["capacity"], errors="coerce").notna().any()
    if has_capacity:
        fac["capacity"] = pd.to_numeric(fac["capacity"], errors="coerce")
    nets = dict(network) if isinstance(network, Mapping) else None

    def net_for(ft: FacilityType) -> Network:
        if nets is None:
            return network  # type: ignore[return-value]
        if ft.mode in nets:
            return nets[ft.mode]
        fallback = next(iter(nets.values()))
        notes.append(Note(f"{ft.name_zh}：未提供 {ft.mode} 路网，改用 {fallback.mode} 路网计算", f"{ft.key}: no {ft.mode} network given; measured on the {fallback.mode} network"))
        return fallback

    used_nets = {id(net_for(catalogue[t])): net_for(catalogue[t]) for t in type_list}
    snaps: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for key, net in used_nets.items():
        snaps[key] = (snap(net, dem, max_distance=max_snap_m), snap(net, fac, max_distance=max_snap_m))
    first_net = next(iter(used_nets.values()))
    dsnap, fsnap = snaps[id(first_net)]
    dem["snap_m"] = dsnap["snap_m"]
    dem["too_far"] = dsnap["too_far"]
    fac["snap_m"] = fsnap["snap_m"]
    fac["too_far"] = fsnap["too_far"]
    for frame, what, src in ((dem, "demand points", demand), (fac, "facilities", facilities)):
        far = frame["too_far"].to_numpy()
        if len(frame) and far.mean() > 0.5:
            first = frame.index[far][0]
            raise InputError(
                f"{int(far.sum())} of {len(frame)} {what} are farther than the snap limit from the road network "
                f"(first: {frame.loc[first, 'snap_m']:.0f} m away): are they in the network's area, is the datum right "
                "(wgs84/gcj02/bd09) and are lon/lat swapped?",
                **_where(src, first), field="geometry",
            )
    if dem["too_far"].any():
        notes.append(Note(f"{int(dem['too_far'].sum())} 个需求点距路网超过吸附限值，计为未覆盖", f"{int(dem['too_far'].sum())} demand point(s) lie farther than the snap limit from any road: counted as not covered"))
    if fac["too_far"].any():
        notes.append(Note(f"{int(fac['too_far'].sum())} 处设施距路网超过吸附限值，未参与计算", f"{int(fac['too_far'].sum())} facility(ies) lie farther than the snap limit from any road: left out of the search"))

    if units is not None:
        _require_columns(units, ["code", "name"], "admin units")
        units = units.copy()
        units["code"] = units["code"].astype(str)
        dem["unit_code"] = _assign_units(dem, units)
        fac["unit_code"] = _assign_units(fac, units)
        outside = dem["unit_code"].isna().sum()
        if outside:
            notes.append(Note(f"{int(outside)} 个需求点不在任何行政单位内", f"{int(outside)} demand point(s) fall outside every admin unit"))

    sa_rows, sa_type_rows = [], []
    for t in type_list:
        ft = catalogue[t]
        net = net_for(ft)
        dsn, fsn = snaps[id(net)]
        sel = fac.index[(fac["type"] == t) & ~fsn["too_far"]]
        cutoff_s = ft.cutoff_min * 60.0
        cost, src = nearest(net, fsn.loc[sel, "node"].to_numpy(), towards=True)
        dn = dsn["node"].to_numpy()
        minutes = cost[dn] / 60.0
        nearest_id = np.where(src[dn] >= 0, fac.loc[sel, "id"].to_numpy()[np.maximum(src[dn], 0)] if len(sel) else None, None)
        covered = (minutes <= ft.cutoff_min + 1e-9) & ~dsn["too_far"].to_numpy()
        dem[f"{t}_min"] = minutes
        dem[f"{t}_nearest"] = nearest_id
        dem[f"{t}_covered"] = covered
        if has_capacity and len(sel):
            # Beds (or places) per person of the served group reachable within the cutoff (2SFCA).
            dem[f"{t}_2sfca"] = two_step_fca(
                net, fsn.loc[sel, "node"].to_numpy(), fac.loc[sel, "capacity"].to_numpy(float),
                dn, np.where(dsn["too_far"], 0.0, np.nan_to_num(dem[ft.weight].to_numpy())), cutoff=cutoff_s,
            )
        if with_service_areas and len(sel):
            sa = service_areas(net, fac.loc[sel], cutoff=cutoff_s, nodes=fsn.loc[sel, "node"].to_numpy())
            sa["facility_id"] = fac.loc[sel, "id"].to_numpy()
            sa["type"] = t
            sa_rows.append(sa)
            sa_type_rows.append({"type": t, "geometry": shapely.union_all(sa.geometry.to_numpy())})

    crs = first_net.crs
    if sa_rows:
        sa_all = pd.concat(sa_rows)
        sa_by_type = gpd.GeoDataFrame(sa_type_rows, geometry="geometry", crs=crs)
    else:
        sa_all = gpd.GeoDataFrame({"facility_id": [], "type": []}, geometry=[], crs=crs)
        sa_by_type = gpd.GeoDataFrame({"type": []}, geometry=[], crs=crs)

    unit_table, summary, gaps = _indicators(dem, fac, units, catalogue, type_list)
    report = dict(first_net.report)
    if report.get("nodes_dropped_not_strongly_connected"):
        dropped, read = report["nodes_dropped_not_strongly_connected"], report.get("nodes_read")
        notes.append(Note(f"路网：保留最大连通部分，去除 {dropped} / {read} 个节点",
                          f"network: kept the largest connected part; {dropped} of {read} nodes dropped"))
    return CoverageResult(
        demand=dem,
        facilities=fac,
        service_areas=sa_all,
        service_areas_by_type=sa_by_type,
        units=unit_table,
        summary=summary,
        gaps=gaps,
        catalogue=catalogue.subset(type_list),
        notes=notes,
        network_report=report,
    )


def _indicators(dem, fac, units, catalogue: Catalogue, type_list: list[str]):
    """Per-unit tables, the summary against targets, and ranked gaps."""
    import geopandas as gpd

    rows = []
    summary = []
    gaps = []
    if units is not None:
        unit_index = units[["code", "name"]].copy()
        unit_index["kind"] = units["kind"] if "kind" in units else units["code"].map(unit_kind)
    else:
        unit_index = pd.DataFrame({"code": ["ALL"], "name": ["全部 / all"], "kind": [None]})
        dem = dem.assign(unit_code="ALL")
        fac = fac.assign(unit_code="ALL")
    for t in type_list:
        ft = catalogue[t]
        cov = dem[f"{t}_covered"].to_numpy()
        mins = dem[f"{t}_min"].to_numpy()
        wcol = ft.weight
        for _, u in unit_index.iterrows():
            in_u = (dem["unit_code"] == u["code"]).to_numpy()
            nf = int(((fac["unit_code"] == u["code"]) & (fac["type"] == t)).sum())
            rec = {
                "unit_code": u["code"],
                "unit_name": u["name"],
                "unit_kind": u["kind"],
                "type": t,
                "n_facilities": nf,
                "has_facility": nf > 0,
            }
            if "capacity" in fac.columns:
                cap = float(np.nansum(fac.loc[(fac["unit_code"] == u["code"]) & (fac["type"] == t), "capacity"]))
                pw = float(np.nansum(dem[wcol].to_numpy()[in_u]))
                rec["capacity"] = cap
                rec[f"capacity_per_1000_{wcol}"] = 1000.0 * cap / pw if pw > 0 else math.nan
            for col in ("pop", "pop_60", "pop_0_17"):
                w = dem[col].to_numpy()[in_u]
                tot = float(np.nansum(w))
                c = float(np.nansum(w[cov[in_u]]))
                rec[col] = tot
                rec[f"{col}_covered"] = c
                rec[f"share_{col}_covered"] = c / tot if tot > 0 else math.nan
            wts = np.nan_to_num(dem[wcol].to_numpy()[in_u])
            if not (wts > 0).any():
                wts = np.nan_to_num(dem["pop"].to_numpy()[in_u])
            rec["median_min"] = _weighted_quantile(mins[in_u], wts, 0.5)
            rec["p90_min"] = _weighted_quantile(mins[in_u], wts, 0.9)
            rows.append(rec)
            uncovered = float(np.nansum(dem[wcol].to_numpy()[in_u][~cov[in_u]]))
            if uncovered > 0:
                gaps.append({"unit_code": u["code"], "unit_name": u["name"], "type": t, "weight": wcol, "people_uncovered": uncovered,
                             "demand_points_uncovered": int((~cov[in_u]).sum())})
        table = pd.DataFrame([r for r in rows if r["type"] == t])
        # Units with a facility, per unit kind that has a target.
        kinds = table["unit_kind"].astype(object).where(table["unit_kind"].notna(), "any")
        for kind in sorted(set(kinds)):
            target = ft.unit_target(None if kind == "any" else kind)
            sub = table[kinds == kind]
            n, have = len(sub), int(sub["has_facility"].sum())
            value = have / n if n else math.nan
            need = max(0, math.ceil(round(target * n, 9)) - have) if target is not None else None
            summary.append({
                "type": t, "indicator": "share_units_with_facility", "unit_kind": kind, "value": value,
                "numerator": have, "denominator": n, "target": target,
                "passed": None if target is None else bool(value >= target - 1e-12),
                "shortfall": need, "shortfall_unit": "units",
            })
        tot = float(np.nansum(dem[wcol]))
        c = float(np.nansum(dem[wcol].to_numpy()[cov]))
        value = c / tot if tot > 0 else math.nan
        pt = ft.people_target
        summary.append({
            "type": t, "indicator": f"share_{wcol}_covered", "unit_kind": "all", "value": value,
            "numerator": c, "denominator": tot, "target": pt,
            "passed": None if pt is None or math.isnan(value) else bool(value >= pt - 1e-12),
            "shortfall": None if pt is None else max(0.0, math.ceil(pt * tot - c - 1e-9)), "shortfall_unit": wcol,
        })
        wts = np.nan_to_num(dem[wcol].to_numpy())
        summary.append({
            "type": t, "indicator": "median_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.5),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
        summary.append({
            "type": t, "indicator": "p90_min", "unit_kind": "all", "value": _weighted_quantile(dem[f"{t}_min"].to_numpy(), wts, 0.9),
            "numerator": None, "denominator": None, "target": ft.cutoff_min, "passed": None, "shortfall": None, "shortfall_unit": None,
        })
    unit_table = pd.DataFrame(rows)
    if units is not None:
        geo = units.set_index("code").geometry
        unit_table = gpd.GeoDataFrame(unit_table, geometry=unit_table["unit_code"].map(geo).to_numpy(), crs=units.crs)
    gaps_df = pd.DataFrame(gaps, columns=["unit_code", "unit_name", "type", "weight", "people_uncovered", "demand_points_uncovered"])
    gaps_df = gaps_df.sort_values("people_uncovered", ascending=False, kind="stable").reset_index(drop=True)
    return unit_table, pd.DataFrame(summary), gaps_df
