"""Turn one chunk into an Arrow table of documents plus quarantine rows (runs in a worker).

Table columns: ``_key`` (corpus order), ``id``, ``text`` (large_string), ``_len`` (characters),
``source``, then every carried
field as ``field.<name>``. A carried field whose JSON values do not share one Arrow type in the chunk is
kept as JSON text and listed in ``json_fields``, so JSONL output can restore the values unchanged.

Arrow string arrays are built from encoded buffers by hand: 35% faster than ``pa.array`` on lists of str.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash
import pyarrow as pa
import pyarrow.compute as pc

from ..config import ExtractConfig, InputConfig
from ..documents import QUARANTINE_SCHEMA, doc_key
from ..errors import InputError
from .base import Chunk
from .fields import own_source
from .jsontext import json_text
from .readers import reader_of
from .storage import display_path
from ..text.normalize import fingerprints

FIELD_PREFIX = "field."


@dataclass(slots=True)
class Parsed:
    table: pa.Table
    quarantine: list[dict]
    json_fields: list[str] = field(default_factory=list)
    nbytes: int = 0   # bytes of (decompressed) input read
    #: One row per id claim (:attr:`DocumentSink.claims`): ``hi, lo`` (XXH3-128 of source and id),
    #: ``claim``, ``line``; the cross-shard id check (:mod:`thresher.engine.ids`) reads them.
    ids: pa.Table | None = None
    #: Records read that are not documents, by reason (e.g. a WARC's request records): counted, not kept.
    skipped: dict[str, int] = field(default_factory=dict)
    #: U+FFFD characters in decoded HTML (bytes its charset could not decode).
    replacement_chars: int = 0
    #: Records offered as documents (kept, or quarantined by the checks of :meth:`DocumentSink.accept`).
    records: int = 0
    #: Whether reading stopped at the ``limit`` of :func:`parse_chunk` with records left in the chunk.
    stopped: bool = False


class _LimitReached(Exception):
    """Raised by :meth:`DocumentSink.accept` at the record after the chunk's limit: stop reading."""


def string_array(values: list[str]) -> pa.Array:
    """A large_string array from Python strings (``values`` must encode as UTF-8)."""
    enc = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(enc), pa.py_buffer(offsets), pa.py_buffer(b"".join(enc)))


class DocumentSink:
    """What a reader hands one chunk's documents to (:meth:`accept`) and its unreadable records
    (:meth:`reject`); ``cfg`` is ``[input]``. A reader of typed columns sets ``columns`` (one row per
    record, ``accept(..., row=i)`` names it); ``nbytes`` is the input bytes the chunk held (a reader
    that decompresses sets the decompressed count)."""

    def __init__(self, chunk: Chunk, cfg: InputConfig, source_column: str,
                 extract: ExtractConfig | None = None):
        self.chunk, self.cfg, self.source_column = chunk, cfg, source_column
        #: ``[extract]``: how readers of HTML turn pages into text.
        self.extract = extract or ExtractConfig()
        self.skipped: Counter[str] = Counter()
        self.replacement_chars = 0
        self.nbytes = chunk.nbytes
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.sources: list[str] = []
        self.fields: list[dict[str, Any] | None] = []
        self.quarantine: list[dict] = list(chunk.errors)
        self.rows: list[int] = []               # row of each accepted document in ``columns``
        self._seen: dict[tuple[str, str], int | None] = {}   # (source, id) -> line of its first record
        #: Records whose id is new to this chunk, in order ("claims"): (source, id, line). A file longer
        #: than a chunk is checked across chunks by number of claim (:mod:`thresher.engine.ids`).
        self.claims: list[tuple[str, str, int | None]] = []
        #: Claims whose id an earlier chunk of the same file holds: claim number -> line of the first.
        self.rejects: dict[int, int | None] = {}
        #: Fields of the records that lacked the text field (for the error when every record does).
        self.fields_seen: dict[str, None] = {}
        self.columns: pa.Table | None = None    # typed carried columns (Parquet input)
        #: Records at most to offer as documents (None: every record); ``records`` counts them.
        self.limit: int | None = None
        self.records = 0

    def reject(self, kind: str, file: str, line: int | None, offset: int | None, error: str,
               raw: bytes | None) -> None:
        self.quarantine.append({"file": file, "line": line, "byte_offset": offset, "kind": kind,
                                "error": error, "raw": raw})

    def skip(self, reason: str) -> None:
        """A record that is not a document (a WARC request, a redirect...): counted by ``reason``."""
        self.skipped[reason] += 1

    def accept(self, doc_id: str, text: str, source: str, fields: dict | None,
               where: tuple[str, int | None, int | None], raw: bytes | None, row: int = -1) -> None:
        if self.cfg.sample < 1.0 and not self._in_sample(source, doc_id):
            return self.skip("sampled_out")
        if self.limit is not None and self.records >= self.limit:
            raise _LimitReached
        self.records += 1
        if not text and not self.cfg.keep_empty:
            return self.reject("empty_document", *where, "empty document (set [input] keep_empty = true to keep it)", raw)
        if len(text) > self.cfg.max_doc_chars:
            return self.reject("too_large", *where, f"document of {len(text)} characters exceeds "
                               f"[input] max_doc_chars = {self.cfg.max_doc_chars}", raw)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return self.reject("invalid_unicode", *where, f"text is not valid Unicode: {exc}", raw)
        if fields and self.source_column in fields:
            fields = own_source(fields, self.source_column, where)
        if (source, doc_id) in self._seen:
            return self.reject("duplicate_id", *where, _duplicate(doc_id, self._seen[source, doc_id]), raw)
        self._seen[source, doc_id] = where[1]
        claim = len(self.claims)
        self.claims.append((source, doc_id, where[1]))
        if claim in self.rejects:
            return self.reject("duplicate_id", *where, _duplicate(doc_id, self.rejects[claim]), raw)
        self.ids.append(doc_id)
        self.texts.append(text)
        self.sources.append(source)
        self.fields.append(fields)
        self.rows.append(row)

    def _in_sample(self, source: str, doc_id: str) -> bool:
        """Whether a record is in ``[input] sample``: XXH3-64 of (seed, file as shown, id) below the
        share of 2**64, so a record's fate depends on nothing but itself."""
        key = f"{self.cfg.sample_seed}\x00{display_path(source)}\x00{doc_id}".encode("utf-8", "surrogatepass")
        return xxhash.xxh3_64_intdigest(key) < self.cfg.sample * 2.0**64

    def build(self, shard: int) -> Parsed:
        n = len(self.ids)
        cols: dict[str, pa.Array] = {
            "_key": pa.array(doc_key(shard, np.arange(n))),
            "id": pa.array(self.ids, pa.string()),
            "text": string_array(self.texts),
            "_len": pa.array(np.fromiter(map(len, self.texts), dtype=np.int64, count=n)),
            "source": pa.array(_shown(self.sources), pa.string()),
        }
        json_fields: list[str] = []
        if any(self.fields):
            names: dict[str, None] = {}
            for f in self.fields:
                if f:
                    names.update(dict.fromkeys(f))
            for name in names:
                values = [f.get(name) if f else None for f in self.fields]
                try:
                    arr = pa.array(values)
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                    arr = pa.array([None if v is None else json_text(v) for v in values], pa.string())
                    json_fields.append(name)
                cols[FIELD_PREFIX + name] = arr
        if self.columns is not None:
            kept = self.columns.take(pa.array(self.rows, pa.int64()))
            for name, col in zip(kept.column_names, kept.columns):
                cols[FIELD_PREFIX + name] = col
        return Parsed(pa.table(cols), self.quarantine, json_fields, ids=self._id_table(),
                      skipped=dict(sorted(self.skipped.items())), replacement_chars=self.replacement_chars,
                      records=self.records)

    def _id_table(self) -> pa.Table:
        sources, ids, lines = zip(*self.claims) if self.claims else ((), (), ())
        keys = fingerprints(pc.binary_join_element_wise(pa.array(sources, pa.large_string()),
                                                        pa.array(ids, pa.large_string()),
                                                        pa.scalar("\x00", pa.large_string())),
                            normalization="none", fold_whitespace=False)
        return pa.table({"hi": pa.array(keys[:, 0]), "lo": pa.array(keys[:, 1]),
                         "claim": pa.array(np.arange(len(self.claims), dtype=np.int64)),
                         "line": pa.array(lines, pa.int64())})


