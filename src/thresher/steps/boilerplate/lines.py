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

from ...text.charclass import ALPHA, DIGIT, LOWER, SPACE, UPPER, code_points, flag as _flag, tables
from .triggers import ANY, MARKED, WILD, TriggerAutomaton

HAS_ALPHA = 1
HAS_LOWER = 2
HAS_UPPER = 4
ENDS_SENTENCE = 8
HAS_DIGIT = 16
HAS_TRIGGER = 32    # the line holds a trigger word of the automaton passed in (triggers.py)
HAS_MARKED = 64     # the line holds one of the automaton's marked trigger words (or a wild character)


def _line_bits() -> np.ndarray:
    """The line bits a character of flags ``f`` (:mod:`~thresher.text.charclass`) sets: none for
    whitespace; HAS_UPPER only for a character that is not also lower case."""
    out = np.zeros(128, np.int64)
    for f in range(128):
        if not f & SPACE:
            case = HAS_LOWER if f & LOWER else HAS_UPPER if f & UPPER else 0
            out[f] = (HAS_ALPHA if f & ALPHA else 0) | case | (HAS_DIGIT if f & DIGIT else 0)
    return out


_LINE_BITS = _line_bits()
_NO_SYMBOLS = np.zeros(0, np.uint8)
_NO_STEPS = np.zeros(1, np.int32)
_NO_ACCEPT = np.zeros(1, np.uint8)


@numba.njit(cache=True, nogil=True)
def _lines(cp, flags, sym, steps, shift, accept, start, end, words, longest, bits):  # pragma: no cover
    n = cp.shape[0]
    n_sym = sym.shape[0]
    k = 0
    a = 0
    while a <= n:
        b = a
        nw = 0
        lw = 0
        cur = 0
        fb = 0
        row = 0
        hit = 0
        while b < n and cp[b] != 10:
            c = cp[b]
            # the trigger automaton's walk (triggers.py): a chain of dependent loads, which the
            # rest of this loop's work overlaps
            s = sym[c] if c < n_sym else 0
            if s == WILD:
                hit |= ANY | MARKED
                s = 0
            row = steps[row + s]
            hit |= accept[row >> shift]
            # no branch on the character's class: whitespace and words alternate too irregularly for
            # the branch predictor
            f = _flag(c, flags)
            cur = 0 if f & 1 else cur + 1
            nw += cur == 1
            lw = max(lw, cur)
            fb |= _LINE_BITS[f]
            b += 1
        if hit & ANY:
            fb |= HAS_TRIGGER
        if hit & MARKED:
            fb |= HAS_MARKED
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
    k = _lines(cp, flags, _NO_SYMBOLS, _NO_STEPS, 0, _NO_ACCEPT, start, end, words, longest, bits)
    return start[:k], end[:k], words[:k], longest[:k], bits[:k]


@numba.njit(cache=True, nogil=True)
def _lines_batch(cp, offsets, flags, sym, steps, shift, accept, doc, start, end, words, longest,
                 bits):  # pragma: no cover - compiled
    k = 0
    for d in range(offsets.shape[0] - 1):
        m = _lines(cp[offsets[d]:offsets[d + 1]], flags, sym, steps, shift, accept, start[k:], end[k:],
                   words[k:], longest[k:], bits[k:])
        doc[k:k + m] = d
        k += m
    return k


def line_features_batch(cp: np.ndarray, offsets: np.ndarray, *, triggers: TriggerAutomaton | None = None):
    """:func:`line_features` of every text of a batch (``cp``, ``offsets`` of a
    :class:`~thresher.text.charclass.TextBatch`): ``doc, start, end, words, longest, bits``,
    with ``start``/``end`` relative to the text ``doc``. With ``triggers``, ``bits`` has
    :data:`HAS_TRIGGER` where :meth:`TriggerAutomaton.flag_lines` would flag the line, and
    :data:`HAS_MARKED` where the line holds one of its marked words (or a wild character)."""
    flags, _ = tables()
    auto = ((triggers.sym, triggers.steps, triggers.shift, triggers.accept) if triggers
            else (_NO_SYMBOLS, _NO_STEPS, 0, _NO_ACCEPT))
    m = int(np.count_nonzero(cp == 10)) + len(offsets) - 1
    doc = np.empty(m, np.int64)
    out = [np.empty(m, np.int64) for _ in range(5)]
    k = _lines_batch(cp, offsets, flags, *auto, doc, *out)
    return (doc[:k], *(a[:k] for a in out))
