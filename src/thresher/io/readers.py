"""Cut the input files into chunks, one per shard, in the driver process.

Chunking depends only on the input and ``shard_mb``, never on the number of workers, which is what makes
the output byte-identical for any worker count. JSONL files are streamed (decompressed here, at ~1 GB/s)
and cut at line boundaries, so one big ``.jsonl.zst`` still spreads over every worker; ``.txt`` files are
grouped by size and read by the worker; Parquet files are cut at row-group boundaries.

Decompression faults (a truncated ``.gz`` or ``.zst``, corrupt data) end the file with a quarantine row
that names the file, the line and the decompressed byte offset where the good data ended; every complete
line before it is processed as usual.
"""

from __future__ import annotations

import gzip
import queue
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable, Iterator, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from .inputs import InputFile
from .storage import open_random, open_stream

BLOCK = 4 << 20


@dataclass(slots=True)
class Chunk:
    """The work of one ingest task. ``payload`` depends on ``kind``:

    - ``jsonl``: a list of byte strings, each holding whole lines ending in ``\\n`` (the very last line
      of a file may lack it; the pieces are not joined, which would copy them once more), or the
      :class:`InputFile` itself when the file is no larger than a shard on disk: the worker then reads
      and decompresses it (:func:`load_whole_file`), so a corpus of many files never funnels through
      the driver;
    - ``txt``: list of (path, size) of the files, one document each;
    - ``parquet``: list of row-group indices of ``file``."""

    index: int
    kind: str
    file: str
    payload: Any
    first_line: int = 1
    byte_offset: int = 0
    nbytes: int = 0
    errors: list[dict] = field(default_factory=list)


class _Truncated(Exception):
    def __init__(self, message: str, kind: str = "truncated"):
        super().__init__(message)
        self.kind = kind


def _zstd_blocks(fh: BinaryIO) -> Iterator[bytes]:
    """Decompress a (multi-frame) zstd stream; raise _Truncated if it stops inside a frame.

    ``zstandard``'s stream_reader returns a clean EOF on a truncated frame, so frames are tracked by hand."""
    dctx = zstandard.ZstdDecompressor()
    dobj, fed = dctx.decompressobj(), False
    while True:
        raw = fh.read(BLOCK)
        if not raw:
            break
        while raw:
            try:
                out = dobj.decompress(raw)
            except zstandard.ZstdError as exc:
                raise _Truncated(f"corrupt zstd data: {exc}", "corrupt") from exc
            fed = True
            if out:
                yield out
            if dobj.eof:
                raw, dobj, fed = dobj.unused_data, dctx.decompressobj(), False
            else:
                raw = b""
    if fed:
        raise _Truncated("truncated zstd stream (the last frame is incomplete)")


def _gzip_blocks(fh: BinaryIO) -> Iterator[bytes]:
    with gzip.GzipFile(fileobj=fh) as gz:
        while True:
            try:
                out = gz.read1(1 << 16)   # small reads: the data before a fault is kept
            except EOFError as exc:
                raise _Truncated(f"truncated gzip stream: {exc}") from exc
            except (gzip.BadGzipFile, zlib.error, OSError) as exc:
                raise _Truncated(f"corrupt gzip data: {exc}", "corrupt") from exc
            if not out:
                return
            yield out


def _plain_blocks(fh: BinaryIO) -> Iterator[bytes]:
    while block := fh.read(BLOCK):
        yield block


def _jsonl_chunks(f: InputFile, shard_bytes: int, start_index: int) -> Iterator[Chunk]:
    blocks = {"zst": _zstd_blocks, "gz": _gzip_blocks, None: _plain_blocks}[f.compression]
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
        except _Truncated as exc:
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


def _parquet_chunks(f: InputFile, shard_bytes: int, start_index: int) -> Iterator[Chunk]:
    try:
        meta = pq.ParquetFile(open_random(f.path)).metadata
    except (OSError, pa.ArrowException) as exc:
        yield Chunk(start_index, "parquet", f.path, [], errors=[
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
            yield Chunk(index, "parquet", f.path, groups, first, 0, size)
            index, groups, size, first = index + 1, [], 0, rows + 1
    if groups or index == start_index:
        chunk = Chunk(index, "parquet", f.path, groups, first, 0, size)
        if not groups:
            chunk.errors.append({"file": f.path, "line": None, "byte_offset": 0,
                                 "kind": "empty_file", "error": "empty file: no documents", "raw": None})
        yield chunk


def iter_chunks(files: list[InputFile], *, shard_bytes: int) -> Iterator[Chunk]:
    """All chunks of all inputs, numbered 0, 1, 2... in corpus order."""
    index = 0
    txt: list[tuple[str, int]] = []
    txt_bytes = 0
    for f in files:
        if f.kind == "txt":
            txt.append((f.path, f.size))
            txt_bytes += f.size
            if txt_bytes >= shard_bytes or len(txt) >= 10_000:
                yield Chunk(index, "txt", txt[0][0], txt, nbytes=txt_bytes)
                index, txt, txt_bytes = index + 1, [], 0
            continue
        if txt:  # keep corpus order: flush pending .txt files before the next kind of file
            yield Chunk(index, "txt", txt[0][0], txt, nbytes=txt_bytes)
            index, txt, txt_bytes = index + 1, [], 0
        if f.kind == "jsonl" and f.size <= shard_bytes:
            yield Chunk(index, "jsonl", f.path, f, nbytes=f.size)
            index += 1
            continue
        make = _jsonl_chunks if f.kind == "jsonl" else _parquet_chunks
        for chunk in make(f, shard_bytes, index):
            yield chunk
            index = chunk.index + 1
    if txt:
        yield Chunk(index, "txt", txt[0][0], txt, nbytes=txt_bytes)


T = TypeVar("T")


def read_ahead(items: Iterable[T], *, depth: int = 1) -> Iterator[T]:
    """``items`` in order, produced by a background thread up to ``depth`` ahead of the consumer.

    The chunker decompresses and cuts the input (0.6 s of a core for webdocs' 45 MB ``.zst``); with it
    in a thread, that overlaps the work on the previous chunk (zstandard, and the kernels that work on a
    chunk, release the GIL). An exception in the thread is raised here, at the item where it happened;
    a consumer that stops early stops the thread at its next item."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(entry: tuple[Any, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((done, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="thresher-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join()
