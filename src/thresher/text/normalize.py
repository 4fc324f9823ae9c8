"""Text normalisation and 128-bit fingerprints for exact matching.

The canonical form used by exact dedup: Unicode normalisation (NFC by default), optionally lower case,
whitespace runs folded to one space with leading and trailing whitespace removed, i.e.
``" ".join(unicodedata.normalize(form, text).split())``. Its fingerprint is XXH3-128 of the UTF-8 bytes.

:func:`fingerprints` computes that for a whole Arrow string array. ASCII documents (the bulk of web text)
are folded by a numba kernel in one pass over the array's byte buffer; the rest go through the Python
expression above. Written by hand because nothing folds whitespace over Arrow buffers fast: measured on
webdocs, ``pyarrow.compute``'s regex replace runs at ~60 MB/s, Python's ``split``/``join`` at ~125 MB/s,
a multi-pass numpy version at ~50 MB/s (memory bound).
"""

from __future__ import annotations

import unicodedata

import numba
import numpy as np
import pyarrow as pa
import xxhash

#: ASCII bytes that ``str.split()`` treats as whitespace: \t \n \v \f \r, \x1c-\x1f and space.
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_IDENTITY = np.arange(256, dtype=np.uint8)
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32


def canonical(text: str, *, normalization: str = "NFC", lowercase: bool = False,
              fold_whitespace: bool = True) -> str:
    """The canonical form of one text (reference implementation of what :func:`fingerprints` hashes)."""
    if normalization != "none":
        text = unicodedata.normalize(normalization, text)
    if lowercase:
        text = text.lower()
    if fold_whitespace:
        text = " ".join(text.split())
    return text


