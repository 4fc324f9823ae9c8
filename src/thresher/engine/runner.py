"""The driver: checks the output folder, runs the phases of the plan on an executor, writes stats.

Resume: every task writes a completion marker last; a rerun with the same command skips tasks whose
marker exists and phases whose manifest says complete. Manifests carry the config hash, the inputs and
the shard count; a phase refuses to start on a previous phase's output made with anything different.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Iterable, Iterator, Protocol

import pyarrow as pa

from .._version import __version__
from ..config import RunConfig
from ..errors import ConfigError, InputError, OutputError, PhaseError
from ..io.base import InputFile
from ..io.readers import iter_chunks, read_ahead, reader_of
from .. import registry
from .executor import Executor
from . import ids
from .layout import Layout, file_digest, read_json, write_json
from ..io.storage import Location, location
from .plan import Plan, schema_from_b64
from .stats import merge_stats
from .context import StepContext
from .tasks import ids_task, ingest_task, pass_task, reduce_phase_task

#: Input bytes per hash partition when ``[engine] partitions = 0``.
BYTES_PER_PARTITION = 4 << 30


class Progress(Protocol):
    """What the driver reports while it works (the CLI draws it with rich; the library ignores it)."""

    def start_phase(self, name: str, *, total_tasks: int | None, total_bytes: int | None) -> None: ...
    def advance(self, *, tasks: int = 1, docs: int = 0, nbytes: int = 0) -> None: ...
    def end_phase(self) -> None: ...


class _Silent:
    def start_phase(self, name, *, total_tasks, total_bytes): pass
    def advance(self, *, tasks=1, docs=0, nbytes=0): pass
    def end_phase(self): pass


def _run_identity(config: RunConfig, steps: list[str], files: list[InputFile]) -> dict[str, Any]:
    identity = {
        "config_hash": config.hash(),
        "config": config.output_affecting(),
        "steps": [{"name": n, "version": registry.step_class(n).version} for n in steps],
        "inputs": [f.describe() for f in files],
    }
    outside = {n: v for n in steps
               if (v := registry.step_class(n).identity(config.step_options.get(n))) is not None}
    if outside:         # absent when no step reads anything beyond its options
        identity["step_inputs"] = outside
    return identity


#: What must equal in a run's manifest for OUT to be resumed or found complete, and what a
#: difference is called in the error.
_SAME_RUN = (("config_hash", "another config"), ("steps", "other steps or step versions"),
             ("inputs", "other inputs (or inputs changed since)"),
             ("step_inputs", "other files read by a step (benchmark items changed since)"))


def _did_work(layout: Layout, old: dict[str, Any], identity: dict[str, Any]) -> bool:
    """Whether OUT's run is one to keep: the same run (to resume), a finished one, or one that
    finished at least one task."""
    same = all(old.get(k) == identity.get(k) for k, _ in _SAME_RUN)
    if same or old.get("status") == "complete":
        return True
    done = layout.work / "done"
    return done.exists() and bool(done.rglob("*.json"))


def prepare_output(layout: Layout, identity: dict[str, Any], *, overwrite: bool) -> str:
    """Make OUT ready; returns "new", "resume" or "complete". Refuses to mix runs."""
    out = layout.out
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(f"output {out} exists and is not a folder")
        manifest = layout.run_manifest
        occupied = any(True for _ in out.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot reach the output folder {out}: {exc}") from exc
    holds = occupied and _holds_a_run(layout)
    if occupied and not holds and manifest.exists():
        try:
            read_json(manifest)
        except (OSError, ValueError) as exc:
            raise OutputError(f"output folder {out} holds no thresher run it can read: its manifest.json "
                              f"cannot be read ({exc}), so thresher neither resumes nor replaces it; if "
                              f"it is a thresher run, delete the folder yourself, else choose another "
                              f"--output") from None
    if occupied and not holds:
        raise OutputError(f"output folder {out} is not empty and holds no thresher run (no manifest.json "
                          f"that thresher wrote); choose an empty or new folder")
    if overwrite and occupied:
        out.clear()         # the folder itself stays: it is the one the run holds locked
        occupied = False
    if occupied and not _did_work(layout, read_json(manifest), identity):
        out.clear()         # a run that failed before finishing any task (a wrong field, a bad file)
        occupied = False    # holds nothing worth keeping: a run of another config takes its place
    if occupied:
        old = read_json(manifest)
        for key, what in _SAME_RUN:
            if old.get(key) != identity.get(key):
                raise OutputError(f"output folder {out} holds a run with {what}; use --overwrite to "
                                  f"replace it, or choose another --output")
        if old.get("status") == "complete":
            if not old.get("work_kept") and layout.work.exists():
                layout.remove_work()       # a run killed while it removed _work: finish that
            return "complete"
        layout.clean_temporaries()
        return "resume"
    try:
        out.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot reach the output folder {out}: {exc}") from exc
    write_json(manifest, {**identity, "thresher": __version__, "status": "running"})
    return "new"


def _holds_a_run(layout: Layout) -> bool:
    """Whether OUT's manifest.json is one thresher wrote: only such a folder is ever resumed or, with
    ``--overwrite``, deleted. A user's folder that happens to hold a manifest.json is neither."""
    try:
        read_run(layout)
        return True
    except OutputError:
        return False


