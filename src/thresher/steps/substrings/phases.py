"""Phases of ``substrings``: window fingerprints per shard, repeats per fingerprint range, spans per shard.

Phases (``W`` = the window, ``min_tokens`` or ``min_chars``; positions are token positions in corpus
order):

1. map (in a pass, per shard): tokenise the current texts; write each token's document, original
   character span and 64-bit id (``map/part-N``, read at random later, so not compressed), and the
   fingerprint and position of every window of ``W`` tokens that lies in one document, ordered by
   bucket (the top 12 bits of the fingerprint, :mod:`thresher.steps.substrings.windows`).
2. ``substrings.windows``: one task per range of buckets (as many ranges as ``task_windows`` needs,
   at least the run's hash partitions) reads that range of every shard's windows: a window whose
   fingerprint an earlier window has is a candidate repeat of the earliest such window.
3. ``substrings.runs`` (per shard): the shard's candidates from every range, each verified token by
   token against its source (a fingerprint collision is dropped and counted, never removed); the
   union of a document's repeated windows, as maximal runs; each run's twin is the earliest
   occurrence of its first window, extended while the following windows continue it.
4. ``substrings.settle`` (per shard): no token that a run names as its twin is removed, so that every
   twin stays in the output: each run of the shard loses the twins (of any shard's runs) inside it,
   and each piece left names the matching part of its run's twin (the whole twin for a piece past
   its end). Text that is a repeat and also a twin is thus kept once more than Lee et al.'s rule
   would keep it; stats count those tokens (``twin_tokens_kept``).

Every phase reads and writes a bounded amount per task: a shard's tokens and windows, a fingerprint
range of ``task_windows`` windows, a shard's candidates and the source tokens they name. The work is
linear in the corpus (one fingerprint per token, one sort per range) and spreads over all workers;
the same windows are found as by a suffix array over the whole corpus (Lee et al. 2021), which needs
the corpus in one task or a task per pair of chunks.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pyarrow as pa

from ...documents import doc_key
from ...text.normalize import utf8_buffer
from ..global_step import DECISION_SCHEMA, TWIN_KEY, Phase, Task
from .windows import BUCKETS, bucketed_windows, repeats, verified

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView
    from . import SubstringDedup


def map_shard(step: "SubstringDedup", view: ShardView, ctx: StepContext) -> dict[str, Any]:
    """Tokens of the shard's live documents (row, original character span, id) and their windows."""
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
        "end": pa.array(end.astype(np.int32)), "token": pa.array(token)}), compress=False)
    ctx.write_table("map", f"{part}.ids", pa.table({
        "row": pa.array(rows.astype(np.int32)), "id": view.ids(rows)}))
    fp, pos, bounds = bucketed_windows(token, doc, step.window)
    ctx.write_table("windows", part, pa.table({"fp": pa.array(fp), "pos": pa.array(pos)}), compress=False)
    ctx.write_table("windows", f"{part}.bounds", pa.table({"bound": pa.array(bounds)}))
    return {"tokens": int(len(token)), "windows": int(len(fp))}


