"""CSV and TSV with a header row (``.csv``, ``.tsv``): one document per row.

The header names the columns; the text and id columns come from ``[input]`` (``text_field``,
``id_field``; no id column → ``<file>:<line>``), every other column is carried as a string. Read
with Python's ``csv`` module (quoted fields may hold commas, tabs and line breaks), so a file is one
chunk, read whole by one worker: a CSV cannot be cut at a line without knowing whether the line
break is inside quotes. A row whose field count differs from the header's, a row with bytes that
are not UTF-8, and a file whose header lacks the text column are errors that name the file and line.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Iterator

from ..errors import InputError
from .base import Chunk, InputFile, Reader
from .storage import display_path, open_stream
from .txt import read_whole

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink

#: Python's csv module refuses fields over 128 KiB by default; a document may be far longer.
csv.field_size_limit(2**31 - 1)


def _dialect(path: str) -> str:
    return "excel-tab" if path.lower().endswith(".tsv") else "excel"


def _header(path: str) -> list[str]:
    with open_stream(path) as fh:
        line = fh.readline(1 << 20).decode("utf-8-sig", "replace")
    return next(csv.reader([line], dialect=_dialect(path)), [])


class DelimitedReader(Reader):
    name = "csv"
    suffixes = {".csv": None, ".tsv": None}

    def check(self, f: InputFile, cfg: "InputConfig") -> None:
        try:
            header = _header(f.path)
        except OSError:
            return                      # an unreadable file becomes a quarantine row when it is read
        if header and cfg.text_field not in header:
            raise InputError(f"input {f.path} has no column '{cfg.text_field}' in its header "
                             f"(columns: {', '.join(header)}); set [input] text_field")

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int, cfg=None) -> Iterator[Chunk]:
        for i, f in enumerate(files):
            yield Chunk(start + i, self.name, f.path, None, nbytes=f.size)

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        path, cfg = chunk.file, b.cfg
        raw = read_whole(path, b)
        if raw is None:
            return
        # undecodable bytes survive as surrogates, so that the row holding them is quarantined
        # and every other row is read
        text = raw.decode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8", "surrogateescape")
        reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(path))
        shown = display_path(path)
        try:
            header = next(reader)
        except StopIteration:
            b.reject("empty_file", path, None, 0, "empty file: no header, no documents", None)
            return
        except csv.Error as exc:
            b.reject("malformed_row", path, 1, None, f"unreadable header: {exc}", None)
            return
        if cfg.text_field not in header:
            raise InputError(f"{shown}: no column '{cfg.text_field}' in its header (columns: "
                             f"{', '.join(header)}); set [input] text_field")
        t = header.index(cfg.text_field)
        k = header.index(cfg.id_field) if cfg.id_field in header else None
        rest = [(i, name) for i, name in enumerate(header) if i not in (t, k)]
        last = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                b.reject("malformed_row", path, last + 1, None, f"unreadable row: {exc}", None)
                last = reader.line_num
                continue
            line, last = last + 1, reader.line_num
            where = (path, line, None)
            if not row:
                b.reject("blank_line", *where, "blank line", None)
                continue
            if len(row) != len(header):
                b.reject("malformed_row", *where, f"{len(row)} fields where the header has "
                         f"{len(header)}", _raw(row))
                continue
            try:
                for value in row:
                    value.encode("utf-8")
            except UnicodeEncodeError as exc:
                b.reject("invalid_utf8", *where, f"bytes that are not UTF-8 in a field: {exc.reason}",
                         _raw(row))
                continue
            doc_id = row[k] if k is not None and row[k] != "" else f"{shown}:{line}"
            fields = {name: row[i] for i, name in rest} or None
            b.accept(doc_id, row[t], path, fields, where, None)


def _raw(row: list[str]) -> bytes:
    return ",".join(row).encode("utf-8", "surrogateescape")
