"""Site suggestion: coverage models, p-median, p-centre, capacitated models and co-location.

Array core first: every model takes a sparse ``cost`` matrix (candidates × demand, travel
seconds, stored only within the cutoff — as :func:`geoplan.coverage.od_matrix` returns it; a
stored 0 is a real zero cost) and demand ``weights``.  Existing facilities are candidates flagged
``fixed``: always open, always counted, never among the *new* sites.  ``"exact"`` solves with
HiGHS and checks its answer; ``"greedy"`` reports a gap only against a bound it computed.

The names below are the public surface; modules with a leading underscore are internals:
``_base`` (:class:`Solution`, input checks, HiGHS plumbing), ``_coverage_models`` (:func:`mclp`,
:func:`lscp`, :func:`reach_target`, :func:`pcenter`), ``_pmedian`` (+ numba kernels in
``_pmedian_fast``), ``_capacitated``, ``_suggest`` (the network adapter :func:`suggest_sites`),
``_colocate`` (:func:`colocate`, :func:`suggest_colocated`; model parts in ``_colocate_model``).
Writing results is :mod:`geoplan.outputs`' job (``save`` delegates)."""

from __future__ import annotations

from geoplan.suggest._base import Solution, status_text
from geoplan.suggest._coverage_models import lscp, mclp, pcenter, reach_target
from geoplan.suggest._pmedian import pmedian
from geoplan.suggest._capacitated import capacitated_mclp, capacitated_pmedian
from geoplan.suggest._suggest import SuggestResult, candidates_from_network, candidates_from_units, suggest_sites
from geoplan.suggest._colocate import (
    Colocation, colocate, ColocatedResult, suggest_colocated,
)

__all__ = [
    "Solution", "SuggestResult", "suggest_sites", "mclp", "lscp", "pmedian", "pcenter", "reach_target",
    "capacitated_mclp", "candidates_from_network", "candidates_from_units", "status_text",
    "capacitated_pmedian", "Colocation", "colocate", "ColocatedResult", "suggest_colocated",
]
