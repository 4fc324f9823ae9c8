"""Parquet (``.parquet``): one document per row; the text and id columns by ``[input] text_field`` and
``id_field``, every other column carried with its type. Files are cut at row-group boundaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from .base import Chunk, InputFile, Reader
from .fields import own_source
from .storage import display_path, open_random

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink


class TypedReader(Reader):
    """A format of typed columns (Parquet, Arrow IPC): one document per row, each file cut into runs
    of its own units (row groups, record batches). Implement :meth:`schema`, :meth:`file_chunks`
    and :meth:`~thresher.io.base.Reader.parse` (handing the rows to :func:`accept_table`)."""

    def sized(self, f: InputFile) -> bool:
        return False                      # chunks count the units' uncompressed bytes

    def schema(self, path: str) -> pa.Schema:
        raise NotImplementedError

    def file_chunks(self, f: InputFile, shard_bytes: int, start: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def check(self, f: InputFile, cfg: "InputConfig") -> None:
        """The text column must exist and be a string."""
        try:
            schema = self.schema(f.path)
        except (OSError, pa.ArrowException):
            return  # an unreadable file becomes a quarantine record when it is cut or read
        check_schema(f.path, schema, cfg)

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int, cfg=None) -> Iterator[Chunk]:
        index = start
        for f in files:
            for chunk in self.file_chunks(f, shard_bytes, index):
                yield chunk
                index = chunk.index + 1


class ParquetReader(TypedReader):
    name = "parquet"
    suffixes = {".parquet": None}

    def schema(self, path: str) -> pa.Schema:
        return pq.read_schema(open_random(path))

    def file_chunks(self, f: InputFile, shard_bytes: int, start: int) -> Iterator[Chunk]:
        return _file_chunks(f, shard_bytes, start)

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        if not chunk.payload:
            return
        table, first_rows = _read_groups(chunk, b)
        if table is None:
            return
        accept_table(table, first_rows, chunk, b)


def check_schema(path: str, schema: pa.Schema, cfg: "InputConfig") -> None:
    """The text column of a typed input must exist and be a string."""
    if cfg.text_field not in schema.names:
        raise InputError(f"input {path} has no column '{cfg.text_field}' "
                         f"(columns: {', '.join(schema.names)}); set [input] text_field")
    tp = schema.field(cfg.text_field).type
    if not (pa.types.is_string(tp) or pa.types.is_large_string(tp)):
        raise InputError(f"input {path}: column '{cfg.text_field}' is {tp}, not a string")


def accept_table(table: pa.Table, first_rows: np.ndarray, chunk: Chunk, b: "DocumentSink") -> None:
    """Rows of a typed table (Parquet, Arrow IPC) to ``b``: the text and id columns by ``[input]``,
    every other column carried with its type; ``first_rows`` numbers the rows in their file."""
    cfg = b.cfg
    table, first_rows = _valid_rows(table, first_rows, chunk, b)
    texts = table.column(cfg.text_field).to_pylist()
    ids = table.column(cfg.id_field).to_pylist() if cfg.id_field in table.column_names else None
    carried = [n for n in table.column_names if n not in (cfg.text_field, cfg.id_field)]
    if carried:
        b.columns = table.select(carried)
        if b.source_column in carried:           # carried as record_<name>, as from JSONL
            names = own_source(dict.fromkeys(carried), b.source_column, (chunk.file, None))
            b.columns = b.columns.rename_columns(list(names))
    shown = display_path(chunk.file)
    for i, text in enumerate(texts):
        row_no = int(first_rows[i])
        where = (chunk.file, row_no, None)
        if text is None:
            b.reject("missing_text", *where, f"null '{cfg.text_field}'", None)
            continue
        doc_id = ids[i] if ids is not None and ids[i] is not None else f"{shown}:{row_no}"
        b.accept(str(doc_id), text, chunk.file, None, where, None, row=i)


def _read_groups(chunk: Chunk, b: "DocumentSink") -> tuple[pa.Table | None, np.ndarray]:
    """The chunk's row groups as one table and the file row number (from 1) of each of its rows. A
    row group that cannot be read is one quarantine row naming its rows; the others are read."""
    try:
        pf = pq.ParquetFile(open_random(chunk.file))
        sizes = [pf.metadata.row_group(g).num_rows for g in chunk.payload]
        try:
            return pf.read_row_groups(chunk.payload), _row_numbers(chunk.first_line, sizes)
        except (OSError, pa.ArrowException):
            pass              # read the groups one by one: only the bad ones are lost
        tables, numbers, first = [], [], chunk.first_line
        for g, n in zip(chunk.payload, sizes):
            try:
                tables.append(pf.read_row_group(g))
                numbers.append(np.arange(first, first + n, dtype=np.int64))
            except (OSError, pa.ArrowException) as exc:
                b.reject("unreadable", chunk.file, first, None, f"unreadable Parquet row group {g} "
                         f"(rows {first}-{first + n - 1}, {n} rows lost): {exc}", None)
            first += n
    except (OSError, pa.ArrowException) as exc:
        b.reject("unreadable", chunk.file, chunk.first_line, None, f"unreadable Parquet row groups: {exc}", None)
        return None, np.zeros(0, np.int64)
    if not tables:
        return None, np.zeros(0, np.int64)
    return pa.concat_tables(tables), np.concatenate(numbers)


def _row_numbers(first: int, sizes: list[int]) -> np.ndarray:
    return np.arange(first, first + sum(sizes), dtype=np.int64)


def _valid_rows(table: pa.Table, rows: np.ndarray, chunk: Chunk,
                b: "DocumentSink") -> tuple[pa.Table, np.ndarray]:
    """``table`` without the rows whose strings are not valid UTF-8 (each quarantined, naming its
    column). Parquet does not check the bytes of a string column; Arrow's full validation does."""
    try:
        table.validate(full=True)
        return table, rows
    except pa.ArrowInvalid:
        pass
    bad = np.zeros(table.num_rows, bool)
    for name, col in zip(table.column_names, table.columns):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        values = col.cast(pa.large_binary()).to_pylist()
        for i, v in enumerate(values):
            if v is None or bad[i]:
                continue
            try:
                v.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad[i] = True
                b.reject("invalid_utf8", chunk.file, int(rows[i]), None,
                         f"column '{name}': invalid UTF-8 at byte {exc.start}: {exc.reason}", v)
    keep = np.flatnonzero(~bad)
    return table.take(pa.array(keep)), rows[keep]


def _file_chunks(f: InputFile, shard_bytes: int, start_index: int) -> Iterator[Chunk]:
    try:
        meta = pq.ParquetFile(open_random(f.path)).metadata
    except (OSError, pa.ArrowException) as exc:
        yield Chunk(start_index, ParquetReader.name, f.path, [], errors=[
            {"file": f.path, "line": None, "byte_offset": None, "kind": "unreadable",
             "error": f"unreadable Parquet file: {exc}", "raw": None}])
        return
    index, groups, size, first = start_index, [], 0, 1
    rows = 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        size += meta.row_group(g).total_byte_size
        rows += meta.row_group(g).num_rows
        if size >= shard_bytes:
            yield Chunk(index, ParquetReader.name, f.path, groups, first, 0, size)
            index, groups, size, first = index + 1, [], 0, rows + 1
    if groups or index == start_index:
        chunk = Chunk(index, ParquetReader.name, f.path, groups, first, 0, size)
        if rows == 0:
            chunk.errors.append({"file": f.path, "line": None, "byte_offset": 0,
                                 "kind": "empty_file", "error": "empty file: no documents", "raw": None})
        yield chunk