def _duplicate(doc_id: str, first_line: int | None) -> str:
    at = f"line {first_line}" if first_line is not None else "an earlier record"
    return (f"id {doc_id!r} is the id of {at} of the same file (ids are compared as text: 7 and \"7\" "
            f"are one id; the first record with an id is kept)")


def parse_chunk(chunk: Chunk, cfg: InputConfig, *, source_column: str, extract: ExtractConfig | None = None,
                rejects: dict[int, int | None] | None = None, limit: int | None = None) -> Parsed:
    """``rejects``: claims to quarantine as ``duplicate_id`` (:attr:`DocumentSink.rejects`).
    ``limit``: read no further than the record after the first ``limit`` (``[input] limit``: the
    engine gives each chunk what the chunks before it left); :attr:`Parsed.stopped` says it did."""
    sink = DocumentSink(chunk, cfg, source_column, extract)
    sink.rejects = rejects or {}
    sink.limit = limit
    stopped = False
    try:
        reader_of(chunk.kind).parse(chunk, sink)
    except _LimitReached:
        stopped = True
    _check_text_field(chunk, sink)
    parsed = sink.build(chunk.index)
    parsed.nbytes = sink.nbytes
    parsed.stopped = stopped
    return parsed


def _check_text_field(chunk: Chunk, sink: DocumentSink) -> None:
    """Records that all lack the text field mean a wrong ``text_field``, not bad records: stop."""
    if sink.ids or not sink.fields_seen:
        return
    kinds = {q["kind"] for q in sink.quarantine}
    if kinds <= {"missing_text", "blank_line"}:
        n = sum(q["kind"] == "missing_text" for q in sink.quarantine)
        field = sink.cfg.text_field
        seen = ", ".join(list(sink.fields_seen)[:20])
        raise InputError(f"{display_path(chunk.file)}: none of its {n} records (from line {chunk.first_line}) "
                         f"has a string field '{field}'; fields seen: {seen}. Set [input] text_field "
                         f"to the field that holds the text")


def _shown(paths: list[str]) -> list[str]:
    """Input paths as written to OUT: store URLs without their connection options."""
    shown = {p: display_path(p) for p in set(paths)}
    return paths if all(k == v for k, v in shown.items()) else [shown[p] for p in paths]


def quarantine_table(rows: list[dict]) -> pa.Table:
    rows = [{**r, "file": display_path(r["file"])} if r.get("file") else r for r in rows]
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
