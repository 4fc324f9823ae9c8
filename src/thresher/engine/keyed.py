"""Reduce side of keyed dedup: within one hash partition, keep the first occurrence of every key.

Records are ``(hi, lo, _key, start, end, cut_start, cut_end, id)``; "first" is the smallest
``(_key, start)``, i.e. corpus order. Every later occurrence becomes a decision: delete its
``cut_start..cut_end``, a duplicate of the first occurrence's ``id, start..end``.
Peak memory is the partition's records (~40 bytes each plus ids), never the corpus: the engine chooses
the partition count from the input size.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: What every global step's reduce writes: remove ``start..end`` of document ``_key`` as a duplicate of
#: ``dup_of_*``. ``reason`` and ``similarity`` are null where the step's own (``step.reason``,
#: ``step.similarity``) apply; ``value`` is a measured value for the removal row (e.g. a count), or null.
DECISION_SCHEMA = pa.schema([
    ("_key", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("dup_of_id", pa.string()), ("dup_of_start", pa.int64()), ("dup_of_end", pa.int64()),
    ("reason", pa.string()), ("similarity", pa.float64()), ("value", pa.float64()),
])

#: Row groups of the decision files are small so a shard reads only its own key range.
DECISION_ROW_GROUP = 65_536


def resolve(records: pa.Table) -> pa.Table:
    """Decisions for one partition, sorted by ``(_key, start)``."""
    if records.num_rows == 0:
        return DECISION_SCHEMA.empty_table()
    hi = records.column("hi").to_numpy()
    lo = records.column("lo").to_numpy()
    key = records.column("_key").to_numpy()
    start = records.column("start").to_numpy()
    order = np.lexsort((start, key, lo, hi))
    hi, lo, key, start = hi[order], lo[order], key[order], start[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    head = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    dup = np.flatnonzero(~first)
    end = records.column("end").to_numpy()[order]
    cut_start = records.column("cut_start").to_numpy()[order]
    cut_end = records.column("cut_end").to_numpy()[order]
    kept = order[head[dup]]
    out = pa.table({
        "_key": pa.array(key[dup]), "start": pa.array(cut_start[dup]), "end": pa.array(cut_end[dup]),
        "dup_of_id": records.column("id").take(pa.array(kept, pa.int64())),
        "dup_of_start": pa.array(start[head[dup]]), "dup_of_end": pa.array(end[head[dup]]),
        "reason": pa.nulls(len(dup), pa.string()), "similarity": pa.nulls(len(dup), pa.float64()),
        "value": pa.nulls(len(dup), pa.float64()),
    }, schema=DECISION_SCHEMA)
    return out.sort_by([("_key", "ascending"), ("start", "ascending")])
