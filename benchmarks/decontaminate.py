"""Decontamination: recall of benchmark items planted in web text, false hits on the clean text, speed.

    python benchmarks/decontaminate.py [--mb 40] [--items 2000] [--seed 0] [--repeats 3]

The corpus is the first ``--mb`` MB of webdocs (``../shared/bench/webdocs/corpus.jsonl.zst``). The
benchmarks are MMLU (14,042 questions) and GSM8K (1,319 problems) from ``../shared/bench/decon/``.
``--items`` items (of at least ``min_words`` words as the step counts them; drawn with ``--seed``) are each planted into a
random document at a random line break, in one of six forms, in turn: as they are; re-wrapped at 60
columns; upper-cased; lower-cased with punctuation dropped; re-punctuated (',' -> ';', '.' -> '!',
quotes straightened); and the first half of its words (at least 13: a partial copy). Measured with the step's own ``process_batch`` on one core (the index built and
cached first):

- recall: planted items whose whole text lies inside a removal, over the five whole-item forms
  (``recall``) and the halves (``recall_partial``); and the share of the found ones whose removal
  names the planted item (another item may have the same text);
- false hits: removals on the clean corpus (each printed, to read whether the page really holds a
  benchmark item);
- MB/s: the clean corpus through the step, median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import textwrap
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import zstandard

import thresher
from thresher.steps.decontaminate import Decontaminate
from thresher.text.wordgrams import all_windows

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"


def webdocs(mb: float) -> list[str]:
    budget, texts = int(mb * 1e6), []
    with (SHARED / "webdocs" / "corpus.jsonl.zst").open("rb") as f:
        stream = zstandard.ZstdDecompressor().stream_reader(f)
        buf = b""
        while budget > 0:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if budget <= 0:
                    break
                t = orjson.loads(line)["text"]
                texts.append(t)
                budget -= len(t.encode())
    return texts


def items() -> list[tuple[str, str]]:
    out, seen = [], set()
    for name, pattern in (("mmlu", "mmlu_test-*.jsonl.gz"), ("gsm8k", "gsm8k_test-*.jsonl.gz")):
        for path in sorted((SHARED / "decon").glob(pattern)):
            for line in gzip.decompress(path.read_bytes()).splitlines():
                r = orjson.loads(line)
                key = f"{name}/{r['eval_instance_index']}"
                if key not in seen:
                    seen.add(key)
                    out.append((key, r["question"]))
    return out


def variant(text: str, k: int) -> str:
    if k == 5:                 # the first half of a long item's words: a partial copy
        words = text.split()
        return " ".join(words[:max(len(words) // 2, 13)])
    if k == 1:
        return textwrap.fill(text, 60)
    if k == 2:
        return text.upper()
    if k == 3:
        return re.sub(r"[^\w\s]", "", text.lower())
    if k == 4:
        return text.replace(",", ";").replace(".", "!").replace("\u2019", "'").replace('"', "'")
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=40)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    decon = SHARED / "decon"
    cfg = thresher.load_config({"decontaminate": {"benchmark": [
        {"name": "mmlu", "path": str(decon / "mmlu_test-*.jsonl.gz"), "id_field": "eval_instance_index"},
        {"name": "gsm8k", "path": str(decon / "gsm8k_test-*.jsonl.gz"), "id_field": "eval_instance_index"}]}})
    c = cfg.step_options["decontaminate"]
    step = Decontaminate(c)
    t0 = time.perf_counter()
    index = step.index
    index_s = time.perf_counter() - t0

    clean = webdocs(args.mb)
    mb = sum(len(t.encode()) for t in clean) / 1e6
    arr = pa.array(clean, pa.large_string())
    step.process_batch(arr[:10])                      # compiled before timing
    times, v = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        v = step.process_batch(arr)
        times.append(time.perf_counter() - t0)
    false_hits = [{"doc": int(r), "item": i, "text": clean[int(r)][int(a):int(b)][:300]}
                  for r, a, b, i in zip(v.row, v.start, v.end, v.twin_id)]

    rng = np.random.default_rng(args.seed)
    every = items()       # the items the step can match: min_words of its own words or more
    owner, _h, _n = all_windows(pa.array([t for _k, t in every], pa.large_string()), ngram=c.ngram,
                                min_words=c.min_words)
    matchable = set(owner.tolist())
    pool = [x for i, x in enumerate(every) if i in matchable]
    picks = rng.choice(len(pool), size=min(args.items, len(pool)), replace=False)
    dirty = list(clean)
    planted = []                                      # (doc, start, end, item)
    docs = rng.choice(len(dirty), size=len(picks), replace=False)
    for n, (p, d) in enumerate(zip(picks.tolist(), docs.tolist())):
        key, text = pool[p]
        form = variant(text, n % 6)
        t = dirty[d]
        breaks = [m.end() for m in re.finditer("\n", t)] or [len(t)]
        at = breaks[int(rng.integers(len(breaks)))]
        if at and t[at - 1] != "\n":                 # a document without a line break: start one
            t, at = t[:at] + "\n" + t[at:], at + 1
        dirty[d] = t[:at] + form + "\n" + t[at:]
        planted.append((d, at, at + len(form), key, n % 6))
    v = step.process_batch(pa.array(dirty, pa.large_string()))
    regions: dict[int, list[tuple[int, int, str]]] = {}
    for r, a, b, i in zip(v.row.tolist(), v.start.tolist(), v.end.tolist(), v.twin_id):
        regions.setdefault(r, []).append((a, b, i))
    found, named = 0, 0
    by_form = [[0, 0] for _ in range(6)]
    missed = []
    for d, a, b, key, form in planted:
        # the words of the planted text: its span without leading/trailing non-word characters
        text = dirty[d][a:b]
        lead = len(text) - len(text.lstrip("\"'([ "))
        trail = len(text) - len(re.sub(r"[^\w]+$", "", text))
        hit = [i for s, e, i in regions.get(d, []) if s <= a + lead and b - trail <= e]
        by_form[form][1] += 1
        if hit:
            found += 1
            by_form[form][0] += 1
            named += key in hit
        else:
            missed.append({"item": key, "form": form, "text": text[:200], "before": dirty[d][max(0, a - 80):a]})
    result = {
        "corpus_mb": round(mb, 1), "docs": len(clean), "index_windows": int(len(index.keys)),
        "index_items": len(index.names), "index_build_or_load_s": round(index_s, 2),
        "matchable_items": len(pool), "all_items": len(every), "planted": len(planted),
        # whole items in the forms; the first halves are partial copies, reported apart
        "recall": round(sum(x for x, _ in by_form[:5]) / max(sum(n for _, n in by_form[:5]), 1), 4),
        "recall_partial": round(by_form[5][0] / max(by_form[5][1], 1), 4),
        "recall_all": round(found / len(planted), 4),
        "named_right": round(named / max(found, 1), 4),
        "recall_by_form": {f: round(x / max(n, 1), 4) for f, (x, n) in
                           zip(["as_is", "rewrapped", "upper", "no_punct_lower", "repunctuated", "first_half"], by_form)},
        "false_hits_clean": len(false_hits),
        "mb_per_s_one_core": round(mb / statistics.median(times), 1),
        "seconds": [round(t, 3) for t in times],
    }
    print(json.dumps(result))
    for h in false_hits[:20]:
        print("false hit:", json.dumps(h)[:400])
    for m in missed[:20]:
        print("missed:", json.dumps(m)[:300])


if __name__ == "__main__":
    main()
