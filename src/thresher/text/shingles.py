"""Shingles for near-duplicate detection: hashed word n-grams (or character n-grams) per document.

Normalisation, as the issue and text-dedup/datatrove do: Unicode NFKC, lower case, punctuation dropped.
A word is a maximal run of letters and digits: ASCII ``[0-9A-Za-z_]`` and every non-ASCII character
except whitespace and the punctuation of Latin-1 Supplement (U+00A1-U+00BF, U+00D7, U+00F7) and General
Punctuation (U+2000-U+206F). ASCII documents go straight to the numba kernel; others are normalised
with ``unicodedata.normalize("NFKC", text).lower()`` first (both C loops).

A shingle is ``n`` consecutive words (``unit="words"``) or ``n`` consecutive non-space characters
(``unit="chars"``, for scripts written without spaces: Chinese, Japanese, Thai). ``unit="auto"`` picks
characters for a document at least 30% of whose non-space characters are in such scripts. A document
shorter than ``n`` units is one shingle. Shingle ids are 64-bit (word hashes combined by a multiply-xor
chain); sets are returned sorted and unique, ready for exact Jaccard.
"""

from __future__ import annotations

import unicodedata

import numba
import numpy as np

from .normalize import _char_len, code_point3
from .tokens import _FNV_OFFSET, _FNV_PRIME, _mix


_ALNUM = np.zeros(128, dtype=np.bool_)
_ALNUM[[*range(48, 58), *range(65, 91), *range(97, 123), 95]] = True
_LOWER64 = np.arange(128, dtype=np.uint64)
_LOWER64[65:91] += np.uint64(32)


@numba.njit(cache=True, nogil=True)
def _word_byte(data, i, e):  # pragma: no cover - compiled
    """Bytes of the character at ``i`` if it belongs to a word, else 0 (and its length as negative)."""
    c = data[i]
    if c < 0x80:
        if (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95:
            return 1
        return -1
    n = _char_len(c)
    if n > e - i:
        n = e - i
    if c == 0xC2 and i + 1 < e and (data[i + 1] >= 0x80 and data[i + 1] <= 0xBF):
        return -n                                   # U+0080-U+00BF: controls, NBSP, Latin-1 punctuation
    if c == 0xC3 and i + 1 < e and (data[i + 1] == 0x97 or data[i + 1] == 0xB7):
        return -n                                   # × ÷
    if c == 0xE2 and i + 1 < e and (data[i + 1] == 0x80 or data[i + 1] == 0x81):
        return -n                                   # U+2000-U+207F: spaces and General Punctuation
    if c == 0xE3 and i + 2 < e and data[i + 1] == 0x80 and data[i + 2] <= 0x82:
        return -n                                   # U+3000-U+3002: ideographic space, comma, stop
    return n


@numba.njit(cache=True, nogil=True)
def _combine(ring, a, b):  # pragma: no cover - compiled
    s = np.uint64(0x9E3779B97F4A7C15)
    for t in range(a, b):
        s = (s ^ ring[t & 63]) * np.uint64(0x100000001B3)
        s ^= s >> np.uint64(29)
    return _mix(s)


@numba.njit(cache=True, nogil=True)
def _shingle_doc(data, i, e, chars, ngram, ring, out, k):  # pragma: no cover - compiled
    """Shingles of one document ``data[i:e]`` written from ``out[k]`` on; returns the new ``k``, or -1
    if ``out`` is full."""
    nw = 0
    cap = out.shape[0]
    while i < e:
        c = data[i]
        if c < 128:                                # ASCII fast path: a table lookup
            if not _ALNUM[c]:
                i += 1
                continue
        else:
            step = _word_byte(data, i, e)
            if step < 0:                           # a separator character
                i -= step
                continue
        h = _FNV_OFFSET                            # a unit: one character, or a whole word
        while i < e:
            c = data[i]
            if c < 128:
                if not _ALNUM[c]:
                    break
                h = (h ^ _LOWER64[c]) * _FNV_PRIME
                i += 1
            else:
                step = _word_byte(data, i, e)
                if step < 0:
                    break
                for j in range(i, i + step):
                    h = (h ^ np.uint64(data[j])) * _FNV_PRIME
                i += step
            if chars:
                break
        ring[nw & 63] = _mix(h)
        nw += 1
        if nw >= ngram:
            if k >= cap:
                return -1
            out[k] = _combine(ring, nw - ngram, nw)
            k += 1
    if 0 < nw < ngram:                             # a short document is one shingle
        if k >= cap:
            return -1
        out[k] = _combine(ring, 0, nw)
        k += 1
    return k


@numba.njit(cache=True, nogil=True)
def _shingle_kernel(data0, data1, which, starts, lengths, chars_of, ngram, offsets, out):  # pragma: no cover
    """One pass; document ``d`` is read from ``data1`` if ``which[d]`` else ``data0``; its shingles go
    to ``out[offsets[d]:offsets[d+1]]`` (``out`` must hold every shingle: one per unit at most, plus
    one per document). The buffer is chosen by a call per branch, not a variable: a variable holding
    either array makes the loop 4x slower."""
    k = 0
    ring = np.zeros(64, np.uint64)
    for d in range(starts.shape[0]):
        s, e = starts[d], starts[d] + lengths[d]
        if which[d]:
            k = _shingle_doc(data1, s, e, chars_of[d], ngram, ring, out, k)
        else:
            k = _shingle_doc(data0, s, e, chars_of[d], ngram, ring, out, k)
        if k < 0:
            return -1
        offsets[d + 1] = k
    return k


@numba.njit(cache=True, nogil=True)
def _non_ascii_docs(data, starts, lengths):  # pragma: no cover - compiled
    out = np.zeros(starts.shape[0], np.bool_)
    for d in range(starts.shape[0]):
        for i in range(starts[d], starts[d] + lengths[d]):
            if data[i] >= 128:
                out[d] = True
                break
    return out


@numba.njit(cache=True, nogil=True)
def _sort_unique(ids, offsets):  # pragma: no cover - compiled
    """Sort each segment ``ids[offsets[d]:offsets[d+1]]`` and drop repeats; returns new offsets and ids."""
    n = offsets.shape[0] - 1
    out = np.empty_like(ids)
    new = np.zeros(n + 1, np.int64)
    w = 0
    for d in range(n):
        seg = np.sort(ids[offsets[d]: offsets[d + 1]])
        for j in range(seg.shape[0]):
            if j == 0 or seg[j] != seg[j - 1]:
                out[w] = seg[j]
                w += 1
        new[d + 1] = w
    return new, out[:w]


#: Code-point ranges of scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, CJK
#: radicals to ideographs (kana included), CJK compatibility ideographs, half-width kana.
_UNSPACED = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x9FFF), (0xF900, 0xFAFF),
             (0xFF66, 0xFF9F))


