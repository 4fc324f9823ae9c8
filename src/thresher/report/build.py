"""``OUT/report.html``: what was removed and why, with the kept twin side by side, and plots.

One self-contained page (no network): a summary of stats.json, plots as inline SVG (:mod:`.svg`),
and a browser of a deterministic sample of decisions (near-duplicate clusters with the differences
highlighted; documents with each removed span highlighted and its kept twin). The sample
is chosen by a hash of each document id and ``seed``, so the same run gives the same page; texts are
cut at ``max_chars`` so a large run's page stays small (~10 MB at most with the defaults).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import json
import os
import re
from collections import defaultdict
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from ..configure import load_config
from ..engine.layout import Layout, read_arrow, read_json, read_parquet, write_bytes
from ..engine.runner import read_run
from ..errors import OutputError
from ..io.storage import Location
from . import svg
from .page import SCRIPT, STEP_COLOURS, STYLE

#: Diff tokens: a word with the whitespace after it (a text's leading whitespace on its own). Separate
#: whitespace tokens would each match thousands of others and make the diff quadratic in practice.
_TOKENS = re.compile(r"\S+\s*|\s+")


def _rank(seed: int, *parts: object) -> int:
    return xxhash.xxh64_intdigest("\x00".join(map(str, parts)).encode("utf-8", "surrogatepass"), seed=seed)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _plots(stats: dict[str, Any], clusters: pa.Table | None, before: np.ndarray,
           after: np.ndarray) -> tuple[list[tuple[str, str]], list[str]]:
    """The plots as ``(name, svg)``, and the labels their ``Label`` references name (document text,
    which the page's script sets as text, never as markup)."""
    out, labels = [], []
    bars = [(f"{step}: {reason}", r["chars"]) for step, s in stats["steps"].items()
            for reason, r in sorted(s.get("removals", {}).items())]
    if bars:
        bars.sort(key=lambda b: (-b[1], b[0]))
        out.append(("chars_by_reason", svg.bar_chart([b[0] for b in bars], [b[1] for b in bars],
                                                     title="Characters removed by step and reason",
                                                     xlabel="characters removed", log_x=True,
                                                     value_labels=True)))
    if clusters is not None and clusters.num_rows:
        sizes = np.bincount(np.unique(clusters.column("cluster_id").to_numpy(), return_inverse=True)[1])
        out.append(("cluster_sizes", svg.histogram(
            [svg.Series(sizes)], np.arange(2, max(sizes.max(), 3) + 2) - 0.5, log_y=True, integer_x=True,
            title=f"Near-duplicate cluster sizes ({len(sizes):,} clusters)", xlabel="documents in cluster",
            ylabel="clusters")))
        kept = clusters.column("kept").to_numpy(zero_copy_only=False)
        sim = clusters.column("similarity").to_numpy(zero_copy_only=False)[~kept]
        sim = sim[~np.isnan(sim)]
        if len(sim):
            out.append(("similarity", svg.histogram(
                [svg.Series(sim, color="#41ab5d")], np.linspace(0, 1, 41),
                title="Similarity of near-duplicates to their kept document",
                xlabel="similarity to the kept document (exact unless verify = false)",
                ylabel="removed documents")))
    if len(before):
        hi = max(int(before.max()), 10)
        edges = np.unique(np.logspace(0, np.log10(hi + 1), 40).astype(int))
        out.append(("lengths", svg.histogram(
            [svg.Series(before, f"input ({len(before):,})", "#7f8c8d"),
             svg.Series(after, f"kept ({len(after):,})", "#2c7fb8")], edges, log_x=True,
            title="Document length before and after", xlabel="document length (characters)",
            ylabel="documents")))
    top = (stats["steps"].get("boilerplate", {}).get("top_lines") or [])[:15]
    if top:
        labels = [_short(t["line"]) for t in top]
        out.append(("top_lines", svg.bar_chart([svg.Label(i) for i in range(len(top))], [t["docs"] for t in top],
                                               title="Most removed repeated lines", xlabel="documents",
                                               color="#8e44ad", label_width=380, value_labels=True)))
    return out, labels


def _whole_work(manifest: dict[str, Any]) -> bool:
    """Whether OUT/_work is whole: at the end of a run (before it is removed) or kept by
    ``keep_work``. A finished run's _work is otherwise being removed, or half removed by a kill."""
    return manifest.get("status") != "complete" or bool(manifest.get("work_kept"))


def _input_tables(lay: Layout, manifest: dict[str, Any]) -> Iterator[pa.Table]:
    """The run's documents as parsed: the ingest shards while OUT/_work is whole (end of a run), else
    the inputs re-read with the run's readers and shard boundaries."""
    shards = (lay.work / "shards").glob("*.arrow") if _whole_work(manifest) else []
    if shards:
        yield from (read_arrow(p) for p in shards)
        return
    from ..io.inputs import expand_inputs
    from ..io.parse import parse_chunk
    from ..io.readers import iter_chunks
    c = manifest["config"]
    cfg = load_config({**c["step_options"], "input": c["input"], "output": c["output"],
                       "engine": c["engine"], "steps": c["steps"]})
    files = expand_inputs([f["path"] for f in manifest["inputs"]])
    chunks = iter_chunks(files, shard_bytes=max(1, int(cfg.engine.shard_mb * 1_000_000)), cfg=cfg.input)
    yield from (parse_chunk(ch, cfg.input, source_column=cfg.output.source_column).table for ch in chunks)


def _originals(lay: Layout, manifest: dict[str, Any], wanted: set[tuple[str, str]],
               *, lengths: bool = False) -> tuple[dict[tuple[str, str], str], np.ndarray | None]:
    """Original texts of the ``(source, id)`` documents in ``wanted``; with ``lengths``, also the
    length of every input document (which needs a pass over all of them)."""
    found: dict[tuple[str, str], str] = {}
    lens: list[np.ndarray] = []
    for t in _input_tables(lay, manifest):
        if lengths:
            lens.append(t.column("_len").to_numpy())
        if len(found) < len(wanted):
            ids, srcs = t.column("id").to_pylist(), t.column("source").to_pylist()
            hit = [i for i, k in enumerate(zip(srcs, ids)) if k in wanted]
            if hit:
                texts = t.column("text").take(pa.array(hit, pa.int64())).to_pylist()
                for i, text in zip(hit, texts):
                    found[(srcs[i], ids[i])] = text
        elif not lengths:
            break
    if not lengths:
        return found, None
    return found, np.concatenate(lens).astype(np.int64) if lens else np.zeros(0, np.int64)


def _lengths(lay: Layout, manifest: dict[str, Any], src_col: str) -> pa.Table:
    """``source``, ``id``, ``after`` (null: dropped) and ``before`` of the run's documents, written by
    its last pass under OUT/_work. Once _work is gone (``thresher report``): the kept documents from
    OUT/documents, with ``before`` null (the caller re-reads the inputs for it)."""
    files = (lay.work / "lengths").glob("*.arrow") if _whole_work(manifest) else []
    if files:
        return pa.concat_tables([read_arrow(p) for p in files])
    parts = []
    for p in (lay.out / "documents").glob("*"):
        if p.suffix == ".parquet":
            t = read_parquet(p, columns=["id", src_col, "text"])
            src, ids, after = t.column(src_col), t.column("id"), pc.utf8_length(t.column("text"))
        else:
            recs = [json.loads(line) for line in p.read_bytes().splitlines()]
            src, ids = [r[src_col] for r in recs], [r["id"] for r in recs]
            after = [len(r["text"]) for r in recs]
        parts.append(pa.table({"source": pa.array(src, pa.string()), "id": pa.array(ids, pa.string()),
                               "before": pa.nulls(len(ids), pa.int64()),
                               "after": pa.array(after).cast(pa.int64())}))
    return pa.concat_tables(parts) if parts else pa.table(
        {"source": pa.array([], pa.string()), "id": pa.array([], pa.string()),
         "before": pa.array([], pa.int64()), "after": pa.array([], pa.int64())})


def _keys_by_id(keys: pa.Table, ids: set[str]) -> dict[str, tuple[str, str]]:
    """``id -> (source, id)`` for ``ids`` (clusters and twins name documents by id only); an id found
    in several sources maps to the first source in sorted order."""
    if not ids:
        return {}
    hit = keys.filter(pc.is_in(keys.column("id"), value_set=pa.array(sorted(ids), pa.string())))
    out: dict[str, tuple[str, str]] = {}
    for src, i in sorted(zip(hit.column("source").to_pylist(), hit.column("id").to_pylist())):
        out.setdefault(i, (src, i))
    return out


def _diff(a: str, b: str) -> tuple[list, list]:
    """Word-level differences: segments of ``a`` (kept) and ``b`` (removed) with ``-``/``+`` marks."""
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    # autojunk: a token in more than 1% of ``b`` does not start a match (matches still run through
    # it), which bounds the work on texts that repeat a few words thousands of times
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=True)
    sa, sb = [], []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            sa.append(["=", "".join(ta[i1:i2])])
            sb.append(["=", "".join(tb[j1:j2])])
        else:
            if i2 > i1:
                sa.append(["-", "".join(ta[i1:i2])])
            if j2 > j1:
                sb.append(["+", "".join(tb[j1:j2])])
    return sa, sb


