"""How the engine runs corpus-learned boilerplate: line keys per source, counted by hash partition.

- map (per shard): the step's line rules (as a local step), then one record per remaining non-blank
  line: its normalised-text key mixed with its document's source key, partitioned by hash;
- reduce (per partition): sort by key, count the distinct documents of each key; every occurrence of a
  key held by at least ``repeated_min_docs`` documents becomes a decision (``value`` = that count). The
  partition's most widespread lines are read back from their first occurrence for stats;
- the next pass applies the decisions like any global step's.

Memory per reduce task is one partition's records (~60 bytes per line), never the corpus.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa
import xxhash

from ..documents import row_of, shard_of
from ..io.parse import FIELD_PREFIX
from ..filters.boilerplate import source_key
from .drivers import Driver, read_partition, write_decisions, write_partitioned
from .keyed import DECISION_SCHEMA
from .layout import read_arrow
from .plan import Plan
from .shard import ShardState, StepStats


def _source_hashes(st: ShardState, rows: np.ndarray) -> np.ndarray:
    """The source-key hash of the document of each record (computed once per document)."""
    url_col = FIELD_PREFIX + "url"
    urls = (st.table.column(url_col).to_pylist() if url_col in st.table.column_names
            else [None] * st.n)
    sources = st.sources
    cache: dict[tuple, int] = {}
    per_doc = np.zeros(st.n, np.uint64)
    for r in np.unique(rows).tolist():
        k = (sources[r], urls[r] if isinstance(urls[r], str) else None)
        h = cache.get(k)
        if h is None:
            h = cache[k] = xxhash.xxh3_64_intdigest(source_key(*k).encode("utf-8", "surrogatepass"))
        per_doc[r] = h
    return per_doc[rows]


class BoilerplateDriver(Driver):
    #: The map pass counts the step's input documents (its line rules run there).
    counts_input_in_map = True

    def map(self, plan, name, st):
        step = plan.step(name)
        stats = StepStats()
        st.apply_local(step, stats)
        stats.data["docs_out"] = stats.data["chars_out"] = 0     # counted when decisions are applied
        records, s2 = st.keyed_records(step, plan.partitions)
        t0 = time.perf_counter()
        if records.num_rows:
            src = _source_hashes(st, row_of(records.column("_key").to_numpy()))
            hi = records.column("hi").to_numpy() ^ src
            lo = records.column("lo").to_numpy() ^ (src * np.uint64(0x9E3779B97F4A7C15))
            records = records.set_column(records.schema.get_field_index("hi"), "hi", pa.array(hi))
            records = records.set_column(records.schema.get_field_index("lo"), "lo", pa.array(lo))
            part = (hi % np.uint64(plan.partitions)).astype(np.int32)
            write_partitioned(plan, f"{name}.map", part, records.drop_columns(["_part", "id"]),
                              plan.layout.part(st.shard))
        stats.data["seconds"] += s2.data["seconds"] + time.perf_counter() - t0
        return stats, {"records": records.num_rows}

    def phases(self, plan, name, shards, map_results):
        return [(f"{name}.reduce", [(f"p{p:05d}", boilerplate_reduce_task, (plan, name, p))
                                    for p in range(plan.partitions)])]

    def summarize(self, plan: Plan, name: str, stats: dict[str, Any]) -> dict[str, Any]:
        top = stats.get("top_lines") or {}
        if isinstance(top, dict):
            ranked = sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[:plan.step(name).config.top_lines]
            stats["top_lines"] = [{"source": k.split("\t", 1)[0], "line": k.split("\t", 1)[1], "docs": v}
                                  for k, v in ranked]
        return stats


def boilerplate_reduce_task(arg: tuple[Plan, str, int]) -> dict[str, Any]:
    plan, name, p = arg
    t0 = time.perf_counter()
    c = plan.step(name).config
    records = read_partition(plan, f"{name}.map", p)
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
            top = _line_texts(plan, records, order[removed[rank]], docs[group[removed[rank]]])
    write_decisions(plan.layout, name, f"p{p:05d}", decisions)
    return {"records": n, "decisions": decisions.num_rows,
            "steps": {name: {"seconds": time.perf_counter() - t0, "top_lines": top}}}


def _line_texts(plan: Plan, records: pa.Table, rows: np.ndarray, docs: np.ndarray) -> dict[str, int]:
    """``"<source>\\t<line>" -> documents`` for the first occurrence of each chosen line (read back from
    the ingest shards, memory-mapped)."""
    keys = records.column("_key").to_numpy()[rows]
    start = records.column("start").to_numpy()[rows]
    end = records.column("end").to_numpy()[rows]
    out: dict[str, int] = {}
    by_shard: dict[int, list[int]] = {}
    for i, k in enumerate(keys.tolist()):
        by_shard.setdefault(int(shard_of(k)), []).append(i)
    for shard, idx in sorted(by_shard.items()):
        table = read_arrow(plan.layout.shard(shard))
        st = ShardState(shard, table)
        urls = table.column(FIELD_PREFIX + "url") if FIELD_PREFIX + "url" in table.column_names else None
        for i in idx:
            r = int(row_of(int(keys[i])))
            text = st.original(r)[int(start[i]):int(end[i])].strip()
            url = urls[r].as_py() if urls is not None else None
            src = source_key(st.sources[r], url if isinstance(url, str) else None)
            out[f"{src}\t{text[:200]}"] = int(docs[i])
    return out
