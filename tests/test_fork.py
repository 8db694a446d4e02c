"""Work shared out to forked processes (``geoplan._fork``) gives what the same work gives in this process:
results in order, exceptions with their fields, and the report folder byte for byte (print maps drawn in a child
beside the layers and the web map)."""

from __future__ import annotations

import functools
import gc
import os
import threading

import pytest

from geoplan import InputError
from geoplan import _fork

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="one core or no fork here: only the inline path")


@pytest.fixture
def forking(monkeypatch):
    """Fork even if an earlier test left a thread running in this process (the children here use no locks of theirs)."""
    monkeypatch.setattr(_fork, "cores", lambda: 2)


def _pid(_k: int = 0) -> int:
    return os.getpid()


def _square(k: int) -> int:
    return k * k


def _fails():
    raise InputError("bad cell", file="a.csv", row=7, field="人口")


def test_fork_map_in_order_and_equal_to_inline(forking):
    tasks = [functools.partial(_square, k) for k in range(9)]
    assert _fork.fork_map(tasks) == _fork.fork_map(tasks, workers=1) == [k * k for k in range(9)]
    pids = _fork.fork_map([_pid, _pid, _pid, _pid])
    # this process takes every second task, a forked child the others: the work really ran in two processes
    assert pids[0::2] == [os.getpid()] * 2 and os.getpid() not in pids[1::2]
    with _fork.in_background(_pid) as child:
        assert child.result() != os.getpid()


def test_exception_in_a_child_keeps_its_type_and_fields(forking):
    for run in (lambda: _fork.fork_map([_fails, _fails]), lambda: _fork.in_background(_fails).__enter__().result()):
        with pytest.raises(InputError) as err:
            run()
        assert (err.value.file, err.value.row, err.value.field) == ("a.csv", 7, "人口")
        assert gc.get_freeze_count() == 0  # nothing left frozen (gc.freeze keeps pages shared only during a fork)


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    th = threading.Thread(target=stop.wait)
    th.start()
    try:
        assert _fork.cores() == 1
        with _fork.in_background(functools.partial(_square, 3)) as later:
            assert isinstance(later, _fork._Later) and later.result() == 9
    finally:
        stop.set()
        th.join()


def test_report_folder_identical_with_and_without_the_child(demo, tmp_path, monkeypatch, forking):
    from geoplan import coverage
    from geoplan.coverage import standards

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764633600")
    res = coverage.assess({demo.network.mode: demo.network}, demo.facilities, demo.demand, units=demo.units,
                          catalogue=standards.default_catalogue())
    forked = res.save(tmp_path / "forked")
    monkeypatch.setattr(_fork, "cores", lambda: 1)
    inline = res.save(tmp_path / "inline")
    assert list(forked) == list(inline)  # the same files, listed in the same order
    files = sorted(p.relative_to(tmp_path / "forked") for p in (tmp_path / "forked").rglob("*") if p.is_file())
    assert any(str(f).startswith("maps") for f in files)
    for f in files:
        if f.suffix in (".md", ".html", ".png", ".pdf", ".csv", ".xlsx", ".docx"):
            assert (tmp_path / "forked" / f).read_bytes() == (tmp_path / "inline" / f).read_bytes(), f


def _fails_with(k: int):
    raise InputError(f"bad cell {k}", row=k)


def _inner(k: int) -> list:
    return _fork.fork_map([functools.partial(_square, k), functools.partial(_square, k + 1)])


def test_first_error_in_task_order_and_nested_maps(forking):
    # task 1 runs in a child, task 2 here: the error raised is task 1's, as [t() for t in tasks] would raise
    tasks = [functools.partial(_square, 0)] + [functools.partial(_fails_with, k) for k in (1, 2, 3)]
    with pytest.raises(InputError) as err:
        _fork.fork_map(tasks)
    assert err.value.row == 1
    # a task may share out work itself: the outer tasks are still found afterwards, in the children too
    assert _fork.fork_map([functools.partial(_inner, k) for k in range(4)]) == [[k * k, (k + 1) ** 2] for k in range(4)]


def test_a_callers_frozen_objects_stay_frozen(forking):
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert _fork.fork_map([_pid, _pid])
        with _fork.in_background(_pid) as child:
            child.result()
        assert gc.get_freeze_count() == before > 0
    finally:
        gc.unfreeze()