_UNSPACED_RANGES = np.array(_UNSPACED, np.uint32)
# _unspaced_kernel decodes three-byte UTF-8 sequences only
assert all(0x800 <= lo <= hi <= 0xFFFF for lo, hi in _UNSPACED), "a range outside U+0800..U+FFFF"


@numba.njit(cache=True, nogil=True)
def _unspaced_kernel(data, offsets, ranges, out):  # pragma: no cover - compiled
    for d in range(out.shape[0]):
        n = 0
        unspaced = 0
        e = offsets[d + 1]
        for i in range(offsets[d], e):
            b = data[i]
            if b < 0x80:
                if b != 32 and b != 10 and b != 9:
                    n += 1
            elif b >= 0xC0:                  # a lead byte: one character
                n += 1
                # every range is in the BMP above U+0800: three-byte sequences only
                if b >= 0xE0 and b < 0xF0 and i + 2 < e:
                    c = code_point3(data, i)
                    for r in range(ranges.shape[0]):
                        if ranges[r, 0] <= c <= ranges[r, 1]:
                            unspaced += 1
                            break
        out[d] = n > 0 and unspaced >= 0.3 * n


def unspaced_texts(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each UTF-8 text ``data[offsets[d]:offsets[d+1]]``: True if at least 30% of its characters
    other than space, newline and tab belong to scripts written without spaces (``_UNSPACED``).

    Compiled over the UTF-8 bytes in one pass (every range lies in U+0800..U+FFFF, so only three-byte
    sequences are decoded): decoding every text to code points first, then counting with numpy masks
    and cumulative sums, cost 1.1 s of a 5 s near-duplicate run on webdocs (cProfile)."""
    out = np.zeros(len(offsets) - 1, np.bool_)
    _unspaced_kernel(data, np.asarray(offsets, np.int64), _UNSPACED_RANGES, out)
    return out


def shingles(texts, *, ngram: int = 5, unit: str = "words",
             unique: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Shingle ids of every text: ``(offsets, ids)``, text ``i`` owning ``ids[offsets[i]:offsets[i+1]]``;
    sorted and unique unless ``unique=False`` (signatures do not need it).

    ``texts`` is an Arrow string array (ASCII texts are then read from its buffer without a copy into
    Python objects) or a list of str."""
    if ngram > 64:
        raise ValueError("ngram must be at most 64")
    import pyarrow as pa

    from .normalize import utf8_buffer

    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.large_string())
    data, offsets = utf8_buffer(arr)
    n = len(offsets) - 1
    starts, lengths = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    non_ascii = _non_ascii_docs(data, starts, lengths)
    chars = np.full(n, unit == "chars")
    which = non_ascii                        # non-ASCII documents are read, normalised, from data1
    # both buffers of one numba type: read-only (bytes) or writable (bytearray) like ``data``
    as_buffer = bytearray if data.flags.writeable else bytes
    data1 = np.frombuffer(as_buffer(b""), np.uint8)
    if non_ascii.any():                      # NFKC and lower case in Python (C loops), for these only
        idx = np.flatnonzero(non_ascii)
        norm = [unicodedata.normalize("NFKC", t).lower() for t in arr.take(pa.array(idx)).to_pylist()]
        enc = [t.encode("utf-8") for t in norm]
        lengths = lengths.copy()
        starts = starts.copy()
        lengths[idx] = np.fromiter(map(len, enc), np.int64, len(enc))
        starts[idx] = np.concatenate([[0], np.cumsum(lengths[idx])[:-1]])
        data1 = np.frombuffer(as_buffer(b"".join(enc)), np.uint8)
        if unit == "auto":
            chars[idx] = unspaced_texts(data1, np.concatenate([[0], np.cumsum(lengths[idx])]))
    # output sized for ordinary text (a word and its separator: 4+ bytes); the safe bound, one unit per
    # byte, is only allocated if that overflows: fresh pages cost more than the kernel itself
    total = int(lengths.sum())
    out_offsets = np.zeros(n + 1, np.int64)
    for cap in (total // 4 + n + 1, total + n + 1):
        ids = np.empty(cap, np.uint64)
        k = _shingle_kernel(data, data1, which, starts, lengths, chars, ngram, out_offsets, ids)
        if k >= 0:
            break
    ids = ids[:k]
    return _sort_unique(ids, out_offsets) if unique else (out_offsets, ids)
