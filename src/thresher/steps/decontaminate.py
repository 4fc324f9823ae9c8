"""``decontaminate``: remove benchmark test items from the corpus, naming the item each removal matched.

A corpus that holds a benchmark's test items makes the benchmark meaningless. Each benchmark is a set
of files of items (``[[decontaminate.benchmark]]``: JSON lines, plain, ``.gz`` or ``.zst``, or Parquet;
``fields`` are the text of an item, ``id_field`` its id, default its row number). Items and documents
are read as a normalised word stream (:mod:`thresher.text.wordgrams`: case, punctuation, whitespace and
line breaks ignored), so an item re-wrapped, re-cased or re-punctuated is still found.

Matching, as GPT-3's and datatrove's decontamination do: a document window of ``ngram`` consecutive
words (default 13) equal to a window of an item is a hit; an item of fewer words than ``ngram`` but at
least ``min_words`` is one window, all of it. Windows that more than ``max_items`` items share are
phrasing common to the benchmark ("which of the following statements is true") rather than one item's,
and are left out of the index. Hits closer than ``window`` characters are one contaminated region,
when they hold at least ``min_share`` (0.1) of its item's windows (a sentence of Dickens that a long
MMLU passage quotes, met in a tutorial, is not the item), widened by ``window`` characters on each
side (200, as GPT-3) and cut with ``reason="contamination"``;
``mode = "document"`` drops the whole document instead. The removal row names the item with the most
hits in the region as ``dup_of_id = "<benchmark>/<item id>"`` (``twins = "external"``: not a corpus
document; ``verify`` checks the benchmark name), ``similarity`` = the share of that item's windows the
region holds, ``value`` = the hits.

Memory: the index holds each benchmark window once (a sorted array of 64-bit hashes with the items
that hold it, and the lookup tables; MMLU and GSM8K: 438,830 windows, 20 MB), built once per machine
and memory-mapped by every worker (:mod:`thresher.cache`), whatever the corpus size.
"""

from __future__ import annotations

import glob
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .. import cache
from ..config import option
from ..errors import ConfigError
from ..text.charclass import as_arrow
from ..text import wordgrams
from ..text.wordgrams import all_windows, find_windows, lookup_tables
from .base import DocumentStep, Verdicts

REASONS = ("contamination",)
#: The layout of the cached index's arrays (the cache key holds it, with this module's source).
_INDEX_FORMAT = "1"


@dataclass(frozen=True, kw_only=True)
class Benchmark:
    """One ``[[decontaminate.benchmark]]`` table."""

    name: str = option("", "Name of the benchmark; removal rows name items as '<name>/<item id>'.")
    path: str = option("", "Its item files: a local file or a glob (JSON lines, plain, .gz or .zst, or "
                       "Parquet).")
    fields: tuple[str, ...] = option(("question",), "Fields holding the text of one item.")
    id_field: str = option("-", "Field holding an item's id ('-': its row number in the files, in order). "
                           "Rows with the same id are one item.")


@dataclass(frozen=True, kw_only=True)
class DecontaminateConfig:
    benchmark: tuple[Benchmark, ...] = option((), "The benchmarks to remove: [[decontaminate.benchmark]] "
                                              "tables with name, path, fields, id_field.")
    ngram: int = option(13, "Words in a matching window.", min=3, max=63)
    min_words: int = option(8, "An item shorter than ngram words matches as a whole when it has at least "
                            "this many words; shorter items are not matched.", min=1)
    max_items: int = option(10, "Windows shared by more than this many items of one benchmark are "
                            "common phrasing, not an item, and do not match.", min=1)
    min_share: float = option(
        0.1, "A region is contamination when it holds at least this share of its item's windows: a "
        "famous sentence that a long reading passage quotes is not the item.", min=0.0, max=1.0)
    window: int = option(200, "Characters removed on each side of a contaminated region; hits closer than "
                         "this are one region.", min=0)
    mode: Literal["span", "document"] = option("span", "'span' cuts each contaminated region; 'document' "
                                               "drops the whole document.")


