"""Decompression of input streams: plain, gzip and (multi-frame) zstd, block by block.

A stream that stops or breaks inside its data raises :class:`Truncated`, after every good block before
the fault was yielded, so a reader can keep the complete records and quarantine the rest.
"""

from __future__ import annotations

import gzip
import zlib
from typing import BinaryIO, Callable, Iterator

import zstandard

BLOCK = 4 << 20
ZSTD_FEED = 1 << 10


class Truncated(Exception):
    def __init__(self, message: str, kind: str = "truncated"):
        super().__init__(message)
        self.kind = kind


def _zstd_blocks(fh: BinaryIO) -> Iterator[bytes]:
    """Decompress a (multi-frame) zstd stream; raise Truncated if it stops inside a frame.

    ``zstandard``'s stream_reader and read_to_iter return a clean EOF on a truncated frame, so frames
    are tracked by hand with a decompressobj. That has no output limit, and 1 KB of zstd can hold
    32 MB of output (RLE blocks of 128 KB in 4 bytes each), so input is fed 1 KB at a time (as fast
    as larger feeds) and output is joined into blocks of about BLOCK bytes."""
    dctx = zstandard.ZstdDecompressor()
    dobj, fed = dctx.decompressobj(), False
    outs: list[bytes] = []
    size = 0
    while True:
        raw = fh.read(BLOCK)
        if not raw:
            break
        view, pos = memoryview(raw), 0
        while pos < len(view):
            piece = view[pos:pos + ZSTD_FEED]
            try:
                out = dobj.decompress(piece)
            except zstandard.ZstdError as exc:
                if outs:
                    yield b"".join(outs)
                raise Truncated(f"corrupt zstd data: {exc}", "corrupt") from exc
            fed = True
            if out:
                outs.append(out)
                size += len(out)
                if size >= BLOCK:
                    yield b"".join(outs)
                    outs, size = [], 0
            if dobj.eof:     # a frame ended: the rest of this piece starts the next one
                used = len(piece) - len(dobj.unused_data)
                pos += used
                dobj, fed = dctx.decompressobj(), False
            else:
                pos += len(piece)
    if outs:
        yield b"".join(outs)
    if fed:
        raise Truncated("truncated zstd stream (the last frame is incomplete)")


def _gzip_blocks(fh: BinaryIO) -> Iterator[bytes]:
    with gzip.GzipFile(fileobj=fh) as gz:
        while True:
            try:
                out = gz.read1(1 << 16)   # small reads: the data before a fault is kept
            except EOFError as exc:
                raise Truncated(f"truncated gzip stream: {exc}") from exc
            except (gzip.BadGzipFile, zlib.error, OSError) as exc:
                raise Truncated(f"corrupt gzip data: {exc}", "corrupt") from exc
            if not out:
                return
            yield out


def _plain_blocks(fh: BinaryIO) -> Iterator[bytes]:
    while block := fh.read(BLOCK):
        yield block


#: The block generator of each compression a reader may name.
BLOCKS: dict[str | None, Callable[[BinaryIO], Iterator[bytes]]] = {
    "zst": _zstd_blocks, "gz": _gzip_blocks, None: _plain_blocks}
