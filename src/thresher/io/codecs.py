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


class Truncated(Exception):
    def __init__(self, message: str, kind: str = "truncated"):
        super().__init__(message)
        self.kind = kind


def _zstd_blocks(fh: BinaryIO) -> Iterator[bytes]:
    """Decompress a (multi-frame) zstd stream; raise Truncated if it stops inside a frame.

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
                raise Truncated(f"corrupt zstd data: {exc}", "corrupt") from exc
            fed = True
            if out:
                yield out
            if dobj.eof:
                raw, dobj, fed = dobj.unused_data, dctx.decompressobj(), False
            else:
                raw = b""
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
