"""thresher: turn raw scraped web text into a clean, deduplicated training corpus, and record, for
every removed byte, why and what it duplicated.

    import thresher
    stats = thresher.run(["corpus/"], "out/", steps=["exact"], workers=4)
"""

from ._numba_cache import use_writable_numba_cache as _use_writable_numba_cache

_use_writable_numba_cache()            # before any kernel module is imported

from ._version import __version__
from .api import load_config, run
from .config import EngineConfig, ExtractConfig, InputConfig, OutputConfig, RunConfig
from .documents import (
    QUARANTINE_SCHEMA, REMOVAL_SCHEMA, Cut, Document, Drop, apply_removals,
)
from .engine.executor import Executor, InlineExecutor, LocalExecutor
from .errors import ConfigError, InputError, OutputError, PhaseError, ThresherError
from .registry import CANONICAL_ORDER, STEPS
from .steps import DocumentStep, GlobalStep, KeyedDedupStep, Phase, SpanKeys, Step, Task, Verdicts
from .steps.exact import ExactDedup
from .verify import verify_output

__all__ = [
    "CANONICAL_ORDER", "QUARANTINE_SCHEMA", "REMOVAL_SCHEMA", "STEPS",
    "ConfigError", "Cut", "Document", "DocumentStep", "Drop", "EngineConfig", "ExactDedup", "Executor",
    "ExtractConfig", "GlobalStep", "InlineExecutor", "InputConfig", "InputError", "KeyedDedupStep", "LocalExecutor",
    "OutputConfig", "OutputError", "Phase", "PhaseError", "RunConfig", "SpanKeys", "Step", "Task",
    "ThresherError", "Verdicts", "apply_removals",
    "load_config", "run", "verify_output", "__version__",
]
