"""Per-code-point classes for the filter kernels: one lookup table, built once from :mod:`unicodedata`.

numba cannot call :mod:`unicodedata`, and a Python loop over characters is ~50x slower than a table
lookup in a compiled loop, so the kernels read these tables instead. The Basic Multilingual Plane is
tabulated; code points above it (rare in web text) are letters, except the emoji and pictograph blocks
(U+1F000-U+1FAFF), which are symbols.
"""

from __future__ import annotations

import functools
import unicodedata

import numba
import numpy as np

SPACE = np.uint8(1)      # str.isspace()
ALPHA = np.uint8(2)      # str.isalpha()
PUNCT = np.uint8(4)      # Unicode category P* or S* (punctuation and symbols)
UPPER = np.uint8(8)      # str.isupper()
DIGIT = np.uint8(16)     # str.isdigit() / isnumeric()
TERMINAL = np.uint8(32)  # ends a sentence: full stops, question and exclamation marks, ellipsis, danda
LOWER = np.uint8(64)     # str.islower()

_TERMINAL_NAMES = ("FULL STOP", "QUESTION MARK", "EXCLAMATION MARK", "ELLIPSIS", "DANDA")


def _build() -> tuple[np.ndarray, np.ndarray]:
    flags = np.zeros(0x10000, dtype=np.uint8)
    lower = np.arange(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        ch = chr(cp)
        f = 0
        if ch.isspace():
            f |= SPACE
        if ch.isalpha():
            f |= ALPHA
        cat = unicodedata.category(ch)
        if cat[0] in "PS":
            f |= PUNCT
        if ch.isupper():
            f |= UPPER
        if ch.isnumeric():
            f |= DIGIT
        if ch.islower():
            f |= LOWER
        name = unicodedata.name(ch, "") if cat[0] == "P" else ""
        if any(n in name for n in _TERMINAL_NAMES) and not name.startswith("INVERTED"):
            f |= TERMINAL
        flags[cp] = f
        lo = ch.lower()
        if len(lo) == 1:
            lower[cp] = ord(lo)
    return flags, lower


@functools.cache
def tables() -> tuple[np.ndarray, np.ndarray]:
    """``(flags, lower)`` for U+0000-U+FFFF, built on first use (~0.3 s)."""
    return _build()


@numba.njit(cache=True, nogil=True)
def flag(cp, flags):  # pragma: no cover - compiled
    """Flags of any code point, for the kernels (``flags`` = ``tables()[0]``)."""
    if cp < 0x10000:
        return flags[cp]
    if 0x1F000 <= cp <= 0x1FAFF:
        return np.uint8(4)   # PUNCT
    return np.uint8(2)       # ALPHA


def code_points(text: str) -> np.ndarray:
    """The text as a uint32 array of code points (offsets equal Python ``str`` indices)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
