"""Corpus-learned boilerplate, the global part of ``boilerplate``: line keys per source, counted by
hash partition.

- map (per shard, right after the step's line rules, its local part): one record per remaining
  non-blank line: its normalised-text key mixed with its document's source key, partitioned by hash;
- reduce (per partition): sort by key, count the distinct documents of each key; every occurrence of a
  key held by at least ``repeated_min_docs`` documents becomes a decision (``value`` = that count). The
  partition's most widespread lines are read back from their first occurrence for stats;
- the next pass applies the decisions like any global step's.

Memory per reduce task is one partition's records (~60 bytes per line), never the corpus.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import xxhash

from ...documents import row_of, shard_of
from ..global_step import DECISION_SCHEMA, GlobalStep, Phase, Task
from ..keyed import keyed_records

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView
    from . import Boilerplate


def source_key(source: str, url: object) -> str:
    """What repeated lines are counted within: the host of ``url`` if it has one, else the input file."""
    if isinstance(url, str) and url:
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            host = None
        if host:
            return "host:" + host.lower().removeprefix("www.")
    return "file:" + source


def _source_hashes(view: "ShardView", rows: np.ndarray) -> np.ndarray:
    """The source-key hash of the document of each record (computed once per document)."""
    urls = view.urls()
    sources = view.sources()
    cache: dict[tuple, int] = {}
    per_doc = np.zeros(view.n, np.uint64)
    for r in np.unique(rows).tolist():
        k = (sources[r], urls[r] if isinstance(urls[r], str) else None)
        h = cache.get(k)
        if h is None:
            h = cache[k] = xxhash.xxh3_64_intdigest(source_key(*k).encode("utf-8", "surrogatepass"))
        per_doc[r] = h
    return per_doc[rows]


class LearnedLines(GlobalStep):
    """The global part of ``boilerplate``: lines repeated across a source's documents."""

    reason = "repeated_line"
    similarity = None

    def __init__(self, parent: "Boilerplate"):
        super().__init__(parent.config)
        self.parent = parent
        self.name = parent.name          # type: ignore[misc]  # rows and phases carry the step's name

    def map(self, view: "ShardView", ctx: "StepContext") -> dict[str, Any]:
        rows = view.live_rows()
        records = keyed_records(view, self.parent.spans(view.texts(rows), view.lengths(rows)), rows,
                                whole_document=False, partitions=ctx.partitions)
        if records.num_rows:
            src = _source_hashes(view, row_of(records.column("_key").to_numpy()))
            hi = records.column("hi").to_numpy() ^ src
            lo = records.column("lo").to_numpy() ^ (src * np.uint64(0x9E3779B97F4A7C15))
            records = records.set_column(records.schema.get_field_index("hi"), "hi", pa.array(hi))
            records = records.set_column(records.schema.get_field_index("lo"), "lo", pa.array(lo))
            part = (hi % np.uint64(ctx.partitions)).astype(np.int32)
            ctx.write_partitioned("map", part, records.drop_columns(["_part", "id"]), ctx.part(view.shard))
        return {"records": records.num_rows}

    def phases(self, ctx: "StepContext", map_results: list[dict[str, Any]]) -> list[Phase]:
        return [Phase("reduce", [Task(f"p{p:05d}", _reduce_task, p) for p in range(ctx.partitions)])]

    def summarize(self, stats: dict[str, Any]) -> dict[str, Any]:
        top = stats.get("top_lines") or {}
        if isinstance(top, dict):
            ranked = sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[:self.config.top_lines]
            stats["top_lines"] = [{"source": k.split("\t", 1)[0], "line": k.split("\t", 1)[1], "docs": v}
                                  for k, v in ranked]
        return stats


def _reduce_task(ctx: "StepContext", p: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = ctx.step.config
    records = ctx.read_partition("map", p)
    decisions = DECISION_SCHEMA.empty_table()
    top: dict[str, int] = {}
    n = 0
    if records is not None and records.num_rows:
        n = records.num_rows
        hi = records.column("hi").to_numpy()
        lo = records.column("lo").to_numpy()
        key = records.column("_key").to_numpy()
        start = records.column("start").to_numpy()
        order = np.lexsort((start, key, lo, hi))
        hi, lo, key = hi[order], lo[order], key[order]
        new_group = np.ones(n, bool)
        new_group[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
        new_doc = new_group.copy()
        new_doc[1:] |= key[1:] != key[:-1]
        group = np.cumsum(new_group) - 1
        docs = np.bincount(group, weights=new_doc).astype(np.int64)
        hit = docs[group] >= c.repeated_min_docs
        sel = order[hit]
        decisions = pa.table({
            "_key": pa.array(key[hit]),
            "start": records.column("cut_start").take(pa.array(sel)),
            "end": records.column("cut_end").take(pa.array(sel)),
            "dup_of_id": pa.nulls(len(sel), pa.string()),
            "dup_of_start": pa.nulls(len(sel), pa.int64()), "dup_of_end": pa.nulls(len(sel), pa.int64()),
            "reason": pa.nulls(len(sel), pa.string()), "similarity": pa.nulls(len(sel), pa.float64()),
            "value": pa.array(docs[group][hit].astype(np.float64)),
        }, schema=DECISION_SCHEMA).sort_by([("_key", "ascending"), ("start", "ascending")])
        if c.top_lines:
            firsts = np.flatnonzero(new_group)
            removed = firsts[docs >= c.repeated_min_docs]
            rank = np.lexsort((hi[removed], lo[removed], -docs[group[removed]]))[:c.top_lines]
            top = _line_texts(ctx, records, order[removed[rank]], docs[group[removed[rank]]])
    ctx.write_decisions(f"p{p:05d}", decisions)
    return {"records": n, "decisions": decisions.num_rows,
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0, "top_lines": top}}}


def _line_texts(ctx: "StepContext", records: pa.Table, rows: np.ndarray, docs: np.ndarray) -> dict[str, int]:
    """``"<source>\\t<line>" -> documents`` for the first occurrence of each chosen line (read back from
    the shards' original texts)."""
    keys = records.column("_key").to_numpy()[rows]
    start = records.column("start").to_numpy()[rows]
    end = records.column("end").to_numpy()[rows]
    out: dict[str, int] = {}
    by_shard: dict[int, list[int]] = {}
    for i, k in enumerate(keys.tolist()):
        by_shard.setdefault(int(shard_of(k)), []).append(i)
    for shard, idx in sorted(by_shard.items()):
        view = ctx.view(shard)
        urls, sources = view.urls(), view.sources()
        for i in idx:
            r = int(row_of(int(keys[i])))
            text = view.original(r)[int(start[i]):int(end[i])].strip()
            url = urls[r]
            src = source_key(sources[r], url if isinstance(url, str) else None)
            out[f"{src}\t{text[:200]}"] = int(docs[i])
    return out
