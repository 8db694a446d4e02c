"""Many areas (counties) in one run on Dask: partitioned, buffered, resumable.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.batch._batch import (
    Area, read_areas, check_area_ids, area_catalogue, run_area, run_batch, demo_areas,
)

__all__ = [
    "Area", "read_areas", "check_area_ids", "area_catalogue", "run_area", "run_batch", "demo_areas",
]
