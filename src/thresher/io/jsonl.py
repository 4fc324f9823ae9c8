"""JSON Lines (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``): one document per line.

Files no larger than a shard are read whole by a worker, so a corpus of many files never funnels
through the driver; a larger file is streamed by the driver (decompressed there, at ~1 GB/s) and cut at
line boundaries, so one big ``.jsonl.zst`` still spreads over every worker. A decompression fault ends
the file with a quarantine row naming the line and the decompressed byte offset where the good data
ended; every complete line before it is read as usual.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator

import orjson

from .base import Chunk, InputFile, Reader
from .codecs import BLOCKS, Truncated
from .storage import display_path, open_stream

if TYPE_CHECKING:
    from .parse import DocumentSink


class JsonlReader(Reader):
    name = "jsonl"
    suffixes = {".jsonl": None, ".jsonl.gz": "gz", ".jsonl.zst": "zst"}

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int) -> Iterator[Chunk]:
        index = start
        for f in files:
            if f.size <= shard_bytes:      # read whole by the worker
                yield Chunk(index, self.name, f.path, f, nbytes=f.size)
                index += 1
                continue
            for chunk in _file_chunks(f, shard_bytes, index):
                yield chunk
                index = chunk.index + 1

    def parse(self, chunk: Chunk, sink: "DocumentSink") -> None:
        if isinstance(chunk.payload, InputFile):
            (whole,) = _file_chunks(chunk.payload, 1 << 62, chunk.index)
            sink.quarantine.extend(whole.errors)
            sink.nbytes = whole.nbytes           # decompressed bytes
            chunk = whole
        _parse(chunk, sink)


def _file_chunks(f: InputFile, shard_bytes: int, start_index: int) -> Iterator[Chunk]:
    blocks = BLOCKS[f.compression]
    index, line_no, offset = start_index, 1, 0
    pending: list[bytes] = []
    pending_bytes = pending_lines = 0
    tail = b""
    error: dict | None = None

    def cut() -> Chunk:
        nonlocal index, line_no, offset, pending, pending_bytes, pending_lines
        chunk = Chunk(index, "jsonl", f.path, pending, line_no, offset, pending_bytes)
        index += 1
        line_no += pending_lines
        offset += pending_bytes
        pending, pending_bytes, pending_lines = [], 0, 0
        return chunk

    with open_stream(f.path) as fh:
        try:
            for block in blocks(fh):
                data = tail + block
                end = data.rfind(b"\n") + 1
                tail = data[end:]
                pos = 0
                while pos < end:   # cut at the first line end once a shard has shard_bytes
                    cut_at = data.find(b"\n", pos + max(shard_bytes - pending_bytes, 1) - 1, end)
                    stop = end if cut_at == -1 else cut_at + 1
                    pending.append(data[pos:stop])
                    pending_bytes += stop - pos
                    pending_lines += data.count(b"\n", pos, stop)
                    pos = stop
                    if cut_at != -1:
                        yield cut()
        except Truncated as exc:
            error = {"file": f.path, "line": None, "byte_offset": None, "kind": exc.kind, "error": str(exc), "raw": tail}
    if tail and error is None:
        pending.append(tail)
        pending_bytes += len(tail)
        pending_lines += 1
        tail = b""
    if error is not None:
        # lines before the fault are processed; the fault (and any partial line) is quarantined
        error["line"] = line_no + pending_lines
        error["byte_offset"] = offset + pending_bytes
        chunk = cut()
        chunk.errors.append(error)
        yield chunk
    elif pending or index == start_index:
        chunk = cut()
        if index == start_index + 1 and not chunk.payload:
            chunk.errors.append({"file": f.path, "line": None, "byte_offset": 0,
                                 "kind": "empty_file", "error": "empty file: no documents", "raw": None})
        yield chunk


def load_whole_file(chunk: Chunk) -> Chunk:
    """The chunk of a file that a worker reads whole: its lines, or its fault as a quarantine row."""
    f: InputFile = chunk.payload
    (whole,) = _jsonl_chunks(f, 1 << 62, chunk.index)
    return whole


def _decode_json(line: bytes) -> tuple[Any, str, str | None]:
    """(value, error kind, error message); the message is None when the line parsed."""
    try:
        return orjson.loads(line), "", None
    except orjson.JSONDecodeError as exc:
        orjson_error = str(exc)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, "invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line: {exc.reason}"
    try:  # the standard library accepts what orjson refuses on purpose (integers over 64 bits)
        return json.loads(text), "", None
    except ValueError:
        return None, "invalid_json", f"not valid JSON: {orjson_error}"


def _parse(chunk: Chunk, b: "DocumentSink") -> None:
    cfg = b.cfg
    text_field, id_field = cfg.text_field, cfg.id_field
    shown = display_path(chunk.file)          # the file as ids without an id field name it
    offset = chunk.byte_offset
    lines: list[bytes] = []
    for piece in chunk.payload:
        lines += piece.split(b"\n")
        if piece.endswith(b"\n"):
            lines.pop()
    for i, line in enumerate(lines):
        line_no = chunk.first_line + i
        where = (chunk.file, line_no, offset)
        offset += len(line) + 1
        if not line.strip():
            b.reject("blank_line", *where, "blank line", line)
            continue
        rec, kind, err = _decode_json(line)
        if err is None and not isinstance(rec, dict):
            kind, err = "not_object", f"a JSON {type(rec).__name__}, not an object"
        if err is not None:
            b.reject(kind, *where, err, line)
            continue
        text = rec.pop(text_field, None)
        if not isinstance(text, str):
            b.fields_seen.update(dict.fromkeys(rec))
            b.reject("missing_text", *where, f"no string field '{text_field}' (set [input] text_field)"
                     if text is None else f"field '{text_field}' is a {type(text).__name__}, not a string",
                     line)
            continue
        doc_id = rec.pop(id_field, None)
        if doc_id is None:
            doc_id = f"{shown}:{line_no}"
        elif not isinstance(doc_id, str):
            doc_id = orjson.dumps(doc_id).decode() if not isinstance(doc_id, int) else str(doc_id)
        b.accept(doc_id, text, chunk.file, rec or None, where, line)
