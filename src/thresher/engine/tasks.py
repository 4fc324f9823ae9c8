"""The kinds of task: ingest, pass, and a global step's reduce tasks. Each is a top-level function of one picklable argument, idempotent, and
writes its completion marker last, so any executor can run, retry or skip it."""

from __future__ import annotations

import base64
import time
from collections import Counter
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..documents import REMOVAL_SCHEMA, row_of
from ..errors import InputError
from ..io.parse import FIELD_PREFIX, parse_chunk, quarantine_table
from ..io.base import Chunk
from .layout import atomic_write, read_arrow, recording_writes, write_arrow, write_json, write_parquet
from . import ids
from .plan import DUP_COUNT, Plan, schema_to_b64
from ..steps.global_step import Task
from .context import StepContext, read_decisions, read_twins
from .shard import ShardState
from .stats import StepStats, merge_stats
from .view import ShardView


def _step_stats(stats: dict[str, Any], name: str, s: StepStats) -> None:
    stats[name] = merge_stats(stats[name], s.data) if name in stats else s.data


def _run_pass(plan: Plan, k: int, st: ShardState) -> dict[str, Any]:
    """Apply the previous global step's decisions, this segment's local steps, the next map side.

    A step with a local and a global part counts its input where its local part runs and its output
    where its decisions are applied."""
    lay, steps_stats, maps = plan.layout, {}, {}
    if k >= 1 and k - 1 < len(plan.segments) and (name := plan.segments[k - 1].global_):
        _load_twins(plan, st, k - 1)
        s = StepStats()
        t0 = time.perf_counter()
        decisions = read_decisions(plan, name, st.shard)
        s.data["seconds"] += time.perf_counter() - t0
        st.apply_decisions(plan.global_part(name), decisions, s)
        if plan.has_local_part(name):
            s.data["docs_in"] = s.data["chars_in"] = 0
        _step_stats(steps_stats, name, s)
    g = plan.global_map(k)
    for name in plan.local_steps(k):
        s = StepStats()
        st.apply_local(plan.local_part(name), s)
        if name == g:
            s.data["docs_out"] = s.data["chars_out"] = 0
        _step_stats(steps_stats, name, s)
    if g is not None:
        s = StepStats()
        t0 = time.perf_counter()
        _load_twins(plan, st, k)
        view = ShardView(st, url_field=plan.config.input.url_field)
        maps[g] = plan.global_part(g).map(view, StepContext(plan, g))
        s.data["seconds"] += time.perf_counter() - t0
        _step_stats(steps_stats, g, s)
    if k == plan.last_pass:
        if plan.whole_twin_steps:    # removals of whole documents in favour of each row
            _load_twins(plan, st, len(plan.segments))
            st.labels[DUP_COUNT] = st.twins.whole_count.tolist()
        _write_output(plan, st)
    else:
        comp = plan.config.engine.work_compression
        write_arrow(lay.state(k, st.shard), st.removals(), compression=comp)
        if st.labels:
            write_arrow(lay.labels(k, st.shard), st.labels_table(plan.label_columns), compression=comp)
    return {"steps": steps_stats, "map": maps,
            "output": {"docs": int(st.alive.sum()), "chars": int(st.cur_len[st.alive].sum())}}


