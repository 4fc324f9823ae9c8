"""The Ray executor: the same tasks as the local engine, run as Ray tasks on a cluster.

Only :meth:`Executor.map` differs from the local engine: the runner, its phases, manifests and resume
rules are shared, so the output is byte-identical to ``--engine local`` by construction (tested).

- Each task is one Ray task (one CPU). At most ``ahead`` tasks per worker slot are in flight, so the
  lazily produced ingest chunks keep the driver's memory bounded, as with the local pool.
- A worker process that dies mid-task is retried by Ray (``max_retries``); tasks are idempotent and
  write their files under temporary names before renaming them, so a retry leaves no partial file.
- A driver killed and restarted resumes from the completion markers, exactly as the local engine.
- The output folder (``OUT/_work`` holds the intermediate shards) must be a place every node can read
  and write: a local path on one machine; on a cluster an object-store URL (``s3://bucket/out``,
  :mod:`thresher.io.storage`) or a shared filesystem (NFS, Lustre...).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ..errors import ConfigError
from .executor import Executor, _init_worker, bounded_map

_READY = False


def _call(fn: Callable[[Any], Any], task: Any, retain_memory: bool) -> Any:
    """Run one task in a Ray worker (set the worker up once per process)."""
    global _READY
    if not _READY:
        _init_worker(retain_memory)
        _READY = True
    return fn(task)


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray, which is an optional extra: "
                          "pip install 'thresher[ray]'") from exc
    return ray


class RayExecutor(Executor):
    """Runs tasks on a Ray cluster (``address="local"``: start a Ray runtime on this machine)."""

    def __init__(self, workers: int | None = None, *, address: str = "local", ahead: int = 2,
                 max_retries: int = 3, retain_memory: bool = True):
        ray = _import_ray()
        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
            if address == "local":
                kw["num_cpus"] = workers or os.cpu_count() or 1
            else:
                kw["address"] = address
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(**kw)
            self._owns = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        self._ahead = ahead
        self._retain_memory = retain_memory
        self._remote = ray.remote(num_cpus=1, max_retries=max_retries)(_call)

    def map(self, fn, tasks):
        ray = self._ray
        return bounded_map(tasks, lambda task: self._remote.remote(fn, task, self._retain_memory),
                           lambda pending: ray.wait(list(pending), num_returns=1)[0], ray.get,
                           lambda ref: ray.cancel(ref, force=True), limit=self.workers * self._ahead)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
