"""``boilerplate``: remove the debris lines of scraped pages, each by a named rule.

Line rules, checked in this order (the first that fires is the line's ``reason``); every one can be
switched off with ``skip``:

=====================  ================================================================================
``c4_long_word``       a word longer than ``max_word_length`` (1000) characters. C4 (Raffel et al. 2020,
                       and its reference code ``c4_utils.py``).
``c4_javascript``      the line mentions "javascript". C4, section 2.2.
``c4_policy``          "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                       "use cookies". C4's reference code (``c4_utils.py``, as in datatrove).
``citation_export``    a bibliography-export line: "Retrieved from", "Accessed <date>", "[Accessed",
                       "Available from:", "[Online]", "[Internet]", "viewed <date>". These are the
                       markers of the APA, Harvard, Vancouver, IEEE and Chicago styles that "cite this
                       page" widgets print; the rule extends C4's citation clean-up (wiki markers, below)
                       from markers to whole generated citation lines.
``ui_phrase``          a short line (at most ``ui_max_words`` words) with an interface phrase: log in /
                       sign in / sign up / create an account / subscribe / newsletter / copied to (the|your)
                       clipboard / click here / read more / share this / add to cart / ... . Generalises
                       C4's policy-phrase rule to the site-interface phrases that RefinedWeb's line-wise
                       corrections target (Penedo et al. 2023, appendix G.2: navigation and sign-in lines).
``uppercase``          every cased character is upper case ("SIGN UP NOW"). RefinedWeb G.2.
``no_letters``         no letter at all ("0:000:01:070:00", "|"). RefinedWeb G.2 ("only numerical
                       characters"), extended to symbols.
``counter``            a counter such as "3 likes", "12 comments", "Views: 1,024". RefinedWeb G.2.
``c4_min_words``       fewer than ``min_words`` (3) words. C4, section 2.2.
``c4_terminal_punct``  the line does not end in terminal punctuation (``. ! ? "`` and their Unicode
                       counterparts), or ends in an ellipsis. C4, section 2.2. FineWeb switched this one
                       off (it removes headings and list items too): ``skip = ["c4_terminal_punct"]``.
=====================  ================================================================================

Blank lines are never removed: they separate paragraphs. A removed line goes with its newline.
Span rule: ``c4_wiki_citation`` removes "[1]", "[edit]", "[citation needed]" markers (C4 reference code;
at most three digits, so a bracketed year such as "[2011]" stays).

Corpus-learned boilerplate (``repeated_min_docs`` > 0, default 10): after the line rules, every
remaining line is keyed by its *source* (the host of a ``url`` field, else the input file) and its
normalised text (NFKC, case and whitespace folded); a global phase counts the documents of the source
that hold each line, and every occurrence of a line held by at least ``repeated_min_docs`` documents is
removed, ``reason="repeated_line"``, ``value`` = that count. Stats list the most removed lines. With
``repeated_min_docs = 0`` the step is local (no extra pass over the data).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from ..config import option
from ..documents import Cut, Document
from ..steps import DocumentStep, SpanKeys
from ..text.normalize import span_fingerprints, utf8_buffer
from ..text.segment import paragraphs
from .lines import ENDS_SENTENCE, HAS_ALPHA, HAS_DIGIT, HAS_LOWER, HAS_UPPER, line_features
from .quality import check_rule_names

LINE_RULES = ("c4_long_word", "c4_javascript", "c4_policy", "citation_export", "ui_phrase", "uppercase",
              "no_letters", "counter", "c4_min_words", "c4_terminal_punct")
SPAN_RULES = ("c4_wiki_citation",)
RULES = LINE_RULES + SPAN_RULES
_CODES: tuple[str | None, ...] = (None, *LINE_RULES)
_CODE = {rule: i for i, rule in enumerate(_CODES) if rule}

_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_UI = ("log in", "login", "log-in", "sign in", "signin", "sign-in", "sign up", "signup", "sign-up",
       "create an account", "create account", "register now", "subscribe", "unsubscribe", "newsletter",
       "copied to your clipboard", "copied to the clipboard", "copy to clipboard", "click here",
       "read more", "share this", "share on", "follow us", "add to cart", "add to basket", "add to wishlist",
       "items in cart", "your cart", "leave a reply", "leave a comment", "post a comment", "reply",
       "skip to content", "skip to main content", "back to top", "print this", "email this",
       "forgot your password", "forgot password", "remember me", "all rights reserved", "powered by")
#: Case-insensitive keyword rules, one scan of the whole text; group name = rule.
_KEYWORDS = re.compile(
    "(?P<c4_javascript>javascript)"
    "|(?P<c4_policy>" + "|".join(re.escape(p) for p in _POLICY) + ")"
    r"|(?P<citation_export>\bretrieved from\b|\[accessed\b|\baccessed:? ?\d|\bavailable (?:from|at):"
    r"|\[online\]|\[internet\]|\bviewed \d)"
    "|(?P<ui_phrase>" + r"\b(?:" + "|".join(re.escape(p) for p in _UI) + r")\b)",
    re.IGNORECASE)
_TRIGGERS = ("javascript", *_POLICY, "retrieved from", "accessed", "available from", "available at",
             "[online]", "[internet]", "viewed", *_UI)


@functools.cache
def _triggers():
    """Aho-Corasick automaton over the lower-cased literal every keyword rule needs."""
    import ahocorasick
    a = ahocorasick.Automaton()
    for word in _TRIGGERS:
        a.add_word(word, word)
    a.make_automaton()
    return a


_WIKI_CITATION = re.compile(r"\[\d{1,3}\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_COUNTER = re.compile(r"\d[\d,.]{0,15}\s{0,3}(?:likes?|comments?|shares?|views?|replies|reply|reviews?|"
                      r"votes?|followers?|retweets?|points?|answers?)|(?:likes?|comments?|shares?|views?|"
                      r"replies|reviews?|votes?|followers?|answers?)\s{0,3}[:(]?\s{0,3}\d[\d,.]{0,15}\)?",
                      re.IGNORECASE)
def ends_terminal(line: str) -> bool:
    """Whether ``line`` ends a sentence, as the line kernel decides it (:mod:`thresher.filters.lines`)."""
    bits = line_features(line)[4]
    return bool(len(bits) and bits[-1] & ENDS_SENTENCE)


@dataclass(frozen=True, kw_only=True)
class BoilerplateConfig:
    skip: tuple[str, ...] = option((), "Rules to switch off, by name (see `thresher steps`).")
    min_words: int = option(3, "c4_min_words: lines with fewer words are removed.", min=1)
    max_word_length: int = option(1000, "c4_long_word: lines with a longer word are removed.", min=1)
    ui_max_words: int = option(12, "ui_phrase: only lines of at most this many words are checked.", min=1)
    repeated_min_docs: int = option(10, "repeated_line: a line held by at least this many documents of "
                                        "one source is removed everywhere; 0 = off (local step).", min=0)
    top_lines: int = option(50, "How many of the most removed repeated lines stats list.", min=0)


class Boilerplate(DocumentStep):
    name = "boilerplate"
    version = "1"
    Config = BoilerplateConfig
    reason = "repeated_line"
    rules = RULES
    whole_document: ClassVar[bool] = False
    similarity = None

    def __init__(self, config: BoilerplateConfig | None = None):
        super().__init__(config)
        check_rule_names(self.name, self.config.skip, RULES)
        self._on = {r: r not in self.config.skip for r in RULES}
        if not any(self._on[r] for r in ("c4_javascript", "c4_policy", "citation_export", "ui_phrase")):
            self._keywords = None
        else:
            self._keywords = _KEYWORDS

    @property
    def is_global(self) -> bool:   # type: ignore[override]
        return self.config.repeated_min_docs > 0

    # -- line rules ----------------------------------------------------------------------------------
    def _keyword_hits(self, text: str, start: np.ndarray, end: np.ndarray, words: np.ndarray) -> dict[int, str]:
        """Line index -> first enabled keyword rule matched in it (``ui_phrase`` only on short lines).

        An Aho-Corasick automaton (pyahocorasick) finds the lines holding any trigger word in one pass
        over the lower-cased text; only those lines go through the keyword regex (a case-insensitive
        alternation of ~70 phrases costs ~15x more per character than the automaton)."""
        hits: dict[int, str] = {}
        if self._keywords is None:
            return hits
        low = text.lower()
        if len(low) == len(text):
            ends = [e for e, _ in _triggers().iter(low)]
            if not ends:
                return hits
            candidates = np.unique(np.searchsorted(start, np.asarray(ends), side="right") - 1).tolist()
        else:       # lower-casing changed offsets (e.g. "İ"): check every line
            candidates = range(len(start))
        on, ui_max = self._on, self.config.ui_max_words
        for i in candidates:
            for m in self._keywords.finditer(text, int(start[i]), int(end[i])):
                rule = m.lastgroup
                if on[rule] and (rule != "ui_phrase" or words[i] <= ui_max):
                    hits[i] = rule
                    break
        return hits

    def line_reasons(self, text: str) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """``start, end`` of every line and the rule that removes it (None: kept), in rule order."""
        on, c = self._on, self.config
        start, end, words, longest, bits = line_features(text)
        code = np.zeros(len(start), np.int8)          # index into _CODES; 0 = kept
        live = words > 0

        def mark(rule: str, mask: np.ndarray) -> None:
            if on[rule]:
                code[live & mask & (code == 0)] = _CODE[rule]

        mark("c4_long_word", longest > c.max_word_length)
        for i, rule in self._keyword_hits(text, start, end, words).items():
            if code[i] == 0 and live[i]:
                code[i] = _CODE[rule]
        mark("uppercase", ((bits & HAS_UPPER) != 0) & ((bits & HAS_LOWER) == 0))
        mark("no_letters", (bits & HAS_ALPHA) == 0)
        if on["counter"]:
            for i in np.flatnonzero(live & (code == 0) & (words <= 4) & ((bits & HAS_DIGIT) != 0)).tolist():
                if _COUNTER.fullmatch(text, int(start[i]), int(end[i])) or \
                        _COUNTER.fullmatch(text[start[i]:end[i]].strip()):
                    code[i] = _CODE["counter"]
        mark("c4_min_words", words < c.min_words)
        mark("c4_terminal_punct", (bits & ENDS_SENTENCE) == 0)
        return start, end, [_CODES[k] for k in code.tolist()]

    def process(self, doc: Document) -> list[Cut] | None:
        text = doc.text
        start, end, reasons = self.line_reasons(text)
        n = len(text)
        cuts: list[Cut] = []
        removed = set()
        for i, reason in enumerate(reasons):
            if reason is None:
                continue
            a, b = int(start[i]), min(int(end[i]) + 1, n)     # with its newline
            removed.add(i)
            if cuts and cuts[-1].end == a and cuts[-1].reason == reason:
                cuts[-1] = Cut(cuts[-1].start, b, reason)
            else:
                cuts.append(Cut(a, b, reason))
        if self._on["c4_wiki_citation"] and "[" in text:
            marks = [(m.start(), m.end()) for m in _WIKI_CITATION.finditer(text)]
            if marks:
                line_of = np.searchsorted(start, np.asarray([m[0] for m in marks]), side="right") - 1
                cuts += [Cut(a, b, "c4_wiki_citation") for (a, b), i in zip(marks, line_of.tolist())
                         if i not in removed]
                cuts.sort(key=lambda c: c.start)
        return cuts or None

    # -- corpus-learned: keys of the remaining lines ---------------------------------------------------
    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        """Each non-blank line of each text, keyed by its normalised form (the engine adds the source)."""
        data, offsets = utf8_buffer(texts)
        doc, b0, b1, start, end, cut0, cut1 = paragraphs(data, offsets, mode="lines")
        key = span_fingerprints(data, b0, b1 - b0, normalization="NFKC", lowercase=True,
                                fold_whitespace=True)
        return SpanKeys(row=doc, start=start, end=end, key=key, cut_start=cut0, cut_end=cut1)


def source_key(source: str, url: object) -> str:
    """What repeated lines are counted within: the host of ``url`` if it has one, else the input file."""
    if isinstance(url, str) and url:
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            host = None
        if host:
            return "host:" + host.lower().removeprefix("www.")
    return "file:" + source

