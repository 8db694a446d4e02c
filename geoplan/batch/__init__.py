"""Many areas (counties) in one run on Dask: partitioned, buffered, resumable.

The names below are the public surface; modules with a leading underscore are internals:
``_areas`` (the areas table), ``_runner`` (one area, the Dask task), ``_provenance``
(``done.json``), ``_batch`` (the run over all areas).  The summary report is written by
:func:`geoplan.outputs.write_batch_summary` (pass it as ``run_batch(..., report=...)``)."""

from __future__ import annotations

from geoplan.batch._areas import Area, area_catalogue, check_area_ids, read_areas
from geoplan.batch._batch import run_batch
from geoplan.batch._runner import run_area

__all__ = [
    "Area", "read_areas", "check_area_ids", "area_catalogue", "run_area", "run_batch",
]


def __getattr__(name: str):
    # ``geoplan.batch.demo_areas`` moved to ``geoplan.demo``; resolved on use so that importing batch (an engine
    # package) never loads geoplan.demo, whose boundaries demo writes reports through geoplan.outputs.
    if name == "demo_areas":
        from geoplan.demo._areas import demo_areas

        return demo_areas
    raise AttributeError(f"module 'geoplan.batch' has no attribute {name!r}")