class Decontaminate(DocumentStep):
    name = "decontaminate"
    stage = "clean"
    position = 5
    version = "1"
    Config = DecontaminateConfig
    batched = True
    twins = "external"
    default = False
    compile_seconds = 1.5

    def __init__(self, config: DecontaminateConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.min_words > c.ngram:
            raise ConfigError(f"decontaminate.min_words = {c.min_words} must be <= ngram = {c.ngram}")
        names = [b.name for b in c.benchmark]
        for i, b in enumerate(c.benchmark):
            where = f"decontaminate.benchmark[{i}]"
            if not b.name or "/" in b.name:
                raise ConfigError(f"{where} needs a name without '/' (items are named '<name>/<id>')")
            if names.count(b.name) > 1:
                raise ConfigError(f"{where}: two benchmarks are named '{b.name}'")
            if not b.path:
                raise ConfigError(f"{where} ('{b.name}') needs a path: a file or a glob of its item files")
            if not _files(b.path):
                raise ConfigError(f"{where} ('{b.name}'): no file matches path = '{b.path}'")
            if not b.fields:
                raise ConfigError(f"{where} ('{b.name}') needs fields: the item's text fields")
        # the items are read now, when the config is checked: a bad item file is an error before any
        # work starts, and the driver builds the cached index once before the workers map it
        self._index: _Index | None = _Index.load(c) if c.benchmark else None

    @classmethod
    def identity(cls, config: DecontaminateConfig) -> dict | None:
        """The digest of the item files' bytes (the index's cache key): a run is not resumed over
        benchmark files edited since it started."""
        return {"index": _Index.key(config)} if config.benchmark else None

    def summarize(self, stats: dict) -> dict:
        """Per benchmark: contaminated documents, removals, characters, items hit and the most hit."""
        per = {}
        for name, s in sorted(stats.pop("external", {}).items()):
            hits = s.pop("twins", {})
            top = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            per[name] = {**s, "items_hit": len(hits), "top_items": [{"item": k, "removals": v} for k, v in top]}
        for b in self.config.benchmark:
            per.setdefault(b.name, {"documents": 0, "removals": 0, "chars": 0, "items_hit": 0, "top_items": []})
        stats["benchmarks"] = per
        return stats

    def removal(self) -> str:
        return "documents" if self.config.mode == "document" else "spans"

    @property
    def index(self) -> "_Index":
        if self._index is None:
            self._index = _Index.load(self.config)
        return self._index

    def process_batch(self, texts) -> Verdicts:
        texts = as_arrow(texts)
        ix = self.index
        if not len(texts) or not len(ix.keys):
            return self._empty()
        doc, a, b, slot, _n = find_windows(texts, ix.lengths, ix.keys, ix.table, ix.bits)
        if not len(doc):
            return self._empty()
        lengths = np.asarray(pc.utf8_length(texts).to_numpy(zero_copy_only=False), np.int64)
        return self._verdicts(doc, a, b, slot, lengths)

    @staticmethod
    def _empty() -> Verdicts:
        z = np.zeros(0, np.int64)
        return Verdicts(reasons=REASONS, row=z, start=z, end=z, code=z, twin_id=[], similarity=np.zeros(0))

    def _verdicts(self, hit_doc, a, b, hit_slot, lengths) -> Verdicts:
        """Hits (text, character span, index slot) into regions: merged when closer than ``window``,
        widened by it, each named by its item with the most hits."""
        c, ix = self.config, self.index
        rows, starts, ends, ids, sims, values = [], [], [], [], [], []
        order = np.lexsort((a, hit_doc))
        i, n = 0, len(order)
        while i < n:
            d = int(hit_doc[order[i]])
            lo, hi = int(a[order[i]]), int(b[order[i]])
            members = [order[i]]
            j = i + 1
            while j < n and int(hit_doc[order[j]]) == d and int(a[order[j]]) <= hi + c.window:
                hi = max(hi, int(b[order[j]]))
                members.append(order[j])
                j += 1
            item, share, hits = ix.best_item(hit_slot[np.array(members)])
            i = j
            if share < c.min_share:
                continue
            rows.append(d)
            starts.append(max(0, lo - c.window))
            ends.append(min(int(lengths[d]), hi + c.window))
            ids.append(item)
            sims.append(share)
            values.append(hits)
        if not rows:
            return self._empty()
        row = np.array(rows, np.int64)
        if c.mode == "document":      # one drop per document: its first region names the item
            first = np.concatenate([[True], row[1:] != row[:-1]])
            keep = np.flatnonzero(first)
            return Verdicts(reasons=REASONS, row=row[keep], start=np.zeros(len(keep), np.int64),
                            end=lengths[row[keep]], code=np.zeros(len(keep), np.int64),
                            drop=np.ones(len(keep), bool), value=np.array(values, np.float64)[keep],
                            twin_id=[ids[k] for k in keep], similarity=np.array(sims, np.float64)[keep])
        start, end = np.array(starts, np.int64), np.array(ends, np.int64)
        # widened regions of one document may now overlap: join them (the first names the item)
        out = [0]
        for k in range(1, len(row)):
            if row[k] == row[out[-1]] and start[k] <= end[out[-1]]:
                end[out[-1]] = max(end[out[-1]], end[k])
                values[out[-1]] += values[k]
            else:
                out.append(k)
        keep = np.array(out, np.int64)
        return Verdicts(reasons=REASONS, row=row[keep], start=start[keep], end=end[keep],
                        code=np.zeros(len(keep), np.int64), value=np.array(values, np.float64)[keep],
                        twin_id=[ids[k] for k in keep], similarity=np.array(sims, np.float64)[keep])


# -- the index ----------------------------------------------------------------------------------------

class _Index:
    """Benchmark windows: ``keys`` (unique hashes, sorted), for each the items that hold it
    (``item_of[posting[s]:posting[s+1]]``), each item's window count and name, and the hash table."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict):
        self.keys = arrays["keys"]
        self.posting = arrays["posting"]
        self.item_of = arrays["item_of"]
        self.item_windows = arrays["item_windows"]
        self.table = arrays["table"]
        self.bits = arrays["bits"]
        self.lengths = arrays["lengths"]    # the window lengths the index holds
        self.names: list[str] = meta["names"]

    @staticmethod
    def key(c: DecontaminateConfig) -> str:
        """The item files' bytes, the code that turns them into windows and the options, hashed."""
        code = (Path(__file__), Path(wordgrams.__file__))
        files = tuple(Path(f) for b in c.benchmark for f in _files(b.path)) + code
        return cache.entry_key(files=files, parts=(_INDEX_FORMAT, repr(c.benchmark), str(c.ngram),
                                                   str(c.min_words), str(c.max_items)))

    @classmethod
    def load(cls, c: DecontaminateConfig) -> "_Index":
        return cls(*cache.cached_arrays("decontaminate", cls.key(c), lambda: _build(c)))

    def best_item(self, slots: np.ndarray) -> tuple[str, float, int]:
        """The item most of ``slots`` (hits) belong to (ties: the first), the share of its windows
        they cover, and the hits."""
        counts: dict[int, set[int]] = {}
        for s in slots.tolist():
            for it in self.item_of[self.posting[s]:self.posting[s + 1]].tolist():
                counts.setdefault(it, set()).add(s)
        item = min(counts, key=lambda it: (-len(counts[it]), it))
        return self.names[item], round(len(counts[item]) / max(int(self.item_windows[item]), 1), 4), len(slots)


def _build(c: DecontaminateConfig) -> tuple[dict[str, np.ndarray], dict]:
    names: list[str] = []
    key_parts, item_parts, window_lengths = [], [], set()
    for b in c.benchmark:
        texts, ids = _read_items(b)
        index_of: dict[str, int] = {}
        item = np.array([index_of.setdefault(i, len(index_of)) for i in ids], np.int64)
        base = len(names)
        names.extend(f"{b.name}/{i}" for i in index_of)
        owners, hashes, n = all_windows(pa.array(texts, pa.large_string()), ngram=c.ngram, min_words=c.min_words)
        window_lengths.update(np.unique(n).tolist())
        owners = item[owners]
        # one (window, item) pair once; a window of more than max_items items is common phrasing
        pair = np.unique(np.stack([hashes.view(np.int64), owners], axis=1), axis=0)
        h, counts = np.unique(pair[:, 0], return_counts=True)
        common = h[counts > c.max_items]
        pair = pair[~np.isin(pair[:, 0], common)]
        key_parts.append(pair[:, 0].view(np.uint64))
        item_parts.append(pair[:, 1] + base)
    hashes = np.concatenate(key_parts) if key_parts else np.zeros(0, np.uint64)
    items = np.concatenate(item_parts) if item_parts else np.zeros(0, np.int64)
    order = np.lexsort((items, hashes))
    hashes, items = hashes[order], items[order]
    keys, first = np.unique(hashes, return_index=True)
    posting = np.append(first, len(hashes)).astype(np.int64)
    item_windows = np.bincount(items, minlength=len(names)).astype(np.int64)
    table, bits = lookup_tables(keys)
    return ({"keys": keys, "posting": posting, "item_of": items, "item_windows": item_windows,
             "table": table, "bits": bits, "lengths": np.array(sorted(window_lengths), np.int64)},
            {"names": names})


def _files(path: str) -> list[str]:
    """The item files ``path`` names: a file, or the files a glob matches, sorted."""
    full = str(Path(path).expanduser())
    return sorted(glob.glob(full)) if glob.has_magic(full) else ([full] if Path(full).is_file() else [])


def _read_items(b: Benchmark) -> tuple[list[str], list[str]]:
    """The text (its fields joined by newlines) and id of every row of the benchmark's files."""
    texts, ids = [], []
    for f in _files(b.path):
        for line, rec in _records(f):
            missing = [x for x in b.fields if not isinstance(rec.get(x), str)]
            if len(missing) == len(b.fields):
                raise ConfigError(f"{f}:{line}: benchmark '{b.name}' item has no string field "
                                  f"{', '.join(repr(x) for x in b.fields)} (fields: {', '.join(rec)[:200]}); "
                                  f"set fields in [[decontaminate.benchmark]]")
            texts.append("\n".join(rec[x] for x in b.fields if isinstance(rec.get(x), str)))
            if b.id_field == "-":
                ids.append(str(len(ids)))
            elif (v := rec.get(b.id_field)) is None:
                raise ConfigError(f"{f}:{line}: benchmark '{b.name}' item has no field '{b.id_field}' "
                                  f"(set id_field, or '-' for row numbers)")
            else:
                ids.append(str(v))
    return texts, ids


def _records(path: str):
    """``(line or row, record)`` of a JSON lines (plain, .gz, .zst) or Parquet file."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        for i, rec in enumerate(pq.read_table(path).to_pylist(), 1):
            yield i, rec
        return
    raw = Path(path).read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif path.endswith(".zst"):
        import zstandard
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{i}: benchmark item is not valid JSON ({exc})") from exc
        if not isinstance(rec, dict):
            raise ConfigError(f"{path}:{i}: benchmark item is not a JSON object")
        yield i, rec