def reduce_phases(step: "SubstringDedup", ctx: StepContext, map_results: list[dict]) -> list[Phase]:
    """A task per range of fingerprint buckets, then two per shard."""
    counts = np.array([r.get("tokens", 0) for r in map_results], dtype=np.int64)
    windows = sum(r.get("windows", 0) for r in map_results)
    ranges = min(BUCKETS, max(ctx.partitions, math.ceil(windows / step.config.task_windows)))
    layout = {"shard_offsets": np.concatenate([[0], np.cumsum(counts)]).tolist(),
              "buckets": [r * BUCKETS // ranges for r in range(ranges + 1)]}
    shards = range(ctx.shards)
    return [Phase("windows", [Task(f"b{r:05d}", window_task, (layout, r)) for r in range(ranges)]),
            Phase("runs", [Task(ctx.part(j), runs_task, (layout, j)) for j in shards]),
            Phase("settle", [Task(ctx.part(j), settle_task, (layout, j)) for j in shards])]


def _column(table: pa.Table, name: str, a: int = 0, b: int | None = None) -> np.ndarray:
    """Rows ``a..b`` of a column as numpy (no copy for a memory-mapped, uncompressed file)."""
    col = table.column(name)
    b = len(col) if b is None else b
    return col.slice(a, b - a).to_numpy()


def window_task(ctx: StepContext, arg: tuple[dict, int]) -> dict[str, Any]:
    """Candidate repeats among the windows of one bucket range of every shard."""
    layout, r = arg
    t0 = time.perf_counter()
    b0, b1 = layout["buckets"][r], layout["buckets"][r + 1]
    off = layout["shard_offsets"]
    fps, poss = [], []
    for s in range(ctx.shards):
        if off[s + 1] == off[s]:
            continue
        bounds = _column(ctx.read_table("windows", f"{ctx.part(s)}.bounds"), "bound")
        a, b = int(bounds[b0]), int(bounds[b1])
        if b > a:
            t = ctx.read_table("windows", ctx.part(s))
            fps.append(_column(t, "fp", a, b))
            poss.append(_column(t, "pos", a, b).astype(np.int64) + off[s])
    fp = np.concatenate(fps) if fps else np.zeros(0, np.uint64)
    pos = np.concatenate(poss) if poss else np.zeros(0, np.int64)
    del fps, poss
    p, src = repeats(fp, pos)
    ctx.write_table("pairs", f"b{r:05d}", pa.table({"pos": pa.array(p), "src": pa.array(src)}),
                    compress=False)
    return {"windows": int(len(fp)), "candidates": int(len(p)),
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0}}}


class _Tokens:
    """Token ids at global positions, from the shards' (memory-mapped) token files."""

    def __init__(self, ctx: StepContext, offsets: list[int]):
        self.ctx, self.off = ctx, np.asarray(offsets, np.int64)
        self.cache: dict[int, np.ndarray] = {}

    def shard(self, s: int) -> np.ndarray:
        if s not in self.cache:
            self.cache[s] = _column(self.ctx.read_table("map", self.ctx.part(s)), "token")
        return self.cache[s]

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        shard = np.searchsorted(self.off, idx, side="right") - 1
        out = np.empty(len(idx), np.uint64)
        for s in np.unique(shard).tolist():
            sel = shard == s
            out[sel] = self.shard(s)[idx[sel] - self.off[s]]
        return out


def runs_task(ctx: StepContext, arg: tuple[dict, int]) -> dict[str, Any]:
    """Verified repeated windows of shard ``j`` as maximal runs, each with its earliest twin."""
    layout, j = arg
    t0 = time.perf_counter()
    w = ctx.step.window
    off = layout["shard_offsets"]
    lo, hi = off[j], off[j + 1]
    pos, src = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if hi > lo:
        for r in range(len(layout["buckets"]) - 1):
            t = ctx.read_table("pairs", f"b{r:05d}")
            p = _column(t, "pos")
            a, b = np.searchsorted(p, [lo, hi]).tolist()
            pos.append(p[a:b])
            src.append(_column(t, "src", a, b))
    pos, src = np.concatenate(pos), np.concatenate(src)
    order = np.argsort(pos)
    pos, src = pos[order], src[order]
    tokens = _Tokens(ctx, off)
    ok = verified(pos, src, w, tokens, tokens)
    pos, src = pos[ok], src[ok]
    rows = (_column(ctx.read_table("map", ctx.part(j)), "row") if hi > lo else np.zeros(0, np.int32))
    ra, rb, qa, qb = _runs(pos - lo, src, rows, w)
    ra, rb = ra + lo, rb + lo
    ctx.write_table("runs", ctx.part(j), pa.table({"ra": pa.array(ra), "rb": pa.array(rb),
                                                   "qa": pa.array(qa), "qb": pa.array(qb)}), compress=False)
    order = np.argsort(qa, kind="stable")
    ctx.write_table("held", ctx.part(j), pa.table({"qa": pa.array(qa[order]), "qb": pa.array(qb[order])}),
                    compress=False)
    return {"repeated_windows": int(len(pos)), "runs": int(len(ra)),
            "steps": {ctx.name: {"seconds": time.perf_counter() - t0,
                                 "fingerprint_collisions": int((~ok).sum())}}}


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


