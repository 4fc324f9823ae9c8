#!/usr/bin/env python3
"""How the cleaning filters' decisions agree with human-made keep/discard labels on real web pages.

Data: ``../shared/bench/web/majority_data.jsonl`` (499 documents) and ``agreement_data.jsonl`` (281):
Common Crawl text with ``label`` 1 = keep, 0 = discard, from mlfoundations/dclm (MIT). Each file is one
input of the run, so it is also the "source" of corpus-learned repeated lines.

Two runs of ``thresher.run`` on the same two files, default options:

1. ``boilerplate, quality, language, pii``: what the pipeline removes. Per rule: documents it touched
   (line rules and pii) or removed whole (quality), lines or spans, and the share of those documents
   that the labels discard (a rule that agrees with the labels removes from discard documents more than
   the base rate). A document counts as discarded by the pipeline when nothing of it is left.
2. ``boilerplate, quality`` with ``quality.dry_run``: every quality rule judged alone on each
   (line-cleaned) document, not only the first rule a document fails. Per rule: documents it fails,
   precision (share of them labelled discard) and recall (share of discard documents it fails).

Usage: python benchmarks/labels.py [--out benchmarks/results/labels.json] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
WEB = HERE.parent.parent / "shared" / "bench" / "web"
FILES = ("majority_data.jsonl", "agreement_data.jsonl")


def load_inputs(folder: Path) -> tuple[list[Path], dict[str, int], dict[str, int]]:
    """Copy the labelled files with an ``id`` per document; return the inputs, id -> label and
    id -> characters."""
    paths, labels, sizes = [], {}, {}
    for name in FILES:
        stem = name.split("_")[0]
        out = folder / name
        with open(WEB / name, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                row = json.loads(line)
                row["id"] = f"{stem}-{i:04d}"
                labels[row["id"]] = int(row["label"])
                sizes[row["id"]] = len(row["text"])
                dst.write(json.dumps(row, ensure_ascii=False) + "\n")
        paths.append(out)
    return paths, labels, sizes


def table(path: Path):
    return pq.read_table(path) if path.is_file() else pq.ParquetDataset(path).read()


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def pipeline(inputs: list[Path], labels: dict[str, int], sizes: dict[str, int], out: Path) -> dict:
    import thresher

    thresher.run(inputs, out, steps=["boilerplate", "quality", "language", "pii"],
                 config={"report": {"enabled": False}}, workers=1)
    rem = table(out / "removals").to_pylist()
    docs = table(out / "documents").select(["id", "text", "language"]).to_pylist()
    left = {d["id"]: len(d["text"]) for d in docs}
    languages = Counter(d["language"] for d in docs)

    per_rule: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"docs": set(), "rows": 0, "chars": 0, "by_label": {0: 0, 1: 0}})
    for r in rem:
        entry = per_rule[(r["step"], r["reason"])]
        entry["docs"].add(r["doc_id"])
        entry["rows"] += 1
        entry["chars"] += r["end"] - r["start"]
        entry["by_label"][labels[r["doc_id"]]] += r["end"] - r["start"]
    discard_ids = {i for i, lab in labels.items() if lab == 0}
    chars = {0: sum(sizes[i] for i in discard_ids), 1: sum(sizes[i] for i in labels if i not in discard_ids)}
    rules = []
    for (step, reason), e in sorted(per_rule.items(), key=lambda kv: (kv[0][0], -len(kv[1]["docs"]))):
        n = len(e["docs"])
        rules.append({"step": step, "reason": reason, "docs": n, "rows": e["rows"], "chars": e["chars"],
                      "docs_labelled_discard": len(e["docs"] & discard_ids),
                      "discard_share": share(len(e["docs"] & discard_ids), n),
                      # characters removed, as a share of all characters of each label's documents
                      "chars_of_discard": round(e["by_label"][0] / chars[0], 4),
                      "chars_of_keep": round(e["by_label"][1] / chars[1], 4)})

    gone = {i for i in labels if left.get(i, 0) == 0}
    tp = len(gone & discard_ids)
    kept = set(labels) - gone
    return {
        "documents": len(labels),
        "labelled_discard": len(discard_ids),
        "discarded_by_pipeline": len(gone),
        "confusion": {"discard_discard": tp, "discard_keep": len(gone) - tp,
                      "keep_discard": len(kept & discard_ids), "keep_keep": len(kept - discard_ids)},
        "accuracy": share(tp + len(kept - discard_ids), len(labels)),
        "discard_precision": share(tp, len(gone)),
        "discard_recall": share(tp, len(discard_ids)),
        "languages": dict(languages.most_common()),
        "rules": rules,
    }


def rules_alone(inputs: list[Path], labels: dict[str, int], out: Path) -> dict:
    import thresher
    from thresher.steps.quality.measures import MEASURES
    from thresher.steps.quality import RULES, QualityFilter

    thresher.run(inputs, out, steps=["boilerplate", "quality"],
                 config={"report": {"enabled": False}, "quality": {"dry_run": True}}, workers=1)
    docs = table(out / "documents")
    ids = docs.column("id").to_pylist()
    step = QualityFilter()
    names = [f"quality_{m}" for m in (*MEASURES, "lorem_ipsum")]
    scores = list(zip(*(docs.column(n).to_pylist() for n in names)))
    failed_by_doc = [{name for name, _ in step.failures(list(v))} for v in scores]
    fails = {rule: [rule in f for f in failed_by_doc] for rule in RULES}
    discard = [labels[i] == 0 for i in ids]
    n_discard = sum(discard)
    rows = []
    for rule, failed in fails.items():
        n = sum(failed)
        hit = sum(1 for f, d in zip(failed, discard) if f and d)
        rows.append({"rule": rule, "fails": n, "fails_labelled_discard": hit,
                     "precision": share(hit, n), "recall": share(hit, n_discard)})
    any_fail = [any(col[k] for col in fails.values()) for k in range(len(ids))]
    hit = sum(1 for f, d in zip(any_fail, discard) if f and d)
    # documents line-cleaned to nothing never reach quality: they count as removed by boilerplate
    return {"documents_reaching_quality": len(ids), "labelled_discard": n_discard, "rules": rows,
            "any_rule": {"fails": sum(any_fail), "precision": share(hit, sum(any_fail)),
                         "recall": share(hit, n_discard)}}


def markdown(res: dict) -> str:
    p = res["pipeline"]
    lines = [f"Pipeline `boilerplate, quality, language, pii`, default options, {p['documents']} documents "
             f"({p['labelled_discard']} labelled discard):",
             "",
             "| step | rule | documents | lines/spans | of those labelled discard "
             "| chars removed of discard docs | of keep docs |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in p["rules"]:
        lines.append(f"| {r['step']} | `{r['reason']}` | {r['docs']} | {r['rows']} | "
                     f"{r['docs_labelled_discard']} ({r['discard_share']:.0%}) | "
                     f"{r['chars_of_discard']:.2%} | {r['chars_of_keep']:.2%} |")
    c = p["confusion"]
    lines += ["", f"Whole documents: the pipeline discards {p['discarded_by_pipeline']}; "
              f"{c['discard_discard']} of them are labelled discard (precision {p['discard_precision']}), "
              f"recall {p['discard_recall']}, agreement {p['accuracy']}.", "",
              "Each quality rule alone (after `boilerplate`):", "",
              "| rule | fails | precision (discard) | recall (discard) |", "|---|---:|---:|---:|"]
    a = res["alone"]
    for r in sorted(a["rules"], key=lambda r: -r["fails"]):
        if r["fails"]:
            lines.append(f"| `{r['rule']}` | {r['fails']} | {r['precision']} | {r['recall']} |")
    lines.append(f"| any rule | {a['any_rule']['fails']} | {a['any_rule']['precision']} | "
                 f"{a['any_rule']['recall']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "labels.json")
    ap.add_argument("--markdown", action="store_true", help="also print the README tables")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs, labels, sizes = load_inputs(tmp)
        res = {"data": [str(WEB / f) for f in FILES],
               "pipeline": pipeline(inputs, labels, sizes, tmp / "run"),
               "alone": rules_alone(inputs, labels, tmp / "dry")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: v for k, v in res["pipeline"].items() if k != "rules"}, indent=1))
    if args.markdown:
        print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
