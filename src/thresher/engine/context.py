"""What a global step's map side and reduce tasks read and write: the step's own scratch space.

A :class:`StepContext` names one step of one run. Every path it hands out lies under
``OUT/_work/<step>.<folder>/``, so steps cannot collide with each other or with the engine's files, and
every write is atomic (written under a temporary name, then renamed), so a task killed half-way leaves
nothing a rerun would mistake for its output. It is small and picklable: the engine sends it with
each task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..documents import shard_of
from ..steps.global_step import DECISION_SCHEMA, TWIN_KEY
from .layout import (Layout, read_arrow, read_arrow_batch, read_arrow_batch_schema, write_arrow,
                     write_arrow_batches, write_parquet)
from .plan import Plan

from .view import ShardView, load_view

if TYPE_CHECKING:
    from ..steps.global_step import GlobalStep

#: A twin that a decision names: the twin document's key, its span (null: the whole document) and the
#: key of the document the decision removes from.
TWIN_SCHEMA = pa.schema([("_key", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
                         ("from", pa.int64())])

#: Decisions as stored: with the twin's key (null where the step gives none).
STORED_DECISIONS = DECISION_SCHEMA.append(pa.field(TWIN_KEY, pa.int64()))



@dataclass(frozen=True)
class StepContext:
    plan: Plan
    name: str
    #: Shards of the run (known once ingest is done; 0 on the map side).
    shards: int = 0

    @property
    def step(self) -> "GlobalStep":
        """The step's global part, as configured for this run."""
        return self.plan.global_part(self.name)

    @property
    def partitions(self) -> int:
        """Hash partitions of the run: fixed by the input size, never by the worker count."""
        return self.plan.partitions

    #: The name of shard ``n``'s files (``part-NNNNNN``), as everywhere in OUT.
    part = staticmethod(Layout.part)

    def _folder(self, folder: str):
        return self.plan.layout.work / f"{self.name}.{folder}"

    # -- tables in the scratch space ---------------------------------------------------------------
    def write_table(self, folder: str, file: str, table: pa.Table, *, compress: bool = True) -> None:
        """Write ``table`` as ``<folder>/<file>.arrow`` (Arrow IPC, the run's work compression)."""
        comp = self.plan.config.engine.work_compression if compress else None
        write_arrow(self._folder(folder) / f"{file}.arrow", table, compression=comp)

    def read_table(self, folder: str, file: str) -> pa.Table:
        return read_arrow(self._folder(folder) / f"{file}.arrow")

    def read_all(self, folder: str) -> pa.Table | None:
        """Every Arrow table written to ``folder`` with :meth:`write_table`, concatenated (None: none)."""
        files = self._folder(folder).glob("*.arrow")
        return pa.concat_tables([read_arrow(f) for f in files]) if files else None

    def write_by_shard(self, folder: str, file: str, table: pa.Table, shard: np.ndarray) -> None:
        """Write ``table``, whose rows are ordered by the shard each is for (``shard``, ascending), as
        ``<folder>/<file>.arrow`` with record batch ``s`` holding the rows for shard ``s``: a task of
        shard ``s`` reads only that batch of each file (:meth:`read_shard`), so the cost of finding a
        shard's rows does not grow with the number of shards."""
        shard = np.asarray(shard, np.int64)
        n = int(shard[-1]) + 1 if len(shard) else 0
        bounds = np.searchsorted(shard, np.arange(n + 1)).tolist()
        write_arrow_batches(self._folder(folder) / f"{file}.arrow", table.schema,
                            [table.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:])],
                            compression=self.plan.config.engine.work_compression)

    def read_shard(self, folder: str, shard: int, schema: pa.Schema | None = None) -> pa.Table | None:
        """Shard ``shard``'s rows of every file that :meth:`write_by_shard` wrote to ``folder``, in file
        order (None: no file; an empty table: no rows for it)."""
        files = self._folder(folder).glob("*.arrow")
        if not files:
            return None
        tables = [t for f in files if (t := read_arrow_batch(f, shard)) is not None and t.num_rows]
        if not tables:
            return (schema or read_arrow_batch_schema(files[0])).empty_table()
        t = pa.concat_tables(tables)
        return t.cast(schema) if schema is not None else t

    # -- a shuffle by hash partition ---------------------------------------------------------------
    def write_partitioned(self, folder: str, part: np.ndarray, table: pa.Table, owner: str) -> None:
        """Split ``table`` by each row's partition number ``part`` (the map side of a shuffle): one file
        per writer, ``<folder>/<owner>.arrow``, whose record batch ``p`` holds its rows of partition
        ``p`` (in their order). So a shuffle leaves one file per writer, not one per writer and
        partition, and a reader of one partition reads only that batch of each file."""
        if table.num_rows == 0:
            return
        order = np.argsort(part, kind="stable")
        part = np.asarray(part)[order]
        table = table.take(pa.array(order)).combine_chunks()
        bounds = np.searchsorted(part, np.arange(int(part[-1]) + 2)).tolist()
        batches = [table.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:])]
        write_arrow_batches(self._folder(folder) / f"{owner}.arrow", table.schema, batches,
                            compression=self.plan.config.engine.work_compression)

    def read_partition(self, folder: str, p: int) -> pa.Table | None:
        """Every writer's rows of partition ``p`` of ``folder`` (the reduce side), in writer order
        (None: no writer has any)."""
        parts = [t for f in self._folder(folder).glob("*.arrow") if (t := read_arrow_batch(f, p)) is not None]
        parts = [t for t in parts if t.num_rows]
        return pa.concat_tables(parts) if parts else None

    # -- results -----------------------------------------------------------------------------------
    def write_decisions(self, part: str, decisions: pa.Table) -> None:
        """The step's decisions (:data:`DECISION_SCHEMA`, sorted by ``(_key, start)``), one file per
        reduce task, a record batch per shard (:meth:`write_by_shard`); in the next pass each shard
        reads its own batch of each.

        With the :data:`TWIN_KEY` column, the twins they name are also written, sorted by the twin's
        key, so that each shard finds the twins it holds (:func:`read_twins`)."""
        if TWIN_KEY in decisions.column_names:
            twin = decisions.column(TWIN_KEY)
            named = pc.is_valid(twin)
            t = pa.table({"_key": twin, "start": decisions.column("dup_of_start"),
                          "end": decisions.column("dup_of_end"), "from": decisions.column("_key")},
                         schema=TWIN_SCHEMA).filter(named)
            t = t.sort_by([("_key", "ascending"), ("start", "ascending")])
            self.write_by_shard("twins", part, t, shard_of(t.column("_key").to_numpy()))
        else:
            decisions = decisions.append_column(TWIN_KEY, pa.nulls(decisions.num_rows, pa.int64()))
        decisions = decisions.select(STORED_DECISIONS.names).cast(STORED_DECISIONS)
        self.write_by_shard("reduce", part, decisions, shard_of(decisions.column("_key").to_numpy()))

    def write_output(self, folder: str, table: pa.Table) -> None:
        """A table of the step's own for OUT (``OUT/<folder>/part-000000.parquet``, e.g. clusters)."""
        write_parquet(self.plan.layout.out / folder / "part-000000.parquet", table,
                      compression=self.plan.config.output.compression)

    # -- other shards --------------------------------------------------------------------------------
    def view(self, shard: int) -> ShardView:
        """Shard ``shard`` as the step's map side saw it (its current texts at that point)."""
        return load_view(self.plan, self.plan.map_pass(self.name), shard)


def read_twins(plan: Plan, name: str, shard: int) -> pa.Table | None:
    """The twins in ``shard`` that step ``name``'s decisions name (:data:`TWIN_SCHEMA`; None: none)."""
    return StepContext(plan, name).read_shard("twins", shard, schema=TWIN_SCHEMA)


def read_decisions(plan: Plan, name: str, shard: int) -> pa.Table:
    """The decisions of step ``name`` on ``shard``, from every decision file, sorted by ``(_key, start)``."""
    t = StepContext(plan, name).read_shard("reduce", shard, schema=STORED_DECISIONS)
    if t is None or t.num_rows == 0:
        return STORED_DECISIONS.empty_table()
    return t.sort_by([("_key", "ascending"), ("start", "ascending")])