def settle_task(ctx: StepContext, arg: tuple[dict, int]) -> dict[str, Any]:
    """Spans of shard ``j`` to remove, each with a twin that stays: no token that any run names as its
    twin is removed, so each run loses the twins that lie inside it (what is left of it is still a
    repeat of the twin's corresponding part, or of the run's own twin)."""
    layout, j = arg
    t0 = time.perf_counter()
    off = layout["shard_offsets"]
    lo, hi = off[j], off[j + 1]
    runs = ctx.read_table("runs", ctx.part(j))
    held_a, held_b = [], []               # twins in this shard, named by runs of this or a later shard
    for c in range(j, ctx.shards):
        t = ctx.read_table("held", ctx.part(c))
        qa = _column(t, "qa")
        a, b = np.searchsorted(qa, [lo, hi]).tolist()
        held_a.append(qa[a:b])
        held_b.append(_column(t, "qb", a, b))
    ha, hb = _merge(np.concatenate(held_a), np.concatenate(held_b))
    # one array type for the kernel whatever Arrow hands out (a zero-copy column is read-only)
    ra, rb, qa, qb, ha, hb = (np.array(x, np.int64) for x in (
        _column(runs, "ra"), _column(runs, "rb"), _column(runs, "qa"), _column(runs, "qb"), ha, hb))
    pa_, pb_, ta, tb = _pieces(ra, rb, qa, qb, ha, hb)
    decisions = DECISION_SCHEMA.empty_table()
    spared = int((rb - ra).sum() - (pb_ - pa_).sum())
    if len(pa_):
        m = ctx.read_table("map", ctx.part(j))
        la, lb = pa_ - lo, pb_ - lo
        twin = _twin_spans(ctx, off, ta, tb)
        decisions = pa.table({
            "_key": pa.array(doc_key(j, _column(m, "row")[la])),
            "start": pa.array(_column(m, "start")[la].astype(np.int64)),
            "end": pa.array(_column(m, "end")[lb - 1].astype(np.int64)),
            "dup_of_id": twin["id"], "dup_of_start": pa.array(twin["start"]),
            "dup_of_end": pa.array(twin["end"]),
            "reason": pa.nulls(len(la), pa.string()), "similarity": pa.nulls(len(la), pa.float64()),
            "value": pa.nulls(len(la), pa.float64()), TWIN_KEY: pa.array(twin["key"]),
        }, schema=DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64()))).sort_by(
            [("_key", "ascending"), ("start", "ascending")])
    ctx.write_decisions(ctx.part(j), decisions)
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


def _twin_spans(ctx: StepContext, offsets: list[int], qa: np.ndarray, qb: np.ndarray) -> dict:
    """Document id and character span of the global token ranges ``qa..qb`` (same document each)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    shard = np.searchsorted(offsets, qa, side="right") - 1
    ids = np.empty(len(qa), dtype=object)
    keys = np.empty(len(qa), np.int64)
    start = np.empty(len(qa), np.int64)
    end = np.empty(len(qa), np.int64)
    for s in np.unique(shard).tolist():
        sel = np.flatnonzero(shard == s)
        t = ctx.read_table("map", ctx.part(s))
        local_a, local_b = qa[sel] - offsets[s], qb[sel] - 1 - offsets[s]
        rows = _column(t, "row")[local_a]
        keys[sel] = doc_key(s, rows.astype(np.int64))
        start[sel] = _column(t, "start")[local_a]
        end[sel] = _column(t, "end")[local_b]
        id_table = ctx.read_table("map", f"{ctx.part(s)}.ids")
        lookup = dict(zip(id_table.column("row").to_pylist(), id_table.column("id").to_pylist()))
        ids[sel] = [lookup[r] for r in rows.tolist()]
    return {"id": pa.array(ids.tolist(), pa.string()), "start": start, "end": end, "key": keys}
