"""Inputs that cannot be opened: a file without read permission, a dangling or looping symbolic link,
a folder that cannot be listed. Listing gives each one this kind instead of skipping it, and each
becomes one quarantine row ``unreadable`` naming it and the reason, so nothing is lost silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from .base import Chunk, InputFile, Reader

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink


class UnreadableReader(Reader):
    name = "unreadable"
    suffixes: dict[str, str | None] = {}     # never chosen by a file name

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int,
               cfg: "InputConfig") -> Iterator[Chunk]:
        for i, f in enumerate(files):
            yield Chunk(start + i, self.name, f.path, None, errors=[
                {"file": f.path, "line": None, "byte_offset": None, "kind": "unreadable",
                 "error": f.problem or "cannot be read", "raw": None}])

    def parse(self, chunk: Chunk, sink: "DocumentSink") -> None:
        """No documents: the chunk's quarantine row is all it holds."""
