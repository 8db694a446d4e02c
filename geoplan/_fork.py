"""Work shared out to forked processes, where a fork is safe: Linux, one thread, not a daemonic process.

A fork copies only the calling thread: with other threads running (a Dask worker's pool, a notebook's
kernel threads) a lock one of them holds would stay held in the child.  Daemonic processes
(multiprocessing workers) may not have children.  Elsewhere the work runs in this process, unchanged:
the same function gives the same bytes either way.  Tasks reach the children through inherited memory
(nothing but an index is pickled), results come back pickled.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

__all__ = ["cores", "fork_map", "started"]

_TASKS: list[Callable[[], Any]] = []  # read by the forked children


def cores() -> int:
    """Cores a fork may use now: 1 where forking is unsafe or impossible, else the cores this process may run on."""
    if not sys.platform.startswith("linux") or multiprocessing.current_process().daemon:
        return 1
    # tqdm's monitor thread only sleeps and takes tqdm's own lock, which the children never use
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and t.name != "tqdm_monitor"]
    if others or threading.current_thread() is not threading.main_thread():
        return 1
    return len(os.sched_getaffinity(0))


def _default_signals() -> None:
    """In a forked child: the default signal actions, not the caller's handlers (the CLI's removes the output folder
    and exits; the child holds only copies and should just end)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _run(i: int) -> Any:
    return _TASKS[i]()


@contextmanager
def _forking(tasks: Sequence[Callable[[], Any]]) -> Iterator[Callable[[], None]]:
    """``tasks`` where the children find them, and the collector frozen until the children are forked (the
    yielded ``thaw``): a child's collector then leaves the inherited objects alone, so their pages stay shared.
    What was there before comes back after (a task may itself share out work; a caller may have frozen)."""
    global _TASKS
    before, _TASKS = _TASKS, list(tasks)
    frozen = gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()

    def thaw() -> None:
        nonlocal frozen
        if frozen:
            gc.unfreeze()
            frozen = False

    try:
        yield thaw
    finally:
        thaw()
        _TASKS = before


def fork_map(tasks: Sequence[Callable[[], Any]], *, workers: int | None = None) -> list:
    """``[t() for t in tasks]``, shared out to up to ``workers`` processes (default: :func:`cores`): this one and
    ``workers - 1`` forked children.

    This process takes every ``workers``-th task (it would only wait otherwise, and its results need no
    pickling); the children take the rest from a queue.  Runs all in this process when one worker (or one
    task) is all there is.  An exception in a task is raised here: of several, the first in task order.
    """
    n = min(len(tasks), cores() if workers is None else min(workers, cores()))
    if n <= 1:
        return [t() for t in tasks]
    out, errors = {}, {}
    with _forking(tasks) as thaw, ProcessPoolExecutor(n - 1, mp_context=multiprocessing.get_context("fork"),
                                                      initializer=_default_signals) as pool:
        theirs = {i: pool.submit(_run, i) for i in range(len(tasks)) if i % n}  # the children are forked here
        thaw()
        for i in range(0, len(tasks), n):
            try:
                out[i] = tasks[i]()
            except Exception as exc:  # the children's earlier tasks may have failed too: the first one is raised
                errors[i] = exc
                break
        for i, f in theirs.items():
            if errors and i > min(errors):
                f.cancel()
                continue
            try:
                out[i] = f.result()
            except Exception as exc:
                errors[i] = exc
    if errors:
        raise errors[min(errors)]
    return [out[i] for i in range(len(tasks))]


