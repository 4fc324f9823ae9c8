"""Check a finished run against its inputs: the invariant of OUT, and that the stats add up.

For every input document (re-read with the run's own readers and shard boundaries):
- kept: its removal rows do not overlap and applying them to the original gives the kept text;
- dropped: its removal rows cover the whole original text.
Also: documents keep corpus order, every removal names a step of the run, duplicate rows name a twin,
and stats.json's document counts equal what OUT holds.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import orjson

from .configure import load_config
from .documents import apply_removals, covers
from .engine.layout import Layout, read_json, read_parquet
from .io.storage import Location
from .io.inputs import expand_inputs
from .io.parse import parse_chunk
from .io.readers import iter_chunks


def _read_documents(path: Location, source_column: str) -> list[tuple[str, str, str]]:
    """(id, source, text) of every document of one OUT/documents file."""
    if path.suffix == ".parquet":
        t = read_parquet(path, columns=["id", source_column, "text"])
        return list(zip(t.column("id").to_pylist(), t.column(source_column).to_pylist(),
                        t.column("text").to_pylist()))
    out = []
    for line in path.read_bytes().splitlines():
        rec = orjson.loads(line)
        out.append((rec["id"], rec[source_column], rec["text"]))
    return out


def verify_output(out: str | os.PathLike[str], *, max_errors: int = 20) -> dict[str, Any]:
    """Verify OUT; returns ``{"documents", "kept", "dropped", "removals", "errors": [...]}``."""

    lay = Layout(out)
    manifest = read_json(lay.run_manifest)
    if manifest.get("status") != "complete":
        return {"errors": [f"{lay.out} holds no complete run (status {manifest.get('status')!r})"]}
    c = manifest["config"]
    cfg = load_config({**c["step_options"], "input": c["input"], "output": c["output"],
                       "engine": c["engine"], "steps": c["steps"]})
    files = expand_inputs([f["path"] for f in manifest["inputs"]])
    steps = set(cfg.steps or ())
    errors: list[str] = []
    counts = defaultdict(int)
    fmt = cfg.output.format
    shard_bytes = max(1, int(cfg.engine.shard_mb * 1_000_000))

    def err(msg: str) -> None:
        if len(errors) < max_errors:
            errors.append(msg)

    for chunk in iter_chunks(files, shard_bytes=shard_bytes):
        parsed = parse_chunk(chunk, cfg.input, source_column=cfg.output.source_column)
        ids = parsed.table.column("id").to_pylist()
        sources = parsed.table.column("source").to_pylist()
        texts = parsed.table.column("text").to_pylist()
        counts["quarantined"] += len(parsed.quarantine)
        rem = read_parquet(lay.removals(chunk.index)).to_pylist()
        doc_path = lay.documents(chunk.index, fmt)
        kept = {(s, i): t for i, s, t in _read_documents(doc_path, cfg.output.source_column)} if doc_path.exists() else {}
        rows = defaultdict(list)
        for r in rem:
            counts["removals"] += 1
            rows[(r["source"], r["doc_id"])].append(r)
            if r["step"] not in steps:
                err(f"removal of {r['doc_id']!r} names step {r['step']!r}, not one of the run's steps")
            if r["similarity"] is not None and r["dup_of_id"] is None:
                err(f"removal of {r['doc_id']!r} has a similarity but no dup_of_id")
        if len(set(zip(sources, ids))) != len(ids):
            err(f"shard {chunk.index}: document ids repeat within one input; cannot verify by id")
            continue
        for doc_id, source, text in zip(ids, sources, texts):
            counts["documents"] += 1
            r = rows.get((source, doc_id), [])
            if (source, doc_id) in kept:
                counts["kept"] += 1
                try:
                    result = apply_removals(text, [(x["start"], x["end"], x["replacement"]) for x in r])
                except ValueError as exc:
                    err(f"{source} {doc_id!r}: {exc}")
                    continue
                if result != kept[(source, doc_id)]:
                    err(f"{source} {doc_id!r}: applying its {len(r)} removals does not give the kept text")
            else:
                counts["dropped"] += 1
                if not covers(len(text), [(x["start"], x["end"]) for x in r]):
                    err(f"{source} {doc_id!r} is not in documents/ but its removals do not cover it")
        if len(kept) != sum(1 for k in zip(sources, ids) if k in kept):
            err(f"shard {chunk.index}: documents/ holds documents that are not in the input")
    stats = read_json(lay.stats)
    if stats["total"]["docs_out"] != counts["kept"]:
        err(f"stats.json says {stats['total']['docs_out']} documents out, documents/ holds {counts['kept']}")
    if stats["total"]["docs_in"] != counts["documents"]:
        err(f"stats.json says {stats['total']['docs_in']} documents in, the inputs hold {counts['documents']}")
    if stats["total"]["quarantined"] != counts["quarantined"]:
        err(f"stats.json says {stats['total']['quarantined']} quarantined, the inputs give "
            f"{counts['quarantined']}")
    return {**counts, "errors": errors}
