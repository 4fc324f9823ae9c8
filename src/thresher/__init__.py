"""thresher: turn raw scraped web text into a clean, deduplicated training corpus, and record, for
every removed byte, why and what it duplicated.

    import thresher
    stats = thresher.run(["corpus/"], "out/", steps=["exact"], workers=4)
"""

__version__ = "0.1.0"

from .api import load_config, run  # noqa: E402
from .config import EngineConfig, InputConfig, OutputConfig, RunConfig  # noqa: E402
from .documents import (  # noqa: E402
    QUARANTINE_SCHEMA, REMOVAL_SCHEMA, Cut, Document, Drop, apply_removals,
)
from .engine.executor import Executor, InlineExecutor, LocalExecutor  # noqa: E402
from .errors import ConfigError, InputError, OutputError, PhaseError, ThresherError  # noqa: E402
from .registry import CANONICAL_ORDER, STEPS  # noqa: E402
from .steps import DocumentStep, KeyedDedupStep, SpanKeys, Step  # noqa: E402
from .dedup.exact import ExactDedup  # noqa: E402
from .verify import verify_output  # noqa: E402

__all__ = [
    "CANONICAL_ORDER", "QUARANTINE_SCHEMA", "REMOVAL_SCHEMA", "STEPS",
    "ConfigError", "Cut", "Document", "DocumentStep", "Drop", "EngineConfig", "ExactDedup", "Executor",
    "InlineExecutor", "InputConfig", "InputError", "KeyedDedupStep", "LocalExecutor", "OutputConfig",
    "OutputError", "PhaseError", "RunConfig", "SpanKeys", "Step", "ThresherError", "apply_removals",
    "load_config", "run", "verify_output", "__version__",
]
