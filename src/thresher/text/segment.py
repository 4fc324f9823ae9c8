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

from .normalize import _space_len


@numba.njit(cache=True, nogil=True)
def _paragraph_kernel(data, starts, lengths, by_line):  # pragma: no cover - compiled
    n = starts.shape[0]
    cap = n + 1
    for i in range(data.shape[0]):
        if data[i] == 10:
            cap += 1
    doc = np.empty(cap, np.int64)
    b0 = np.empty(cap, np.int64)
    b1 = np.empty(cap, np.int64)
    c0 = np.empty(cap, np.int64)
    c1 = np.empty(cap, np.int64)
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
    return doc, b0, b1, c0, c1, cut0, cut1
