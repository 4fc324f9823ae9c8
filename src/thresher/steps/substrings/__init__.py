"""``substrings``: remove every repeat of a long exact substring, within and across documents.

As Lee et al. 2021 ("Deduplicating Training Data Makes Language Models Better"): a window of
``min_tokens`` (default 50) consecutive word tokens that already occurred earlier in the corpus is a
repeat; the union of all repeated windows of a document is removed, one row per maximal span, with
``reason="repeated_substring"`` and ``dup_of_*`` naming the earliest occurrence of the span's first
window. Occurrences are found by fingerprinting every window, grouping equal fingerprints by
fingerprint range over all shards and verifying each candidate token by token, so the work is linear in
the corpus and spreads over every worker (see :mod:`thresher.steps.substrings.phases`).

Words are maximal runs of non-whitespace characters, compared exactly; the whitespace between them is
not compared (``"a  b"`` repeats ``"a b"``). With ``min_chars`` set, every character is a token instead
and repeats are exact character substrings of at least ``min_chars`` characters (the byte-level mode of
Lee et al., in characters so that a span never splits a UTF-8 sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...config import option
from ...text.tokens import tokenize
from ..global_step import GlobalStep, Phase
from .phases import map_shard, reduce_phases

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView


@dataclass(frozen=True, kw_only=True)
class SubstringsConfig:
    min_tokens: int = option(50, "Shortest repeat, in word tokens.", min=2)
    min_chars: int = option(0, "If > 0: exact character substrings of at least this many characters "
                            "instead of word windows.", min=0)
    task_windows: int = option(8_000_000, "Windows per task of the window phase (about 40 bytes "
                               "each while it runs).", min=1000)


class SubstringDedup(GlobalStep):
    name = "substrings"
    version = "3"
    stage = "dedup_spans"
    compile_seconds = 3.0
    position = 20
    Config = SubstringsConfig
    reason: ClassVar[str] = "repeated_substring"
    similarity: ClassVar[float] = 1.0
    twins = "corpus"
    keeps_twins = True

    @property
    def window(self) -> int:
        return self.config.min_chars or self.config.min_tokens

    def tokens(self, data: np.ndarray, offsets: np.ndarray):
        """Tokens of the texts in ``data`` (see :func:`thresher.text.tokens.tokenize`)."""
        return tokenize(data, offsets, unit="chars" if self.config.min_chars else "words")

    def map(self, view: "ShardView", ctx: "StepContext") -> dict[str, Any]:
        return map_shard(self, view, ctx)

    def phases(self, ctx: "StepContext", map_results: list[dict[str, Any]]) -> list[Phase]:
        return reduce_phases(self, ctx, map_results)
