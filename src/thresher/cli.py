"""``thresher``: a thin CLI over the library. Exit codes: 0 ok, 1 failed, 2 usage or config error."""

from __future__ import annotations

import errno
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from .errors import ConfigError, InputError, OutputError, ThresherError

# The library (numba, pyarrow, every step) is imported inside the commands that use it, so that
# ``thresher --help`` answers at once.

err_console = Console(stderr=True)


class RichProgress:
    """Draws one bar per phase: tasks done, documents/s, MB/s, ETA (where the total is known)."""

    def __init__(self, console: Console):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description:<16}"), BarColumn(),
            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False)
        self._task = None
        self._t0 = 0.0
        self._docs = self._bytes = self._tasks = 0
        self._total_tasks: int | None = None

    def __enter__(self):
        self._progress.start()
        return self

    def __exit__(self, *exc):
        self._progress.stop()

    def start_phase(self, name, *, total_tasks, total_bytes):
        self._t0 = time.perf_counter()
        self._docs = self._bytes = self._tasks = 0
        self._total_tasks = total_tasks
        self._by_bytes = total_tasks is None and total_bytes is not None
        total = total_bytes if self._by_bytes else total_tasks
        self._task = self._progress.add_task(name, total=total, detail="")

    def advance(self, *, tasks=1, docs=0, nbytes=0):
        self._tasks += tasks
        self._docs += docs
        self._bytes += nbytes
        dt = max(time.perf_counter() - self._t0, 1e-9)
        detail = f"{self._tasks} tasks  {self._docs / dt:,.0f} docs/s  {self._bytes / dt / 1e6:,.1f} MB/s"
        self._progress.update(self._task, advance=nbytes if self._by_bytes else tasks, detail=detail)

    def end_phase(self):
        t = self._progress.tasks[-1]
        if t.total is not None:
            self._progress.update(self._task, completed=t.total)
        else:
            self._progress.update(self._task, total=t.completed or 1, completed=t.completed or 1)


class PlainProgress:
    """Progress for logs (stderr not a terminal: batch jobs, Slurm, nohup): a plain line when a phase
    starts, every ``interval`` seconds while it runs, and when it ends, each written at once."""

    def __init__(self, stream=None, *, interval: float = 30.0, clock=time.monotonic):
        self._stream = stream if stream is not None else sys.stderr
        self._interval, self._clock = interval, clock
        self._name = ""
        self._t0 = self._last = 0.0
        self._docs = self._bytes = self._tasks = 0
        self._total_tasks: int | None = None
        self._total_bytes: int | None = None

    def _say(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self._stream, flush=True)

    def _rates(self) -> str:
        dt = max(self._clock() - self._t0, 1e-9)
        done = f"{self._tasks}/{self._total_tasks}" if self._total_tasks is not None else f"{self._tasks}"
        out = f"{done} tasks, {self._docs:,} docs, {self._docs / dt:,.0f} docs/s"
        if self._bytes:
            out += f", {self._bytes / dt / 1e6:,.1f} MB/s"
        share = (self._tasks / self._total_tasks if self._total_tasks else
                 self._bytes / self._total_bytes if self._total_bytes else None)
        if share:
            out += f", ETA {max(dt / share - dt, 0):,.0f} s"
        return out

    def start_phase(self, name, *, total_tasks, total_bytes):
        self._name, self._t0 = name, self._clock()
        self._last = self._t0
        self._docs = self._bytes = self._tasks = 0
        self._total_tasks, self._total_bytes = total_tasks, total_bytes
        what = f"{total_tasks} tasks" if total_tasks is not None else (
            f"{total_bytes / 1e6:,.1f} MB" if total_bytes else "input of unknown size")
        self._say(f"phase {name}: started ({what})")

    def advance(self, *, tasks=1, docs=0, nbytes=0):
        self._tasks += tasks
        self._docs += docs
        self._bytes += nbytes
        if self._clock() - self._last >= self._interval:
            self._last = self._clock()
            self._say(f"phase {self._name}: {self._rates()}")

    def end_phase(self):
        self._total_tasks = self._total_bytes = None
        self._say(f"phase {self._name}: done in {self._clock() - self._t0:,.1f} s, {self._rates()}")


