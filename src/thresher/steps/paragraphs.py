"""``paragraphs``: remove every repeat of a paragraph, in the same or another document.

Paragraphs are lines (or blocks between blank lines, ``split = "blank_lines"``) and compared after
normalisation (NFKC, whitespace folded, optionally lower-cased); the key is XXH3-128 of that form. The
first occurrence in corpus order is kept; each later one is removed span-exact, with the separator after
it (so no blank lines pile up), ``reason="repeated_paragraph"`` and ``dup_of_*`` naming the kept
paragraph's span. Paragraphs shorter than ``min_chars`` are left to the boilerplate step. Like exact
dedup, keys are partitioned by hash on disk, so memory is bounded by one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from ..config import option
from .keyed import KeyedDedupStep, SpanKeys
from ..text.normalize import span_fingerprints, utf8_buffer
from ..text.segment import paragraphs


@dataclass(frozen=True, kw_only=True)
class ParagraphsConfig:
    split: Literal["blank_lines", "lines"] = option(
        "lines", "Paragraph boundaries: every line (text extracted from web pages puts one block per "
        "line), or blank lines.")
    min_chars: int = option(30, "Paragraphs shorter than this (characters, trimmed) are not compared.",
                            min=1)
    normalization: Literal["NFKC", "NFC", "none"] = option("NFKC", "Unicode normalisation for matching.")
    lowercase: bool = option(False, "Match case-insensitively.")


class ParagraphDedup(KeyedDedupStep):
    name = "paragraphs"
    stage = "dedup_spans"
    position = 10
    version = "2"
    Config = ParagraphsConfig
    reason = "repeated_paragraph"

    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        return paragraph_keys(texts, self.config)


def paragraph_keys(texts: pa.LargeStringArray, c: ParagraphsConfig) -> SpanKeys:
    """The paragraphs of ``texts`` of at least ``c.min_chars`` characters, each with the key of its
    normalised form, and the span a repeat of it removes (with its separator)."""
    data, offsets = utf8_buffer(texts)
    doc, b0, b1, start, end, cut0, cut1 = paragraphs(data, offsets, mode=c.split)
    keep = (end - start) >= c.min_chars
    doc, b0, b1, start, end, cut0, cut1 = (a[keep] for a in (doc, b0, b1, start, end, cut0, cut1))
    key = span_fingerprints(data, b0, b1 - b0, normalization=c.normalization,
                            lowercase=c.lowercase, fold_whitespace=True)
    return SpanKeys(row=doc, start=start, end=end, key=key, cut_start=cut0, cut_end=cut1)
