#!/usr/bin/env python3
"""Cleaning filters: thresher's boilerplate + quality + language + pii vs datatrove's equivalents.

Both tools see the same documents of ``../shared/bench/webdocs`` in one process:

- thresher, in-process: each step as the engine calls it (``process_batch`` per 16 MB shard where
  the step is batched, ``process`` per document otherwise), then the four chained as the engine
  chains them (each step sees the previous one's output);
- thresher end to end: ``thresher run --steps boilerplate,quality,language,pii`` with 1 and 2 workers
  (reading, sharding, writing included), median of ``--repeat`` runs; then the same on the documents
  written twice into one input, so that ``marginal_mb_per_s_per_worker`` (the second copy's megabytes
  over the seconds it added) is the rate once the fixed costs (start-up, worker processes, the last
  shard's tail) are paid. The copies are whole documents, so every step does the same work on them,
  except that corpus-learned boilerplate counts each line twice as often (``docs_out`` doubles exactly
  on webdocs);
- datatrove 0.10.1: ``C4QualityFilter`` (line rules; the closest to ``boilerplate``),
  ``GopherQualityFilter`` + ``GopherRepetitionFilter`` + ``FineWebQualityFilter`` (= ``quality``) and
  ``PIIFormatter`` (e-mail and IP, = ``pii``), each over fresh copies of the documents. datatrove's
  ``LanguageFilter`` needs a fastText model from the Hugging Face hub, which this machine cannot reach,
  so language ID is compared separately (benchmarks/language.py).

Usage: python benchmarks/filters.py [--docs N] [--repeat 3] [--no-datatrove]
Writes benchmarks/results/filters.json.
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

from _measure import save_results  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def load(n: int | None) -> list[dict]:
    docs = []
    with open(CORPUS, "rb") as fh:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(fh), encoding="utf-8"):
            docs.append(json.loads(line))
            if n and len(docs) >= n:
                break
    return docs


def shards(docs: list[dict], mb: float = 16.0) -> list[list[dict]]:
    """The documents cut into batches of about ``mb`` MB, as the engine cuts its shards."""
    out, cur, size = [], [], 0
    for d in docs:
        cur.append(d)
        size += len(d["text"].encode())
        if size >= mb * 1e6:
            out.append(cur)
            cur, size = [], 0
    return out + ([cur] if cur else [])


def thresher_in_process(docs: list[dict]) -> dict:
    """Each step as the engine calls it: ``process_batch`` once per 16 MB shard for the batched steps
    (boilerplate, quality, pii), ``process`` per document for language; then the four chained."""
    import pyarrow as pa
    from thresher.documents import Document, apply_removals
    from thresher.steps.boilerplate import Boilerplate, BoilerplateConfig
    from thresher.steps.language import LanguageId
    from thresher.steps.pii import PiiFilter
    from thresher.steps.quality import QualityFilter

    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    steps = [Boilerplate(BoilerplateConfig(repeated_min_docs=0)), QualityFilter(), LanguageId(), PiiFilter()]
    for s in steps:                         # compile and load models outside the timing
        s.process(Document("w", "Warm-up text. " * 40, "s"))
    batches = [pa.array([d["text"] for d in b], pa.large_string()) for b in shards(docs)]

    def run(step, texts: pa.Array) -> list:
        """The step's verdict for each text: None, a Drop, or a list of cuts."""
        if step.batched:
            v = step.process_batch(texts)
            return [v.verdict(i) for i in range(len(texts))] if len(v) else [None] * len(texts)
        return [step.process(Document("d", t, "s")) for t in texts.to_pylist()]

    out = {}
    for s in steps:
        t0 = time.perf_counter()
        changed = sum(v is not None for b in batches for v in run(s, b))
        secs = time.perf_counter() - t0
        out[s.name] = {"seconds": round(secs, 3), "mb_per_s": round(mb / secs, 1), "changed_docs": changed,
                       "batched": s.batched}
    t0 = time.perf_counter()
    kept = 0
    for b in batches:
        texts = b.to_pylist()
        for s in steps:
            live = [t for t in texts if t is not None]
            verdicts = iter(run(s, pa.array(live, pa.large_string())))
            new = []
            for t in texts:
                v = None if t is None else next(verdicts)
                if t is None or v is None:
                    new.append(t)
                elif hasattr(v, "reason") and not isinstance(v, list):
                    new.append(None)
                else:
                    new.append(apply_removals(t, [(c.start, c.end, c.replacement) for c in v]))
            texts = new
        kept += sum(t is not None for t in texts)
    secs = time.perf_counter() - t0
    out["chained"] = {"seconds": round(secs, 3), "mb_per_s": round(mb / secs, 1), "kept_docs": kept}
    return out