def _load_twins(plan: Plan, st: ShardState, k: int) -> None:
    """The twins in this shard that steps before global step ``k`` named: inside each document, from
    the rows the shard came with; from other documents, from those steps' twin indexes
    (:mod:`.twins`). A later call in the same pass reads only the indexes not read yet."""
    twins = st.twins
    if twins.upto is None:
        rows = st.rows.table()
        own = rows.filter(pc.fill_null(pc.equal(rows.column("_dup_key"), rows.column("_key")), False))
        if own.num_rows:
            twins.add_spans(row_of(own.column("_key").to_numpy()), own.column("dup_of_start").to_numpy(),
                            own.column("dup_of_end").to_numpy(), np.ones(own.num_rows, bool))
        twins.upto = 0
    segments, twins.upto = plan.segments[twins.upto:k], max(twins.upto, k)
    for seg in segments:
        name = seg.global_
        if name is None or plan.global_part(name).twins != "corpus":
            continue
        t = read_twins(plan, name, st.shard)
        if t is None or t.num_rows == 0:
            continue
        at = row_of(t.column("_key").to_numpy())
        whole = t.column("start").is_null().to_numpy(zero_copy_only=False)
        twins.whole_count += np.bincount(at[whole], minlength=st.n)
        span = ~whole
        twins.add_spans(at[span], t.column("start").to_numpy(zero_copy_only=False)[span].astype(np.int64),
                        t.column("end").to_numpy(zero_copy_only=False)[span].astype(np.int64),
                        (t.column("from").to_numpy() == t.column("_key").to_numpy())[span])


def _json_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pa.array([None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()],
                    pa.string())


def _documents_table(plan: Plan, st: ShardState) -> pa.Table:
    t = st.kept_documents()
    src_col = plan.config.output.source_column
    cols: dict[str, pa.Array] = {"id": t.column("id"), "text": t.column("text"), src_col: t.column("source")}
    json_fields = set(plan.json_fields)
    for f in plan.fields_schema:
        name = FIELD_PREFIX + f.name
        if name not in t.column_names:
            cols[f.name] = pa.nulls(t.num_rows, f.type)
            continue
        col = t.column(name)
        if f.name in json_fields and not col.type.equals(pa.string()):
            col = _json_text(col)
        cols[f.name] = col.cast(f.type) if not col.type.equals(f.type) else col
    for name, col in st.kept_labels(plan.label_columns).items():
        if name in cols:
            raise ValueError(f"a step's output column {name!r} has the name of an input field or of "
                             f"the source column; rename one of them")
        cols[name] = col
    return pa.table(cols)


