#!/usr/bin/env python3
"""Random kill -9 trials over the whole default pipeline: every resumed run must write the bytes of an
undisturbed one, and pass ``thresher verify``.

For each setting (1 and 2 workers, Parquet and JSONL output) a reference run is timed; each trial then
starts the same command, kills its whole process group with SIGKILL at a random moment within the
reference's wall time, and runs the command again, up to ``--kills`` times per trial, before letting it
finish. The output files (documents, removals, quarantine) are compared byte for byte with the
reference, and ``thresher verify`` is run. The phase each kill landed in (the newest marker folder) is
counted, so the report shows which phases the trials covered.

Corpus: the bundled examples, the two seeds and the first ``--mb`` MB of webdocs (whole lines) when
``../shared`` is present; the examples alone otherwise. Every 97th webdocs line takes the id of a line a
third of the way before it, and shards are ``--shard-mb`` MB, so the cross-shard id check (the phase
``ids`` and the ingest it makes run again) is killed too.

Usage: python benchmarks/faults.py [--trials 20] [--kills 2] [--mb 4] [--seed 0]
Prints trials, identical, failed; writes benchmarks/results/faults.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def corpus(folder: Path, mb: float) -> list[str]:
    inputs = [str(ROOT / "examples")]
    webdocs = SHARED / "bench" / "webdocs" / "corpus.jsonl.zst"
    if (SHARED / "seeds").exists():
        inputs.append(str(SHARED / "seeds"))
    if webdocs.exists() and mb > 0:
        import zstandard
        with open(webdocs, "rb") as fh:
            data = zstandard.ZstdDecompressor().stream_reader(fh).read(int(mb * 1e6))
        lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)
        for i in range(97, len(lines), 97):        # ids repeated across shards: quarantined duplicate_id
            rec = json.loads(lines[i])
            rec["id"] = json.loads(lines[i // 3])["id"]
            lines[i] = json.dumps(rec).encode() + b"\n"
        path = folder / "webdocs_head.jsonl"
        path.write_bytes(b"".join(lines))
        inputs.append(str(path))
    return inputs


def command(inputs: list[str], out: Path, workers: int, fmt: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "thresher", "run", *inputs, "-o", str(out), "-w", str(workers),
            "--format", fmt, "--config", str(config), "-q"]


def output_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for d in ("documents", "removals", "quarantine")
            if (out / d).exists() for p in sorted((out / d).iterdir())}


def newest_phase(out: Path) -> str:
    done = out / "_work" / "done"
    if not done.exists():
        return "before ingest"
    folders = [p for p in done.iterdir() if p.is_dir()]
    return max(folders, key=lambda p: p.stat().st_mtime).name if folders else "before ingest"


def trial(cmd: list[str], out: Path, wall: float, kills: int, rng: random.Random) -> tuple[list[str], int]:
    """Kill the run up to ``kills`` times, then let it finish; (phases killed in, final exit code)."""
    phases = []
    for _ in range(kills):
        proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.05, wall)
        try:
            proc.wait(timeout=delay)
            break                                   # it finished before the kill
        except subprocess.TimeoutExpired:
            phases.append(newest_phase(out))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return phases, final.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20, help="trials per setting")
    ap.add_argument("--kills", type=int, default=2, help="kills per trial before it may finish")
    ap.add_argument("--mb", type=float, default=4.0, help="MB of webdocs in the corpus")
    ap.add_argument("--shard-mb", type=float, default=1.0, help="[engine] shard_mb of the runs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    results = {"trials": 0, "identical": 0, "failed": 0, "kills": 0, "phases": Counter(), "settings": []}
    with tempfile.TemporaryDirectory(prefix="thresher-faults-") as tmp:
        tmp = Path(tmp)
        inputs = corpus(tmp, args.mb)
        config = tmp / "faults.toml"
        config.write_text(f"[engine]\nshard_mb = {args.shard_mb}\n")
        for workers in (1, 2):
            for fmt in ("parquet", "jsonl"):
                ref = tmp / f"ref-{workers}-{fmt}"
                t0 = time.perf_counter()
                subprocess.run(command(inputs, ref, workers, fmt, config), cwd=ROOT, check=True,
                               stderr=subprocess.DEVNULL)
                wall = time.perf_counter() - t0
                want = output_bytes(ref)
                setting = {"workers": workers, "format": fmt, "reference_wall_s": round(wall, 2),
                           "trials": 0, "identical": 0, "failed": []}
                for i in range(args.trials):
                    out = tmp / f"t-{workers}-{fmt}-{i}"
                    cmd = command(inputs, out, workers, fmt, config)
                    phases, code = trial(cmd, out, wall, args.kills, rng)
                    results["kills"] += len(phases)
                    results["phases"].update(phases)
                    verify = subprocess.run([sys.executable, "-m", "thresher", "verify", str(out)], cwd=ROOT,
                                            capture_output=True, text=True)
                    ok = code == 0 and verify.returncode == 0 and output_bytes(out) == want
                    setting["trials"] += 1
                    setting["identical"] += ok
                    if not ok:
                        setting["failed"].append({"trial": i, "killed_in": phases, "exit": code,
                                                  "verify": verify.stdout[-500:] + verify.stderr[-500:]})
                    subprocess.run(["rm", "-rf", str(out)])
                results["settings"].append(setting)
                results["trials"] += setting["trials"]
                results["identical"] += setting["identical"]
                results["failed"] += len(setting["failed"])
                print(f"workers={workers} format={fmt}: trials {setting['trials']}, identical "
                      f"{setting['identical']}, failed {len(setting['failed'])} (reference {wall:.1f} s)",
                      flush=True)
    results["phases"] = dict(sorted(results["phases"].items()))
    print(f"trials {results['trials']}, identical {results['identical']}, failed {results['failed']}; "
          f"{results['kills']} kills, in phases: {results['phases']}")
    dest = ROOT / "benchmarks" / "results" / "faults.json"
    dest.write_text(json.dumps({**results, "args": vars(args)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
