"""First run on a fresh machine: `thresher --help`, and the README's example with an empty kernel cache.

    python benchmarks/first_run.py [--repeats 3] [--workers 2] [--src PATH]

For each repeat, the example (`thresher run examples/ -o OUT --overwrite`, progress as plain lines)
runs with NUMBA_CACHE_DIR pointed at a new empty folder, as on a fresh clone or container: the
seconds until its first line on stderr, until it ends, and its CPU seconds (all processes); then once
more on the now warm cache. `--src` runs another checkout's sources (PYTHONPATH), to compare
versions side by side. Prints a JSON line per measurement and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    first = None
    for _line in proc.stderr:
        if first is None:
            first = time.perf_counter() - t0
    proc.wait()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"first_line_s": round(first if first is not None else wall, 2), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--src", default=str(ROOT / "src"))
    args = ap.parse_args()
    base = dict(os.environ, PYTHONPATH=args.src)
    thresher = [sys.executable, "-m", "thresher"]

    helps = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(thresher + ["--help"], stdout=subprocess.DEVNULL, env=base, check=True)
        helps.append(time.perf_counter() - t0)
    print(json.dumps({"help_s": [round(h, 3) for h in helps]}))

    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(base, NUMBA_CACHE_DIR=str(Path(tmp, "numba")))
            cmd = thresher + ["run", "examples/", "-o", str(Path(tmp, "out")), "--overwrite",
                              "-w", str(args.workers)]
            cold.append(timed(cmd, env))
            warm.append(timed(cmd, env))
            print(json.dumps({"cold": cold[-1], "warm": warm[-1]}))
    med = {k: statistics.median(r[k] for r in cold) for k in cold[0]}
    print(json.dumps({"src": args.src, "workers": args.workers, "help_median_s": round(statistics.median(helps), 3),
                      "cold_median": med,
                      "warm_median_wall_s": statistics.median(r["wall_s"] for r in warm)}))


if __name__ == "__main__":
    main()
