"""Phases of ``near_dup``: signatures per shard, buckets and candidates by hash partition,
verification shard by shard, clustering over verified edges only.

    map (per shard)           shingles → signatures → band keys, plus sampled shingles; records
                              ``(kind, key, doc, length, samples)`` partitioned by key hash on disk
    near_dup.buckets (per P)  a bucket (equal band key, or equal sampled shingle) pairs each member with
                              its ``max_fanout`` best-ranked members; pairs partitioned by pair hash
    near_dup.candidates (P)   pairs summed: a candidate shares a band, or half the smaller document's
                              sampled shingles; written sorted by the first document
    near_dup.verify (shard)   exact Jaccard and containment from shingle sets recomputed from the current
                              texts of this shard and, one at a time, of each shard it pairs with
                              (``verify = false``: estimates from the signatures the map saved and
                              from the candidates' sampled shingles)
    near_dup.reduce (one)     greedy clustering over verified edges (no signatures, no texts):
                              decisions for the next pass and OUT/clusters/part-000000.parquet

Memory: a map task holds one shard; a bucket or candidate task one partition of records or pairs; a
verify task two shards' shingle sets; the clustering task the verified edges (duplicates only, ~60
bytes each), never signatures.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pyarrow as pa

from ...documents import row_of, shard_of
from ...text.tokens import _mix
from ..global_step import DECISION_SCHEMA, TWIN_KEY, Phase, Task
from .minhash import band_keys, sampled_shingles, signatures, similarities

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView
    from . import NearDup


def map_shard(step: "NearDup", view: ShardView, ctx: StepContext) -> dict[str, Any]:
    """Signatures and band keys of the shard's live documents, and their sampled shingles."""
    c = step.config
    rows = view.live_rows()
    offsets, ids = step.shingle_sets(view.texts(rows), unique=False)
    sig = signatures(ids, offsets, num_perm=c.num_perm, seed=c.seed)
    keys = band_keys(sig, bands=step.bands, rows=step.rows)
    nonempty = np.diff(offsets) > 0
    doc_keys = view.keys(rows)
    length = view.lengths(rows).astype(np.int64)
    # sampled shingles, unique per document (containment candidates)
    if c.containment > 0:
        s_doc, s_id = sampled_shingles(ids, offsets, rate=c.sample_rate)
    else:
        s_doc, s_id = np.zeros(0, np.int64), np.zeros(0, np.uint64)
    nsamp = np.bincount(s_doc, minlength=len(rows)).astype(np.int32)
    b_doc = np.repeat(np.flatnonzero(nonempty), step.bands)
    b_key = keys[nonempty].reshape(-1)
    kind = np.concatenate([np.zeros(len(b_key), np.int8), np.ones(len(s_id), np.int8)])
    key = np.concatenate([b_key, s_id])
    doc = np.concatenate([b_doc, s_doc]).astype(np.int64)
    table = pa.table({"kind": pa.array(kind), "key": pa.array(key), "_key": pa.array(doc_keys[doc]),
                      "len": pa.array(length[doc]), "nsamp": pa.array(nsamp[doc])})
    part = (_mix_array(key) % np.uint64(ctx.partitions)).astype(np.int64)
    ctx.write_partitioned("records", part, table, ctx.part(view.shard))
    if not c.verify:              # the estimates need the signatures again
        ctx.write_table("signatures", ctx.part(view.shard), pa.table({
            "row": pa.array(rows.astype(np.int64)),
            "sig": pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1)), c.num_perm)}))
    held = view.holds_twins(rows)
    if held.any():     # twins an earlier step named: kept here whatever their neighbours
        ctx.write_table("protected", ctx.part(view.shard), pa.table({"_key": pa.array(doc_keys[held])}))
    return {"docs": int(len(rows)), "shingles": int(len(ids))}


def reduce_phases(ctx: StepContext) -> list[Phase]:
    P = ctx.partitions
    return [
        Phase("buckets", [Task(f"p{p:05d}", buckets_task, p) for p in range(P)]),
        Phase("candidates", [Task(f"p{p:05d}", candidates_task, p) for p in range(P)]),
        Phase("verify", [Task(ctx.part(s), verify_task, s) for s in range(ctx.shards)]),
        Phase("reduce", [Task("all", cluster_task, ctx.shards)]),
    ]


