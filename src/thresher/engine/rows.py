"""A shard's removal rows between steps: the rows recorded so far, kept as Arrow tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..documents import WORK_REMOVAL_SCHEMA

#: A removal row between passes: the row of OUT/removals plus the document's key, whether it drops the
#: document, and the key of the twin it names (null: none, or not a corpus document).
STATE_SCHEMA = WORK_REMOVAL_SCHEMA.append(pa.field("_drop", pa.bool_())).append(pa.field("_dup_key", pa.int64()))
_COLS = [f.name for f in STATE_SCHEMA]


class RemovalRows:
    """A shard's removal rows (:data:`STATE_SCHEMA`): Arrow tables appended whole (a batched step's
    verdicts, the previous pass's rows), and rows recorded one at a time held as Python lists until the
    next read turns them into one more table. A batched step's rows, and the previous pass's, thus never
    become Python objects."""

    def __init__(self) -> None:
        self._tables: list[pa.Table] = []
        self._pending: dict[str, list] = {c: [] for c in _COLS}
        self._n_pending = 0

    def append_row(self, values: dict[str, Any]) -> None:
        """One row: ``values`` holds every column of :data:`STATE_SCHEMA`."""
        for c in _COLS:
            self._pending[c].append(values[c])
        self._n_pending += 1

    def append_table(self, table: pa.Table) -> None:
        """Rows as a table of :data:`STATE_SCHEMA` (columns in its order, types cast to it)."""
        if table.num_rows:
            self._flush()
            self._tables.append(table.select(_COLS).cast(STATE_SCHEMA))

    def _flush(self) -> None:
        if self._n_pending:
            self._tables.append(pa.table({c: pa.array(self._pending[c], STATE_SCHEMA.field(c).type)
                                          for c in _COLS}, schema=STATE_SCHEMA))
            self._pending = {c: [] for c in _COLS}
            self._n_pending = 0

    def repoint(self, new: dict[tuple[int, int, int], tuple]) -> None:
        """Rows of a document (key ``k``) that name a twin inside it at ``a..b`` name instead
        ``new[(k, a, b)] = (dup_of_id, dup_of_start, dup_of_end, dup_key)``."""
        if not new:
            return
        t = self.table()
        k = int_column(t, "_key")
        dk = t.column("_dup_key").to_numpy(zero_copy_only=False)
        hit = np.flatnonzero((k == dk) & np.isin(k, np.fromiter((x[0] for x in new), np.int64, len(new))))
        if not len(hit):
            return
        cols = {c: t.column(c).to_pylist() for c in ("dup_of_id", "dup_of_start", "dup_of_end", "_dup_key")}
        changed = False
        for r in hit.tolist():
            to = new.get((int(k[r]), cols["dup_of_start"][r], cols["dup_of_end"][r]))
            if to is not None:
                for c, v in zip(("dup_of_id", "dup_of_start", "dup_of_end", "_dup_key"), to):
                    cols[c][r] = v
                changed = True
        if changed:
            for c, values in cols.items():
                t = t.set_column(t.schema.get_field_index(c), c, pa.array(values, STATE_SCHEMA.field(c).type))
            self._tables = [t]

    def table(self) -> pa.Table:
        """All rows so far, in the order they were recorded."""
        self._flush()
        if not self._tables:
            return STATE_SCHEMA.empty_table()
        if len(self._tables) > 1:
            self._tables = [pa.concat_tables(self._tables).combine_chunks()]
        return self._tables[0]


def int_column(table: pa.Table, column: str) -> np.ndarray:
    """An int64 column without nulls as a numpy array (one chunk: zero-copy)."""
    col = table.column(column)
    if col.num_chunks == 1:
        return col.chunk(0).to_numpy()
    return col.to_numpy()
