"""Parquet (``.parquet``): one document per row; the text and id columns by ``[input] text_field`` and
``id_field``, every other column carried with its type. Files are cut at row-group boundaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from .base import Chunk, InputFile, Reader
from .storage import display_path, open_random

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink


class ParquetReader(Reader):
    name = "parquet"
    suffixes = {".parquet": None}

    def sized(self, f: InputFile) -> bool:
        return False                      # chunks count row groups' uncompressed bytes

    def check(self, f: InputFile, cfg: "InputConfig") -> None:
        """The text column must exist and be a string."""
        try:
            schema = pq.read_schema(open_random(f.path))
        except (OSError, pa.ArrowException):
            return  # unreadable footers become a quarantine record when the file is read
        if cfg.text_field not in schema.names:
            raise InputError(f"input {f.path} has no column '{cfg.text_field}' "
                             f"(columns: {', '.join(schema.names)}); set [input] text_field")
        tp = schema.field(cfg.text_field).type
        if not (pa.types.is_string(tp) or pa.types.is_large_string(tp)):
            raise InputError(f"input {f.path}: column '{cfg.text_field}' is {tp}, not a string")

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int) -> Iterator[Chunk]:
        index = start
        for f in files:
            for chunk in _file_chunks(f, shard_bytes, index):
                yield chunk
                index = chunk.index + 1

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        cfg = b.cfg
        if not chunk.payload:
            return
        try:
            table = pq.ParquetFile(open_random(chunk.file)).read_row_groups(chunk.payload)
        except (OSError, pa.ArrowException) as exc:
            b.reject("unreadable", chunk.file, chunk.first_line, None, f"unreadable Parquet row groups: {exc}", None)
            return
        texts = table.column(cfg.text_field).to_pylist()
        ids = table.column(cfg.id_field).to_pylist() if cfg.id_field in table.column_names else None
        carried = [n for n in table.column_names if n not in (cfg.text_field, cfg.id_field)]
        if b.source_column in carried:
            raise InputError(
                f"{chunk.file}: has a column '{b.source_column}', the name thresher uses for the input-file "
                f"column; set [output] source_column to another name (e.g. \"input_file\")")
        if carried:
            b.columns = table.select(carried)
        shown = display_path(chunk.file)
        for i, text in enumerate(texts):
            row_no = chunk.first_line + i
            where = (chunk.file, row_no, None)
            if text is None:
                b.reject("missing_text", *where, f"null '{cfg.text_field}'", None)
                continue
            doc_id = ids[i] if ids is not None and ids[i] is not None else f"{shown}:{row_no}"
            b.accept(str(doc_id), text, chunk.file, None, where, None, row=i)


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
        if not groups:
            chunk.errors.append({"file": f.path, "line": None, "byte_offset": 0,
                                 "kind": "empty_file", "error": "empty file: no documents", "raw": None})
        yield chunk