def _summary(stats: dict[str, Any]):
    from rich.table import Table

    table = Table(title="thresher run", show_lines=False)
    for col in ("step", "docs in", "docs out", "chars in", "chars out", "removed by reason", "s"):
        table.add_column(col, justify="right" if col not in ("step", "removed by reason") else "left")
    inp = stats["input"]
    quarantined = ", ".join(f"{k} {v:,}" for k, v in sorted(inp.get("quarantined", {}).items()))
    table.add_row("read", f"{inp.get('docs', 0):,}", "", f"{inp.get('chars', 0):,}", "",
                  f"quarantined: {quarantined}" if quarantined else "-", f"{inp.get('seconds', 0):.1f}")
    for name, s in stats["steps"].items():
        reasons = ", ".join(f"{k} {v['rows']:,} ({v['chars']:,} chars)"
                            for k, v in sorted(s.get("removals", {}).items()))
        table.add_row(name, f"{s.get('docs_in', 0):,}", f"{s.get('docs_out', 0):,}",
                      f"{s.get('chars_in', 0):,}", f"{s.get('chars_out', 0):,}", reasons or "-",
                      f"{s.get('seconds', 0):.1f}")
    t = stats["total"]
    table.caption = (f"{t['docs_in']:,} documents in, {t['docs_out']:,} out, {t['quarantined']:,} "
                     f"quarantined · {t['wall_seconds']:.1f} s · {t['mb_per_s'] or 0:.1f} MB/s "
                     f"({t['workers']} workers, {t['shards']} shards)")
    return table


def _fail(exc: ThresherError) -> None:
    err_console.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    sys.exit(2 if isinstance(exc, (ConfigError, InputError, OutputError)) else 1)


#: What to do about an operating-system error while a run reads or writes, by errno.
_OS_FIX = {
    errno.ENOSPC: "free disk space (or choose another --output), then run the same command again: it resumes",
    errno.EDQUOT: "free space within your disk quota, then run the same command again: it resumes",
    errno.EROFS: "OUT is on a read-only filesystem: choose another --output",
    errno.EACCES: "thresher may not write there: fix the permissions or choose another --output",
    errno.EPERM: "thresher may not write there: fix the permissions or choose another --output",
}


