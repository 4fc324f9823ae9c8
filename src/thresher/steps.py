"""The step contract: every step is a plain object with one method to implement.

- :class:`DocumentStep` (local, per document): ``process(doc) -> Drop | list[Cut] | None``.
  Filters and span removers (boilerplate, quality, PII) are this kind.
- :class:`KeyedDedupStep` (global): ``spans(texts, lengths) -> SpanKeys``: the spans of each current text and a
  128-bit key for each. The engine partitions keys by hash on disk, keeps the first occurrence of each key
  in corpus order and removes every later one, recording the kept twin. Exact document dedup is this
  kind (one span per document); paragraph dedup will be too.

Steps never see shards, workers, manifests or files: the engine does all of that, so the same step runs
unchanged on the local engine and on Ray. Each step has a ``name`` (used by ``--steps`` and as its TOML
section), a ``version`` (bumped when its output changes; recorded in manifests) and a ``Config``
dataclass validated before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pyarrow as pa

from .documents import Cut, Document, Drop


@dataclass(frozen=True, kw_only=True)
class NoOptions:
    """A step without options."""


class Step:
    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Config: ClassVar[type] = NoOptions
    #: A global step needs the whole corpus: the engine runs it in phases (engine/drivers.py).
    is_global: ClassVar[bool] = True

    def __init__(self, config: object | None = None):
        self.config = config if config is not None else self.Config()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def columns(self) -> dict[str, pa.DataType]:
        """Output columns this step adds to OUT/documents (name -> Arrow type); none by default.

        A local step sets their values in ``doc.labels``. Such steps must run after the last global
        step (the engine checks this), since labels are written by the pass that writes the output."""
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdicts:
    """A local step's decisions for a batch of texts, as parallel arrays sorted by ``(row, start)``.

    Entry ``i`` removes ``start[i]..end[i]`` (current-text offsets) of text ``row[i]`` for the reason
    ``reasons[code[i]]``, or the whole text where ``drop[i]``; ``value[i]`` is the measured value behind
    it (NaN: none). ``replacements[code]`` (None: plain removal) is put in place of a span."""

    reasons: tuple[str, ...]
    row: np.ndarray                    # int64
    start: np.ndarray                  # int64
    end: np.ndarray                    # int64
    code: np.ndarray                   # integer index into reasons
    drop: np.ndarray | None = None     # bool; None: no entry drops its document
    value: np.ndarray | None = None    # float64; None: no values
    replacements: tuple[str | None, ...] | None = None
    #: Values of the step's output columns (:meth:`Step.columns`), one per text of the batch.
    labels: dict[str, Sequence] | None = None

    @classmethod
    def drops(cls, reasons: tuple[str, ...], rows: np.ndarray, code: np.ndarray, lengths: np.ndarray,
              value: np.ndarray | None = None, labels: dict[str, Sequence] | None = None) -> "Verdicts":
        """Whole-document verdicts: text ``rows[i]`` (of length ``lengths[rows[i]]``) is removed for
        ``reasons[code[i]]``."""
        rows = np.asarray(rows, np.int64)
        return cls(reasons=reasons, row=rows, start=np.zeros(len(rows), np.int64),
                   end=np.asarray(lengths, np.int64)[rows], code=np.asarray(code, np.int64),
                   drop=np.ones(len(rows), bool), value=value, labels=labels)

    def __len__(self) -> int:
        return len(self.row)

    def verdict(self, row: int = 0) -> Drop | list[Cut] | None:
        """The per-document verdict of text ``row`` (what :meth:`DocumentStep.process` returns)."""
        lo, hi = np.searchsorted(self.row, [row, row + 1])
        if lo == hi:
            return None
        value = [None if x != x else x for x in self.value[lo:hi].tolist()] if self.value is not None \
            else [None] * int(hi - lo)
        if self.drop is not None and self.drop[lo]:
            return Drop(self.reasons[self.code[lo]], value=value[0])
        repl = self.replacements or (None,) * len(self.reasons)
        return [Cut(a, b, self.reasons[c], replacement=repl[c], value=x) for a, b, c, x in
                zip(self.start[lo:hi].tolist(), self.end[lo:hi].tolist(), self.code[lo:hi].tolist(), value)]


class DocumentStep(Step):
    """A local step: looks at one document at a time.

    A step whose decisions are cheaper to make for many documents at once (one compiled pass over a
    whole shard) sets ``batched = True`` and implements :meth:`process_batch`; the engine then calls
    that instead of :meth:`process` and records its verdicts as arrays (a step that declares
    :meth:`columns` returns their values in ``Verdicts.labels``). Both must decide the same."""

    is_global = False
    batched: ClassVar[bool] = False

    def process(self, doc: Document) -> Drop | Sequence[Cut] | None:
        """Return ``Drop`` to remove the document, cuts (current-text offsets) to remove spans, or None.

        A step that declares :meth:`columns` sets their values in ``doc.labels``."""
        raise NotImplementedError

    def process_batch(self, texts: pa.LargeStringArray) -> Verdicts:
        """The verdicts for a batch of current texts (only with ``batched = True``)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class SpanKeys:
    """Spans of a batch of texts with a 128-bit key each (parallel arrays, current-text offsets).

    ``start..end`` is what is compared and what ``dup_of`` names; ``cut_start..cut_end`` (default: the
    same) is what is deleted when the span is a repeat, e.g. a paragraph with its separator."""

    row: np.ndarray      # int64: index of the text in the batch
    start: np.ndarray    # int64
    end: np.ndarray      # int64
    key: np.ndarray      # (n, 2) uint64: high, low
    cut_start: np.ndarray | None = None
    cut_end: np.ndarray | None = None


class KeyedDedupStep(Step):
    """A global step: later occurrences of an equal key are removed in favour of the first one.

    ``whole_document = True`` makes a removed occurrence drop its whole document (exact dedup)."""

    whole_document: ClassVar[bool] = False
    reason: ClassVar[str]
    similarity: ClassVar[float] = 1.0

    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        """Spans and keys of ``texts`` (current texts; ``lengths`` their lengths in characters)."""
        raise NotImplementedError
