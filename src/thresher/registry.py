"""Step names, their canonical order, and the implemented steps.

Names are stable: they are the values of ``--steps`` and the TOML section names. Steps always run in the
canonical order below, whatever order ``--steps`` lists them in: the order fixes what each step sees
(dedup before filters, replacements last so no later step cuts into a placeholder).
"""

from __future__ import annotations

import difflib

from .dedup.exact import ExactDedup
from .dedup.near_dup import NearDup
from .dedup.paragraphs import ParagraphDedup
from .dedup.substrings import SubstringDedup
from .errors import ConfigError
from .filters.boilerplate import Boilerplate
from .filters.language import LanguageId
from .filters.pii import PiiFilter
from .filters.quality import QualityFilter
from .steps import Step

#: Every step name thresher defines, in the order steps run.
CANONICAL_ORDER = ("exact", "near_dup", "paragraphs", "substrings", "boilerplate", "quality",
                   "language", "pii")

#: The steps this version implements.
STEPS: dict[str, type[Step]] = {cls.name: cls for cls in (ExactDedup, NearDup, ParagraphDedup, SubstringDedup,
                                                         Boilerplate, QualityFilter, LanguageId, PiiFilter)}


def step_configs() -> dict[str, type]:
    return {name: cls.Config for name, cls in STEPS.items()}


def resolve_steps(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate step names and put them in canonical order (all implemented steps when None)."""
    if names is None:
        return [n for n in CANONICAL_ORDER if n in STEPS]
    if not names:
        raise ConfigError("no steps given; choose from: " + ", ".join(STEPS))
    for name in names:
        if name in STEPS:
            continue
        if name in CANONICAL_ORDER:
            raise ConfigError(f"step '{name}' is not implemented in this version of thresher; "
                              f"available: {', '.join(STEPS)}")
        match = difflib.get_close_matches(name, list(CANONICAL_ORDER), n=1)
        hint = f"; did you mean '{match[0]}'?" if match else f"; choose from: {', '.join(STEPS)}"
        raise ConfigError(f"unknown step '{name}'" + hint)
    return [n for n in CANONICAL_ORDER if n in set(names)]
