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
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

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


@contextmanager
def _loopback_only(local: bool) -> Iterator[None]:
    """While a local Ray runtime starts: have it serve this machine only.

    Ray binds its services (GCS, raylets, workers) to the node address, which it takes to be the
    machine's outward IP, unless it runs as a single machine without cluster support (its default on
    macOS and Windows, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``): then every service listens on
    127.0.0.1. Ray's token authentication stays as Ray sets it. Nothing changes when joining a
    cluster (``address`` not "local")."""
    if not local:
        yield
        return
    name = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
    old_env = os.environ.get(name)
    os.environ[name] = "0"            # read by Ray at import, and by the processes it starts
    constants = sys.modules.get("ray._private.ray_constants")
    old_flag = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if constants is not None:          # Ray imported before: its flag was read already
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if old_env is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old_env
        constants = sys.modules.get("ray._private.ray_constants")
        if constants is not None and old_flag is not None:
            constants.ENABLE_RAY_CLUSTER = old_flag


class RayExecutor(Executor):
    """Runs tasks on a Ray cluster (``address="local"``: start a Ray runtime on this machine)."""

    def __init__(self, workers: int | None = None, *, address: str = "local", ahead: int = 2,
                 max_retries: int = 3, retain_memory: bool = True):
        local = address == "local"
        with _loopback_only(local):
            ray = _import_ray()
            self._ray = ray
            self._owns = False
            if not ray.is_initialized():
                kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
                if local:
                    kw["num_cpus"] = workers or os.cpu_count() or 1
                else:
                    kw["address"] = address
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
