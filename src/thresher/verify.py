"""Check a finished run against its inputs: the invariant of OUT, and that the stats add up.

For every input document (re-read with the run's own readers and shard boundaries):
- kept: its removal rows do not overlap and applying them to the original gives the kept text;
- dropped: its removal rows cover the whole original text.
Also: documents keep corpus order, every removal names a step of the run, duplicate rows name a twin,
stats.json's document counts equal what OUT holds, and every twin is in the output (:class:`_TwinCheck`).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Any

import orjson

from . import registry
from .configure import load_config
from .documents import apply_removals, covers
from .engine.layout import Layout, read_json, read_parquet
from .engine.runner import read_run
from .io.storage import Location, display_path
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


def _later_claims(claims, first_lines: dict[tuple[int, int], int | None]) -> dict[int, int | None]:
    """The claims of a chunk whose id an earlier chunk of the same file holds (as the run's phase
    ``ids`` finds them), recording the others' lines in ``first_lines``."""
    rejects = {}
    for hi, lo, claim, line in zip(*(claims.column(c).to_pylist() for c in ("hi", "lo", "claim", "line"))):
        if (hi, lo) in first_lines:
            rejects[claim] = first_lines[hi, lo]
        else:
            first_lines[hi, lo] = line
    return rejects


def verify_output(out: str | os.PathLike[str], *, max_errors: int = 20) -> dict[str, Any]:
    """Verify OUT; returns ``{"documents", "kept", "dropped", "removals", "errors": [...]}``."""

    lay = Layout(out)
    manifest = read_run(lay)
    if manifest.get("status") != "complete":
        return {"errors": [f"{lay.out} holds no complete run (status {manifest.get('status')!r})"]}
    c = manifest["config"]
    cfg = load_config({**c["step_options"], "input": c["input"], "extract": c.get("extract", {}), "output": c["output"],
                       "engine": c["engine"], "steps": c["steps"]})
    files = expand_inputs([f["path"] for f in manifest["inputs"]])
    order = {s["name"]: i for i, s in enumerate(manifest["steps"])}
    steps = set(cfg.steps or ()) | set(order)
    errors: list[str] = []
    # a step whose twins are outside the corpus (benchmark items) names them as '<name>/<id>'
    external = {n: _external_names(cfg, n) for n in order if registry.step_class(n).twins == "external"}
    twins = _TwinCheck(order, external)
    counts = defaultdict(int)
    by_reason: Counter[tuple[str, str]] = Counter()
    fmt = cfg.output.format
    shard_bytes = max(1, int(cfg.engine.shard_mb * 1_000_000))

    def err(msg: str) -> None:
        if len(errors) < max_errors:
            errors.append(msg)

    first_lines: dict[tuple[int, int], int | None] = {}     # ids of the file that chunks continue
    left = cfg.input.limit or None       # records of [input] limit still to read, one by one
    for chunk in iter_chunks(files, shard_bytes=shard_bytes, cfg=cfg.input):
        if left == 0:
            break
        if chunk.first_line <= 1 and chunk.byte_offset == 0:    # continues no file
            first_lines.clear()
        parse = dict(source_column=cfg.output.source_column, extract=cfg.extract, limit=left)
        parsed = parse_chunk(chunk, cfg.input, **parse)
        if left is not None:
            left -= parsed.records
        if rejects := _later_claims(parsed.ids, first_lines):
            parsed = parse_chunk(chunk, cfg.input, **parse, rejects=rejects)
        ids = parsed.table.column("id").to_pylist()
        sources = parsed.table.column("source").to_pylist()
        texts = parsed.table.column("text").to_pylist()
        counts["quarantined"] += len(parsed.quarantine)
        _check_quarantine(lay, chunk.index, parsed.quarantine, err)
        rem = read_parquet(lay.removals(chunk.index)).to_pylist()
        doc_path = lay.documents(chunk.index, fmt)
        listed = _read_documents(doc_path, cfg.output.source_column) if doc_path.exists() else []
        kept = {(s, i): t for i, s, t in listed}
        if len(kept) != len(listed):
            err(f"{doc_path} holds a document more than once ({len(listed) - len(kept)} repeated rows)")
        counts["chars_out"] += sum(map(len, kept.values()))
        rows = defaultdict(list)
        for r in rem:
            counts["removals"] += 1
            by_reason[(r["step"], r["reason"])] += 1
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
            twins.add(doc_id, (source, doc_id) in kept, r)
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
    keepers = _cluster_keepers(lay)
    if keepers is None and by_reason and any(step == "near_dup" for step, _ in by_reason):
        err(f"{lay.out / 'clusters'} is missing: near_dup removed documents, so it lists their clusters")
    for e in twins.errors(keepers or []):
        err(e)
    stats = read_json(lay.stats)
    for e in _check_reasons(stats, by_reason):
        err(e)
    if stats["total"].get("chars_out") != counts["chars_out"]:
        err(f"stats.json says {stats['total'].get('chars_out')} characters out, documents/ holds "
            f"{counts['chars_out']}")
    if stats["total"]["docs_out"] != counts["kept"]:
        err(f"stats.json says {stats['total']['docs_out']} documents out, documents/ holds {counts['kept']}")
    if stats["total"]["docs_in"] != counts["documents"]:
        err(f"stats.json says {stats['total']['docs_in']} documents in, the inputs hold {counts['documents']}")
    if stats["total"]["quarantined"] != counts["quarantined"]:
        err(f"stats.json says {stats['total']['quarantined']} quarantined, the inputs give "
            f"{counts['quarantined']}")
    return {**counts, "errors": errors}


