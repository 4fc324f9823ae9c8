"""``quality``: drop documents that fail a Gopher, C4 or FineWeb document rule.

Each rule is a reason code; the first rule a document fails (in the order of :data:`RULES`) removes it
whole, and its measured value goes to the removal row (``value``) and to stats (``value_sum``). With
``dry_run = true`` nothing is removed: every measure is written as a ``quality_<measure>`` column of
OUT/documents, with ``quality_fail`` naming the first failed rule (null if none), so thresholds can be
chosen by looking at the data.

Sources of the rules and their defaults:

- Gopher quality and repetition: Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights
  from Training Gopher", appendix A.1.1 and table A1 (as implemented in datatrove's
  ``GopherQualityFilter`` and ``GopherRepetitionFilter``).
- C4: Raffel et al. 2020, section 2.2 ("lorem ipsum", curly brackets, fewer than 5 sentences; the bad-word
  list is not applied); datatrove's ``C4QualityFilter``.
- FineWeb: Penedo et al. 2024, "The FineWeb Datasets", section 3.3 (custom filters), datatrove's
  ``FineWebQualityFilter``.

How each measure is computed is in :mod:`thresher.steps.quality.measures`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...config import option
from ...documents import Document, Drop
from ...errors import ConfigError
from ..base import DocumentStep, Verdicts
from ...text.charclass import TextBatch, as_arrow
from .measures import IDX, MEASURES, measure, measure_batch


@dataclass(frozen=True, kw_only=True)
class QualityConfig:
    skip: tuple[str, ...] = option((), "Rules to switch off, by name (see `thresher steps`).")
    dry_run: bool = option(False, "Remove nothing; write every measure as a quality_* column instead.")
    # Gopher quality (Rae et al. 2021, A.1.1)
    min_words: int = option(100, "gopher_word_count: fewest words (Gopher's 50 kept pages too short to "
                                 "be worth training on; see the README's corpus benchmark).", min=0)
    max_words: int = option(100_000, "gopher_word_count: most words.", min=1)
    min_mean_word_length: float = option(3.0, "gopher_mean_word_length: lower bound.", min=0)
    max_mean_word_length: float = option(10.0, "gopher_mean_word_length: upper bound.", min=0)
    max_symbol_ratio: float = option(0.1, "gopher_symbol_ratio: '#' or ellipses per word.", min=0)
    max_bullet_lines: float = option(0.9, "gopher_bullet_lines: share of lines starting with a bullet.",
                                     min=0, max=1)
    max_ellipsis_lines: float = option(0.3, "gopher_ellipsis_lines: share of lines ending in an ellipsis.",
                                       min=0, max=1)
    min_alpha_words: float = option(0.8, "gopher_alpha_words: share of words with a letter.", min=0, max=1)
    min_stop_words: int = option(2, "gopher_stop_words: distinct English stop words (the, be, to, of, "
                                    "and, that, have, with).", min=0)
    # Gopher repetition (table A1)
    max_dup_line_frac: float = option(0.3, "gopher_dup_lines: share of lines that repeat.", min=0, max=1)
    max_dup_para_frac: float = option(0.3, "gopher_dup_paragraphs: share of paragraphs that repeat.",
                                      min=0, max=1)
    max_dup_line_char_frac: float = option(0.2, "gopher_dup_line_chars: characters in repeated lines.",
                                           min=0, max=1)
    max_dup_para_char_frac: float = option(0.2, "gopher_dup_paragraph_chars: characters in repeated "
                                                "paragraphs.", min=0, max=1)
    max_top_2gram: float = option(0.2, "gopher_top_2gram: characters in the most frequent 2-gram.", min=0)
    max_top_3gram: float = option(0.18, "gopher_top_3gram.", min=0)
    max_top_4gram: float = option(0.16, "gopher_top_4gram.", min=0)
    max_dup_5gram: float = option(0.15, "gopher_dup_5gram: characters in repeated 5-grams.", min=0)
    max_dup_6gram: float = option(0.14, "gopher_dup_6gram.", min=0)
    max_dup_7gram: float = option(0.13, "gopher_dup_7gram.", min=0)
    max_dup_8gram: float = option(0.12, "gopher_dup_8gram.", min=0)
    max_dup_9gram: float = option(0.11, "gopher_dup_9gram.", min=0)
    max_dup_10gram: float = option(0.10, "gopher_dup_10gram.", min=0)
    # C4 (Raffel et al. 2020, 2.2)
    min_sentences: int = option(5, "c4_min_sentences: fewest sentences.", min=0)
    c4_curly_bracket: bool = option(False, "Switch on c4_curly_bracket: drop any document with a '{' (C4's "
                                           "code filter; off by default: it drops code tutorials and prose "
                                           "with one brace, every page it dropped in the corpus benchmark "
                                           "was labelled keep).")
    # FineWeb (Penedo et al. 2024, 3.3)
    min_line_punct: float = option(0.12, "fineweb_line_punct: share of lines ending in terminal "
                                         "punctuation (at or below this fails).", min=0, max=1)
    max_short_lines: float = option(0.67, "fineweb_short_lines: share of lines of at most "
                                          "short_line_chars characters.", min=0, max=1)
    short_line_chars: int = option(30, "fineweb_short_lines: what counts as a short line.", min=1)
    max_line_char_dup: float = option(0.01, "fineweb_line_char_dup: characters in repeated lines.",
                                      min=0, max=1)
    max_list_ratio: float = option(0.3, "fineweb_list_ratio: newlines per word.", min=0)
    # thresher's own
    max_title_words: float = option(0.3, "title_words: share of words in title case (a capital, then a "
                                         "lower-case letter: title-case navigation, product grids, lists "
                                         "of names; an English rule, like gopher_stop_words).", min=0, max=1)


#: A rule maps the config and the measures (a vector indexed by measure, or an array of columns: one
#: row per measure) to whether each text fails and the value behind it; elementwise, so one definition
#: serves a document and a batch.
_Rule = Callable[[QualityConfig, "np.ndarray"], "tuple[np.ndarray, np.ndarray]"]


def _rules() -> dict[str, _Rule]:
    m = {**IDX, "lorem_ipsum": len(MEASURES)}

    def below(measure: str, attr: str, strict: bool = True) -> _Rule:
        return lambda c, v: ((v[m[measure]] < getattr(c, attr)) if strict
                             else (v[m[measure]] <= getattr(c, attr)), v[m[measure]])

    def above(measure: str, attr: str) -> _Rule:
        return lambda c, v: (v[m[measure]] > getattr(c, attr), v[m[measure]])

    rules: dict[str, _Rule] = {
        "gopher_word_count": lambda c, v: ((v[m["words"]] < c.min_words) | (v[m["words"]] > c.max_words),
                                           v[m["words"]]),
        "gopher_mean_word_length": lambda c, v: (
            (v[m["mean_word_length"]] < c.min_mean_word_length)
            | (v[m["mean_word_length"]] > c.max_mean_word_length),
            v[m["mean_word_length"]]),
        "gopher_symbol_ratio": lambda c, v: (
            np.maximum(v[m["hash_ratio"]], v[m["ellipsis_ratio"]]) > c.max_symbol_ratio,
            np.maximum(v[m["hash_ratio"]], v[m["ellipsis_ratio"]])),
        "gopher_bullet_lines": above("bullet_lines", "max_bullet_lines"),
        "gopher_ellipsis_lines": above("ellipsis_lines", "max_ellipsis_lines"),
        "gopher_alpha_words": below("alpha_words", "min_alpha_words"),
        "gopher_stop_words": below("stop_words", "min_stop_words"),
        "gopher_dup_paragraphs": above("dup_para_frac", "max_dup_para_frac"),
        "gopher_dup_paragraph_chars": above("dup_para_char_frac", "max_dup_para_char_frac"),
        "gopher_dup_lines": above("dup_line_frac", "max_dup_line_frac"),
        "gopher_dup_line_chars": above("dup_line_char_frac", "max_dup_line_char_frac"),
    }
    for n in (2, 3, 4):
        rules[f"gopher_top_{n}gram"] = above(f"top_{n}gram", f"max_top_{n}gram")
    for n in range(5, 11):
        rules[f"gopher_dup_{n}gram"] = above(f"dup_{n}gram", f"max_dup_{n}gram")
    rules["c4_lorem_ipsum"] = lambda c, v: (v[m["lorem_ipsum"]] > 0, v[m["lorem_ipsum"]])
    rules["c4_curly_bracket"] = lambda c, v: (v[m["curly_brackets"]] > 0, v[m["curly_brackets"]])
    rules["c4_min_sentences"] = below("sentences", "min_sentences")
    rules["fineweb_line_punct"] = below("line_punct", "min_line_punct", strict=False)
    rules["fineweb_short_lines"] = above("short_lines", "max_short_lines")
    rules["fineweb_line_char_dup"] = above("line_char_dup", "max_line_char_dup")
    rules["fineweb_list_ratio"] = above("list_ratio", "max_list_ratio")
    rules["title_words"] = above("title_words", "max_title_words")
    return rules


#: Every rule, in the order they are checked.
RULES: dict[str, _Rule] = _rules()

_LOREM = re.compile("lorem ipsum", re.IGNORECASE)


def check_rule_names(step: str, names: tuple[str, ...], known) -> None:
    import difflib
    for name in names:
        if name not in known:
            match = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean '{match[0]}'?" if match else f"; rules: {', '.join(known)}"
            raise ConfigError(f"{step}.skip: unknown rule '{name}'" + hint)


class QualityFilter(DocumentStep):
    name = "quality"
    stage = "filter"
    compile_seconds = 9.0
    position = 10
    version = "2"
    Config = QualityConfig
    rules = tuple(RULES)

    def removal(self) -> str:
        return "none" if self.config.dry_run else "documents"
    batched = True

    def __init__(self, config: QualityConfig | None = None):
        super().__init__(config)
        c = self.config
        check_rule_names(self.name, c.skip, RULES)
        if c.min_words > c.max_words:
            raise ConfigError(f"quality.min_words = {c.min_words} is above quality.max_words = {c.max_words}")
        if c.min_mean_word_length > c.max_mean_word_length:
            raise ConfigError("quality.min_mean_word_length is above quality.max_mean_word_length")
        off = set(c.skip) | (set() if c.c4_curly_bracket else {"c4_curly_bracket"})
        self._active = [(name, rule) for name, rule in RULES.items() if name not in off]

    def columns(self) -> dict[str, pa.DataType]:
        if not self.config.dry_run:
            return {}
        cols = {f"quality_{m}": pa.float64() for m in (*MEASURES, "lorem_ipsum")}
        cols["quality_fail"] = pa.string()
        return cols

    def scores(self, text: str) -> list[float]:
        v = measure(text, short_line_chars=self.config.short_line_chars).tolist()
        v.append(1.0 if _LOREM.search(text) else 0.0)
        return v

    def failures(self, scores: list[float], *, first: bool = False) -> list[tuple[str, float]]:
        """The active rules that ``scores`` (from :meth:`scores`) fail, in order, with their measured
        values; only the first with ``first=True``."""
        out = []
        for name, rule in self._active:
            bad, val = rule(self.config, scores)
            if bad:
                out.append((name, float(val)))
                if first:
                    break
        return out

    def process(self, doc: Document) -> Drop | None:
        v = self.scores(doc.text)
        failed, value = (self.failures(v, first=True) or [(None, None)])[0]
        if self.config.dry_run:
            for name, x in zip((*MEASURES, "lorem_ipsum"), v):
                doc.labels[f"quality_{name}"] = x
            doc.labels["quality_fail"] = failed
            return None
        return Drop(failed, value=value) if failed else None

    def process_batch(self, texts) -> Verdicts:
        """The first failed rule of every text of a batch: the measures in one compiled pass over the
        batch, the rules as array comparisons."""
        texts = as_arrow(texts)
        batch = TextBatch(texts)
        n = len(batch)
        v = np.empty((n, len(MEASURES) + 1), np.float64)
        v[:, :-1] = measure_batch(batch.cp, batch.offsets, short_line_chars=self.config.short_line_chars)
        v[:, -1] = self._lorem(texts)
        cols = v.T
        first = np.full(n, -1, np.int64)
        value = np.full(n, np.nan)
        for k, (_, rule) in enumerate(self._active):
            bad, val = rule(self.config, cols)
            bad = np.asarray(bad, bool) & (first < 0)
            first[bad] = k
            value[bad] = np.broadcast_to(np.asarray(val, np.float64), n)[bad]
        names = tuple(name for name, _ in self._active)
        if self.config.dry_run:      # scores as columns, nothing removed
            labels = {f"quality_{m}": v[:, j].tolist() for j, m in enumerate((*MEASURES, "lorem_ipsum"))}
            labels["quality_fail"] = [names[k] if k >= 0 else None for k in first.tolist()]
            return Verdicts.drops(names, [], [], batch.lengths, labels=labels)
        rows = np.flatnonzero(first >= 0)
        return Verdicts.drops(names, rows, first[rows], batch.lengths, value=value[rows])

    @staticmethod
    def _lorem(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """"lorem ipsum" in any case, as ``re.IGNORECASE`` finds it. Every match holds "orem" in ASCII
        letters of any case (no other character folds to o, r, e or m), so RE2 (pyarrow) picks the
        candidates at memory speed and the regex confirms them."""
        out = np.zeros(len(texts), bool)
        candidates = pc.match_substring(texts, "orem", ignore_case=True).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(candidates).tolist():
            out[i] = bool(_LOREM.search(texts[i].as_py()))
        return out
