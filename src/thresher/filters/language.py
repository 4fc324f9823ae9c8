"""``language``: identify each document's language; optionally keep only some languages.

The model is py3langid's (Lui & Baldwin's langid.py naive Bayes over byte n-grams, retrained and
packaged with numpy), which ships inside its PyPI wheel: nothing is downloaded at run time. It was
chosen over lingua on accuracy per second on real translated text (benchmarks/language.py; figures in
the README).

Every kept document gets the columns ``language`` (ISO 639-1 code) and ``language_score`` (the model's
normalised probability). With ``keep`` set, a document whose language is not listed, or whose score is
below ``min_score``, is removed with ``reason="language"`` and ``value`` = its score; stats count
documents and characters per language either way (``languages``).

Only the first ``max_chars`` characters are classified (default 1,000): the model's cost grows with
length. On 476 samples of 2,500 characters from Django's translations in 88 locales, accuracy is
0.805 / 0.872 / 0.891 at 500 / 1,000 / 2,000 characters, at 11,973 / 8,918 / 5,728 documents a
second (``python benchmarks/language.py --sweep``): 1,000 keeps nearly all the accuracy at 1.6x the
speed of 2,000.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from ..config import option
from ..documents import Document, Drop
from ..errors import ConfigError
from ..steps import DocumentStep


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@numba.njit(cache=True, nogil=True)
def _score(data, nextmove, rowbase, output, ptc, counts, touched, scores):  # pragma: no cover - compiled
    """Walk the model's byte n-gram DFA over ``data``, counting the features it emits, then add
    ``log1p(count) * ptc[feature]`` for each distinct feature into ``scores``.
    ``counts`` is scratch of one slot per feature, all zero on entry and on return."""
    state = 0
    n = 0
    for b in data:
        state = nextmove[rowbase[state] + b]
        f = output[state]
        if f >= 0:
            if counts[f] == 0:
                touched[n] = f
                n += 1
            counts[f] += 1
    width = scores.shape[0]
    for t in range(n):
        f = touched[t]
        w = np.float32(np.log1p(np.float64(counts[f])))
        counts[f] = 0
        for c in range(width):
            scores[c] += w * ptc[f, c]
    return n


class Model:
    """py3langid's model (naive Bayes over byte n-grams found by a DFA), evaluated with a compiled DFA
    walk and score accumulation instead of py3langid's per-byte Python loop and gathered matrix product:
    the same decisions and scores to 1e-4 (tested against ``py3langid.classify``), several times faster.
    The model arrays come from py3langid's own loader."""

    def __init__(self) -> None:
        ident = _identifier()
        self.classes = list(ident.nb_classes)
        self.ptc = np.asarray(ident.nb_ptc, dtype=np.float32)
        self.pc = np.asarray(ident.nb_pc, dtype=np.float32)
        self.nextmove = np.asarray(ident.tk_nextmove, dtype=np.int32)
        self.rowbase = np.asarray(ident.tk_row, dtype=np.int64) << 8
        self.output = np.asarray(ident.tk_output, dtype=np.int32)
        self._counts = np.zeros(self.ptc.shape[0], np.int32)
        first: dict[str, int] = {}
        self.aliases = []
        for i, c in enumerate(self.classes):
            if c in first:
                self.aliases.append((first[c], i))
            else:
                first[c] = i

    def classify(self, text: str) -> tuple[str, float]:
        if text.isupper():
            text = text.lower()
        data = np.frombuffer(unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass"), np.uint8)
        scores = np.zeros(len(self.classes), np.float32)
        touched = np.empty(len(data), np.int32)
        if _score(data, self.nextmove, self.rowbase, self.output, self.ptc, self._counts, touched, scores):
            scores += self.pc
            scores *= 1.0 / math.sqrt(len(data) or 1)
            np.exp(scores - scores.max(), out=scores)
            scores /= scores.sum()
        else:
            scores[:] = 1.0 / len(self.classes)
        for i, j in self.aliases:
            scores[i] += scores[j]
            scores[j] = 0.0
        i = int(scores.argmax())
        return self.classes[i], float(scores[i])


@functools.cache
def model() -> Model:
    return Model()


def supported_languages() -> tuple[str, ...]:
    return tuple(sorted(set(model().classes)))


@dataclass(frozen=True, kw_only=True)
class LanguageConfig:
    keep: tuple[str, ...] = option((), "ISO 639-1 codes to keep (e.g. [\"en\", \"de\"]); empty = keep all.")
    min_score: float = option(0.0, "With keep: documents scored below this are removed too.", min=0, max=1)
    max_chars: int = option(1000, "Characters classified per document (from the start).", min=50)


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
        lang, score = model().classify(text[:self.config.max_chars])
        return lang, round(float(score), 6)

    def process(self, doc: Document) -> Drop | None:
        lang, score = self.identify(doc.text)
        doc.labels["language"] = lang
        doc.labels["language_score"] = score
        if self._keep and (lang not in self._keep or score < self.config.min_score):
            return Drop("language", value=score)
        return None
