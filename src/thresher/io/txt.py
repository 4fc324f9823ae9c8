"""Plain text files (``.txt``): one document per file, decoded as UTF-8 exactly (BOM and ``\\r\\n``
kept); id = the file name without ``.txt``. Consecutive files are grouped into chunks of about a shard
(at most 10,000 files), read by the worker.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Iterator

from .base import Chunk, InputFile, Reader
from .storage import display_path, open_stream

if TYPE_CHECKING:
    from .parse import DocumentSink

MAX_FILES = 10_000


def grouped_chunks(kind: str, files: list[InputFile], *, shard_bytes: int, start: int,
                   item: Callable[[InputFile], tuple]) -> Iterator[Chunk]:
    """Files of one document each, grouped into chunks of about ``shard_bytes`` (at most MAX_FILES
    files); a chunk's payload lists ``item(f)`` of its files, whose first value is the path."""
    index, group, size = start, [], 0
    for f in files:
        group.append(item(f))
        size += f.size
        if size >= shard_bytes or len(group) >= MAX_FILES:
            yield Chunk(index, kind, group[0][0], group, nbytes=size)
            index, group, size = index + 1, [], 0
    if group:
        yield Chunk(index, kind, group[0][0], group, nbytes=size)


def read_whole(path: str, b: "DocumentSink") -> bytes | None:
    """The bytes of the file at ``path``, or None after a quarantine row naming why it cannot be read."""
    try:
        with open_stream(path) as fh:
            return fh.read()
    except OSError as exc:
        b.reject("unreadable", path, None, None, f"cannot read: {exc}", None)
        return None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


class TextReader(Reader):
    name = "txt"
    suffixes = {".txt": None}

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int, cfg=None) -> Iterator[Chunk]:
        return grouped_chunks(self.name, files, shard_bytes=shard_bytes, start=start,
                              item=lambda f: (f.path, f.size))

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        for path, _size in chunk.payload:
            raw = read_whole(path, b)
            if raw is None:
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                b.reject("invalid_utf8", path, _line_of(raw, exc.start), exc.start,
                         f"invalid UTF-8 at byte {exc.start}: {exc.reason}", raw)
                continue
            doc_id = os.path.basename(display_path(path))
            doc_id = doc_id[: -len(".txt")] if doc_id.lower().endswith(".txt") else doc_id
            b.accept(doc_id, text, path, None, (path, None, None), raw)
