"""Ids are unique per input file, across shards: a later record with the id of an earlier one of the
same file is quarantined ``duplicate_id``, so every removal row names one document.

A chunk checks its own records while it is parsed (:class:`~thresher.io.parse.DocumentSink`); a file
longer than a shard is checked here, as a shuffle by hash partition:

- ingest writes one row per *claim* (a record whose id is new to its chunk): XXH3-128 of
  ``source \\0 id``, the claim's number in its chunk and its line, partitioned by the hash;
- the phase ``ids`` (one task per partition) sorts its rows by ``(hash, shard, claim)``; every claim
  after the first of its hash is a reject, written with its shard, claim and the first one's line;
- the driver runs ingest again for the shards that have rejects (deterministic: the same chunk, now
  told which claims to quarantine), before any global step reads what ingest wrote.

Well-formed input pays one hash per document and a phase over 40 bytes per document (hash, claim,
line, shard); a reduce task
holds one partition's rows, never the corpus. The scratch space is named ``_ids``, a name no step can
take (step names start with a letter).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from .context import StepContext
from .plan import Plan

NAME = "_ids"
PHASE = "ids"

REJECT_SCHEMA = pa.schema([("shard", pa.int64()), ("claim", pa.int64()), ("first_line", pa.int64())])


def _scratch(plan: Plan) -> StepContext:
    return StepContext(plan, NAME)


def write_claims(plan: Plan, shard: int, claims: pa.Table) -> None:
    """Ingest's side: shard ``shard``'s claims, partitioned by hash."""
    hi = claims.column("hi").to_numpy()
    part = (hi % np.uint64(plan.partitions)).astype(np.int32)
    table = claims.append_column("shard", pa.array(np.full(claims.num_rows, shard, np.int64)))
    ctx = _scratch(plan)
    ctx.write_partitioned("map", part, table, ctx.part(shard))


def task_name(p: int) -> str:
    return f"p{p:05d}"


def resolve(plan: Plan, p: int) -> dict[str, Any]:
    """Partition ``p``: every claim after the first of its hash, in corpus order, is a reject. Returns
    the rejects per shard (``{"rejects": {shard: count}}``, kept in the task's marker)."""
    t0 = time.perf_counter()
    ctx = _scratch(plan)
    rows = ctx.read_partition("map", p)
    rejects = REJECT_SCHEMA.empty_table()
    if rows is not None and rows.num_rows:
        hi, lo = rows.column("hi").to_numpy(), rows.column("lo").to_numpy()
        shard, claim = rows.column("shard").to_numpy(), rows.column("claim").to_numpy()
        order = np.lexsort((claim, shard, lo, hi))
        hi, lo = hi[order], lo[order]
        first = np.ones(len(order), bool)
        first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
        head = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
        dup = order[~first]
        line = rows.column("line").take(pa.array(head[~first], pa.int64()))
        rejects = pa.table({"shard": pa.array(shard[dup]), "claim": pa.array(claim[dup]),
                            "first_line": line}, schema=REJECT_SCHEMA).sort_by([("shard", "ascending"),
                                                                                 ("claim", "ascending")])
    ctx.write_by_shard("reduce", task_name(p), rejects, rejects.column("shard").to_numpy())
    counts = np.bincount(rejects.column("shard").to_numpy(), minlength=0) if rejects.num_rows else []
    return {"records": rows.num_rows if rows is not None else 0,
            "rejects": {str(n): int(c) for n, c in enumerate(counts) if c},
            "seconds": round(time.perf_counter() - t0, 3)}


def read_rejects(plan: Plan, shard: int) -> dict[int, int | None]:
    """Shard ``shard``'s rejects: claim number -> line of the first record with its id."""
    t = _scratch(plan).read_shard("reduce", shard, schema=REJECT_SCHEMA)
    if t is None or t.num_rows == 0:
        return {}
    return dict(zip(t.column("claim").to_pylist(), t.column("first_line").to_pylist()))
