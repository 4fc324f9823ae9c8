"""What ``pii`` replaces on webdocs, with and without sparing addresses that identify no person.

    python benchmarks/pii.py      # writes benchmarks/results/pii.json

Counts matches per kind with the defaults and with ``spare_special_ips = false, spare_ips = []``, the
addresses the sparing leaves (most common first), and the most common addresses still replaced.
"""

from __future__ import annotations

import collections
import io
import json
from pathlib import Path

import orjson
import zstandard

from thresher.steps.pii import PiiConfig, PiiFilter

ROOT = Path(__file__).resolve().parent.parent
WEBDOCS = ROOT.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def main() -> None:
    with open(WEBDOCS, "rb") as f:
        texts = [orjson.loads(line)["text"] for line in
                 io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")]
    default, unspared = PiiFilter(), PiiFilter(PiiConfig(spare_special_ips=False, spare_ips=()))
    counts = {"default": collections.Counter(), "unspared": collections.Counter()}
    spared, replaced = collections.Counter(), collections.Counter()
    for t in texts:
        a = set(default.find(t))
        b = set(unspared.find(t))
        counts["default"].update(r for *_, r in a)
        counts["unspared"].update(r for *_, r in b)
        spared.update(f"{r} {t[x:y]}" for x, y, r in b - a)
        replaced.update(t[x:y] for x, y, r in a if r == "pii_ip")
    out = {"documents": len(texts), "matches": {k: dict(v) for k, v in counts.items()},
           "spared_most_common": spared.most_common(40), "ips_replaced_most_common": replaced.most_common(40)}
    path = ROOT / "benchmarks" / "results" / "pii.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["matches"], indent=2))


if __name__ == "__main__":
    main()
