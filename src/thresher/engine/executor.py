"""Executors run independent tasks; everything else (phases, manifests, resume) is the runner's.

The interface is one method, :meth:`Executor.map`: run ``fn(task)`` for every task and yield each
``(task, result)`` as it completes. Tasks are idempotent and write their own files and completion markers,
so an executor needs no state of its own; a Ray executor implements the same method with Ray tasks.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator


class Executor(ABC):
    """Runs tasks; ``workers`` is how many run at once."""

    workers: int = 1

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(task, fn(task))`` for every task, in completion order.

        ``tasks`` is consumed lazily, at most a few per worker ahead, so a generator that reads input
        (the ingest chunker) keeps memory bounded. An exception in a task is raised here."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op unless the executor holds workers
        """Release workers (no-op by default)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bounded_map(tasks: Iterable[Any], submit: Callable[[Any], Any], wait_some: Callable[[dict], list],
                result: Callable[[Any], Any], cancel: Callable[[Any], Any], *,
                limit: int) -> Iterator[tuple[Any, Any]]:
    """The submission loop of the pool executors: keep at most ``limit`` tasks in flight (pulling
    ``tasks`` lazily), yield ``(task, result)`` as handles finish, cancel what is left on exit.
    ``submit(task)`` returns a handle; ``wait_some(pending)`` blocks until some handles are done and
    returns them."""
    pending: dict[Any, Any] = {}
    it = iter(tasks)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    task = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending[submit(task)] = task
            if not pending:
                return
            for handle in wait_some(pending):
                task = pending.pop(handle)
                yield task, result(handle)
    finally:
        for handle in pending:
            cancel(handle)


class InlineExecutor(Executor):
    """Runs every task in the calling process, one after the other (``--workers 1``, tests)."""

    workers = 1

    def map(self, fn, tasks):
        for task in tasks:
            yield task, fn(task)


def _init_worker(retain_memory: bool = True) -> None:
    if retain_memory:
        from .memory import retain_freed_memory
        retain_freed_memory()
    # one worker = one core: keep Arrow's own thread pools out of each other's way
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


class LocalExecutor(Executor):
    """A pool of worker processes on this machine (``spawn``: no state forked from the driver)."""

    def __init__(self, workers: int | None = None, *, ahead: int = 2, retain_memory: bool = True):
        self.workers = workers or os.cpu_count() or 1
        self._ahead = ahead
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(retain_memory,))

    def map(self, fn, tasks):
        def wait_some(pending):
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            return sorted(done, key=id)

        return bounded_map(tasks, lambda task: self._pool.submit(fn, task), wait_some,
                           lambda fut: fut.result(), lambda fut: fut.cancel(),
                           limit=self.workers * self._ahead)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
