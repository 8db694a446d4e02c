"""geoplan batch without Dask: one explicit "install geoplan[dask]" message, not a silent skip (issue 14)."""

from __future__ import annotations

import sys

import pytest

from geoplan import GeoplanError
from geoplan.batch import _batch


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(GeoplanError, match=r"geoplan\[dask\]"):
        with _batch._client(None, 1):
            pass
