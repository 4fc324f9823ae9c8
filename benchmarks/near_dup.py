"""Near-duplicate detection: thresher against datasketch, rensa, text-dedup and datatrove in one run.

    .bench/bin/python benchmarks/near_dup.py [--repeat 3] [--corpus ../shared/bench/webdocs/corpus.jsonl.zst]
        [--text-dedup .bench-text-dedup/bin/python] [--datatrove]
    python3 ../shared/bench/django_docs.py django-docs
    .bench/bin/python benchmarks/near_dup.py --corpus django-docs/corpus.jsonl

Same settings for every tool: word 5-grams, 128 permutations, threshold 0.8. Measured:

- signatures MB/s, one process: shingling and signing every document (thresher: its numba kernels;
  datasketch ``MinHash.update_batch``; rensa ``RMinHash.update``, both fed the same 5-gram strings);
- end-to-end wall time and peak RSS of a fresh process: read the corpus, find duplicates, report them
  (thresher: ``thresher run --steps near_dup`` with 1 and 2 workers, exact verification included; the
  peers: signatures, their LSH index (datasketch picks its bands; rensa needs bands dividing 128: 16),
  candidates kept if their estimated Jaccard is >= 0.8, then connected components);
- pairwise precision, recall and F1 against the injected clusters (``gt_clusters.jsonl``): every pair of
  documents inside one predicted cluster against every pair inside one true cluster;
- the Jaccard estimator's error against exact Jaccard on the real pairs of ``gt_pairs.tsv``.

thresher also runs without its HTML report (written by default; no peer writes one) and with
``verify = false`` (pairs accepted by their estimates, as the peers do).

``--datatrove`` adds datatrove's local MinHash pipeline (signatures, buckets, cluster, filter with
cluster ids; 5-grams, 9 buckets x 13 hashes = thresher's bands; about ten minutes on webdocs).
``--text-dedup PYTHON`` adds text-dedup 0.4.0's ``text_dedup.minhash`` (one process, xxh3 hashes, its
own bands for 0.8, union-find clusters), run by a Python that has it (its own venv:
``benchmarks/requirements-text-dedup.txt``). text-dedup reads a Hugging Face dataset saved to disk:
that conversion is made first and not timed; its own loading of the dataset is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zstandard

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEBDOCS = ROOT.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"
WORD = re.compile(r"\w+")

PEER = r'''
import json, re, sys, time, zstandard
corpus, tool, out = sys.argv[1], sys.argv[2], sys.argv[3]
WORD = re.compile(r"\w+")
def grams(text):
    w = WORD.findall(text.lower())
    return [" ".join(w[i:i + 5]) for i in range(max(1, len(w) - 4))]
raw = open(corpus, "rb").read()
if corpus.endswith(".zst"):
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
docs = [json.loads(l) for l in raw.splitlines()]
if tool == "rensa":
    import rensa
    lsh = rensa.RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16)   # bands must divide num_perm
    sigs = []
    for i, d in enumerate(docs):
        m = rensa.RMinHash(num_perm=128, seed=1)
        m.update(grams(d["text"]))
        sigs.append(m)
        lsh.insert(i, m)
    pairs = [(i, j) for i, m in enumerate(sigs) for j in lsh.query(m)
             if j != i and m.jaccard(sigs[j]) >= 0.8]          # candidates kept by estimated Jaccard
else:
    from datasketch import MinHash, MinHashLSH
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    sigs = []
    for i, d in enumerate(docs):
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([g.encode() for g in grams(d["text"])])
        sigs.append(m)
        lsh.insert(i, m)
    pairs = [(i, j) for i, m in enumerate(sigs) for j in lsh.query(m)
             if j != i and m.jaccard(sigs[j]) >= 0.8]
parent = list(range(len(docs)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
for i, j in pairs:
    parent[find(i)] = find(j)
clusters = {}
for i in range(len(docs)):
    clusters.setdefault(find(i), []).append(docs[i]["id"])
json.dump([c for c in clusters.values() if len(c) > 1], open(out, "w"))
'''


DATATROVE = r'''
import sys
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.hashing import HashConfig

if __name__ == "__main__":
    corpus, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    folder, name = corpus.rsplit("/", 1)
    cfg = MinhashConfig(hash_config=HashConfig(precision=64), n_grams=5, num_buckets=9, hashes_per_bucket=13)
    comp = "zstd" if name.endswith(".zst") else None
    read = lambda: JsonlReader(folder, glob_pattern=name, compression=comp)
    run = dict(workers=workers, skip_completed=False)
    LocalPipelineExecutor([read(), MinhashDedupSignature(f"{work}/sigs", config=cfg)], tasks=1,
                          logging_dir=f"{work}/l1", **run).run()
    LocalPipelineExecutor([MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=cfg)], tasks=9,
                          logging_dir=f"{work}/l2", **run).run()
    LocalPipelineExecutor([MinhashDedupCluster(f"{work}/buckets", f"{work}/ids", config=cfg, save_cluster_id=True)],
                          tasks=1, logging_dir=f"{work}/l3", **run).run()
    LocalPipelineExecutor([read(), MinhashDedupFilter(f"{work}/ids", load_cluster_ids=True,
                                                      exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)),
                           JsonlWriter(f"{work}/kept", compression=None)], tasks=1, logging_dir=f"{work}/l4", **run).run()
'''


TEXT_DEDUP_PREP = r'''
import json, sys, zstandard, datasets
src, dst = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
if src.endswith(".zst"):
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
docs = [json.loads(line) for line in raw.splitlines()]
datasets.Dataset.from_dict({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}).save_to_disk(dst)
'''

TEXT_DEDUP_CLUSTERS = r'''
import json, pickle, sys
uf = pickle.load(open(sys.argv[1], "rb"))          # text_dedup.utils.UnionFind over the original ids
clusters = {}
for x in list(uf.parent):
    clusters.setdefault(uf.find(x), []).append(x)
json.dump([c for c in clusters.values() if len(c) > 1], open(sys.argv[2], "w"))
'''


def text_dedup_row(python: str, corpus: Path, work: Path, truth: set) -> dict:
    (work / "td_prep.py").write_text(TEXT_DEDUP_PREP)
    (work / "td_clusters.py").write_text(TEXT_DEDUP_CLUSTERS)
    ds, out = work / "td_dataset", work / "td_out"
    measure([python, str(work / "td_prep.py"), str(corpus), str(ds)])
    m = measure([python, "-m", "text_dedup.minhash", "--path", str(ds), "--local", "--output", str(out),
                 "--column", "text", "--idx_column", "id", "--num_perm", "128", "--ngram", "5",
                 "--threshold", "0.8", "--hash_func", "xxh3", "--num_proc", "1", "--debug"], cwd=str(work))
    measure([python, str(work / "td_clusters.py"), str(out / "uf.pkl"), str(work / "td.json")])
    return {"tool": "text-dedup 0.4.0", "wall_seconds": round(m["wall_seconds"], 2),
            "peak_rss_mb": round(m["peak_rss_bytes"] / 2**20),
            **score(json.loads((work / "td.json").read_text()), truth)}


def datatrove_clusters(work: Path) -> list[list[str]]:
    clusters: dict[int, list[str]] = {}
    for f in list((work / "kept").glob("*.jsonl")) + list((work / "removed").glob("*.jsonl")):
        for line in open(f):
            rec = json.loads(line)
            cid = rec.get("metadata", {}).get("minhash_cluster_id", -1)
            if cid != -1:
                clusters.setdefault(cid, []).append(rec["id"])
    return [c for c in clusters.values() if len(c) > 1]


def load(corpus: Path) -> list[dict]:
    raw = corpus.read_bytes()
    if corpus.suffix == ".zst":
        raw = zstandard.ZstdDecompressor().stream_reader(open(corpus, "rb")).readall()
    return [json.loads(line) for line in raw.splitlines()]


def truth_file(corpus: Path) -> Path:
    """webdocs: gt_clusters.jsonl; the Django set (benchmarks' django_docs.py): truth.jsonl."""
    for name in ("gt_clusters.jsonl", "truth.jsonl"):
        if (corpus.parent / name).exists():
            return corpus.parent / name
    raise SystemExit(f"no gt_clusters.jsonl or truth.jsonl beside {corpus}")


def grams(text: str) -> list[str]:
    w = WORD.findall(text.lower())
    return [" ".join(w[i:i + 5]) for i in range(max(1, len(w) - 4))]


def signature_speed(docs: list[dict]) -> dict:
    """MB/s of shingling + signing in this one process, per tool (median of 3 for thresher)."""
    from thresher.steps.near_dup.minhash import signatures
    from thresher.text.shingles import shingles

    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    texts = [d["text"] for d in docs]
    out = {}
    shingles(texts[:10], unique=False)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        off, ids = shingles(texts, unique=False)
        signatures(ids, off, num_perm=128, seed=1)
        times.append(time.perf_counter() - t0)
    out["thresher"] = mb / statistics.median(times)
    try:
        import rensa
        t0 = time.perf_counter()
        for t in texts:
            m = rensa.RMinHash(num_perm=128, seed=1)
            m.update(grams(t))
        out["rensa"] = mb / (time.perf_counter() - t0)
    except ImportError:
        pass
    try:
        from datasketch import MinHash
        sample = texts[: len(texts) // 5]
        t0 = time.perf_counter()
        for t in sample:
            m = MinHash(num_perm=128, seed=1)
            m.update_batch([g.encode() for g in grams(t)])
        out["datasketch"] = sum(len(t.encode()) for t in sample) / 1e6 / (time.perf_counter() - t0)
    except ImportError:
        pass
    return {k: round(v, 1) for k, v in out.items()}


def estimator_error(docs: list[dict], pairs_tsv: Path) -> dict:
    """Signature estimate minus exact Jaccard (thresher's shingles) over the ground-truth pairs."""
    import csv

    from thresher.steps.near_dup.minhash import signatures
    from thresher.text.shingles import shingles

    index = {d["id"]: i for i, d in enumerate(docs)}
    rows = list(csv.DictReader(open(pairs_tsv), delimiter="\t"))
    need = sorted({index[r["id_a"]] for r in rows} | {index[r["id_b"]] for r in rows})
    pos = {d: k for k, d in enumerate(need)}
    off, ids = shingles([docs[i]["text"] for i in need])
    sig = signatures(ids, off, num_perm=128, seed=1)
    err = []
    for r in rows:
        a, b = pos[index[r["id_a"]]], pos[index[r["id_b"]]]
        x, y = ids[off[a]:off[a + 1]], ids[off[b]:off[b + 1]]
        inter = len(np.intersect1d(x, y))
        err.append((sig[a] == sig[b]).mean() - inter / (len(x) + len(y) - inter))
    err = np.array(err)
    return {"pairs": len(err), "bias": round(float(err.mean()), 4),
            "rmse": round(float(np.sqrt((err ** 2).mean())), 4),
            "mean_abs": round(float(np.abs(err).mean()), 4)}


def pair_set(clusters: list[list[str]]) -> set[tuple[str, str]]:
    out = set()
    for c in clusters:
        c = sorted(c)
        out.update((c[i], c[j]) for i in range(len(c)) for j in range(i + 1, len(c)))
    return out


def score(pred: list[list[str]], truth: set) -> dict:
    p = pair_set(pred)
    tp = len(p & truth)
    prec = tp / len(p) if p else 0.0
    rec = tp / len(truth) if truth else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"pairs": len(p), "precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4)}


def thresher_clusters(out: Path) -> list[list[str]]:
    import pyarrow.parquet as pq

    t = pq.read_table(out / "clusters").to_pylist()
    clusters: dict[int, list[str]] = {}
    for r in t:
        clusters.setdefault(r["cluster_id"], []).append(r["doc_id"])
    return list(clusters.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=WEBDOCS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--datatrove", action="store_true", help="also run datatrove (slow)")
    ap.add_argument("--text-dedup", metavar="PYTHON",
                    help="also run text-dedup with this Python (benchmarks/requirements-text-dedup.txt)")
    args = ap.parse_args()
    docs = load(args.corpus)
    truth = pair_set([json.loads(line)["ids"] for line in open(truth_file(args.corpus))])
    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    result = {"corpus": str(args.corpus), "mb": round(mb, 1), "documents": len(docs),
              "machine": {"cpus": os.cpu_count()}}
    result["signatures_mb_per_s"] = signature_speed(docs)
    print("signatures MB/s:", result["signatures_mb_per_s"], flush=True)
    if (args.corpus.parent / "gt_pairs.tsv").exists():
        result["estimator_error"] = estimator_error(docs, args.corpus.parent / "gt_pairs.tsv")
        print("estimator:", result["estimator_error"], flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        variants = {"": "", "no report": "[report]\nenabled = false\n",
                    "verify = false": "[near_dup]\nverify = false\n"}
        for k, (w, variant) in enumerate(((1, ""), (2, ""), (1, "no report"), (2, "no report"),
                                          (1, "verify = false"))):
            config = work / f"thresher{k}.toml"
            config.write_text(variants[variant])
            runs = []
            for _ in range(args.repeat):
                out = work / f"thresher{k}"
                runs.append(measure([sys.executable, "-m", "thresher", "run", str(args.corpus), "-o", str(out),
                                     "-w", str(w), "-q", "--overwrite", "--steps", "near_dup", "-c", str(config)]))
            stats = json.loads((out / "stats.json").read_text())["steps"]["near_dup"]
            rows.append({"tool": f"thresher ({w} worker{'s' if w > 1 else ''}{', ' + variant if variant else ''})",
                         "wall_seconds": round(statistics.median(r["wall_seconds"] for r in runs), 2),
                         "peak_rss_mb": round(max(r["peak_rss_bytes"] for r in runs) / 2**20),
                         **score(thresher_clusters(out), truth),
                         **{k: stats[k] for k in ("verified", "estimated", "rejected") if k in stats}})
            print(json.dumps(rows[-1]), flush=True)
        script = work / "peer.py"
        script.write_text(PEER)
        for tool in ("rensa", "datasketch"):
            out = work / f"{tool}.json"
            m = measure([sys.executable, str(script), str(args.corpus), tool, str(out)])
            rows.append({"tool": tool, "wall_seconds": round(m["wall_seconds"], 2),
                         "peak_rss_mb": round(m["peak_rss_bytes"] / 2**20),
                         **score(json.loads(out.read_text()), truth)})
            print(json.dumps(rows[-1]), flush=True)
        if args.text_dedup:
            rows.append(text_dedup_row(args.text_dedup, args.corpus.resolve(), work, truth))
            print(json.dumps(rows[-1]), flush=True)
        if args.datatrove:
            script = work / "dt.py"
            script.write_text(DATATROVE)
            m = measure([sys.executable, str(script), str(args.corpus.resolve()), str(work / "dt"), "1"],
                        cwd=str(work))
            rows.append({"tool": "datatrove", "wall_seconds": round(m["wall_seconds"], 2),
                         "peak_rss_mb": round(m["peak_rss_bytes"] / 2**20),
                         **score(datatrove_clusters(work / "dt"), truth)})
            print(json.dumps(rows[-1]), flush=True)
    result["end_to_end"] = rows
    name = "near_dup" if args.corpus == WEBDOCS else f"near_dup-{args.corpus.parent.name}"
    (ROOT / "benchmarks" / "results" / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n| tool | wall s | peak RSS MB | precision | recall | F1 |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['wall_seconds']} | {r['peak_rss_mb']} | {r['precision']} | "
              f"{r['recall']} | {r['f1']} |")


if __name__ == "__main__":
    main()
