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
import unicodedata
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from ..cache import cached_arrays, entry_key
from ..config import option
from ..documents import Document, Drop
from ..errors import ConfigError
from .base import DocumentStep, Verdicts


#: Bumped whenever :func:`_model_arrays` changes what it derives (the cache key includes it).
_MODEL_FORMAT = "1"


def _model_file():
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    return MODEL_DIR / MODEL_FILE


def _identifier():
    """py3langid's own classifier over its packaged model: the source of :func:`_model_arrays`, and the
    reference the tests compare the compiled model with."""
    from py3langid.langid import LanguageIdentifier
    return LanguageIdentifier.from_model_file(_model_file(), norm_probs=True)


def _model_key() -> str:
    """What the converted model is derived from: py3langid's model file and version, and our format."""
    from importlib.metadata import version
    return entry_key(files=(_model_file(),), parts=("py3langid", version("py3langid"), _MODEL_FORMAT))


def _model_arrays() -> tuple[dict[str, np.ndarray], dict]:
    """py3langid's model as the kernels' arrays (0.34 s: its xz-compressed file is decompressed and
    converted; :func:`thresher.cache.cached_arrays` keeps the result for the next process)."""
    ident = _identifier()
    return {"ptc": np.asarray(ident.nb_ptc, dtype=np.float32),
            "pc": np.asarray(ident.nb_pc, dtype=np.float32),
            "nextmove": np.asarray(ident.tk_nextmove, dtype=np.int32),
            "rowbase": np.asarray(ident.tk_row, dtype=np.int64) << 8,
            "output": np.asarray(ident.tk_output, dtype=np.int32)}, {"classes": list(ident.nb_classes)}


@numba.njit(cache=True, nogil=True)
def _features(data, offsets, nextmove, rowbase, output, feats):  # pragma: no cover - compiled
    """Walk the model's byte n-gram DFA over each text ``data[offsets[d]:offsets[d + 1]]``; ``feats[i]``
    = the feature emitted at byte ``i`` (-1: none).

    Each step of a walk is two dependent loads from a 40 MB table, so one walk waits on memory; four
    texts are walked in lockstep over their common length, which overlaps their misses: 0.09 s against
    0.24 s one text at a time on the first 1,000 characters of 12,000 webdocs texts
    (``python benchmarks/kernels.py``).
    """
    nd = offsets.shape[0] - 1
    d = 0
    while d + 4 <= nd:
        a0, a1, a2, a3 = offsets[d], offsets[d + 1], offsets[d + 2], offsets[d + 3]
        m = min(min(a1 - a0, a2 - a1), min(a3 - a2, offsets[d + 4] - a3))
        s0 = s1 = s2 = s3 = 0
        for i in range(m):
            s0 = nextmove[rowbase[s0] + data[a0 + i]]
            s1 = nextmove[rowbase[s1] + data[a1 + i]]
            s2 = nextmove[rowbase[s2] + data[a2 + i]]
            s3 = nextmove[rowbase[s3] + data[a3 + i]]
            feats[a0 + i] = output[s0]
            feats[a1 + i] = output[s1]
            feats[a2 + i] = output[s2]
            feats[a3 + i] = output[s3]
        for j in range(4):
            s = s0 if j == 0 else s1 if j == 1 else s2 if j == 2 else s3
            for i in range(offsets[d + j] + m, offsets[d + j + 1]):
                s = nextmove[rowbase[s] + data[i]]
                feats[i] = output[s]
        d += 4
    for j in range(d, nd):
        s = 0
        for i in range(offsets[j], offsets[j + 1]):
            s = nextmove[rowbase[s] + data[i]]
            feats[i] = output[s]


@numba.njit(cache=True, nogil=True)
def _score(feats, ptc, counts, touched, scores, log1p):  # pragma: no cover - compiled
    """Count the features of one text (``feats``, -1: none), then add ``log1p(count) * ptc[feature]``
    for each distinct feature into ``scores``, in order of first occurrence. ``counts`` is scratch of
    one slot per feature, all zero on entry and on return; ``log1p`` is :func:`_log1p_table`."""
    n = 0
    for f in feats:
        if f >= 0:
            if counts[f] == 0:
                touched[n] = f
                n += 1
            counts[f] += 1
    width = scores.shape[0]
    for t in range(n):
        f = touched[t]
        cnt = counts[f]
        w = log1p[cnt] if cnt < log1p.shape[0] else np.float32(np.log1p(np.float64(cnt)))
        counts[f] = 0
        for c in range(width):
            scores[c] += w * ptc[f, c]
    return n


@numba.njit(cache=True, nogil=True)
def _log1p_table(n):  # pragma: no cover - compiled
    """``float32(log1p(c))`` for the counts ``c < n``, computed as :func:`_score` would: a lookup
    instead of a ``log1p`` per distinct feature (13 M of them on 34,000 webdocs texts)."""
    out = np.empty(n, np.float32)
    for c in range(n):
        out[c] = np.float32(np.log1p(np.float64(c)))
    return out


