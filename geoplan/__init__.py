"""geoplan: coverage, site suggestion, place names and boundaries for civil-affairs planners."""

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

__all__ = [
    "CRSError",
    "GeoplanError",
    "InfeasibleError",
    "InputError",
    "NetworkError",
    "OutputExistsError",
    "StoreError",
    "__version__",
]
