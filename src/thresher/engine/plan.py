"""A run's plan: steps cut into segments at global steps, and the phases that follow from them.

Steps ``[L1, G1, L2, G2, L3]`` (L local, G global) make segments ``([L1], G1) ([L2], G2) ([L3], -)``:

    ingest   parse each chunk into a shard; pass 0: L1, map side of G1          (per shard)
    G1.reduce                                                                 (per partition)
    pass1    apply G1's decisions; L2; map side of G2                          (per shard)
    G2.reduce                                                                 (per partition)
    pass2    apply G2's decisions; L3; write OUT/documents and OUT/removals   (per shard)

With no global step, ingest runs the local steps and a ``write`` pass writes the output (it needs every
shard's carried-field schema first). The plan is what tasks receive; it is small and picklable.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa

from ..config import RunConfig
from .. import registry
from ..steps import Step
from .layout import Layout


@dataclass(frozen=True)
class Segment:
    local: tuple[str, ...]
    global_: str | None


def make_segments(steps: list[str]) -> tuple[Segment, ...]:
    segs, local = [], []
    for name in steps:
        if registry.STEPS[name].is_global:
            segs.append(Segment(tuple(local), name))
            local = []
        else:
            local.append(name)
    segs.append(Segment(tuple(local), None))
    return tuple(segs)


@dataclass(frozen=True)
class Plan:
    out: str
    config: RunConfig
    steps: tuple[str, ...]
    partitions: int
    schema_ipc: bytes | None = None            # unified carried-field schema (after ingest)
    json_fields: tuple[str, ...] = ()
    segments: tuple[Segment, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", make_segments(list(self.steps)))

    @property
    def layout(self) -> Layout:
        return Layout(self.out)

    @property
    def last_pass(self) -> int:
        """Index of the pass that writes the output: one per global step, at least 1."""
        return max(len(self.segments) - 1, 1)

    def phase_of_pass(self, k: int) -> str:
        if k == 0:
            return "ingest"
        return "write" if len(self.segments) == 1 else f"pass{k}"

    @cached_property
    def _steps(self) -> dict[str, Step]:
        return {name: registry.STEPS[name](self.config.step_options.get(name)) for name in self.steps}

    def step(self, name: str) -> Step:
        return self._steps[name]

    @property
    def fields_schema(self) -> pa.Schema:
        if self.schema_ipc is None:
            return pa.schema([])
        return pa.ipc.read_schema(pa.py_buffer(self.schema_ipc))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_steps", None)   # steps are rebuilt in each worker
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


def schema_to_b64(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def schema_from_b64(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