def read_run(layout: Layout) -> dict[str, Any]:
    """OUT's run manifest, or an OutputError saying why OUT holds no thresher run."""
    what = f"{layout.out} holds no thresher run"
    try:
        if not layout.run_manifest.exists():
            raise OutputError(f"{what} (no manifest.json); give the OUT folder of a `thresher run`")
        m = read_json(layout.run_manifest)
    except OSError as exc:
        raise OutputError(f"{what}: cannot read its manifest.json ({exc})") from None
    except ValueError as exc:
        raise OutputError(f"{what}: its manifest.json is not valid JSON ({exc}); rerun the same "
                          f"`thresher run` command to finish or redo it") from None
    if not _is_run_manifest(m):
        raise OutputError(f"{what}: its manifest.json was not written by thresher")
    return m


def _is_run_manifest(m: Any) -> bool:
    return (isinstance(m, dict) and isinstance(m.get("thresher"), str) and isinstance(m.get("config_hash"), str)
            and m.get("status") in ("running", "complete") and isinstance(m.get("inputs"), list)
            and isinstance(m.get("steps"), list))


class Runner:
    def __init__(self, plan: Plan, files: list[InputFile], executor: Executor,
                 progress: Progress | None = None):
        self.plan = plan
        self.files = files
        self.executor = executor
        self.progress = progress or _Silent()
        self.layout = plan.layout
        self.config_hash = plan.config.hash()
        self.phase_walls: dict[str, float] = {}
        #: Files of finished tasks found missing or changed on resume (their tasks were run again).
        self.repaired: list[str] = []
        #: Wall seconds of the phases an earlier process of this run finished.
        self.earlier_walls: dict[str, float] = {}
        #: ``[input] limit``: records each ingested chunk read (``{"cap", "records", "stopped"}``),
        #: and the cap of each chunk once the limit is placed (:meth:`_cut_at_limit`).
        self.limits: dict[int, dict[str, Any]] = {}
        self.caps: dict[int, int] = {}

    # -- manifests ---------------------------------------------------------------------------------
    def _manifest(self, phase: str) -> dict[str, Any] | None:
        path = self.layout.phase_manifest(phase)
        return read_json(path) if path.exists() else None

    def _check_previous(self, previous: str, shards: int | None) -> dict[str, Any]:
        m = self._manifest(previous)
        if m is None or not m.get("complete"):
            raise PhaseError(f"phase '{previous}' has no complete manifest in {self.layout.out}; "
                             f"rerun the same command to finish it")
        if m["config_hash"] != self.config_hash:
            raise PhaseError(f"phase '{previous}' was made with config {m['config_hash']}, this run has "
                             f"{self.config_hash}; use --overwrite")
        if shards is not None and m["shards"] != shards:
            raise PhaseError(f"phase '{previous}' has {m['shards']} shards, expected {shards}")
        return m

    def _write_manifest(self, phase: str, *, shards: int, previous: str | None, step: str | None,
                        wall: float, tasks: int, caps: list[int] | None = None) -> None:
        write_json(self.layout.phase_manifest(phase), {
            "phase": phase, "complete": True, "config_hash": self.config_hash,
            "thresher": __version__, "inputs": [f.describe() for f in self.files]
            if previous is None else None, "after": previous, "shards": shards,
            "partitions": self.plan.partitions, "step": step,
            "step_version": registry.step_class(step).version if step else None, "wall_seconds": round(wall, 3),
            "tasks": tasks, **({"caps": caps} if caps is not None else {}),
        })

    # -- phases ------------------------------------------------------------------------------------
    def _run_tasks(self, phase: str, fn, tasks: Iterator[Any], *, total: int | None,
                   total_bytes: int | None, on_result=None) -> int:
        self.progress.start_phase(phase, total_tasks=total, total_bytes=total_bytes)
        t0, count = time.perf_counter(), 0
        for _task, result in self.executor.map(fn, tasks):
            count += 1
            if on_result is not None:
                on_result(result)
            inp = result.get("input", {})
            self.progress.advance(docs=inp.get("docs", result.get("output", {}).get("docs", 0)),
                                  nbytes=inp.get("bytes", 0))
        self.progress.end_phase()
        self.phase_walls[phase] = time.perf_counter() - t0
        return count

    def _damaged(self, phase: str, tasks: Iterable[str]) -> bool:
        """Whether a file that a finished task of ``phase`` wrote is missing or changed (size or
        XXH3-64 differ from its marker); each such task's marker is removed, so the task runs again.
        Tasks are deterministic: a task run again writes the same bytes for the phases after it."""
        lay, damaged = self.layout, False
        for task in tasks:
            marker = lay.marker(phase, task)
            if not marker.exists():
                continue
            files = read_json(marker).get("files", [])
            for rel, size, digest in files:
                path = lay.out / rel
                try:       # a missing file has no size; the digest is read only when the size agrees
                    ok = path.info().size == size and file_digest(path) == (size, digest)
                except OSError:
                    ok = False
                if not ok:
                    self.repaired.append(rel)
                    self._undo(marker, files)
                    damaged = True
                    break
        return damaged

    def _undo(self, marker: Location, files: list[list[Any]]) -> None:
        """Remove what a finished task wrote, then its marker, so that the task runs again from
        nothing: a file it would no longer write (e.g. a partition it has no rows for) must not stay."""
        for rel, _size, _digest in files:
            (self.layout.out / rel).unlink(missing_ok=True)
        marker.unlink(missing_ok=True)

    def _phase_done(self, phase: str, tasks: Iterable[str]) -> bool:
        """Whether ``phase`` is complete with every file intact; the markers of its damaged tasks,
        finished or not, are removed either way (:meth:`_damaged`)."""
        m = self._manifest(phase)
        damaged = self._damaged(phase, tasks)
        done = bool(m and m.get("complete")) and not damaged
        if done:
            self.earlier_walls[phase] = m.get("wall_seconds", 0.0)
        return done

    def ingest(self) -> int:
        m = self._manifest("ingest")
        if m and self._phase_done("ingest", map(self.layout.part, range(m.get("shards", 0)))):
            self._check_previous("ingest", None)
            self.caps = dict(enumerate(m.get("caps") or ()))
            return m["shards"]
        limit = self.plan.config.input.limit
        shards = self._ingest_chunks("ingest")
        if limit:
            shards = self._cut_at_limit(limit, shards)
        self._write_manifest("ingest", shards=shards, previous=None, step=None,
                             wall=self.phase_walls["ingest"], tasks=shards,
                             caps=[self.caps[n] for n in range(shards)] if limit else None)
        return shards

    def _ingest_chunks(self, phase: str, only: set[int] | None = None) -> int:
        """Run ingest on every chunk without an intact marker (of ``only``, when given); returns the
        number of chunks. Once the phase ``ids`` is complete, ingest quarantines its rejects. With
        ``[input] limit``, chunk ``n`` reads at most ``caps[n]`` records (the limit until cut), and no
        chunk is started once the chunks before it hold the limit."""
        lay, limit = self.layout, self.plan.config.input.limit
        shard_bytes = max(1, int(self.plan.config.engine.shard_mb * 1_000_000))
        ids_checked = bool((m := self._manifest(ids.PHASE)) and m.get("complete"))
        seen = {"n": 0}

        def todo() -> Iterator[Any]:
            for chunk in read_ahead(iter_chunks(self.files, shard_bytes=shard_bytes, cfg=self.plan.config.input)):
                if (limit and only is None and self._records_before(chunk.index) >= limit) or (
                        only is not None and chunk.index > max(only, default=-1)):
                    return
                seen["n"] = chunk.index + 1
                part = lay.part(chunk.index)
                if (only is not None and chunk.index not in only) or (
                        lay.marker("ingest", part).exists() and not self._damaged("ingest", [part])):
                    if limit and only is None:
                        self.limits[chunk.index] = read_json(lay.marker("ingest", part))["limit"]
                    self.progress.advance(nbytes=chunk.nbytes)
                    continue
                yield (self.plan, chunk, ids_checked, self.caps.get(chunk.index, limit) if limit else None)

        def done(result: dict[str, Any]) -> None:
            if "limit" in result:
                self.limits[result["shard"]] = result["limit"]

        # an ETA needs the bytes to come: known for plain text and JSONL, not for compressed or Parquet
        plain = not limit and all(reader_of(f.kind).sized(f) for f in self.files)
        total_bytes = sum(f.size for f in self.files) if plain else None
        self._run_tasks(phase, ingest_task, todo(), total=None, total_bytes=total_bytes, on_result=done)
        return seen["n"]

    def _records_before(self, n: int) -> int:
        """Records the chunks before chunk ``n`` read, counting only while all of them are known."""
        total = 0
        for k in range(n):
            if k not in self.limits or "error" in self.limits[k]:
                return 0
            total += self.limits[k]["records"]
        return total

    def _cut_at_limit(self, limit: int, chunks: int) -> int:
        """Keep the chunks that the first ``limit`` records fall in; returns their number. Each kept
        chunk's cap is what the chunks before it left of the limit, and a chunk read with another cap
        is read again unless that gives the same records; chunks started past the limit are undone.
        So the shards are those of reading the records one by one in input order."""
        lay, left, shards, redo = self.layout, limit, chunks, set()
        for n in range(chunks):
            got = self.limits[n]
            if n < shards:
                if "error" in got:        # a chunk the limit reaches: its error is the run's
                    raise InputError(got["error"])
                self.caps[n] = left
                # a chunk that read all its records reads the same under any cap at least as large
                same = got["records"] == left if got["stopped"] else got["records"] <= left
                if not same:
                    redo.add(n)
                left -= min(got["records"], left)
                if left == 0:
                    shards = n + 1
            elif (marker := lay.marker("ingest", lay.part(n))).exists():
                self._undo(marker, read_json(marker).get("files", []))
        for n in sorted(redo):
            marker = lay.marker("ingest", lay.part(n))
            self._undo(marker, read_json(marker).get("files", []))
        if redo:
            self._ingest_chunks("ingest.limit", redo)
        return shards

    def unique_ids(self, shards: int) -> None:
        """The phase ``ids`` (:mod:`.ids`), then ingest again of every shard whose marker does not
        show its rejects quarantined."""
        lay, parts = self.layout, range(self.plan.partitions)
        names = [ids.task_name(p) for p in parts]
        if not self._phase_done(ids.PHASE, names):
            self._check_previous("ingest", shards)
            todo = [(self.plan, p) for p, t in zip(parts, names) if not lay.marker(ids.PHASE, t).exists()]
            self._run_tasks(ids.PHASE, ids_task, iter(todo), total=len(todo), total_bytes=None)
            self._write_manifest(ids.PHASE, shards=shards, previous="ingest", step=None,
                                 wall=self.phase_walls[ids.PHASE], tasks=len(names))
        rejects: dict[int, int] = {}
        for t in names:
            for n, c in read_json(lay.marker(ids.PHASE, t)).get("rejects", {}).items():
                rejects[int(n)] = rejects.get(int(n), 0) + c
        redo = set()
        for n, count in sorted(rejects.items()):
            marker = lay.marker("ingest", lay.part(n))
            done = read_json(marker) if marker.exists() else {}
            if done.get("id_rejects", 0) != count:
                self._undo(marker, done.get("files", []))
                redo.add(n)
        if redo:
            self._ingest_chunks("ids.reingest", redo)

    def unify_fields(self, shards: int) -> Plan:
        """Every shard's carried-field schema, unified (types promoted; unmergeable → JSON text)."""
        schemas, json_fields, chars = [], set(), 0
        for n in range(shards):
            marker = read_json(self.layout.marker("ingest", self.layout.part(n)))
            schemas.append(schema_from_b64(marker["schema"]))
            chars += marker["input"]["chars"]
            json_fields.update(marker["json_fields"])
        try:
            unified = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            unified = _unify_by_field(schemas, json_fields)
        fields = [pa.field(f.name, pa.string()) if f.name in json_fields else f for f in unified]
        taken = {f.name for f in fields} | {"id", "text", self.plan.config.output.source_column}
        for name in self.plan.label_columns:
            if name in taken:
                raise ConfigError(f"a step adds the output column {name!r}, but the input already has a "
                                  f"field of that name; rename the field or drop the step")
        return Plan(out=self.plan.out, config=self.plan.config, steps=self.plan.steps,
                    partitions=step_partitions(self.plan.config, chars), schema_ipc=pa.schema(fields).serialize().to_pybytes(),
                    json_fields=tuple(sorted(json_fields)))

    def reduce(self, step: str, previous: str, shards: int) -> str:
        """Run the reduce phases of global step ``step``; returns the name of the last one."""
        lay = self.layout
        self._check_previous(previous, shards)
        map_results = [read_json(lay.marker(previous, lay.part(n))).get("map", {}).get(step, {})
                       for n in range(shards)]
        ctx = StepContext(self.plan, step, shards)
        for p in ctx.step.phases(ctx, map_results):
            phase = f"{step}.{p.name}"
            if not self._phase_done(phase, [t.name for t in p.tasks]):
                self._check_previous(previous, shards)
                todo = [(phase, ctx, t) for t in p.tasks if not lay.marker(phase, t.name).exists()]
                self._run_tasks(phase, reduce_phase_task, iter(todo), total=len(todo), total_bytes=None)
                self._write_manifest(phase, shards=shards, previous=previous, step=step,
                                     wall=self.phase_walls[phase], tasks=len(p.tasks))
            previous = phase
        return previous

    def run_pass(self, k: int, previous: str, shards: int) -> None:
        phase = self.plan.phase_of_pass(k)
        if self._phase_done(phase, map(self.layout.part, range(shards))):
            return
        self._check_previous(previous, shards)
        lay = self.layout
        todo = [(self.plan, k, n) for n in range(shards) if not lay.marker(phase, lay.part(n)).exists()]
        self._run_tasks(phase, pass_task, iter(todo), total=len(todo), total_bytes=None)
        g = self.plan.segments[k - 1].global_ if k - 1 < len(self.plan.segments) else None
        self._write_manifest(phase, shards=shards, previous=previous, step=g,
                             wall=self.phase_walls[phase], tasks=shards)

    def run(self) -> int:
        shards = self.ingest()
        self.unique_ids(shards)
        self.plan = self.unify_fields(shards)
        previous = "ingest"
        for k in range(1, self.plan.last_pass + 1):
            g = self.plan.segments[k - 1].global_
            if g is not None:
                previous = self.reduce(g, previous, shards)
            self.run_pass(k, previous, shards)
            previous = self.plan.phase_of_pass(k)
        return shards

    # -- stats -------------------------------------------------------------------------------------
    def collect_stats(self, shards: int, wall: float) -> dict[str, Any]:
        lay, plan = self.layout, self.plan
        steps: dict[str, Any] = {}
        inp: dict[str, Any] = {}
        output: dict[str, Any] = {}
        done = lay.work / "done"
        for folder in done.iterdir():
            phase = folder.name
            for marker in sorted(folder.glob("*.json")):
                r = read_json(marker)
                steps = merge_stats(steps, r.get("steps", {}))
                if phase == "ingest":
                    inp = merge_stats(inp, r["input"])
                if phase == plan.phase_of_pass(plan.last_pass):
                    output = merge_stats(output, r["output"])
        for name in plan.steps:
            s = steps.setdefault(name, {})
            if (g := plan.global_part(name)) is not None:
                s = steps[name] = g.summarize(s)
            elif (local := plan.local_part(name)) is not None:
                s = steps[name] = local.summarize(s)
            secs = s.get("seconds", 0.0)
            s["seconds"] = round(secs, 3)
            s["mb_per_s"] = round(s.get("chars_in", 0) / secs / 1e6, 2) if secs else None
        inp["seconds"] = round(inp.get("seconds", 0.0), 3)
        workers = self.executor.workers
        mb = inp.get("bytes", 0) / 1e6
        wall += sum(self.earlier_walls.values())   # a phase a killed process left half done: its part is not known
        return {
            "thresher": __version__,
            "config_hash": self.config_hash,
            "steps_run": list(plan.steps),
            "input": {"files": len(self.files), "file_bytes": sum(f.size for f in self.files), **inp},
            "steps": {n: steps[n] for n in plan.steps},
            "output": output,
            "phases": {**{p: {"wall_seconds": w, "earlier_process": True} for p, w in self.earlier_walls.items()},
                       **{p: {"wall_seconds": round(w, 3)} for p, w in self.phase_walls.items()}},
            "repaired_files": self.repaired,
            "total": {
                "docs_in": inp.get("docs", 0), "docs_out": output.get("docs", 0),
                "chars_in": inp.get("chars", 0), "chars_out": output.get("chars", 0),
                "quarantined": sum(inp.get("quarantined", {}).values()),
                "shards": shards, "workers": workers,
                "wall_seconds": round(wall, 3),
                "mb_per_s": round(mb / wall, 2) if wall else None,
                "mb_per_s_per_worker": round(mb / wall / workers, 2) if wall else None,
            },
        }


