"""Reports on a road graph built from a line layer: repairs, connected parts, and the files a planner checks."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoplan._errors import CRSError, NetworkError
from geoplan._output import output_folder
from geoplan.network._repairs import REPAIR_TYPES

# --------------------------------------------------------------------------- report


@dataclasses.dataclass
class RepairReport:
    """What :func:`graph_from_lines` changed, so a planner can check it.

    Attributes
    ----------
    counts
        Number of each kind of repair and of lines read/used (see :data:`REPAIR_TYPES`).
    repairs
        GeoDataFrame in ``crs`` with one row per repair: ``type``, ``source_row``
        (index label of the input line), ``distance_m`` (how far something
        moved, or the dropped length), ``detail``, ``geometry`` (the move as a
        short line, the split point, the dropped line...).
    components
        DataFrame of connected parts (weakly connected), largest first:
        ``component``, ``nodes``, ``edges``, ``length_m``.
    naive_components
        Number of connected parts when the lines are joined only where their
        ends coincide exactly (the layer as a naive reader sees it).
    crs
        The metric CRS the graph is in.
    crs_note
        Why that CRS.
    info
        Fields used, unrecognised attribute values, tolerances, mode.
    """

    counts: dict
    repairs: Any
    components: pd.DataFrame
    naive_components: int
    crs: pyproj.CRS
    crs_note: str = ""
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def n_components(self) -> int:
        """Connected parts after noding (before any were dropped)."""
        return int(len(self.components))

    def summary(self) -> str:
        """A Markdown summary (Chinese and English labels).

        Returns
        -------
        str
            CRS, options, the repair counts, the connected parts before and after noding and the largest parts.
        """
        lines = ["# 路网修复报告 / Road network repair report", ""]
        lines.append(f"- 坐标系 / CRS: {self.crs.to_string()} ({self.crs_note})")
        lines.append("- 长度 / lengths: WGS-84 椭球面测地线长度（米）/ geodesic on the WGS-84 ellipsoid (m)")
        for k in ("mode", "node_tolerance_m", "snap_tolerance_m", "level_col"):
            if k in self.info:
                lines.append(f"- {k}: {self.info[k]}")
        if self.info.get("fields_used"):
            lines.append(f"- 字段 / fields used: {self.info['fields_used']}")
        lines += ["", "| 项目 / item | 数量 / count |", "|---|---:|"]
        for k, v in self.counts.items():
            lines.append(f"| {k} | {v:,} |")
        lines += ["", f"连通分量（修复前，仅端点重合相连）/ parts before noding: {self.naive_components:,}",
                  f"连通分量（修复后）/ parts after noding: {self.n_components:,}", ""]
        if len(self.components):
            top = self.components.head(10)
            lines += ["| component | nodes | edges | length_m |", "|---:|---:|---:|---:|"]
            lines += [f"| {r.component} | {r.nodes:,} | {r.edges:,} | {r.length_m:,.0f} |" for r in top.itertuples()]
            if len(self.components) > 10:
                lines.append(f"| … {len(self.components) - 10} more | | | |")
        for k in ("class_values_unrecognised", "oneway_values_unrecognised"):
            if self.info.get(k):
                lines.append(f"\n{k}: {', '.join(self.info[k])}")
        lines += ["", "修复类型 / repair types:"] + [f"- `{k}`: {v}" for k, v in REPAIR_TYPES.items()]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        c = self.counts
        snapped = c.get('ends_merged', 0) + c.get('end_snapped_to_line', 0)
        return (
            f"路网修复 / network repairs: 线 {c.get('lines_read', 0):,} 条 / lines; 连通分量 修复前 "
            f"{self.naive_components:,}，修复后 {self.n_components:,} / parts before → after; 端点吸附 {snapped:,} 处 / "
            f"ends snapped; 删除重复 {c.get('duplicate_dropped', 0):,} / duplicates dropped; 删除零长 "
            f"{c.get('zero_length_dropped', 0):,} / zero-length dropped"
        )


def _repairs_layer(repairs: list, input_crs: Any, target: Any) -> gpd.GeoDataFrame:
    """The repairs as a layer in ``target`` (those recorded before projection are moved from ``input_crs``)."""
    rep_gdf = gpd.GeoDataFrame(
        {
            "type": [r.type for r in repairs],
            "source_row": pd.array([r.source_row for r in repairs], dtype=object).astype(str) if repairs else [],
            "distance_m": [float(r.distance_m) for r in repairs],
            "detail": [r.detail for r in repairs],
        },
        geometry=gpd.GeoSeries([r.geometry for r in repairs], crs=None),
    )
    # repairs recorded before projection (dropped non-lines) are in the input CRS
    pre = rep_gdf["type"].isin(["non_line_dropped", "empty_dropped"]).to_numpy()
    if pre.any() and input_crs is not None and pyproj.CRS(input_crs) != target:
        rep_gdf.loc[pre, "geometry"] = gpd.GeoSeries(rep_gdf.geometry[pre], crs=input_crs).to_crs(target).to_numpy()
    rep_gdf = rep_gdf.set_crs(target, allow_override=True)
    return rep_gdf


# --------------------------------------------------------------------------- connectivity


@dataclasses.dataclass
class ComponentsReport:
    """Connected parts of a graph and where given points fall.

    Attributes
    ----------
    components
        ``component`` (0 = largest), ``nodes``, ``edges``, ``length_m``.
    points
        Aligned to the input points (empty when none were given): ``component``,
        ``component_nodes``, ``on_largest``, ``node`` (nearest node id),
        ``distance_m`` (to the nearest edge).
    """

    components: pd.DataFrame
    points: pd.DataFrame

    @property
    def n_components(self) -> int:
        """Number of connected parts of the graph."""
        return int(len(self.components))

    @property
    def off_largest(self) -> pd.DataFrame:
        """The points that do not fall on the largest part."""
        return self.points[~self.points["on_largest"]] if len(self.points) else self.points


def components_report(G: nx.Graph, points: gpd.GeoDataFrame | gpd.GeoSeries | None = None) -> ComponentsReport:
    """Connected parts of a road graph, and which points fall on small parts.

    Parameters
    ----------
    G
        osmnx-style graph (node ``x``, ``y``; ``G.graph["crs"]``); edges may carry
        ``geometry``.  Parts are weakly connected components.
    points
        Optional GeoDataFrame/GeoSeries of facilities or demand points (any
        CRS).  Each is assigned to the part of its nearest edge.

    Returns
    -------
    ComponentsReport

    Raises
    ------
    NetworkError
        The graph has no nodes.
    CRSError
        ``points`` are given and they or the graph have no CRS.
    """

    if G.number_of_nodes() == 0:
        raise NetworkError("the graph is empty")
    comps = sorted(nx.weakly_connected_components(G) if G.is_directed() else nx.connected_components(G),
                   key=lambda c: -len(c))
    label = {}
    rows = []
    for i, c in enumerate(comps):
        for nd in c:
            label[nd] = i
        rows.append([i, len(c), 0, 0.0])
    seen = set()
    for u, v, d in G.edges(data=True):
        key = d.get("segment", None)
        i = label[u]
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        rows[i][2] += 1
        rows[i][3] += float(d.get("length", 0.0))
    comp_df = pd.DataFrame(rows, columns=["component", "nodes", "edges", "length_m"])
    cols = ["component", "component_nodes", "on_largest", "node", "distance_m"]
    if points is None:
        return ComponentsReport(comp_df, pd.DataFrame(columns=cols))
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise CRSError("points have no CRS: say which coordinates they are in")
    gcrs = G.graph.get("crs")
    if gcrs is None:
        raise CRSError("the graph has no CRS (G.graph['crs'])")
    geo = geo.to_crs(gcrs)
    pts = geo.representative_point().to_numpy()
    us, geoms = [], []
    for u, v, d in G.edges(data=True):
        g = d.get("geometry")
        if g is None:
            g = shapely.LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        us.append((u, v))
        geoms.append(g)
    tree = shapely.STRtree(np.array(geoms, dtype=object))
    (ip, ie), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    e = np.full(len(pts), -1)
    dd = np.full(len(pts), np.nan)
    e[ip] = ie
    dd[ip] = dist
    out_comp, out_node = [], []
    for k, p in enumerate(pts):
        if e[k] < 0:
            out_comp.append(-1)
            out_node.append(None)
            continue
        u, v = us[e[k]]
        du = math.hypot(G.nodes[u]["x"] - p.x, G.nodes[u]["y"] - p.y)
        dv = math.hypot(G.nodes[v]["x"] - p.x, G.nodes[v]["y"] - p.y)
        out_node.append(u if du <= dv else v)
        out_comp.append(label[u])
    comp_arr = np.array(out_comp)
    sizes = comp_df["nodes"].to_numpy()
    df = pd.DataFrame(
        {
            "component": comp_arr,
            "component_nodes": np.where(comp_arr >= 0, sizes[np.maximum(comp_arr, 0)], 0),
            "on_largest": comp_arr == 0,
            "node": out_node,
            "distance_m": dd,
        },
        index=geo.index,
    )
    return ComponentsReport(comp_df, df)


# --------------------------------------------------------------------------- conversions


def graph_to_gdfs(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of a :func:`graph_from_lines` graph as GeoDataFrames.

    Parameters
    ----------
    G
        A :func:`graph_from_lines` graph (``G.graph["crs"]`` gives the layers' CRS).

    Returns
    -------
    nodes : geopandas.GeoDataFrame
        ``node``, ``x``, ``y``, ``component`` (-1 where missing) and point geometry.
    edges : geopandas.GeoDataFrame
        One row per segment (the reverse copy of a two-way segment is left out): ``u``, ``v``,
        ``key``, ``highway``, ``name``, ``oneway``, ``length``, ``speed_kph``, ``maxspeed``,
        ``source_row`` (as text) and the edge geometry.
    """

    crs = G.graph.get("crs")
    nid = list(G.nodes)
    nodes = gpd.GeoDataFrame(
        {
            "node": nid,
            "x": [G.nodes[n]["x"] for n in nid],
            "y": [G.nodes[n]["y"] for n in nid],
            "component": [G.nodes[n].get("component", -1) for n in nid],
        },
        geometry=gpd.points_from_xy([G.nodes[n]["x"] for n in nid], [G.nodes[n]["y"] for n in nid]),
        crs=crs,
    )
    rows, seen = [], set()
    for u, v, k, d in G.edges(keys=True, data=True):
        s = d.get("segment", (u, v, k))
        if s in seen:
            continue
        seen.add(s)
        r = {"u": u, "v": v, "key": k}
        r.update({a: d.get(a) for a in ("highway", "name", "oneway", "length", "speed_kph", "maxspeed", "source_row")})
        r["source_row"] = str(r["source_row"])
        r["geometry"] = d.get("geometry")
        rows.append(r)
    edges = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    return nodes, edges


