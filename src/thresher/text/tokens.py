"""Tokens for exact-substring dedup, over the UTF-8 buffer of a string array.

``unit="words"``: a token is a maximal run of non-whitespace characters (whitespace as ``str.isspace``).
``unit="chars"``: every character is a token (whitespace included), for exact character substrings.

Each token gets its document, its character span in the document and a 64-bit id (FNV-1a over its
bytes, then a splitmix64 finaliser). Two different tokens share an id with probability ~2^-64 per pair;
a false repeat needs that to happen for a whole window of consecutive tokens. Written by hand (numba):
two passes over the bytes (count, then fill), no Python object per token.
"""

from __future__ import annotations

import numba
import numpy as np

from .normalize import _char_len, _space_len

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(cache=True, nogil=True)
def _mix(h):  # pragma: no cover - compiled
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


@numba.njit(cache=True, nogil=True)
def _tokenize(data, starts, lengths, chars, fill, doc, cs, ce, tok):  # pragma: no cover - compiled
    k = 0
    for d in range(starts.shape[0]):
        e = starts[d] + lengths[d]
        i = starts[d]
        cc = 0
        while i < e:
            sp = 0 if chars else _space_len(data, i, e)
            if sp:
                i += sp
                cc += 1
                continue
            # a token: one character, or a run of non-space characters
            h = _FNV_OFFSET
            c0 = cc
            while i < e:
                n = _char_len(data[i])
                if n > e - i:
                    n = e - i
                if fill:                     # the counting pass needs only the boundaries
                    for j in range(i, i + n):
                        h = (h ^ np.uint64(data[j])) * _FNV_PRIME
                i += n
                cc += 1
                if chars or (i < e and _space_len(data, i, e)):
                    break
            if fill:
                doc[k] = d
                cs[k] = c0
                ce[k] = cc
                tok[k] = _mix(h)
            k += 1
    return k


def tokenize(data: np.ndarray, offsets: np.ndarray, *, unit: str = "words"):
    """Tokens of every string ``data[offsets[i]:offsets[i+1]]``.

    Returns ``doc`` (int32), ``start``, ``end`` (int64 character offsets within the document) and
    ``token`` (uint64 ids), parallel arrays in document then position order."""
    starts = np.asarray(offsets[:-1], np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    chars = unit == "chars"
    empty_i, empty_u = np.zeros(0, np.int64), np.zeros(0, np.uint64)
    n = _tokenize(data, starts, lengths, chars, False, empty_i, empty_i, empty_i, empty_u)
    doc = np.empty(n, np.int64)
    cs = np.empty(n, np.int64)
    ce = np.empty(n, np.int64)
    tok = np.empty(n, np.uint64)
    _tokenize(data, starts, lengths, chars, True, doc, cs, ce, tok)
    return doc.astype(np.int32), cs, ce, tok
