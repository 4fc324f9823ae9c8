"""What ``pii`` replaces on webdocs, with and without sparing addresses that identify no person.

    python benchmarks/pii.py            # writes benchmarks/results/pii.json
    python benchmarks/pii.py --sample   # prints a new random sample to label (the labelled file's draw)

Counts matches per kind with the defaults and with ``spare_special_ips = false, spare_ips = []``, the
addresses the sparing leaves (most common first), and the most common addresses still replaced.

Precision and recall per kind come from ``benchmarks/data/pii_labels.jsonl``: 177 PII-shaped strings
drawn at random (seed 7) from what the patterns find on webdocs with no sparing (100 IP-shaped, all 17
phone-shaped, 60 e-mail-shaped), each with its context, labelled by hand: ``personal`` is true for an
address a PII filter should replace (an e-mail address, a phone number, a public IP address a host
could have), false for a version or section number, a special-purpose address (loopback, private,
documentation...), a well-known public resolver, or a number that is no phone. Recall is over what the
patterns find: strings the patterns never match are not in the set.
"""

from __future__ import annotations

import collections
import io
import json
import random
import sys
from pathlib import Path

import orjson
import zstandard

from thresher.steps.pii import PiiConfig, PiiFilter

ROOT = Path(__file__).resolve().parent.parent
WEBDOCS = ROOT.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def _texts() -> list[tuple[str, str]]:
    with open(WEBDOCS, "rb") as f:
        return [(d.get("id"), d["text"]) for d in map(orjson.loads, io.TextIOWrapper(
            zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"))]


def sample(seed: int = 7) -> list[dict]:
    """The strings the labelled file holds: 100 IP-, all phone- and 60 e-mail-shaped matches of the
    patterns without sparing, drawn with ``seed``, each with 60 characters before and 40 after."""
    wide = PiiFilter(PiiConfig(spare_special_ips=False, spare_ips=()))
    texts = _texts()
    found: dict[str, list] = {"pii_ip": [], "pii_phone": [], "pii_email": []}
    for i, (_, t) in enumerate(texts):
        for a, b, r in wide.find(t):
            found[r].append((i, a, b))
    rng = random.Random(seed)
    out = []
    for kind, n in (("pii_ip", 100), ("pii_phone", 17), ("pii_email", 60)):
        pick = found[kind] if len(found[kind]) <= n else rng.sample(found[kind], n)
        for i, a, b in sorted(pick):
            doc, t = texts[i]
            out.append({"kind": kind, "doc": doc, "text": t[a:b],
                        "context": t[max(0, a - 60):b + 40].replace("\n", " ")})
    return out


def main() -> None:
    texts = [t for _, t in _texts()]
    default, unspared = PiiFilter(), PiiFilter(PiiConfig(spare_special_ips=False, spare_ips=()))
    counts = {"default": collections.Counter(), "unspared": collections.Counter()}
    spared, replaced = collections.Counter(), collections.Counter()
    for t in texts:
        a = set(default.find(t))
        b = set(unspared.find(t))
        counts["default"].update(r for *_, r in a)
        counts["unspared"].update(r for *_, r in b)
        spared.update(f"{r} {t[x:y]}" for x, y, r in sorted(b - a))
        replaced.update(t[x:y] for x, y, r in sorted(a) if r == "pii_ip")
    out = {"documents": len(texts), "matches": {k: dict(v) for k, v in counts.items()},
           "spared_most_common": spared.most_common(40), "ips_replaced_most_common": replaced.most_common(40)}
    out["labelled"] = labelled(default)
    out["ip_weighted"] = weighted(default)
    path = ROOT / "benchmarks" / "results" / "pii.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"matches": out["matches"], "labelled": out["labelled"], "ip_weighted": out["ip_weighted"]},
                     indent=2))


def _found(pii: PiiFilter, row: dict) -> bool:
    """Whether ``pii`` replaces the labelled string at its place in its context."""
    return any(row["context"][a:b] == row["text"] for a, b, _ in pii.find(row["context"]))


def labelled(pii: PiiFilter) -> dict:
    """Precision and recall of ``pii`` on the labelled strings, per kind: a string is replaced when the
    filter finds it at its place in its context."""
    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "data" / "pii_labels.jsonl").open()]
    out: dict = {}
    for kind in sorted({r["kind"] for r in rows}):
        tp = fp = fn = 0
        for r in (r for r in rows if r["kind"] == kind):
            hit = _found(pii, r)
            tp += hit and r["personal"]
            fp += hit and not r["personal"]
            fn += (not hit) and r["personal"]
        out[kind] = {"strings": sum(r["kind"] == kind for r in rows), "personal": tp + fn,
                     "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                     "recall": round(tp / (tp + fn), 3) if tp + fn else None}
    return out


def weighted(pii: PiiFilter) -> dict:
    """IP precision and recall on webdocs, estimated per draw of the weighted file (see the docstring)
    and from both draws pooled (the mean of the two estimates of each total)."""
    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "data" / "pii_ip_weighted.jsonl").open()]
    totals: dict = {}
    for r in rows:
        hit = _found(pii, r)
        t = totals.setdefault(r["draw"], {"tp": 0.0, "fp": 0.0, "fn": 0.0, "rows": 0, "personal": 0})
        t["rows"] += 1
        t["personal"] += r["personal"]
        key = ("tp" if r["personal"] else "fp") if hit else ("fn" if r["personal"] else None)
        if key:
            t[key] += r["weight"]

    def scores(t: dict) -> dict:
        return {"precision": round(t["tp"] / (t["tp"] + t["fp"]), 3) if t["tp"] + t["fp"] else None,
                "recall": round(t["tp"] / (t["tp"] + t["fn"]), 3) if t["tp"] + t["fn"] else None,
                "est_personal": round(t["tp"] + t["fn"], 1), "est_missed": round(t["fn"], 1)}
    out = {f"draw_{d}": {"rows": t["rows"], "personal_rows": t["personal"], **scores(t)}
           for d, t in sorted(totals.items())}
    pooled = {k: sum(t[k] for t in totals.values()) / len(totals) for k in ("tp", "fp", "fn")}
    out["pooled"] = scores(pooled)
    return out


if __name__ == "__main__":
    if "--sample" in sys.argv:
        for row in sample():
            print(json.dumps(row, ensure_ascii=False))
    else:
        main()
