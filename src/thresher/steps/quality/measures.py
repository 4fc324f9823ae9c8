"""Document measures of the Gopher, C4 and FineWeb quality rules, in one compiled pass per document.

The published filters compute each measure with its own Python loop over words, lines and n-gram
strings (datatrove's Gopher repetition filter builds every 2..10-gram as a string). Here one numba
kernel reads the document's code points once for tokens and lines, hashes tokens and n-grams to 64 bits
and counts repeats in open-addressing tables, so all 30 measures cost about one pass. Written by hand
because no library computes these measures; numba because the loops do not vectorise.

Definitions (where the papers leave a choice, the choice is datatrove's unless noted):

- *token*: a maximal run of non-whitespace. A *word* is a token with a character that is not punctuation
  or symbol (Gopher's "non-symbol words"); its *length* is counted without leading and trailing
  punctuation (the papers' tokenizers split punctuation off words).
- *title words*: the share of words in title case: the first character after leading punctuation is an
  upper-case letter and a lower-case letter follows ("Home", "McDonald"; not "I", "API", "NOTE").
  thresher's own measure, for title-case navigation, product grids and lists of names; acronyms and
  constants are left out because technical text is full of them.
- *line*: text between ``\\n``; *paragraph*: text between runs of two or more ``\\n``.
- n-grams for repetition are over tokens, case-sensitive; a duplicated n-gram's characters are those of
  its tokens (``"".join``), a top n-gram's include the joining spaces (as datatrove). The top n-gram is
  the most frequent one (the longest among equals), and counts only if it occurs twice or more: datatrove
  scores a text without any repeated n-gram by its longest n-gram, which fails short clean texts.
- *sentence* (C4): a run of terminal punctuation followed by whitespace, a quote or the end, plus a
  trailing unterminated run of text with a letter in it. (C4 used NLTK's Punkt; this counts the same
  on ordinary prose without a model.)
"""

from __future__ import annotations

import numba
import numpy as np

from ...text.tokens import _mix
from ...text.charclass import code_points, flag as _flag, tables

#: Names of the measures, in the order of the kernel's output vector.
MEASURES = (
    "tokens", "words", "mean_word_length", "hash_ratio", "ellipsis_ratio", "bullet_lines",
    "ellipsis_lines", "alpha_words", "stop_words",
    "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
    "top_2gram", "top_3gram", "top_4gram",
    "dup_5gram", "dup_6gram", "dup_7gram", "dup_8gram", "dup_9gram", "dup_10gram",
    "sentences", "line_punct", "short_lines", "line_char_dup", "list_ratio", "curly_brackets", "chars",
    "title_words",
)
IDX = {name: i for i, name in enumerate(MEASURES)}

#: Gopher's stop words (Rae et al. 2021, A.1.1).
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_BULLET = 0x2022   # •
_ELLIPSIS = 0x2026  # …


@numba.njit(cache=True, nogil=True)
def _hash(cp, a, b, lower):  # pragma: no cover - compiled
    h = _FNV_OFFSET
    for i in range(a, b):
        c = cp[i]
        if lower.shape[0] > 0 and c < 0x10000:
            c = lower[c]
        h = (h ^ np.uint64(c)) * _FNV_PRIME
    h = _mix(h)
    return h if h != 0 else np.uint64(1)


@numba.njit(cache=True, nogil=True)
def _table(n):  # pragma: no cover - compiled
    size = 16
    while size < 2 * n + 2:
        size *= 2
    return np.zeros(size, np.uint64), np.zeros(size, np.int64)


@numba.njit(cache=True, nogil=True)
def _insert(keys, counts, h):  # pragma: no cover - compiled
    """Add one occurrence of ``h`` (non-zero); returns the slot."""
    mask = keys.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    while True:
        k = keys[i]
        if k == 0:
            keys[i] = h
            counts[i] = 1
            return i
        if k == h:
            counts[i] += 1
            return i
        i = (i + 1) & mask