def save_graph(
    G: nx.MultiDiGraph,
    report: RepairReport | None,
    folder: str | Path,
    *,
    overwrite: bool = False,
    layers: Mapping[str, Any] | None = None,
    notes: str = "",
) -> dict[str, Path]:
    """Write a graph and its repair report into a new folder.

    Parameters
    ----------
    G
        A :func:`graph_from_lines` graph.
    report
        Its :class:`RepairReport` (or None).
    folder
        Output folder; written atomically (:func:`geoplan._output.output_folder`).
    overwrite
        Replace an existing folder.
    layers
        Extra GeoDataFrames to add to ``network.gpkg`` (name → layer).
    notes
        Extra Markdown appended to ``summary.md``.

    Returns
    -------
    dict
        File name → path: ``network.graphml`` (osmnx GraphML, loads with
        :func:`geoplan.network.from_graphml`), ``network.gpkg`` (layers
        ``nodes``, ``edges``, ``repairs``), ``components.csv``, ``summary.md``.
    """
    import osmnx as ox  # heavy (and slow to import): only for writing GraphML


    out: dict[str, Path] = {}
    final = Path(folder).resolve()
    with output_folder(final, overwrite=overwrite) as tmp:
        H = G.copy()
        H.graph["crs"] = pyproj.CRS(G.graph["crs"]).to_wkt() if G.graph.get("crs") is not None else None
        for _, _, d in H.edges(data=True):
            d["source_row"] = str(d.get("source_row"))
        ox.save_graphml(H, tmp / "network.graphml")
        nodes, edges = graph_to_gdfs(G)
        gpkg = tmp / "network.gpkg"
        nodes.to_file(gpkg, layer="nodes", engine="pyogrio")
        edges.to_file(gpkg, layer="edges", engine="pyogrio")
        if report is not None:
            rep = report.repairs.copy()
            if len(rep):
                rep.to_file(gpkg, layer="repairs", engine="pyogrio")
            report.components.to_csv(tmp / "components.csv", index=False)
            (tmp / "summary.md").write_text(report.summary() + notes, encoding="utf-8")
        for name, lyr in (layers or {}).items():
            lyr.to_file(gpkg, layer=name, engine="pyogrio")
    for name in ("network.graphml", "network.gpkg", "components.csv", "summary.md"):
        if (final / name).exists():
            out[name] = final / name
    return out


