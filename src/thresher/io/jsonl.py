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

from ..errors import InputError
from .base import Chunk, InputFile, Reader
from .codecs import BLOCKS, Truncated
from .jsontext import json_text
from .storage import display_path, open_stream

if TYPE_CHECKING:
    from ..config import InputConfig
    from .parse import DocumentSink


class JsonlReader(Reader):
    name = "jsonl"
    #: ``.json.gz``/``.json.zst`` are JSON lines too, as Dolma names them.
    suffixes = {".jsonl": None, ".jsonl.gz": "gz", ".jsonl.zst": "zst", ".jsonl.bz2": "bz2",
                ".json.gz": "gz", ".json.zst": "zst", ".json.bz2": "bz2"}

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int,
               cfg: "InputConfig") -> Iterator[Chunk]:
        index = start
        for f in files:
            if f.size <= shard_bytes:      # read whole by the worker
                yield Chunk(index, self.name, f.path, f, nbytes=f.size)
                index += 1
                continue
            for chunk in _file_chunks(f, shard_bytes, index, cfg.max_line_bytes):
                yield chunk
                index = chunk.index + 1

    def parse(self, chunk: Chunk, sink: "DocumentSink") -> None:
        if isinstance(chunk.payload, InputFile):
            (whole,) = _file_chunks(chunk.payload, 1 << 62, chunk.index, sink.cfg.max_line_bytes)
            sink.quarantine.extend(whole.errors)
            sink.nbytes = whole.nbytes           # decompressed bytes
            chunk = whole
        _parse(chunk, sink)


class TooLong:
    """In a chunk's payload, one line longer than ``[input] max_line_bytes``, skipped unread."""

    __slots__ = ("nbytes",)

    def __init__(self, nbytes: int):
        self.nbytes = nbytes

    def __len__(self) -> int:
        return self.nbytes


def _file_chunks(f: InputFile, shard_bytes: int, start_index: int, max_line: int) -> Iterator[Chunk]:
    """Cut ``f`` at the first line end after each ``shard_bytes``. Each input byte is looked at a
    bounded number of times, however long its line; a line that grows past ``max_line`` bytes is
    dropped while it is read (a :class:`TooLong` in the payload), so it is never held whole."""
    blocks = BLOCKS[f.compression]
    index, line_no, offset = start_index, 1, 0
    pending: list[bytes | TooLong] = []
    pending_bytes = pending_lines = 0
    tail: list[bytes] = []     # the line not ended yet, in pieces
    tail_bytes = 0
    skipped = -1               # >= 0: bytes so far of a too-long line being skipped
    error: dict | None = None

    def cut() -> Chunk:
        nonlocal index, line_no, offset, pending, pending_bytes, pending_lines
        chunk = Chunk(index, "jsonl", f.path, pending, line_no, offset, pending_bytes)
        index += 1
        line_no += pending_lines
        offset += pending_bytes
        pending, pending_bytes, pending_lines = [], 0, 0
        return chunk

    def add(piece: bytes | TooLong, nbytes: int, nlines: int) -> None:
        nonlocal pending_bytes, pending_lines
        pending.append(piece)
        pending_bytes += nbytes
        pending_lines += nlines

    def grow(piece: bytes) -> None:
        nonlocal tail, tail_bytes, skipped
        if skipped >= 0:
            skipped += len(piece)
            return
        tail.append(piece)
        tail_bytes += len(piece)
        if tail_bytes > max_line:
            skipped, tail, tail_bytes = tail_bytes, [], 0

    with open_stream(f.path) as fh:
        try:
            for block in blocks(fh):
                pos = 0
                if tail or skipped >= 0:          # the open line goes on in this block
                    nl = block.find(b"\n")
                    if nl == -1:
                        grow(block)
                        continue
                    if skipped >= 0:
                        add(TooLong(skipped + nl), skipped + nl + 1, 1)
                        skipped = -1
                    else:
                        add(b"".join([*tail, block[:nl + 1]]), tail_bytes + nl + 1, 1)
                        tail, tail_bytes = [], 0
                    pos = nl + 1
                    if pending_bytes >= shard_bytes:
                        yield cut()
                end = block.rfind(b"\n") + 1
                while pos < end:   # cut at the first line end once a shard has shard_bytes
                    cut_at = block.find(b"\n", pos + max(shard_bytes - pending_bytes, 1) - 1, end)
                    stop = end if cut_at == -1 else cut_at + 1
                    add(block[pos:stop], stop - pos, block.count(b"\n", pos, stop))
                    pos = stop
                    if cut_at != -1:
                        yield cut()
                if pos < len(block):
                    grow(block[pos:])
        except Truncated as exc:
            error = {"file": f.path, "line": None, "byte_offset": None, "kind": exc.kind, "error": str(exc),
                     "raw": b"".join(tail) if skipped < 0 else None}
            if exc.suspect_from is not None:      # a checksum fault: the whole member is suspect
                if exc.suspect_from < offset:
                    raise InputError(
                        f"{display_path(f.path)}: {exc} (found at the end of the compressed member that "
                        f"starts at decompressed byte {exc.suspect_from:,}, after thresher had passed "
                        f"on its first lines). The file is damaged: fetch it again (`gzip -t` / "
                        f"`zstd -t` tests a copy) or leave it out") from None
                pending, suspect, suspect_lines = _split_at_line(pending, exc.suspect_from - offset)
                kept_bytes = sum(map(len, pending))
                pending_bytes, pending_lines = kept_bytes, pending_lines - suspect_lines
                lines = suspect_lines + (1 if tail or skipped >= 0 else 0)
                error["raw"] = b"".join([*suspect, *(tail if skipped < 0 else ())])
                error["error"] += (f"; the checksum covers the whole member, so nothing from line "
                                   f"{line_no + pending_lines} on is trusted (raw holds the {lines:,} line{'s' * (lines != 1)} decoded)")
    if error is None:
        if skipped >= 0:
            add(TooLong(skipped), skipped, 1)
        elif tail:
            add(b"".join(tail), tail_bytes, 1)
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