def _cut_segments(text: str, rows: list[dict]) -> list:
    segs, pos = [], 0
    for r in sorted(rows, key=lambda r: r["start"]):
        s, e = max(r["start"], pos), min(r["end"], len(text))
        if s > pos:
            segs.append(["=", text[pos:s]])
        if e > s:
            tip = f"{r['step']}: {r['reason']}" + (f" -> {r['replacement']}" if r["replacement"] else "")
            segs.append(["*", text[s:e], tip, r["step"]])
        pos = max(pos, e)
    if pos < len(text):
        segs.append(["=", text[pos:]])
    return segs


def build_report(out: str | os.PathLike[str], stats: dict[str, Any] | None = None, *, samples: int = 200,
                 seed: int = 0, max_chars: int = 20_000) -> str:
    """The report page of a finished (or finishing) run, as a string."""
    lay = Layout(out)
    manifest = read_run(lay)
    if stats is None:          # not from the run itself: only a finished run is read
        if manifest.get("status") != "complete":
            raise OutputError(f"{lay.out} holds an unfinished run; rerun the same `thresher run` "
                              f"command to finish it, then write the report")
        stats = read_json(lay.stats)
    rem_files = (lay.out / "removals").glob("*.parquet")
    removals = pa.concat_tables([read_parquet(p) for p in rem_files]) if rem_files else None
    clusters_path = lay.out / "clusters" / "part-000000.parquet"
    clusters = read_parquet(clusters_path) if clusters_path.exists() else None
    src_col = manifest["config"]["output"]["source_column"]

    lengths = _lengths(lay, manifest, src_col)
    after = lengths.column("after").drop_null().to_numpy()
    keys = lengths.select(["source", "id"])
    rows_by_doc: dict[tuple[str, str], list[dict]] = defaultdict(list)
    removed_keys: list[tuple[str, str]] = []
    if removals is not None and removals.num_rows:
        g = removals.group_by(["source", "doc_id"]).aggregate([]).rename_columns(["source", "id"])
        removed_keys = list(zip(g.column("source").to_pylist(), g.column("id").to_pylist()))
        keys = pa.concat_tables([keys, g.select(["source", "id"])])

    # the sample
    items: list[dict] = []
    cluster_pick: list[tuple[int, list[dict]]] = []
    if clusters is not None and clusters.num_rows:
        members = defaultdict(list)
        for r in clusters.to_pylist():
            members[r["cluster_id"]].append(r)
        order = sorted(members, key=lambda c: _rank(seed, "cluster", c))[:samples // 2 or 1]
        cluster_pick = [(cid, members[cid]) for cid in order]
    # near-dup clusters name documents by id only: (source, id) comes from the lengths table
    by_id = _keys_by_id(keys, {m["doc_id"] for _, ms in cluster_pick for m in ms})
    in_cluster = set(by_id.values())
    wanted = set(in_cluster)
    span_docs = sorted((k for k in removed_keys if k not in in_cluster), key=lambda k: _rank(seed, *k))[:samples]
    wanted.update(span_docs)
    if span_docs:     # only the sampled documents' rows become Python objects (a run may have millions)
        picked = set(span_docs)
        mask = pc.is_in(removals.column("doc_id"), value_set=pa.array(sorted({k[1] for k in picked}), pa.string()))
        for r in removals.filter(mask).select(["source", "doc_id", "start", "end", "step", "reason", "replacement",
                                               "dup_of_id", "dup_of_start", "dup_of_end", "similarity"]).to_pylist():
            if (r["source"], r["doc_id"]) in picked:
                rows_by_doc[(r["source"], r["doc_id"])].append(r)
    twin_ids = {r["dup_of_id"] for k in span_docs for r in rows_by_doc[k] if r["dup_of_id"] is not None}
    by_id.update(_keys_by_id(keys, twin_ids - set(by_id)))
    wanted.update(by_id[i] for i in twin_ids if i in by_id)
    sampled = lengths.filter(pc.is_in(lengths.column("id"), value_set=pa.array(sorted({k[1] for k in span_docs}),
                                                                                 pa.string())))
    kept = {(s, i) for s, i, a in zip(sampled.column("source").to_pylist(), sampled.column("id").to_pylist(),
                                      sampled.column("after").to_pylist()) if a is not None}
    need_before = lengths.column("before").null_count > 0 or not lengths.num_rows
    texts, before = _originals(lay, manifest, wanted, lengths=need_before)
    if before is None:
        before = lengths.column("before").to_numpy()

    docs: list[dict] = []
    index: dict[tuple[str, str], int] = {}

    def doc(k: tuple[str, str]) -> int:
        if k not in index:
            index[k] = len(docs)
            docs.append({"id": k[1], "source": k[0], "length": len(texts.get(k, ""))})
        return index[k]

    for cid, ms in cluster_pick:
        kept_m = [m for m in ms if m["kept"]]
        if not kept_m:
            continue
        kk = by_id.get(kept_m[0]["doc_id"])
        if kk is None or kk not in texts:
            continue
        kt = texts[kk][:max_chars]
        mem = []
        for m in ms:
            if m["kept"]:
                continue
            mk = by_id.get(m["doc_id"])
            if mk is None or mk not in texts:
                continue
            sa, sb = _diff(kt, texts[mk][:max_chars])
            mem.append({"doc": doc(mk), "reason": m["reason"], "similarity": round(m["similarity"] or 0, 4),
                        "segments": sb, "kept_segments": sa})
        if mem:
            ids = [kk[1]] + [docs[x["doc"]]["id"] for x in mem]
            items.append({"kind": "cluster", "step": "near_dup", "reason": mem[0]["reason"], "kept": doc(kk),
                          "members": mem, "ids": ids, "label": f"cluster of {len(ms)}: {kk[1]}"})
    for k in span_docs:
        if k not in texts:
            continue
        rows = rows_by_doc[k]
        text = texts[k]
        dropped = k not in kept
        twins = []
        for r in rows[:50]:
            if r["dup_of_id"] is None:
                continue
            tk = by_id.get(r["dup_of_id"])
            ttext = texts.get(tk, "") if tk else ""
            twins.append({"reason": r["reason"], "start": r["start"], "end": r["end"], "id": r["dup_of_id"],
                          "dup_start": r["dup_of_start"], "dup_end": r["dup_of_end"],
                          "text": ttext[r["dup_of_start"] or 0:r["dup_of_end"] or 0][:max_chars]})
        reasons = sorted({r["reason"] for r in rows})
        items.append({"kind": "spans", "step": rows[0]["step"], "reason": reasons[0], "doc": doc(k),
                      "dropped": dropped, "segments": _cut_segments(text[:max_chars], rows),
                      "twins": twins, "ids": [k[1]],
                      "label": f"{k[1]} ({len(rows)} removal{'s' * (len(rows) != 1)}"
                               f"{', dropped' if dropped else ''})"})
    plots, labels = _plots(stats, clusters, before, after)
    steps = list(stats.get("steps_run") or stats["steps"])
    return _page(stats, manifest, plots, {"items": items, "docs": docs, "labels": labels, "steps": steps,
                                          "colours": len(STEP_COLOURS)})


def _json_block(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _most_found(bench: dict[str, Any]) -> str:
    """A benchmark's most found items, as 'name/id (removals)'."""
    return ", ".join(f"{t['item']} ({t['removals']})" for t in bench["top_items"][:5])


def _count(key: str, value: int) -> str:
    """A table cell showing ``value`` with thousands separators; ``data-v`` holds it as digits."""
    return f'<td data-k="{key}" data-v="{value}">{value:,}</td>'


def _share(part: float, whole: float) -> str:
    """``part`` of ``whole`` as a percentage with one decimal ("-" for an empty whole)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _page(stats: dict[str, Any], manifest: dict[str, Any], plots: list[tuple[str, str]], data: dict) -> str:
    e = html.escape
    t = stats["total"]
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src 'sha256-{script_hash}'")
    rows = []
    for name in stats.get("steps_run") or list(stats["steps"]):
        s = stats["steps"].get(name, {})
        reasons = ", ".join(f"{r}: {v['rows']:,} ({v['chars']:,} chars)" for r, v in sorted(s.get("removals", {}).items()))
        rows.append(f"<tr data-step=\"{e(name)}\"><td>{e(name)}</td>{_count('docs_in', s.get('docs_in', 0))}"
                    f"{_count('docs_out', s.get('docs_out', 0))}<td>{s.get('chars_in', 0):,}</td>"
                    f"<td>{s.get('chars_out', 0):,}</td><td>{_share(s.get('chars_out', 0), s.get('chars_in', 0))}</td>"
                    f"<td>{s.get('seconds', 0)}</td><td style=\"text-align:left\">{e(reasons) or '-'}</td></tr>")
    summary = (f"<table id=\"total\"><tr><th>documents in</th><th>documents out</th><th>kept</th>"
               f"<th>characters in</th><th>characters out</th><th>kept</th><th>quarantined</th><th>wall s</th>"
               f"<th>MB/s</th><th>workers</th></tr>"
               f"<tr>{_count('docs_in', t['docs_in'])}{_count('docs_out', t['docs_out'])}"
               f"<td>{_share(t['docs_out'], t['docs_in'])}</td>"
               f"{_count('chars_in', t['chars_in'])}{_count('chars_out', t['chars_out'])}"
               f"<td>{_share(t['chars_out'], t['chars_in'])}</td>{_count('quarantined', t['quarantined'])}"
               f"<td>{t['wall_seconds']}</td><td>{t['mb_per_s']}</td><td>{t['workers']}</td></tr></table>")
    steps_table = ("<table id=\"steps\"><tr><th>step</th><th>docs in</th><th>docs out</th><th>chars in</th>"
                   "<th>chars out</th><th>chars kept</th><th>s</th><th>removed by reason</th></tr>"
                   + "".join(rows) + "</table>")
    contamination = "".join(
        f"<tr><td>{e(bench)}</td>{_count('documents', b['documents'])}<td>{b['chars']:,}</td>"
        f"<td>{b['items_hit']:,}</td><td style=\"text-align:left\">{e(_most_found(b)) or '-'}</td></tr>"
        for s in stats["steps"].values() for bench, b in sorted(s.get("benchmarks", {}).items()))
    if contamination:
        steps_table += ("<h2>Benchmark contamination</h2><table id=\"contamination\"><tr><th>benchmark</th>"
                        "<th>documents</th><th>characters removed</th><th>items found</th>"
                        "<th>most found</th></tr>" + contamination + "</table>")
    plots_html = "".join(f"<div class=\"plot\" id=\"plot-{name}\">{svg}</div>" for name, svg in plots)
    config = e(json.dumps(manifest.get("config", {}), indent=1, sort_keys=True))
    legend = "".join(f'<span class="k{i % len(STEP_COLOURS)}">{e(name)}</span>'
                     for i, name in enumerate(data["steps"]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>thresher report</title><style>{STYLE}</style></head>
<body><header><h1>thresher report</h1><div>{e(str(len(manifest.get('inputs', []))))} input file(s) ·
steps: {e(', '.join(stats.get('steps_run', [])))}</div></header><main>
<section><h2>Summary</h2>{summary}<br>{steps_table}</section>
<section><h2>Plots</h2><div class="plots">{plots_html}</div></section>
<section><h2>Decisions (a deterministic sample)</h2>
<div id="controls"><label>step <select id="f-step"><option value="">all</option></select></label>
<label>reason <select id="f-reason"><option value="">all</option></select></label>
<label>document id <input id="f-id" type="search" placeholder="search"></label>
<span id="count" class="meta"></span></div>
<div id="legend" class="meta">removed by: {legend}</div>
<div id="list"></div><div id="detail"></div></section>
<section><h2>Configuration</h2><pre class="cfg">{config}</pre></section>
</main>
<script id="thresher-data" type="application/json">{_json_block(data)}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def write_report(out: str | os.PathLike[str] | Location, stats: dict[str, Any] | None = None,
                 **kw: Any) -> Location:
    """Write ``OUT/report.html`` (atomically) and return its location."""
    lay = Layout(out)
    page = build_report(out, stats, **kw)
    path = lay.out / "report.html"
    write_bytes(path, page.encode("utf-8"))
    return path
