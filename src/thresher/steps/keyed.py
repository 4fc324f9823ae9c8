"""Keyed dedup: spans with a 128-bit key each; the first occurrence of a key is kept, later ones removed.

- map (per shard): :meth:`KeyedDedupStep.spans` of the live documents' current texts, one record per
  span ``(hi, lo, _key, start, end, cut_start, cut_end, id)`` (original offsets), partitioned by key
  hash into the step's scratch space;
- ``<step>.reduce`` (per partition): :func:`resolve`. "First" is the smallest ``(_key, start)``, i.e.
  corpus order; every later occurrence becomes a decision: delete its ``cut_start..cut_end``, a
  duplicate of the first occurrence's ``id, start..end``.

Peak memory of a reduce task is the partition's records (~40 bytes each plus ids), never the corpus:
the engine chooses the partition count from the input size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa

from .global_step import DECISION_SCHEMA, TWIN_KEY, GlobalStep, Phase, Task

if TYPE_CHECKING:
    from ..engine.context import StepContext
    from ..engine.view import ShardView


@dataclass(frozen=True, slots=True)
class SpanKeys:
    """Spans of a batch of texts with a 128-bit key each (parallel arrays, current-text offsets).

    ``start..end`` is what is compared and what ``dup_of`` names; ``cut_start..cut_end`` (default: the
    same) is what is deleted when the span is a repeat, e.g. a paragraph with its separator."""

    row: np.ndarray      # int64: index of the text in the batch
    start: np.ndarray    # int64
    end: np.ndarray      # int64
    key: np.ndarray      # (n, 2) uint64: high, low
    cut_start: np.ndarray | None = None
    cut_end: np.ndarray | None = None


def keyed_records(view: "ShardView", spans: SpanKeys, rows: np.ndarray, *,
                  whole_document: bool, partitions: int) -> pa.Table:
    """One record per span of ``spans`` (computed on the current texts of ``rows``), offsets mapped to
    the original: ``_part, hi, lo, _key, start, end, cut_start, cut_end, id``."""
    doc_rows = rows[spans.row]
    if whole_document:
        start, end = np.zeros(len(doc_rows), np.int64), view.original_lengths(doc_rows).astype(np.int64)
        cut_start, cut_end = start, end
    else:
        start, end = spans.start.astype(np.int64), spans.end.astype(np.int64)
        cut_start = start if spans.cut_start is None else spans.cut_start.astype(np.int64)
        cut_end = end if spans.cut_end is None else spans.cut_end.astype(np.int64)
        if view.has_edits:    # map current offsets of edited documents back to the original
            k = len(doc_rows)
            m = view.to_original(np.tile(doc_rows, 4),
                                 np.concatenate((start, end - 1, cut_start, cut_end - 1)))
            start, end = m[:k], m[k:2 * k] + 1
            cut_start, cut_end = m[2 * k:3 * k], m[3 * k:] + 1
    hi, lo = spans.key[:, 0], spans.key[:, 1]
    return pa.table({
        "_part": pa.array((hi % np.uint64(partitions)).astype(np.int32)),
        "hi": pa.array(hi), "lo": pa.array(lo),
        "_key": pa.array(view.keys(doc_rows)),
        "start": pa.array(start), "end": pa.array(end),
        "cut_start": pa.array(cut_start), "cut_end": pa.array(cut_end), "id": view.ids(doc_rows),
    })


class KeyedDedupStep(GlobalStep):
    """Later occurrences of an equal key are removed in favour of the first one; implement
    :meth:`spans`. ``whole_document = True`` makes a removed occurrence drop its whole document."""

    whole_document: ClassVar[bool] = False
    reason: ClassVar[str]
    similarity: ClassVar[float] = 1.0
    twins = "corpus"
    keeps_twins = True

    def removal(self) -> str:
        return "documents" if self.whole_document else "spans"

    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        """Spans and keys of ``texts`` (current texts; ``lengths`` their lengths in characters)."""
        raise NotImplementedError

    def map(self, view: "ShardView", ctx: "StepContext") -> dict[str, Any]:
        rows = view.live_rows()
        records = keyed_records(view, self.spans(view.texts(rows), view.lengths(rows)), rows,
                                whole_document=self.whole_document, partitions=ctx.partitions)
        ctx.write_partitioned("map", records.column("_part").to_numpy(), records.drop_columns(["_part"]),
                              ctx.part(view.shard))
        return {"records": records.num_rows}

    def phases(self, ctx: "StepContext", map_results: list[dict[str, Any]]) -> list[Phase]:
        return [Phase("reduce", [Task(f"p{p:05d}", _reduce_task, p) for p in range(ctx.partitions)])]


def _reduce_task(ctx: "StepContext", p: int) -> dict[str, Any]:
    """Resolve partition ``p``."""
    t0 = time.perf_counter()
    records = ctx.read_partition("map", p)
    decisions = resolve(records, whole_document=ctx.step.whole_document) if records is not None else DECISION_SCHEMA.empty_table()
    ctx.write_decisions(f"p{p:05d}", decisions)
    return {"records": records.num_rows if records is not None else 0, "decisions": decisions.num_rows,
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0}}}


def resolve(records: pa.Table, *, whole_document: bool = False) -> pa.Table:
    """Decisions for one partition, sorted by ``(_key, start)``."""
    if records.num_rows == 0:
        return DECISION_SCHEMA.empty_table()
    hi = records.column("hi").to_numpy()
    lo = records.column("lo").to_numpy()
    key = records.column("_key").to_numpy()
    start = records.column("start").to_numpy()
    order = np.lexsort((start, key, lo, hi))
    hi, lo, key, start = hi[order], lo[order], key[order], start[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    head = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    dup = np.flatnonzero(~first)
    end = records.column("end").to_numpy()[order]
    cut_start = records.column("cut_start").to_numpy()[order]
    cut_end = records.column("cut_end").to_numpy()[order]
    kept = order[head[dup]]
    twin_start, twin_end = pa.array(start[head[dup]]), pa.array(end[head[dup]])
    if whole_document:     # the twin is a whole document, whatever later steps cut from it
        twin_start = twin_end = pa.nulls(len(dup), pa.int64())
    out = pa.table({
        "_key": pa.array(key[dup]), "start": pa.array(cut_start[dup]), "end": pa.array(cut_end[dup]),
        "dup_of_id": records.column("id").take(pa.array(kept, pa.int64())),
        "dup_of_start": twin_start, "dup_of_end": twin_end,
        "reason": pa.nulls(len(dup), pa.string()), "similarity": pa.nulls(len(dup), pa.float64()),
        "value": pa.nulls(len(dup), pa.float64()), TWIN_KEY: pa.array(key[head[dup]]),
    }, schema=DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64())))
    return out.sort_by([("_key", "ascending"), ("start", "ascending")])