class _Started:
    """Tasks begun by one forked child, the rest taken by this process when :meth:`results` is asked for."""

    def __init__(self, tasks: Sequence[Callable[[], Any]], fork: bool):
        self._tasks = list(tasks)
        self._out: dict[int, Any] = {}
        self._errors: dict[int, BaseException] = {}
        self._child = None
        self._done: list | None = None
        self._failed: BaseException | None = None
        #: the processes the tasks run in (1: all in this one), for the caller's next shared-out step
        self.workers = 2 if fork else 1
        if not fork or not self._tasks:
            return
        ctx = multiprocessing.get_context("fork")
        self._lock = ctx.Lock()
        # the child takes from the front, this process from the back
        self._ends = ctx.RawArray("q", [0, len(self._tasks)])
        self._reader, writer = ctx.Pipe(duplex=False)
        with _forking(()):
            self._child = ctx.Process(target=self._work, args=(writer,), name="geoplan-started")
            self._child.start()
        writer.close()  # the child's copy only: a child that dies mid-message is then an end of file here, not a wait

    def _claim(self, front: bool) -> int | None:
        # held for a few instructions; a timeout only in case a child was killed holding it (then: no more claims)
        if not self._lock.acquire(timeout=5):
            return None
        try:
            lo, hi = self._ends
            if lo >= hi:
                return None
            if front:
                self._ends[0] = lo + 1
                return lo
            self._ends[1] = hi - 1
            return hi - 1
        finally:
            self._lock.release()

    def _stop(self) -> None:
        """No task is begun after this (one has failed: the ones after it would be thrown away)."""
        if self._lock.acquire(timeout=5):
            self._ends[1] = self._ends[0]
            self._lock.release()

    def _work(self, writer) -> None:  # in the child
        _default_signals()
        # A thread sends the results, so the tasks go on while this process is busy and does not read them yet.
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        sender = threading.Thread(target=_send_all, args=(outbox, writer), daemon=True)
        sender.start()
        while (i := self._claim(front=True)) is not None:
            try:
                item = (i, True, self._tasks[i]())
            except Exception as exc:
                item = (i, False, exc)
                self._stop()
            outbox.put(_packed(item))
        outbox.put(None)
        sender.join()

    def result(self, i: int) -> Any:
        """Task ``i``'s result (its exception raised), as soon as it is there: read from the child when the child
        has begun it, else run here (with the tasks after it that the child has not begun, from the back).

        For a caller that can go on with the first results while the child works on the last tasks.
        """
        i = range(len(self._tasks))[i]  # an IndexError for a task that is not there; -1 is the last
        while i not in self._out and i not in self._errors:
            if self._failed is not None:
                raise self._failed
            if self._child is None:  # no child (none forked, or all its results read)
                self._run(i)
                continue
            j = self._claim_for(i)
            if j is None:
                self._receive()  # the child has begun it
            else:
                self._run(j)
        if i in self._errors:
            raise self._errors[i]
        return self._out[i]

    def _claim_for(self, i: int) -> int | None:
        """What this process runs next on the way to task ``i``: None if the child has begun ``i`` (wait for it),
        else the last task not begun (down to ``i``), or ``i`` itself once the child may begin no more (it failed)."""
        if not self._lock.acquire(timeout=5):  # a child killed holding it: waiting for it finds it gone
            return None
        try:
            lo, hi = self._ends
            if i < lo:
                return None
            if i < hi:
                self._ends[1] = hi - 1
                return hi - 1
            return i  # past the end the child may take: stopped after a failure, nobody else will run it
        finally:
            self._lock.release()

    def results(self) -> list:
        """Every task's result, in task order: those the child has not begun are run here (from the last back).

        Raises the first exception in task order, as ``[t() for t in tasks]`` would.
        """
        if self._failed is not None:
            raise self._failed
        if self._done is not None:
            return self._done
        if self._child is None:  # in order, stopping at the first failure, as the list comprehension would
            for i in range(len(self._tasks)):
                if i not in self._out and i not in self._errors:
                    self._run(i)
                if i in self._errors:
                    break
        else:
            while (i := self._claim(front=False)) is not None:
                self._run(i)  # the tasks left are earlier ones: run on, one of them may fail first
            theirs = self._ends[0]  # the child claimed tasks 0 .. theirs - 1, and no more now
            while any(i not in self._out and i not in self._errors for i in range(theirs)):
                self._receive()
            self.close()
        if self._errors:
            self._failed = self._errors[min(self._errors)]
            self._errors = {}  # kept once, in _failed
            raise self._failed
        self._done = [self._out[i] for i in range(len(self._tasks))]
        return self._done

    def _run(self, i: int) -> None:
        try:
            self._out[i] = self._tasks[i]()
        except Exception as exc:
            self._errors[i] = exc

    def _receive(self) -> None:
        """One result from the child (or its loss raised), waiting for it."""
        while not self._reader.poll(0.5):
            if not self._child.is_alive() and not self._reader.poll(0):
                self._lost()
        try:
            i, ok, value = pickle.loads(self._reader.recv_bytes())
        except (EOFError, OSError):  # the child died mid-message (its end of the pipe closed)
            self._lost()
        (self._out if ok else self._errors)[i] = value

    def _lost(self) -> None:
        self._child.join(timeout=1)
        code = self._child.exitcode
        self.close()
        self._failed = RuntimeError(f"the forked process working on the tasks ended (exit code {code}) before "
                                    "sending every result")
        raise self._failed

    def close(self) -> None:
        """End the child: at once if it still works (the caller has failed and will not ask for the results)."""
        if self._child is None:
            return
        self._stop()
        self._child.join(timeout=0.5)  # with every result read it is ending by itself
        if self._child.is_alive():
            self._child.kill()  # no handler of the caller's runs: it only worked on copies
            self._child.join()
        self._reader.close()
        self._child = None


def _packed(item: tuple) -> bytes:
    """The child's ``(task, ok, value)`` as bytes; a value that would not come back whole is said so instead."""
    try:
        data = pickle.dumps(item)
        if not item[1]:
            pickle.loads(data)  # an exception whose arguments do not rebuild it would fail only in the caller
        return data
    except Exception as exc:
        return pickle.dumps((item[0], False, RuntimeError(f"task {item[0]} gave what cannot be sent back "
                                                          f"({item[2]!r}): {exc!r}")))


def _send_all(outbox: queue.SimpleQueue, writer) -> None:
    while (data := outbox.get()) is not None:
        try:
            writer.send_bytes(data)
        except OSError:  # the caller has stopped reading (it failed): nothing more to send
            return
    writer.close()


@contextmanager
def started(tasks: Sequence[Callable[[], Any]], *, workers: int | None = None) -> Iterator[_Started]:
    """Begin ``tasks`` in a forked child now, beside the caller's next steps; ``.results()`` gives them all,
    ``.result(i)`` one as soon as it is there.

    For work that is ready before the caller's other work is done (the service areas, while the demand is
    snapped and measured): the child takes tasks from the front, and when the caller asks for the results it
    takes the ones not yet begun from the back, so neither waits while tasks remain.  Where no second core may
    be used the tasks run in this process when asked for.  Leaving the block on an exception stops the child
    at once (its results would be thrown away); leaving it without asking for the results does too.
    ``workers=1`` runs them all in this process (too little work for a fork).
    """
    work = _Started(tasks, fork=(cores() if workers is None else min(workers, cores())) >= 2)
    try:
        yield work
    finally:
        work.close()
