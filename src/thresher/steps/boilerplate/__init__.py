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
                       from markers to whole generated citation lines. Also a line with a machine
                       timestamp (ISO 8601) and a title separator (``|`` or ``»``), and a line between
                       two citation lines (the styles without a marker, inside the block).
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
``ui_words``           a line of 2 to ``ui_max_words`` words, every one a word of page furniture (share,
                       print, comment, cite, email, tweet, reply, menu, width, px...): a share bar, a
                       toolbar, markup residue ("Print Share Comment Cite Upload Translate Updates",
                       "width px height px"). Prose is never made of these words alone.
``c4_terminal_punct``  the line does not end in terminal punctuation (``. ! ? "`` and their Unicode
                       counterparts), or ends in an ellipsis. C4, section 2.2. Off unless
                       ``c4_terminal_punct = true``: as FineWeb found, it removes headings, list items
                       and every line of hard-wrapped prose.
=====================  ================================================================================

Blank lines are never removed: they separate paragraphs. A removed line goes with its newline.
Span rule: ``c4_wiki_citation`` removes "[1]", "[edit]", "[citation needed]" markers (C4 reference code;
at most three digits, so a bracketed year such as "[2011]" stays).

Corpus-learned boilerplate (``repeated_min_docs`` > 0, default 10): after the line rules, every
remaining line is keyed by its *source* (the host of the page URL, read from ``[input] url_field``: ``url``, else
Dolma's ``metadata.url``; a path such as ``page.link`` names another; else the input file) and its normalised text (NFKC, case and whitespace folded); a global phase counts the documents of the source
that hold each line, and every occurrence of a line held by at least ``repeated_min_docs`` documents is
removed, ``reason="repeated_line"``, ``value`` = that count. Stats list the most removed lines. With
``repeated_min_docs = 0`` the step is local (no extra pass over the data).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ...config import option
from ...documents import Cut, Document
from ..base import DocumentStep, Verdicts
from ..keyed import SpanKeys
from ...text.normalize import utf8_buffer
from ...text.segment import keyed_lines
from ...text.charclass import DIGIT, TextBatch, tables
from .lines import (ENDS_SENTENCE, HAS_ALPHA, HAS_DIGIT, HAS_LOWER, HAS_MARKED, HAS_TRIGGER, HAS_UPPER,
                    line_features, line_features_batch)
from .learned import LearnedLines
from .triggers import TriggerAutomaton
from ..quality import check_rule_names

LINE_RULES = ("c4_long_word", "c4_javascript", "c4_policy", "citation_export", "ui_phrase", "uppercase",
              "no_letters", "counter", "c4_min_words", "ui_words", "c4_terminal_punct")
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
       "forgot your password", "forgot password", "remember me", "all rights reserved", "powered by",
       "latest posts", "new posts", "latest threads", "members online", "daily email", "weekly email",
       "no media source", "browser does not support", "to your inbox", "some rights reserved")
#: Words of page furniture: a line made of nothing else is a share bar, a toolbar or markup residue.
_UI_WORDS = ("print", "share", "shares", "comment", "comments", "cite", "upload", "translate", "updates",
             "email", "e-mail", "mail", "tweet", "facebook", "twitter", "whatsapp", "linkedin", "pinterest",
             "reddit", "telegram", "pin", "like", "likes", "reply", "replies", "follow", "save", "download",
             "embed", "link", "copy", "permalink", "report", "quote", "bookmark", "favorite", "favourite",
             "menu", "home", "search", "next", "previous", "prev", "more", "top", "bottom", "back", "close",
             "login", "register", "subscribe", "rss", "feed", "tags", "tag", "categories", "archives",
             "width", "height", "px", "em", "pt", "style", "border", "margin", "padding", "align", "src",
             "alt", "div", "span", "img", "href", "http", "https", "www")
_UI_LINE = re.compile(r"[\W\d_]*(?:(?:" + "|".join(re.escape(w) for w in _UI_WORDS) + r")\b[\W\d_]*)+",
                      re.IGNORECASE)