def _jsonl_default(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    return str(v)


def _write_jsonl(path, table: pa.Table, json_fields: set[str]) -> None:
    def write(sink) -> None:
        names = table.column_names
        columns = [table.column(n).to_pylist() for n in names]
        decode = [n in json_fields for n in names]
        for values in zip(*columns):
            rec = {n: (orjson.Fragment(v) if d and v is not None else v)   # JSON text, written as it is
                   for n, v, d in zip(names, values, decode)}
            sink.write(orjson.dumps(rec, default=_jsonl_default, option=orjson.OPT_APPEND_NEWLINE))
    atomic_write(path, write)


def _write_output(plan: Plan, st: ShardState) -> None:
    lay, out = plan.layout, plan.config.output
    docs = _documents_table(plan, st)
    comp = out.compression
    if out.format == "parquet":
        write_parquet(lay.documents(st.shard, "parquet"), docs, compression=comp)
    else:
        _write_jsonl(lay.documents(st.shard, "jsonl"), docs, set(plan.json_fields))
    removals = st.removals().select(REMOVAL_SCHEMA.names).cast(REMOVAL_SCHEMA)
    write_parquet(lay.removals(st.shard), removals, compression=comp)
    if plan.config.report.enabled:    # the report's length histogram (without it, it re-reads OUT)
        after = pa.array(st.cur_len, pa.int64(), mask=~st.alive)
        write_arrow(lay.lengths(st.shard), pa.table({"source": st.table.column("source"), "id": st.table.column("id"),
                                                     "before": pa.array(st.orig_len, pa.int64()), "after": after}),
                    compression=plan.config.engine.work_compression)


# -- the tasks ---------------------------------------------------------------------------------------

def ingest_task(arg: tuple[Plan, Chunk, bool, int | None]) -> dict[str, Any]:
    """Parse one chunk into shard ``chunk.index``, quarantine what cannot be read, run pass 0.
    ``ids_checked``: the phase ``ids`` is done, so its rejects for this shard are quarantined too.
    ``cap``: records at most to read (``[input] limit``; None: all)."""
    plan, chunk, ids_checked, cap = arg
    try:
        with recording_writes() as files:
            result = _ingest(plan, chunk, ids.read_rejects(plan, chunk.index) if ids_checked else {}, cap)
    except InputError as exc:
        if cap is None:
            raise
        # under a limit, a chunk may be read past the records the run keeps (read ahead of knowing
        # where the limit falls): the driver raises its error only if the chunk is one of the run's
        for rel, _size, _digest in files:
            (plan.layout.out / rel).unlink(missing_ok=True)
        return {"shard": chunk.index, "limit": {"error": str(exc)}}
    write_json(plan.layout.marker("ingest", plan.layout.part(chunk.index)), {**result, "files": files})
    return result


def _ingest(plan: Plan, chunk: Chunk, rejects: dict[int, int | None], cap: int | None) -> dict[str, Any]:
    lay, cfg = plan.layout, plan.config
    t0 = time.perf_counter()
    parsed = parse_chunk(chunk, cfg.input, source_column=cfg.output.source_column, extract=cfg.extract,
                         rejects=rejects, limit=cap)
    ids.write_claims(plan, chunk.index, parsed.ids)
    if parsed.quarantine:
        write_parquet(lay.quarantine(chunk.index), quarantine_table(parsed.quarantine),
                      compression=cfg.output.compression)
    write_arrow(lay.shard(chunk.index), parsed.table, compression=cfg.engine.work_compression)
    parse_seconds = time.perf_counter() - t0
    fields = pa.schema([f.with_name(f.name[len(FIELD_PREFIX):]) for f in parsed.table.schema
                        if f.name.startswith(FIELD_PREFIX)])
    st = ShardState(chunk.index, parsed.table)
    result = _run_pass(plan, 0, st)
    result.update({
        "shard": chunk.index,
        "input": {"bytes": parsed.nbytes, "docs": parsed.table.num_rows,
                  "chars": int(st.orig_len.sum()), "seconds": parse_seconds,
                  "quarantined": dict(Counter(q["kind"] for q in parsed.quarantine)),
                  **({"skipped": parsed.skipped} if parsed.skipped else {}),
                  **({"replacement_chars": parsed.replacement_chars} if parsed.replacement_chars else {})},
        "schema": schema_to_b64(fields), "json_fields": parsed.json_fields, "id_rejects": len(rejects),
        **({"limit": {"cap": cap, "records": parsed.records, "stopped": parsed.stopped}}
           if cap is not None else {}),
    })
    return result


def pass_task(arg: tuple[Plan, int, int]) -> dict[str, Any]:
    """Pass ``k`` over shard ``n``."""
    plan, k, n = arg
    lay = plan.layout
    with recording_writes() as files:
        st = ShardState(n, read_arrow(lay.shard(n)), read_arrow(lay.state(k - 1, n)))
        if (labels := lay.labels(k - 1, n)).exists():
            st.load_labels(read_arrow(labels))
        result = _run_pass(plan, k, st)
    write_json(lay.marker(plan.phase_of_pass(k), lay.part(n)), {**result, "files": files})
    return result


def ids_task(arg: tuple[Plan, int]) -> dict[str, Any]:
    """Partition ``p`` of the cross-shard id check (:mod:`.ids`)."""
    plan, p = arg
    with recording_writes() as files:
        result = ids.resolve(plan, p)
    write_json(plan.layout.marker(ids.PHASE, ids.task_name(p)), {**result, "files": files})
    return result


def reduce_phase_task(arg: tuple[str, StepContext, Task]) -> dict[str, Any]:
    """Run one task of a global step's reduce phase, then write its completion marker."""
    phase, ctx, task = arg
    with recording_writes() as files:
        result = task.fn(ctx, task.arg)
    write_json(ctx.plan.layout.marker(phase, task.name), {**result, "files": files})
    return result
