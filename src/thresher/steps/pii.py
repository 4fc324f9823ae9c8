"""``pii``: replace e-mail addresses, phone numbers, IP addresses (and optionally card numbers) with
placeholders, each replacement a removal row with ``replacement`` set (so the invariant holds).

=================  ==================  ===========================================================
reason             replacement         what
=================  ==================  ===========================================================
``pii_email``      ``<EMAIL>``         local part (1-64 of ``\\w . + % -``) @ a dotted domain with a
                                       2-24 letter top-level label
``pii_phone``      ``<PHONE>``         ``+`` and 7-15 digits in groups; or North American
                                       ``(555) 123-4567`` / ``555-123-4567`` / ``555.123.4567``
``pii_ip``         ``<IP_ADDRESS>``    dotted IPv4 (each part <= 255); IPv6 with at least three
                                       groups that :mod:`ipaddress` accepts
``pii_card``       ``<CREDIT_CARD>``   13-19 digits (spaces or dashes between) passing the Luhn check;
                                       off by default (``cards = true``)
=================  ==================  ===========================================================

Safety and speed: every quantifier is bounded; every pattern starts with a literal or a narrow class
(``@``, ``+``, ``(``, a digit, ``:``), so the regex engine skips ahead in C, and checks the character
before it with a lookbehind, so inside a long run of such characters only the run's first position
can match. E-mail addresses are grown leftwards from each ``@`` and IPv6 candidates outwards from each
``x:y:`` seed, over at most 64 and 39 characters. Every pattern runs in linear time on any input (tests
feed 1 MB adversarial lines with a time bound).
Matches of different kinds that overlap keep the earliest (then the longest).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..config import option
from ..documents import Cut, Document
from .base import DocumentStep, Verdicts
from ..text.charclass import as_arrow

# Each pattern starts with a literal or a narrow class (so the regex engine skips ahead in C) and
# checks the character before its first one with a lookbehind placed after it.
_AT = re.compile(r"@(?<=[\w.+%-]@)")
_LOCAL_REVERSED = re.compile(r"[\w.+%-]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])")
_LOCAL_CHARS = re.compile(r"[\w.+%-]")
PHONE = re.compile(
    r"\+(?<![\w+]\+)\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){2,5}(?!\w)"
    r"|\((?<![\w(]\()\d{3}\) ?\d{3}[.-]\d{4}(?![\w.-]?\d)"
    r"|\d(?<![\w(+.-]\d)\d\d[.-]\d{3}[.-]\d{4}(?![\w.-]?\d)")
IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)")
_IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEXCOLON_REVERSED = re.compile(r"[0-9A-Fa-f:]{0,39}")
_HEXCOLON = re.compile(r"[0-9A-Fa-f:]{0,39}")
_WORDISH = re.compile(r"[\w:.]")
CARD = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){12,18}(?!\w|-\d)")


def emails(text: str):
    """``(start, end)`` of e-mail addresses: each ``@`` after a local-part character is expanded left
    (at most 64 characters, the whole run or nothing) and its domain matched to the right."""
    for m in _AT.finditer(text):
        at = m.start()
        window = text[max(0, at - 65):at][::-1]
        local = _LOCAL_REVERSED.match(window)
        start = at - local.end()
        if start > 0 and _LOCAL_CHARS.match(text, start - 1):
            continue                     # the run of local-part characters is longer than 64
        d = _DOMAIN.match(text, at + 1)
        if d:
            yield start, d.end()


def ipv6s(text: str):
    """``(start, end)`` of IPv6 candidates: the run of hex digits and colons around ``x:y:`` seeds."""
    last = -1
    for m in _IPV6_SEED.finditer(text):
        if m.start() < last:
            continue
        left = _HEXCOLON_REVERSED.match(text[max(0, m.start() - 39):m.start()][::-1]).end()
        a = m.start() - left
        b = _HEXCOLON.match(text, m.start()).end()
        last = b
        if (a > 0 and _WORDISH.match(text, a - 1)) or (b < len(text) and _WORDISH.match(text, b)):
            continue
        yield a, b


def _ipv4_ok(s: str) -> bool:
    return all(len(p) == 1 or (p[0] != "0" and int(p) <= 255) for p in s.split("."))


#: Public addresses of well-known services, not of a person: DNS resolvers (Google, Cloudflare, Quad9,
#: OpenDNS, Level 3).
PUBLIC_SERVICES = ("8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
                   "208.67.222.222", "208.67.220.220", "4.2.2.1", "4.2.2.2")
#: A dotted quad whose last three parts are all at most this, or whose first part is a digit and two of
#: the others at most 20, is taken for a version or a section number. Of uniformly spread addresses
#: about 1 in 1,100 has one of these shapes (computed: (13/256)**3 + (10/256) * P(two or three of three
#: parts <= 20)) and is left; so is the example address 1.2.3.4 (benchmarks/pii.py counts what it costs).
SMALL_PART = 12
#: A word right before a dotted number that makes it a version ("version 4.0.4.1", "v1.2.3.4").
_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|\bver|version|release|build|firmware|update|patch|rev|revision|"
                             r"kernel|driver|bios|ios|android|windows|macos|python|java|php|node|section|chapter|rfc|§"
                             r"|(?:upgrad|updat|downgrad|bump)(?:e|ed|ing)?\s+to)"
                             r"[ .:/-]{0,2}$")
#: A version word or version number a little before a dotted quad ("Upgrade to version 4.5.103.30 from
#: 4.4.63.30", "Roll V8 back to 3.9.24.31", "Node.js v0.11.14 to 3.31.74.1", "Debian Policy 12.8.5.14"):
#: any quad, unless a network word or suffix says otherwise.
_VERSION_NEAR = re.compile(r"(?i)\b(?:v8|version|upgrade[ds]?|roll(?:ed)?|policy|release[ds]?)\b"
                           r"|\bv\d+(?:\.\d+)+\b")
VERSION_WINDOW = 30
#: What makes a version-shaped dotted quad an address after all: a prefix length or a port after it
#: ("1.2.3.0/24", "1.2.3.4:7777"; not a path, "/2.6.8.1/"), or a network word shortly before it
#: ("IP", "host", "rrdata [", "remote_addr="; not "address", which "e-mail address" also holds).
_NETWORK_AFTER = re.compile(r"/\d{1,2}(?![\d.])|:\d{2,5}(?!\d)")
_NETWORK_BEFORE = re.compile(r"(?i)(?:\b|_)(?:ip|ips|ipv4|host(?:name)?|server|dns|rrdata|gateway|addr|"
                             r"route|ping|bound to|connect(?:ed|s)? to|listen(?:s|ing)? on)\b")


def _ipv4_personal(text: str, a: int, b: int, spared: frozenset[str]) -> bool:
    """Whether the IPv4 address ``text[a:b]`` could identify a person: not a version string, not a
    special-purpose address (loopback, unspecified, private, link-local, shared, documentation,
    multicast, reserved), not a listed public service's."""
    s = text[a:b]
    if s in spared or _VERSION_BEFORE.search(text, max(0, a - 20), a):
        return False
    parts = [int(p) for p in s.split(".")]
    shaped = all(p <= SMALL_PART for p in parts[1:]) or (parts[0] <= 9 and sum(p <= 20 for p in parts[1:]) >= 2)
    if (shaped or _VERSION_NEAR.search(text, max(0, a - VERSION_WINDOW), a)) \
            and not (_NETWORK_AFTER.match(text, b) or _NETWORK_BEFORE.search(text, max(0, a - 25), a)):
        return False      # "3.7.2.0", "section 36.2.1.2", "v8 3.20.14.1": a version or a numbering
    addr = ipaddress.IPv4Address(s)
    return addr.is_global and not addr.is_multicast


