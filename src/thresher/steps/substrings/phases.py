"""Phases of ``substrings``: token sequences per shard, suffix arrays per chunk, spans per document.

Phases (``W`` = the window, ``min_tokens`` or ``min_chars``):

1. map (in a pass, per shard): tokenise the current texts; write each token's document, original
   character span and 64-bit id to ``_work/substrings.map/part-N.arrow`` (20 bytes per token).
2. ``substrings.pairs``: consecutive shards form chunks of at most ``chunk_tokens`` tokens. For every
   chunk ``j`` and every chunk ``i <= j`` one task builds a suffix array over the tokens of ``i`` then
   ``j`` (pydivsufsort, after dictionary-encoding the ids) and its LCP array (Kasai). Suffixes whose
   first ``W`` tokens are equal form one run of the suffix array; a window of ``j`` is a repeat if its
   run holds an earlier window (in ``i``, or earlier in ``j`` for ``i == j``) inside one document. The
   task writes each repeated window of ``j`` and the earliest such occurrence.
   This is Lee et al.'s ``self-similar`` (``i == j``) and ``across-similar`` (``i < j``): memory per task
   is two chunks (~50 bytes per token); the number of tasks grows with the square of the chunk count,
   as in their tool, so ``chunk_tokens`` should be as large as memory allows.
3. ``substrings.reduce`` (per chunk): the earliest occurrence of each repeated window over all pairs;
   the union of a document's repeated windows, as maximal runs; each run's twin is the earliest
   occurrence of its first window, extended while the following windows continue it.
4. ``substrings.settle`` (per chunk): no token that a run names as its twin is removed, so that every
   twin stays in the output: each run of the chunk loses the twins (of any chunk's runs) inside it,
   and each piece left names the matching part of its run's twin (the whole twin for a piece past
   its end). Text that is a repeat and also a twin is thus kept once more than Lee et al.'s rule
   would keep it; stats count those tokens (``twin_tokens_kept``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numba
import pydivsufsort
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...documents import doc_key
from ...text.normalize import utf8_buffer
from ..global_step import DECISION_SCHEMA, TWIN_KEY, Phase, Task

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView
    from . import SubstringDedup


def map_shard(step: "SubstringDedup", view: ShardView, ctx: StepContext) -> dict[str, Any]:
    """Tokens of the shard's live documents: each token's row, original character span and id."""
    rows = view.live_rows()
    data, offsets = utf8_buffer(view.texts(rows))
    doc, start, end, token = step.tokens(data, offsets)
    doc_rows = rows[doc] if len(rows) else np.zeros(0, np.int64)
    if view.has_edits and len(doc):      # tokens of edited documents: map offsets to the original
        m = view.to_original(np.concatenate((doc_rows, doc_rows)), np.concatenate((start, end - 1)))
        start, end = m[:len(doc)], m[len(doc):] + 1
    part = ctx.part(view.shard)
    ctx.write_table("map", part, pa.table({
        "row": pa.array(doc_rows.astype(np.int32)), "start": pa.array(start.astype(np.int32)),
        "end": pa.array(end.astype(np.int32)), "token": pa.array(token)}))
    ctx.write_table("map", f"{part}.ids", pa.table({
        "row": pa.array(rows.astype(np.int32)), "id": view.ids(rows)}))
    return {"tokens": int(len(token))}


def reduce_phases(step: "SubstringDedup", ctx: StepContext, map_results: list[dict]) -> list[Phase]:
    """Chunks of consecutive shards; a suffix-array task per pair of chunks, then spans per chunk."""
    shards = ctx.shards
    counts = np.array([r.get("tokens", 0) for r in map_results], dtype=np.int64)
    chunks, first, size = [], 0, 0
    for s in range(shards):            # consecutive shards, at most chunk_tokens (one shard at least)
        if s > first and size + counts[s] > step.config.chunk_tokens:
            chunks.append((first, s))
            first, size = s, 0
        size += counts[s]
    chunks.append((first, shards))
    layout = {"chunks": chunks, "shard_offsets": np.concatenate([[0], np.cumsum(counts)]).tolist()}
    pairs = [Task(f"c{j:05d}-c{i:05d}", pair_task, (layout, i, j))
             for j in range(len(chunks)) for i in range(j + 1)]
    runs = [Task(f"c{j:05d}", reduce_task, (layout, j)) for j in range(len(chunks))]
    settle = [Task(f"c{j:05d}", settle_task, (layout, j)) for j in range(len(chunks))]
    return [Phase("pairs", pairs), Phase("reduce", runs), Phase("settle", settle)]


def _load_chunk(ctx: StepContext, layout: dict, c: int, columns=("row", "token")) -> dict:
    """The tokens of chunk ``c`` in corpus order, with each token's document key."""
    first, stop = layout["chunks"][c]
    tables, keys = [], []
    for s in range(first, stop):
        t = ctx.read_table("map", ctx.part(s)).select(list(columns))
        tables.append(t)
        keys.append(doc_key(s, t.column("row").to_numpy()))
    out = {col: np.concatenate([t.column(col).to_numpy() for t in tables]) if tables else np.zeros(0)
           for col in columns}
    out["key"] = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    out["offset"] = layout["shard_offsets"][first]
    return out


