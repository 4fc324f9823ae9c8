"""Paragraph and substring dedup: speed and memory on webdocs, bytes removed on Debian copyright files.

    .bench/bin/python benchmarks/spans.py [--repeat 3]

Each run is a fresh ``thresher run`` process; wall time and the peak RSS of its process tree are measured
from outside (benchmarks/_measure.py). Reported per step: the step's own throughput (its summed task
seconds, from stats.json: map, reduce and apply) and the run's end-to-end MB/s. No peer is run here: the
substring tools of datatrove and text-dedup wrap google-research/deduplicate-text-datasets, a Rust
program built from its repository, which this machine cannot fetch.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEBDOCS = ROOT.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def run(inputs: list[str], out: Path, steps: str, workers: int) -> dict:
    m = measure([sys.executable, "-m", "thresher", "run", *inputs, "-o", str(out), "-w", str(workers),
                 "-q", "--overwrite", "--steps", steps])
    m["stats"] = json.loads((out / "stats.json").read_text())
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    rows, removed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for steps in ("paragraphs", "substrings"):
            for w in (int(x) for x in args.workers.split(",")):
                runs = [run([str(WEBDOCS)], work / "out", steps, w) for _ in range(args.repeat)]
                wall = statistics.median(r["wall_seconds"] for r in runs)
                s = runs[0]["stats"]
                mb = s["input"]["bytes"] / 1e6
                step = s["steps"][steps]
                rows.append({"steps": steps, "workers": w, "wall_seconds": round(wall, 2),
                             "mb_per_s": round(mb / wall, 1), "mb_per_s_per_worker": round(mb / wall / w, 1),
                             "step_mb_per_s": step["mb_per_s"],
                             "peak_rss_mb": round(max(r["peak_rss_bytes"] for r in runs) / 2**20),
                             "rss_bytes_per_input_byte": round(max(r["peak_rss_bytes"] for r in runs)
                                                               / s["input"]["bytes"], 1),
                             "chars_removed": sum(r["chars"] for r in step["removals"].values())})
                print(json.dumps(rows[-1]), flush=True)
        files = sorted(glob.glob("/usr/share/doc/*/copyright"))
        src = work / "copyright"
        src.mkdir()
        for f in files:
            shutil.copyfile(f, src / (f.split("/")[-2] + ".txt"))
        for steps in ("paragraphs", "substrings", "paragraphs,substrings"):
            s = run([str(src)], work / "out", steps, 2)["stats"]
            removed.append({"steps": steps, "files": len(files), "chars_in": s["total"]["chars_in"],
                            "chars_out": s["total"]["chars_out"],
                            "removed_by_step": {k: sum(r["chars"] for r in v["removals"].values())
                                                for k, v in s["steps"].items()}})
            print(json.dumps(removed[-1]), flush=True)
    out = ROOT / "benchmarks" / "results" / "spans.json"
    out.write_text(json.dumps({"benchmark": "spans", "repeat": args.repeat, "webdocs": rows,
                               "debian_copyright": removed}, indent=2) + "\n")


if __name__ == "__main__":
    main()