def _as_large_string(arr: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


@numba.njit(cache=True, nogil=True)
def _space_len(data, i, end):  # pragma: no cover - compiled
    """Length in bytes of the whitespace character starting at ``data[i]`` (0 if none): the ASCII ones
    and the UTF-8 encodings of U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
    U+3000, exactly the characters for which ``str.isspace()`` is true."""
    c = data[i]
    if c < 128:
        return 1 if _WS[c] else 0
    if c == 0xC2 and i + 1 < end:
        d = data[i + 1]
        return 2 if d == 0x85 or d == 0xA0 else 0
    if i + 2 >= end:
        return 0
    d, e = data[i + 1], data[i + 2]
    if c == 0xE2:
        if d == 0x80 and (0x80 <= e <= 0x8A or e == 0xA8 or e == 0xA9 or e == 0xAF):
            return 3
        if d == 0x81 and e == 0x9F:
            return 3
        return 0
    if c == 0xE1 and d == 0x9A and e == 0x80:
        return 3
    if c == 0xE3 and d == 0x80 and e == 0x80:
        return 3
    return 0


@numba.njit(cache=True, nogil=True)
def _fold_kernel(data, starts, lengths, table, fold):  # pragma: no cover - compiled
    """One pass over the bytes: map each byte through ``table`` (identity or ASCII lower case), fold
    whitespace runs (dropping leading and trailing ones), and flag documents holding non-ASCII bytes."""
    n = starts.shape[0]
    out = np.empty(data.shape[0], dtype=np.uint8)
    begins = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    ascii_doc = np.ones(n, dtype=np.bool_)
    w = 0
    for d in range(n):
        begins[d] = w
        pending = False
        i = starts[d]
        end = starts[d] + lengths[d]
        while i < end:
            c = data[i]
            k = 0
            if c < 128:              # fast path: the bulk of web text
                if fold and _WS[c]:
                    k = 1
            else:
                ascii_doc[d] = False
                if fold and (c == 0xC2 or 0xE1 <= c <= 0xE3):
                    k = _space_len(data, i, end)
            if k:
                pending = w > begins[d]
                i += k
                continue
            if pending:
                out[w] = 32
                w += 1
                pending = False
            out[w] = table[c]
            w += 1
            i += 1
        ends[d] = w
    return out, begins, ends, ascii_doc


@numba.njit(cache=True, nogil=True, inline="always")
def code_point3(data, i):  # pragma: no cover - compiled
    """The code point of the three-byte UTF-8 sequence at ``data[i]`` (lead byte 0xE0-0xEF)."""
    return ((np.uint32(data[i]) & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) \
        | (np.uint32(data[i + 2]) & 0x3F)


@numba.njit(cache=True, nogil=True)
def _char_len(c):  # pragma: no cover - compiled
    """Bytes of the UTF-8 sequence whose lead byte is ``c``."""
    if c < 0x80:
        return 1
    if c < 0xE0:
        return 2
    if c < 0xF0:
        return 3
    return 4


@numba.njit(cache=True, nogil=True, inline="always")
def code_point_at(data, i):  # pragma: no cover - compiled
    """The code point of the (valid) UTF-8 sequence that starts at ``data[i]``."""
    b = np.uint32(data[i])
    if b < 0x80:
        return b
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F)
    if b < 0xF0:
        return code_point3(data, i)
    return ((b & 0x07) << 18) | ((np.uint32(data[i + 1]) & 0x3F) << 12) \
        | ((np.uint32(data[i + 2]) & 0x3F) << 6) | (np.uint32(data[i + 3]) & 0x3F)


@numba.njit(cache=True, nogil=True)
def decode_utf8(data, offsets, cp, char_offsets):  # pragma: no cover - compiled
    """Decode valid UTF-8 (Arrow guarantees it) text ``d`` = ``data[offsets[d]:offsets[d+1]]`` into code
    points ``cp[char_offsets[d]:char_offsets[d+1]]``; returns how many."""
    k = 0
    for d in range(offsets.shape[0] - 1):
        char_offsets[d] = k
        i = offsets[d]
        end = offsets[d + 1]
        while i < end:
            cp[k] = code_point_at(data, i)
            i += _char_len(data[i])
            k += 1
    char_offsets[offsets.shape[0] - 1] = k
    return k


def utf8_buffer(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string array and the byte offset of each string in them (n + 1 values)."""
    arr = _as_large_string(arr)
    n = len(arr)
    if n == 0:
        return _readonly(np.zeros(0, np.uint8)), np.zeros(1, np.int64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    base = int(offsets[0])
    values = arr.buffers()[2]
    data = (np.frombuffer(values, dtype=np.uint8)[base: int(offsets[-1])] if values is not None
            else np.zeros(0, np.uint8))
    return _readonly(data), offsets - base


def _readonly(data: np.ndarray) -> np.ndarray:
    """``data`` as a read-only view. An Arrow buffer is read-only or not depending on how it was
    made, and numba compiles a kernel once per flavour: one flavour halves the compiling."""
    view = data.view()
    view.flags.writeable = False
    return view


def fingerprints(arr: pa.Array | pa.ChunkedArray, *, normalization: str = "NFC",
                 lowercase: bool = False, fold_whitespace: bool = True) -> np.ndarray:
    """XXH3-128 of the canonical form of every string: an ``(n, 2)`` uint64 array (high, low)."""
    data, offsets = utf8_buffer(arr)
    return span_fingerprints(data, offsets[:-1], np.diff(offsets), normalization=normalization,
                             lowercase=lowercase, fold_whitespace=fold_whitespace)


def span_fingerprints(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, *,
                      normalization: str = "NFC", lowercase: bool = False,
                      fold_whitespace: bool = True) -> np.ndarray:
    """XXH3-128 of the canonical form of the byte spans ``data[starts[i]: starts[i] + lengths[i]]``
    (each a whole UTF-8 sequence): an ``(n, 2)`` uint64 array (high, low)."""
    n = len(starts)
    if n == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    folded, begins, ends, ascii_doc = _fold_kernel(
        data, np.asarray(starts, np.int64), np.asarray(lengths, np.int64),
        _LOWER if lowercase else _IDENTITY, fold_whitespace)
    return folded_digests(folded, begins, ends, ascii_doc, data, starts, lengths, normalization=normalization,
                          lowercase=lowercase, fold_whitespace=fold_whitespace)


def folded_digests(folded: np.ndarray, begins: np.ndarray, ends: np.ndarray, ascii_span: np.ndarray,
                   data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, *, normalization: str,
                   lowercase: bool, fold_whitespace: bool) -> np.ndarray:
    """XXH3-128 of each span, given a kernel's folded bytes ``folded[begins[i]:ends[i]]`` of span
    ``data[starts[i]: starts[i] + lengths[i]]``: the folded bytes are its canonical form when the span
    is ASCII (``ascii_span``); other spans are normalised in Python from their original bytes."""
    n = len(begins)
    buf = memoryview(folded)
    digests = []
    for i, (b, e, is_ascii) in enumerate(zip(begins.tolist(), ends.tolist(), ascii_span.tolist())):
        if not is_ascii:
            # the kernel's bytes are the canonical form unless the text changes under normalisation or
            # needs non-ASCII lower-casing (ASCII is invariant under NFC and NFKC)
            s0 = int(starts[i])
            text = data[s0: s0 + int(lengths[i])].tobytes().decode("utf-8")
            if lowercase or (normalization != "none" and not unicodedata.is_normalized(normalization, text)):
                text = canonical(text, normalization=normalization, lowercase=lowercase,
                                 fold_whitespace=fold_whitespace)
                digests.append(xxhash.xxh3_128_digest(text.encode("utf-8")))
                continue
        digests.append(xxhash.xxh3_128_digest(buf[b:e]))
    return np.frombuffer(b"".join(digests), dtype=">u8").reshape(n, 2).astype(np.uint64)
