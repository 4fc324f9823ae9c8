"""The contract of a global step: a map side per shard, reduce phases over the step's own scratch space.

A global step needs the whole corpus (the first copy of a key, the clusters of near-duplicates), so the
engine runs it in three parts:

- :meth:`GlobalStep.map`, in a pass over every shard: from a read-only view of the shard's current
  texts (:class:`~thresher.engine.view.ShardView`) it writes what the reduce needs into its scratch
  space (:class:`~thresher.engine.context.StepContext`) and returns a small dict, kept in the shard's
  completion marker and handed to :meth:`GlobalStep.phases`;
- :meth:`GlobalStep.phases`: the reduce, as named phases of independent tasks. A task is a top-level
  function ``fn(ctx, arg) -> dict`` (picklable, so any worker can run it); it reads and writes only
  through ``ctx``, and the last phase writes decisions (:data:`DECISION_SCHEMA`) with
  ``ctx.write_decisions``. The dict a task returns is kept in its marker; its ``"steps"`` entry is
  merged into the run's stats;
- in the next pass the engine reads each shard's decisions and applies them: a removal row for each,
  with the step's ``reason`` and ``similarity`` where a decision leaves them null.

The engine owns shards, manifests, resume, retries, applying decisions and stats; a step never sees a
file path, a worker or a manifest, so the same step runs on the local engine and on Ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import pyarrow as pa

from .base import Step

if TYPE_CHECKING:  # the engine builds both and hands them to the step
    from ..engine.context import StepContext
    from ..engine.view import ShardView

#: What a global step's reduce decides: remove ``start..end`` (original offsets) of document ``_key`` as a
#: duplicate of ``dup_of_*``. ``reason`` and ``similarity`` are null where the step's own
#: (``step.reason``, ``step.similarity``) apply; ``value`` is a measured value for the removal row (e.g.
#: a count), or null. Written sorted by ``(_key, start)``. A step that records twins (``twins =
#: "corpus"``) adds the column :data:`TWIN_KEY`: the corpus key of the twin each decision names, from
#: which the engine keeps that twin whole through later steps.
DECISION_SCHEMA = pa.schema([
    ("_key", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("dup_of_id", pa.string()), ("dup_of_start", pa.int64()), ("dup_of_end", pa.int64()),
    ("reason", pa.string()), ("similarity", pa.float64()), ("value", pa.float64()),
])


TWIN_KEY = "dup_of_key"


@dataclass(frozen=True, slots=True)
class Task:
    """One task of a reduce phase: ``fn(ctx, arg)``; ``name`` is unique within the phase (it names the
    task's completion marker, so a rerun skips it)."""

    name: str
    fn: Callable[["StepContext", Any], dict]
    arg: Any = None


@dataclass(frozen=True, slots=True)
class Phase:
    """A reduce phase: its tasks run in any order, all of them before the next phase starts. The
    engine names it ``<step>.<name>``."""

    name: str
    tasks: list[Task]


class GlobalStep(Step):
    """A step over the whole corpus; implement :meth:`map` and :meth:`phases`."""

    #: The removal rows' reason where a decision leaves it null.
    reason: ClassVar[str]
    #: The removal rows' similarity where a decision leaves it null (None: no similarity).
    similarity: ClassVar[float | None] = 1.0
    #: True: a decision removes its whole document (its span is ignored).
    whole_document: ClassVar[bool] = False

    def parts(self) -> tuple[None, "GlobalStep"]:
        return None, self

    def removal(self) -> str:
        return "documents" if self.whole_document else "spans"

    def map(self, view: "ShardView", ctx: "StepContext") -> dict[str, Any]:
        """Map side over one shard: write what the reduce needs through ``ctx``; return a small dict."""
        raise NotImplementedError

    def phases(self, ctx: "StepContext", map_results: list[dict[str, Any]]) -> list[Phase]:
        """The reduce phases, given every shard's map result (in shard order)."""
        raise NotImplementedError

    def summarize(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Final touch on the step's stats merged over all tasks (e.g. rank and cut a list)."""
        return stats
