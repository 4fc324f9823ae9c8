"""The step contracts, and one module or folder per built-in step.

- :class:`DocumentStep`: a local step, ``process(doc)`` (or ``process_batch(texts)``);
- :class:`GlobalStep`: a step over the whole corpus, ``map(view, ctx)`` per shard and ``phases(ctx, ...)``;
- :class:`KeyedDedupStep`: a global step that only says which spans have equal keys, ``spans(texts, ...)``.

The built-ins (``exact``, ``near_dup``, ``paragraphs``, ``substrings``, ``boilerplate``, ``quality``,
``language``, ``pii``) are registered in :mod:`thresher.registry`, as plug-ins are.
"""

from .base import STAGES, DocumentStep, NoOptions, Step, Verdicts
from .global_step import DECISION_SCHEMA, TWIN_KEY, GlobalStep, Phase, Task
from .keyed import KeyedDedupStep, SpanKeys

__all__ = ["DECISION_SCHEMA", "STAGES", "TWIN_KEY", "DocumentStep", "GlobalStep", "KeyedDedupStep", "NoOptions", "Phase",
           "SpanKeys", "Step", "Task", "Verdicts"]
