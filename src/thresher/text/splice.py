"""Apply span edits to many texts at once, over the UTF-8 buffer of a string array.

An edit is ``(start, end, replacement)`` in character (code point) offsets of the original text, as in
:func:`thresher.documents.apply_removals`, which does the same for one Python string. Building each
edited text in Python (sort, slice, join, then encode for Arrow) costs a few microseconds per edit and
a Python string per document; this kernel writes all of a shard's edited texts into one new Arrow buffer
in one pass, and gives each text's length and whether anything but whitespace is left (the engine drops
a document its removals emptied). Written by hand (numba) because no library splices by code point.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from .charclass import flag, tables
from .normalize import _char_len, code_point_at, utf8_buffer


@numba.njit(cache=True, nogil=True)
def _put(src, a, b, out, w, flags, ns):  # pragma: no cover - compiled
    """Copy ``src[a:b]`` to ``out[w:]``; returns whether it or ``ns`` holds a non-space character."""
    for k in range(b - a):        # a loop compiles in a fraction of the time of a slice assignment
        out[w + k] = src[a + k]
    i = a
    while not ns and i < b:
        if src[i] & 0xC0 != 0x80 and not (flag(code_point_at(src, i), flags) & 1):
            ns = True
        i += 1
    return ns


@numba.njit(cache=True, nogil=True)
def _chars(src, a, b):  # pragma: no cover - compiled
    """Code points in the UTF-8 bytes ``src[a:b]``."""
    n = 0
    for i in range(a, b):
        if src[i] & 0xC0 != 0x80:
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _byte_at(data, i, e, cc, target):  # pragma: no cover - compiled
    """From byte ``i`` at character ``cc``, the byte of character ``target`` (or ``e``, past the end)."""
    while i < e and cc < target:
        i += _char_len(data[i])
        cc += 1
    return i, cc


@numba.njit(cache=True, nogil=True)
def _splice(data, offsets, char_len, rows, lo, hi, start, end, rdata, roffsets, flags, out,
            out_offsets, out_len, nonspace):  # pragma: no cover - compiled
    """Text ``rows[j]`` with edits ``lo[j]..hi[j]`` (sorted) into ``out``; returns -1, or the index of
    the first edit that is out of order or outside its text. An ASCII text (as many bytes as
    characters) is copied by slices; any other is walked to find each edit's bytes."""
    w = 0
    for j in range(rows.shape[0]):
        out_offsets[j] = w
        r = rows[j]
        i, e = offsets[r], offsets[r + 1]
        length = char_len[r]
        ascii = e - i == length
        cc = 0                     # characters before byte i
        n = length
        ns = False
        for k in range(lo[j], hi[j]):
            if start[k] < cc or end[k] < start[k] or end[k] > length:
                return k
            if ascii:
                a, b = offsets[r] + start[k], offsets[r] + end[k]
            else:
                a, cc = _byte_at(data, i, e, cc, start[k])
                b, cc = _byte_at(data, a, e, cc, end[k])
            ns = _put(data, i, a, out, w, flags, ns)
            w += a - i
            ns = _put(rdata, roffsets[k], roffsets[k + 1], out, w, flags, ns)
            w += roffsets[k + 1] - roffsets[k]
            n += _chars(rdata, roffsets[k], roffsets[k + 1]) - (end[k] - start[k])
            i = b
            cc = end[k]
        ns = _put(data, i, e, out, w, flags, ns)
        w += e - i
        out_len[j] = n
        nonspace[j] = ns
    out_offsets[rows.shape[0]] = w
    return -1


def splice(texts: pa.Array | pa.ChunkedArray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           start: np.ndarray, end: np.ndarray, replacements: list[str | None] | None = None, *,
           lengths: np.ndarray | None = None):
    """Texts ``rows`` of ``texts`` (whose lengths in characters are ``lengths``, if known) with edits
    applied: text ``rows[j]`` gets the edits
    ``lo[j]..hi[j]`` of ``start``, ``end`` (sorted, disjoint, character offsets) and ``replacements``
    (None: remove only).

    Returns ``(array, lengths, nonspace)``: a ``large_string`` array, each text's length in characters,
    and whether it holds a character that is not whitespace. Raises ``ValueError`` on an edit that
    overlaps the previous one or lies outside its text."""
    data, offsets = utf8_buffer(texts)
    rows = np.asarray(rows, np.int64)
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    m = len(start)
    rlen = np.zeros(m + 1, np.int64)
    rbytes = b""
    if replacements is not None and any(replacements):
        enc = [r.encode("utf-8", "surrogatepass") if r else b"" for r in replacements]
        np.cumsum(np.fromiter(map(len, enc), np.int64, m), out=rlen[1:])
        rbytes = b"".join(enc)
    # read-only either way: one numba type, so one compiled kernel
    rdata = np.frombuffer(rbytes or b"\0", np.uint8)
    size = int((offsets[rows + 1] - offsets[rows]).sum()) + len(rbytes)
    out = np.empty(max(size, 1), np.uint8)
    out_offsets = np.empty(len(rows) + 1, np.int64)
    out_len = np.empty(len(rows), np.int64)
    nonspace = np.empty(len(rows), np.bool_)
    if lengths is None:     # code points = bytes that are not continuation bytes
        lead = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80)))
        lengths = lead[offsets[1:]] - lead[offsets[:-1]]
    bad = _splice(data, offsets, np.asarray(lengths, np.int64), rows, np.asarray(lo, np.int64),
                  np.asarray(hi, np.int64), start, end, rdata, rlen, tables()[0], out, out_offsets, out_len,
                  nonspace)
    if bad >= 0:
        raise ValueError(f"edit {int(start[bad])}..{int(end[bad])} overlaps the previous one or lies "
                         f"outside its text")
    array = pa.LargeStringArray.from_buffers(len(rows), pa.py_buffer(out_offsets),
                                             pa.py_buffer(out[:int(out_offsets[-1])]))
    return array, out_len, nonspace
