"""``language``: identify each document's language; optionally keep only some languages.

The model is py3langid's (Lui & Baldwin's langid.py naive Bayes over byte n-grams, retrained and
packaged with numpy), which ships inside its PyPI wheel: nothing is downloaded at run time. It was
chosen over lingua on accuracy per second on real translated text (benchmarks/language.py; figures in
the README).

Every kept document gets the columns ``language`` (ISO 639-1 code) and ``language_score`` (the model's
normalised probability). With ``keep`` set, a document whose language is not listed, or whose score is
below ``min_score``, is removed with ``reason="language"`` and ``value`` = its score; stats count
documents and characters per language either way (``languages``).

Only the first ``max_chars`` characters are classified (default 2,000): the model's cost grows with
length and its decision is settled well before that on web pages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyarrow as pa

from ..config import option
from ..documents import Document, Drop
from ..errors import ConfigError
from ..steps import DocumentStep


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def supported_languages() -> tuple[str, ...]:
    return tuple(sorted(_identifier().nb_classes))


@dataclass(frozen=True, kw_only=True)
class LanguageConfig:
    keep: tuple[str, ...] = option((), "ISO 639-1 codes to keep (e.g. [\"en\", \"de\"]); empty = keep all.")
    min_score: float = option(0.0, "With keep: documents scored below this are removed too.", min=0, max=1)
    max_chars: int = option(2000, "Characters classified per document (from the start).", min=50)


class LanguageId(DocumentStep):
    name = "language"
    version = "1"
    Config = LanguageConfig

    def __init__(self, config: LanguageConfig | None = None):
        super().__init__(config)
        langs = set(supported_languages())
        bad = [k for k in self.config.keep if k not in langs]
        if bad:
            raise ConfigError(f"language.keep: {', '.join(map(repr, bad))} not known to the model; "
                              f"known: {', '.join(sorted(langs))}")
        self._keep = frozenset(self.config.keep)

    def columns(self) -> dict[str, pa.DataType]:
        return {"language": pa.string(), "language_score": pa.float64()}

    def identify(self, text: str) -> tuple[str, float]:
        lang, score = _identifier().classify(text[:self.config.max_chars])
        return lang, round(float(score), 6)

    def process(self, doc: Document) -> Drop | None:
        lang, score = self.identify(doc.text)
        doc.labels["language"] = lang
        doc.labels["language_score"] = score
        if self._keep and (lang not in self._keep or score < self.config.min_score):
            return Drop("language", value=score)
        return None
