"""``thresher.run``: the library entry point the CLI mirrors."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config import RunConfig
from .io.html import check_extractor
from .configure import load_config
from .errors import OutputError
from .engine.executor import Executor, InlineExecutor, LocalExecutor
from .engine.layout import Layout, read_json
from .engine.lock import OutputLock
from .engine.memory import retain_freed_memory
from .engine.plan import Plan
from .engine.ray_executor import RayExecutor
from .engine.runner import Progress, Runner, _Silent, _run_identity, auto_partitions, finish, prepare_output
from .engine.warmup import warm_up
from .io.base import InputFile
from .io.inputs import expand_inputs
from .io.readers import check_inputs
from .registry import resolve_steps


def run(inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str], *,
        config: str | os.PathLike[str] | Mapping[str, Any] | RunConfig | None = None,
        steps: Iterable[str] | None = None, workers: int | None = None, format: str | None = None,
        overwrite: bool = False, progress: Progress | None = None, engine: str | None = None,
        ray_address: str | None = None, executor: Executor | None = None) -> dict[str, Any]:
    """Run the pipeline over ``inputs`` into the folder ``output``; returns the stats (also in
    ``output/stats.json``). Same arguments as ``thresher run``; a finished run is not redone: its
    stats come back with ``already_complete = True`` added (not in stats.json)."""
    overrides: dict[str, Any] = {}
    if steps is not None:
        overrides["steps"] = list(steps)
    engine_opts = {k: v for k, v in (("workers", workers), ("engine", engine), ("ray_address", ray_address))
                   if v is not None}
    if engine_opts:
        overrides["engine"] = engine_opts
    if format is not None:
        overrides["output"] = {"format": format}
    cfg = load_config(config, **overrides)
    step_names = list(cfg.steps or resolve_steps(None))
    unread: list[str] = []
    files = expand_inputs(inputs, unread=unread, exclude=[output])
    check_inputs(files, cfg.input)
    if any(f.kind in ("html", "warc") for f in files):
        check_extractor(cfg.extract)

    layout = Layout(output)
    identity = _run_identity(cfg, step_names, files)
    lock = OutputLock(layout.out)       # held until the run ends: one run at a time on OUT
    try:
        return _run_locked(layout, identity, cfg, step_names, files, unread, overwrite=overwrite,
                           progress=progress, executor=executor)
    finally:
        lock.release()


def _run_locked(layout: Layout, identity: dict[str, Any], cfg: RunConfig, step_names: list[str],
                files: list[InputFile], unread: list[str], *, overwrite: bool, progress: Progress | None,
                executor: Executor | None) -> dict[str, Any]:
    if cfg.engine.check_free_space and not layout.run_manifest.exists():    # a new run
        check_free_space(layout, files)
    state = prepare_output(layout, identity, overwrite=overwrite)
    if state == "complete":         # not redone; the flag is in what is returned, not in stats.json
        return {**read_json(layout.stats), "already_complete": True}
    plan = Plan(out=layout.out, config=cfg, steps=tuple(step_names),
                partitions=auto_partitions(cfg, files))
    t0 = time.perf_counter()
    owned = executor is None
    ray = cfg.engine.engine == "ray"     # with Ray, workers = 0 means every CPU of the cluster
    if cfg.engine.retain_memory:      # this process reads the input, and with one worker runs the tasks
        retain_freed_memory()
    executor = executor or make_executor(cfg.engine.workers if ray else cfg.worker_count,
                                         engine=cfg.engine.engine, ray_address=cfg.engine.ray_address,
                                         retain_memory=cfg.engine.retain_memory)
    try:
        if not ray:           # a Ray cluster's nodes compile where they first need a kernel
            warm_up(executor, cfg, step_names, progress or _Silent(), run=run)
        runner = Runner(plan, files, executor, progress)
        shards = runner.run()
        stats = runner.collect_stats(shards, time.perf_counter() - t0)
        stats["resumed"] = state == "resume"
        stats["input"]["not_read"] = not_read(unread)
    finally:
        if owned:
            executor.close()
    if cfg.report.enabled:        # before finish(), which removes OUT/_work with the original texts
        from .report import write_report
        write_report(layout.out, stats, samples=cfg.report.samples, seed=cfg.report.seed,
                     max_chars=cfg.report.max_chars)
    finish(layout, identity, stats, keep_work=cfg.output.keep_work)
    return stats


#: Decompressed bytes per byte of an input file, by compression or format, for the free-space
#: estimate (web text: 4.0x for webdocs' .jsonl.zst); any other file counts its size.
INFLATION = {"gz": 4.0, "zst": 4.0, "bz2": 4.0, "parquet": 3.0}
#: Text bytes per stored byte of web input, whatever its compression: a page's text is a fraction of
#: its HTML (the four sample .warc.gz archives: 264 KB of text from 848 KB).
WEB_INFLATION = {"warc": 1.0, "html": 1.0}
#: Disk a run needs per decompressed input byte: OUT/_work peaks at 3.6x (webdocs, every default
#: step), and the outputs hold at most the input once more.
DISK_PER_BYTE = 4.6
#: Plus what a run writes whatever its size: the report page (up to ~2 MB), manifests, stats.
FIXED_DISK = 4_000_000


def check_free_space(layout: Layout, files: list[InputFile]) -> None:
    """An OutputError before any work if OUT's disk is short of the run's estimated need."""
    if not layout.out.is_local:
        return                       # an object store has no free-space figure
    data = sum(f.size * WEB_INFLATION.get(f.kind, INFLATION.get(f.compression or f.kind, 1.0)) for f in files)
    need = int(DISK_PER_BYTE * data) + FIXED_DISK
    free = shutil.disk_usage(layout.out.path).free
    if free < need:
        raise OutputError(
            f"the disk of {layout.out} has {free / 1e6:,.1f} MB free; this run needs about "
            f"{need / 1e6:,.1f} MB ({DISK_PER_BYTE}x the input's {data / 1e6:,.1f} MB decompressed, "
            f"compressed files counted as {INFLATION['zst']:.0f}x their size, since OUT/_work peaks at "
            f"3.6x; plus {FIXED_DISK / 1e6:.0f} MB for the report and manifests). "
            f"Free space, choose another --output, or set [engine] check_free_space = false")


def not_read(paths: list[str]) -> dict[str, Any]:
    """The files of the input folders that no reader reads: how many, by suffix, the first few."""
    by_suffix: dict[str, int] = {}
    for p in paths:
        name = os.path.basename(p).lower()
        suffix = "".join(Path(name).suffixes[-2:]) or "(none)"
        by_suffix[suffix] = by_suffix.get(suffix, 0) + 1
    return {"files": len(paths), "by_suffix": dict(sorted(by_suffix.items())), "first": paths[:20]}


def make_executor(workers: int, *, engine: str = "local", ray_address: str = "local",
                  retain_memory: bool = True) -> Executor:
    """The executor of ``[engine]``; with ``retain_memory`` its worker processes keep freed memory for
    the next shard (:mod:`thresher.engine.memory`; the inline executor's process is the caller's, which
    the caller decides for)."""
    if engine == "ray":
        return RayExecutor(workers, address=ray_address, retain_memory=retain_memory)
    return InlineExecutor() if workers == 1 else LocalExecutor(workers, retain_memory=retain_memory)
