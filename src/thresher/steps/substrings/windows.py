"""Kernels of ``substrings``: window fingerprints, their buckets, runs of repeated windows.

A window is ``w`` consecutive tokens of one document. Its fingerprint is a polynomial hash of its token
ids modulo 2^64 (odd base, so a rolling update is one multiply-add per token), passed through a
splitmix64 finaliser so that its top bits are uniform and can pick a bucket. Token ids are themselves
pseudo-random 64-bit values (:mod:`thresher.text.tokens`), so two different windows share a
fingerprint with probability ~2^-64; equal fingerprints are only candidates, and every candidate is
verified token by token (:func:`verified`). Written by hand (numba): no library rolls a hash over
64-bit token ids or fills buckets without a sort.
"""

from __future__ import annotations

import numba
import numpy as np

from ...text.tokens import _mix

#: Top bits of a fingerprint that name its bucket: the window phase's tasks take contiguous bucket
#: ranges, so a task's windows are those of a fingerprint range.
BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS
_BASE = np.uint64(0x9E3779B97F4A7C15)       # odd


@numba.njit(cache=True, nogil=True)
def _fingerprints(tok, row, w, fp, pos):  # pragma: no cover - compiled
    """Fill ``fp`` and ``pos`` with the fingerprint and start of every window that lies in one
    document, in position order; return how many."""
    n = tok.shape[0]
    top = np.uint64(1)                       # _BASE ** (w - 1): the weight of a window's first token
    for _ in range(w - 1):
        top *= _BASE
    k = 0
    a = 0
    while a < n:                             # a..b: one document's tokens
        b = a
        while b < n and row[b] == row[a]:
            b += 1
        if b - a >= w:
            h = np.uint64(0)
            for i in range(a, a + w):
                h = h * _BASE + tok[i]
            for p in range(a, b - w + 1):
                fp[k] = _mix(h)
                pos[k] = p
                k += 1
                if p + w < b:
                    h = (h - tok[p] * top) * _BASE + tok[p + w]
        a = b
    return k


@numba.njit(cache=True, nogil=True)
def _bucket_order(fp):  # pragma: no cover - compiled
    """A counting sort by bucket (stable, so positions stay ascending within a bucket): the order and
    the bucket bounds (``BUCKETS + 1`` offsets)."""
    shift = np.uint64(64 - BUCKET_BITS)
    bounds = np.zeros(BUCKETS + 1, np.int64)
    for i in range(fp.shape[0]):
        bounds[np.int64(fp[i] >> shift) + 1] += 1
    for b in range(BUCKETS):
        bounds[b + 1] += bounds[b]
    fill = bounds[:-1].copy()
    order = np.empty(fp.shape[0], np.int64)
    for i in range(fp.shape[0]):
        b = np.int64(fp[i] >> shift)
        order[fill[b]] = i
        fill[b] += 1
    return order, bounds


def bucketed_windows(tok: np.ndarray, row: np.ndarray, w: int):
    """Every window of the shard's tokens, ordered by bucket: (fingerprint, start, bucket bounds)."""
    n = max(len(tok) - w + 1, 0)
    fp = np.empty(n, np.uint64)
    pos = np.empty(n, np.uint32 if len(tok) < 2**32 else np.int64)
    k = _fingerprints(np.ascontiguousarray(tok, np.uint64), np.ascontiguousarray(row, np.int32), w, fp, pos)
    fp, pos = fp[:k], pos[:k]
    order, bounds = _bucket_order(fp)
    return fp[order], pos[order], bounds


def repeats(fp: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose fingerprint an earlier window has: ``(pos, src)`` with ``src`` the earliest window
    of that fingerprint, sorted by ``pos``."""
    order = np.argsort(fp)
    fs = fp[order]
    same = fs[1:] == fs[:-1]
    member = np.zeros(len(fs), bool)          # windows of a fingerprint that occurs more than once
    member[1:] |= same
    member[:-1] |= same
    idx = order[member]
    fs, gs = fs[member], pos[idx]
    if not len(fs):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], fs[1:] != fs[:-1]]))
    first = np.minimum.reduceat(gs, starts)
    src = np.repeat(first, np.diff(np.append(starts, len(fs))))
    later = gs != src
    p, s = gs[later], src[later]
    order = np.argsort(p)
    return p[order], s[order]


@numba.njit(cache=True, nogil=True)
def _stretches(pos, src):  # pragma: no cover - compiled
    """Maximal stretches of pairs in which both ``pos`` and ``src`` step by one: their first index."""
    n = pos.shape[0]
    out = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        if i == 0 or pos[i] != pos[i - 1] + 1 or src[i] != src[i - 1] + 1:
            out[k] = i
            k += 1
    return out[:k]


@numba.njit(cache=True, nogil=True)
def ranges(starts, lengths):  # pragma: no cover - compiled
    """The concatenation of ``arange(starts[i], starts[i] + lengths[i])``."""
    out = np.empty(lengths.sum(), np.int64)
    k = 0
    for i in range(starts.shape[0]):
        for j in range(lengths[i]):
            out[k] = starts[i] + j
            k += 1
    return out


def verified(pos: np.ndarray, src: np.ndarray, w: int, own, other, *, batch: int = 4_000_000) -> np.ndarray:
    """Which candidate repeats hold: window ``pos[i]`` equals window ``src[i]`` token by token.

    ``own(idx)`` and ``other(idx)`` return the token ids at global positions ``idx`` (``own``: of the
    shard that holds every ``pos``; ``other``: anywhere earlier). Pairs are compared a stretch at a time
    (consecutive windows whose sources are consecutive share all but one token), in batches of about
    ``batch`` tokens so that memory is bounded however the repeats fall."""
    ok = np.zeros(len(pos), bool)
    if not len(pos):
        return ok
    first = _stretches(pos, src)
    length = np.diff(np.append(first, len(pos)))
    span = length + (w - 1)                   # tokens a stretch covers
    cut = np.searchsorted(np.cumsum(span), np.arange(batch, span.sum() + batch, batch), side="right")
    lo = 0
    for hi in np.unique(np.append(cut, len(first))).tolist():
        if hi <= lo:
            continue
        f, sp = first[lo:hi], span[lo:hi]
        mine, theirs = own(ranges(pos[f], sp)), other(ranges(src[f], sp))
        bad = np.concatenate([[0], np.cumsum(mine != theirs)])
        base = np.concatenate([[0], np.cumsum(sp)[:-1]])       # where each stretch starts in the batch
        win = ranges(base, length[lo:hi])                       # each window's first token in the batch
        ok[first[lo]: first[hi - 1] + length[hi - 1]] = bad[win + w] == bad[win]
        lo = hi
    return ok