def _ipv6_personal(s: str) -> bool:
    addr = ipaddress.IPv6Address(s)
    return addr.is_global and not (addr.is_reserved or addr.is_multicast)


#: ``YYYY-MM-DD`` or ``DD-MM-YYYY`` (any of ``-./``): dates, not phone numbers.
_DATE = re.compile(r"(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])(?!\d)"
                   r"|(?<!\d)(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|1[0-2])[-./](?:19|20)\d\d")


PLACEHOLDERS = {"pii_email": "<EMAIL>", "pii_phone": "<PHONE>", "pii_ip": "<IP_ADDRESS>",
                "pii_card": "<CREDIT_CARD>"}
REASONS = tuple(PLACEHOLDERS)

#: RE2 patterns (pyarrow) that every text with a match of a kind matches too: each keeps the literal
#: skeleton of its pattern and drops the lookarounds RE2 lacks. ``\p{Nd}`` is what Python's ``\d``
#: matches in a ``str`` pattern (Unicode decimal digits).
PREFILTERS = {
    "email": "@",
    "phone": r"\+\p{Nd}|\(\p{Nd}{3}\)|\p{Nd}{3}[.-]\p{Nd}{3}[.-]\p{Nd}{4}",
    "ipv4": r"\p{Nd}\.\p{Nd}{1,3}\.\p{Nd}{1,3}\.\p{Nd}",
    "ipv6": ":[0-9A-Fa-f]{0,4}:",
    "card": r"\p{Nd}(?:[ -]?\p{Nd}){12,18}",
}

