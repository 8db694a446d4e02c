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
    with _fork.started([_pid]) as child:
        _begun(child)
        assert child.result(0) != os.getpid()


def _begun(work, tasks: int = 1) -> None:
    """Wait until the child has begun ``tasks`` tasks (else this process would take them when asked); no timing
    asserted."""
    import time

    deadline = time.monotonic() + 60
    while work._ends[0] < tasks and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def callers_handler(tmp_path):
    """A SIGTERM handler like the CLI's (it removes the output and exits); yields the file it writes if it runs."""
    import signal

    marker = tmp_path / "handler ran"

    def handler(*_):
        marker.write_text(str(os.getpid()))
        raise SystemExit(1)

    before = signal.signal(signal.SIGTERM, handler)
    yield marker
    signal.signal(signal.SIGTERM, before)


def test_exception_in_a_child_keeps_its_type_and_fields(forking):
    for run in (lambda: _fork.fork_map([_fails, _fails]), lambda: _fork.started([_fails]).__enter__().result(0)):
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
        with _fork.started([functools.partial(_square, 3)]) as later:
            assert later._child is None and later.result(0) == 9
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
    sentinel = [object()]  # tracked by the collector; once frozen it is in no generation gc.get_objects lists
    gc.collect()
    gc.freeze()
    try:
        assert _fork.fork_map([_pid, _pid])
        with _fork.started([_pid, _pid]) as work:
            work.results()
        # (the count itself may fall: a frozen object whose last reference goes is freed as usual)
        assert gc.get_freeze_count() > 0 and not any(o is sentinel for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is sentinel for o in gc.get_objects())


def _sleep_pid(k: int) -> tuple[int, int]:
    import time

    time.sleep(0.05)
    return k, os.getpid()


def test_started_gives_every_result_in_order_from_both_processes(forking):
    tasks = [functools.partial(_sleep_pid, k) for k in range(12)]
    with _fork.started(tasks) as work:
        _begun(work)
        out = work.results()
        assert work.results() is out  # asked again: the same, not run again
    assert [k for k, _ in out] == list(range(12))
    pids = [p for _, p in out]
    assert pids[0] != os.getpid() and pids[-1] == os.getpid()  # the child from the front, this process from the back
    assert gc.get_freeze_count() == 0


def test_started_raises_the_first_error_in_task_order(forking):
    for order in range(20):  # whichever process reaches which task first
        tasks = [functools.partial(_square, 0)] * (order % 5) + [functools.partial(_fails_with, k) for k in (1, 2, 3)]
        tasks += [functools.partial(_square, 2)] * (order // 5)
        with pytest.raises(InputError) as err, _fork.started(tasks) as work:
            work.results()
        assert err.value.row == 1


def _stays_or_dies(parent: int):
    import time

    if os.getpid() != parent:
        os._exit(3)  # the child dies mid-task (out of memory, killed)
    time.sleep(0.2)
    return 1


def test_a_dead_child_is_an_error_not_a_hang(forking):
    tasks = [functools.partial(_stays_or_dies, os.getpid())] * 3
    with pytest.raises(RuntimeError, match="exit code 3"), _fork.started(tasks) as work:
        import time

        deadline = time.monotonic() + 60
        while work._child.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        work.results()


def test_leaving_on_an_error_stops_the_child(forking):
    import time

    tasks = [functools.partial(time.sleep, 30)] * 2
    with pytest.raises(KeyError), _fork.started(tasks) as work:
        child = work._child
        _begun(work)
        raise KeyError("the caller's own step failed")
    assert not child.is_alive() and child.exitcode != 0  # stopped, not waited for (30 s)
    assert gc.get_freeze_count() == 0


def test_started_without_a_second_core_runs_here(monkeypatch):
    monkeypatch.setattr(_fork, "cores", lambda: 1)
    with _fork.started([_pid, _pid]) as work:
        assert work._child is None and work.results() == [os.getpid()] * 2
    with _fork.started([_pid, _pid], workers=1) as work:
        assert work._child is None


def _big(_k: int) -> bytes:
    return b"x" * 20_000_000  # more than a pipe holds: the child is still sending it


def _slow(k: int) -> int:
    import time

    time.sleep(30)
    return k


def test_a_child_killed_while_sending_is_an_error_not_a_hang(forking):
    """(review of session 22) A child killed mid-message (the out-of-memory killer) left the caller waiting forever."""
    import signal

    with pytest.raises(RuntimeError, match="exit code -9"), _fork.started([functools.partial(_big, 0),
                                                                            functools.partial(_slow, 1)]) as work:
        _begun(work, 2)  # task 0 done (being sent), task 1 begun
        os.kill(work._child.pid, signal.SIGKILL)
        work.results()


def test_the_callers_signal_handler_does_not_run_in_the_child(forking, callers_handler):
    """(review of session 22) The CLI's SIGTERM handler (remove the output, exit) ran in the child when the caller
    stopped it, and the child then waited forever to send results nobody read: the CLI hung on an input error."""
    with pytest.raises(KeyError), _fork.started([functools.partial(_big, 0), functools.partial(_slow, 1),
                                                  functools.partial(_slow, 2)]) as work:
        child = work._child
        _begun(work, 2)
        raise KeyError("an input error found here")
    assert not child.is_alive() and not callers_handler.exists()


class _TwoArgs(Exception):
    def __init__(self, path, code):
        super().__init__(f"{path}: code {code}")


def _raises_two_args():
    raise _TwoArgs("设施.csv", 7)


def test_what_cannot_come_back_is_said_so(forking):
    import time

    tasks = [_raises_two_args, functools.partial(time.sleep, 0.5)]
    with pytest.raises((RuntimeError, _TwoArgs)) as err, _fork.started(tasks) as work:
        _begun(work)
        work.results()
    # from the child: it says what the task raised (it would not unpickle); run here: the error itself
    assert "code 7" in str(err.value)
    with pytest.raises(type(err.value)):
        work.results()  # asked again: the same error, nothing run again


def _terminated_here(parent: int):
    import signal

    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)  # as a planner's `kill` or a stopped CLI would
    return 0