def pair_task(ctx: StepContext, arg: tuple[dict, int, int]) -> dict[str, Any]:
    """Windows of chunk ``j`` that occur earlier: in chunk ``i`` (i < j) or earlier in ``j`` (i == j)."""
    layout, i, j = arg
    t0 = time.perf_counter()
    w = ctx.step.window
    b = _load_chunk(ctx, layout, j)
    a = _load_chunk(ctx, layout, i) if i != j else None
    seq = np.concatenate([a["token"], b["token"]]) if a else b["token"]
    key = np.concatenate([a["key"], b["key"]]) if a else b["key"]
    off_b = len(a["token"]) if a else 0
    n = len(seq)
    pos = src = np.zeros(0, np.int64)
    if n >= w:
        dense = pc.dictionary_encode(pa.array(seq)).indices.to_numpy().astype(np.int32)
        sa = pydivsufsort.divsufsort(dense).astype(np.int64)
        lcp = pydivsufsort.kasai(dense, sa.astype(np.int32))         # lcp[k] = lcp(sa[k], sa[k + 1])
        del dense
        valid = np.zeros(n, dtype=bool)
        valid[: n - w + 1] = key[: n - w + 1] == key[w - 1:]          # the window lies in one document
        starts = np.concatenate([[0], np.flatnonzero(lcp[:-1] < w) + 1])
        del lcp
        vpos = np.where(valid[sa], sa, np.iinfo(np.int64).max)
        first = np.minimum.reduceat(vpos, starts)                      # earliest valid window per run
        first = np.repeat(first, np.diff(np.concatenate([starts, [n]])))
        in_b = (sa >= off_b) & valid[sa]
        mark = in_b & ((first < sa) if a is None else (first < off_b))
        pos, src = sa[mark] - off_b, first[mark]
        src = src + (a["offset"] if a else b["offset"])
        order = np.argsort(pos, kind="stable")
        pos, src = pos[order], src[order]
    ctx.write_table("pairs", f"c{j:05d}-c{i:05d}", pa.table({"pos": pa.array(pos), "src": pa.array(src)}),
                    compress=False)
    return {"tokens": int(n), "repeated_windows": int(len(pos)),
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0}}}