@numba.njit(cache=True, nogil=True)
def _dup_elements(hashes, lengths, n):  # pragma: no cover - compiled
    """datatrove's ``find_duplicates``: elements equal to an earlier one, and their characters."""
    keys, counts = _table(n)
    dup, dup_chars = 0, 0
    for i in range(n):
        s = _insert(keys, counts, hashes[i])
        if counts[s] > 1:
            dup += 1
            dup_chars += lengths[i]
    return dup, dup_chars


@numba.njit(cache=True, nogil=True)
def _power(x, g):  # pragma: no cover - compiled
    p = np.uint64(1)
    for _ in range(g):
        p = p * x
    return p


@numba.njit(cache=True, nogil=True)
def _gram(pre, t, g, pg):  # pragma: no cover - compiled
    """Hash of the ``g`` tokens from ``t`` (``pre``: prefix sums of token hashes; ``pg`` = P**g)."""
    h = _mix(pre[t + g] - pre[t] * pg + np.uint64(g))
    return h if h != 0 else np.uint64(1)


@numba.njit(cache=True, nogil=True)
def _measure(cp, flags, lower, stop, short_len, out):  # pragma: no cover - compiled
    n = cp.shape[0]
    empty = np.zeros(0, np.uint32)
    out[:] = 0.0
    out[28] = n
    if n == 0:
        return
    # ---- tokens -------------------------------------------------------------------------------
    cap = n // 2 + 2
    th = np.empty(cap, np.uint64)      # raw token hash (case-sensitive)
    tl = np.empty(cap, np.int64)       # raw token length
    nt = 0
    words = 0
    word_chars = 0
    alpha_tokens = 0
    title = 0
    found = np.zeros(stop.shape[0], np.bool_)
    i = 0
    while i < n:
        if _flag(cp[i], flags) & 1:
            i += 1
            continue
        a = i
        has_alpha = False
        non_symbol = False
        while i < n and not (_flag(cp[i], flags) & 1):
            f = _flag(cp[i], flags)
            if f & 2:
                has_alpha = True
            if not (f & 4):
                non_symbol = True
            i += 1
        b = i
        th[nt] = _hash(cp, a, b, empty)
        tl[nt] = b - a
        nt += 1
        if has_alpha:
            alpha_tokens += 1
        if non_symbol:
            words += 1
            s, e = a, b
            while s < e and (_flag(cp[s], flags) & 4):
                s += 1
            while e > s and (_flag(cp[e - 1], flags) & 4):
                e -= 1
            word_chars += e - s
            if s < e and (_flag(cp[s], flags) & 8):
                for q in range(s + 1, e):
                    if _flag(cp[q], flags) & 64:
                        title += 1
                        break
            if stop.shape[0] > 0 and e - s <= 4:
                h = _hash(cp, s, e, lower)
                for k in range(stop.shape[0]):
                    if stop[k] == h:
                        found[k] = True
    out[0] = nt
    out[1] = words
    out[2] = word_chars / words if words else 0.0
    out[7] = alpha_tokens / nt if nt else 0.0
    out[8] = found.sum()
    out[29] = title / words if words else 0.0
    # ---- symbols ------------------------------------------------------------------------------
    hashes = 0
    ellipses = 0
    curly = 0
    j = 0
    while j < n:
        c = cp[j]
        if c == 35:  # '#'
            hashes += 1
        elif c == 123:  # '{'
            curly += 1
        elif c == _ELLIPSIS:
            ellipses += 1
        elif c == 46 and j + 2 < n and cp[j + 1] == 46 and cp[j + 2] == 46:
            ellipses += 1
            j += 2
        j += 1
    out[3] = hashes / nt if nt else 0.0
    out[4] = ellipses / nt if nt else 0.0
    out[27] = curly
    # ---- sentences (C4) -----------------------------------------------------------------------
    sentences = 0
    pending = False
    j = 0
    while j < n:
        f = _flag(cp[j], flags)
        if f & 32:
            k = j
            while k < n and (_flag(cp[k], flags) & 32):
                k += 1
            while k < n and (cp[k] == 34 or cp[k] == 39 or cp[k] == 0x201D or cp[k] == 0x2019
                             or cp[k] == 41):
                k += 1
            if k == n or (_flag(cp[k], flags) & 1):
                if pending:
                    sentences += 1
                pending = False
            j = k
            continue
        if f & 2 or f & 16:
            pending = True
        j += 1
    if pending:
        sentences += 1
    out[22] = sentences
    # ---- lines --------------------------------------------------------------------------------
    lh = np.empty(n + 1, np.uint64)
    ll = np.empty(n + 1, np.int64)
    nl = 0                        # non-empty lines (Gopher repetition: re.split("\n+"))
    fh = np.empty(n + 1, np.uint64)
    fl = np.empty(n + 1, np.int64)
    nf = 0                        # lines with a non-space character (FineWeb)
    all_lines = 0                 # str.splitlines()-like count (Gopher quality)
    bullets = 0
    ell_lines = 0
    punct_end = 0
    short = 0
    newlines = 0
    a = 0
    while a <= n:
        b = a
        while b < n and cp[b] != 10:
            b += 1
        if b < n:
            newlines += 1
        if b < n or b > a:
            all_lines += 1
        if b > a:
            lh[nl] = _hash(cp, a, b, empty)
            ll[nl] = b - a
            nl += 1
            s = a
            while s < b and (_flag(cp[s], flags) & 1):
                s += 1
            e = b
            while e > s and (_flag(cp[e - 1], flags) & 1):
                e -= 1
            if s < e:
                if cp[s] == _BULLET or cp[s] == 45:
                    bullets += 1
                if cp[e - 1] == _ELLIPSIS or (e - s >= 3 and cp[e - 1] == 46 and cp[e - 2] == 46
                                              and cp[e - 3] == 46):
                    ell_lines += 1
                if _flag(cp[e - 1], flags) & 32:
                    punct_end += 1
                if b - a <= short_len:
                    short += 1
                fh[nf] = lh[nl - 1]
                fl[nf] = b - a
                nf += 1
        a = b + 1
    out[5] = bullets / all_lines if all_lines else 0.0
    out[6] = ell_lines / all_lines if all_lines else 0.0
    d, dc = _dup_elements(lh, ll, nl)
    out[11] = d / nl if nl else 0.0
    out[12] = dc / n
    out[23] = punct_end / nf if nf else 0.0
    out[24] = short / nf if nf else 0.0
    d, dc = _dup_elements(fh, fl, nf)
    out[25] = dc / (n - newlines) if n > newlines else 0.0
    out[26] = newlines / nt if nt else 0.0
    # ---- paragraphs (text.strip() split at 2+ newlines) ---------------------------------------
    s0 = 0
    while s0 < n and (_flag(cp[s0], flags) & 1):
        s0 += 1
    e0 = n
    while e0 > s0 and (_flag(cp[e0 - 1], flags) & 1):
        e0 -= 1
    np_ = 0
    a = s0
    j = s0
    while j <= e0:
        if j == e0 or (cp[j] == 10 and j + 1 < e0 and cp[j + 1] == 10):
            lh[np_] = _hash(cp, a, j, empty)
            ll[np_] = j - a
            np_ += 1
            if j == e0:
                break
            while j < e0 and cp[j] == 10:
                j += 1
            a = j
            continue
        j += 1
    d, dc = _dup_elements(lh, ll, np_)
    out[9] = d / np_ if np_ else 0.0
    out[10] = dc / n
    # ---- n-gram hashes: polynomial over token hashes, from prefix sums (O(1) per n-gram) ------
    pre = np.empty(nt + 1, np.uint64)     # pre[t] = sum th[q] * P^(t-1-q), q < t
    cl = np.empty(nt + 1, np.int64)       # token characters before t
    pre[0] = 0
    cl[0] = 0
    for t in range(nt):
        pre[t + 1] = pre[t] * _FNV_PRIME + th[t]
        cl[t + 1] = cl[t] + tl[t]
    # ---- top n-grams (2, 3, 4) and duplicated n-grams (5..10) --------------------------------
    # An n-gram that occurs twice has a repeated (n-1)-gram prefix at both places, so the (n+1)-grams
    # are counted only at the positions whose n-gram repeats (``rep``): after the 2-grams, each pass
    # reads the few positions that can still matter. A count-1 n-gram never changes a measure: a top
    # n-gram counts only when repeated, and the greedy scan below skips it by one token either way.
    rep = np.arange(max(nt - 1, 0))
    for g in range(2, 11):
        m = 0                                  # positions whose g-gram fits
        while m < rep.shape[0] and rep[m] + g <= nt:
            m += 1
        if m == 0:
            break
        pg = _power(_FNV_PRIME, g)
        keys, counts = _table(m)
        slots = np.empty(m, np.int64)
        best_count, best_chars = 0, 0
        for j in range(m):
            t = rep[j]
            slots[j] = _insert(keys, counts, _gram(pre, t, g, pg))
            if g <= 4:
                c = counts[slots[j]]
                chars = cl[t + g] - cl[t] + g - 1
                if c > best_count or (c == best_count and chars > best_chars):
                    best_count, best_chars = c, chars
        if g <= 4:
            out[13 + g - 2] = best_count * best_chars / n if best_count > 1 else 0.0
        k = 0
        for j in range(m):
            if counts[slots[j]] > 1:
                rep[k] = rep[j]
                k += 1
        rep = rep[:k]
        if g >= 5:
            out[16 + g - 5] = _greedy_repeats(rep, pre, cl, g, pg) / n


