"""Shared by the benchmarks: run a command in a fresh process and measure its wall time and the peak
RSS of its process tree; write a result file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def save_results(name: str, report: dict) -> None:
    """Print ``report`` to stderr and write it to ``benchmarks/results/<name>.json``."""
    print(json.dumps(report, indent=1), file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")


def measure(cmd: list[str], *, cwd: str | None = None, env: dict | None = None,
            interval: float = 0.02) -> dict:
    """Wall seconds and peak summed RSS (bytes) of ``cmd`` and every process it starts."""
    import psutil
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(interval)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return {"wall_seconds": wall, "peak_rss_bytes": peak, "stdout": out.decode(), "stderr": err.decode()}
