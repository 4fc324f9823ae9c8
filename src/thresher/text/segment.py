"""Paragraph segmentation over the UTF-8 buffer of a string array, with character offsets.

A paragraph is a maximal run of non-blank lines (``mode="blank_lines"``, the default) or one non-blank
line (``mode="lines"``); a blank line holds only ASCII whitespace. For each paragraph the kernel gives:

- its content (leading and trailing whitespace trimmed) as a byte span, for hashing, and as a character
  span, for the removal record and for ``dup_of``;
- its *cut*: the character span to delete when the paragraph is a repeat, which also takes the separator
  after it (or, for a document's last paragraph, the separator before it), so removing a paragraph
  never leaves a run of blank lines behind.

Written by hand (numba) because segmenting with Python's ``re`` and slicing strings costs several passes
and a Python object per paragraph; this is one pass and counts characters (code points) as it goes.
"""

from __future__ import annotations

import numba
import numpy as np

from .normalize import _LOWER, _IDENTITY, _WS, _space_len, folded_digests


@numba.njit(cache=True, nogil=True)
def _span_buffers(data, n):  # pragma: no cover - compiled
    """Output arrays (doc, b0, b1, c0, c1) large enough for every line of ``n`` texts in ``data``."""
    cap = n + 1
    for i in range(data.shape[0]):
        if data[i] == 10:
            cap += 1
    return (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64),
            np.empty(cap, np.int64), np.empty(cap, np.int64))


@numba.njit(cache=True, nogil=True, inline="always")
def _visible(data, i, cc, first, first_c, last_c):  # pragma: no cover - compiled
    """Account byte ``i`` of a non-whitespace character (``cc`` characters before it): the span's first
    byte and character, its last byte (continuation bytes included) and last character."""
    if first < 0:
        first, first_c = i, cc
    if data[i] < 0x80 or data[i] >= 0xC0:     # a lead byte starts a character
        last_c = cc
        cc += 1
    return first, first_c, i, last_c, cc


@numba.njit(cache=True, nogil=True)
def _paragraph_kernel(data, starts, lengths, by_line):  # pragma: no cover - compiled
    n = starts.shape[0]
    doc, b0, b1, c0, c1 = _span_buffers(data, n)
    k = 0
    for d in range(n):
        e = starts[d] + lengths[d]
        i = starts[d]
        cc = 0            # characters before byte i
        open_ = False     # the previous line belongs to the current paragraph
        while i < e:
            first, first_c, last, last_c = -1, 0, -1, 0
            while i < e and data[i] != 10:           # one line
                c = data[i]
                lead = c < 0x80 or c >= 0xC0
                sp = _space_len(data, i, e)           # any Unicode whitespace (not the newline)
                if sp:
                    i += sp
                    cc += 1
                    continue
                if first < 0:
                    first, first_c = i, cc
                last = i                              # last byte, continuation bytes included
                if lead:
                    last_c = cc
                    cc += 1
                i += 1
            if first >= 0:
                if not open_:                         # a new paragraph starts on this line
                    doc[k], b0[k], c0[k] = d, first, first_c
                    k += 1
                b1[k - 1], c1[k - 1] = last + 1, last_c + 1
                open_ = not by_line
            else:
                open_ = False                         # a blank line ends the paragraph
            if i < e:                                 # step over the newline
                i += 1
                cc += 1
    return doc[:k], b0[:k], b1[:k], c0[:k], c1[:k]


