"""Counters of a step on a shard, and how they add up over shards and tasks."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class StepStats:
    """Counters of one step on one shard; merged across shards by addition."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"docs_in": 0, "docs_out": 0, "chars_in": 0, "chars_out": 0,
                                     "removals": {}, "seconds": 0.0}

    def removed(self, reason: str, chars: int, value: float | None = None) -> None:
        r = self.data["removals"].setdefault(reason, {"rows": 0, "chars": 0})
        r["rows"] += 1
        r["chars"] += chars
        if value is not None:    # a filter's measured value: the sum gives the mean over removals
            r["value_sum"] = r.get("value_sum", 0.0) + float(value)


    def removed_many(self, reasons: Sequence[str], code: np.ndarray, chars: np.ndarray,
                     value: np.ndarray | None = None) -> None:
        """:meth:`removed` for many rows at once (``code`` indexes ``reasons``; NaN value: none)."""
        if not len(code):
            return
        k = len(reasons)
        n = np.bincount(code, minlength=k)
        c = np.bincount(code, weights=chars, minlength=k)
        has = None if value is None else ~np.isnan(value)
        for i in np.flatnonzero(n).tolist():
            r = self.data["removals"].setdefault(reasons[i], {"rows": 0, "chars": 0})
            r["rows"] += int(n[i])
            r["chars"] += int(c[i])
            valued = None if has is None else has & (code == i)
            if valued is not None and valued.any():
                r["value_sum"] = r.get("value_sum", 0.0) + float(value[valued].sum())


def merge_stats(a: Any, b: Any) -> Any:
    """Add two stats trees (dicts of numbers, recursively)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge_stats(out[k], v) if k in out else v
        return out
    return a + b


def tally_external(stats: StepStats, names: np.ndarray, rows: np.ndarray, chars: np.ndarray) -> None:
    """Stats of removals whose twins lie outside the corpus, by source (the part of the twin's name
    before '/', e.g. a benchmark): documents, removals, characters, and hits per twin."""
    out = stats.data.setdefault("external", {})
    by: dict[str, list[int]] = {}
    for i, name in enumerate(names.tolist()):
        by.setdefault(name.split("/", 1)[0], []).append(i)
    for source, idx in sorted(by.items()):
        s = out.setdefault(source, {"documents": 0, "removals": 0, "chars": 0, "twins": {}})
        s["documents"] += len(np.unique(rows[idx]))
        s["removals"] += len(idx)
        s["chars"] += int(chars[idx].sum())
        for name in names[idx].tolist():
            s["twins"][name] = s["twins"].get(name, 0) + 1
