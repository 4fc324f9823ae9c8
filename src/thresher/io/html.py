"""HTML to text: the charset, the decoded page, the main text (shared by the HTML and WARC readers).

Charset, in this order: the HTTP ``Content-Type`` header (WARC responses), the page's ``<meta>`` charset
in its first 1,024 bytes, then detection (uchardet, through resiliparse); names follow the WHATWG
encoding standard, so ``iso-8859-1`` decodes as ``windows-1252`` as browsers do. Bytes the charset
cannot decode become U+FFFD; their count is kept (the ``replacement_chars`` stats of the input).

Extractors (``[extract] extractor``):

- ``resiliparse``: resiliparse's ``extract_plain_text`` with its main-content heuristics (lexbor
  parser, C), then (``trim``) :func:`trim_to_prose`; 10.9x trafilatura's pages/s (``benchmarks/extract.py``);
- ``trafilatura``: trafilatura's ``extract`` (``pip install 'thresher[trafilatura]'``), the most
  precise extractor of the field and the slowest.

A page over ``max_html_bytes`` is not parsed; a page whose extraction runs past ``time_budget`` is
stopped (a timer signal in the worker's main thread) and quarantined, so one page never stalls a worker.
"""

from __future__ import annotations

import codecs
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import ExtractConfig

#: The charset parameter of a Content-Type header.
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:\-]+)", re.I)


class PageError(Exception):
    """A page that gives no text: ``kind`` is its quarantine kind."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Page:
    text: str
    charset: str
    replacement_chars: int


def charset_of(data: bytes, content_type: bytes | str | None = None) -> str:
    """The page's charset (Python's codec name: ``cp1251``, ``euc_jp``), from the header, the meta
    tag, then detection."""
    from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

    if content_type:
        ct = content_type.encode("latin-1", "replace") if isinstance(content_type, str) else content_type
        if (m := _CHARSET.search(ct)) and (name := map_encoding_to_html5(m.group(1).decode("ascii"))):
            if codec := _codec(name):
                return codec
    return _codec(detect_encoding(data, from_html_meta=True)) or "utf-8"


def _codec(name: str | None) -> str | None:
    """Python's name of the codec ``name`` (``windows-1251`` -> ``cp1251``), or None."""
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def decode(data: bytes, charset: str) -> tuple[str, int]:
    """``data`` decoded; undecodable bytes become U+FFFD, counted (those the page wrote itself too)."""
    if data.startswith(codecs.BOM_UTF8):
        data, charset = data[3:], "utf-8"
    text = data.decode(charset, errors="replace")
    return text, text.count("\ufffd")


def check_extractor(cfg: "ExtractConfig") -> None:
    """Fail before any work if the configured extractor cannot be imported."""
    if cfg.extractor == "trafilatura":
        try:
            import trafilatura  # noqa: F401
        except ImportError as exc:
            raise ConfigError(f"[extract] extractor = \"trafilatura\" needs trafilatura ({exc}); "
                              f"pip install 'thresher[trafilatura]', or use extractor = \"resiliparse\"") from None


def page_text(data: bytes, cfg: "ExtractConfig", *, content_type: bytes | str | None = None,
              url: str | None = None) -> Page:
    """The main text of one HTML page; a :class:`PageError` when it gives none."""
    if len(data) > cfg.max_html_bytes:
        raise PageError("too_large", f"page of {len(data):,} bytes exceeds [extract] max_html_bytes = "
                                     f"{cfg.max_html_bytes:,}")
    charset = charset_of(data, content_type)
    html, bad = decode(data, charset)
    with _time_budget(cfg.time_budget):
        text = _extract(html, cfg, url)
    return Page(text, charset, bad)


def _extract(html: str, cfg: "ExtractConfig", url: str | None) -> str:
    if cfg.extractor == "trafilatura":
        import trafilatura

        text = trafilatura.extract(html, url=url, favor_precision=cfg.favor_precision,
                                   include_comments=cfg.comments, include_tables=cfg.tables,
                                   deduplicate=False)
        return text or ""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    skip = None if cfg.tables else ["table"]
    text = extract_plain_text(tree, preserve_formatting=True, main_content=cfg.main_content,
                              alt_texts=False, links=False, form_fields=False, noscript=False,
                              comments=cfg.comments, skip_elements=skip).strip()
    return trim_to_prose(text) if cfg.trim else text


#: A prose line: at least this many words, ending as a sentence does.
PROSE_WORDS = 10
_SENTENCE_END = tuple('.!?…:"“”»«)')   # “ closes a German quotation („…“)
#: Lines kept before the first prose line (a title, a byline, a date).
LEAD_LINES = 3


def trim_to_prose(text: str) -> str:
    """``text`` from ``LEAD_LINES`` lines before its first prose line to its last prose line; all of it
    when it has none (a list, a table). resiliparse's main-content rules keep the short lines around an
    article (menu entries, "Tags", "Mehr Themen:", share and newsletter prompts, footers); they rarely
    hold a sentence, so the first and last sentences bound the article. On trafilatura's evaluation pages
    this raises F1 from 0.860 to 0.876 (``benchmarks/extract.py``; 10 words and 3 lead lines are the
    middle of a flat optimum: 6-15 words and 0-5 lines give 0.871-0.876)."""
    lines = text.split("\n")
    prose = [i for i, line in enumerate(lines)
             if line.rstrip().endswith(_SENTENCE_END) and len(line.split()) >= PROSE_WORDS]
    if not prose:
        return text
    return "\n".join(lines[max(0, prose[0] - LEAD_LINES):prose[-1] + 1])


class _Timeout(Exception):
    pass


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Stop the block after ``seconds`` (wall) with a PageError ``timeout``. Needs the main thread
    (a worker process's tasks run there); elsewhere the block runs without a budget."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_sig, _frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Timeout:
        raise PageError("timeout", f"extraction took more than [extract] time_budget = {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
