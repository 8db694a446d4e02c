"""Deprecated module paths kept for one release (issue 14 moved the modules into subpackages).

``geoplan/__init__.py`` appends this folder to ``geoplan.__path__``, so ``import geoplan.lines``
finds ``_shims/lines.py``; each shim warns once (:class:`DeprecationWarning`, naming the new
place) and then *is* the moved module (``sys.modules`` points at it), so attributes and
monkeypatching behave exactly as before.  Remove this folder in the release after next.
"""

from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str, target: str, public: str) -> None:
    """Make module ``old`` an alias of ``target``, warning that ``public`` is the new name."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {public}",
                  DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(target)
