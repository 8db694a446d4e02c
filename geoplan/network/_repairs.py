"""Records of what noding a road layer changed: repair types, one :class:`Repair` each, the :class:`Noded` result."""

from __future__ import annotations

import dataclasses

import numpy as np

#: Repair types written to the repairs layer, with their meaning (English; the
#: Markdown summary also gives Chinese).
REPAIR_TYPES = {
    "empty_dropped": "empty or missing geometry dropped",
    "zero_length_dropped": "zero-length line dropped",
    "non_line_dropped": "point/polygon feature dropped (not a line)",
    "ends_merged": "line end moved onto a nearby line end (near-miss junction)",
    "end_snapped_to_line": "dangling line end moved onto a nearby line (near-miss T junction)",
    "split": "line split where it crosses or touches another line (counted only, not listed)",
    "level_crossing_kept": "crossing of lines on different levels (bridge/tunnel) not joined",
    "duplicate_dropped": "duplicate segment dropped",
    "small_component_dropped": "segment dropped: not on the largest connected part",
}


@dataclasses.dataclass
class Repair:
    """One change made to the layer (or one place deliberately left alone)."""

    type: str
    geometry: object
    source_row: int = -1
    distance_m: float = 0.0
    detail: str = ""


@dataclasses.dataclass
class Noded:
    """Result of :func:`node_lines`.

    ``segments`` are LineStrings whose end coordinates equal the node
    coordinates exactly; ``u``/``v`` index ``node_xy``; ``source`` gives the
    position of the input line each segment came from.
    """

    segments: np.ndarray
    u: np.ndarray
    v: np.ndarray
    source: np.ndarray
    node_xy: np.ndarray
    repairs: list
    counts: dict
