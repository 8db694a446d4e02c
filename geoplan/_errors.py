"""geoplan's error hierarchy.

Every error geoplan raises on purpose derives from :class:`GeoplanError`, and
also from the built-in exception it resembles, so ``except ValueError`` keeps
working for callers who do not know geoplan.
"""

from __future__ import annotations


class GeoplanError(Exception):
    """Base class of all errors geoplan raises on purpose."""


class InputError(GeoplanError, ValueError):
    """Bad user input: a file, row or field that cannot be used.

    Parameters
    ----------
    message
        What is wrong, in words a planner understands.
    file, row, field
        Where it is wrong, when known.  ``row`` is 1-based as a spreadsheet
        shows it (header = row 1, first data row = row 2) when it comes from a
        table file, the feature number counted from 1 ("feature N") when it
        comes from a GIS file, else the record's index label.
    """

    def __init__(self, message: str, *, file=None, row=None, field=None):
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        text = f"{message} ({', '.join(where)})" if where else message
        super().__init__(text)


class CRSError(InputError):
    """A coordinate reference system is missing, geographic where metres are needed, or unknown."""


class NetworkError(GeoplanError, ValueError):
    """A road network that cannot be used (empty, disconnected beyond repair, unreadable)."""


class InfeasibleError(GeoplanError, ValueError):
    """A model or request that has no solution (p larger than candidates, capacity below demand...)."""


class StoreError(GeoplanError, RuntimeError):
    """A database (GeoPackage store) operation failed; the store is left as it was."""


class OutputExistsError(GeoplanError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


__all__ = [
    "GeoplanError",
    "InputError",
    "CRSError",
    "NetworkError",
    "InfeasibleError",
    "StoreError",
    "OutputExistsError",
]