def _unify_by_field(schemas: list[pa.Schema], json_fields: set[str]) -> pa.Schema:
    """Field-wise unification; a field whose types cannot be promoted becomes JSON text."""
    order: dict[str, list[pa.DataType]] = {}
    for s in schemas:
        for f in s:
            order.setdefault(f.name, []).append(f.type)
    fields = []
    for name, types in order.items():
        try:
            fields.append(pa.unify_schemas([pa.schema([(name, t)]) for t in types],
                                           promote_options="permissive").field(name))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            json_fields.add(name)
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


#: At least this many partitions, so reduce phases spread over workers even for small inputs. Never
#: derived from the worker count: a run resumed with another ``--workers`` must find the same layout.
MIN_PARTITIONS = 4


def auto_partitions(config: RunConfig, files: list[InputFile]) -> int:
    if config.engine.partitions:
        return config.engine.partitions
    return max(MIN_PARTITIONS, math.ceil(sum(f.size for f in files) / BYTES_PER_PARTITION))


#: Characters of ingested text per hash partition of the global steps when ``[engine] partitions = 0``:
#: a reduce task holds the keys of about this much text, whatever the corpus size.
CHARS_PER_PARTITION = 48_000_000


def step_partitions(config: RunConfig, chars: int) -> int:
    """Hash partitions of the global steps, from the characters ingest read (so known only after it;
    the phase ``ids`` partitions by :func:`auto_partitions`, from the input's size on disk)."""
    if config.engine.partitions:
        return config.engine.partitions
    return max(MIN_PARTITIONS, math.ceil(chars / CHARS_PER_PARTITION))


def finish(layout: Layout, identity: dict[str, Any], stats: dict[str, Any], *, keep_work: bool) -> None:
    write_json(layout.stats, stats)
    for folder in ("documents", "removals", "quarantine"):
        (layout.out / folder).mkdir()
    write_json(layout.run_manifest, {**identity, "thresher": __version__, "status": "complete",
                                     "shards": stats["total"]["shards"], "work_kept": keep_work})
    if not keep_work:
        layout.remove_work()


def output_files(out: str | os.PathLike[str] | Location) -> list[Location]:
    """The files of OUT that must be byte-identical across runs (documents, removals, quarantine)."""
    out = location(out)
    return [p for d in ("documents", "removals", "quarantine") for p in (out / d).iterdir()]
