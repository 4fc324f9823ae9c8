"""How the engine runs each kind of global step: its map side, its reduce phases, its decisions.

A global step (near-dup, paragraphs, substrings...) needs the whole corpus, so it runs in three parts:

- ``map(plan, name, st)``: in a pass, on one shard's current texts; writes what the reduce needs under
  ``OUT/_work/<name>.*`` and returns its stats plus a small ``result`` dict (kept in the shard's marker);
- ``phases(plan, name, shards, map_results)``: the reduce, as one or more phases of independent tasks;
  each task is ``(task_name, fn, arg)`` and writes its files atomically;
- ``decisions(plan, name, shard)``: in the next pass, the removals of one shard
  (:data:`~thresher.engine.keyed.DECISION_SCHEMA`), applied by the engine.

A driver holds no state; the local and a distributed engine call the same methods.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from ..documents import key_range
from ..steps import KeyedDedupStep, Step
from .keyed import DECISION_ROW_GROUP, DECISION_SCHEMA, resolve
from .layout import Layout, read_arrow, read_parquet, write_arrow, write_parquet
from .plan import Plan
from .shard import ShardState, StepStats

Task = tuple[str, Callable[[Any], dict], Any]


class Driver:
    #: True when the map side runs the step on the documents (so the map pass counts its input and
    #: the decisions pass only its output).
    counts_input_in_map = False

    def summarize(self, plan: Plan, name: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Final touch on the step's merged stats (e.g. rank and cut a list)."""
        return stats

    def map(self, plan: Plan, name: str, st: ShardState) -> tuple[StepStats, dict]:
        raise NotImplementedError

    def phases(self, plan: Plan, name: str, shards: int,
               map_results: list[dict]) -> list[tuple[str, list[Task]]]:
        raise NotImplementedError

    def decisions(self, plan: Plan, name: str, shard: int) -> pa.Table:
        """Decisions of ``shard`` from every decision file of the step (sorted by ``_key``)."""
        folder = plan.layout.decisions_folder(name)
        lo, hi = key_range(shard)
        parts = []
        for path in folder.glob("*.parquet"):
            t = read_parquet(path, filters=[("_key", ">=", lo), ("_key", "<", hi)], schema=DECISION_SCHEMA)
            if t.num_rows:
                parts.append(t)
        if not parts:
            return DECISION_SCHEMA.empty_table()
        return pa.concat_tables(parts).sort_by([("_key", "ascending"), ("start", "ascending")])


def write_partitioned(plan: Plan, folder: str, part: np.ndarray, table: pa.Table, owner: str) -> None:
    """Split ``table`` by the partition number of each row into ``_work/<folder>/pNNNNN/<owner>.arrow``
    (the map side of a shuffle: one file per partition the task has rows for)."""
    if table.num_rows == 0:
        return
    order = np.argsort(part, kind="stable")
    part = part[order]
    table = table.take(pa.array(order))
    bounds = np.flatnonzero(part[1:] != part[:-1]) + 1
    for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(part)]):
        path = plan.layout.work / folder / f"p{int(part[a]):05d}" / f"{owner}.arrow"
        write_arrow(path, table.slice(a, b - a), compression=plan.config.engine.work_compression)


def read_partition(plan: Plan, folder: str, p: int) -> pa.Table | None:
    """Every task's rows of partition ``p`` of ``_work/<folder>`` (the reduce side), in file order."""
    d = plan.layout.work / folder / f"p{p:05d}"
    files = d.glob("*.arrow")
    return pa.concat_tables([read_arrow(f) for f in files]) if files else None


def write_decisions(lay: Layout, name: str, part: str, decisions: pa.Table) -> None:
    """Small row groups, so that a shard reads only its own key range of each file."""
    write_parquet(lay.decisions(name, part), decisions, compression="zstd",
                  row_group_size=DECISION_ROW_GROUP)


class KeyedDriver(Driver):
    """Keys partitioned by hash on disk; each partition resolved on its own (bounded memory)."""

    def map(self, plan, name, st):
        records, stats = st.keyed_records(plan.step(name), plan.partitions)
        t0 = time.perf_counter()
        write_partitioned(plan, f"{name}.map", records.column("_part").to_numpy(),
                          records.drop_columns(["_part"]), plan.layout.part(st.shard))
        stats.data["seconds"] += time.perf_counter() - t0
        return stats, {"records": records.num_rows}

    def phases(self, plan, name, shards, map_results):
        return [(f"{name}.reduce", [(f"p{p:05d}", keyed_reduce_task, (plan, name, p))
                                    for p in range(plan.partitions)])]


def keyed_reduce_task(arg: tuple[Plan, str, int]) -> dict[str, Any]:
    """Resolve partition ``p`` of a keyed step."""
    plan, name, p = arg
    lay = plan.layout
    t0 = time.perf_counter()
    records = read_partition(plan, f"{name}.map", p)
    decisions = resolve(records) if records is not None else DECISION_SCHEMA.empty_table()
    write_decisions(lay, name, f"p{p:05d}", decisions)
    return {"records": records.num_rows if records is not None else 0, "decisions": decisions.num_rows,
            "steps": {name: {"seconds": time.perf_counter() - t0}}}


def driver_for(step: Step) -> Driver:
    from ..dedup.near_dup import NearDup
    from ..dedup.substrings import SubstringDedup
    from ..filters.boilerplate import Boilerplate
    from .boilerplate import BoilerplateDriver
    from .near_dup import NearDupDriver
    from .substrings import SuffixArrayDriver

    if isinstance(step, KeyedDedupStep):
        return KeyedDriver()
    if isinstance(step, SubstringDedup):
        return SuffixArrayDriver()
    if isinstance(step, NearDup):
        return NearDupDriver()
    if isinstance(step, Boilerplate):
        return BoilerplateDriver()
    raise TypeError(f"no engine driver for global step {step.name!r}")
