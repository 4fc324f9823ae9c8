"""Which lines hold a trigger word: a compiled Aho-Corasick automaton, case-insensitive, run per line.

The keyword rules of ``boilerplate`` are a case-insensitive regex alternation of ~70 phrases, which
Python's ``re`` tries phrase by phrase at every position; so only lines that hold one of the phrases'
literal trigger words go through the regex. pyahocorasick finds them, but returns a Python tuple per hit and
scans one ``str`` per call; this module turns the same automaton into a full transition table so that a
numba kernel can flag the lines of a whole shard in one pass over its code points (one table lookup per
character). ``boilerplate`` walks it inside the line-feature loop (:func:`thresher.steps.boilerplate.lines.
line_features_batch` with ``triggers``), where the rest of the loop's work hides the walk's chain of
dependent loads: 0.17 s for features and flags of 12,000 webdocs texts, against 0.32 s for the
features and then :meth:`TriggerAutomaton.flag_lines` as a pass of its own (``python
benchmarks/kernels.py``).
Written by hand because no library exposes an Aho-Corasick automaton as arrays.

Case: ASCII letters are folded to lower case. The four non-ASCII characters that Python's
``re.IGNORECASE`` matches to ASCII letters (U+0130 'İ', U+0131 'ı', U+017F 'ſ', U+212A 'K') flag their
line unconditionally, so the flagged lines are a superset of those the regex can match in.
"""

from __future__ import annotations

from collections import deque

import numba
import numpy as np

#: Characters matched case-insensitively to an ASCII letter by Python's ``re`` (see module docstring).
_WILD_CHARS = (0x0130, 0x0131, 0x017F, 0x212A)
WILD = 255
#: ``accept`` bits: some pattern ends here; a marked pattern ends here.
ANY = 1
MARKED = 2


class TriggerAutomaton:
    """A case-insensitive multi-pattern matcher over ASCII patterns, as arrays for the kernels.

    ``sym[cp]`` maps a code point below ``len(sym)`` to its symbol (0: in no pattern, ``WILD``: flag
    unconditionally); ``trans[state, symbol]`` is the next state; ``accept[state]`` which patterns end
    there: :data:`ANY` for every pattern, plus :data:`MARKED` for one of ``marked`` (a subset of
    ``patterns`` whose hits a caller wants told apart)."""

    def __init__(self, patterns: tuple[str, ...], *, marked: tuple[str, ...] = ()):
        words = sorted({p.lower() for p in patterns})
        if not words or any(not w.isascii() or not w for w in words):
            raise ValueError("trigger patterns must be non-empty ASCII strings")
        strong = {p.lower() for p in marked}
        if not strong <= set(words):
            raise ValueError(f"marked trigger patterns not among the patterns: {sorted(strong - set(words))}")
        alphabet = sorted({ch for w in words for ch in w})
        sym = np.zeros(max(_WILD_CHARS) + 1, np.uint8)
        for i, ch in enumerate(alphabet, 1):
            sym[ord(ch)] = i
            if ch.isalpha():
                sym[ord(ch.upper())] = i
        for cp in _WILD_CHARS:
            sym[cp] = WILD
        n_sym = len(alphabet) + 1
        # trie
        goto: list[dict[int, int]] = [{}]
        accept = [0]
        for w in words:
            s = 0
            for ch in w:
                c = int(sym[ord(ch)])
                if c not in goto[s]:
                    goto.append({})
                    accept.append(0)
                    goto[s][c] = len(goto) - 1
                s = goto[s][c]
            accept[s] |= ANY | (MARKED if w in strong else 0)
        # breadth-first: failure links folded into a full transition table
        trans = np.zeros((len(goto), n_sym), np.int32)
        fail = [0] * len(goto)
        queue = deque()
        for c, t in goto[0].items():
            trans[0, c] = t
            queue.append(t)
        while queue:
            s = queue.popleft()
            accept[s] |= accept[fail[s]]
            for c in range(n_sym):
                t = goto[s].get(c)
                if t is None:
                    trans[s, c] = trans[fail[s], c]
                else:
                    fail[t] = trans[fail[s], c]
                    trans[s, c] = t
                    queue.append(t)
        self.sym = sym
        self.trans = trans
        self.accept = np.array(accept, dtype=np.uint8)
        # the same table for the line kernel's walk: rows padded to a power of two, each entry the next
        # state's row offset, so one step is an add and a load (``row = steps[row + symbol]``);
        # ``accept[row >> shift]`` says which patterns end there
        self.shift = (n_sym - 1).bit_length()
        padded = np.zeros((len(goto), 1 << self.shift), np.int32)
        padded[:, :n_sym] = trans << self.shift
        self.steps = padded.ravel()

    def flag_lines(self, cp: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Whether ``cp[start[i]:end[i]]`` holds a pattern (or a wild character), for every ``i``."""
        out = np.zeros(len(start), np.bool_)
        _flag_lines(cp, start, end, self.sym, self.trans, self.accept, out)
        return out

    def flag_text(self, text: str) -> bool:
        """Whether ``text`` holds a pattern (or a wild character): the kernel on one span."""
        from ...text.charclass import code_points
        cp = code_points(text)
        return bool(self.flag_lines(cp, np.array([0]), np.array([len(cp)]))[0])


@numba.njit(cache=True, nogil=True)
def _flag_lines(cp, start, end, sym, trans, accept, out):  # pragma: no cover - compiled
    n_sym = sym.shape[0]
    for i in range(start.shape[0]):
        state = 0
        for j in range(start[i], end[i]):
            c = cp[j]
            s = sym[c] if c < n_sym else 0
            if s == 255:
                out[i] = True
                break
            state = trans[state, s]
            if accept[state]:
                out[i] = True
                break
