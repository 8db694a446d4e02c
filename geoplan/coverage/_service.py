"""Service areas (the polygon each facility reaches within its cutoff) and the two-step floating catchment (2SFCA)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse

from geoplan.network._network import Network
from geoplan.network._snap import snap

from geoplan.coverage._engine import _is_points, od_matrix, reachable_nodes

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

log = logging.getLogger("geoplan")


def service_areas(
    net: Network,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff: float,
    weight: str = "time",
    nodes: pd.DataFrame | ArrayLike | None = None,
    buffer_m: float | None = None,
    method: str = "edges",
) -> gpd.GeoDataFrame:
    """Service-area polygons: the part of the network within ``cutoff`` of each facility.

    Parameters
    ----------
    net
        The network.
    facilities
        GeoDataFrame of facilities (index kept).
    cutoff
        Largest cost inside the area (seconds or metres, per ``weight``).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).
    nodes
        Their snap table (:func:`geoplan.network.snap`; default: snapped here) or node positions.
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
    if buffer_m is None:
        buffer_m = 50.0 if net.mode == "walk" else 150.0
    if nodes is None:
        nodes = snap(net, facilities)
    reach = reachable_nodes(net, nodes, cutoff=cutoff, weight=weight, towards=True)
    # The snapped point itself belongs to its area (a facility may sit mid-edge, far from a node).
    here = (np.column_stack([nodes["x"].to_numpy(), nodes["y"].to_numpy()]) if _is_points(nodes) and "x" in nodes
            else None)
    tails, heads = net.edge_arrays()
    polys = []
    for k, r in enumerate(reach):
        own = shapely.Point(here[k]).buffer(buffer_m) if here is not None else None
        if method == "hull":
            pts = shapely.multipoints(np.column_stack([net.x[r], net.y[r]]))
            poly = shapely.concave_hull(pts, ratio=0.3).buffer(buffer_m)
            polys.append(poly if own is None else shapely.union(poly, own))
            continue
        mask = np.zeros(net.n_nodes, bool)
        mask[r] = True
        e = np.flatnonzero(mask[tails] & mask[heads])
        if len(e) == 0:
            if own is not None:
                polys.append(own)
            else:
                polys.append(shapely.Point(net.x[r[0]], net.y[r[0]]).buffer(buffer_m) if len(r) else shapely.Polygon())
            continue
        lines = shapely.linestrings(
            np.stack([np.column_stack([net.x[tails[e]], net.y[tails[e]]]), np.column_stack([net.x[heads[e]], net.y[heads[e]]])], axis=1)
        )
        poly = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
        polys.append(poly if own is None else shapely.union(poly, own))
    return gpd.GeoDataFrame(geometry=polys, index=facilities.index, crs=net.crs)


def two_step_fca(
    net: Network,
    supply_nodes: ArrayLike | pd.DataFrame,
    supply: ArrayLike,
    demand_nodes: ArrayLike | pd.DataFrame,
    demand: ArrayLike,
    *,
    cutoff: float,
    weight: str = "time",
) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) accessibility per demand point.

    Step 1: each facility's supply-to-demand ratio ``R_j = S_j / sum(P_k for k within cutoff of j)``.
    Step 2: each demand point's accessibility ``A_i = sum(R_j for j within cutoff of i)``
    (Luo & Wang 2003).  With beds as supply and people aged 60+ as demand, ``A_i × 1000`` is
    beds per 1,000 elderly reachable.

    Parameters
    ----------
    net
        The network.
    supply_nodes, demand_nodes
        Node positions or snap tables (:func:`geoplan.network.snap`; door-to-door costs) of the
        facilities and of the demand points.
    supply, demand
        Capacity per facility and population per demand point (NaN counts as 0).
    cutoff
        Catchment size (seconds or metres, per ``weight``).
    weight
        ``"time"`` (seconds) or ``"length"`` (metres).

    Returns
    -------
    ndarray of float
        Accessibility aligned to ``demand_nodes``; 0 where no facility is within reach.
    """
    supply = np.nan_to_num(np.asarray(supply, dtype=float))
    demand = np.nan_to_num(np.asarray(demand, dtype=float))
    m = od_matrix(net, supply_nodes, demand_nodes, cutoff=cutoff, weight=weight, towards=True, progress=False)
    reach = sparse.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)  # 1 where within cutoff
    pop_in_reach = reach @ demand
    ratio = np.divide(supply, pop_in_reach, out=np.zeros_like(supply), where=pop_in_reach > 0)
    return reach.T @ ratio