def test_pool_children_do_not_run_the_callers_signal_handler(forking, callers_handler):
    """fork_map's children, and started's children asked for one result, too, end on SIGTERM without the caller's handler (the CLI's would
    remove the output folder from a copy of its state)."""
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        _fork.fork_map([functools.partial(_terminated_here, os.getpid())] * 2)
    with pytest.raises(RuntimeError, match="ended"), \
            _fork.started([functools.partial(_terminated_here, os.getpid())]) as c:
        _begun(c)
        c.result(0)
    assert not callers_handler.exists()


def _writes_late(folder: str) -> None:
    import time
    from pathlib import Path

    time.sleep(1.5)
    (Path(folder) / "late").mkdir(parents=True, exist_ok=True)  # as the print maps' mkdir(parents=True) does


def test_leaving_started_on_an_error_kills_the_child(forking, tmp_path):
    """(CI of session 22) A SIGTERM while the CLI waited for the print maps: its handler removed the temporary
    folder and the child, still drawing, made it again (mkdir parents) after the cleanup; it is killed now."""
    import time

    folder = tmp_path / ".out.x.tmp"
    with pytest.raises(KeyError), _fork.started([functools.partial(_writes_late, str(folder))]) as child:
        _begun(child)
        raise KeyError("SIGTERM, turned into an exception by the caller's handler")
    time.sleep(2.0)
    assert not folder.exists()  # killed before it wrote (waiting for it, as before, let it write after any cleanup)


def _wait_for(path: str, k: int) -> int:
    """Task ``k`` that ends only once ``path`` exists (the test's signal), at most 60 s."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + 60
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return k


def test_one_result_while_the_child_works_on_the_next(forking, tmp_path):
    """(session 23) The report is written from the A4 print maps while the child draws the A3 ones: ``result(0)``
    comes back while task 1 is still running in the child."""
    go = tmp_path / "go"
    tasks = [functools.partial(_sleep_pid, 0), functools.partial(_wait_for, str(go), 1)]
    with _fork.started(tasks) as work:
        _begun(work, 2)  # the child has both: this process takes nothing from the back
        k, pid = work.result(0)
        assert (k, pid != os.getpid()) == (0, True)
        assert work._child.is_alive() and 1 not in work._out  # task 1 still waits for the signal
        go.touch()
        assert work.results()[0] == (0, pid) and work.results()[1] == 1
        assert work.result(1) == 1


def test_one_result_not_begun_is_run_here_from_the_back(forking, tmp_path):
    go = tmp_path / "go"
    tasks = [functools.partial(_wait_for, str(go), 0)] + [functools.partial(_sleep_pid, k) for k in range(1, 6)]
    with _fork.started(tasks) as work:
        _begun(work)  # the child waits in task 0 until told: tasks 1-5 are not begun
        assert work.result(5) == (5, os.getpid()) and work.result(-2) == (4, os.getpid())  # run here, from the back
        go.touch()
        assert [k if isinstance(k, int) else k[0] for k in work.results()] == list(range(6))
        with pytest.raises(IndexError):
            work.result(6)


def _fails_first(k: int):
    if k == 0:
        raise InputError("bad cell 0", row=0)
    return k


def test_one_result_raises_its_own_error_and_the_rest_the_first(forking, monkeypatch, tmp_path):
    """``result(i)`` is what task ``i`` gives run alone, whichever process runs it and whenever it is asked (review of
    session 23: after the child had failed an earlier task and stopped, asking for a later one waited for the child
    to send it and reported the child's end instead of an answer)."""
    import time

    for cores in (2, 1):
        monkeypatch.setattr(_fork, "cores", lambda: cores)
        for pause in (0.0, 0.3):  # the caller asks at once, or after the child has failed task 0 and stopped
            tasks = [functools.partial(_fails_first, k) for k in range(4)]
            with _fork.started(tasks) as work:
                time.sleep(pause)
                assert work.result(2) == 2 and work.result(3) == 3
                with pytest.raises(InputError) as err:
                    work.result(0)
                assert err.value.row == 0
                with pytest.raises(InputError) as err:
                    work.results()
                assert err.value.row == 0  # the first in task order, as [t() for t in tasks] raises
                assert work.result(3) == 3  # a result there before the failure is still given


def test_one_result_of_no_task_is_an_index_error():
    with _fork.started([]) as work:
        with pytest.raises(IndexError):
            work.result(0)
        assert work.results() == []