@numba.njit(cache=True, nogil=True)
def _greedy_repeats(rep, pre, cl, g, pg):  # pragma: no cover - compiled
    """datatrove's duplicated n-gram characters: scan the positions, skipping ``g`` after an n-gram
    seen before, else one. Only the positions ``rep`` (ascending) hold n-grams that occur twice; the
    rest are always skipped by one, so only these are visited."""
    keys, counts = _table(rep.shape[0])
    repeated = 0
    nxt = 0
    for j in range(rep.shape[0]):
        t = rep[j]
        if t < nxt:
            continue
        slot = _insert(keys, counts, _gram(pre, t, g, pg))
        if counts[slot] > 1:
            repeated += cl[t + g] - cl[t]
            nxt = t + g
        else:
            nxt = t + 1
    return repeated


_STOP_CACHE: dict[tuple[str, ...], np.ndarray] = {}


def stop_hashes(words: tuple[str, ...]) -> np.ndarray:
    """Hashes of lower-cased stop words, as the kernel computes them."""
    if words not in _STOP_CACHE:
        _, lower = tables()
        _STOP_CACHE[words] = np.array([_hash(code_points(w), 0, len(w), lower) for w in words],
                                      dtype=np.uint64)
    return _STOP_CACHE[words]


def measure(text: str, *, stop_words: tuple[str, ...] = STOP_WORDS, short_line_chars: int = 30) -> np.ndarray:
    """All measures of ``text`` (a float64 vector indexed by :data:`IDX`)."""
    flags, lower = tables()
    out = np.empty(len(MEASURES), np.float64)
    _measure(code_points(text), flags, lower, stop_hashes(stop_words), short_line_chars, out)
    return out


@numba.njit(cache=True, nogil=True)
def _measure_batch(cp, offsets, flags, lower, stop, short_len, out):  # pragma: no cover - compiled
    for d in range(offsets.shape[0] - 1):
        _measure(cp[offsets[d]:offsets[d + 1]], flags, lower, stop, short_len, out[d])


def measure_batch(cp: np.ndarray, offsets: np.ndarray, *, stop_words: tuple[str, ...] = STOP_WORDS,
                  short_line_chars: int = 30) -> np.ndarray:
    """:func:`measure` of every text of a batch (``cp``, ``offsets`` of a
    :class:`~thresher.text.charclass.TextBatch`): an ``(n, len(MEASURES))`` float64 array."""
    flags, lower = tables()
    out = np.empty((len(offsets) - 1, len(MEASURES)), np.float64)
    _measure_batch(cp, offsets, flags, lower, stop_hashes(stop_words), short_line_chars, out)
    return out


def measures(text: str, **kw) -> dict[str, float]:
    """The measures of ``text`` by name (for inspection and tests)."""
    return dict(zip(MEASURES, measure(text, **kw).tolist()))
