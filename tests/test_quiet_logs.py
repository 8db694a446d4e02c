"""Logs of a default CLI run: no solver banners, no progress bars, no Python reprs, each warning once (issue 16).

The commands run in subprocesses, as a planner runs them, and their stdout/stderr are scanned.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# What must never reach a default run's output.
NOISE = {
    "HiGHS banner": re.compile(r"Running HiGHS|Copyright \(c\)|THIRD_PARTY_NOTICES"),
    "HiGHS MIP trace": re.compile(r"HighsMipSolverData|transformNewIntegerFeasibleSolution"),
    "tqdm bar": re.compile(r"\d+%\|.*\||it/s\]|s/it\]"),
    "Python repr": re.compile(r"\w+\((?:\w+=[^,()]*, )+\w+=[^()]*\)|<[\w.]+ object at 0x[0-9a-f]+>"),
    "RepairReport repr": re.compile(r"RepairReport\("),
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
}


def _run(args, cwd: Path, *, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", **(env_extra or {}))
    env.pop("COLUMNS", None)
    return subprocess.run([sys.executable, "-c", "from geoplan.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=900)


def _scan(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout + "\n" + proc.stderr
    for what, pattern in NOISE.items():
        hit = pattern.search(text)
        assert hit is None, f"{what} in the output: {hit.group(0)!r}\n{text[-1500:]}"
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("WARNING") or "Warning:" in ln]
    assert len(warnings) == len(set(warnings)), f"a warning repeated: {warnings}"


def test_suggest_demo_is_quiet(tmp_path):
    proc = _run(["suggest", "--demo", "--type", "社工站", "-p", "2", "-o", str(tmp_path / "s")], tmp_path)
    _scan(proc)
    md = (tmp_path / "s" / "report.md").read_text(encoding="utf-8")
    assert "node:" not in md  # sites by their road, not by an OSM node id


def test_suggest_verbose_shows_the_solver(tmp_path):
    proc = _run(["-v", "suggest", "--demo", "--type", "社工站", "-p", "2", "-o", str(tmp_path / "s")], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HiGHS" in proc.stdout + proc.stderr  # -v lets the solver speak


def test_network_from_lines_is_quiet(tmp_path):
    libpysal = pytest.importorskip("libpysal")
    ex = Path(libpysal.__file__).parent / "examples" / "snow_maps"
    proc = _run(["network", "from-lines", str(ex / "Soho_Network.shp"), "-o", str(tmp_path / "n"), "--mode", "walk",
                 "--points", str(ex / "SohoPeople.shp")], tmp_path)
    _scan(proc)
    assert "修复" in proc.stdout  # the plain summary line is still there


def test_boundaries_demo_is_quiet(tmp_path):
    _scan(_run(["boundaries", "demo", "-o", str(tmp_path / "b")], tmp_path))


def test_repair_report_text_is_plain():
    from geoplan.network import graph_from_lines, read_lines

    libpysal = pytest.importorskip("libpysal")
    ex = Path(libpysal.__file__).parent / "examples" / "snow_maps"
    _, report = graph_from_lines(read_lines(ex / "Soho_Network.shp"), mode="walk")
    text = str(report)
    assert "RepairReport(" not in text and "=" not in text
    assert f"{report.naive_components:,}" in text and f"{report.n_components:,}" in text


def test_each_warning_once(tmp_path):
    code = (
        "import logging, sys, warnings\n"
        "logging.basicConfig(stream=sys.stderr, format='%(levelname)s %(message)s')\n"
        "from geoplan.cli import _each_warning_once\n"
        "_each_warning_once()\n"
        "def a(): warnings.warn('same thing', UserWarning)\n"
        "def b(): warnings.warn('same thing', UserWarning)\n"
        "for f in (a, b, a, b): f()\n"
        "for _ in range(4): logging.getLogger('geoplan').warning('assumed 4.5 km/h')\n"
        "logging.getLogger('geoplan').warning('another')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("same thing") == 1
    assert proc.stderr.count("assumed 4.5 km/h") == 1 and proc.stderr.count("another") == 1


def test_solver_silenced_in_threads_and_stdout_restored(tmp_path):
    code = (
        "import threading, numpy as np\n"
        "from scipy import sparse\n"
        "from geoplan.suggest._base import _highs_run\n"
        "A = sparse.csc_array(np.array([[1.0, 1.0]]))\n"
        "def go():\n"
        "    for _ in range(10):\n"
        "        _highs_run(np.ones(2), A, np.ones(1), np.array([np.inf]), np.zeros(2), np.ones(2), [1, 1],\n"
        "                   maximize=False, time_limit=5, mip_rel_gap=0, start=None)\n"
        "ts = [threading.Thread(target=go) for _ in range(4)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print('stdout still works', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stdout still works"
    assert "HiGHS" not in proc.stderr


def test_verbose_demo_has_no_font_subset_chatter(tmp_path):
    """(session 23) ``-v`` printed fontTools' INFO log of every PDF font subset, whole glyph lists (20 kB a run);
    ``-v`` shows geoplan's and other libraries' INFO, fontTools' only with ``-vv``."""
    proc = _run(["-v", "demo", "-o", str(tmp_path / "d")], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fontTools" not in proc.stderr and "INFO geoplan" in proc.stderr


@pytest.mark.parametrize("flags, level", [(["-q"], "ERROR"), ([], "WARNING"), (["-v"], "WARNING"), (["-vv"], "DEBUG")])
def test_font_subset_log_level_follows_the_flags(flags, level):
    """fontTools' own level: ``-q`` keeps even its warnings out (review of session 23), ``-vv`` lets its INFO in."""
    import logging

    from click.testing import CliRunner

    from geoplan.cli import main

    before = logging.getLogger("fontTools").level
    try:
        assert CliRunner().invoke(main, [*flags, "demo", "--help"]).exit_code == 0
        assert logging.getLevelName(logging.getLogger("fontTools").level) == level
    finally:
        logging.getLogger("fontTools").setLevel(before)