def paragraphs(data: np.ndarray, offsets: np.ndarray, *, mode: str = "blank_lines"):
    """Paragraphs of every string ``data[offsets[i]:offsets[i+1]]``.

    Returns parallel arrays ``doc, byte_start, byte_end, start, end, cut_start, cut_end`` (byte offsets
    into ``data``; character offsets within the document)."""
    starts = np.asarray(offsets[:-1], np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    doc, b0, b1, c0, c1 = _paragraph_kernel(data, starts, lengths, mode == "lines")
    cut0, cut1 = _cuts(doc, c0, c1)
    return doc, b0, b1, c0, c1, cut0, cut1


def _cuts(doc: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each paragraph's cut (see the module docstring) from the character spans of all paragraphs."""
    cut0, cut1 = c0.copy(), c1.copy()
    if len(doc):
        same_next = np.zeros(len(doc), dtype=bool)
        same_next[:-1] = doc[1:] == doc[:-1]
        same_prev = np.zeros(len(doc), dtype=bool)
        same_prev[1:] = same_next[:-1]
        # a paragraph followed by another takes the separator after it ...
        cut1[same_next] = c0[1:][same_next[:-1]]
        # ... and a document's last paragraph (not its only one) takes the separator before it
        last = ~same_next & same_prev
        cut0[last] = c1[:-1][last[1:]]
    return cut0, cut1


#: Byte classes of the fused line kernel: 0 ASCII non-whitespace, 1 ASCII whitespace but the newline,
#: 2 the newline, 3 a byte of a multi-byte character.
_CLASS = np.where(_WS, 1, 0).astype(np.uint8)
_CLASS[10] = 2
_CLASS[128:] = 3


@numba.njit(cache=True, nogil=True)
def _folded_line_kernel(data, starts, lengths, table):  # pragma: no cover - compiled
    """``_paragraph_kernel`` by line, fused with ``normalize._fold_kernel`` over each line: the same
    spans, plus each line's bytes mapped through ``table`` with whitespace runs folded to one space
    (``folded[f0:f1]``) and whether the line is ASCII. One pass instead of two (the fold of a whole line
    equals that of its trimmed span: leading whitespace writes nothing, a trailing run is never written)."""
    n = starts.shape[0]
    doc, b0, b1, c0, c1 = _span_buffers(data, n)
    f0 = np.empty_like(doc)
    f1 = np.empty_like(doc)
    is_ascii = np.empty(doc.shape[0], np.bool_)
    out = np.empty(data.shape[0], np.uint8)
    k = 0
    w = 0
    for d in range(n):
        e = starts[d] + lengths[d]
        i = starts[d]
        cc = 0                                        # characters before byte i
        while i < e:
            first, first_c, last, last_c = -1, 0, -1, 0
            begin = w
            pending = False
            ascii_line = True
            while i < e:                              # one line
                c = data[i]
                cls = _CLASS[c]
                if cls < 2:                           # ASCII, not a newline: no branch on the class
                    ns = np.int64(1 - cls)            # 1: not whitespace
                    out[w] = 32                       # a pending space lands here if a word follows
                    w += np.int64(pending) * ns
                    out[w] = table[c]                 # the byte lands if it is not whitespace
                    w += ns
                    pending = (cls == 1) & (w > begin)
                    if first < 0 and ns:
                        first, first_c = i, cc
                    last += (i - last) * ns
                    last_c += (cc - last_c) * ns
                    cc += 1
                    i += 1
                    continue
                if c == 10:
                    break
                ascii_line = False                    # non-ASCII: a whitespace character or not
                sp = _space_len(data, i, e) if (c == 0xC2 or 0xE1 <= c <= 0xE3) else 0
                if sp:
                    pending = w > begin
                    i += sp
                    cc += 1
                    continue
                first, first_c, last, last_c, cc = _visible(data, i, cc, first, first_c, last_c)
                out[w] = 32                           # the pending space, if any, then the byte
                w += np.int64(pending)
                out[w] = table[c]
                w += 1
                pending = False
                i += 1
            if first >= 0:
                doc[k], b0[k], c0[k], b1[k], c1[k] = d, first, first_c, last + 1, last_c + 1
                f0[k], f1[k], is_ascii[k] = begin, w, ascii_line
                k += 1
            else:
                w = begin
            if i < e:                                 # step over the newline
                i += 1
                cc += 1
    return doc[:k], b0[:k], b1[:k], c0[:k], c1[:k], out, f0[:k], f1[:k], is_ascii[:k]


def keyed_lines(data: np.ndarray, offsets: np.ndarray, *, normalization: str = "NFKC",
                lowercase: bool = True):
    """The non-blank lines of every string (``paragraphs(mode="lines")``), each with the XXH3-128 of its
    canonical form (``normalize.span_fingerprints`` with whitespace folded), from one pass over the bytes.

    Returns ``doc, start, end, cut_start, cut_end, key`` (character offsets; key ``(n, 2)`` uint64)."""
    starts = np.asarray(offsets[:-1], np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    doc, b0, b1, c0, c1, folded, f0, f1, is_ascii = _folded_line_kernel(
        data, starts, lengths, _LOWER if lowercase else _IDENTITY)
    key = folded_digests(folded, f0, f1, is_ascii, data, b0, b1 - b0, normalization=normalization,
                         lowercase=lowercase, fold_whitespace=True)
    cut0, cut1 = _cuts(doc, c0, c1)
    return doc, c0, c1, cut0, cut1, key
