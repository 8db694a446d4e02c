"""Safe output: all-or-nothing folders and files that never cost the user a file.

Rules (the same for every subcommand, ``geoplan batch`` and the Python API):

* An output folder is written into a hidden temporary folder beside it
  (``.<name>.<random>.tmp``) and moved into place in one step when complete;
  on any error or on SIGTERM/SIGINT/SIGHUP (see :func:`signal_cleanup`)
  the temporary folder is removed and nothing else is touched.
* Every folder geoplan writes carries a marker file :data:`MARKER`
  (``.geoplan-output``, JSON: command, geoplan version, time, process id).
* An existing folder is replaced only with ``overwrite`` **and** only when
  geoplan created it (it holds the marker, and nothing but the files the marker
  lists) or it is empty, and never when it is the working directory or holds
  it, the home folder, a filesystem root, or holds any input of the run --
  compared by path *and* by device and inode, so the same folder reached
  through a bind mount or another path is recognised.  Everything else is
  refused with :class:`~geoplan.OutputExistsError` saying why, before any
  work is done.  A mount point is written into (its contents replaced), since
  it cannot be renamed.
* The replace is recoverable: the new folder's marker says it is complete
  before the two renames; an interrupted replace is completed or undone by
  the signal handler or by the next run's sweep, never leaving nothing.
* An existing *file* is replaced only with ``overwrite`` and never when it is
  one of the run's inputs or is not a regular file (a folder, a device).
* Temporary folders left by a killed run (``kill -9``, a power cut) are
  swept on the next run that writes into the same parent folder: those with the
  marker whose process is gone (same host), or older than
  :data:`STALE_AFTER_S` (another host).
* User text written to CSV is neutralised against spreadsheet formula
  injection (:func:`csv_safe`).

The CLI tells this package which files a run reads (:func:`run_context`), so
``output_folder`` refuses to replace a folder holding one even when a library
function calls it without ``inputs=``.
"""

from __future__ import annotations

# The package is split by concern, dependencies pointing one way:
# _state (markers, run context, live registries) <- _rule (may a folder be replaced) <- _leftovers
# (interrupted replaces, cleanup, sweep, signals) <- _folders (all-or-nothing writers) <- _csvsafe.
from geoplan._output._csvsafe import csv_safe, csv_safe_text, write_csv
from geoplan._output._folders import atomic_write_file, check_new_file, output_folder
from geoplan._output._leftovers import cleanup_temporaries, signal_cleanup, sweep_stale
from geoplan._output._rule import check_output_folder, refuse_reason
from geoplan._output._state import MARKER, run_context

# Not in __all__, but imported from here by geoplan.batch (_check_shape, _resolve, write_marker, read_marker,
# _version) and by the tests (marker_record): kept at the package path they have always had.
from geoplan._output._leftovers import is_stale  # noqa: F401
from geoplan._output._rule import _check_shape, _resolve  # noqa: F401
from geoplan._output._state import STALE_AFTER_S, _version, marker_record, read_marker, write_marker  # noqa: F401

__all__ = [
    "MARKER",
    "output_folder",
    "check_output_folder",
    "check_new_file",
    "atomic_write_file",
    "refuse_reason",
    "run_context",
    "sweep_stale",
    "cleanup_temporaries",
    "signal_cleanup",
    "csv_safe",
    "csv_safe_text",
    "write_csv",
]
