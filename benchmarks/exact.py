"""Exact document dedup, end to end: thresher (1 and 2 workers) and datatrove's exact-dedup pipeline,
side by side in one run on the same machine. Run by hand; results go to benchmarks/results/.

    python -m venv .bench && .bench/bin/pip install -e . -r benchmarks/requirements.txt
    .bench/bin/python benchmarks/exact.py [--corpus ../shared/bench/webdocs/corpus.jsonl.zst] [--repeat 3]

Two corpora: the one given (webdocs by default) and, with ``--copies F`` (default 0.2), the same corpus
with a fraction F of its documents appended again as exact copies, so that both tools have something to
remove and their counts can be compared. Each run is a fresh process; wall time and the peak RSS of the whole process tree are measured from
outside (benchmarks/_measure.py). Reported: the median of ``--repeat`` runs, MB/s of decompressed input
and MB/s per worker. datatrove reads one file per task, so on a single input file it runs one task.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"

DATATROVE = r'''
import sys
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.dedup import ExactDedupSignature, ExactFindDedups, ExactDedupFilter
from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig

def text(doc) -> str:
    return doc.text

if __name__ == "__main__":
    corpus, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = ExactDedupConfig(content_getter=text)
    folder, name = corpus.rsplit("/", 1)
    read = lambda: JsonlReader(folder, glob_pattern=name, compression="zstd")
    common = dict(tasks=1, workers=workers, skip_completed=False)
    LocalPipelineExecutor([read(), ExactDedupSignature(f"{work}/sigs", config=cfg)],
                          logging_dir=f"{work}/logs1", **common).run()
    LocalPipelineExecutor([ExactFindDedups(f"{work}/sigs", f"{work}/dups", config=cfg)],
                          logging_dir=f"{work}/logs2", **common).run()
    LocalPipelineExecutor([read(), ExactDedupFilter(f"{work}/dups", config=cfg),
                           JsonlWriter(f"{work}/out", compression=None)],
                          logging_dir=f"{work}/logs3", **common).run()
'''


def corpus_bytes(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as r:
        while chunk := r.read(1 << 24):
            n += len(chunk)
    return n


def with_copies(corpus: Path, fraction: float, work: Path) -> Path:
    """``corpus`` plus a deterministic sample of its lines appended again (ids suffixed ``-copy``)."""
    import random

    import orjson

    lines = zstandard.ZstdDecompressor().stream_reader(open(corpus, "rb")).readall().splitlines()
    rng = random.Random(0)
    extra = []
    for line in rng.sample(lines, int(len(lines) * fraction)):
        rec = orjson.loads(line)
        rec["id"] = f"{rec['id']}-copy"
        extra.append(orjson.dumps(rec))
    out = work / f"{corpus.name.split('.')[0]}-copies{fraction}.jsonl.zst"
    out.write_bytes(zstandard.ZstdCompressor(level=3).compress(b"\n".join(lines + extra) + b"\n"))
    return out


def run_thresher(corpus: Path, workers: int, work: Path) -> dict:
    out = work / "out"
    m = measure([sys.executable, "-m", "thresher", "run", str(corpus), "-o", str(out), "-w", str(workers),
                 "-q", "--steps", "exact", "--overwrite"])
    stats = json.loads((out / "stats.json").read_text())
    m["removed"] = stats["total"]["docs_in"] - stats["total"]["docs_out"]
    shutil.rmtree(out)
    return m


def run_datatrove(corpus: Path, workers: int, work: Path) -> dict:
    script = work / "dt_exact.py"
    script.write_text(DATATROVE)
    shutil.rmtree(work / "dt", ignore_errors=True)
    m = measure([sys.executable, str(script), str(corpus), str(work / "dt"), str(workers)], cwd=str(work))
    out_lines = sum(1 for f in (work / "dt" / "out").glob("*.jsonl") for _ in open(f, "rb"))
    docs = sum(1 for _ in zstandard.ZstdDecompressor().stream_reader(open(corpus, "rb")).readall()
               .splitlines())
    m["removed"] = docs - out_lines
    shutil.rmtree(work / "dt")
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--copies", type=float, default=0.2, help="also run on corpus + this fraction of copies")
    ap.add_argument("--no-peers", action="store_true", help="measure thresher only")
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus {args.corpus} not found (it lives in the project's shared data)")
    tools = {"thresher": run_thresher}
    if not args.no_peers:
        tools["datatrove"] = run_datatrove
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpora = [args.corpus] + ([with_copies(args.corpus, args.copies, work)] if args.copies else [])
        for corpus in corpora:
            mb = corpus_bytes(corpus) / 1e6
            for w in (int(x) for x in args.workers.split(",")):
                for name, fn in tools.items():
                    runs = [fn(corpus, w, work) for _ in range(args.repeat)]
                    wall = statistics.median(r["wall_seconds"] for r in runs)
                    rows.append({"corpus": corpus.name, "mb": round(mb, 1), "tool": name, "workers": w,
                                 "wall_seconds": round(wall, 2),
                                 "runs": [round(r["wall_seconds"], 2) for r in runs],
                                 "mb_per_s": round(mb / wall, 1),
                                 "mb_per_s_per_worker": round(mb / wall / w, 1),
                                 "peak_rss_mb": round(max(r["peak_rss_bytes"] for r in runs) / 2**20),
                                 "removed": runs[0]["removed"]})
                    print(json.dumps(rows[-1]), flush=True)
    result = {"benchmark": "exact", "repeat": args.repeat,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()}, "rows": rows}
    out = ROOT / "benchmarks" / "results" / "exact.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n| corpus | tool | workers | wall s (median) | MB/s | MB/s per worker | peak RSS MB "
          "| docs removed | datatrove wall / thresher wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = {(r["corpus"], r["workers"]): r["wall_seconds"] for r in rows if r["tool"] == "datatrove"}
    for r in rows:
        ratio = base.get((r["corpus"], r["workers"]))
        ratio = f"{ratio / r['wall_seconds']:.2f}x" if ratio and r["tool"] == "thresher" else ""
        print(f"| {r['corpus']} ({r['mb']} MB) | {r['tool']} | {r['workers']} | {r['wall_seconds']} | "
              f"{r['mb_per_s']} | {r['mb_per_s_per_worker']} | {r['peak_rss_mb']} | {r['removed']} | {ratio} |")


if __name__ == "__main__":
    main()