def _mix_array(x: np.ndarray) -> np.ndarray:
    return _mix_vec(np.asarray(x, np.uint64))


@numba.njit(cache=True, nogil=True)
def _mix_vec(x):  # pragma: no cover - compiled
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = _mix(x[i] ^ np.uint64(0x5851F42D4C957F2D))
    return out


@numba.njit(cache=True, nogil=True)
def _bucket_pairs(group_start, members, fanout, max_group):  # pragma: no cover - compiled
    """Pairs (i, j) of member indices: every member with each of its group's first ``fanout`` members
    (groups sorted by rank); groups larger than ``max_group`` (if > 0) are skipped."""
    total = 0
    for g in range(group_start.shape[0] - 1):
        m = group_start[g + 1] - group_start[g]
        if m < 2 or (max_group > 0 and m > max_group):
            continue
        f = min(m, fanout)
        total += f * m - f * (f + 1) // 2
    a = np.empty(total, np.int64)
    b = np.empty(total, np.int64)
    k = 0
    for g in range(group_start.shape[0] - 1):
        s, e = group_start[g], group_start[g + 1]
        m = e - s
        if m < 2 or (max_group > 0 and m > max_group):
            continue
        f = min(m, fanout)
        for i in range(s, s + f):
            for j in range(i + 1, e):
                a[k] = members[i]
                b[k] = members[j]
                k += 1
    return a[:k], b[:k]


def buckets_task(ctx: StepContext, p: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = ctx.step.config
    rec = ctx.read_partition("records", p)
    pairs = 0
    if rec is not None and rec.num_rows:
        kind = rec.column("kind").to_numpy()
        key = rec.column("key").to_numpy()
        doc = rec.column("_key").to_numpy()
        length = rec.column("len").to_numpy()
        rank = doc if c.keep == "first" else -length
        # most keys occur once and pair nothing: one sort by key finds the repeated ones, and only
        # those are ordered into groups of (kind, key), best-ranked first
        by_key = np.argsort(key)
        k_sorted = key[by_key]
        same = k_sorted[1:] == k_sorted[:-1]
        repeated = np.zeros(len(key), bool)
        repeated[1:] |= same
        repeated[:-1] |= same
        sel = by_key[repeated]
        order = sel[np.lexsort((doc[sel], rank[sel], key[sel], kind[sel]))]
        kind, key, doc = kind[order], key[order], doc[order]
        new = np.ones(len(key), bool)
        new[1:] = (key[1:] != key[:-1]) | (kind[1:] != kind[:-1])
        starts = np.concatenate([np.flatnonzero(new), [len(key)]]).astype(np.int64)
        out = []
        for is_sample in (0, 1):
            sel = np.flatnonzero(kind[starts[:-1]] == is_sample)
            if not len(sel):
                continue
            g_start = starts[sel]
            g_end = starts[sel + 1]
            # the groups of one kind are contiguous: rebase them onto their own member array
            lo, hi = int(g_start[0]), int(g_end[-1])
            members = np.arange(lo, hi, dtype=np.int64)
            gs = np.concatenate([g_start, [hi]]) - lo
            ia, ib = _bucket_pairs(gs, members, c.max_fanout, c.max_sample_group if is_sample else 0)
            out.append((ia, ib, is_sample))
        nsamp = rec.column("nsamp").to_numpy()[order]
        tables, parts = [], []
        for ia, ib, is_sample in out:
            if not len(ia):
                continue
            swap = doc[ia] > doc[ib]                  # normalise: a is the earlier document
            ia, ib = np.where(swap, ib, ia), np.where(swap, ia, ib)
            t = pa.table({
                "a": pa.array(doc[ia]), "b": pa.array(doc[ib]),
                "band": pa.array(np.full(len(ia), not is_sample)),
                "shared": pa.array(np.full(len(ia), 1 if is_sample else 0, np.int32)),
                "nsamp_a": pa.array(nsamp[ia]), "nsamp_b": pa.array(nsamp[ib]),
            })
            tables.append(t)
            parts.append(_mix_array(doc[ia].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                                    ^ doc[ib].astype(np.uint64)))
            pairs += len(ia)
        if tables:
            table = pa.concat_tables(tables)
            part = (np.concatenate(parts) % np.uint64(ctx.partitions)).astype(np.int64)
            ctx.write_partitioned("pairs", part, table, f"p{p:05d}")
    return {"pairs": pairs, "steps": {ctx.name: {"seconds": time.perf_counter() - t0}}}


def candidates_task(ctx: StepContext, q: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = ctx.step.config
    pairs = ctx.read_partition("pairs", q)
    out = None
    n = 0
    if pairs is not None and pairs.num_rows:
        g = pairs.group_by(["a", "b"], use_threads=False).aggregate([
            ("band", "max"), ("shared", "sum"), ("nsamp_a", "max"), ("nsamp_b", "max")])
        g = g.rename_columns([col.rsplit("_", 1)[0] if col.endswith(("_max", "_sum", "_min")) else col
                              for col in g.column_names])
        band = g.column("band").to_numpy(zero_copy_only=False)
        shared = g.column("shared").to_numpy()
        need = np.maximum(2, np.ceil(0.5 * np.minimum(g.column("nsamp_a").to_numpy(),
                                                      g.column("nsamp_b").to_numpy())))
        keep = band | ((c.containment > 0) & (shared >= need))
        out = g.filter(pa.array(keep)).select(list(CANDIDATE_SCHEMA.names)).cast(CANDIDATE_SCHEMA)
        out = out.sort_by([("a", "ascending"), ("b", "ascending")])
        n = out.num_rows
    if out is None:
        out = CANDIDATE_SCHEMA.empty_table()
    ctx.write_by_shard("candidates", f"p{q:05d}", out, shard_of(out.column("a").to_numpy()))
    return {"candidates": n, "steps": {ctx.name: {"seconds": time.perf_counter() - t0, "candidates": n}}}


#: A candidate pair (``a`` the earlier document) and the sampled shingles behind it: ``shared`` by
#: both, and each one's count (the containment estimate when ``verify = false``).
CANDIDATE_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("shared", pa.int64()),
                              ("nsamp_a", pa.int32()), ("nsamp_b", pa.int32())])


