#!/usr/bin/env python3
"""``[engine] retain_memory`` on and off, end to end: the four filters on ``../shared/bench/webdocs``
(report off), each run a fresh process, the two settings alternating so drift hits both alike.

For each run: ``total.wall_seconds`` of OUT/stats.json, and the system CPU seconds, user CPU seconds
and minor page faults of the process tree (``os.wait4``'s rusage of the ``thresher run`` process; with
``--workers 2`` its worker processes are its children and are included once they are reaped). The
outputs of the two settings are compared byte for byte.

Usage: python benchmarks/memory.py [--repeat 3] [--workers 1] [--steps boilerplate,quality,language,pii]
Writes benchmarks/results/memory.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import save_results

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def run(out: Path, *, retain: bool, workers: int, steps: str) -> dict:
    cfg = out.with_suffix(".toml")
    cfg.write_text(f"[engine]\nretain_memory = {str(retain).lower()}\n[report]\nenabled = false\n")
    proc = subprocess.Popen([sys.executable, "-m", "thresher", "run", str(CORPUS), "-o", str(out),
                             "--steps", steps, "-w", str(workers), "-c", str(cfg), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"thresher run failed:\n{err[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())
    return {"wall_seconds": stats["total"]["wall_seconds"], "user_seconds": round(usage.ru_utime, 2),
            "system_seconds": round(usage.ru_stime, 2), "minor_faults": usage.ru_minflt}


def output_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes()
            for d in ("documents", "removals") for p in sorted((out / d).rglob("*")) if p.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--steps", default="boilerplate,quality,language,pii")
    a = ap.parse_args()
    runs: dict[str, list[dict]] = {"retain": [], "default": []}
    outputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat + 1):           # the first round compiles and caches the kernels
            for name, retain in (("retain", True), ("default", False)):
                out = Path(tmp) / f"{name}{i}"
                r = run(out, retain=retain, workers=a.workers, steps=a.steps)
                if i:
                    runs[name].append(r)
                outputs[name] = output_bytes(out)
                shutil.rmtree(out)
    report: dict = {"corpus": str(CORPUS.relative_to(HERE.parent.parent)), "steps": a.steps,
                    "workers": a.workers, "identical_output": outputs["retain"] == outputs["default"]}
    for name, rs in runs.items():
        report[name] = {"runs": rs, "median": {k: statistics.median(r[k] for r in rs) for k in rs[0]}}
    save_results("memory", report)


if __name__ == "__main__":
    main()
