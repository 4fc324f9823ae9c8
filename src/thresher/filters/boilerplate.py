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

import bisect
import functools
import re
import unicodedata
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
from .quality import check_rule_names

LINE_RULES = ("c4_long_word", "c4_javascript", "c4_policy", "citation_export", "ui_phrase", "uppercase",
              "no_letters", "counter", "c4_min_words", "c4_terminal_punct")
SPAN_RULES = ("c4_wiki_citation",)
RULES = LINE_RULES + SPAN_RULES

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
_LETTER = re.compile(r"[^\W\d_]")
_COUNTER = re.compile(r"\d[\d,.]{0,15}\s{0,3}(?:likes?|comments?|shares?|views?|replies|reply|reviews?|"
                      r"votes?|followers?|retweets?|points?|answers?)|(?:likes?|comments?|shares?|views?|"
                      r"replies|reviews?|votes?|followers?|answers?)\s{0,3}[:(]?\s{0,3}\d[\d,.]{0,15}\)?",
                      re.IGNORECASE)
_ENDS = (".", "!", "?", '"')


def _terminal(ch: str) -> bool:
    return ch in _ENDS or (unicodedata.category(ch) == "Po" and any(
        n in unicodedata.name(ch, "") for n in ("FULL STOP", "QUESTION MARK", "EXCLAMATION MARK", "DANDA"))
        and not unicodedata.name(ch, "").startswith("INVERTED"))


_TERMINAL_CACHE: dict[str, bool] = {}


def ends_terminal(line: str) -> bool:
    """C4's terminal-punctuation test, with Unicode sentence ends and closing quotes accepted."""
    s = line.rstrip()
    if not s or s.endswith("...") or s.endswith("…"):
        return False
    ch = s[-1]
    if ch in "”’'»" and len(s) > 1:       # closing quote after the sentence end: 'He said "no."'
        ch = s[-2]
        if ch in _ENDS:
            return True
    r = _TERMINAL_CACHE.get(ch)
    if r is None:
        r = _TERMINAL_CACHE[ch] = _terminal(ch)
    return r


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
    def line_reason(self, line: str, keyword: str | None) -> str | None:
        """The first rule that removes ``line`` (``keyword``: the first keyword rule found in it)."""
        on, c = self._on, self.config
        words = line.split()
        if not words:
            return None
        if on["c4_long_word"] and max(map(len, words)) > c.max_word_length:
            return "c4_long_word"
        if keyword is not None and (keyword != "ui_phrase" or len(words) <= c.ui_max_words):
            return keyword
        if on["uppercase"] and line.isupper():
            return "uppercase"
        if on["no_letters"] and not _LETTER.search(line):
            return "no_letters"
        if on["counter"] and len(words) <= 4 and _COUNTER.fullmatch(line.strip()):
            return "counter"
        if on["c4_min_words"] and len(words) < c.min_words:
            return "c4_min_words"
        if on["c4_terminal_punct"] and not ends_terminal(line):
            return "c4_terminal_punct"
        return None

    def _keyword_hits(self, text: str, starts: list[int]) -> dict[int, str]:
        """Line index -> first enabled keyword rule matched in it.

        An Aho-Corasick automaton (pyahocorasick) finds the lines holding any trigger word in one pass
        over the lower-cased text; only those lines go through the keyword regex (a case-insensitive
        alternation of ~70 phrases costs ~15x more per character than the automaton)."""
        hits: dict[int, str] = {}
        if self._keywords is None:
            return hits
        low = text.lower()
        if len(low) == len(text):
            candidates = sorted({bisect.bisect_right(starts, end) - 1 for end, _ in _triggers().iter(low)})
        else:       # lower-casing changed offsets (e.g. "İ"): check every line
            candidates = range(len(starts))
        on = self._on
        for i in candidates:
            line = text[starts[i]:starts[i + 1] - 1] if i + 1 < len(starts) else text[starts[i]:]
            for m in self._keywords.finditer(line):
                if on[m.lastgroup]:
                    hits[i] = m.lastgroup
                    break
        return hits

    def process(self, doc: Document) -> list[Cut] | None:
        text = doc.text
        lines = text.split("\n")
        starts, pos = [], 0
        for line in lines:
            starts.append(pos)
            pos += len(line) + 1
        hits = self._keyword_hits(text, starts)
        cuts: list[Cut] = []
        last = len(lines) - 1
        for i, line in enumerate(lines):
            reason = self.line_reason(line, hits.get(i))
            if reason is None:
                if self._on["c4_wiki_citation"] and "[" in line:
                    for m in _WIKI_CITATION.finditer(line):
                        cuts.append(Cut(starts[i] + m.start(), starts[i] + m.end(), "c4_wiki_citation"))
                continue
            a = starts[i]
            b = a + len(line) + (1 if i < last else 0)
            if cuts and cuts[-1].end == a and cuts[-1].reason == reason:
                cuts[-1] = Cut(cuts[-1].start, b, reason)
            else:
                cuts.append(Cut(a, b, reason))
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