@numba.njit(cache=True, nogil=True)
def _classify_batch(data, offsets, nextmove, rowbase, output, ptc, pc, counts, touched, alias_from,
                    alias_to, best, best_score, log1p):  # pragma: no cover - compiled
    """Score every text ``data[offsets[d]:offsets[d + 1]]`` and keep its best class and probability:
    py3langid's naive Bayes (log probabilities plus priors, scaled by 1/sqrt(bytes), softmax), with
    aliased classes folded into their first name."""
    k = pc.shape[0]
    scores = np.empty(k, np.float32)
    feats = np.empty(data.shape[0], np.int32)
    _features(data, offsets, nextmove, rowbase, output, feats)
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        scores[:] = 0.0
        if _score(feats[a:b], ptc, counts, touched, scores, log1p):
            scale = np.float32(1.0 / np.sqrt(max(b - a, 1)))
            top = np.float32(-np.inf)
            for c in range(k):
                scores[c] = (scores[c] + pc[c]) * scale
                if scores[c] > top:
                    top = scores[c]
            total = np.float32(0.0)
            for c in range(k):
                scores[c] = np.exp(scores[c] - top)
                total += scores[c]
            for c in range(k):
                scores[c] /= total
        else:
            scores[:] = np.float32(1.0 / k)
        for t in range(alias_from.shape[0]):
            scores[alias_to[t]] += scores[alias_from[t]]
            scores[alias_from[t]] = 0.0
        i = 0
        for c in range(1, k):
            if scores[c] > scores[i]:
                i = c
        best[d] = i
        best_score[d] = scores[i]


class Model:
    """py3langid's model (naive Bayes over byte n-grams found by a DFA), evaluated with a compiled DFA
    walk and score accumulation instead of py3langid's per-byte Python loop and gathered matrix product:
    the same decisions and scores to 1e-4 (tested against ``py3langid.classify``), several times faster.
    The model arrays come from py3langid's own loader, converted once and then memory-mapped from the
    cache (:mod:`thresher.cache`), so a process maps the arrays instead of converting them
    (``python benchmarks/kernels.py``, ``language_model_s``)."""

    def __init__(self) -> None:
        arrays, meta = cached_arrays("language", _model_key(), _model_arrays)
        self.classes = list(meta["classes"])
        self.ptc = arrays["ptc"]
        self.pc = arrays["pc"]
        self.nextmove = arrays["nextmove"]
        self.rowbase = arrays["rowbase"]
        self.output = arrays["output"]
        self._counts = np.zeros(self.ptc.shape[0], np.int32)
        self._log1p = _log1p_table(4096)
        first: dict[str, int] = {}
        self.aliases = []
        for i, c in enumerate(self.classes):
            if c in first:
                self.aliases.append((first[c], i))
            else:
                first[c] = i

    def classify_batch(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """:meth:`classify` for many texts in one compiled call: their languages and probabilities."""
        parts = [unicodedata.normalize("NFC", t.lower() if t.isupper() else t).encode("utf-8", "surrogatepass")
                 for t in texts]
        offsets = np.zeros(len(parts) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)), out=offsets[1:])
        data = np.frombuffer(b"".join(parts), np.uint8)
        best = np.empty(len(parts), np.int64)
        score = np.empty(len(parts), np.float32)
        touched = np.empty(int(np.diff(offsets).max()) if parts else 0, np.int32)
        alias_to = np.array([i for i, _ in self.aliases], np.int64)
        alias_from = np.array([j for _, j in self.aliases], np.int64)
        _classify_batch(data, offsets, self.nextmove, self.rowbase, self.output, self.ptc, self.pc,
                        self._counts, touched, alias_from, alias_to, best, score, self._log1p)
        return [self.classes[i] for i in best.tolist()], score.astype(np.float64)

    def classify(self, text: str) -> tuple[str, float]:
        langs, scores = self.classify_batch([text])
        return langs[0], float(scores[0])


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
    stage = "filter"
    compile_seconds = 3.0
    position = 20
    version = "2"
    Config = LanguageConfig
    batched = True

    def removal(self) -> str:
        return "documents" if self.config.keep else "none"

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
        langs, scores = self.identify_batch([text])
        return langs[0], scores[0]

    def identify_batch(self, texts: list[str]) -> tuple[list[str], list[float]]:
        """Language and score (rounded to 6 decimals) of each text, from its first ``max_chars``."""
        n = self.config.max_chars
        langs, scores = model().classify_batch([t[:n] for t in texts])
        return langs, np.round(scores, 6).tolist()

    def process_batch(self, texts) -> Verdicts:
        strs = texts.to_pylist() if isinstance(texts, (pa.Array, pa.ChunkedArray)) else list(texts)
        langs, scores = self.identify_batch(strs)
        rows = [i for i, (lang, score) in enumerate(zip(langs, scores))
                if self._keep and (lang not in self._keep or score < self.config.min_score)]
        return Verdicts.drops(("language",), rows, [0] * len(rows), [len(t) for t in strs],
                              value=np.array([scores[i] for i in rows], np.float64),
                              labels={"language": langs, "language_score": scores})

    def process(self, doc: Document) -> Drop | None:
        v = self.process_batch([doc.text])
        doc.labels["language"] = v.labels["language"][0]
        doc.labels["language_score"] = v.labels["language_score"][0]
        return v.verdict(0)
