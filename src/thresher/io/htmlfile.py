"""HTML files (``.html``, ``.htm``, each plain or ``.gz``): one document per file, id = the file name
without its extensions, text = the page's main text (:mod:`.html`). Carried fields: ``charset`` and
``extractor``. Files are grouped into chunks of about a shard, read by the worker.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator

from .base import Chunk, InputFile, Reader
from .codecs import BLOCKS, Truncated
from .html import PageError, page_text
from .storage import display_path, open_stream
from .txt import grouped_chunks

if TYPE_CHECKING:
    from .parse import DocumentSink

SUFFIXES = {".html": None, ".htm": None, ".html.gz": "gz", ".htm.gz": "gz"}


def file_id(path: str) -> str:
    name = os.path.basename(display_path(path))
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class HtmlReader(Reader):
    name = "html"
    suffixes = SUFFIXES

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int, cfg=None) -> Iterator[Chunk]:
        return grouped_chunks(self.name, files, shard_bytes=shard_bytes, start=start,
                              item=lambda f: (f.path, f.compression))

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        cfg = b.extract
        nbytes = 0
        for path, compression in chunk.payload:
            try:
                with open_stream(path) as fh:
                    data = _read(fh, compression, cfg.max_html_bytes)
            except OSError as exc:
                b.reject("unreadable", path, None, None, f"cannot read: {exc}", None)
                continue
            except Truncated as exc:
                b.reject(exc.kind, path, None, None, str(exc), None)
                continue
            nbytes += len(data)
            try:
                page = page_text(data, cfg)
            except PageError as exc:
                b.reject(exc.kind, path, None, 0, str(exc), None)
                continue
            b.replacement_chars += page.replacement_chars
            b.accept(file_id(path), page.text, path, {"charset": page.charset, "extractor": cfg.extractor},
                     (path, None, None), None)
        b.nbytes = nbytes


def _read(fh, compression: str | None, limit: int) -> bytes:
    """The file's (decompressed) bytes, at most about ``limit`` plus one block: enough to know it is
    too large, never all of a bomb."""
    out, size = [], 0
    for block in BLOCKS[compression](fh):
        out.append(block)
        size += len(block)
        if size > limit:
            break
    return b"".join(out)
