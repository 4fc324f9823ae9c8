#!/usr/bin/env python3
"""Main-text extraction, scored as trafilatura's own evaluation scores it, and WARC records/s end to end.

1. ``../shared/bench/web/trafilatura-eval-html.tar.zst`` (1,033 pages; ``evaldata.json`` lists for 990
   of them snippets that must survive and snippets that must not): per extractor and option, the share
   of must-keep snippets kept (recall), of kept snippets that were must-keep (precision), F1, the share
   of must-remove snippets removed, and pages per CPU second on one core. thresher's extraction
   (``thresher.io.html.page_text``: charset, decoding, extraction) runs beside resiliparse and
   trafilatura called directly, on the same pages in the same process.
2. The WARC samples in ``../shared/bench/web/warc/`` (82 HTML responses) copied ``--copies`` times into
   one archive: ``thresher run ARCHIVE -o OUT --steps exact -w 1`` against datatrove's
   ``WarcReader`` + ``Trafilatura`` + ``JsonlWriter`` (one task), process wall, median of ``--repeats``.

Needs the peers of benchmarks/requirements.txt (trafilatura, datatrove with warcio, cchardet, magic).
Usage: python benchmarks/extract.py [--repeats 3] [--copies 10]; writes benchmarks/results/extract.json.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT.parent / "shared" / "bench" / "web"


def load_pages(folder: Path) -> list[tuple[str, bytes, dict]]:
    import zstandard
    with open(WEB / "trafilatura-eval-html.tar.zst", "rb") as fh, \
            zstandard.ZstdDecompressor().stream_reader(fh) as z, tarfile.open(fileobj=z, mode="r|") as tar:
        tar.extractall(folder, filter="data")
    evaldata = json.loads((folder / "evaldata.json").read_text())
    pages = []
    for url, v in evaldata.items():
        for sub in ("cache", "eval"):
            p = folder / "tests" / sub / v["file"]
            if p.exists():
                pages.append((url, p.read_bytes(), v))
                break
    return pages


def score(pages, texts) -> dict:
    tp = fn = fp = tn = 0
    for (_u, _b, v), t in zip(pages, texts):
        t = t or ""
        for s in v["with"]:
            tp, fn = (tp + 1, fn) if s in t else (tp, fn + 1)
        for s in v["without"]:
            fp, tn = (fp + 1, tn) if s in t else (fp, tn + 1)
    p, r = tp / (tp + fp), tp / (tp + fn)
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3),
            "removed": round(tn / (tn + fp), 3)}


def extractors():
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    import trafilatura

    from thresher.config import ExtractConfig
    from thresher.io.html import PageError, page_text

    def decoded(b: bytes) -> str:
        return bytes_to_str(b, detect_encoding(b, from_html_meta=True))

    def thresher_default(u, b):
        try:
            return page_text(b, ExtractConfig(time_budget=0), url=u).text
        except PageError:
            return ""

    fast_kw = {"fast": True} if "fast" in trafilatura.extract.__code__.co_varnames else {"no_fallback": True}
    return {
        "thresher (default: resiliparse)": thresher_default,
        "resiliparse main_content": lambda u, b: extract_plain_text(decoded(b), main_content=True),
        "trafilatura": lambda u, b: trafilatura.extract(decoded(b), url=u),
        "trafilatura favor_precision": lambda u, b: trafilatura.extract(decoded(b), url=u, favor_precision=True),
        "trafilatura fast": lambda u, b: trafilatura.extract(decoded(b), url=u, **fast_kw),
    }


def bench_extract(pages, skip: bool) -> list[dict]:
    if skip:
        return []
    rows = []
    for name, fn in extractors().items():
        t0 = time.process_time()
        texts = [fn(u, b) for u, b, _v in pages]
        cpu = time.process_time() - t0
        row = {"extractor": name, **score(pages, texts), "pages_per_cpu_s": round(len(pages) / cpu, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def archive(folder: Path, copies: int) -> tuple[Path, int]:
    """The sample archives' records, record-wise gzip, ``copies`` times with fresh record ids."""
    members, responses = [], 0
    for c in range(copies):
        for f in sorted((WEB / "warc").iterdir()):
            data = f.read_bytes()
            while data:
                d = zlib.decompressobj(31)
                rec = d.decompress(data)
                data = d.unused_data
                if b"WARC-Type: response" in rec[:400]:
                    responses += 1
                rec = rec.replace(b"WARC-Record-ID: <urn:uuid:", b"WARC-Record-ID: <urn:uuid:c%d-" % c, 1)
                members.append(gzip.compress(rec, compresslevel=6))
    (folder / "warc").mkdir()
    path = folder / "warc" / "sample.warc.gz"
    path.write_bytes(b"".join(members))
    return path, responses


DATATROVE = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.writers import JsonlWriter
LocalPipelineExecutor(pipeline=[WarcReader(sys.argv[1]), Trafilatura(), JsonlWriter(sys.argv[2])],
                      tasks=1, workers=1, logging_dir=sys.argv[3]).run()
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        sys.exit(f"{cmd[:4]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def bench_warc(folder: Path, copies: int, repeats: int) -> dict:
    path, responses = archive(folder, copies)
    walls: dict[str, list[float]] = {"thresher": [], "datatrove": []}
    for i in range(repeats):
        out = folder / f"t{i}"
        walls["thresher"].append(timed([sys.executable, "-m", "thresher", "run", str(path), "-o", str(out),
                                        "--steps", "exact", "-w", "1", "-q"]))
        walls["datatrove"].append(timed([sys.executable, "-c", DATATROVE, str(path.parent), str(folder / f"d{i}"),
                                         str(folder / f"l{i}")]))
    med = {k: statistics.median(v) for k, v in walls.items()}
    row = {"responses": responses, "archive_mb": round(path.stat().st_size / 1e6, 2),
           **{f"{k}_wall_s": round(v, 2) for k, v in med.items()},
           **{f"{k}_responses_per_s": round(responses / v, 1) for k, v in med.items()},
           "ratio": round(med["datatrove"] / med["thresher"], 2)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--warc-only", action="store_true", help="skip the extraction scores")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="thresher-extract-") as tmp:
        tmp = Path(tmp)
        pages = load_pages(tmp / "eval")
        print(f"{len(pages)} pages with snippets", flush=True)
        results = {"pages": len(pages), "extract": bench_extract(pages, args.warc_only),
                   "warc": bench_warc(tmp, args.copies, args.repeats), "args": vars(args)}
    dest = ROOT / "benchmarks" / "results" / "extract.json"
    dest.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
