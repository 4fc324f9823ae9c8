"""Typed configuration, validated before any work starts.

A run is configured by one TOML file (``--config``), CLI options and keyword arguments of
:func:`thresher.run`, in rising order of precedence. Every section is a frozen dataclass; the validator
reads the field types, so a new option is one annotated field with a default and a ``help`` text.

Errors name the key, the value and what is allowed, and suggest the closest valid key for a typo::

    unknown key 'exact.normalisation'; did you mean 'exact.normalization'?
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import orjson

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None,
           affects_output: bool = True) -> Any:
    """A config field with its help text and bounds (used by the validator and the docs)."""
    return field(default=default, metadata={"help": help, "min": min, "max": max,
                                            "affects_output": affects_output})


@dataclass(frozen=True, kw_only=True)
class InputConfig:
    """``[input]``: how documents are read."""

    text_field: str = option("text", "JSONL/Parquet/Arrow field holding the document text; a JSONL path "
                             "such as 'doc.body' names a nested field.")
    id_field: str = option("id", "JSONL/Parquet/Arrow field holding the document id (a JSONL path such as "
                           "'metadata.id' names a nested field); absent → '<file>:<line>'.")
    url_field: str = option(
        "url", "Field holding the page URL (a path such as 'metadata.url' names a nested field); learned "
        "boilerplate counts lines per host of it. With 'url', a record without one is read at Dolma's "
        "'metadata.url'.")
    max_doc_chars: int = option(100_000_000, "Documents longer than this go to quarantine.", min=1)
    max_line_bytes: int = option(
        256 << 20, "A JSONL line longer than this (bytes, decompressed) goes to quarantine as too_large "
        "without being held in memory.", min=1)
    keep_empty: bool = option(False, "Keep documents whose text is empty (default: quarantine them).")
    sample: float = option(
        1.0, "Share of the input's records to read (`--sample`): each record is in or out by a hash of "
        "its file and id with sample_seed, so the same records whatever the sharding; the others are "
        "counted in stats as input.skipped.sampled_out.", min=0.0, max=1.0)
    sample_seed: int = option(0, "Seed of --sample: another seed, another sample.")
    limit: int = option(
        0, "Read only the first N records (`--limit`): files in the order listed, records in file order, "
        "those --sample keeps; a record quarantined counts as read. 0 reads every record.", min=0)


@dataclass(frozen=True, kw_only=True)
class ExtractConfig:
    """``[extract]``: how HTML pages (``.html`` files, WARC responses) become text."""

    extractor: Literal["resiliparse", "trafilatura"] = option(
        "resiliparse", "Main-text extractor: 'resiliparse' (fast) or 'trafilatura' (precise, ~13x slower; "
        "pip install 'thresher[trafilatura]').")
    main_content: bool = option(True, "resiliparse: keep only the main content (drop navigation, "
                                "headers, footers, sidebars); false keeps all visible text.")
    trim: bool = option(True, "resiliparse: keep the text from a little before its first prose line to its "
                        "last one (drops the menus, bylines and footers main_content leaves around it).")
    favor_precision: bool = option(False, "trafilatura: prefer dropping doubtful text to keeping it.")
    comments: bool = option(False, "Keep comment sections as text.")
    tables: bool = option(True, "Keep the text of tables.")
    max_html_bytes: int = option(16 << 20, "A page larger than this (bytes) goes to quarantine as "
                                 "too_large without being parsed.", min=1)
    time_budget: float = option(
        10.0, "Seconds one page's extraction may take before it goes to quarantine as timeout (0: no "
        "budget). Checked between Python steps, so it stops trafilatura, not one long C call.", min=0)
    html_types: tuple[str, ...] = option(
        ("text/html", "application/xhtml+xml"), "WARC responses with these content types are pages; "
        "others are counted in stats as skipped.")


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    """``[output]``: what OUT/documents looks like."""

    format: Literal["parquet", "jsonl"] = option("parquet", "File format of OUT/documents.")
    compression: Literal["zstd", "snappy", "lz4", "gzip", "none"] = option(
        "zstd", "Parquet compression of OUT/documents (and removals, quarantine).")
    source_column: str = option("source", "Name of the column that holds each document's input file.")
    keep_work: bool = option(False, "Keep OUT/_work (intermediate shards) after a successful run.",
                             affects_output=False)


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """``[engine]``: how the work is split and run. Output does not depend on ``workers``."""

    workers: int = option(0, "Worker processes; 0 = all cores (with Ray: all CPUs of the cluster).", min=0,
                          affects_output=False)
    engine: Literal["local", "ray"] = option(
        "local", "Where tasks run: 'local' (a process pool) or 'ray' (Ray tasks; pip install "
        "'thresher[ray]'). Output is the same bytes either way.", affects_output=False)
    ray_address: str = option(
        "local", "With engine = 'ray': 'local' starts Ray on this machine; 'auto' or 'ray://host:port' "
        "joins a running cluster.", affects_output=False)
    shard_mb: float = option(16.0, "Input megabytes per shard (the unit of parallel work and resume).",
                             min=0.001)
    partitions: int = option(0, "Hash partitions of global steps; 0 = one per 48 M characters of input text, at least 4.",
                             min=0, max=65536)
    work_compression: Literal["none", "lz4", "zstd"] = option(
        "none", "Compression of intermediate shards in OUT/_work ('none' is fastest; 'lz4' halves the "
        "scratch disk for ~20% more time).")
    retain_memory: bool = option(
        True, "Keep memory freed by one shard for the next (glibc only; fewer page faults, 2-5% faster); "
        "each process keeps its peak memory until it exits.", affects_output=False)
    check_free_space: bool = option(
        True, "Before a new run, stop if OUT's disk has less free space than the run's estimate "
        "(4.6x the decompressed input; compressed input counted as 4x its size).", affects_output=False)


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    """``[report]``: OUT/report.html, written at the end of every run."""

    enabled: bool = option(True, "Write OUT/report.html at the end of the run.", affects_output=False)
    samples: int = option(200, "Documents (and near-dup clusters) sampled into the decision browser.",
                          min=0, affects_output=False)
    seed: int = option(0, "Seed of the sample (the same seed gives the same sample).", affects_output=False)
    max_chars: int = option(20_000, "Characters of each sampled text shown.", min=100, affects_output=False)


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything a run needs besides its inputs and output folder."""

    steps: tuple[str, ...] | None = None
    input: InputConfig = field(default_factory=InputConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    step_options: Mapping[str, Any] = field(default_factory=dict)

    def output_affecting(self) -> dict[str, Any]:
        """The part of the config that can change OUT's bytes (hashed into every manifest)."""
        def sect(obj: Any) -> dict[str, Any]:
            return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
                    if f.metadata.get("affects_output", True)}
        return {
            "steps": list(self.steps or ()),
            "input": sect(self.input), "extract": sect(self.extract), "output": sect(self.output), "engine": sect(self.engine),
            # the options of steps that do not run change nothing
            "step_options": {k: sect(v) for k, v in sorted(self.step_options.items())
                             if self.steps is None or k in self.steps},
        }

    def hash(self) -> str:
        """Stable hash of :meth:`output_affecting` (hex, 16 chars)."""
        blob = orjson.dumps(self.output_affecting(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def worker_count(self) -> int:
        return self.engine.workers or (os.cpu_count() or 1)


_SECTIONS = {"input": InputConfig, "extract": ExtractConfig, "output": OutputConfig, "engine": EngineConfig, "report": ReportConfig}


def _closest(word: str, options: list[str], prefix: str = "") -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    if match:
        return f"; did you mean '{prefix}{match[0]}'?"
    return f"; valid keys: {', '.join(prefix + o for o in sorted(options))}"


def _check_value(where: str, value: Any, tp: Any, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where} = {value!r} is not allowed; choose one of "
                              f"{', '.join(repr(a) for a in allowed)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r} must be true or false")
        return value
    if tp is int or tp is float:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if tp is float:
            ok = ok or isinstance(value, float)
        if not ok:
            raise ConfigError(f"{where} = {value!r} must be {'an integer' if tp is int else 'a number'}")
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and value < lo:
            raise ConfigError(f"{where} = {value!r} must be >= {lo}")
        if hi is not None and value > hi:
            raise ConfigError(f"{where} = {value!r} must be <= {hi}")
        return tp(value)
    if tp is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} = {value!r} must be a non-empty string")
        return value
    if origin is tuple and dataclasses.is_dataclass(item := typing.get_args(tp)[0]):
        # an array of tables ([[section.key]] in TOML): each one validated as its own section
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list of tables ([[{where}]] in TOML), not {value!r}")
        return tuple(v if isinstance(v, item) else build_section(item, v, f"{where}[{i}]")
                     for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} = {value!r} must be a list of strings")
        return tuple(value)
    raise TypeError(f"config field {where} has an unsupported type {tp!r}")  # a bug, not user input