#: Prefilters that RE2 cannot skip through with a literal search (they lead with a digit class): one
#: alternation of them screens all texts, and each runs only on the few texts that pass it. All five
#: prefilters over 12,000 webdocs texts: 0.09 s this way, 0.20 s with each over all texts
#: (``python benchmarks/kernels.py``).
SCREENED = ("phone", "ipv4", "card")


def _spans(pattern: re.Pattern):
    return lambda text: ((m.start(), m.end()) for m in pattern.finditer(text))


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _phone_ok(s: str) -> bool:
    """7-15 digits; no country code starts with 0; a number written with separators uses one kind
    between its groups of digits (``252.227-7013`` is a clause number); a date is not a phone."""
    n = sum(ch.isdigit() for ch in s)
    if not 7 <= n <= 15 or s.startswith("+0") or _DATE.search(s):
        return False
    if s[0] != "+" and s[0] != "(":
        seps = {ch for ch in s if ch in ".-"}
        return len(seps) == 1
    return True


def _ipv6_ok(s: str) -> bool:
    if sum(1 for g in s.split(":") if g) < 3:
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _card_ok(s: str) -> bool:
    digits = s.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn(digits)


@dataclass(frozen=True, kw_only=True)
class PiiConfig:
    emails: bool = option(True, "Replace e-mail addresses with <EMAIL>.")
    phones: bool = option(True, "Replace phone numbers with <PHONE>.")
    ips: bool = option(True, "Replace IPv4 and IPv6 addresses with <IP_ADDRESS>.")
    cards: bool = option(False, "Replace Luhn-valid card numbers with <CREDIT_CARD>.")
    spare_special_ips: bool = option(True, "Leave IPv4 and IPv6 addresses that identify no person: "
                                     "loopback, unspecified, private, link-local, documentation, "
                                     "multicast and reserved ranges, and version strings.")
    spare_ips: tuple[str, ...] = option(PUBLIC_SERVICES, "Public addresses left as they are (well-known "
                                        "DNS resolvers by default).")