def _shard_side(ctx: StepContext, shard: int, rows: np.ndarray):
    """What verification compares of ``rows`` of ``shard``: their sorted unique shingle sets
    ``(offsets, ids)``, from their texts as the map side saw them, or, with ``verify = false``, their
    signatures; and each row's id, current length and original length."""
    step = ctx.step
    view = ctx.view(shard)
    meta = {"id": view.ids(rows), "len": view.lengths(rows), "olen": view.original_lengths(rows)}
    if step.config.verify:
        return step.shingle_sets(view.texts(rows)), meta
    t = ctx.read_table("signatures", ctx.part(shard))
    sig = t.column("sig").combine_chunks().flatten().to_numpy().reshape(-1, step.config.num_perm)
    return sig[np.searchsorted(t.column("row").to_numpy(), rows)], meta


def verify_task(ctx: StepContext, s: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = ctx.step.config
    cand = ctx.read_shard("candidates", s)
    verified = []
    n_cand = 0
    if cand is not None and cand.num_rows:
        cand = cand.sort_by([("b", "ascending"), ("a", "ascending")])
        n_cand = cand.num_rows
        a = cand.column("a").to_numpy()
        b = cand.column("b").to_numpy()
        a_rows = np.unique(row_of(a))
        side_a, meta_a = _shard_side(ctx, s, a_rows)
        ia = np.searchsorted(a_rows, row_of(a))
        b_shard = shard_of(b)
        sims = np.empty((len(a), 3))
        if not c.verify:              # containment estimate: shares of sampled shingles
            shared = cand.column("shared").to_numpy().astype(np.float64)
            for col, side in ((1, "a"), (2, "b")):
                nsamp = cand.column(f"nsamp_{side}").to_numpy()
                sims[:, col] = np.divide(shared, nsamp, out=np.zeros(len(a)), where=nsamp > 0)
        meta = {f"{f}_{side}": np.empty(len(a), dtype=object if f == "id" else np.int64)
                for f in ("len", "olen", "id") for side in "ab"}
        for f in ("len", "olen"):
            meta[f"{f}_a"][:] = meta_a[f][ia]
        meta["id_a"][:] = np.asarray(meta_a["id"].to_pylist(), dtype=object)[ia]
        for t in np.unique(b_shard).tolist():
            sel = np.flatnonzero(b_shard == t)
            b_rows = np.unique(row_of(b[sel]))
            side_b, meta_b = _shard_side(ctx, t, b_rows)
            ib = np.searchsorted(b_rows, row_of(b[sel]))
            if c.verify:
                (off_a, ids_a), (off_b, ids_b) = side_a, side_b
                sims[sel] = similarities(ids_a, off_a, ia[sel], ids_b, off_b, ib)
            else:                     # Jaccard estimate: the share of equal signature values
                sims[sel, 0] = (side_a[ia[sel]] == side_b[ib]).mean(axis=1)
            for f in ("len", "olen"):
                meta[f"{f}_b"][sel] = meta_b[f][ib]
            meta["id_b"][sel] = np.asarray(meta_b["id"].to_pylist(), dtype=object)[ib]
        ok = (sims[:, 0] >= c.threshold) | ((c.containment > 0) &
                                            ((sims[:, 1] >= c.containment) | (sims[:, 2] >= c.containment)))
        verified.append(pa.table({
            "a": pa.array(a[ok]), "b": pa.array(b[ok]), "jaccard": pa.array(sims[ok, 0]),
            "in_b": pa.array(sims[ok, 1]), "in_a": pa.array(sims[ok, 2]),
            **{k: pa.array(v[ok].tolist(), pa.string() if k.startswith("id") else pa.int64())
               for k, v in meta.items()}}))
    table = pa.concat_tables(verified) if verified else None
    if table is not None:
        ctx.write_table("verified", ctx.part(s), table, compress=False)
    n_ok = table.num_rows if table is not None else 0
    return {"steps": {ctx.name: {"seconds": time.perf_counter() - t0,
                             ("verified" if c.verify else "estimated"): n_ok, "rejected": n_cand - n_ok}}}


@numba.njit(cache=True, nogil=True)
def _greedy(order, indptr, nbr, sim_j, sim_in, threshold, containment, fixed):  # pragma: no cover
    """Visit nodes in ``order``; an undecided node is kept and removes each undecided neighbour that
    is verified against it, except ``fixed`` ones (twins of an earlier step, always kept). Returns
    (state: 1 kept / 2 removed / 0 alone, twin, similarity, kind)."""
    n = indptr.shape[0] - 1
    state = np.zeros(n, np.int8)
    twin = np.full(n, -1, np.int64)
    sim = np.zeros(n, np.float64)
    kind = np.zeros(n, np.int8)               # 1 jaccard, 2 containment
    for v in order:
        if state[v] != 0:
            continue
        state[v] = 1
        for e in range(indptr[v], indptr[v + 1]):
            u = nbr[e]
            if state[u] != 0 or fixed[u]:
                continue
            if sim_j[e] >= threshold:
                state[u], twin[u], sim[u], kind[u] = 2, v, sim_j[e], 1
            elif containment > 0 and sim_in[e] >= containment:   # share of u inside v
                state[u], twin[u], sim[u], kind[u] = 2, v, sim_in[e], 2
    return state, twin, sim, kind


def cluster_task(ctx: StepContext, shards: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = ctx.step.config
    edges = ctx.read_all("verified")
    decisions = DECISION_SCHEMA.empty_table()
    clusters = pa.table({"doc_id": pa.array([], pa.string()), "doc_key": pa.array([], pa.int64()),
                         "cluster_id": pa.array([], pa.int64()), "kept": pa.array([], pa.bool_()),
                         "representative_id": pa.array([], pa.string()),
                         "similarity": pa.array([], pa.float64()), "reason": pa.array([], pa.string())})
    removed = 0
    if edges is not None and edges.num_rows:
        a = edges.column("a").to_numpy()
        b = edges.column("b").to_numpy()
        nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
        ia, ib = inv[: len(a)], inv[len(a):]
        n = len(nodes)
        length = np.zeros(n, np.int64)
        olen = np.zeros(n, np.int64)
        length[ia], length[ib] = edges.column("len_a").to_numpy(), edges.column("len_b").to_numpy()
        olen[ia], olen[ib] = edges.column("olen_a").to_numpy(), edges.column("olen_b").to_numpy()
        ids = np.empty(n, dtype=object)
        ids[ia] = edges.column("id_a").to_pylist()
        ids[ib] = edges.column("id_b").to_pylist()
        jac = edges.column("jaccard").to_numpy()
        in_b, in_a = edges.column("in_b").to_numpy(), edges.column("in_a").to_numpy()
        # both directions: from a, the neighbour b's share inside a is in_a; from b, a's is in_b
        src = np.concatenate([ia, ib])
        dst = np.concatenate([ib, ia])
        sj = np.concatenate([jac, jac])
        sin = np.concatenate([in_a, in_b])
        order_e = np.lexsort((nodes[dst], src))
        src, dst, sj, sin = src[order_e], dst[order_e], sj[order_e], sin[order_e]
        indptr = np.zeros(n + 1, np.int64)
        indptr[1:] = np.cumsum(np.bincount(src, minlength=n))
        protected = ctx.read_all("protected")
        fixed = np.zeros(n, np.bool_)
        if protected is not None:
            fixed = np.isin(nodes, protected.column("_key").to_numpy())
        # twins of earlier steps first (kept), then longest first (or corpus order)
        order = np.lexsort((nodes, -length, ~fixed)) if c.keep == "longest" else np.lexsort((nodes, ~fixed))
        state, twin, sim, kind = _greedy(order.astype(np.int64), indptr, dst, sj, sin,
                                         c.threshold, c.containment, fixed)
        rem = np.flatnonzero(state == 2)
        removed = len(rem)
        reason = np.where(kind[rem] == 1, "jaccard", "containment")
        decisions = pa.table({
            "_key": pa.array(nodes[rem]), "start": pa.array(np.zeros(len(rem), np.int64)),
            "end": pa.array(olen[rem]), "dup_of_id": pa.array(ids[twin[rem]].tolist(), pa.string()),
            "dup_of_start": pa.nulls(len(rem), pa.int64()), "dup_of_end": pa.nulls(len(rem), pa.int64()),
            "reason": pa.array(reason.tolist(), pa.string()), "similarity": pa.array(sim[rem]),
            "value": pa.nulls(len(rem), pa.float64()), TWIN_KEY: pa.array(nodes[twin[rem]]),
        }, schema=DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64()))).sort_by([("_key", "ascending")])
        member = np.flatnonzero(state > 0)
        rep = np.where(state[member] == 2, twin[member], member)
        clusters = pa.table({
            "doc_id": pa.array(ids[member].tolist(), pa.string()), "doc_key": pa.array(nodes[member]),
            "cluster_id": pa.array(nodes[rep]), "kept": pa.array(state[member] == 1),
            "representative_id": pa.array(ids[rep].tolist(), pa.string()),
            "similarity": pa.array(np.where(state[member] == 2, sim[member], np.nan)),
            "reason": pa.array([None if s == 1 else ("jaccard" if k == 1 else "containment")
                                for s, k in zip(state[member].tolist(), kind[member].tolist())], pa.string()),
        })
        # a kept document alone (all its verified neighbours went to others) is no cluster
        sizes = np.bincount(rep, minlength=n)
        clusters = clusters.filter(pa.array(sizes[rep] > 1))
        clusters = clusters.sort_by([("cluster_id", "ascending"), ("doc_key", "ascending")])
        sim_col = clusters.column("similarity").to_numpy(zero_copy_only=False)
        clusters = clusters.set_column(clusters.schema.get_field_index("similarity"), "similarity",
                                       pa.array(sim_col, mask=np.isnan(sim_col)))
    ctx.write_decisions("all", decisions)
    ctx.write_output("clusters", clusters)
    return {"steps": {ctx.name: {"seconds": time.perf_counter() - t0, "clustered_removed": removed}}}
