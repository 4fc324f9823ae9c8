"""The document model, the Arrow schemas of OUT, and removal records.

Offsets are Unicode code points (Python ``str`` indices) into a document's *original* text. A step sees
the document's *current* text (after earlier steps' removals) and reports :class:`Cut`s in current
coordinates; :class:`EditedText` maps them back to original coordinates, so every row of
``OUT/removals`` can be applied to the text as it was read. The invariant the whole project keeps:

    apply_removals(original, rows_of_doc) == kept text      (document kept)
    union of rows_of_doc covers [0, len(original))          (document dropped)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa

#: Columns of ``OUT/removals``, in order. ``source`` disambiguates equal ids from different inputs.
REMOVAL_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("source", pa.string()),
    ("start", pa.int64()),
    ("end", pa.int64()),
    ("step", pa.string()),
    ("reason", pa.string()),
    ("replacement", pa.string()),
    ("dup_of_id", pa.string()),
    ("dup_of_start", pa.int64()),
    ("dup_of_end", pa.int64()),
    ("similarity", pa.float64()),
    ("value", pa.float64()),
])

#: Removal rows inside OUT/_work carry the document's corpus-order key first.
WORK_REMOVAL_SCHEMA = pa.schema([("_key", pa.int64()), *REMOVAL_SCHEMA])

#: Columns of ``OUT/quarantine``: what could not be read, where, and its raw bytes.
QUARANTINE_SCHEMA = pa.schema([
    ("file", pa.string()),
    ("line", pa.int64()),
    ("byte_offset", pa.int64()),
    ("kind", pa.string()),
    ("error", pa.string()),
    ("raw", pa.binary()),
])

#: Corpus-order key of a document: shard index in the high bits, row in shard in the low 32 bits.
KEY_SHIFT = 32


def doc_key(shard, row):
    """Corpus-order key of row ``row`` of shard ``shard`` (ints, or numpy arrays of rows)."""
    if isinstance(row, np.ndarray):
        return (np.int64(shard) << np.int64(KEY_SHIFT)) | row.astype(np.int64)
    return (int(shard) << KEY_SHIFT) | int(row)


def row_of(key):
    """Row within its shard of a corpus-order key (int, or numpy array of keys)."""
    return key & ((1 << KEY_SHIFT) - 1)


def shard_of(key):
    """Shard of a corpus-order key (int, or numpy array of keys)."""
    return key >> KEY_SHIFT


def key_range(shard: int) -> tuple[int, int]:
    """Half-open range of the keys of one shard."""
    return shard << KEY_SHIFT, (shard + 1) << KEY_SHIFT


@dataclass(slots=True)
class Document:
    """One document as a step sees it: ``text`` is the current text, after earlier steps."""

    id: str
    text: str
    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    #: Values a step sets for the output columns it declares (:meth:`DocumentStep.columns`).
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cut:
    """A span a step removes (``replacement`` None) or replaces, in current-text coordinates.

    ``dup_of_*`` and ``similarity`` name the kept twin where the removal is a duplicate."""

    start: int
    end: int
    reason: str
    replacement: str | None = None
    dup_of_id: str | None = None
    dup_of_start: int | None = None
    dup_of_end: int | None = None
    similarity: float | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """A step's verdict that the whole document goes. ``value`` is the measured value that failed the
    rule named by ``reason`` (recorded in the removal row and summed in stats)."""

    reason: str
    dup_of_id: str | None = None
    dup_of_start: int | None = None
    dup_of_end: int | None = None
    similarity: float | None = None
    value: float | None = None


def apply_removals(text: str, rows: Iterable[tuple[int, int, str | None]]) -> str:
    """Apply ``(start, end, replacement)`` rows (original coordinates) to ``text``.

    Rows must not overlap; raises ``ValueError`` naming the first pair that does."""
    out, pos = [], 0
    for start, end, repl in sorted(rows, key=lambda r: (r[0], r[1])):
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"removal {start}..{end} lies outside the text (length {len(text)})")
        if start < pos:
            raise ValueError(f"removal {start}..{end} overlaps the previous one ending at {pos}")
        out.append(text[pos:start])
        if repl:
            out.append(repl)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def covers(length: int, rows: Iterable[tuple[int, int]]) -> bool:
    """True if the union of ``(start, end)`` spans covers ``[0, length)``."""
    pos = 0
    for start, end in sorted(rows):
        if start > pos:
            return False
        pos = max(pos, end)
    return pos >= length


def text_at(texts: pa.ChunkedArray | pa.Array, row: int) -> str:
    """Row ``row`` of a string column, as str."""
    return texts[row].as_py()


class EditedText:
    """A document's original text with the edits applied so far, and the map between coordinates.

    Edits are ``(start, end, replacement)`` in original coordinates, sorted and non-overlapping.
    Written by hand because no library maps offsets through a list of span edits; it is O(edits)."""

    __slots__ = ("_original", "_length", "edits", "_current", "_segments", "_seg_arrays")

    def __init__(self, original: str | Callable[[], str], edits: Sequence[tuple[int, int, str | None]] = (),
                 *, length: int | None = None):
        """``original``: the text, or a function that returns it when first needed (then ``length``,
        its length, spares the call for mapping offsets)."""
        self._original = original
        self._length = len(original) if isinstance(original, str) else length
        self.edits = sorted(edits)
        self._current: str | None = None
        self._segments: list[tuple[int, int, int, bool]] | None = None
        self._seg_arrays: tuple[np.ndarray, ...] | None = None

    @property
    def original(self) -> str:
        if not isinstance(self._original, str):
            self._original = self._original()
        return self._original

    @property
    def current(self) -> str:
        if self._current is None:
            self._current = apply_removals(self.original, self.edits) if self.edits else self.original
        return self._current

    def _segs(self) -> list[tuple[int, int, int, bool]]:
        """(current_start, current_end, original_start, is_original_text) for each piece."""
        if self._segments is None:
            segs, cur, pos = [], 0, 0
            for start, end, repl in self.edits:
                if start > pos:
                    segs.append((cur, cur + start - pos, pos, True))
                    cur += start - pos
                if repl:
                    segs.append((cur, cur + len(repl), start, False))
                    cur += len(repl)
                pos = end
            length = len(self.original) if self._length is None else self._length
            if pos < length:
                segs.append((cur, cur + length - pos, pos, True))
            self._segments = segs
        return self._segments

    def to_original(self, start: int, end: int) -> list[tuple[int, int]]:
        """Original-coordinate pieces of the current span ``start..end`` (one per kept run it crosses).

        A span that touches text an earlier step inserted (a replacement) is refused: steps that
        replace (``pii``) run last in pipeline order (stage ``rewrite``), so no later step should see one."""
        if not self.edits:
            return [(start, end)] if end > start else []
        segs = self._segs()
        out: list[tuple[int, int]] = []
        i = max(0, bisect.bisect_right([s[0] for s in segs], start) - 1)
        for cs, ce, os_, is_orig in segs[i:]:
            if cs >= end:
                break
            if ce <= start:
                continue
            if not is_orig:
                raise ValueError("a later step cut into text inserted by an earlier replacement")
            a, b = max(start, cs), min(end, ce)
            out.append((os_ + a - cs, os_ + b - cs))
        return out

    def current_to_original(self, positions: np.ndarray | None = None) -> np.ndarray:
        """Original offset of each current character at ``positions`` (default: every one); text an
        edit inserted maps to the edit's start."""
        if positions is None:
            positions = np.arange(len(self.current), dtype=np.int64)
        if self._seg_arrays is None:
            segs = self._segs()
            self._seg_arrays = tuple(np.array(col, np.int64) for col in zip(*((s[0], s[2], s[3])
                                                                                for s in segs))) \
                if segs else ()
        if not self._seg_arrays:
            return np.asarray(positions, np.int64).copy()
        cs, os_, orig = self._seg_arrays
        seg = np.searchsorted(cs, positions, side="right") - 1
        return os_[seg] + (positions - cs[seg]) * orig[seg]

    def kept_within(self, start: int, end: int) -> list[tuple[int, int]]:
        """Pieces of the original span ``start..end`` that no edit has removed or replaced yet."""
        out, pos = [], start
        for s, e, _ in self.edits:
            if e <= pos:
                continue
            if s >= end:
                break
            if s > pos:
                out.append((pos, s))
            pos = max(pos, e)
        if pos < end:
            out.append((pos, end))
        return out

    def add(self, pieces: Iterable[tuple[int, int, str | None]]) -> None:
        """Record new edits (original coordinates, disjoint from the existing ones)."""
        self.edits = sorted([*self.edits, *pieces])
        self._current = None
        self._segments = None
        self._seg_arrays = None