class PiiFilter(DocumentStep):
    name = "pii"
    stage = "rewrite"
    position = 10
    version = "4"
    Config = PiiConfig
    batched = True

    def removal(self) -> str:
        return "rewrite"      # every match is replaced by a placeholder, in place

    def __init__(self, config: PiiConfig | None = None):
        super().__init__(config)
        c = self.config
        self._kinds = []
        if c.emails:
            self._kinds.append(("pii_email", emails, "@", None, "email"))
        if c.phones:
            self._kinds.append(("pii_phone", _spans(PHONE), None, _phone_ok, "phone"))
        if c.ips:
            spared = frozenset(c.spare_ips)
            if c.spare_special_ips:
                def ipv4(text):
                    return ((a, b) for a, b in _spans(IPV4)(text)
                            if _ipv4_ok(text[a:b]) and _ipv4_personal(text, a, b, spared))

                def ipv6(text):
                    return ((a, b) for a, b in ipv6s(text) if _ipv6_ok(text[a:b])
                            and _ipv6_personal(text[a:b]) and text[a:b] not in spared)
                self._kinds.append(("pii_ip", ipv4, ".", None, "ipv4"))
                self._kinds.append(("pii_ip", ipv6, ":", None, "ipv6"))
            else:
                def ipv4(text):
                    return ((a, b) for a, b in _spans(IPV4)(text) if text[a:b] not in spared)
                self._kinds.append(("pii_ip", ipv4, ".", _ipv4_ok, "ipv4"))
                self._kinds.append(("pii_ip", ipv6s, ":", _ipv6_ok, "ipv6"))
        if c.cards:
            self._kinds.append(("pii_card", _spans(CARD), None, _card_ok, "card"))
        screened = [k[-1] for k in self._kinds if k[-1] in SCREENED]
        self._screen = "|".join(f"(?:{PREFILTERS[k]})" for k in screened) if len(screened) > 1 else None

    def find(self, text: str, kinds: list[int] | None = None) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, reason)`` matches, in text order (only of the pattern kinds
        numbered ``kinds``, default all)."""
        found = []
        for k, (reason, spans, needle, check, _) in enumerate(self._kinds):
            if kinds is not None and k not in kinds:
                continue
            if needle is not None and needle not in text:
                continue
            for a, b in spans(text):
                if check is None or check(text[a:b]):
                    found.append((a, b, reason))
        if len(found) > 1:
            found.sort(key=lambda f: (f[0], -f[1]))
            out, end = [], -1
            for f in found:
                if f[0] >= end:
                    out.append(f)
                    end = f[1]
            found = out
        return found

    def process(self, doc: Document) -> list[Cut] | None:
        found = self.find(doc.text)
        return [Cut(a, b, r, replacement=PLACEHOLDERS[r]) for a, b, r in found] or None

    def process_batch(self, texts) -> Verdicts:
        """:meth:`process` for a batch: RE2 (pyarrow) first picks, per pattern kind, the texts that
        could hold a match (:data:`PREFILTERS`, each a superset of its pattern, at memory speed), and
        only those go through the patterns above."""
        texts = as_arrow(texts)
        masks = self._prefilter_masks(texts)
        rows, starts, ends, codes = [], [], [], []
        any_kind = np.logical_or.reduce(masks) if masks else np.zeros(len(texts), bool)
        for i in np.flatnonzero(any_kind).tolist():
            kinds = [k for k, m in enumerate(masks) if m[i]]
            for a, b, r in self.find(texts[i].as_py(), kinds):
                rows.append(i)
                starts.append(a)
                ends.append(b)
                codes.append(REASONS.index(r))
        return Verdicts(reasons=REASONS, row=np.array(rows, np.int64), start=np.array(starts, np.int64),
                        end=np.array(ends, np.int64), code=np.array(codes, np.int64),
                        replacements=tuple(PLACEHOLDERS[r] for r in REASONS))

    def _prefilter_masks(self, texts) -> list[np.ndarray]:
        """For each pattern kind, which texts match its prefilter (:data:`PREFILTERS`; the
        :data:`SCREENED` ones through one combined pass first)."""
        def match(arr, kind):
            return pc.match_substring_regex(arr, PREFILTERS[kind]).to_numpy(zero_copy_only=False)

        passed = subset = None
        if self._screen is not None:
            screen = pc.match_substring_regex(texts, self._screen)
            passed = np.flatnonzero(screen.to_numpy(zero_copy_only=False))
            subset = texts.take(pa.array(passed))
        masks = []
        for *_, kind in self._kinds:
            if passed is None or kind not in SCREENED:
                masks.append(match(texts, kind))
            else:
                mask = np.zeros(len(texts), bool)
                mask[passed] = match(subset, kind)
                masks.append(mask)
        return masks