def _external_names(cfg, step: str) -> set[str] | None:
    """The benchmark names a step with external twins may name (its options' ``benchmark``)."""
    benchmarks = getattr(cfg.step_options.get(step), "benchmark", None)
    return None if benchmarks is None else {b.name for b in benchmarks}


class _TwinCheck:
    """Every kept twin a removal row names is in the output: the twin document is in documents/ and a
    twin span is still in its kept text (no row of the step that named it, or of a later step, removes
    any of it; a rewrite, which replaces in place, does not count). A twin inside the row's own
    document needs nothing more when that document is dropped: the drop accounts for all of its text.
    Every near-duplicate cluster's kept document is in documents/."""

    def __init__(self, order: dict[str, int], external: dict[str, set[str] | None] | None = None):
        self.order = order
        #: Steps whose twins lie outside the corpus, with the names their twin ids may start with
        #: (None: any); their rows are checked for that, not looked up in documents/.
        self.external = external or {}
        self.bad_external: list[str] = []
        self.kept: dict[str, list[list[tuple[int, int, int]]]] = defaultdict(list)
        self.claims: list[tuple[str, bool, int, str, int | None, int | None]] = []

    def add(self, doc_id: str, kept: bool, rows: list[dict]) -> None:
        if kept:
            self.kept[doc_id].append([(x["start"], x["end"], self.order.get(x["step"], -1)) for x in rows
                                      if x["replacement"] is None])
        for x in rows:
            if x["dup_of_id"] is not None and x["step"] in self.external:
                names = self.external[x["step"]]
                if names is not None and x["dup_of_id"].split("/", 1)[0] not in names:
                    self.bad_external.append(f"a removal of {doc_id!r} by {x['step']} names {x['dup_of_id']!r}, "
                                             f"not an item of its benchmarks ({', '.join(sorted(names))})")
            elif x["dup_of_id"] is not None:
                self.claims.append((doc_id, kept, self.order.get(x["step"], -1), x["dup_of_id"],
                                    x["dup_of_start"], x["dup_of_end"]))

    def errors(self, cluster_keepers: list[str]):
        yield from self.bad_external
        for doc_id, kept, step, twin, a, b in self.claims:
            if twin == doc_id and not kept:
                continue
            docs = self.kept.get(twin)
            if not docs:
                yield f"a removal of {doc_id!r} names the kept twin {twin!r}, which is not in documents/"
                continue
            if a is None:
                continue
            if not any(all(e <= a or s >= b or k < step for s, e, k in rows) for rows in docs):
                yield (f"a removal of {doc_id!r} names the span {a}..{b} of {twin!r}, which a later "
                       f"removal cut from the kept text")
        for keeper in cluster_keepers:
            if keeper not in self.kept:
                yield f"near-duplicate cluster kept document {keeper!r} is not in documents/"


def _check_quarantine(lay: Layout, shard: int, expected: list[dict], err) -> None:
    """OUT/quarantine of one shard holds exactly the records its input gives (file, line, kind)."""
    path = lay.quarantine(shard)
    want = [(display_path(q["file"]) if q.get("file") else None, q["line"], q["kind"]) for q in expected]
    if not path.exists():
        if want:
            err(f"{path} is missing: shard {shard} has {len(want)} quarantine records ({want[0][2]}, ...)")
        return
    t = read_parquet(path, columns=["file", "line", "kind"])
    got = list(zip(t.column("file").to_pylist(), t.column("line").to_pylist(), t.column("kind").to_pylist()))
    if got != want:
        i = next(i for i, (g, w) in enumerate(zip(got + [None], want + [None])) if g != w)
        err(f"{path} holds {len(got)} quarantine records, the input gives {len(want)}; they differ from "
            f"record {i + 1} on (OUT has {got[i] if i < len(got) else 'none'}, the input gives "
            f"{want[i] if i < len(want) else 'none'})")


def _check_reasons(stats: dict[str, Any], by_reason: Counter) -> list[str]:
    """The removal rows by step and reason are the counts stats.json reports."""
    said = Counter({(step, reason): v.get("rows", 0) for step, s in stats.get("steps", {}).items()
                    for reason, v in (s.get("removals") or {}).items() if v.get("rows", 0)})
    errors = []
    for key in sorted(set(said) | set(by_reason)):
        if said[key] != by_reason[key]:
            step, reason = key
            what = "a reason stats.json does not know" if not said[key] else f"stats.json says {said[key]}"
            errors.append(f"removals/ has {by_reason[key]} rows of step {step!r}, reason {reason!r}: {what}")
    return errors


def _cluster_keepers(lay: Layout) -> list[str] | None:
    path = lay.out / "clusters" / "part-000000.parquet"
    if not path.exists():
        return None
    t = read_parquet(path, columns=["doc_id", "kept"])
    return [d for d, k in zip(t.column("doc_id").to_pylist(), t.column("kept").to_pylist()) if k]