def datatrove_in_process(docs: list[dict]) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)
    from datatrove.pipeline.formatters import PIIFormatter

    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    groups = {
        "boilerplate (C4QualityFilter)": [C4QualityFilter()],
        "quality (Gopher quality + repetition, FineWeb)": [GopherQualityFilter(), GopherRepetitionFilter(),
                                                            FineWebQualityFilter()],
        "pii (PIIFormatter)": [PIIFormatter()],
    }
    out = {}
    for name, filters in groups.items():
        fresh = [Document(text=d["text"], id=d["id"]) for d in docs]
        t0 = time.perf_counter()
        changed = 0
        for doc in fresh:
            for f in filters:
                if hasattr(f, "filter"):
                    r = f.filter(doc)
                    ok = r if isinstance(r, bool) else r[0]
                    if not ok:
                        changed += 1
                        break
                else:
                    before = doc.text
                    doc.text = f.format(doc.text)
                    changed += doc.text != before
        secs = time.perf_counter() - t0
        out[name] = {"seconds": round(secs, 3), "mb_per_s": round(mb / secs, 1), "changed_docs": changed}
    return out


def thresher_end_to_end(docs: list[dict], workers: int, repeat: int, *, copies: int = 1) -> dict:
    tmp = Path(tempfile.mkdtemp())
    src = tmp / "in.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for _ in range(copies):
            for d in docs:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    mb = src.stat().st_size / 1e6
    walls = []
    for _ in range(repeat):
        out = tmp / "out"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "thresher", "run", str(src), "--output", str(out), "--overwrite",
                        "--quiet", "--workers", str(workers), "--steps", "boilerplate,quality,language,pii"],
                       check=True)
        walls.append(time.perf_counter() - t0)
        stats = json.loads((out / "stats.json").read_text())
    shutil.rmtree(tmp)
    wall = statistics.median(walls)
    return {"workers": workers, "copies": copies, "mb": round(mb, 1), "wall_seconds": round(wall, 2),
            "mb_per_s": round(mb / wall, 1),
            "mb_per_s_per_worker": round(mb / wall / workers, 1),
            "docs_out": stats["total"]["docs_out"], "walls": [round(w, 2) for w in walls],
            "steps_mb_per_s": {k: v.get("mb_per_s") for k, v in stats["steps"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=None, help="first N documents (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-datatrove", action="store_true")
    args = ap.parse_args()
    docs = load(args.docs)
    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    print(f"{len(docs)} documents, {mb:.1f} MB", file=sys.stderr)
    report = {"corpus": str(CORPUS.name), "docs": len(docs), "mb": round(mb, 1)}
    report["thresher_in_process"] = thresher_in_process(docs)
    print(json.dumps(report["thresher_in_process"], indent=1), file=sys.stderr)
    if not args.no_datatrove:
        report["datatrove_in_process"] = datatrove_in_process(docs)
        print(json.dumps(report["datatrove_in_process"], indent=1), file=sys.stderr)
    report["thresher_end_to_end"] = []
    for w in (1, 2):
        once = thresher_end_to_end(docs, w, args.repeat)
        twice = thresher_end_to_end(docs, w, args.repeat, copies=2)
        added = twice["wall_seconds"] - once["wall_seconds"]
        marginal = (twice["mb"] - once["mb"]) / added if added > 0 else None
        twice["marginal_mb_per_s"] = round(marginal, 1) if marginal else None
        twice["marginal_mb_per_s_per_worker"] = round(marginal / w, 1) if marginal else None
        report["thresher_end_to_end"] += [once, twice]
        print(json.dumps(report["thresher_end_to_end"][-2:], indent=1), file=sys.stderr)
    save_results("filters", report)


if __name__ == "__main__":
    main()
