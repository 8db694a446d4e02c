"""Site suggestion: coverage models, p-median, p-centre, capacitated models and co-location.

The names below are the public surface; modules with a leading underscore are internals."""

from __future__ import annotations

from geoplan.suggest._suggest import (
    Solution, SuggestResult, suggest_sites, mclp, lscp, pmedian, pcenter, reach_target, capacitated_mclp,
    candidates_from_network, candidates_from_units, status_text,
)
from geoplan.suggest._capacitated import (
    capacitated_pmedian,
)
from geoplan.suggest._colocate import (
    Colocation, colocate, ColocatedResult, suggest_colocated,
)

__all__ = [
    "Solution", "SuggestResult", "suggest_sites", "mclp", "lscp", "pmedian", "pcenter", "reach_target",
    "capacitated_mclp", "candidates_from_network", "candidates_from_units", "status_text",
    "capacitated_pmedian", "Colocation", "colocate", "ColocatedResult", "suggest_colocated",
]
