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

Safety: every quantifier is bounded and every pattern starts with a negative lookbehind on its own
character class, so inside a long run of such characters only the run's first position is tried:
each pattern runs in linear time on any input (tests feed 1 MB adversarial lines with a time bound).
Matches of different kinds that overlap keep the earliest (then the longest).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..config import option
from ..documents import Cut, Document
from ..steps import DocumentStep

EMAIL = re.compile(
    r"(?<![\w.+%-])[\w.+%-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])")
PHONE = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){2,5}(?![\w])"
    r"|(?<![\w(+.-])(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\w.-]?\d)")
IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:.])")
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w]|-\d)")

PLACEHOLDERS = {"pii_email": "<EMAIL>", "pii_phone": "<PHONE>", "pii_ip": "<IP_ADDRESS>",
                "pii_card": "<CREDIT_CARD>"}


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
    n = sum(ch.isdigit() for ch in s)
    return 7 <= n <= 15


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


class PiiFilter(DocumentStep):
    name = "pii"
    version = "1"
    Config = PiiConfig

    def __init__(self, config: PiiConfig | None = None):
        super().__init__(config)
        c = self.config
        self._kinds = []
        if c.emails:
            self._kinds.append(("pii_email", EMAIL, "@", None))
        if c.phones:
            self._kinds.append(("pii_phone", PHONE, None, _phone_ok))
        if c.ips:
            self._kinds.append(("pii_ip", IPV4, ".", None))
            self._kinds.append(("pii_ip", IPV6, ":", _ipv6_ok))
        if c.cards:
            self._kinds.append(("pii_card", CARD, None, _card_ok))

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, reason)`` matches, in text order."""
        found = []
        for reason, pattern, needle, check in self._kinds:
            if needle is not None and needle not in text:
                continue
            for m in pattern.finditer(text):
                if check is None or check(m.group()):
                    found.append((m.start(), m.end(), reason))
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
