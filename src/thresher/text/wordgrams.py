"""Word n-grams of a normalised word stream, hashed: all of them (of the texts that make an index), or
only those an index holds (of the texts checked against it), with the character span of each.

For contamination checks: a text and a benchmark item match when they share a run of ``n`` words,
whatever their case, punctuation, whitespace or line breaks. A word is a run of letters and digits
(``str.isalpha``/``isnumeric`` for any code point of the Basic Multilingual Plane, from
:mod:`.charclass`; every code point above it is a letter), lower-cased by the same table; apostrophes
and hyphens inside it are dropped ("Jupiter's" is "jupiters", "self-sacrifice" is "selfsacrifice", as
when a copy loses them), and every other character ends it (so "end.Next", as extraction glues
sentences, is two words). A re-wrapped, re-cased or re-punctuated text gives the words of the original.

The hash of words ``a..b`` of a text is a polynomial one over 64-bit word hashes,
``P[b] - P[a] * B**(b-a)`` (wrapping arithmetic, ``B`` odd, ``P`` the prefix values), finalised with the
run length: a window of any length costs the same two prefix values, so one pass looks up windows of
several lengths (items shorter than ``n`` words are one window each).

The lookup (:func:`lookup_tables`): an open-addressing hash table of the index's keys, behind a 1 MB
bit filter that turns away almost every window of clean text while staying in a core's cache. Written
by hand (numba): one pass over the UTF-8 bytes, no Python object per word, nothing stored per word.
"""

from __future__ import annotations

import numba
import numpy as np

from .charclass import flag, tables
from .normalize import _char_len, code_point_at, utf8_buffer
from .tokens import _FNV_OFFSET, _FNV_PRIME, _mix

_BASE = np.uint64(0x9E3779B97F4A7C15)
_WORD = np.uint8(2 | 16)          # ALPHA | DIGIT
#: Bits of the lookup's filter: 2**23 (1 MB); an index of ~0.5 M windows sets ~5% of them.
FILTER_BITS = 23
_RING = 64                        # windows of fewer words than this
#: ASCII classes: 1 letter or digit, 2 apostrophe or hyphen (dropped inside a word), 0 anything else
#: (whitespace, punctuation, symbols, controls: they end a word).
_ASCII_CLASS = np.array([1 if chr(c).isalnum() else 2 if chr(c) in "'-" else 0 for c in range(128)], np.uint8)
_ASCII_LOWER = np.array([ord(chr(c).lower()) for c in range(128)], np.uint64)


@numba.njit(cache=True, nogil=True)
def _grow(a, k):  # pragma: no cover - compiled
    if k < a.shape[0]:
        return a
    out = np.empty(2 * a.shape[0], a.dtype)
    out[:a.shape[0]] = a
    return out


@numba.njit(cache=True, nogil=True)
def _windows_kernel(data, starts, lengths, flags, lower, wl, whole_min, keys, table, mask, bits):  # pragma: no cover
    """Windows of every text, read word by word.

    ``keys`` empty (index mode): every window of ``wl[0]`` words, and a text of ``whole_min`` to
    ``wl[0] - 1`` words as one window; emits ``(text, -, -, hash, words)``. Else (lookup mode): every
    window of each length in ``wl`` whose hash the index holds; emits ``(text, first character, past
    the last, slot in keys, words)``."""
    lookup = keys.shape[0] > 0
    shift = np.uint64(64 - FILTER_BITS)
    pw = np.ones(_RING + 1, np.uint64)
    for j in range(1, _RING + 1):
        pw[j] = pw[j - 1] * _BASE
    pre = np.zeros(_RING, np.uint64)          # prefix value after word j of the text, at j % _RING
    first = np.zeros(_RING, np.int64)         # first character of word j
    cap = 1024
    o_t = np.empty(cap, np.int64)
    o_a = np.empty(cap, np.int64)
    o_b = np.empty(cap, np.int64)
    o_h = np.empty(cap, np.uint64)
    o_n = np.empty(cap, np.int64)
    k = 0
    for d in range(starts.shape[0]):
        i, e = starts[d], starts[d] + lengths[d]
        cc, nw = 0, 0
        in_word = False
        h = _FNV_OFFSET
        c0, c1 = 0, 0
        p = np.uint64(0)
        while True:
            if i < e:
                b = data[i]
                if b < 0x80:                      # ASCII: one table lookup
                    cls = _ASCII_CLASS[b]
                    lo = _ASCII_LOWER[b]
                    i += 1
                else:
                    cp = code_point_at(data, i)
                    i += _char_len(b)
                    f = flag(cp, flags)
                    cls = 1 if f & _WORD else (2 if cp == 0x2019 or cp == 0x2018 or cp == 0x2010 or
                                               cp == 0x2011 or cp == 0xAD or cp == 0x2BC else 0)
                    lo = np.uint64(lower[cp]) if cp < 0x10000 else np.uint64(cp)
                cc += 1
                if cls == 1:                      # a letter or digit
                    if not in_word:
                        in_word, h, c0 = True, _FNV_OFFSET, cc - 1
                    h = (h ^ lo) * _FNV_PRIME
                    c1 = cc
                    continue
                if cls == 2:                      # an apostrophe or hyphen: dropped, the word goes on
                    continue
            if not in_word:
                if i >= e:
                    break
                continue
            in_word = False                   # word nw ends: c0..c1
            before = pre[(nw - 1) % _RING] if nw > 0 else np.uint64(0)
            p = before * _BASE + _mix(h)
            pre[nw % _RING] = p
            first[nw % _RING] = c0
            nw += 1
            for li in range(wl.shape[0]):
                m = wl[li]
                if m > nw or (not lookup and li > 0):
                    continue
                a = pre[(nw - m - 1) % _RING] if nw > m else np.uint64(0)
                wh = _mix((p - a * pw[m]) ^ np.uint64(m))
                slot = 0
                if lookup:
                    fb = wh >> shift
                    if not (bits[fb >> np.uint64(6)] >> (fb & np.uint64(63))) & np.uint64(1):
                        continue
                    q = wh & mask
                    slot = -1
                    while table[q] >= 0:
                        if keys[table[q]] == wh:
                            slot = table[q]
                            break
                        q = (q + np.uint64(1)) & mask
                    if slot < 0:
                        continue
                o_t, o_a, o_b, o_n = _grow(o_t, k), _grow(o_a, k), _grow(o_b, k), _grow(o_n, k)
                o_h = _grow(o_h, k)
                o_t[k], o_a[k], o_b[k], o_n[k] = d, first[(nw - m) % _RING], c1, m
                o_h[k] = np.uint64(slot) if lookup else wh
                k += 1
            if i >= e:
                break
        if not lookup and whole_min <= nw < wl[0]:    # a short text: one window of all its words
            o_t, o_a, o_b, o_n, o_h = _grow(o_t, k), _grow(o_a, k), _grow(o_b, k), _grow(o_n, k), _grow(o_h, k)
            o_t[k], o_a[k], o_b[k], o_n[k] = d, 0, cc, nw
            o_h[k] = _mix(pre[(nw - 1) % _RING] ^ np.uint64(nw))
            k += 1
    return o_t[:k], o_a[:k], o_b[:k], o_h[:k], o_n[:k]


