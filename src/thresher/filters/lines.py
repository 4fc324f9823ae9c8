"""Per-line features for the boilerplate rules, in one compiled pass over a document's code points.

C4's and RefinedWeb's line rules need, per line, its word count, its longest word, whether it has a
letter, a lower-case or an upper-case letter, and whether it ends a sentence. Computed in Python per
line (``split``, ``isupper``, a regex for letters) they cost ~3 us a line; this kernel gives all of them
for a whole document at once, so that the rules become a few numpy comparisons. Written by hand (numba)
because the loop does not vectorise.
"""

from __future__ import annotations

import numba
import numpy as np

from .charclass import code_points, flag as _flag, tables

HAS_ALPHA = 1
HAS_LOWER = 2
HAS_UPPER = 4
ENDS_SENTENCE = 8
HAS_DIGIT = 16

@numba.njit(cache=True, nogil=True)
def _lines(cp, flags, start, end, words, longest, bits):  # pragma: no cover - compiled
    n = cp.shape[0]
    k = 0
    a = 0
    while a <= n:
        b = a
        nw = 0
        lw = 0
        cur = 0
        fb = 0
        while b < n and cp[b] != 10:
            f = _flag(cp[b], flags)
            if f & 1:
                cur = 0
            else:
                if cur == 0:
                    nw += 1
                cur += 1
                if cur > lw:
                    lw = cur
                if f & 2:
                    fb |= 1
                if f & 64:
                    fb |= 2
                elif f & 8:
                    fb |= 4
                if f & 16:
                    fb |= 16
            b += 1
        # sentence end: last non-space character (C4: . ! ? " and Unicode full stops), not an ellipsis;
        # a closing quote after . ! ? counts too
        e = b
        while e > a and (_flag(cp[e - 1], flags) & 1):
            e -= 1
        if e > a:
            c = cp[e - 1]
            ellipsis = c == 0x2026 or (e - a >= 3 and c == 46 and cp[e - 2] == 46 and cp[e - 3] == 46)
            if not ellipsis:
                if c == 34 or (c != 0x2026 and (_flag(c, flags) & 32)):
                    fb |= 8
                elif (c == 0x201D or c == 0x2019 or c == 39 or c == 0xBB) and e - a >= 2:
                    p = cp[e - 2]
                    if p == 46 or p == 33 or p == 63:
                        fb |= 8
        if b < n or b > a:
            start[k] = a
            end[k] = b
            words[k] = nw
            longest[k] = lw
            bits[k] = fb
            k += 1
        a = b + 1
    return k


def line_features(text: str):
    """``start, end, words, longest, bits`` of every line of ``text`` (``end`` excludes the newline)."""
    flags, _ = tables()
    cp = code_points(text)
    m = text.count("\n") + 1
    start = np.empty(m, np.int64)
    end = np.empty(m, np.int64)
    words = np.empty(m, np.int64)
    longest = np.empty(m, np.int64)
    bits = np.empty(m, np.int64)
    k = _lines(cp, flags, start, end, words, longest, bits)
    return start[:k], end[:k], words[:k], longest[:k], bits[:k]


@numba.njit(cache=True, nogil=True)
def _lines_batch(cp, offsets, flags, doc, start, end, words, longest, bits):  # pragma: no cover
    k = 0
    for d in range(offsets.shape[0] - 1):
        m = _lines(cp[offsets[d]:offsets[d + 1]], flags, start[k:], end[k:], words[k:], longest[k:],
                   bits[k:])
        doc[k:k + m] = d
        k += m
    return k


def line_features_batch(cp: np.ndarray, offsets: np.ndarray):
    """:func:`line_features` of every text of a batch (``cp``, ``offsets`` from
    :func:`~thresher.filters.charclass.code_points_batch`): ``doc, start, end, words, longest, bits``,
    with ``start``/``end`` relative to the text ``doc``."""
    flags, _ = tables()
    m = int(np.count_nonzero(cp == 10)) + len(offsets) - 1
    doc = np.empty(m, np.int64)
    out = [np.empty(m, np.int64) for _ in range(5)]
    k = _lines_batch(cp, offsets, flags, doc, *out)
    return (doc[:k], *(a[:k] for a in out))
