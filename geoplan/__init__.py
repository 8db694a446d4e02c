"""geoplan: coverage, site suggestion, place names and boundaries for civil-affairs planners.

The package is a house with rooms, one subpackage per concern; ``import geoplan`` stays fast
because the subpackages are imported on first use (``geoplan.suggest.colocate`` just works):

- :mod:`geoplan.io` -- reading planners' files, coordinate systems and Chinese datums, writers;
- :mod:`geoplan.network` -- road networks (OSM, GraphML, line layers), snapping, loading by suffix;
- :mod:`geoplan.coverage` -- nearest facility, cost matrices, service areas, indicators, standards;
- :mod:`geoplan.suggest` -- site suggestion (coverage models, p-median, capacitated, co-location);
- :mod:`geoplan.registers` -- the project-area store, place names, boundaries;
- :mod:`geoplan.outputs` -- reports, maps, charts and the result writers;
- :mod:`geoplan.batch` -- many areas in one run on Dask;
- :mod:`geoplan.demo` -- the embedded demo data;
- :mod:`geoplan.cli` -- the ``geoplan`` command line.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from geoplan._errors import (
    CRSError,
    GeoplanError,
    InfeasibleError,
    InputError,
    NetworkError,
    OutputExistsError,
    StoreError,
)

__version__ = "0.1.0"

#: Subpackages imported lazily on attribute access (module ``__getattr__``, PEP 562).
SUBPACKAGES = ("io", "network", "coverage", "suggest", "registers", "outputs", "batch", "demo", "cli")

# Old module paths (geoplan.lines, geoplan.maps, ...) live on for one release as thin
# deprecation shims in geoplan/_shims/; they sit there, not at the old paths, so that the
# moved files keep git's rename detection while other branches are merged.
__path__.append(os.path.join(os.path.dirname(__file__), "_shims"))  # type: ignore[name-defined]  # noqa: F821


def __getattr__(name: str) -> Any:
    if name in SUBPACKAGES:
        return importlib.import_module(f"geoplan.{name}")
    raise AttributeError(f"module 'geoplan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBPACKAGES))


__all__ = [
    "CRSError",
    "GeoplanError",
    "InfeasibleError",
    "InputError",
    "NetworkError",
    "OutputExistsError",
    "StoreError",
    "__version__",
    *SUBPACKAGES,
]
