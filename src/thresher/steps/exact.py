"""``exact``: remove documents whose normalised text equals an earlier document's.

The key is XXH3-128 of the canonical form (Unicode NFC, whitespace runs folded, case kept by default;
see :mod:`thresher.text.normalize`). With 128 bits, the chance of any false match among 10^12
documents is about 10^-15. The first document in corpus order is kept; each later copy is dropped with
``reason="exact"``, ``dup_of_id`` the kept copy and ``similarity=1.0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from ..config import option
from .keyed import KeyedDedupStep, SpanKeys
from ..text.normalize import fingerprints


@dataclass(frozen=True, kw_only=True)
class ExactConfig:
    normalization: Literal["NFC", "NFKC", "none"] = option(
        "NFC", "Unicode normalisation before hashing.")
    fold_whitespace: bool = option(True, "Fold whitespace runs to one space and trim the ends.")
    lowercase: bool = option(False, "Compare case-insensitively.")


class ExactDedup(KeyedDedupStep):
    name = "exact"
    stage = "dedup_documents"
    position = 20
    version = "2"
    Config = ExactConfig
    whole_document = True
    reason = "exact"

    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        c = self.config
        n = len(texts)
        return SpanKeys(
            row=np.arange(n, dtype=np.int64),
            start=np.zeros(n, dtype=np.int64),
            end=np.asarray(lengths, dtype=np.int64),
            key=fingerprints(texts, normalization=c.normalization, lowercase=c.lowercase,
                             fold_whitespace=c.fold_whitespace),
        )
