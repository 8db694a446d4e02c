"""Road networks by file suffix, one graph per travel mode, and the travel-mode override syntax.

The one place that turns a network *file* (or an online place name) into
:class:`~geoplan.network.Network` objects, used by ``geoplan coverage``,
``geoplan suggest``, ``geoplan demo`` and :mod:`geoplan.batch`, so a
``.graphml`` or a road line layer is read the same way everywhere (issue 14:
"network loading by file suffix exists twice").  It also holds the parser of
mode overrides (CLI ``--mode`` and the 方式 column of a batch areas table):
plain ``drive`` for every type, ``殡仪馆=drive`` for one type.

No silent fallback: a mode that cannot be built is a
:class:`~geoplan.NetworkError`, never replaced by the other mode.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import geopandas as gpd
import numpy as np
import shapely

from geoplan._errors import InputError, NetworkError
from geoplan.network._build import from_graphml, from_osm_file, from_place
from geoplan.network._lines import network_from_lines
from geoplan.network._speeds import WALK_SPEED_KMH

if TYPE_CHECKING:
    from geoplan.network._network import Network

#: The travel modes a network can be built for.
from geoplan.network._network import MODES  # noqa: E402 - re-exported for the CLI
#: Chinese words accepted for the modes.
MODE_WORDS = {"步行": "walk", "驾车": "drive"}
#: What separates several overrides written in one cell (``殡仪馆=drive;社工站=walk``).
_SEPARATORS = re.compile(r"[;；,，]")


def _mode_word(text: str) -> str:
    text = str(text).strip()
    return MODE_WORDS.get(text, text.lower())


def split_modes(text: str | None) -> list[str]:
    """One cell of overrides → its parts: ``"殡仪馆=drive；社工站=walk"`` → ``["殡仪馆=drive", "社工站=walk"]``.

    Semicolons and commas separate (ASCII or full-width); ``＝`` counts as ``=``; blanks are dropped.

    Parameters
    ----------
    text
        The cell; None gives no parts.

    Returns
    -------
    list of str
        The overrides, stripped, in order.
    """
    if text is None:
        return []
    return [p.strip() for p in _SEPARATORS.split(str(text).replace("＝", "=")) if p.strip()]


def check_modes(values: Iterable[str], *, option: str = "--mode", field: str | None = None, file: Any = None,
                row: int | None = None) -> list[str]:
    """Check the mode words of overrides without a catalogue; returns them canonical (``TYPE=walk``/``drive``).

    Type names are checked later against the catalogue (:func:`parse_modes`).

    Parameters
    ----------
    values
        Overrides: ``MODE`` or ``TYPE=MODE``; a mode may be written 步行/驾车 or in any case.
    option, field, file, row
        How errors name where the value came from (message prefix, field,
        file and spreadsheet row).

    Returns
    -------
    list of str
        Each value as ``walk``/``drive`` or ``TYPE=walk``/``TYPE=drive`` (type name stripped, not resolved).

    Raises
    ------
    InputError
        A mode other than walk/drive (步行/驾车) or a blank type name.
    """
    out = []
    for text in values:
        name, sep, mode = str(text).rpartition("=")
        mode = _mode_word(mode)
        if mode not in MODES:
            raise InputError(f"{option} {text!r}: the mode must be walk or drive (步行/驾车)", file=file, row=row,
                             field=field or option)
        if sep and not name.strip():
            raise InputError(f"{option} {text!r}: no facility type before '='", file=file, row=row,
                             field=field or option)
        out.append(f"{name.strip()}={mode}" if sep else mode)
    return out


def parse_modes(values: Iterable[str] | None, catalogue: "geoplan.coverage.standards.Catalogue", *, option: str = "--mode", field: str | None = None,
                file: Any = None, row: int | None = None) -> dict[str, str] | None:
    """Mode overrides → ``{type key: mode}`` (None when none are given).

    A plain ``walk``/``drive`` applies to every type; ``TYPE=MODE`` (key,
    Chinese name or alias; 步行/驾车 accepted) to one and wins over a plain
    value whatever the order.

    Parameters
    ----------
    values
        The overrides, e.g. the repeated CLI ``--mode`` values or
        ``split_modes(cell)`` of an areas table.
    catalogue
        The :class:`~geoplan.standards.Catalogue` that resolves type names.
    option, field, file, row
        How errors name where the value came from (message prefix, field,
        file and spreadsheet row).

    Returns
    -------
    dict or None
        For :meth:`~geoplan.standards.Catalogue.with_modes`.

    Raises
    ------
    InputError
        A mode other than walk/drive, or an unknown facility type.
    """
    values = list(values or ())
    if not values:
        return None
    every: str | None = None
    per: dict[str, str] = {}
    for text, canon in zip(values, check_modes(values, option=option, field=field, file=file, row=row)):
        name, sep, mode = canon.rpartition("=")
        if not sep:
            every = mode
            continue
        key = catalogue.resolve(name)
        if key is None:
            raise InputError(f"{option} {text!r}: unknown facility type {name!r}; known: "
                             f"{', '.join(catalogue.keys)} (or their Chinese names)", file=file, row=row,
                             field=field or option)
        per[key] = mode
    out = {t: every for t in catalogue.keys} if every else {}
    out.update(per)
    return out


def load_network(path: str | Path | None, *, mode: str = "walk", place: str | None = None,
                 walk_speed_kmh: float = WALK_SPEED_KMH, within: Any = None) -> Network:
    """A Network from a file (by its suffix) or a place name (online).

    Parameters
    ----------
    path
        ``.osm.pbf``/``.pbf``, ``.osm``/``.xml``/``.osm.bz2`` (OpenStreetMap),
        ``.graphml`` (osmnx), anything else a road line layer
        (:func:`geoplan.network.network_from_lines`: Shapefile, GeoPackage, GeoJSON...).
    mode
        ``"walk"`` or ``"drive"``.
    place
        Instead of ``path``: a place name downloaded with osmnx (needs internet).
    walk_speed_kmh
        Walking speed.
    within
        Optional shapely polygon in WGS-84: keep only the network inside it
        (a ``.pbf`` is clipped while reading, pyrosm ``bounding_box``; anything
        else is read whole and then clipped with :func:`clip_network`).

    Returns
    -------
    Network

    Raises
    ------
    InputError
        The file is missing or unreadable.
    NetworkError
        No usable network (for this mode, or inside ``within``).
    """
    if place:
        net = from_place(place, mode=mode, walk_speed_kmh=walk_speed_kmh)
        return net if within is None else clip_network(net, within)
    p = Path(path)
    if not p.exists():
        raise InputError("network file not found", file=str(p))
    suffix = "".join(p.suffixes[-2:]).lower()
    if suffix.endswith(".pbf"):
        return from_osm_file(p, mode=mode, walk_speed_kmh=walk_speed_kmh, bounding_box=within)
    if suffix.endswith(".graphml"):
        net = from_graphml(p, mode=mode, walk_speed_kmh=walk_speed_kmh)
    elif suffix.endswith((".osm", ".xml", ".osm.bz2")):
        net = from_osm_file(p, mode=mode, walk_speed_kmh=walk_speed_kmh)
    else:
        net = network_from_lines(p, mode=mode, walk_speed_kmh=walk_speed_kmh)
    return net if within is None else clip_network(net, within)


def load_networks(path: str | Path | None, *, modes: Iterable[str], place: str | None = None,
                  walk_speed_kmh: float = WALK_SPEED_KMH, within: Any = None) -> dict:
    """``{mode: Network}``: each needed mode built once from the same source (file or place).

    A mode that cannot be built is a NetworkError naming it (no fallback to the
    other mode: that would time a drive type on foot).

    Parameters
    ----------
    path, place, walk_speed_kmh, within
        As in :func:`load_network`.
    modes
        The modes the facility types need (repeats allowed).

    Returns
    -------
    dict of str to Network
        One network per distinct mode.

    Raises
    ------
    InputError
        The file is missing or unreadable.
    NetworkError
        A mode's network cannot be built (the message names the mode).
    """
    out = {}
    for mode in sorted(set(modes)):
        try:
            out[mode] = load_network(path, place=place, mode=mode, walk_speed_kmh=walk_speed_kmh, within=within)
        except NetworkError as exc:
            raise NetworkError(f"cannot build the {mode} network from {path or place}: {exc}") from exc
    return out


def clip_network(net: Network, polygon: shapely.Geometry, *, crs_of_polygon: Any = 4326) -> Network:
    """The part of ``net`` whose nodes lie inside ``polygon`` (edges with both ends inside).

    Every per-edge array (lengths, times, geometry, ``snappable``) is cut the
    same way and every other attribute (``access_kmh``, mode, CRS) kept, so
    snapping works on the clipped network as on the whole one.

    Parameters
    ----------
    net
        A :class:`~geoplan.network.Network`.
    polygon
        A shapely polygon in ``crs_of_polygon``.
    crs_of_polygon
        CRS of ``polygon`` (default WGS-84).

    Returns
    -------
    Network
        Nodes renumbered (in their old order, so CSR edges stay sorted);
        ``report["clipped_nodes_dropped"]`` says how many went.

    Raises
    ------
    NetworkError
        No node lies inside the polygon.
    """
    poly = gpd.GeoSeries([polygon], crs=crs_of_polygon).to_crs(net.crs).iloc[0]
    keep = shapely.contains_xy(poly, net.x, net.y)
    if not keep.any():
        raise NetworkError("no network nodes inside the buffered area")
    new_id = np.full(net.n_nodes, -1, dtype=np.int64)
    new_id[keep] = np.arange(int(keep.sum()))
    src = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
    ok = keep[src] & keep[net.indices]
    counts = np.bincount(new_id[src[ok]], minlength=int(keep.sum()))
    report = dict(net.report)
    report["clipped_nodes_dropped"] = int((~keep).sum())
    edge = {f: getattr(net, f)[ok] for f in ("length", "time", "edge_geometry", "snappable")
            if getattr(net, f, None) is not None}
    return dataclasses.replace(
        net,
        indptr=np.concatenate([[0], np.cumsum(counts)]).astype(net.indptr.dtype),
        indices=new_id[net.indices[ok]].astype(net.indices.dtype),
        x=net.x[keep],
        y=net.y[keep],
        node_ids=net.node_ids[keep],
        report=report,
        **edge,
    )
