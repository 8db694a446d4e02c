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
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

__all__ = ["cores", "fork_map", "in_background"]

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
    with _forking(tasks) as thaw, ProcessPoolExecutor(n - 1, mp_context=multiprocessing.get_context("fork")) as pool:
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


class _Later:
    """``result()`` runs the task in this process (no second core, or forking unsafe)."""

    def __init__(self, task: Callable[[], Any]):
        self._task = task

    def result(self) -> Any:
        return self._task()


@contextmanager
def in_background(task: Callable[[], Any]) -> Iterator[Any]:
    """Start ``task`` in a forked child now, to run beside the caller's next steps; ``.result()`` waits for it.

    Where no second core may be used, ``.result()`` runs it in this process instead.  Leaving the
    block waits for the child (and cancels nothing it wrote: the caller's output folder decides).
    """
    if cores() < 2:
        yield _Later(task)
        return
    with _forking([task]) as thaw, ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        fut = pool.submit(_run, 0)  # the child is forked here
        thaw()
        yield fut
