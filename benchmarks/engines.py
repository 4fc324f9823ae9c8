#!/usr/bin/env python3
"""Local engine vs Ray engine: wall time of the same pipeline on the same corpus, 1 and 2 workers.

Runs ``thresher run`` in fresh processes (median of ``--repeat``) on ``../shared/bench/webdocs`` with
``--engine local`` and ``--engine ray`` (a local Ray runtime started by the run), checks that the two
engines write identical bytes, and reports the Ray / local ratio.

Usage: python benchmarks/engines.py [--steps exact,near_dup,paragraphs] [--repeat 3]
Writes benchmarks/results/engines.json.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import save_results  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for sub in ("documents", "removals"):
        for f in sorted((out / sub).glob("*")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default=None, help="comma-separated steps (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    mb = 177.9
    rows, digests = [], {}
    for workers in (1, 2):
        for engine in ("local", "ray"):
            walls = []
            for _ in range(args.repeat):
                out = tmp / f"{engine}{workers}"
                cmd = [sys.executable, "-m", "thresher", "run", str(CORPUS), "-o", str(out), "--overwrite",
                       "-q", "-w", str(workers), "--engine", engine]
                if args.steps:
                    cmd += ["--steps", args.steps]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True)
                walls.append(time.perf_counter() - t0)
            digests[(engine, workers)] = digest(out)
            wall = statistics.median(walls)
            rows.append({"engine": engine, "workers": workers, "wall_seconds": round(wall, 2),
                         "mb_per_s": round(mb / wall, 1), "walls": [round(w, 2) for w in walls]})
            print(rows[-1], file=sys.stderr)
            shutil.rmtree(out)
    same = len(set(digests.values())) == 1
    ratio = {w: round(next(r["wall_seconds"] for r in rows if r["engine"] == "ray" and r["workers"] == w)
                      / next(r["wall_seconds"] for r in rows if r["engine"] == "local" and r["workers"] == w), 2)
             for w in (1, 2)}
    report = {"corpus": CORPUS.name, "steps": args.steps or "all", "repeat": args.repeat, "rows": rows,
              "ray_over_local": ratio, "identical_output": same}
    save_results("engines", report)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
