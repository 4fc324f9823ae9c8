"""Compile the kernels once per machine, spread over the workers, before a run's first phase.

numba compiles a kernel the first time a process calls it and keeps the result in its on-disk cache
(``cache=True``) for every later process. Left alone, each worker of a machine with a cold cache
compiles the same kernels at the same moment: about 45 CPU-seconds each, paid again on every fresh
container or cluster node. Here the driver, when this machine has not yet compiled the kernels of a
run's steps, first runs one wave of tasks that compile the kernels the steps share (the text kernels:
splicing, decoding, folding, segmenting, tokenising, shingling), then one task per step: a run of that
step alone, with the run's options for it, over a small built-in sample in a temporary folder. Each
kernel is compiled by one process, the tasks spread over the workers, and the run's workers then load
the kernels from the cache.

A step's warm-up is marked done in the numba cache folder under a key of everything that decides
whether numba's cache is still valid: numba's and Python's versions, the CPU, the stamps (size,
modification time) of the step's and the text kernels' source files. Not the step's options: the
first run's options decide which of a step's kernels are compiled, and a later run whose options
reach other kernels compiles those where it first needs them, as numba would anyway. So does a run
after a warm-up task that failed, which leaves no mark.

No library does this: numba compiles per process and has no notion of a pool of processes that
could share the work.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from .._numba_cache import cache_folder
from ..config import ReportConfig, RunConfig
from ..registry import step_class
from .executor import Executor

_PACKAGE = Path(__file__).resolve().parent.parent
#: Words of the sample documents: enough for shingles, n-grams and the quality rules to see prose.
_WORDS = ("the river carried silt from the hills to the plain where farmers grew wheat and barley "
          "every spring while traders crossed the old bridge with salt wine and cloth for the "
          "markets of the coast and the town council met each month to settle disputes over water").split()


def sample_documents() -> list[dict[str, str]]:
    """A small corpus that reaches every kernel of the built-in steps: prose, an exact and a near
    duplicate, a repeated paragraph and a long repeated passage, lines of debris, PII-shaped strings,
    accented and CJK text."""
    def prose(seed: int, n: int) -> str:
        return " ".join(_WORDS[(seed * 7 + i * 3) % len(_WORDS)] for i in range(n)) + "."

    body = "\n".join(prose(k, 40) for k in range(6))
    docs = [
        body,
        body,                                                     # exact duplicate
        body.replace("wheat", "rye", 1),                          # near duplicate
        prose(9, 30) + "\n" + body.split("\n")[2] + "\nShare Print Comment\nLog in to reply",
        "Écrivez à marie.dupont@example.org ou appelez le +33 1 42 68 53 00. L'été à Montréal "
        "était très chaud, près de la rivière. " + prose(3, 60) + "\nServer 203.0.113.7 answered.",
        "東京の天気は晴れです。明日は雨が降るでしょう。" * 8 + "\n" + prose(5, 50),
        "Привет, как дела? Сегодня хорошая погода, и мы пошли гулять в парк.\n" + prose(11, 45),
    ]
    return [{"id": f"warm{i}", "text": t} for i, t in enumerate(docs)]


def _stamp(paths: Iterable[Path]) -> list[tuple[str, int, int]]:
    out = []
    for p in sorted(paths):
        st = p.stat()
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return out


def _machine() -> list[str]:
    import llvmlite.binding as ll
    import numba

    return [numba.__version__, sys.version, platform.machine(), ll.get_host_cpu_name()]


def _text_sources() -> list[Path]:
    return sorted((_PACKAGE / "text").glob("*.py"))


def _step_sources(name: str) -> list[Path]:
    module = sys.modules[step_class(name).__module__]
    path = Path(module.__file__).resolve()
    # a step that is a package owns its folder (its kernels live beside its __init__)
    return sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]


def _key(parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:20]


def _marks() -> Path:
    return Path(cache_folder()) / "thresher-warm"


def _pending(cfg: RunConfig, steps: list[str]) -> list[tuple[str, str]]:
    """(what, key) of the warm-up tasks this machine has not done: "text.<part>" and steps by name."""
    machine = _machine()
    text = _stamp(_text_sources())
    want = [(f"text.{part}", _key([machine, text, part])) for part in TEXT_PARTS]
    for name in steps:
        want.append((name, _key([machine, text, _stamp(_step_sources(name)), name])))
    marks = _marks()
    return [(what, key) for what, key in want if not (marks / f"{what}-{key}").exists()]


TEXT_PARTS = ("scan", "edit")


def warm_text(part: str) -> None:
    """Compile the text kernels that steps and the engine share, through their public functions, in
    two parts of similar cost: "scan" (segmenting, tokenising, shingling) and "edit" (decoding,
    folding, fingerprints, applying edits)."""
    import numpy as np
    import pyarrow as pa

    from ..text import normalize, segment, shingles, splice, tokens

    texts = pa.array([d["text"] for d in sample_documents()], pa.large_string())
    data, offsets = normalize.utf8_buffer(texts)
    if part == "edit":
        cp = np.empty(len(data) + 1, np.uint32)
        char_offsets = np.empty(len(offsets), np.int64)
        normalize.decode_utf8(data, offsets, cp, char_offsets)
        normalize.fingerprints(texts)
        rows = np.arange(len(texts), dtype=np.int64)
        for replacements in (None, ["[X]"] * len(texts)):
            splice.splice(texts, rows, rows, rows + 1, np.zeros(len(texts), np.int64),
                          np.ones(len(texts), np.int64), replacements)
        return
    segment.paragraphs(data, offsets, mode="blank_lines")
    segment.paragraphs(data, offsets, mode="lines")
    segment.keyed_lines(data, offsets)
    tokens.tokenize(data, offsets, unit="words")
    for unit in ("words", "chars", "auto"):
        shingles.shingles(texts, unit=unit)


def warm_step(name: str, cfg: RunConfig, run: Callable[..., Any]) -> None:
    """Run step ``name`` alone with ``run`` (:func:`thresher.run`), with ``cfg``'s options for it, over
    :func:`sample_documents`."""
    from ..engine.executor import InlineExecutor

    with tempfile.TemporaryDirectory(prefix="thresher-warm-") as tmp:
        src = Path(tmp, "sample.jsonl")
        src.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in sample_documents()))
        opts = cfg.step_options.get(name)
        config = replace(RunConfig(), steps=(name,), report=ReportConfig(enabled=False),
                         step_options={name: opts} if opts is not None else {})
        config = replace(config, engine=replace(config.engine, check_free_space=False))
        run([str(src)], str(Path(tmp, "out")), config=config, executor=InlineExecutor())


_in_task = False      # a warm-up task's own run of a step does not warm up again


def _task(arg: tuple[str, str, RunConfig, Callable[..., Any]]) -> str | None:
    """One warm-up task in a worker; returns an error message, or None once it is marked done."""
    global _in_task
    what, key, cfg, run = arg
    _in_task = True
    try:
        if what.startswith("text."):
            warm_text(what[5:])
        else:
            warm_step(what, cfg, run)
    except Exception as exc:            # the run compiles these kernels where it first needs them
        return f"{what}: {type(exc).__name__}: {exc}"
    finally:
        _in_task = False
    try:
        marks = _marks()
        marks.mkdir(parents=True, exist_ok=True)
        (marks / f"{what}-{key}").touch()
    except OSError as exc:              # unmarked: the next run warms these kernels up again
        return f"{what}: cannot mark as compiled: {exc}"
    return None


def warm_up(executor: Executor, cfg: RunConfig, steps: list[str], progress: Any, *,
            run: Callable[..., Any]) -> list[str]:
    """Compile what this machine lacks of the kernels of ``steps``, a step's by a call of ``run``
    (:func:`thresher.run`, handed in: the engine does not import the API); returns the failed tasks'
    errors.

    The text parts go first, each to its own worker, then the steps, longest first, each to the next
    free worker: with two or more workers a step's task starts after the text part it needs has been
    compiled (the text parts cost more than the steps that start beside them), so each kernel is
    compiled by one process. The tasks are independent, so no order is needed for correctness."""
    if _in_task:
        return []
    pending = _pending(cfg, steps)
    if not pending:
        return []
    progress.start_phase("compile kernels", total_tasks=len(pending), total_bytes=None)
    text = [p for p in pending if p[0].startswith("text.")]
    order = text + sorted((p for p in pending if p not in text),
                          key=lambda p: -step_class(p[0]).compile_seconds)
    errors: list[str] = []
    for _, err in executor.map(_task, [(what, key, cfg, run) for what, key in order]):
        progress.advance(tasks=1)
        if err:
            errors.append(err)
    progress.end_phase()
    return errors
