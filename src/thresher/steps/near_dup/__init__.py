"""``near_dup``: near-duplicate documents by MinHash-LSH, verified by exact Jaccard and containment.

- Shingles: word ``ngram``-grams (default 5) over NFKC, lower-cased text without punctuation, or
  character n-grams for text written without spaces (``shingle = "auto"`` detects it per document).
- Signatures: ``num_perm`` one-permutation MinHash values (:mod:`thresher.steps.near_dup.minhash`), seeded.
- Candidates: documents sharing one of ``bands`` bands of ``rows`` values (chosen from ``threshold`` by
  minimising weighted false positive and false negative probability, or given), plus, for containment,
  documents sharing at least half of the smaller one's sampled shingles (one shingle in
  ``sample_rate``): a short document inside a long one has a low Jaccard similarity, so bands miss it.
- Verification: every candidate pair is checked with the exact Jaccard similarity of the shingle sets
  and the share of each set inside the other. Stats report candidates, verified and rejected pairs.
  ``verify = false`` accepts pairs by estimates instead, as the peers do: the share of equal signature
  values for Jaccard, and for containment the share of a document's sampled shingles that the other
  has (``sample_rate``); stats then report ``estimated`` pairs and the similarity recorded is the
  estimate.
- Clusters that cannot chain: documents are visited by the keep rule (longest first, ties by corpus
  order; or ``keep = "first"``); an unvisited document is kept, and each of its verified neighbours not
  yet decided is removed as its duplicate, if its Jaccard with the kept document is >= ``threshold``
  (``reason="jaccard"``) or its share inside it is >= ``containment`` (``reason="containment"``). So
  every removal is verified against the very document it names as its twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ...config import option
from ...errors import ConfigError
from ...text.shingles import shingles
from ..global_step import GlobalStep, Phase
from .minhash import optimal_params
from .phases import map_shard, reduce_phases

if TYPE_CHECKING:
    from ...engine.context import StepContext
    from ...engine.view import ShardView


@dataclass(frozen=True, kw_only=True)
class NearDupConfig:
    threshold: float = option(0.8, "Jaccard similarity at or above which documents are duplicates.",
                              min=0.01, max=1.0)
    containment: float = option(0.8, "Share of a document's shingles inside a longer one at or above "
                                "which it is that one's duplicate; 0 turns containment off.", min=0.0, max=1.0)
    num_perm: int = option(128, "MinHash values per document.", min=8, max=4096)
    seed: int = option(1, "Seed of the hash functions.", min=0)
    ngram: int = option(5, "Shingle length, in words (or characters for unspaced scripts).", min=1, max=64)
    shingle: Literal["auto", "words", "chars"] = option(
        "auto", "Shingle unit: words, characters, or per document by its script.")
    bands: int = option(0, "LSH bands; 0 = chosen from threshold (with rows).", min=0)
    rows: int = option(0, "Values per band; 0 = chosen from threshold (with bands).", min=0)
    keep: Literal["longest", "first"] = option("longest", "Which document of a cluster is kept.")
    sample_rate: int = option(16, "Containment candidates: one shingle in this many is sampled.", min=1)
    max_fanout: int = option(8, "In a bucket, each document is paired with this many best-ranked ones.",
                             min=1)
    max_sample_group: int = option(1000, "Sampled shingles shared by more documents are too common to "
                                   "suggest containment and are skipped.", min=2)
    verify: bool = option(True, "Check every candidate pair with the exact similarity of its shingle "
                          "sets; false accepts pairs by their estimates (signatures for Jaccard, "
                          "sampled shingles for containment): faster, no exact values.")


class NearDup(GlobalStep):
    name = "near_dup"
    version = "2"
    stage = "dedup_documents"
    compile_seconds = 8.0
    position = 10
    Config = NearDupConfig
    reason: ClassVar[str] = "jaccard"
    whole_document: ClassVar[bool] = True
    twins = "corpus"
    keeps_twins = True

    def removal(self) -> str:
        return "documents"

    def __init__(self, config: NearDupConfig | None = None):
        super().__init__(config)
        c = self.config
        if (c.bands == 0) != (c.rows == 0):
            raise ConfigError("near_dup.bands and near_dup.rows go together: set both, or neither to "
                              "choose them from near_dup.threshold")
        if c.bands and c.bands * c.rows > c.num_perm:
            raise ConfigError(f"near_dup.bands x near_dup.rows = {c.bands * c.rows} exceeds "
                              f"near_dup.num_perm = {c.num_perm}")
        self.bands, self.rows = (c.bands, c.rows) if c.bands else optimal_params(c.threshold, c.num_perm)

    def shingle_sets(self, texts, *, unique: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Shingle ids of each text of an Arrow string array or list (sorted and unique unless
        ``unique=False``)."""
        return shingles(texts, ngram=self.config.ngram, unit=self.config.shingle, unique=unique)

    def map(self, view: "ShardView", ctx: "StepContext") -> dict[str, Any]:
        return map_shard(self, view, ctx)

    def phases(self, ctx: "StepContext", map_results: list[dict[str, Any]]) -> list[Phase]:
        return reduce_phases(ctx)
