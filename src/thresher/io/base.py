"""The reader contract: one input format, from its files to documents.

A :class:`Reader` says which files it reads (``suffixes``, each with its compression), how a run of
consecutive files of its format is cut into chunks (in the driver, :meth:`Reader.chunks`; one chunk
is one shard, so chunking must depend only on the files and ``shard_bytes``, never on the number of
workers), and how one chunk becomes documents (in a worker, :meth:`Reader.parse`, which hands each
document or unreadable record to a :class:`~thresher.io.parse.DocumentSink`). Built-in readers are
registered in :mod:`thresher.io.readers`, as plug-ins from the entry-point group ``thresher.readers``
are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink


@dataclass(frozen=True, slots=True)
class InputFile:
    path: str          # as discovered, normalised; also the ``source`` column value
    kind: str          # the name of the reader that reads it
    compression: str | None
    size: int
    mtime_ns: int
    #: Why the file cannot be read (kind ``unreadable``): it becomes a quarantine row.
    problem: str | None = None

    def describe(self) -> dict:
        return {"path": self.path, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass(slots=True)
class Chunk:
    """The work of one ingest task: ``payload`` is the reader's own (picklable: it travels to a
    worker); ``first_line`` and ``byte_offset`` say where in ``file`` it starts, ``nbytes`` how many
    input bytes it holds, ``errors`` quarantine rows found while cutting it. A chunk that continues a
    file an earlier chunk began has ``first_line > 1`` or ``byte_offset > 0``."""

    index: int
    kind: str
    file: str
    payload: Any
    first_line: int = 1
    byte_offset: int = 0
    nbytes: int = 0
    errors: list[dict] = field(default_factory=list)


class Reader:
    """One input format. Implement :meth:`chunks` and :meth:`parse`."""

    #: The format's name (``InputFile.kind``, ``Chunk.kind``).
    name: ClassVar[str]
    #: File-name suffixes it reads (lower case), each with its compression (None: plain).
    suffixes: ClassVar[dict[str, str | None]]

    def sized(self, f: InputFile) -> bool:
        """Whether ``f``'s size on disk is the number of input bytes its chunks count (for an ETA)."""
        return f.compression is None

    def check(self, f: InputFile, cfg: "InputConfig") -> None:
        """Fail before any work if ``f`` cannot give documents with ``cfg`` (default: no check)."""

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int,
               cfg: "InputConfig") -> Iterator[Chunk]:
        """Chunks of consecutive input ``files`` of this format, numbered from ``start``, about
        ``shard_bytes`` each; ``cfg`` is ``[input]`` (e.g. its ``max_line_bytes``)."""
        raise NotImplementedError

    def parse(self, chunk: Chunk, sink: "DocumentSink") -> None:
        """Every document of ``chunk`` to ``sink.accept``, every unreadable record to ``sink.reject``."""
        raise NotImplementedError