#: A machine timestamp (ISO 8601) beside a title separator: a generated metadata or citation line.
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
#: The literals every keyword rule needs, lower case: a line without one cannot match (triggers.py).
_TRIGGERS = ("javascript", *_POLICY, "retrieved from", "accessed", "available from", "available at",
             "[online]", "[internet]", "viewed", *_UI)
#: Case-insensitive keyword rules, one scan of the whole text; group name = rule. Every match starts with
#: the first character of a trigger or with "[" ("[accessed"), so the lookahead lets the scan pass other
#: positions without trying each alternative there (``python benchmarks/kernels.py`` times both).
_KEYWORDS = re.compile(
    "(?=[" + re.escape("".join(sorted({w[0] for w in _TRIGGERS} | {"["}))) + "])(?:"
    "(?P<c4_javascript>javascript)"
    "|(?P<c4_policy>" + "|".join(re.escape(p) for p in _POLICY) + ")"
    r"|(?P<citation_export>\bretrieved from\b|\[accessed\b|\baccessed:? ?\d|\bavailable (?:from|at):"
    r"|\[online\]|\[internet\]|\bviewed \d)"
    "|(?P<ui_phrase>" + r"\b(?:" + "|".join(re.escape(p) for p in _UI) + r")\b))",
    re.IGNORECASE)
#: The same without ``ui_phrase``, for lines too long for it (the alternation costs per character).
_KEYWORDS_LONG = re.compile(_KEYWORDS.pattern.rsplit("|(?P<ui_phrase>", 1)[0] + ")", re.IGNORECASE)


@functools.cache
def _triggers() -> TriggerAutomaton:
    """Compiled automaton over the lower-cased literal every keyword rule needs; the literals of the
    rules other than ``ui_phrase`` are marked, as only they can match in a line too long for it."""
    return TriggerAutomaton(_TRIGGERS, marked=tuple(t for t in _TRIGGERS if t not in _UI))