def _empty_lookup():
    return np.zeros(0, np.uint64), np.full(1, -1, np.int64), np.uint64(0), np.zeros(1, np.uint64)


def all_windows(texts, *, ngram: int, min_words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(text, hash, words)`` of every window of ``ngram`` words of each text (an Arrow string array),
    and of a text of ``min_words`` to ``ngram - 1`` words as one window of all of them."""
    if not 1 <= ngram < _RING:
        raise ValueError(f"ngram must be 1..{_RING - 1}")
    data, offsets = utf8_buffer(texts)
    flags, lower = tables()
    t, _a, _b, h, n = _windows_kernel(data, offsets[:-1], np.diff(offsets), flags, lower,
                                      np.array([ngram], np.int64), min_words, *_empty_lookup())
    return t, h, n


def lookup_tables(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(table, bits)`` for :func:`find_windows` over ``keys`` (unique 64-bit window hashes): the
    table of slots into ``keys`` (-1: empty; load at most 1/2) and the filter."""
    size = 1 << max(4, int(2 * max(len(keys), 1) - 1).bit_length())
    table = np.full(size, -1, np.int64)
    bits = np.zeros(1 << (FILTER_BITS - 6), np.uint64)
    _fill(np.ascontiguousarray(keys, np.uint64), table, np.uint64(size - 1), bits)
    return table, bits


@numba.njit(cache=True, nogil=True)
def _fill(keys, table, mask, bits):  # pragma: no cover - compiled
    shift = np.uint64(64 - FILTER_BITS)
    for s in range(keys.shape[0]):
        q = keys[s] & mask
        while table[q] >= 0:
            q = (q + np.uint64(1)) & mask
        table[q] = s
        f = keys[s] >> shift
        bits[f >> np.uint64(6)] |= np.uint64(1) << (f & np.uint64(63))


def find_windows(texts, lengths: np.ndarray, keys: np.ndarray, table: np.ndarray, bits: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(text, start, end, slot, words)`` of every window of each length in ``lengths`` that ``keys``
    holds (``keys[slot]``); ``start``/``end`` are character offsets of its first and past its last
    letter or digit. ``table``, ``bits``: :func:`lookup_tables` of ``keys``."""
    lengths = np.asarray(lengths, np.int64)
    if not len(keys) or not len(lengths):
        z = np.zeros(0, np.int64)
        return z, z, z, z, z
    if lengths.max() >= _RING:
        raise ValueError(f"windows of at most {_RING - 1} words")
    data, offsets = utf8_buffer(texts)
    flags, lower = tables()
    t, a, b, s, n = _windows_kernel(data, offsets[:-1], np.diff(offsets), flags, lower, lengths, 0,
                                    keys, table, np.uint64(len(table) - 1), bits)
    return t, a, b, s.astype(np.int64), n