def _split_at_line(pieces: list, at: int) -> tuple[list, list[bytes], int]:
    """``pieces`` (line-aligned bytes, or TooLong lines) split at the start of the line holding byte
    ``at``: (before, after as bytes, lines after)."""
    pos = 0
    for i, piece in enumerate(pieces):
        if pos + len(piece) > at:
            if isinstance(piece, TooLong):
                head, rest = [], []
            else:
                start = piece.rfind(b"\n", 0, at - pos) + 1
                head, rest = ([piece[:start]] if start else []), [piece[start:]]
            after = rest + [p for p in pieces[i + 1:] if not isinstance(p, TooLong)]
            lines = sum(p.count(b"\n") for p in after) + sum(isinstance(p, TooLong) for p in pieces[i:])
            return pieces[:i] + head, after, lines
        pos += len(piece)
    return pieces, [], 0


#: Records nested deeper than this are quarantined ``too_deep``: Arrow refuses values nested 64 levels.
MAX_DEPTH = 48
_SCANNED = (dict, list, float)


def _scan(value: Any, *, unicode: bool = False) -> tuple[int, bool, bool]:
    """(nesting depth, holds a float, holds a string or key that is not valid Unicode) of a parsed
    record, walked without recursion so that no depth can overflow Python's stack. Strings are
    checked only with ``unicode`` (orjson never returns a lone surrogate)."""
    depth, has_float, bad = 0, False, False
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > depth:
            depth = d
            if depth > MAX_DEPTH:
                break
        items = v.items() if isinstance(v, dict) else enumerate(v)
        for k, x in items:
            if unicode and isinstance(k, str) and not k.isascii():
                bad = bad or not _encodes(k)
            if isinstance(x, (dict, list)):
                stack.append((x, d + 1))
            elif isinstance(x, float):
                has_float = True
            elif unicode and isinstance(x, str) and not x.isascii():
                bad = bad or not _encodes(x)
    return depth, has_float, bad


