#!/usr/bin/env python3
"""Scale: the default pipeline on 1x, 2x, 4x and 8x webdocs, one and two workers (and Ray).

The k-x corpus is webdocs followed by k-1 disguised copies of it. Copy ``i`` maps every word of four or
more letters through its own random permutation of webdocs' vocabulary, within words of the same
length and case pattern (lower, Title, UPPER, other), so each copy keeps the original's lengths, lines,
short words and its injected near-duplicate clusters, while two copies share almost no 5-gram and no
50-word window: the work per copy is the same and nothing is removed across copies. Copies are built
once into ``--cache`` (deterministic: seed = copy number).

For each run, a fresh ``thresher run`` process: process wall; user and system CPU seconds of the
process tree (``os.wait4`` of the driver, which reaps its workers); the peak RSS of the largest single
process and of all processes together (sampled every 20 ms); every step's summed task seconds from
``stats.json``, per MB of input. Runs of one corpus are compared byte for byte (documents, removals).

Usage: python benchmarks/scale.py [--sizes 1,2,4,8] [--workers 1,2] [--ray-sizes 8] [--cache DIR]
Writes benchmarks/results/scale.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import zstandard

from _measure import save_results

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"
WORD = re.compile(r"[^\W\d_]{4,}")


def _records(path: Path):
    with open(path, "rb") as f:
        yield from io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")


def _shape(word: str) -> str:
    return "l" if word.islower() else "t" if word.istitle() else "u" if word.isupper() else "o"


def build_copies(n: int, cache: Path) -> list[Path]:
    """webdocs and copies 1..n-1 (built into ``cache`` once)."""
    files = [CORPUS]
    missing = [i for i in range(1, n) if not (cache / f"copy-{i}.jsonl.zst").exists()]
    if missing:
        vocab = sorted({w for line in _records(CORPUS) for w in WORD.findall(json.loads(line)["text"])})
        classes = defaultdict(list)
        for w in vocab:
            classes[(len(w), _shape(w))].append(w)
        cache.mkdir(parents=True, exist_ok=True)
        for i in missing:
            rng = random.Random(i)
            table = {}
            for words in classes.values():
                shuffled = words[:]
                rng.shuffle(shuffled)
                table.update(zip(words, shuffled))
            target = cache / f"copy-{i}.jsonl.zst"
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
                for line in _records(CORPUS):
                    rec = json.loads(line)
                    rec["id"] = f"{rec['id']}-c{i}"
                    rec["text"] = WORD.sub(lambda m: table[m.group()], rec["text"])
                    out.write((json.dumps(rec, ensure_ascii=False) + "\n").encode())
            tmp.rename(target)
            print(f"built {target}", file=sys.stderr)
    return files + [cache / f"copy-{i}.jsonl.zst" for i in range(1, n)]


def _sample(pid: int, peaks: dict, stop: threading.Event) -> None:
    import psutil
    root = psutil.Process(pid)
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        total = 0
        for p in tree:
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            peaks["process"] = max(peaks["process"], rss)
        peaks["total"] = max(peaks["total"], total)
        time.sleep(0.02)


def run(files: list[Path], out: Path, *, workers: int, engine: str) -> dict:
    cmd = [sys.executable, "-m", "thresher", "run", *map(str, files), "-o", str(out), "-w", str(workers),
           "--quiet"]
    if engine == "ray":
        cmd += ["--engine", "ray", "--ray-address", "local"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks, stop = {"process": 0, "total": 0}, threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, peaks, stop), daemon=True)
    sampler.start()
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"thresher run failed:\n{err[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())
    mb = stats["total"]["chars_in"] / 1e6
    steps = {name: round(s.get("seconds", 0.0), 3) for name, s in stats["steps"].items()}
    digest = hashlib.sha256()
    for d in ("documents", "removals"):
        for p in sorted((out / d).rglob("*")):
            if p.is_file():
                digest.update(p.read_bytes())
    return {"workers": workers, "engine": engine, "wall_seconds": round(wall, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_process_mb": round(peaks["process"] / 1e6), "peak_rss_total_mb": round(peaks["total"] / 1e6),
            "mchars_in": round(mb, 1), "docs_out": stats["total"]["docs_out"],
            "mb_per_s": round(mb / wall, 2), "step_seconds": steps,
            "step_seconds_per_mb": {k: round(v / mb, 4) for k, v in steps.items()},
            "phases": {k: v["wall_seconds"] for k, v in stats["phases"].items()},
            "output_sha256": digest.hexdigest()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,2,4,8")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--ray-sizes", default="", help="sizes also run on Ray (2 workers), e.g. 8")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "thresher-scale")
    ap.add_argument("--work", type=Path, default=None, help="where OUT folders go (default: a temp dir)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    ray_sizes = {int(x) for x in a.ray_sizes.split(",") if x}
    workers = [int(x) for x in a.workers.split(",")]
    files = build_copies(max(sizes), a.cache)
    report: dict = {"corpus": str(CORPUS.relative_to(HERE.parent.parent)), "cpus": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory(dir=a.work) as tmp:
        # a first small run compiles and caches the kernels, so no measured run pays for it
        run(files[:1], Path(tmp) / "warm", workers=1, engine="local")
        shutil.rmtree(Path(tmp) / "warm")
        for k in sizes:
            configs = [(w, "local") for w in workers] + ([(2, "ray")] if k in ray_sizes else [])
            for w, engine in configs:
                out = Path(tmp) / f"x{k}-{engine}-w{w}"
                r = {"size": k, **run(files[:k], out, workers=w, engine=engine)}
                shutil.rmtree(out)
                report["runs"].append(r)
                print(json.dumps({x: r[x] for x in ("size", "workers", "engine", "wall_seconds", "cpu_seconds",
                                                    "peak_rss_process_mb", "mb_per_s")}), file=sys.stderr)
    for k in sizes:
        same = {r["output_sha256"] for r in report["runs"] if r["size"] == k}
        report.setdefault("identical_output", {})[str(k)] = len(same) == 1
    save_results("scale", report)
    print(markdown(report))


def markdown(report: dict) -> str:
    rows = ["| corpus | workers | engine | wall s | MB/s | CPU s | peak RSS, largest process | all processes |",
            "|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        rows.append(f"| {r['size']}x ({r['mchars_in']:.0f} M chars) | {r['workers']} | {r['engine']} | "
                    f"{r['wall_seconds']:.1f} | {r['mb_per_s']:.1f} | {r['cpu_seconds']:.1f} | "
                    f"{r['peak_rss_process_mb']:,} MB | {r['peak_rss_total_mb']:,} MB |")
    base = {r["workers"]: r for r in report["runs"] if r["size"] == 1 and r["engine"] == "local"}
    steps = sorted(next(iter(base.values()))["step_seconds_per_mb"]) if base else []
    rows += ["", "Step seconds per MB at k-x over the same at 1x (one worker):", "",
             "| step | " + " | ".join(f"{r['size']}x" for r in report["runs"]
                                     if r["workers"] == 1 and r["engine"] == "local") + " |",
             "|---|" + "---|" * sum(1 for r in report["runs"] if r["workers"] == 1 and r["engine"] == "local")]
    for s in steps:
        cells = [r["step_seconds_per_mb"].get(s, 0) / max(base[1]["step_seconds_per_mb"][s], 1e-9)
                 for r in report["runs"] if r["workers"] == 1 and r["engine"] == "local"] if 1 in base else []
        rows.append(f"| {s} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