@numba.njit(cache=True, nogil=True)
def _runs(pos, src, key, w):  # pragma: no cover - compiled
    """Maximal runs of repeated windows within one document: (first token, end token, twin first
    token, twin end token). The twin follows the first window's source while windows continue it."""
    n = pos.shape[0]
    ra = np.empty(n, np.int64)
    rb = np.empty(n, np.int64)
    qa = np.empty(n, np.int64)
    qb = np.empty(n, np.int64)
    k = -1
    follow = False
    for t in range(n):
        p = pos[t]
        if k >= 0 and p <= rb[k] and key[p] == key[ra[k]]:
            if p + w > rb[k]:
                rb[k] = p + w
            if follow and src[t] - p == qa[k] - ra[k] and src[t] + w > qb[k]:
                qb[k] = src[t] + w
            elif src[t] - p != qa[k] - ra[k]:
                follow = False
        else:
            k += 1
            ra[k], rb[k], qa[k], qb[k] = p, p + w, src[t], src[t] + w
            follow = True
    return ra[: k + 1], rb[: k + 1], qa[: k + 1], qb[: k + 1]


def reduce_task(ctx: StepContext, arg: tuple[dict, int]) -> dict[str, Any]:
    """Runs of repeated windows of chunk ``j`` (chunk-local tokens), each with its earliest twin
    (global tokens)."""
    layout, j = arg
    t0 = time.perf_counter()
    w = ctx.step.window
    parts = [ctx.read_table("pairs", f"c{j:05d}-c{i:05d}") for i in range(j + 1)]
    pos = np.concatenate([p.column("pos").to_numpy() for p in parts])
    src = np.concatenate([p.column("src").to_numpy() for p in parts])
    order = np.lexsort((src, pos))
    pos, src = pos[order], src[order]
    keep = np.ones(len(pos), dtype=bool)
    keep[1:] = pos[1:] != pos[:-1]                                   # the earliest twin of each window
    pos, src = pos[keep], src[keep]
    b = _load_chunk(ctx, layout, j, columns=("row",))
    ra, rb, qa, qb = _runs(pos, src, b["key"], w)
    ctx.write_table("runs", f"c{j:05d}", pa.table({"ra": pa.array(ra), "rb": pa.array(rb),
                                                  "qa": pa.array(qa), "qb": pa.array(qb)}), compress=False)
    return {"repeated_windows": int(len(pos)), "runs": int(len(ra)),
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0}}}


def settle_task(ctx: StepContext, arg: tuple[dict, int]) -> dict[str, Any]:
    """Spans of chunk ``j`` to remove, each with a twin that stays: no token that any run names as its
    twin is removed, so each run loses the twins that lie inside it (what is left of it is still a
    repeat of the twin's corresponding part, or of the run's own twin)."""
    layout, j = arg
    t0 = time.perf_counter()
    off = np.asarray(layout["shard_offsets"], np.int64)
    first, stop = layout["chunks"][j]
    lo, hi = int(off[first]), int(off[stop])
    runs = ctx.read_table("runs", f"c{j:05d}")
    ra, rb = runs.column("ra").to_numpy() + lo, runs.column("rb").to_numpy() + lo
    qa, qb = runs.column("qa").to_numpy(), runs.column("qb").to_numpy()
    held_a, held_b = [], []               # twins in this chunk, named by runs of this or a later chunk
    for c in range(j, len(layout["chunks"])):
        t = ctx.read_table("runs", f"c{c:05d}")
        a, b = t.column("qa").to_numpy(), t.column("qb").to_numpy()
        mine = (a >= lo) & (a < hi)
        held_a.append(a[mine])
        held_b.append(b[mine])
    ha, hb = _merge(np.concatenate(held_a), np.concatenate(held_b))
    # one array type for the kernel whatever Arrow hands out (a zero-copy column is read-only)
    ra, rb, qa, qb, ha, hb = (np.array(x, np.int64) for x in (ra, rb, qa, qb, ha, hb))
    pa_, pb_, ta, tb = _pieces(ra, rb, qa, qb, ha, hb)
    decisions = DECISION_SCHEMA.empty_table()
    spared = int((rb - ra).sum() - (pb_ - pa_).sum())
    if len(pa_):
        b = _load_chunk(ctx, layout, j, columns=("row", "start", "end"))
        la, lb = pa_ - lo, pb_ - lo
        twin = _twin_spans(ctx, layout, ta, tb)
        decisions = pa.table({
            "_key": pa.array(b["key"][la]),
            "start": pa.array(b["start"][la].astype(np.int64)),
            "end": pa.array(b["end"][lb - 1].astype(np.int64)),
            "dup_of_id": twin["id"], "dup_of_start": pa.array(twin["start"]),
            "dup_of_end": pa.array(twin["end"]),
            "reason": pa.nulls(len(la), pa.string()), "similarity": pa.nulls(len(la), pa.float64()),
            "value": pa.nulls(len(la), pa.float64()), TWIN_KEY: pa.array(twin["key"]),
        }, schema=DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64()))).sort_by(
            [("_key", "ascending"), ("start", "ascending")])
    ctx.write_decisions(f"c{j:05d}", decisions)
    return {"spans": decisions.num_rows,
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0, "twin_tokens_kept": spared}}}


