"""Two steps and a reader for thresher, installed through entry points (see pyproject.toml)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import xxhash

from thresher import DocumentStep, Drop, GlobalStep, Phase, Task
from thresher.io.base import Chunk, Reader
from thresher.steps import DECISION_SCHEMA, TWIN_KEY


@dataclass(frozen=True, kw_only=True)
class DropShortConfig:
    min_chars: int = 20


class DropShort(DocumentStep):
    """A local step: drop documents shorter than ``min_chars`` characters."""

    name = "drop_short"
    stage = "filter"                 # with the document filters, after cleaning
    Config = DropShortConfig

    def process(self, doc):
        n = len(doc.text.strip())
        if n < self.config.min_chars:
            return Drop("too_short", value=n)
        return None


class SameTitle(GlobalStep):
    """A global step: drop every document whose first line repeats an earlier document's first line."""

    name = "same_title"
    stage = "dedup_documents"        # with the other whole-document dedup
    reason = "same_title"
    whole_document = True
    twins = "corpus"                 # its rows name kept documents...
    keeps_twins = True               # ...and it spares those an earlier step named

    def map(self, view, ctx):
        rows = view.live_rows()
        titles = [t.split("\n", 1)[0].strip().lower() for t in view.texts(rows).to_pylist()]
        keys = np.array([xxhash.xxh3_64_intdigest(t.encode()) for t in titles], np.uint64)
        table = pa.table({"title": pa.array(keys), "_key": pa.array(view.keys(rows)), "id": view.ids(rows),
                          "len": pa.array(view.original_lengths(rows))})
        ctx.write_partitioned("titles", (keys % np.uint64(ctx.partitions)).astype(np.int64), table,
                              ctx.part(view.shard))
        return {"documents": len(rows)}

    def phases(self, ctx, map_results):
        return [Phase("reduce", [Task(f"p{p:05d}", first_title, p) for p in range(ctx.partitions)])]


def first_title(ctx, p):
    """Partition ``p``: every document after the first with its title is a decision."""
    t0 = time.perf_counter()
    t = ctx.read_partition("titles", p)
    decisions = DECISION_SCHEMA.empty_table()
    if t is not None:
        t = t.sort_by([("title", "ascending"), ("_key", "ascending")])
        title = t.column("title").to_numpy()
        later = np.flatnonzero(np.r_[False, title[1:] == title[:-1]])
        first = np.maximum.accumulate(np.where(np.r_[True, title[1:] != title[:-1]],
                                               np.arange(len(title)), 0))[later]
        n = len(later)
        decisions = pa.table({
            "_key": t.column("_key").take(later), "start": pa.array(np.zeros(n, np.int64)),
            "end": t.column("len").take(later), "dup_of_id": t.column("id").take(first),
            "dup_of_start": pa.nulls(n, pa.int64()), "dup_of_end": pa.nulls(n, pa.int64()),  # a whole document
            "reason": pa.nulls(n, pa.string()), "similarity": pa.nulls(n, pa.float64()),
            "value": pa.nulls(n, pa.float64()), TWIN_KEY: t.column("_key").take(first),
        }, schema=DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64()))).sort_by([("_key", "ascending")])
    ctx.write_decisions(f"p{p:05d}", decisions)
    return {"steps": {ctx.name: {"seconds": time.perf_counter() - t0, "decisions": decisions.num_rows}}}


class TsvReader(Reader):
    """``.tab`` files: one document per line, ``id<TAB>text`` (``\\n`` in the text written as ``\\\\n``)."""

    name = "tsv"
    suffixes = {".tab": None}

    def chunks(self, files, *, shard_bytes, start, cfg):
        for i, f in enumerate(files):         # one chunk per file: enough for an example
            yield Chunk(start + i, self.name, f.path, None, nbytes=f.size)

    def parse(self, chunk, sink):
        with open(chunk.file, "rb") as fh:
            for line_no, raw in enumerate(fh, 1):
                where = (chunk.file, line_no, None)
                doc_id, tab, text = raw.rstrip(b"\n").decode("utf-8").partition("\t")
                if not tab:
                    sink.reject("no_tab", *where, "expected 'id<TAB>text'", raw)
                    continue
                sink.accept(doc_id, text.replace("\\n", "\n"), chunk.file, None, where, raw)