def _encodes(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _decode_json(line: bytes) -> tuple[Any, str, str | None]:
    """(value, error kind, error message); the message is None when the line parsed.

    orjson reads the common case. It reads an integer beyond 64 bits as a float, so a record holding
    any float is read again by the standard library, which keeps integers exact; that parser also
    takes what orjson refuses (lone surrogate escapes, which are then quarantined)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        orjson_error: str | None = str(exc)
    else:
        if not isinstance(value, dict) or not any(type(v) in _SCANNED for v in value.values()):
            return value, "", None          # the common case: a flat record of strings and integers
        depth, has_float, _ = _scan(value)
        if depth > MAX_DEPTH:
            return None, "too_deep", _too_deep()
        if not has_float:
            return value, "", None
        orjson_error = None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, "invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line: {exc.reason}"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, "too_deep", _too_deep()
    except ValueError:
        return None, "invalid_json", f"not valid JSON: {orjson_error}"
    if isinstance(value, dict):
        depth, _, bad = _scan(value, unicode=True)
        if depth > MAX_DEPTH:
            return None, "too_deep", _too_deep()
        if bad:
            return None, "invalid_unicode", ("a string holds a lone surrogate escape (e.g. \\ud800), "
                                             "which is not Unicode text")
    return value, "", None


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep (thresher keeps records of at most {MAX_DEPTH})"


def pop_field(rec: dict, path: str):
    """Remove and return the field ``path`` of a record: a key as it is (``"metadata.url"`` as one
    key), else a path of nested objects (``metadata.url`` is ``rec["metadata"]["url"]``), or None.
    An object that the removal leaves empty is removed too."""
    if path in rec or "." not in path:
        return rec.pop(path, None)
    head, rest = path.split(".", 1)
    inner = rec.get(head)
    if not isinstance(inner, dict):
        return None
    inner = dict(inner)                 # the record's objects are its own; copied all the same
    value = pop_field(inner, rest)
    if value is not None:
        if inner:
            rec[head] = inner
        else:
            del rec[head]
    return value


def _parse(chunk: Chunk, b: "DocumentSink") -> None:
    cfg = b.cfg
    text_field, id_field = cfg.text_field, cfg.id_field
    shown = display_path(chunk.file)          # the file as ids without an id field name it
    offset = chunk.byte_offset
    max_line = cfg.max_line_bytes
    lines: list[bytes | TooLong] = []
    for piece in chunk.payload:
        if isinstance(piece, TooLong):
            lines.append(piece)
            continue
        lines += piece.split(b"\n")
        if piece.endswith(b"\n"):
            lines.pop()
    for i, line in enumerate(lines):
        line_no = chunk.first_line + i
        where = (chunk.file, line_no, offset)
        offset += len(line) + 1
        if len(line) > max_line:
            b.reject("too_large", *where, f"a line of {len(line):,} bytes is longer than [input] "
                     f"max_line_bytes = {max_line:,}; raise it to read the line", None)
            continue
        if not line.strip():
            b.reject("blank_line", *where, "blank line", line)
            continue
        rec, kind, err = _decode_json(line)
        if err is None and not isinstance(rec, dict):
            kind, err = "not_object", f"a JSON {type(rec).__name__}, not an object"
        if err is not None:
            b.reject(kind, *where, err, line)
            continue
        text = pop_field(rec, text_field)
        if not isinstance(text, str):
            b.fields_seen.update(dict.fromkeys(rec))
            b.reject("missing_text", *where, f"no string field '{text_field}' (set [input] text_field)"
                     if text is None else f"field '{text_field}' is a {type(text).__name__}, not a string",
                     line)
            continue
        doc_id = pop_field(rec, id_field)
        if doc_id is None:
            doc_id = f"{shown}:{line_no}"
        elif not isinstance(doc_id, str):
            doc_id = str(doc_id) if type(doc_id) is int else json_text(doc_id)
        b.accept(doc_id, text, chunk.file, rec or None, where, line)
