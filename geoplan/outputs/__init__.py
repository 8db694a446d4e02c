"""Presentation: reports (Markdown/HTML/Excel), web maps (:mod:`geoplan.outputs.maps`), charts (:mod:`geoplan.outputs.figures`) and the writers of coverage and suggestion results.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.outputs import maps
from geoplan.outputs import figures
from geoplan.outputs._report import (
    Section, write_report, markdown_table, html_table, sheet_name, display_width,
)
from geoplan.outputs._coverage_outputs import (
    write_coverage, coverage_layers, write_gpkg,
)
from geoplan.outputs._suggest_outputs import (
    write_suggestion,
)
from geoplan.outputs._batch_outputs import (
    write_batch_summary,
)
from geoplan.outputs._coverage_map import (
    coverage_map,
)

__all__ = [
    "maps", "figures", "Section", "write_report", "markdown_table", "html_table", "sheet_name",
    "display_width", "write_coverage", "coverage_layers", "write_gpkg", "write_suggestion", "coverage_map",
    "write_batch_summary",
]