def _merge(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of intervals ``a[i]..b[i]`` as sorted disjoint intervals."""
    if not len(a):
        return a, b
    order = np.argsort(a, kind="stable")
    a, b = a[order], np.maximum.accumulate(b[order])
    new = np.ones(len(a), bool)
    new[1:] = a[1:] > b[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(a)) - 1
    return a[starts], b[ends]


@numba.njit(cache=True, nogil=True)
def _pieces(ra, rb, qa, qb, ha, hb):  # pragma: no cover - compiled
    """Each run ``ra..rb`` without the held intervals ``ha..hb`` (sorted, disjoint): its pieces, and
    each piece's twin: the part of the run's twin ``qa..qb`` that corresponds to it, or (a piece past
    the twin's end) the run's whole twin."""
    n = ra.shape[0]
    cap = n + ha.shape[0] + 1     # runs are disjoint: each piece ends a run or meets a held interval
    oa = np.empty(cap, np.int64)
    ob = np.empty(cap, np.int64)
    ta = np.empty(cap, np.int64)
    tb = np.empty(cap, np.int64)
    k = 0
    for r in range(n):
        a, b = ra[r], rb[r]
        h = np.searchsorted(hb, a, side="right")
        pos = a
        while pos < b:
            if h < ha.shape[0] and ha[h] <= pos:
                pos = max(pos, hb[h])
                h += 1
                continue
            end = b if h >= ha.shape[0] else min(b, ha[h])
            if end > pos:
                oa[k], ob[k] = pos, end
                x, y = qa[r] + (pos - a), min(qb[r], qa[r] + (end - a))
                if y > x:
                    ta[k], tb[k] = x, y
                else:
                    ta[k], tb[k] = qa[r], qb[r]
                k += 1
            pos = end
    return oa[:k], ob[:k], ta[:k], tb[:k]


def _twin_spans(ctx: StepContext, layout: dict, qa: np.ndarray, qb: np.ndarray) -> dict:
    """Document id and character span of the global token ranges ``qa..qb`` (same document each)."""
    offsets = np.asarray(layout["shard_offsets"], dtype=np.int64)
    shard = np.searchsorted(offsets, qa, side="right") - 1
    ids = np.empty(len(qa), dtype=object)
    keys = np.empty(len(qa), np.int64)
    start = np.empty(len(qa), np.int64)
    end = np.empty(len(qa), np.int64)
    for s in np.unique(shard).tolist():
        sel = np.flatnonzero(shard == s)
        t = ctx.read_table("map", ctx.part(s))
        local_a, local_b = qa[sel] - offsets[s], qb[sel] - 1 - offsets[s]
        rows = t.column("row").to_numpy()[local_a]
        keys[sel] = doc_key(s, rows.astype(np.int64))
        start[sel] = t.column("start").to_numpy()[local_a]
        end[sel] = t.column("end").to_numpy()[local_b]
        id_table = ctx.read_table("map", f"{ctx.part(s)}.ids")
        lookup = dict(zip(id_table.column("row").to_pylist(), id_table.column("id").to_pylist()))
        ids[sel] = [lookup[r] for r in rows.tolist()]
    return {"id": pa.array(ids.tolist(), pa.string()), "start": start, "end": end, "key": keys}
