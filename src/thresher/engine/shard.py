"""The state of one shard between steps, and how each kind of step changes it.

A shard's state is its original documents (the ingest shard) plus the removal rows recorded so far; the
current text of a document is its original with those rows applied. State is persisted between passes as
removal rows only, so a pass never rewrites the documents themselves.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ..documents import Cut, Document, Drop, EditedText, doc_key, row_of, text_at
from ..io.parse import FIELD_PREFIX
from ..steps.base import DocumentStep
from ..steps.global_step import TWIN_KEY, GlobalStep
from .rows import STATE_SCHEMA, RemovalRows, int_column
from .stats import StepStats, tally_external
from .twins import Twins, plan_cuts
from ..text.splice import splice

def _replacements(table: pa.Table, rows: np.ndarray) -> list | None:
    """The ``replacement`` of removal rows ``rows`` of ``table``; None when no row of it replaces."""
    col = table.column("replacement")
    return None if col.null_count == len(col) else col.take(pa.array(rows, pa.int64())).to_pylist()


def _inserted(repl: list | None, n: int) -> np.ndarray:
    """Characters each of ``n`` edits inserts (its replacement's length; ``repl`` None: none replace)."""
    if repl is None:
        return np.zeros(n, np.int64)
    return np.fromiter((len(x) if x else 0 for x in repl), np.int64, n)


class ShardState:
    def __init__(self, shard: int, table: pa.Table, prior: pa.Table | None = None):
        self.shard = shard
        self.table = table
        self.n = table.num_rows
        self.texts = table.column("text")
        self.orig_len = table.column("_len").to_numpy().astype(np.int64, copy=True)
        self.cur_len = self.orig_len.copy()
        self.alive = np.ones(self.n, dtype=bool)
        #: Edited documents as :class:`EditedText` objects, made on first use (:meth:`edited_text`).
        self.edited: dict[int, EditedText] = {}
        #: Documents whose edits arrived in bulk (a batched step, the prior pass) and have no object yet:
        #: index into ``_bulk`` of the edit arrays that hold them, -1 for none.
        self._bulk_of = np.full(self.n, -1, np.int32)
        self._bulk: list[tuple[np.ndarray, np.ndarray, np.ndarray, list | None]] = []
        #: Output columns set by local steps (:meth:`DocumentStep.columns`): name -> value per row.
        self.labels: dict[str, list] = {}
        self.rows = RemovalRows()
        #: Twins that earlier steps named in this shard's documents (loaded by the pass that needs them).
        self.twins = Twins(self.n)
        self._ids: list[str] | None = None
        self._sources: list[str] | None = None
        #: Edits (non-drop removal rows) recorded so far; the cached arrays of them and the last spliced
        #: texts are valid while this count is unchanged.
        self._n_edits = 0
        self._edit_cache: tuple | None = None
        self._text_cache: tuple | None = None
        if prior is not None and prior.num_rows:
            self._load(prior)

    # -- accessors ---------------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.table.column("id").to_pylist()
        return self._ids

    @property
    def sources(self) -> list[str]:
        if self._sources is None:
            self._sources = self.table.column("source").to_pylist()
        return self._sources

    def original(self, row: int) -> str:
        return self.texts[row].as_py()

    def current(self, row: int) -> str:
        return self.edited_text(row).current if self.is_edited(row) else self.original(row)

    @property
    def has_edits(self) -> bool:
        """Whether any document of the shard has been edited (not only dropped)."""
        return self._n_edits > 0

    def is_edited(self, row: int) -> bool:
        e = self.edited.get(row)
        return bool(e.edits) if e is not None else bool(self._bulk_of[row] >= 0)

    def edited_mask(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`is_edited` of each of ``rows``."""
        mask = self._bulk_of[rows] >= 0
        if self.edited:
            mask |= np.fromiter((bool((e := self.edited.get(r)) is not None and e.edits)
                                 for r in rows.tolist()), bool, len(rows))
        return mask

    def edited_text(self, row: int) -> EditedText:
        e = self.edited.get(row)
        if e is None:
            edits: list = []
            b = int(self._bulk_of[row])
            if b >= 0:               # made now from the bulk arrays its edits arrived in
                rows, start, end, repl = self._bulk[b]
                lo, hi = np.searchsorted(rows, [row, row + 1]).tolist()
                edits = list(zip(start[lo:hi].tolist(), end[lo:hi].tolist(),
                                 repl[lo:hi] if repl is not None else [None] * (hi - lo)))
                self._bulk_of[row] = -1
            e = self.edited[row] = self._edited_text(row, edits)
        return e

    def _add_bulk(self, rows: np.ndarray, start: np.ndarray, end: np.ndarray, repl: list | None) -> None:
        """Edits of documents not edited before (``rows`` ascending, then ``start``), kept as arrays
        until a document's :class:`EditedText` is needed."""
        if repl is not None and not any(repl):
            repl = None
        self._bulk_of[rows] = len(self._bulk)
        self._bulk.append((rows, start, end, repl))

    def _edited_text(self, row: int, edits: list) -> EditedText:
        """An :class:`EditedText` reading its original from the text column when needed (not via ``self``:
        a cycle would keep every shard in memory until a full garbage collection)."""
        return EditedText(functools.partial(text_at, self.texts, row), edits, length=int(self.orig_len[row]))

    def current_texts(self, rows: np.ndarray) -> pa.LargeStringArray:
        """Current texts of ``rows`` as one Arrow array (zero-copy when nothing was edited)."""
        if not self.has_edits:
            col = self.texts if len(rows) == self.n else self.texts.take(pa.array(rows, pa.int64()))
            if isinstance(col, pa.ChunkedArray):   # (combine_chunks copies even a single chunk)
                col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
            return col
        rows = np.asarray(rows, np.int64)
        if self._text_cache is not None and self._text_cache[0] == self._n_edits:
            _, cached_rows, texts = self._text_cache      # (ascending rows, their texts)
            if np.array_equal(rows, cached_rows):
                return texts
            at = np.searchsorted(cached_rows, rows)
            if (at < len(cached_rows)).all() and (cached_rows[at] == rows).all():
                return texts.take(pa.array(at))
        texts = self._splice(rows)[0]
        if (np.diff(rows) > 0).all():
            self._text_cache = (self._n_edits, rows, texts)
        return texts

    def _edits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list | None]:
        """Every edit so far (the non-drop removal rows), sorted by row then start: ``row, start, end,
        replacements`` (None when no edit replaces)."""
        if self._edit_cache is None or self._edit_cache[0] != self._n_edits:
            r = self.rows.table()
            keep = ~r.column("_drop").to_numpy(zero_copy_only=False)
            row = row_of(int_column(r, "_key")[keep])
            start = int_column(r, "start")[keep]
            order = np.lexsort((start, row))
            end = int_column(r, "end")[keep][order]
            repl = _replacements(r, np.flatnonzero(keep)[order])
            self._edit_cache = (self._n_edits, row[order], start[order], end, repl)
        return self._edit_cache[1:]

    def current_to_original(self, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Original offset of the current character at ``positions[i]`` of document ``rows[i]``, for
        any number of documents at once (:meth:`EditedText.current_to_original` for one); text an edit
        inserted maps to the edit's start. Positions must lie inside the current texts."""
        row, start, end, repl = self._edits()
        positions = np.asarray(positions, np.int64)
        if not len(row):
            return positions.copy()
        inserted = _inserted(repl, len(row))
        delta = end - start - inserted                    # characters each edit takes out
        total = np.cumsum(delta)
        first = np.searchsorted(row, row, side="left")    # each edit's document's first edit
        before = total - delta - (total - delta)[first]   # taken out by the document's earlier edits
        after = before + delta
        cur = start - before                              # where each edit sits in the current text
        # the last edit of the document at or before each position (composite key: row, current offset)
        rows = np.asarray(rows, np.int64)
        j = last_at_or_before(row, cur, rows, positions)
        jc = np.maximum(j, 0)
        mine = (j >= 0) & (row[jc] == rows)
        out = positions.copy()
        inside = mine & (positions < cur[jc] + inserted[jc])  # inside text the edit inserted
        out[inside] = start[jc[inside]]
        past = mine & ~inside
        out[past] = positions[past] + after[jc[past]]
        return out

    def _splice(self, rows: np.ndarray) -> tuple[pa.LargeStringArray, np.ndarray, np.ndarray]:
        """Current texts of ``rows``, their lengths and whether each holds more than whitespace."""
        row, start, end, repl = self._edits()
        lo = np.searchsorted(row, rows, side="left")
        hi = np.searchsorted(row, rows, side="right")
        return splice(self.texts, rows, lo, hi, start, end, repl, lengths=self.orig_len)

    # -- recording ---------------------------------------------------------------------------------
    def _record(self, row: int, start: int, end: int, step: str, reason: str, *, replacement=None,
                dup_of_id=None, dup_of_start=None, dup_of_end=None, similarity=None, value=None,
                drop=False, dup_key=None):
        self.rows.append_row({
            "_key": doc_key(self.shard, row), "doc_id": self.ids[row], "source": self.sources[row],
            "start": start, "end": end, "step": step, "reason": reason, "replacement": replacement,
            "dup_of_id": dup_of_id, "dup_of_start": dup_of_start, "dup_of_end": dup_of_end,
            "similarity": similarity, "value": value, "_drop": drop, "_dup_key": dup_key})
        if not drop:
            self._n_edits += 1

    def _record_many(self, rows: np.ndarray, start: np.ndarray, end: np.ndarray, step: str,
                     reasons: Sequence[str], code: np.ndarray, replacements: Sequence[str | None],
                     values: np.ndarray, twin: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """:meth:`_record` for many span removals at once, as arrays (``code`` indexes ``reasons`` and
        ``replacements``; NaN ``values``: none). ``twin``: original spans, inside each removal's own
        document, that it duplicates (a negative start: none), or for an ``external`` step the names
        of what each matched (an object array) and the similarities; without it no row names a twin.
        Whole-document drops go through :meth:`drop`."""
        n = len(rows)
        take = pa.array(rows, pa.int64())
        codes = pa.array(code, pa.int64())
        keys = doc_key(self.shard, rows)
        if twin is None or twin[0].dtype == object:       # no twin, or one outside the corpus
            null = {c: pa.nulls(n, STATE_SCHEMA.field(c).type)
                    for c in ("dup_of_id", "dup_of_start", "dup_of_end", "similarity", "_dup_key")}
            if twin is not None:
                sim = np.asarray(twin[1], np.float64)
                null.update(dup_of_id=pa.array(list(twin[0]), pa.string()),
                            similarity=pa.array(sim, pa.float64(), mask=np.isnan(sim)))
        else:
            none = twin[0] < 0
            null = {"dup_of_id": pa.array(self.table.column("id").take(take).to_pylist(), pa.string(),
                                          mask=none),
                    "dup_of_start": pa.array(twin[0], pa.int64(), mask=none),
                    "dup_of_end": pa.array(twin[1], pa.int64(), mask=none),
                    "similarity": pa.array(np.ones(n), pa.float64(), mask=none),
                    "_dup_key": pa.array(keys, pa.int64(), mask=none)}
        self.rows.append_table(pa.table({
            "_key": pa.array(keys),
            "doc_id": self.table.column("id").take(take),
            "source": self.table.column("source").take(take),
            "start": pa.array(start, pa.int64()), "end": pa.array(end, pa.int64()),
            "step": pa.array([step], pa.string()).take(pa.array(np.zeros(n, np.int64))),
            "reason": pa.array(list(reasons), pa.string()).take(codes),
            "replacement": (pa.array(list(replacements), pa.string()).take(codes) if any(replacements)
                            else pa.nulls(n, pa.string())),
            **null,
            "value": pa.array(values, pa.float64(), mask=np.isnan(values)),
            "_drop": pa.array(np.zeros(n, bool)),
        }))
        self._n_edits += n

    def drop(self, row: int, step: str, reason: str, stats: StepStats, **dup) -> None:
        stats.removed(reason, int(self.cur_len[row]), dup.get("value"))
        self.alive[row] = False
        self._record(row, 0, int(self.orig_len[row]), step, reason, drop=True, **dup)

    def remove_original(self, row: int, pieces: Sequence[tuple[int, int]], step: str, reason: str,
                        stats: StepStats, replacement: str | None = None, **dup) -> None:
        """Remove (or replace) original-coordinate pieces of a kept document. The caller then updates
        the lengths of the documents it touched, all at once (:meth:`_update_touched`)."""
        edits = self._records(row, pieces, step, reason, stats, replacement, dup)
        if edits:
            self.edited_text(row).add(edits)

    def _records(self, row: int, pieces: Sequence[tuple[int, int]], step: str, reason: str,
                 stats: StepStats, replacement: str | None, dup: dict) -> list[tuple[int, int, str | None]]:
        """Record the removal rows of one span's pieces; returns the edits they make."""
        edits = []
        for a, b in pieces:
            if b <= a:
                continue
            first = not edits
            stats.removed(reason, b - a, dup.get("value") if first else None)
            self._record(row, a, b, step, reason, replacement=replacement if first else None, **dup)
            edits.append((a, b, replacement if first else None))
        return edits

    def update_length(self, row: int) -> None:
        e = self.edited_text(row)
        self.cur_len[row] = self.orig_len[row] - sum(b - a for a, b, _ in e.edits) + \
            sum(len(x) for _, _, x in e.edits if x)

    def _load(self, prior: pa.Table) -> None:
        prior = prior.sort_by([("_key", "ascending"), ("start", "ascending")])
        self.rows.append_table(prior)
        rows = row_of(int_column(prior, "_key"))
        drop = prior.column("_drop").to_numpy(zero_copy_only=False)
        self.alive[rows[drop]] = False
        edit = np.flatnonzero(~drop)
        if not len(edit):
            return
        rows = rows[edit]
        start = int_column(prior, "start")[edit]
        end = int_column(prior, "end")[edit]
        repl = _replacements(prior, edit)
        np.subtract.at(self.cur_len, rows, end - start - _inserted(repl, len(edit)))
        self._add_bulk(rows, start, end, repl)
        self._n_edits += len(edit)

    def removals(self) -> pa.Table:
        """All removal rows of this shard, in document order then offset order."""
        order = [("_key", "ascending"), ("start", "ascending"), ("end", "ascending")]
        return self.rows.table().sort_by(order)

    # -- steps -------------------------------------------------------------------------------------
    def _begin(self, stats: StepStats) -> float:
        stats.data["docs_in"] += int(self.alive.sum())
        stats.data["chars_in"] += int(self.cur_len[self.alive].sum())
        return time.perf_counter()

    def _end(self, stats: StepStats, t0: float) -> None:
        stats.data["docs_out"] += int(self.alive.sum())
        stats.data["chars_out"] += int(self.cur_len[self.alive].sum())
        stats.data["seconds"] += time.perf_counter() - t0

    def apply_local(self, step: DocumentStep, stats: StepStats) -> None:
        """Apply a local step to every live document (batched when the step can be)."""
        if step.batched:
            self.apply_batch(step, stats)
            return
        t0 = self._begin(stats)
        fields = [n for n in self.table.column_names if n.startswith(FIELD_PREFIX)]
        rows_fields = self.table.select(fields).to_pylist() if fields else None
        columns = step.columns()
        for name in columns:
            self.labels.setdefault(name, [None] * self.n)
        counted = [n for n, tp in columns.items() if pa.types.is_string(tp)]
        tally: dict[str, dict] = {n: {} for n in counted}
        for row in np.flatnonzero(self.alive).tolist():
            text = self.current(row)
            extra = ({k[len(FIELD_PREFIX):]: v for k, v in rows_fields[row].items()}
                     if rows_fields else {})
            doc = Document(self.ids[row], text, self.sources[row], extra)
            verdict = step.process(doc)
            for name, value in doc.labels.items():
                if name not in columns:
                    raise ValueError(f"step '{step.name}' set label {name!r}, which its columns() "
                                     f"does not declare ({', '.join(columns) or 'none'})")
                self.labels[name][row] = value
            for name in counted:     # distribution of string labels: documents and characters
                t = tally[name].setdefault(str(doc.labels.get(name)), {"docs": 0, "chars": 0})
                t["docs"] += 1
                t["chars"] += len(text)
            if verdict is None:
                continue
            if isinstance(verdict, Drop):
                self.drop(row, step.name, verdict.reason, stats, dup_of_id=verdict.dup_of_id,
                          dup_of_start=verdict.dup_of_start, dup_of_end=verdict.dup_of_end,
                          similarity=verdict.similarity, value=verdict.value)
                continue
            self._apply_cuts(row, list(verdict), step, stats)
        if counted:
            stats.data["labels"] = tally
        self._end(stats, t0)

    def apply_batch(self, step: DocumentStep, stats: StepStats) -> None:
        """Apply a batched step (:meth:`DocumentStep.process_batch`) to every live document.

        Its verdicts arrive as arrays; for a document no earlier step edited (current offsets are
        original offsets) they become removal rows without a Python object per removal."""
        t0 = self._begin(stats)
        rows = np.flatnonzero(self.alive)
        v = step.process_batch(self.current_texts(rows))
        self._set_labels(step, rows, v.labels or {}, stats)
        keep = np.asarray(v.end, np.int64) > np.asarray(v.start, np.int64)
        drop = np.zeros(len(v), bool) if v.drop is None else np.asarray(v.drop, bool)
        keep |= drop
        at = np.asarray(v.row, np.int64)[keep]
        doc_rows = rows[at]
        start = np.asarray(v.start, np.int64)[keep]
        end = np.asarray(v.end, np.int64)[keep]
        code = np.asarray(v.code, np.int64)[keep]
        drop = drop[keep]
        value = np.full(len(at), np.nan) if v.value is None else np.asarray(v.value, np.float64)[keep]
        self._check_verdicts(step, doc_rows, start, end, drop)
        reasons, repl = v.reasons, v.replacements or (None,) * len(v.reasons)

        ext_id = None if v.twin_id is None else np.asarray(v.twin_id, object)[keep]
        ext_sim = np.full(len(at), np.nan) if v.similarity is None else np.asarray(v.similarity, np.float64)[keep]
        if ext_id is not None and len(ext_id):
            tally_external(stats, ext_id, doc_rows, np.where(drop, self.cur_len[doc_rows], end - start))
        for i in np.flatnonzero(drop).tolist():
            x = float(value[i])
            ext = {} if ext_id is None else {"dup_of_id": ext_id[i],
                                             "similarity": None if ext_sim[i] != ext_sim[i] else float(ext_sim[i])}
            self.drop(int(doc_rows[i]), step.name, reasons[code[i]], stats, value=None if x != x else x, **ext)
        cut = ~drop
        edited = self.edited_mask(doc_rows)
        touched = [int(rows[r]) for r in np.unique(at[cut & edited]).tolist()
                   if self._apply_cuts(int(rows[r]), v.verdict(r), step, stats, refresh=False)]
        fresh = np.flatnonzero(cut & ~edited)
        if len(fresh):
            f_rows, f_start, f_end, f_code = doc_rows[fresh], start[fresh], end[fresh], code[fresh]
            f_value = value[fresh]
            twin = None       # twins in unedited documents: current offsets are original offsets
            if v.twin_start is not None and step.twins == "document":
                twin = (np.asarray(v.twin_start, np.int64)[keep][fresh],
                        np.asarray(v.twin_end, np.int64)[keep][fresh])
            if ext_id is not None:
                twin = (ext_id[fresh], ext_sim[fresh])
            stats.removed_many(reasons, f_code, (f_end - f_start).astype(np.float64), f_value)
            self._record_many(f_rows, f_start, f_end, step.name, reasons, f_code, repl, f_value, twin)
            f_repl = [repl[c] for c in f_code.tolist()] if any(repl) else None
            self._add_bulk(f_rows, f_start, f_end, f_repl)
            touched.extend(np.unique(f_rows).tolist())
        if touched:
            self._update_touched(np.sort(np.array(touched, np.int64)), step.name, stats)
        self._end(stats, t0)

    def _update_touched(self, rows: np.ndarray, step: str, stats: StepStats) -> None:
        """After edits to ``rows`` (ascending): their lengths, and :meth:`drop_if_emptied` for each, from
        one splice of their texts."""
        texts, lengths, nonspace = self._splice(rows)
        self.cur_len[rows] = lengths
        self._text_cache = (self._n_edits, rows, texts)
        for row in rows[~nonspace].tolist():
            if self.alive[row]:
                self.drop(row, step, "emptied", stats)

    def _set_labels(self, step: DocumentStep, rows: np.ndarray, labels: dict, stats: StepStats) -> None:
        """Store a batched step's output columns for ``rows``; tally string columns (documents and
        characters per value), as :meth:`apply_local` does one document at a time."""
        columns = step.columns()
        if set(labels) != set(columns):
            raise ValueError(f"step '{step.name}' returned labels {sorted(labels)}; its columns() declares "
                             f"{sorted(columns)}")
        tally: dict[str, dict] = {}
        chars = self.cur_len[rows].tolist()
        for name, values in labels.items():
            values = list(values)
            if len(values) != len(rows):
                raise ValueError(f"step '{step.name}' returned {len(values)} values of label {name!r} for "
                                 f"{len(rows)} documents")
            column = self.labels.setdefault(name, [None] * self.n)
            for r, x in zip(rows.tolist(), values):
                column[r] = x
            if pa.types.is_string(columns[name]):
                t = tally[name] = {}
                for x, c in zip(values, chars):
                    e = t.setdefault(str(x), {"docs": 0, "chars": 0})
                    e["docs"] += 1
                    e["chars"] += c
        if tally:
            stats.data["labels"] = tally

    def _check_verdicts(self, step: DocumentStep, doc_rows: np.ndarray, start: np.ndarray,
                        end: np.ndarray, drop: np.ndarray) -> None:
        """Verdicts must lie inside their documents, be sorted and not overlap; a drop stands alone."""
        cur = self.cur_len[doc_rows]
        bad = ~drop & ((start < 0) | (start > end) | (end > cur))
        same = doc_rows[1:] == doc_rows[:-1]
        bad[1:] |= (doc_rows[1:] < doc_rows[:-1]) | (same & ((start[1:] < end[:-1]) | drop[1:] | drop[:-1]))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"step '{step.name}' returned verdict {int(start[i])}..{int(end[i])} for "
                             f"document {self.ids[int(doc_rows[i])]!r} (current length {int(cur[i])}) that "
                             "lies outside it, is out of order or overlaps another")

    def _apply_cuts(self, row: int, cuts: list[Cut], step: DocumentStep, stats: StepStats, *,
                    refresh: bool = True) -> bool:
        """Record a step's cuts (current offsets) of ``row``; returns whether they edited it. With
        ``refresh=False`` the caller updates its length and checks it is not emptied
        (:meth:`_update_touched`)."""
        cuts.sort(key=lambda c: (c.start, c.end))
        pos, length = 0, int(self.cur_len[row])
        for c in cuts:
            if not (pos <= c.start <= c.end <= length):
                raise ValueError(f"step '{step.name}' returned cut {c.start}..{c.end} that overlaps "
                                 f"another or lies outside document {self.ids[row]!r} "
                                 f"(current length {length})")
            pos = c.end
        e = self.edited_text(row)
        fresh = not e.edits           # nothing removed yet: current offsets are original offsets
        inside = step.twins == "document"
        edits: list[tuple[int, int, str | None]] = []
        for c in cuts:                # all cuts are mapped before any of their edits lands
            pieces = [(c.start, c.end)] if fresh else e.to_original(c.start, c.end)
            dup = dict(dup_of_id=c.dup_of_id, dup_of_start=c.dup_of_start, dup_of_end=c.dup_of_end,
                       similarity=c.similarity, value=c.value)
            if inside and c.dup_of_start is not None:     # a twin in this document, current offsets
                a, b = (c.dup_of_start, c.dup_of_end) if fresh else \
                    e.current_to_original(np.array([c.dup_of_start, c.dup_of_end - 1], np.int64)).tolist()
                dup.update(dup_of_id=self.ids[row], dup_of_start=int(a), dup_of_end=int(b) + (0 if fresh else 1),
                           similarity=1.0 if c.similarity is None else c.similarity,
                           dup_key=doc_key(self.shard, row))
            edits += self._records(row, pieces, step.name, c.reason, stats, c.replacement, dup)
        if edits:
            e.add(edits)
            if refresh:
                self.update_length(row)
                self.drop_if_emptied(row, step.name, stats)
        return bool(edits)

    def apply_decisions(self, step: GlobalStep, decisions: pa.Table, stats: StepStats) -> None:
        """Apply a global step's verdicts: each row removes a span (or, for a whole-document step, the
        document) as a duplicate of the kept twin it names.

        For a step that keeps twins whole (``keeps_twins``), what would remove a twin that an earlier
        step named is withheld (:mod:`thresher.engine.twins`): counted as ``spared_twins``."""
        t0 = self._begin(stats)
        names = ["_key", "start", "end", "dup_of_id", "dup_of_start", "dup_of_end", "reason", "similarity",
                 "value"]
        cols = [decisions.column(c).to_pylist() for c in names]
        cols.append(decisions.column(TWIN_KEY).to_pylist() if TWIN_KEY in decisions.column_names
                    else [None] * decisions.num_rows)
        protect = step.keeps_twins and bool(self.twins)
        default_sim = step.similarity
        touched: list[int] = []
        spared = 0
        repoint: dict[tuple[int, int, int], tuple] = {}
        i, n = 0, decisions.num_rows
        while i < n:                   # decisions are sorted by document: one group per document
            key = cols[0][i]
            j = i
            while j < n and cols[0][j] == key:
                j += 1
            group = list(zip(*(c[i:j] for c in cols)))
            i = j
            row = int(row_of(key))
            if not self.alive[row]:
                continue
            if step.whole_document:
                _, _, _, dup_id, dup_start, dup_end, reason, sim, value, dup_key = group[0]
                if protect and self.twins.holds_corpus_twin(row):
                    spared += 1
                    continue
                self.drop(row, step.name, reason or step.reason, stats, dup_of_id=dup_id,
                          dup_of_start=dup_start, dup_of_end=dup_end,
                          similarity=default_sim if sim is None else sim, value=value, dup_key=dup_key)
                continue
            planned = plan_cuts(self, row, group, protect)
            if planned is None:
                spared += 1
                continue
            pieces_of, moved = planned
            repoint.update({(key, a, b): to for (a, b), to in moved.items()})
            edits: list = []          # recorded one by one, applied to the text at once
            for (_, _, _, dup_id, dup_start, dup_end, reason, sim, value, dup_key), pieces in zip(group, pieces_of):
                edits += self._records(row, pieces, step.name, reason or step.reason, stats, None, dict(
                    dup_of_id=dup_id, dup_of_start=dup_start, dup_of_end=dup_end,
                    similarity=default_sim if sim is None else sim, value=value, dup_key=dup_key))
            if edits:
                self.edited_text(row).add(edits)
            touched.append(row)
        self.rows.repoint(repoint)       # once per shard: it rewrites the row table
        if spared:
            stats.data["spared_twins"] = stats.data.get("spared_twins", 0) + spared
        if touched:
            self._update_touched(np.array(touched, np.int64), step.name, stats)
        self._end(stats, t0)

    def drop_if_emptied(self, row: int, step: str, stats: StepStats) -> None:
        """A document whose span removals left only whitespace is dropped (``reason="emptied"``)."""
        if self.alive[row] and self.is_edited(row) and not self.edited_text(row).current.strip():
            self.drop(row, step, "emptied", stats)

    def kept_documents(self) -> pa.Table:
        """Live documents with their current text (the rows of OUT/documents)."""
        rows = np.flatnonzero(self.alive)
        t = self.table if len(rows) == self.n else self.table.take(pa.array(rows, pa.int64()))
        t = t.drop_columns(["_len"])
        if self.has_edits:
            t = t.set_column(t.schema.get_field_index("text"), "text", self.current_texts(rows))
        return t

    def labels_table(self, columns: dict[str, pa.DataType]) -> pa.Table:
        """Every row's label values so far (null where no step set one), to carry to the next pass."""
        return pa.table({name: pa.array(values, columns[name]) for name, values in self.labels.items()})

    def load_labels(self, table: pa.Table) -> None:
        self.labels = {name: table.column(name).to_pylist() for name in table.column_names}

    def kept_labels(self, columns: dict[str, pa.DataType]) -> dict[str, pa.Array]:
        """The label columns of live documents (null where no step set a value)."""
        rows = np.flatnonzero(self.alive).tolist()
        out = {}
        for name, tp in columns.items():
            values = self.labels.get(name)
            out[name] = pa.array([values[r] for r in rows] if values else [None] * len(rows), tp)
        return out


def last_at_or_before(row: np.ndarray, cur: np.ndarray, rows: np.ndarray, positions: np.ndarray, *,
                      limit: int = 2 ** 63) -> np.ndarray:
    """For each query ``(rows[i], positions[i])``, the index of the last entry of the sorted pairs
    ``(row, cur)`` at or before it (-1: none). One search over a composite key where ``row * width +
    cur`` fits below ``limit``; else a merge of both lists by a stable sort."""
    width = max(int(cur.max(initial=0)), int(positions.max(initial=0))) + 1
    if (max(int(row.max(initial=0)), int(rows.max(initial=0))) + 1) * width < limit:
        return np.searchsorted(row * width + cur, rows * width + positions, side="right") - 1
    n = len(row)
    kind = np.concatenate([np.zeros(n, np.int8), np.ones(len(rows), np.int8)])   # entries sort first
    order = np.lexsort((kind, np.concatenate([cur, positions]), np.concatenate([row, rows])))
    seen = np.cumsum(kind[order] == 0) - 1
    out = np.empty(len(rows), np.int64)
    query = kind[order] == 1
    out[order[query] - n] = seen[query]
    return out
