"""A run's plan: steps cut into segments at global steps, and the phases that follow from them.

Steps ``[L1, G1, L2, G2, L3]`` (L local, G global) make segments ``([L1], G1) ([L2], G2) ([L3], -)``:

    ingest   parse each chunk into a shard; pass 0: L1, map side of G1          (per shard)
    G1.reduce                                                                 (per partition)
    pass1    apply G1's decisions; L2; map side of G2                          (per shard)
    G2.reduce                                                                 (per partition)
    pass2    apply G2's decisions; L3; write OUT/documents and OUT/removals   (per shard)

With no global step, ingest only parses and a ``write`` pass runs the local steps and writes the output
(it needs every shard's carried-field schema first). The plan is what tasks receive; it is small and picklable.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa

from ..config import RunConfig
from .. import registry
from ..steps.base import DocumentStep, Step
from ..steps.global_step import GlobalStep
from .layout import Layout
from .twins import check_twin_order
from ..io.storage import Location


#: The output column of each kept document's duplicates removed in its favour (whole documents).
DUP_COUNT = "dup_count"


@dataclass(frozen=True)
class Segment:
    local: tuple[str, ...]
    global_: str | None


def make_segments(steps: list[Step]) -> tuple[Segment, ...]:
    """Cut steps at global parts. A step with both parts (:meth:`Step.parts`) ends a segment: its local
    part runs last among the segment's local steps, right before its own map side."""
    segs, local = [], []
    for step in steps:
        local_part, global_part = step.parts()
        if local_part is not None:
            local.append(step.name)
        if global_part is not None:
            segs.append(Segment(tuple(local), step.name))
            local = []
    segs.append(Segment(tuple(local), None))
    return tuple(segs)


@dataclass(frozen=True)
class Plan:
    out: Location
    config: RunConfig
    steps: tuple[str, ...]
    partitions: int
    schema_ipc: bytes | None = None            # unified carried-field schema (after ingest)
    json_fields: tuple[str, ...] = ()
    segments: tuple[Segment, ...] = field(init=False)

    def __post_init__(self) -> None:
        steps = [self.step(n) for n in self.steps]
        check_twin_order(steps)
        object.__setattr__(self, "segments", make_segments(steps))

    @property
    def label_columns(self) -> dict[str, pa.DataType]:
        """Output columns the steps add, in step order."""
        out: dict[str, pa.DataType] = {}
        for name in self.steps:
            out.update(self.step(name).columns())
        if self.whole_twin_steps:
            out[DUP_COUNT] = pa.int64()
        return out

    @property
    def whole_twin_steps(self) -> tuple[str, ...]:
        """Global steps that remove whole documents in favour of a kept twin (exact, near-dup): the
        kept document's ``dup_count`` counts their removals."""
        return tuple(n for n in self.steps if (g := self.global_part(n)) is not None
                     and g.whole_document and g.twins == "corpus")

    @property
    def layout(self) -> Layout:
        return Layout(self.out)

    @property
    def last_pass(self) -> int:
        """Index of the pass that writes the output: one per global step, at least 1."""
        return max(len(self.segments) - 1, 1)

    def local_steps(self, k: int) -> tuple[str, ...]:
        """Local steps pass ``k`` runs. Without a global step they run in the write pass, so that the
        labels they set reach the output."""
        if len(self.segments) == 1:
            return self.segments[0].local if k == 1 else ()
        return self.segments[k].local if k < len(self.segments) else ()

    def global_map(self, k: int) -> str | None:
        """The global step whose map side pass ``k`` runs."""
        return self.segments[k].global_ if k < len(self.segments) else None

    def phase_of_pass(self, k: int) -> str:
        if k == 0:
            return "ingest"
        return "write" if len(self.segments) == 1 else f"pass{k}"

    @cached_property
    def _steps(self) -> dict[str, Step]:
        return {name: registry.step_class(name)(self.config.step_options.get(name)) for name in self.steps}

    def step(self, name: str) -> Step:
        return self._steps[name]

    @cached_property
    def _parts(self) -> dict[str, tuple[DocumentStep | None, GlobalStep | None]]:
        return {name: step.parts() for name, step in self._steps.items()}

    def local_part(self, name: str) -> DocumentStep:
        part = self._parts[name][0]
        if part is None:
            raise ValueError(f"step {name!r} has no local part")
        return part

    def global_part(self, name: str) -> GlobalStep | None:
        return self._parts[name][1]

    def has_local_part(self, name: str) -> bool:
        return self._parts[name][0] is not None

    def map_pass(self, name: str) -> int:
        """The pass that runs the map side of global step ``name``."""
        return next(k for k, seg in enumerate(self.segments) if seg.global_ == name)

    @property
    def fields_schema(self) -> pa.Schema:
        if self.schema_ipc is None:
            return pa.schema([])
        return pa.ipc.read_schema(pa.py_buffer(self.schema_ipc))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_steps", None)   # steps are rebuilt in each worker
        state.pop("_parts", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


def schema_to_b64(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def schema_from_b64(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
