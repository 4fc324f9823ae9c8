"""thresher: turn raw scraped web text into a clean, deduplicated training corpus, and record, for
every removed byte, why and what it duplicated.

    import thresher
    stats = thresher.run(["corpus/"], "out/", steps=["exact"], workers=4)
"""

from ._numba_cache import use_writable_numba_cache as _use_writable_numba_cache

_use_writable_numba_cache()            # before any kernel module is imported

from ._version import __version__

#: Where each public name lives. They are imported on first use (PEP 562), so that ``thresher --help``
#: does not pay for numba, pyarrow and every step (about a second) before it prints anything.
_HOME = {
    "load_config": "api", "run": "api",
    "EngineConfig": "config", "ExtractConfig": "config", "InputConfig": "config", "OutputConfig": "config",
    "RunConfig": "config",
    "QUARANTINE_SCHEMA": "documents", "REMOVAL_SCHEMA": "documents", "Cut": "documents",
    "Document": "documents", "Drop": "documents", "apply_removals": "documents",
    "Executor": "engine.executor", "InlineExecutor": "engine.executor", "LocalExecutor": "engine.executor",
    "ConfigError": "errors", "InputError": "errors", "OutputError": "errors", "PhaseError": "errors",
    "ThresherError": "errors",
    "CANONICAL_ORDER": "registry", "STEPS": "registry",
    "DocumentStep": "steps", "GlobalStep": "steps", "KeyedDedupStep": "steps", "Phase": "steps",
    "SpanKeys": "steps", "Step": "steps", "Task": "steps", "Verdicts": "steps",
    "ExactDedup": "steps.exact",
    "verify_output": "verify",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'thresher' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CANONICAL_ORDER", "QUARANTINE_SCHEMA", "REMOVAL_SCHEMA", "STEPS",
    "ConfigError", "Cut", "Document", "DocumentStep", "Drop", "EngineConfig", "ExactDedup", "Executor",
    "ExtractConfig", "GlobalStep", "InlineExecutor", "InputConfig", "InputError", "KeyedDedupStep", "LocalExecutor",
    "OutputConfig", "OutputError", "Phase", "PhaseError", "RunConfig", "SpanKeys", "Step", "Task",
    "ThresherError", "Verdicts", "apply_removals",
    "load_config", "run", "verify_output", "__version__",
]
