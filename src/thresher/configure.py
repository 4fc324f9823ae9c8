"""``thresher.load_config``: a run's configuration from TOML, a mapping or a RunConfig, validated
against every step's options before any work starts."""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from typing import Any, Mapping

from . import registry
from .config import RunConfig, merge, parse_config, read_toml
from .registry import resolve_steps, step_configs


def load_config(config: str | os.PathLike[str] | Mapping[str, Any] | RunConfig | None = None,
                **overrides: Any) -> RunConfig:
    """Build a validated :class:`RunConfig` from a TOML path, a mapping or a RunConfig, plus overrides.

    Overrides use TOML shape: ``steps=["exact"]``, ``engine={"workers": 2}``, ``exact={...}``."""
    if isinstance(config, RunConfig):
        data = _as_mapping(config)
    elif isinstance(config, (str, os.PathLike)):
        data = read_toml(config)
    else:
        data = dict(config or {})
    data = merge(data, {k: v for k, v in overrides.items() if v is not None})
    cfg = parse_config(data, step_configs=step_configs())
    # a step off by default runs when its section sets an option (decontaminate: a benchmark)
    configured = [n for n, o in cfg.step_options.items() if o != registry.step_class(n).Config()]
    cfg = replace(cfg, steps=tuple(resolve_steps(cfg.steps, configured=configured)))
    # every step that runs has its options, given or default: a file that spells out the defaults
    # (`thresher config`) is the same config, with the same hash, as no file
    options = dict(cfg.step_options)
    for name in cfg.steps:
        options.setdefault(name, registry.step_class(name).Config())
    cfg = replace(cfg, step_options=options)
    for name in cfg.steps:          # steps check the relations between their options now, not mid-run
        registry.step_class(name)(cfg.step_options[name])
    return cfg


def _as_mapping(cfg: RunConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"input": asdict(cfg.input), "extract": asdict(cfg.extract),
                            "output": asdict(cfg.output),
                            "engine": asdict(cfg.engine), "report": asdict(cfg.report)}
    if cfg.steps is not None:
        data["steps"] = list(cfg.steps)
    for name, opts in cfg.step_options.items():
        data[name] = asdict(opts)
    return data