def _fail_os(exc: OSError) -> None:
    """An OSError (disk full, read-only or unwritable OUT...) as one line naming the file and the fix,
    exit 1; never a traceback."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    fix = _OS_FIX.get(exc.errno, "check the path and the disk, then run the same command again: it resumes")
    err_console.print(Text.assemble(("error:", "bold red"), f" {exc.strerror or exc}{where}; {fix}"),
                      highlight=False, soft_wrap=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="thresher")
def main() -> None:
    """Turn raw scraped web text into a clean, deduplicated corpus, with a record for every removal."""


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", required=True, metavar="OUT",
              help="Output folder (documents/, removals/, quarantine/, stats.json, manifests): a local path "
                   "or an object-store URL (s3://bucket/out, gs://...).")
@click.option("--config", "-c", "config_path", metavar="TOML",
              help="Config file; one section per step plus [input], [output], [engine].")
@click.option("--steps", metavar="A,B", help="Steps to run, comma separated (always in pipeline order, "
              "which `thresher steps` lists). Default: every built-in step.")
@click.option("--workers", "-w", type=click.IntRange(min=0), help="Worker processes (0 = all cores).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), help="Format of OUT/documents.")
@click.option("--overwrite", is_flag=True, help="Replace a thresher run already in OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary.")
@click.option("--engine", type=click.Choice(["local", "ray"]),
              help="Run tasks in a local process pool (default) or as Ray tasks (needs thresher[ray]).")
@click.option("--ray-address", metavar="ADDR",
              help="With --engine ray: 'local' (default) starts Ray here; 'auto' or ray://host:port joins "
                   "a cluster.")
@click.option("--set", "assignments", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Set one config option over --config (repeatable), e.g. --set exact.lowercase=true, "
                   "--set input.text_field=content. `thresher config` lists every option.")
@click.option("--sample", type=click.FloatRange(0, 1, min_open=True), metavar="FRACTION",
              help="Read only this share of the input's records, the same ones on every run (to try a "
                   "config on a slice; --set input.sample_seed=N draws another).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Read only the first N records (files in the order listed, records in file order; "
                   "after --sample). Reading stops soon after them.")
def run(inputs, output, config_path, steps, workers, fmt, overwrite, quiet, engine, ray_address, assignments,
        sample, limit):
    """Clean and deduplicate INPUT... (files, folders, globs: text, JSON lines, Parquet, Arrow, CSV/TSV,
    WARC, HTML).

    A run killed at any moment resumes when started again with the same command."""
    if not quiet:       # at once: loading the library and listing the input take a second or more
        print(f"{time.strftime('%H:%M:%S')} thresher run: loading the steps, listing the input",
              file=sys.stderr, flush=True)
    from . import api
    from .io.readers import supported_suffixes

    step_list = [s.strip() for s in steps.split(",") if s.strip()] if steps is not None else None
    console = Console(stderr=True)
    if sample is not None:
        assignments = (*assignments, f"input.sample={sample!r}")
    if limit is not None:
        assignments = (*assignments, f"input.limit={limit}")
    try:
        config_path = _config_with(config_path, assignments)
    except ThresherError as exc:
        _fail(exc)
    try:
        if quiet:
            stats = api.run(inputs, output, config=config_path, steps=step_list, workers=workers,
                            format=fmt, overwrite=overwrite, engine=engine, ray_address=ray_address)
        elif not console.is_terminal:
            stats = api.run(inputs, output, config=config_path, steps=step_list, workers=workers,
                            format=fmt, overwrite=overwrite, engine=engine, ray_address=ray_address,
                            progress=PlainProgress())
        else:
            with RichProgress(console) as progress:
                stats = api.run(inputs, output, config=config_path, steps=step_list, workers=workers,
                                format=fmt, overwrite=overwrite, engine=engine, ray_address=ray_address,
                                progress=progress)
    except ThresherError as exc:
        _fail(exc)
    except OSError as exc:
        _fail_os(exc)
    except KeyboardInterrupt:
        err_console.print(Text(f"interrupted: run the same command again to resume ({output} keeps "
                               f"every finished task)"), highlight=False, soft_wrap=True)
        sys.exit(130)
    if stats.get("already_complete"):
        err_console.print(Text(f"{output} already holds this run, complete (same inputs and config): "
                               f"nothing to do; --overwrite runs it again"), highlight=False, soft_wrap=True)
        return
    nr = stats.get("input", {}).get("not_read") or {}
    if nr.get("files"):
        kinds = ", ".join(f"{n} {k}" for k, n in nr["by_suffix"].items())
        err_console.print(Text(f"note: {nr['files']} files in the input folders are not read ({kinds}), "
                               f"e.g. {nr['first'][0]}; thresher reads "
                               f"{', '.join(supported_suffixes())} (stats.json: input.not_read)"),
                          highlight=False, soft_wrap=True)
    if not quiet:
        Console().print(_summary(stats))


@main.command()
@click.argument("output", metavar="OUT")
@click.option("--samples", type=click.IntRange(min=0), default=200, show_default=True,
              help="Documents and clusters sampled into the decision browser.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
def report(output, samples, seed):
    """Write OUT/report.html for a finished run (original texts are re-read from the inputs)."""
    from .report import write_report

    try:
        path = write_report(output, samples=samples, seed=seed)
    except ThresherError as exc:
        _fail(exc)
    click.echo(str(path))


@main.command()
@click.argument("output", metavar="OUT")
def verify(output):
    """Check OUT against its inputs: removals applied to each original give the kept text."""
    from .verify import verify_output

    try:
        report = verify_output(output)
    except ThresherError as exc:
        _fail(exc)
    for e in report["errors"]:
        err_console.print(Text.assemble(("✗", "red"), " ", str(e)), highlight=False, soft_wrap=True)
    keys = ("documents", "kept", "dropped", "removals", "quarantined")
    click.echo(" ".join(f"{k}={report.get(k, 0)}" for k in keys))
    if report["errors"]:
        sys.exit(1)
    click.echo("ok: the invariant holds and the stats add up")


def _config_with(config_path, assignments):
    """``--config`` plus ``--set`` as one TOML-shaped mapping (or the path alone, or None)."""
    if not assignments:
        return config_path
    from .config import merge, parse_assignment, read_toml

    data = read_toml(config_path) if config_path else {}
    for text in assignments:
        data = merge(data, parse_assignment(text))
    return data


@main.command("config")
@click.option("--config", "-c", "config_path", metavar="TOML", help="Start from this config file.")
@click.option("--steps", metavar="A,B", help="Steps to configure (default: every step).")
@click.option("--set", "assignments", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Set one option (repeatable), as `thresher run --set`.")
def config_cmd(config_path, steps, assignments):
    """Print a complete config file: every section and option, at its default or at the value the
    given --config and --set give it. Save it, edit it, pass it to `thresher run --config`."""
    from . import registry
    from .config import format_toml
    from .configure import load_config

    try:
        cfg = load_config(_config_with(config_path, assignments),
                          steps=[s.strip() for s in steps.split(",") if s.strip()] if steps else None)
    except ThresherError as exc:
        _fail(exc)
    registry.load_plugins()
    configs = {name: registry.STEPS[name].Config for name in registry.pipeline_order(registry.STEPS)}
    click.echo(format_toml(cfg, configs), nl=False)


@main.command()
def steps():
    """List the steps, their order and their options."""
    import dataclasses

    from . import registry
    from .config import toml_value
    from .registry import CANONICAL_ORDER

    registry.load_plugins()
    for name in registry.pipeline_order(registry.STEPS):
        cls = registry.STEPS[name]
        where = "" if name in CANONICAL_ORDER else f", from {cls.__module__}"
        off = "" if cls.default else ", off unless its section sets an option"
        click.echo(f"{name}  (stage {cls.stage}, version {cls.version}{where}{off})")
        for f in dataclasses.fields(cls.Config):
            click.echo(f"    {f.name} = {toml_value(f.default)}   {f.metadata.get('help', '')}")
        if getattr(cls, "rules", None):
            click.echo(f"    rules (reason codes, in the order checked): {', '.join(cls.rules)}")