_WIKI_CITATION = re.compile(r"\[\d{1,3}\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_WIKI_LEADS = np.array([ord(c) for c in "cCeE"], np.uint32)
_COUNTER = re.compile(r"\d[\d,.]{0,15}\s{0,3}(?:likes?|comments?|shares?|views?|replies|reply|reviews?|"
                      r"votes?|followers?|retweets?|points?|answers?)|(?:likes?|comments?|shares?|views?|"
                      r"replies|reviews?|votes?|followers?|answers?)\s{0,3}[:(]?\s{0,3}\d[\d,.]{0,15}\)?",
                      re.IGNORECASE)
def _citation_block(batch: TextBatch, doc, start, end, code, live) -> None:
    """citation_export for a timestamped title line, and for a line between two citation lines."""
    cite = _CODE["citation_export"]
    cp, offsets = batch.cp, batch.offsets
    flags, _ = tables()
    digit = (flags[np.minimum(cp, 0xFFFF)] & DIGIT) != 0
    t_at = np.flatnonzero((cp[1:-1] == ord("T")) & digit[:-2] & digit[2:]) + 1 if len(cp) > 2 else []
    first_line = np.searchsorted(doc, np.arange(len(batch) + 1))
    for t in np.unique(np.searchsorted(offsets, t_at, side="right") - 1).tolist():
        text = batch[t]
        lo, hi = first_line[t], first_line[t + 1]
        for m in _STAMP.finditer(text):
            i = lo + int(np.searchsorted(start[lo:hi], m.start(), side="right")) - 1
            line = text[start[i]:end[i]]
            if live[i] and code[i] == 0 and ("|" in line or "\u00bb" in line):
                code[i] = cite
    inner = np.zeros(len(code), bool)
    if len(code) > 2:
        inner[1:-1] = ((code[:-2] == cite) & (code[2:] == cite) & (doc[:-2] == doc[1:-1])
                       & (doc[2:] == doc[1:-1]))
    code[inner & live & (code == 0)] = cite


def ends_terminal(line: str) -> bool:
    """Whether ``line`` ends a sentence, as the line kernel decides it (:mod:`thresher.steps.boilerplate.lines`)."""
    bits = line_features(line)[4]
    return bool(len(bits) and bits[-1] & ENDS_SENTENCE)


@dataclass(frozen=True, kw_only=True)
class BoilerplateConfig:
    skip: tuple[str, ...] = option((), "Rules to switch off, by name (see `thresher steps`).")
    min_words: int = option(3, "c4_min_words: lines with fewer words are removed.", min=1)
    max_word_length: int = option(1000, "c4_long_word: lines with a longer word are removed.", min=1)
    ui_max_words: int = option(12, "ui_phrase, ui_words: only lines of at most this many words are checked.",
                               min=1)
    c4_terminal_punct: bool = option(False, "Switch on c4_terminal_punct (off by default, as in FineWeb: it "
                                            "removes headings, list items and hard-wrapped prose).")
    repeated_min_docs: int = option(10, "repeated_line: a line held by at least this many documents of "
                                        "one source is removed everywhere; 0 = off (local step).", min=0)
    top_lines: int = option(50, "How many of the most removed repeated lines stats list.", min=0)


class Boilerplate(DocumentStep):
    name = "boilerplate"
    version = "2"
    Config = BoilerplateConfig
    stage = "clean"
    compile_seconds = 4.0
    rules = RULES
    batched = True

    def __init__(self, config: BoilerplateConfig | None = None):
        super().__init__(config)
        check_rule_names(self.name, self.config.skip, RULES)
        self._on = {r: r not in self.config.skip for r in RULES}
        self._on["c4_terminal_punct"] &= self.config.c4_terminal_punct
        if not any(self._on[r] for r in ("c4_javascript", "c4_policy", "citation_export", "ui_phrase")):
            self._keywords = None
        else:
            self._keywords = _KEYWORDS

    def parts(self) -> tuple["Boilerplate", LearnedLines | None]:
        """The line rules, and with ``repeated_min_docs`` > 0 the lines learned per source."""
        return self, (LearnedLines(self) if self.config.repeated_min_docs > 0 else None)

    # -- line rules ----------------------------------------------------------------------------------
    def line_codes(self, batch: TextBatch):
        """Every line of every text with the rule that removes it: ``doc, start, end`` (text-relative)
        and ``code`` (1 + index into LINE_RULES; 0: kept), rules checked in order."""
        on, c = self._on, self.config
        strs, cp, offsets = batch, batch.cp, batch.offsets
        doc, start, end, words, longest, bits = line_features_batch(
            cp, offsets, triggers=_triggers() if self._keywords is not None else None)
        code = np.zeros(len(start), np.int8)
        live = words > 0

        def mark(rule: str, mask: np.ndarray) -> None:
            if on[rule]:
                code[live & mask & (code == 0)] = _CODE[rule]

        mark("c4_long_word", longest > c.max_word_length)
        if self._keywords is not None:
            # only lines holding a trigger word can match the keyword regex (see triggers.py), and in a
            # line longer than ui_phrase checks, only a marked (not ui_phrase) trigger word can
            ui_max = c.ui_max_words
            short = words <= ui_max
            flagged = (bits & np.where(short, HAS_TRIGGER, HAS_MARKED)) != 0
            for i in np.flatnonzero(live & (code == 0) & flagged).tolist():
                keywords = self._keywords if short[i] else _KEYWORDS_LONG
                for m in keywords.finditer(strs[doc[i]], int(start[i]), int(end[i])):
                    rule = m.lastgroup
                    if on[rule] and (rule != "ui_phrase" or short[i]):
                        code[i] = _CODE[rule]
                        break
        if on["citation_export"]:
            _citation_block(batch, doc, start, end, code, live)
        mark("uppercase", ((bits & HAS_UPPER) != 0) & ((bits & HAS_LOWER) == 0))
        mark("no_letters", (bits & HAS_ALPHA) == 0)
        if on["counter"]:
            for i in np.flatnonzero(live & (code == 0) & (words <= 4) & ((bits & HAS_DIGIT) != 0)).tolist():
                text = strs[doc[i]]
                if _COUNTER.fullmatch(text, int(start[i]), int(end[i])) or \
                        _COUNTER.fullmatch(text[start[i]:end[i]].strip()):
                    code[i] = _CODE["counter"]
        mark("c4_min_words", words < c.min_words)
        if on["ui_words"]:
            cand = live & (code == 0) & (words >= 2) & (words <= c.ui_max_words) & ((bits & ENDS_SENTENCE) == 0)
            for i in np.flatnonzero(cand).tolist():
                if _UI_LINE.fullmatch(strs[doc[i]], int(start[i]), int(end[i])):
                    code[i] = _CODE["ui_words"]
        mark("c4_terminal_punct", (bits & ENDS_SENTENCE) == 0)
        return doc, start, end, code

    def process_batch(self, texts) -> Verdicts:
        """Removed lines (each with its newline; neighbouring lines removed by the same rule form one
        span) and wiki citation markers outside them, for a batch of texts."""
        batch = TextBatch(texts)
        offsets = batch.offsets
        doc, start, end, code = self.line_codes(batch)
        sel = np.flatnonzero(code)
        d, a, k = doc[sel], start[sel], code[sel].astype(np.int64) - 1
        b = np.minimum(end[sel] + 1, np.diff(offsets)[d])
        joined = np.zeros(len(sel), bool)
        joined[1:] = (d[1:] == d[:-1]) & (k[1:] == k[:-1]) & (a[1:] == b[:-1])
        first = np.flatnonzero(~joined)
        last = np.append(first[1:] - 1, len(sel) - 1) if len(sel) else first
        parts = [(d[first], a[first], b[last], k[first])]
        if self._on["c4_wiki_citation"]:
            parts.append(self._wiki_citations(batch, doc, start, code))
        row, cs, ce, cc = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((cs, row))
        return Verdicts(reasons=RULES, row=row[order], start=cs[order], end=ce[order], code=cc[order])

    @staticmethod
    def _wiki_citations(batch: TextBatch, doc: np.ndarray, start: np.ndarray, code: np.ndarray):
        """C4's citation markers, except inside lines already removed."""
        first_line = np.searchsorted(doc, np.arange(len(batch) + 1))
        rows, starts, ends = [], [], []
        cp = batch.cp
        bracket = np.flatnonzero(cp == ord("["))
        # a marker is "[" then a digit, "e" or "c" (in either case; no other character matches these
        # under re.IGNORECASE): only texts with such a pair go to the regex. "A digit" is taken wide:
        # isnumeric() (a superset of \d) or any code point above the flags table (U+FFFF)
        after = cp[np.minimum(bracket + 1, len(cp) - 1)]
        flags, _ = tables()
        lead = ((after >= 0x10000) | ((flags[np.minimum(after, 0xFFFF)] & DIGIT) != 0)
                | np.isin(after, _WIKI_LEADS))
        for t in np.unique(np.searchsorted(batch.offsets, bracket[lead], side="right") - 1).tolist():
            text = batch[t]
            marks = [(m.start(), m.end()) for m in _WIKI_CITATION.finditer(text)]
            if not marks:
                continue
            lo, hi = first_line[t], first_line[t + 1]
            line = lo + np.searchsorted(start[lo:hi], [m[0] for m in marks], side="right") - 1
            for (m0, m1), i in zip(marks, line.tolist()):
                if code[i] == 0:
                    rows.append(t)
                    starts.append(m0)
                    ends.append(m1)
        n = len(rows)
        return (np.array(rows, np.int64), np.array(starts, np.int64), np.array(ends, np.int64),
                np.full(n, RULES.index("c4_wiki_citation"), np.int64))

    def process(self, doc: Document) -> list[Cut] | None:
        return self.process_batch([doc.text]).verdict(0)

    # -- corpus-learned: keys of the remaining lines ---------------------------------------------------
    def spans(self, texts: pa.LargeStringArray, lengths: np.ndarray) -> SpanKeys:
        """Each non-blank line of each text, keyed by its normalised form (the engine adds the source)."""
        doc, start, end, cut0, cut1, key = keyed_lines(*utf8_buffer(texts), normalization="NFKC",
                                                       lowercase=True)
        return SpanKeys(row=doc, start=start, end=end, key=key, cut_start=cut0, cut_end=cut1)
