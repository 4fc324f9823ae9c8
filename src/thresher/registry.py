"""The steps thresher knows: its built-ins and those other packages provide, and the order they run in.

A package provides steps through the entry-point group ``thresher.steps`` (name = the step's
``name``, value = its class), for example in its ``pyproject.toml``::

    [project.entry-points."thresher.steps"]
    shout = "my_package.steps:Shout"

Names are stable: they are the values of ``--steps``, the TOML section names and the ``step`` of
removal rows. Steps always run in pipeline order, whatever order ``--steps`` lists them in: by stage
(:data:`~thresher.steps.base.STAGES`), then ``position``, then name. The order fixes what each step sees
(cleaning, collapsing repetition inside a document, filters, then dedup of whole documents and of spans,
and rewriting steps last so that no later step cuts into a placeholder). Every step is checked when it is registered, so a step that cannot
run is a :class:`~thresher.errors.ConfigError` naming it before any work starts.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import is_dataclass
from typing import Iterable

from .errors import ConfigError
from .plugins import load_group
from .steps.base import STAGES, DocumentStep, Step
from .steps.boilerplate import Boilerplate
from .steps.exact import ExactDedup
from .steps.global_step import GlobalStep
from .steps.language import LanguageId
from .steps.near_dup import NearDup
from .steps.paragraphs import ParagraphDedup
from .steps.decontaminate import Decontaminate
from .steps.pii import PiiFilter
from .steps.quality import QualityFilter
from .steps.repeats import Repeats
from .steps.substrings import SubstringDedup

BUILTIN: tuple[type[Step], ...] = (Boilerplate, Repeats, QualityFilter, LanguageId, ExactDedup, NearDup,
                                   ParagraphDedup, SubstringDedup, PiiFilter, Decontaminate)
ENTRY_POINT_GROUP = "thresher.steps"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _overrides(cls: type, base: type, method: str) -> bool:
    return getattr(cls, method, None) is not getattr(base, method)


def check_step(cls: object, *, origin: str = "") -> type[Step]:
    """``cls`` if it is a step thresher can run; else a ConfigError saying what to fix."""
    where = f" ({origin})" if origin else ""
    if not (isinstance(cls, type) and issubclass(cls, Step)):
        raise ConfigError(f"{cls!r}{where} is not a thresher step: subclass thresher.DocumentStep or "
                          f"thresher.GlobalStep")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"step class {cls.__qualname__}{where} needs a name of lower-case letters, "
                          f"digits and '_' (got {name!r})")
    label = f"step '{name}'{where}"
    stage = getattr(cls, "stage", None)
    if stage not in STAGES:
        raise ConfigError(f"{label} needs a stage, one of {', '.join(STAGES)} (got {stage!r})")
    if not isinstance(getattr(cls, "position", None), int):
        raise ConfigError(f"{label}: position must be an integer")
    if not is_dataclass(cls.Config):
        raise ConfigError(f"{label}: Config must be a dataclass (its options)")
    if cls.twins not in (None, "document", "corpus", "external"):
        raise ConfigError(f"{label}: twins must be None, 'document', 'corpus' or 'external' "
                          f"(got {cls.twins!r})")
    if issubclass(cls, DocumentStep):
        if cls.twins == "corpus":
            raise ConfigError(f"{label} is a DocumentStep, which sees one document at a time: its twins "
                              f"can only be 'document' (a twin inside the same document)")
        if cls.keeps_twins:
            raise ConfigError(f"{label}: keeps_twins is for a GlobalStep (the engine withholds its "
                              f"decisions); a DocumentStep that removes text runs before every twin step")
        needed = "process_batch" if cls.batched else "process"
        if not _overrides(cls, DocumentStep, needed):
            raise ConfigError(f"{label} is a DocumentStep but does not implement {needed}()")
    elif issubclass(cls, GlobalStep):
        for method in ("map", "phases"):
            if not _overrides(cls, GlobalStep, method):
                raise ConfigError(f"{label} is a GlobalStep but does not implement {method}()")
        if not isinstance(getattr(cls, "reason", None), str):
            raise ConfigError(f"{label} is a GlobalStep but has no reason (the removal rows' default)")
    elif not _overrides(cls, Step, "parts"):
        raise ConfigError(f"{label} is neither a DocumentStep nor a GlobalStep: subclass one of them")
    return cls


#: Every step by name: the built-ins, then the plug-ins installed (loaded on first use, since a
#: plug-in imports thresher itself).
STEPS: dict[str, type[Step]] = {cls.name: check_step(cls) for cls in BUILTIN}
#: Plug-ins that are installed but could not be loaded: name -> why (an error when they are asked for).
BROKEN: dict[str, str] = {}


_loaded = False


def load_plugins() -> None:
    """Register the steps of the installed packages' ``thresher.steps`` entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name, cls in load_group(ENTRY_POINT_GROUP, check_step, BROKEN):
        if name in STEPS and STEPS[name] is not cls:
            BROKEN[name] = f"plug-in step '{name}' ({cls!r}): a step of that name exists already"
        else:
            STEPS[name] = cls


def pipeline_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order the steps run: by stage, position, then name."""
    return sorted(names, key=lambda n: (STAGES.index(STEPS[n].stage), STEPS[n].position, n))


#: The built-in steps, in the order they run.
CANONICAL_ORDER: tuple[str, ...] = tuple(pipeline_order(cls.name for cls in BUILTIN))


def step_class(name: str) -> type[Step]:
    load_plugins()
    return STEPS[name]


def step_configs() -> dict[str, type]:
    load_plugins()
    return {name: cls.Config for name, cls in STEPS.items()}


def resolve_steps(names: list[str] | tuple[str, ...] | None, *, configured: Iterable[str] = ()) -> list[str]:
    """Validate step names and put them in pipeline order. None: the built-in steps that run by
    default, and those off by default (``Step.default``) whose section is among ``configured``."""
    load_plugins()
    if names is None:
        extra = set(configured)
        return [n for n in CANONICAL_ORDER if STEPS[n].default or n in extra]
    if not names:
        raise ConfigError("no steps given; choose from: " + ", ".join(STEPS))
    for name in names:
        if name in STEPS:
            check_step(STEPS[name])
            continue
        if name in BROKEN:
            raise ConfigError(f"step '{name}' is installed but cannot run: {BROKEN[name]}")
        match = difflib.get_close_matches(name, list(STEPS), n=1)
        hint = f"; did you mean '{match[0]}'?" if match else f"; choose from: {', '.join(STEPS)}"
        raise ConfigError(f"unknown step '{name}'" + hint)
    return pipeline_order(set(names))
