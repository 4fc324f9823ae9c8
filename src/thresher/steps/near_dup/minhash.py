"""MinHash signatures, LSH banding and exact set similarity: the maths of ``near_dup``.

Signatures are one-permutation MinHash with optimal densification (Li, Owen, Zhang 2012; Shrivastava
2017): each shingle is hashed once, the hash picks one of ``num_perm`` bins and the bin keeps its
minimum; an empty bin copies the value of the first non-empty bin that a per-bin hash sequence lands
on. That is O(shingles + num_perm) per document instead of O(shingles x num_perm) for classic MinHash,
with the same collision probability (the Jaccard similarity) per bin. ``benchmarks/near_dup.py``
measures the estimator's error against exact Jaccard on real pairs.

Written with numba because no library computes one-permutation signatures; datasketch and rensa
implement classic MinHash (and rensa's R-MinHash), which this replaces for speed.
"""

from __future__ import annotations

import numba
import numpy as np

from ...text.tokens import _mix

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


@numba.njit(cache=True, nogil=True)
def _oph(ids, offsets, k, seed):  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    sig = np.empty((n, k), np.uint32)
    cur = np.empty(k, np.uint64)
    s = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    kk = np.uint64(k)
    for d in range(n):
        cur[:] = EMPTY
        for j in range(offsets[d], offsets[d + 1]):
            h = _mix(ids[j] ^ s)
            b = ((h >> np.uint64(32)) * kk) >> np.uint64(32)
            v = h & np.uint64(0xFFFFFFFF)
            if v < cur[b]:
                cur[b] = v
        if offsets[d + 1] > offsets[d]:
            for b in range(k):                      # optimal densification
                if cur[b] == EMPTY:
                    attempt = np.uint64(1)
                    while True:
                        t = _mix(s ^ (np.uint64(b) * np.uint64(0xD6E8FEB86659FD93) + attempt))
                        src = ((t >> np.uint64(32)) * kk) >> np.uint64(32)
                        if cur[src] != EMPTY and src != b:
                            sig[d, b] = np.uint32(cur[src])
                            break
                        attempt += np.uint64(1)
                else:
                    sig[d, b] = np.uint32(cur[b])
        else:
            for b in range(k):
                sig[d, b] = np.uint32(0xFFFFFFFF)
    return sig


def signatures(ids: np.ndarray, offsets: np.ndarray, *, num_perm: int, seed: int) -> np.ndarray:
    """``(documents, num_perm)`` uint32 signatures of the shingle sets ``ids[offsets[d]:offsets[d+1]]``
    (unsorted and repeated shingles are fine)."""
    return _oph(np.asarray(ids, np.uint64), np.asarray(offsets, np.int64), int(num_perm), int(seed))


@numba.njit(cache=True, nogil=True)
def _band_keys(sig, bands, rows):  # pragma: no cover - compiled
    n = sig.shape[0]
    out = np.empty((n, bands), np.uint64)
    for d in range(n):
        for b in range(bands):
            h = np.uint64(0x9E3779B97F4A7C15) * np.uint64(b + 1)
            for r in range(b * rows, (b + 1) * rows):
                h = _mix(h ^ np.uint64(sig[d, r]))
            out[d, b] = h
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _sampled(x, rate, mask):  # pragma: no cover - compiled
    return (x & mask) == 0 if mask else x % rate == 0     # a power of two needs no division


@numba.njit(cache=True, nogil=True)
def _sample(ids, offsets, rate):  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    r = np.uint64(rate)
    mask = r - np.uint64(1) if rate & (rate - 1) == 0 else np.uint64(0)
    count = 0
    for j in range(ids.shape[0]):
        if _sampled(ids[j], r, mask):
            count += 1
    doc = np.empty(count, np.int64)
    out = np.empty(count, np.uint64)
    w = 0
    for d in range(n):
        start = w
        for j in range(offsets[d], offsets[d + 1]):
            if _sampled(ids[j], r, mask):
                out[w] = ids[j]
                w += 1
        if w - start > 1:
            out[start:w] = np.sort(out[start:w])
            k = start + 1                                 # drop repeats within the document
            for j in range(start + 1, w):
                if out[j] != out[k - 1]:
                    out[k] = out[j]
                    k += 1
            w = k
        doc[start:w] = d
    return doc[:w], out[:w]


def sampled_shingles(ids: np.ndarray, offsets: np.ndarray, *, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The shingles of each set ``ids[offsets[d]:offsets[d+1]]`` whose id is a multiple of ``rate``,
    sorted and unique per set: ``(set index, id)`` arrays. The same shingle is sampled in every set
    that has it, so shared samples estimate containment (a fixed 1/``rate`` hash sample)."""
    return _sample(np.asarray(ids, np.uint64), np.asarray(offsets, np.int64), int(rate))


def band_keys(sig: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` 64-bit keys; two documents share key ``b`` iff band ``b`` is equal
    (up to a 2^-64 collision), and keys of different bands differ."""
    return _band_keys(sig, int(bands), int(rows))


def optimal_params(threshold: float, num_perm: int, *, fp_weight: float = 0.5,
                   fn_weight: float = 0.5) -> tuple[int, int]:
    """Bands and rows (``bands * rows <= num_perm``) minimising the weighted probability of a false
    positive (a pair below ``threshold`` sharing a band) and of a false negative, integrated over
    similarity, as datasketch's ``MinHashLSH`` does."""
    xs = np.linspace(0.0, 1.0, 2001)
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - xs ** r) ** b
            fp = np.trapezoid(np.where(xs < threshold, p, 0.0), xs)
            fn = np.trapezoid(np.where(xs >= threshold, 1.0 - p, 0.0), xs)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err - 1e-12:
                best, best_err = (b, r), err
    return best


@numba.njit(cache=True, nogil=True)
def _intersect(a, b):  # pragma: no cover - compiled
    i = j = n = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] == b[j]:
            n += 1
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return n


@numba.njit(cache=True, nogil=True)
def _similarities(ids_a, off_a, idx_a, ids_b, off_b, idx_b):  # pragma: no cover - compiled
    n = idx_a.shape[0]
    out = np.empty((n, 3), np.float64)
    for t in range(n):
        a = ids_a[off_a[idx_a[t]]: off_a[idx_a[t] + 1]]
        b = ids_b[off_b[idx_b[t]]: off_b[idx_b[t] + 1]]
        inter = _intersect(a, b)
        union = a.shape[0] + b.shape[0] - inter
        out[t, 0] = inter / union if union else 1.0
        out[t, 1] = inter / a.shape[0] if a.shape[0] else 0.0      # share of a inside b
        out[t, 2] = inter / b.shape[0] if b.shape[0] else 0.0      # share of b inside a
    return out


def similarities(ids_a, off_a, idx_a, ids_b, off_b, idx_b) -> np.ndarray:
    """For each pair ``(idx_a[t], idx_b[t])`` of sorted unique sets: Jaccard, |a∩b|/|a|, |a∩b|/|b|."""
    return _similarities(ids_a, off_a, np.asarray(idx_a, np.int64), ids_b, off_b,
                         np.asarray(idx_b, np.int64))
