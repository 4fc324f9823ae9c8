"""Web archives (``.warc``, ``.wet``, each plain or record-wise ``.gz``), read with FastWARC.

Documents: each HTML ``response`` record with HTTP status 200 (its main text, :mod:`.html`), and each
``conversion`` record of a WET file (its text as it is). id = ``WARC-Record-ID`` without its angle
brackets; carried fields ``url``, ``warc_date``, ``content_type``, ``http_status``, ``charset``,
``extractor`` (``url`` also keys boilerplate's per-site learned lines). Records are parsed in FastWARC's
quirks mode (HTTP headers ended by bare line feeds, as in ClueWeb09, are read). A response without a
content type is a page if its payload starts like HTML (older crawls such as ClueWeb omit the header).

Every other record is counted in ``stats.json`` (``input.skipped``) by reason: ``warcinfo``,
``request``, ``metadata``, ``revisit``, ``resource``, ``non_html``, ``http_status_<code>``,
``truncated`` (``WARC-Truncated``: the crawler cut the payload). A record that cannot be parsed, or is
cut short by the end of the file, is a quarantine row naming the file and the record's byte offset
(in the file as stored, compressed or not), and reading goes on from the next record.

Chunks: a file up to a shard is read whole by one worker; a larger one is cut at record starts into
chunks of about a shard of stored bytes, found by a scan of its record headers in the driver.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Iterator

from .base import Chunk, InputFile, Reader
from .html import PageError, page_text
from .storage import open_stream

if TYPE_CHECKING:
    from .parse import DocumentSink

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
SUFFIXES = {".warc": None, ".warc.gz": "gz", ".wet": None, ".wet.gz": "gz"}


def _strip(value: str | None) -> str | None:
    """WARC 1.1 writes URIs in angle brackets (``<http://...>``); FastWARC keeps them."""
    if value is None:
        return None
    value = value.strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def _looks_like_html(payload: bytes) -> bool:
    head = payload[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<!--")) or b"<html" in head


class WarcReader(Reader):
    name = "warc"
    suffixes = SUFFIXES

    def chunks(self, files: list[InputFile], *, shard_bytes: int, start: int, cfg=None) -> Iterator[Chunk]:
        index = start
        for f in files:
            if f.size <= shard_bytes:
                yield Chunk(index, self.name, f.path, (f.path, f.compression, 0, None), nbytes=f.size)
                index += 1
                continue
            for begin, end in _cuts(f, shard_bytes):
                yield Chunk(index, self.name, f.path, (f.path, f.compression, begin, end),
                            byte_offset=begin, nbytes=(end or f.size) - begin)
                index += 1

    def parse(self, chunk: Chunk, b: "DocumentSink") -> None:
        path, compression, begin, end = chunk.payload
        try:
            with open_stream(path) as fh:
                if begin:
                    fh.seek(begin)
                data = fh.read() if end is None else fh.read(end - begin)
        except OSError as exc:
            b.reject("unreadable", path, None, None, f"cannot read: {exc}", None)
            return
        magic = GZIP_MAGIC if compression == "gz" else WARC_MAGIC
        for pos, item in _records(data, magic):
            if isinstance(item, str):
                b.reject("malformed_record", path, None, begin + pos, item, None)
            else:
                _record(b, path, begin + pos, *item)


def _cuts(f: InputFile, shard_bytes: int) -> list[tuple[int, int | None]]:
    """Byte ranges of about ``shard_bytes`` each, starting at records (the last runs to the end)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    starts = [0]
    try:
        with open_stream(f.path) as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=False, quirks_mode=True):
                if rec.stream_pos - starts[-1] >= shard_bytes:
                    starts.append(rec.stream_pos)
    except OSError:
        pass       # the fault is found (and quarantined) by the worker that reads that range
    return list(zip(starts, [*starts[1:], None]))


def _records(data: bytes, magic: bytes) -> Iterator[tuple[int, object]]:
    """``(offset, (record, payload))`` for every record of ``data``, or ``(offset, message)`` for one
    that cannot be read; after a fault, reading goes on at the next record start (``magic``)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    pos = 0
    while pos < len(data):
        current, held = None, None       # the record being read; the last complete one, not yet given
        try:
            for rec in ArchiveIterator(io.BytesIO(data[pos:] if pos else data), parse_http=True, quirks_mode=True,
                                       record_types=WarcRecordType.any_type):
                current = pos + rec.stream_pos
                payload = rec.reader.read()
                if held is not None:
                    yield held
                held, current = (pos + rec.stream_pos, (rec, payload)), None
        except OSError as exc:
            if held is not None:
                yield held
            at = current if current is not None else _next(data, magic, held[0] + 1 if held else pos)
            if at is None:
                return
            yield at, f"malformed record: {exc}"
            nxt = _next(data, magic, at + 1)
            if nxt is None:
                return
            pos = nxt
            continue
        if held is not None:
            at, (rec, _payload) = held
            if _complete(data, at):
                yield held
            else:
                yield at, "record cut short: the file ends inside it (truncated download?)"
        return


def _next(data: bytes, magic: bytes, start: int) -> int | None:
    i = data.find(magic, start)
    return None if i < 0 else i


def _complete(data: bytes, at: int) -> bool:
    """Whether the record at ``at`` holds its whole Content-Length (the last record of a file that
    stops early is given by FastWARC as it is, short)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    try:
        for rec in ArchiveIterator(io.BytesIO(data[at:]), parse_http=False, quirks_mode=True, record_types=WarcRecordType.any_type):
            return len(rec.reader.read()) == rec.content_length
    except OSError:
        return False
    return False


def _record(b: "DocumentSink", path: str, offset: int, rec, payload: bytes) -> None:
    kind = str(rec.record_type)       # "response", "conversion", "request"...
    headers = rec.headers
    where = (path, None, offset)
    doc_id = _strip(rec.record_id) or f"{path}@{offset}"
    url = _strip(headers.get("WARC-Target-URI"))
    fields = {"url": url, "warc_date": headers.get("WARC-Date")}
    if kind == "conversion":          # WET: the text a crawler extracted
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return b.reject("invalid_utf8", *where, f"conversion record is not UTF-8: {exc}", None)
        fields.update(content_type=headers.get("Content-Type"), http_status=None, charset="utf-8",
                      extractor=None)
        return b.accept(doc_id, text, path, fields, where, None)
    if kind != "response":
        return b.skip(kind)
    if not rec.is_http or rec.http_headers is None:
        return b.skip("non_http")
    status = rec.http_headers.status_code
    if status is None:
        return b.reject("malformed_record", *where, f"{url}: the HTTP header cannot be parsed (no status "
                        f"line)", None)
    if status != 200:
        return b.skip(f"http_status_{status}")
    if headers.get("WARC-Truncated"):
        return b.skip("truncated")
    content_type = rec.http_content_type or ""
    if content_type:
        if content_type.split(";")[0].strip().lower() not in b.extract.html_types:
            return b.skip("non_html")
    elif not _looks_like_html(payload):
        return b.skip("non_html")
    try:
        page = page_text(payload, b.extract, content_type=rec.http_headers.get("Content-Type"), url=url)
    except PageError as exc:
        return b.reject(exc.kind, *where, f"{url}: {exc}", None)
    b.replacement_chars += page.replacement_chars
    fields.update(content_type=content_type or None, http_status=status, charset=page.charset,
                  extractor=b.extract.extractor)
    b.accept(doc_id, page.text, path, fields, where, None)

