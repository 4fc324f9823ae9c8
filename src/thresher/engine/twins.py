"""Twins that survive: which orders of steps keep every named twin in the output, and the twins a shard holds.

A removal row that names a kept twin (``dup_of_*``) is a promise that the twin's text is in the output.
A later step breaks it if it drops the twin document or cuts into the twin span. Three rules keep it:

- **order** (:func:`check_twin_order`, run when the plan is made): after a step that records twins, a
  step may only remove text if it removes nothing, only rewrites in place (PII placeholders), only drops
  whole documents after twins that lie inside the same document (a drop takes copy and twin together),
  or is a global step that keeps twins whole (``keeps_twins``);
- **protection** (:class:`Twins`, applied by the engine to a ``keeps_twins`` step's decisions): a decision
  that would drop a twin document, empty it, or cut into a twin span is withheld (``spared_twins`` in
  stats); a cut that covers a twin inside its own document (a line that repeats within the document)
  instead re-points that document's rows to the cut's own twin, which holds the same text;
- **proof**: ``thresher verify`` checks every named twin against OUT.

Twins inside the same document are found in the shard's own removal rows; twins that other shards'
rows name are in each global step's twin index, written with its decisions (``<step>.twins``).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..documents import EditedText
from ..errors import ConfigError
from ..steps.base import Step


def check_twin_order(steps: Iterable[Step]) -> None:
    """ConfigError if a step could remove a twin that an earlier step recorded (see the module doc)."""
    recorded: list[Step] = []
    for step in steps:
        removal = step.removal()
        for earlier in recorded:
            if removal in ("none", "rewrite") or step.keeps_twins:
                continue
            if removal == "documents" and earlier.twins == "document":
                continue
            what = "drops documents" if removal == "documents" else "cuts text"
            raise ConfigError(
                f"step '{step.name}' {what} after step '{earlier.name}' has recorded kept twins, so it "
                f"could remove a twin that '{earlier.name}' removed a copy in favour of; give "
                f"'{step.name}' an earlier stage than '{earlier.name}', or make it keep twins whole "
                f"(a GlobalStep with keeps_twins = True)")
        if step.twins in ("document", "corpus"):     # an external twin is in no document
            recorded.append(step)


class Twins:
    """The twins of one shard's documents that earlier steps' removal rows name.

    ``whole[row]`` (``whole_count[row]`` > 0): the document is a twin as a whole (an exact or near duplicate was removed in its
    favour); ``spans``: original-offset spans of documents that are a twin span, as sorted arrays
    ``row, start, end`` with ``inside`` true where the row naming it is in the same document."""

    def __init__(self, n: int):
        #: Per row: how many removals name the whole document as their twin (its ``dup_count``).
        self.whole_count = np.zeros(n, np.int64)
        #: Global steps (segments of the plan) whose twin index is loaded; None: nothing loaded yet.
        self.upto: int | None = None
        self.row = np.zeros(0, np.int64)
        self.start = np.zeros(0, np.int64)
        self.end = np.zeros(0, np.int64)
        self.inside = np.zeros(0, bool)

    def add_spans(self, row: np.ndarray, start: np.ndarray, end: np.ndarray, inside: np.ndarray) -> None:
        row = np.concatenate([self.row, np.asarray(row, np.int64)])
        start = np.concatenate([self.start, np.asarray(start, np.int64)])
        end = np.concatenate([self.end, np.asarray(end, np.int64)])
        inside = np.concatenate([self.inside, np.asarray(inside, bool)])
        order = np.lexsort((end, start, row))
        self.row, self.start, self.end, self.inside = row[order], start[order], end[order], inside[order]

    @property
    def whole(self) -> np.ndarray:
        return self.whole_count > 0

    def __bool__(self) -> bool:
        return bool(self.whole_count.any() or len(self.row))

    def spans_of(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.row, [row, row + 1])
        return self.start[lo:hi], self.end[lo:hi], self.inside[lo:hi]

    def holds_corpus_twin(self, row: int) -> bool:
        """Whether another document's row names this document or a span of it."""
        if self.whole[row]:
            return True
        return bool((~self.spans_of(row)[2]).any())

    def protected_rows(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`holds_corpus_twin` of each of ``rows``."""
        out = self.whole[rows].copy()
        if len(self.row):
            out |= np.isin(rows, self.row[~self.inside])
        return out


def subtract(pieces: list[tuple[int, int]], starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """``pieces`` (sorted, disjoint) without any part that lies in a span ``starts[i]..ends[i]``."""
    if not len(starts) or not pieces:
        return pieces
    order = np.argsort(starts, kind="stable")
    s, e = np.asarray(starts, np.int64)[order], np.maximum.accumulate(np.asarray(ends, np.int64)[order])
    out = []
    for a, b in pieces:
        i = int(np.searchsorted(e, a, side="right"))    # the first span ending after a
        pos = a
        while i < len(s) and s[i] < b and pos < b:
            if s[i] > pos:
                out.append((pos, int(s[i])))
            pos = max(pos, int(e[i]))
            i += 1
        if pos < b:
            out.append((pos, b))
    return out


def plan_cuts(st, row: int, group: list[tuple], protect: bool):
    """The original pieces each of a global step's span decisions ``group`` (one document's, as
    tuples of the decision columns plus the twin key) removes from row ``row`` of shard state ``st``,
    and the twins inside the document to re-point; None when the decisions are withheld because they
    would empty a twin document. With ``protect``, no piece cuts into a twin an earlier step named."""
    e = st.edited_text(row)
    pieces_of, reach = [], -1
    for d in group:               # decisions (sorted by start) may overlap: each takes what is left
        pieces = e.kept_within(d[1], d[2])
        if d[1] < reach:
            pieces = [(max(a, reach), b) for a, b in pieces if b > reach]
        pieces_of.append(pieces)
        reach = max(reach, d[2])
    if not protect:
        return pieces_of, {}
    ts, te, inside = st.twins.spans_of(row)
    repoint: dict[tuple[int, int], tuple] = {}
    if len(ts):
        keep = np.ones(len(ts), bool)
        for d in group:            # a twin inside this document that a cut covers whole is
            if d[9] is None:       # re-pointed to the cut's own twin, which holds the same text
                continue
            covered = inside & keep & (ts >= d[1]) & (te <= d[2])
            for a, b in zip(ts[covered].tolist(), te[covered].tolist()):
                repoint[(a, b)] = (d[3], d[4], d[5], d[9])
            keep &= ~covered
        pieces_of = [subtract(p, ts[keep], te[keep]) for p in pieces_of]
    if st.twins.whole[row]:      # a twin document is never emptied
        rest = EditedText(st.original(row),
                          [*e.edits, *((a, b, None) for p in pieces_of for a, b in p)],
                          length=int(st.orig_len[row]))
        if not rest.current.strip():
            return None
    return pieces_of, repoint
