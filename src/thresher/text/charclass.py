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
import pyarrow as pa

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
        if cat[0] == "P":
            name = unicodedata.name(ch, "")
            if any(n in name for n in _TERMINAL_NAMES) and not name.startswith("INVERTED"):
                f |= TERMINAL
        flags[cp] = f
        lo = ch.lower()
        if len(lo) == 1:
            lower[cp] = ord(lo)
    return flags, lower


@functools.cache
def tables() -> tuple[np.ndarray, np.ndarray]:
    """``(flags, lower)`` for U+0000-U+FFFF, built on first use (0.02 s)."""
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



def as_arrow(texts) -> pa.Array | pa.ChunkedArray:
    """An Arrow string array of ``texts`` (returned as is when it already is one)."""
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        return texts
    return pa.array(list(texts), pa.large_string())


class TextBatch:
    """A batch of texts as one uint32 array of code points (``cp``; text ``i`` is
    ``cp[offsets[i]:offsets[i + 1]]``, offsets equal Python ``str`` indices), with each text as a
    Python ``str`` on demand (``batch[i]``), for the few places a regex needs one."""

    def __init__(self, texts):
        if isinstance(texts, (pa.Array, pa.ChunkedArray)):
            from .normalize import decode_utf8, utf8_buffer
            data, byte_offsets = utf8_buffer(texts)
            self.cp = np.empty(len(data), np.uint32)
            self.offsets = np.empty(len(byte_offsets), np.int64)
            self.cp = self.cp[:decode_utf8(data, byte_offsets, self.cp, self.offsets)]
            self._arrow = texts
            self._strs: dict[int, str] | list[str] = {}
        else:
            strs = list(texts)
            self.offsets = np.zeros(len(strs) + 1, np.int64)
            np.cumsum(np.fromiter(map(len, strs), np.int64, len(strs)), out=self.offsets[1:])
            self.cp = np.frombuffer("".join(strs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            self._arrow = None
            self._strs = strs

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        if self._arrow is None:
            return self._strs[i]
        text = self._strs.get(i)
        if text is None:
            text = self._strs[i] = self._arrow[i].as_py()
        return text

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)
