"""The contract of a local step, and what every step has.

- :class:`DocumentStep` (local): ``process(doc) -> Drop | list[Cut] | None``, one document at a time, or
  ``process_batch(texts) -> Verdicts`` for a whole batch at once (``batched = True``). Filters and span
  removers (boilerplate's line rules, quality, language, PII) are this kind.
- :class:`~thresher.steps.global_step.GlobalStep` (global): needs the whole corpus; it says what it
  computes per shard (its map side) and which reduce phases run over its own scratch space. Keyed dedup
  (:class:`~thresher.steps.keyed.KeyedDedupStep`: exact documents, paragraphs), near-dup, substrings and
  boilerplate's learned lines are this kind.

Steps never see shards' files, workers or manifests: the engine does all of that, so the same step runs
unchanged on the local engine and on Ray. Each step has a ``name`` (used by ``--steps``, as its TOML
section and in removal rows), a ``version`` (bumped when its output changes; recorded in manifests), a
``Config`` dataclass validated before any work starts, and a ``stage`` that places it in the pipeline
(:data:`STAGES`; within a stage, by ``position``, then name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pyarrow as pa

from ..documents import Cut, Document, Drop


@dataclass(frozen=True, kw_only=True)
class NoOptions:
    """A step without options."""


#: Where a step runs in the pipeline, in this order: cleaning (debris lines), collapsing repetition
#: inside each document, document filters, then cross-document dedup (whole documents, then spans), and
#: last the rewriting steps such as PII placeholders, so that no later step cuts into a placeholder.
#: Judging each document before deduplicating means a copy is only ever removed in favour of a twin
#: that stays (the plan checks it: :func:`check_twin_order`). Every step declares one (``Step.stage``).
STAGES = ("clean", "collapse", "filter", "dedup_documents", "dedup_spans", "rewrite")

#: What a step may do to the text (:meth:`Step.removal`): nothing (labels only), drop whole documents,
#: cut spans (and drop what they empty), or replace spans in place (a rewrite never deletes text).
REMOVALS = ("none", "documents", "spans", "rewrite")


class Step:
    name: ClassVar[str]
    version: ClassVar[str] = "1"
    Config: ClassVar[type] = NoOptions
    #: One of :data:`STAGES`.
    stage: ClassVar[str]
    #: Order within the stage (lower first; ties by name).
    position: ClassVar[int] = 100
    #: Whether the step's removal rows name kept twins (``dup_of_*``): None, ``"document"`` (a twin
    #: inside the same document, e.g. a repeated line), ``"corpus"`` (a twin anywhere) or
    #: ``"external"`` (what the removed text matched lies outside the corpus, e.g. a benchmark item
    #: named ``<benchmark>/<item id>``: no document of the output holds it, and none need).
    twins: ClassVar[str | None] = None
    #: A global step whose decisions the engine may withhold where they would remove a twin that an
    #: earlier step named: cut into a twin span, or drop (or empty) a twin document. Dedup steps can
    #: (what they leave is still a duplicate, counted in stats as ``spared_twins``); filters cannot.
    keeps_twins: ClassVar[bool] = False
    #: Whether the step runs when no steps are named. A step that needs settings to do anything
    #: (``decontaminate``: its benchmarks) is off by default and joins the default steps when its
    #: section is in the config.
    default: ClassVar[bool] = True
    #: Rough seconds numba takes to compile the step's own kernels on a machine that has not compiled
    #: them yet; the warm-up before a run's first phase starts the longest first.
    compile_seconds: ClassVar[float] = 0.0

    def __init__(self, config: object | None = None):
        self.config = config if config is not None else self.Config()

    def parts(self) -> tuple["DocumentStep | None", "Any"]:
        """The step's local part (run on each shard's documents) and its global part (run over the
        whole corpus), either of which may be None. A step with both runs its local part right before
        its global part's map side, in the same pass."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def removal(self) -> str:
        """What the step, as configured, may do to the text: one of :data:`REMOVALS`. The default,
        ``"spans"``, is the safe answer; a step that only labels or only drops says so."""
        return "spans"

    def columns(self) -> dict[str, pa.DataType]:
        """Output columns this step adds to OUT/documents (name -> Arrow type); none by default.

        A local step sets their values in ``doc.labels``; the engine carries them to the output."""
        return {}

    @classmethod
    def identity(cls, config: Any) -> Any:
        """What the step's decisions depend on beyond its options, as JSON (None: nothing), e.g. a digest
        of files it reads. The run's manifest keeps it: a run is resumed, or found complete, only
        while it is the same."""
        return None


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
    #: For a step whose twins lie in the same document (``twins = "document"``): the span of the same
    #: text that entry ``i`` duplicates (current offsets; a negative start: none).
    twin_start: np.ndarray | None = None
    twin_end: np.ndarray | None = None
    #: For a step whose twins lie outside the corpus (``twins = "external"``, e.g. benchmark items):
    #: the name of what entry ``i`` matched (its removal row's ``dup_of_id``) and how much of it
    #: (``similarity``, NaN: none).
    twin_id: Sequence[str] | None = None
    similarity: np.ndarray | None = None

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
        ext_id = list(self.twin_id[lo:hi]) if self.twin_id is not None else [None] * int(hi - lo)
        ext_sim = [None if x != x else x for x in self.similarity[lo:hi].tolist()] \
            if self.similarity is not None else [None] * int(hi - lo)
        if self.drop is not None and self.drop[lo]:
            return Drop(self.reasons[self.code[lo]], value=value[0], dup_of_id=ext_id[0], similarity=ext_sim[0])
        repl = self.replacements or (None,) * len(self.reasons)
        twins: list = [(None, None)] * int(hi - lo)
        if self.twin_start is not None:
            twins = [(a, b) if a >= 0 else (None, None) for a, b in
                     zip(self.twin_start[lo:hi].tolist(), self.twin_end[lo:hi].tolist())]
        return [Cut(a, b, self.reasons[c], replacement=repl[c], value=x, dup_of_start=t[0], dup_of_end=t[1],
                    similarity=sim if t[0] is None else 1.0, dup_of_id=ext)
                for a, b, c, x, t, ext, sim in
                zip(self.start[lo:hi].tolist(), self.end[lo:hi].tolist(), self.code[lo:hi].tolist(), value,
                    twins, ext_id, ext_sim)]


class DocumentStep(Step):
    """A local step: looks at one document at a time.

    A step whose decisions are cheaper to make for many documents at once (one compiled pass over a
    whole shard) sets ``batched = True`` and implements :meth:`process_batch`; the engine then calls
    that instead of :meth:`process` and records its verdicts as arrays (a step that declares
    :meth:`columns` returns their values in ``Verdicts.labels``). Both must decide the same."""

    batched: ClassVar[bool] = False

    def parts(self) -> tuple["DocumentStep | None", Any]:
        return self, None

    def process(self, doc: Document) -> Drop | Sequence[Cut] | None:
        """Return ``Drop`` to remove the document, cuts (current-text offsets) to remove spans, or None.

        A step with ``twins = "document"`` names the span of the same text a cut duplicates in the
        cut's ``dup_of_start``/``dup_of_end`` (current offsets; the engine maps them and sets the id).

        A step that declares :meth:`columns` sets their values in ``doc.labels``."""
        raise NotImplementedError

    def process_batch(self, texts: pa.LargeStringArray) -> Verdicts:
        """The verdicts for a batch of current texts (only with ``batched = True``)."""
        raise NotImplementedError

    def summarize(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Final touch on the step's stats merged over all shards (e.g. rank and cut a list)."""
        return stats
