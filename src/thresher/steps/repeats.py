"""``repeats``: collapse repetition inside each document before the document is judged.

A forum thread quotes the same post again and again; a page repeats its own teaser. Each repeat of a
paragraph (a line by default) inside the same document is removed span-exact, with the separator after
it, keeping the first occurrence: ``reason="repeated_in_document"``, ``dup_of_*`` naming the first
occurrence in the same document, similarity 1.0. Paragraphs are found and compared exactly as the
cross-document ``paragraphs`` step does (same options, same defaults), so the two agree on what a
repeat is. It runs before the document filters, so that a thread is judged on what it says once and
not dropped for quoting; quality's repetition rules still judge what is left.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..documents import Document
from .base import DocumentStep, Verdicts
from .paragraphs import ParagraphsConfig, paragraph_keys

REASONS = ("repeated_in_document",)


class RepeatsConfig(ParagraphsConfig):
    """The options of ``paragraphs``: what a paragraph is and when two are equal."""


class Repeats(DocumentStep):
    name = "repeats"
    stage = "collapse"
    compile_seconds = 2.0
    version = "1"
    Config = RepeatsConfig
    batched = True
    twins = "document"

    def process_batch(self, texts: pa.LargeStringArray) -> Verdicts:
        k = paragraph_keys(texts, self.config)
        order = np.lexsort((k.start, k.key[:, 1], k.key[:, 0], k.row))   # per document, per key, in order
        row, hi, lo = k.row[order], k.key[order, 0], k.key[order, 1]
        first = np.ones(len(order), bool)
        first[1:] = (row[1:] != row[:-1]) | (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
        head = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
        rep = np.flatnonzero(~first)
        at, twin = order[rep], head[rep]
        by_place = np.lexsort((k.cut_start[at], k.row[at]))
        at, twin = at[by_place], twin[by_place]
        row, start, end = k.row[at].astype(np.int64), k.cut_start[at].astype(np.int64), k.cut_end[at].astype(np.int64)
        # a document's last paragraph takes the separator before it, which the repeat before it may
        # have taken already
        same = np.zeros(len(row), bool)
        same[1:] = row[1:] == row[:-1]
        start[same] = np.maximum(start[same], end[np.flatnonzero(same) - 1])
        return Verdicts(reasons=REASONS, row=row, start=start, end=end,
                        code=np.zeros(len(at), np.int64), twin_start=k.start[twin].astype(np.int64),
                        twin_end=k.end[twin].astype(np.int64))

    def process(self, doc: Document):
        return self.process_batch(pa.array([doc.text], pa.large_string())).verdict(0)
