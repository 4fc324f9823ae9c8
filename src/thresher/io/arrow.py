"""Arrow IPC (``.arrow``, ``.feather``, ``.ipc``): one document per row, as Parquet is read.

Both IPC formats are read: the file format (Feather v2, ``pyarrow.feather``, starting with
``ARROW1``) and the stream format, which Hugging Face ``datasets`` writes with ``save_to_disk``
(``data-00000-of-00002.arrow`` and so on: a saved dataset's folder is read through its ``.arrow``
files, in name order, which is the dataset's row order). Files are cut at record-batch boundaries,
about a shard each; the text and id columns come from ``[input]``, every other column is carried
with its type. A file that cannot be read, or a batch of the stream past a damaged one, is a
quarantine row naming the rows lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from .base import Chunk, InputFile
from .parquet import TypedReader, accept_table
from .storage import open_random

if TYPE_CHECKING:
    from .parse import DocumentSink

_FILE_MAGIC = b"ARROW1"


def _open(path: str):
    """A reader of the IPC file at ``path`` with ``batches()`` and ``schema``, whatever its format."""
    src = open_random(path)
    source = pa.memory_map(src) if isinstance(src, str) else src
    head = source.read(6)
    source.seek(0)
    if head == _FILE_MAGIC:
        reader = ipc.open_file(source)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    reader = ipc.open_stream(source)
    return reader.schema, iter(reader)


class ArrowReader(TypedReader):
    name = "arrow"
    suffixes = {".arrow": None, ".feather": None, ".ipc": None}

    def schema(self, path: str) -> pa.Schema:
        return _open(path)[0]

    def file_chunks(self, f: InputFile, shard_bytes: int, start: int) -> Iterator[Chunk]:
        return _file_chunks(f, shard_bytes, start)

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        if not chunk.payload:
            return
        first_batch, last_batch = chunk.payload
        try:
            schema, batches = _open(chunk.file)
            mine = []
            for i, batch in enumerate(batches):       # a stream is read from its start
                if i >= first_batch:
                    mine.append(batch)
                if i == last_batch:                     # never read on into a damaged batch
                    break
            table = pa.Table.from_batches(mine, schema=schema)
        except (OSError, pa.ArrowException) as exc:
            b.reject("unreadable", chunk.file, chunk.first_line, None,
                     f"unreadable Arrow record batches {first_batch}-{last_batch}: {exc}", None)
            return
        rows = np.arange(chunk.first_line, chunk.first_line + table.num_rows, dtype=np.int64)
        accept_table(table, rows, chunk, b)


def _error(f: InputFile, line: int | None, kind: str, error: str) -> dict:
    return {"file": f.path, "line": line, "byte_offset": None, "kind": kind, "error": error, "raw": None}


def _file_chunks(f: InputFile, shard_bytes: int, start_index: int) -> Iterator[Chunk]:
    """Runs of whole record batches of about ``shard_bytes``; the payload is (first, last) batch."""
    index, first_batch, size, first_row, rows = start_index, 0, 0, 1, 0
    i = -1
    try:
        _, batches = _open(f.path)
        for i, batch in enumerate(batches):
            size += batch.nbytes
            rows += batch.num_rows
            if size >= shard_bytes:
                yield Chunk(index, ArrowReader.name, f.path, (first_batch, i), first_row, 0, size)
                index, first_batch, size, first_row = index + 1, i + 1, 0, rows + 1
    except (OSError, pa.ArrowException) as exc:     # batches before the damaged one are read
        chunk = Chunk(index, ArrowReader.name, f.path, (first_batch, i) if i >= first_batch else (),
                      first_row, 0, size)
        chunk.errors.append(_error(f, rows + 1, "unreadable", f"unreadable Arrow IPC file from record "
                                   f"batch {i + 1} (row {rows + 1}) on: {exc}"))
        yield chunk
        return
    if first_batch <= i or index == start_index:
        chunk = Chunk(index, ArrowReader.name, f.path, (first_batch, i) if i >= first_batch else (),
                      first_row, 0, size)
        if rows == 0:
            chunk.errors.append(_error(f, None, "empty_file", "empty file: no documents"))
        yield chunk