def build_section(cls: type, data: Mapping[str, Any], section: str) -> Any:
    """Build and validate one config dataclass from a mapping; errors name ``section.key``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"[{section}] must be a table of keys, not {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown key '{section}.{key}'" + _closest(key, list(fields), f"{section}."))
        values[key] = _check_value(f"{section}.{key}", value, hints[key], fields[key].metadata)
    return cls(**values)


def parse_config(data: Mapping[str, Any], *, step_configs: Mapping[str, type]) -> RunConfig:
    """Validate a TOML-shaped mapping into a :class:`RunConfig`.

    ``step_configs`` maps each known step name to its config dataclass (from the step registry)."""
    known = ["steps", *_SECTIONS, *step_configs]
    sections: dict[str, Any] = {}
    step_opts: dict[str, Any] = {}
    steps = None
    for key, value in data.items():
        if key == "steps":
            steps = _check_value("steps", value, tuple[str, ...], {})
        elif key in _SECTIONS:
            sections[key] = build_section(_SECTIONS[key], value, key)
        elif key in step_configs:
            step_opts[key] = build_section(step_configs[key], value, key)
        else:
            raise ConfigError(f"unknown section [{key}]" + _closest(key, known))
    return RunConfig(steps=steps, step_options=step_opts, **sections)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML config file; a syntax error names the file and line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two TOML-shaped mappings, section by section (override wins)."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = dict(value) if isinstance(value, Mapping) else value
    return out


def toml_value(value: Any) -> str:
    """``value`` (a config field's: bool, number, string or list of them) written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):        # JSON's escapes (\\n, \\", \\uXXXX) are TOML's
        return orjson.dumps(value).decode()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):   # an inline table
        return "{" + ", ".join(f"{f.name} = {toml_value(getattr(value, f.name))}"
                               for f in dataclasses.fields(value)) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def format_toml(cfg: RunConfig, step_configs: Mapping[str, type]) -> str:
    """The whole of ``cfg`` as a TOML file that :func:`read_toml` reads back to the same config: every
    section and every option of each step in ``step_configs`` (in that order), each with its help."""
    lines = ["# thresher configuration: every option, at the values this config gives them",
             f"steps = {toml_value(list(cfg.steps or step_configs))}"]

    def section(name: str, obj: Any) -> None:
        lines.extend(["", f"[{name}]"])
        for f in dataclasses.fields(obj):
            help_text = f.metadata.get("help", "")
            if help_text:
                lines.append(f"# {help_text}")
            lines.append(f"{f.name} = {toml_value(getattr(obj, f.name))}")

    for name in _SECTIONS:
        section(name, getattr(cfg, name))
    for name, cls in step_configs.items():
        opts = cfg.step_options.get(name)
        section(name, opts if opts is not None else cls())
    return "\n".join(lines) + "\n"


def parse_assignment(text: str) -> dict[str, Any]:
    """``section.key=value`` (``--set``) as a TOML-shaped mapping. The value is read as TOML (``true``,
    ``3``, ``0.5``, ``["a", "b"]``, ``"text"``); a value that is not TOML is taken as a string, so
    ``--set input.text_field=content`` needs no quotes."""
    key, eq, raw = text.partition("=")
    parts = [p.strip() for p in key.split(".")]
    if not eq or not all(parts) or len(parts) > 2:
        raise ConfigError(f"--set {text!r}: write section.key=value (for example --set exact.lowercase=true "
                          f"or --set input.text_field=content)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return {parts[0]: value} if len(parts) == 1 else {parts[0]: {parts[1]: value}}
