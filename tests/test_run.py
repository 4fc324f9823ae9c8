"""End-to-end runs of the library and the CLI on real files. Every run verifies the OUT invariant."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import orjson
import pyarrow.parquet as pq
import pytest
import zstandard

import thresher
from thresher import Cut, DocumentStep, Drop, OutputError, PhaseError
from thresher.engine.layout import Layout, read_json, write_json

from conftest import (DEDUP, EXAMPLES, ROOT, cli, cli_ok, make_corpus, output_bytes, run_ok,
                       shared_path)


def removals(out):
    return pq.read_table(out / "removals").to_pylist()


def test_seeds_cli(tmp_path):
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    proc = cli_ok("run", str(seeds), "--output", str(out), "--steps", "exact", out=out)
    assert "thresher run" in proc.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["total"]["docs_in"] == 2 and stats["total"]["docs_out"] == 2
    s = stats["steps"]["exact"]
    assert s["chars_in"] == s["chars_out"] == stats["input"]["chars"]
    assert sorted(p.name for p in (out / "manifests").iterdir()) == [
        "exact.reduce.json", "ids.json", "ingest.json", "pass1.json"]
    assert not (out / "_work").exists()


def test_examples_find_every_exact_copy(tmp_path):
    out = tmp_path / "out"
    stats = run_ok([EXAMPLES], out, workers=2, steps=["exact"])
    rows = {r["doc_id"]: r for r in removals(out)}
    assert {k: v["dup_of_id"] for k, v in rows.items()} == {
        "bees-cooling": "bees-cooling-copy",          # corpus order: "-copy.txt" sorts first
        "mountain-railway": "mountain-railway-mirror",
        "tomatoes": "tomatoes-whitespace",            # equal once whitespace is folded
        "t2-p2": "t2-p1", "t4-p2": "t4-p1"}
    assert all(r["similarity"] == 1.0 and r["reason"] == "exact" and r["start"] == 0 for r in rows.values())
    q = pq.read_table(out / "quarantine").to_pylist()
    assert [(r["file"], r["line"], r["kind"]) for r in q] == [("examples/forum.jsonl", 7, "invalid_json")] \
        or [(r["line"], r["kind"]) for r in q] == [(7, "invalid_json")]
    t = stats["total"]
    assert (t["docs_in"], t["docs_out"], t["quarantined"]) == (25, 20, 1)
    removed = stats["steps"]["exact"]["removals"]["exact"]
    assert removed["rows"] == 5
    assert stats["steps"]["exact"]["chars_in"] - removed["chars"] == stats["steps"]["exact"]["chars_out"]
    docs = pq.read_table(out / "documents")
    assert docs.column_names == ["id", "text", "source", "url", "author", "tags", "dup_count"]
    counts = dict(zip(docs.column("id").to_pylist(), docs.column("dup_count").to_pylist()))
    assert sum(counts.values()) == 5 and counts["t2-p1"] == 1


@pytest.mark.slow
def test_workers_and_formats_give_identical_bytes(tmp_path):
    corpus = tmp_path / "c.jsonl"
    make_corpus(corpus, docs=3000, copy_fraction=0.2)
    outs = {}
    for w in (1, 2):
        for fmt in ("parquet", "jsonl"):
            out = tmp_path / f"o{w}{fmt}"
            run_ok([corpus], out, workers=w, format=fmt, config={"engine": {"shard_mb": 0.05}})
            outs[(w, fmt)] = output_bytes(out)
    assert outs[(1, "parquet")] == outs[(2, "parquet")]
    assert outs[(1, "jsonl")] == outs[(2, "jsonl")]
    assert len(outs[(1, "parquet")]) > 10   # many shards


def test_jsonl_output_carries_fields_unchanged(tmp_path):
    p = tmp_path / "f.jsonl"
    recs = [{"id": "a", "text": "one", "meta": {"k": [1, 2]}, "when": 2020},
            {"id": "b", "text": "two", "when": "2020-01", "score": 1.5}]
    p.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    out = tmp_path / "out"
    run_ok([p], out, format="jsonl", steps=DEDUP)
    got = [orjson.loads(line) for line in (out / "documents" / "part-000000.jsonl").read_bytes().splitlines()]
    assert got[0] == {"id": "a", "text": "one", "source": str(p), "meta": {"k": [1, 2]}, "when": 2020,
                      "score": None, "dup_count": 0}
    assert got[1]["when"] == "2020-01" and got[1]["score"] == 1.5


@pytest.mark.slow
def test_bad_inputs_end_to_end(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "bad_utf8.txt").write_bytes(b"caf\xe9 au lait\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "good.txt").write_text("A perfectly good document.\n")
    (d / "lines.jsonl").write_bytes(
        b'{"id": "j1", "text": "fine"}\nnot json\n{"id": "j2"}\n{"id": "j3", "text": "\xff"}\n'
        b'{"id": "j4", "text": ""}\n')
    (d / "empty.jsonl").write_bytes(b"")
    data = b"".join(orjson.dumps({"id": f"z{i}", "text": f"doc {i}"}) + b"\n" for i in range(5000))
    (d / "trunc.jsonl.gz").write_bytes(gzip.compress(data)[:-40])
    (d / "trunc.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data)[:-40])
    (d / "big.jsonl").write_bytes(orjson.dumps({"id": "big", "text": "x" * 50_000_000}) + b"\n")
    out = tmp_path / "out"
    cli_ok("run", str(d), "--output", str(out), "--workers", "2", "--steps", ",".join(DEDUP), out=out)
    q = pq.read_table(out / "quarantine").to_pylist()
    got = sorted((os.path.basename(r["file"]), r["kind"]) for r in q)
    assert got == sorted([
        ("bad_utf8.txt", "invalid_utf8"), ("empty.txt", "empty_document"),
        ("lines.jsonl", "invalid_json"), ("lines.jsonl", "missing_text"), ("lines.jsonl", "invalid_utf8"),
        ("lines.jsonl", "empty_document"), ("empty.jsonl", "empty_file"),
        ("trunc.jsonl.gz", "truncated"), ("trunc.jsonl.zst", "truncated")])
    stats = read_json(out / "stats.json")
    assert stats["total"]["quarantined"] == len(q)
    assert sum(stats["input"]["quarantined"].values()) == len(q)
    kept = pq.read_table(out / "documents", columns=["id"]).column("id").to_pylist()
    assert "big" in kept and "good" in kept and "j1" in kept


def test_missing_input_and_usage_errors_exit_2(tmp_path):
    proc = cli("run", "nope/missing.jsonl", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "nope/missing.jsonl does not exist" in proc.stderr
    proc = cli("run", str(EXAMPLES), "--output", str(tmp_path / "o"), "--steps", "exakt")
    assert proc.returncode == 2 and "did you mean 'exact'" in proc.stderr
    cfg = tmp_path / "t.toml"
    cfg.write_text("[engine]\nworker = 2\n")
    proc = cli("run", str(EXAMPLES), "--output", str(tmp_path / "o"), "--config", str(cfg))
    assert proc.returncode == 2 and "did you mean 'engine.workers'" in proc.stderr
    proc = cli("run", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2


@pytest.mark.slow
def test_output_with_another_config_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    cli_ok("run", str(EXAMPLES), "-o", str(out), "-q", out=out)
    before = output_bytes(out)
    cfg = tmp_path / "t.toml"
    cfg.write_text("[exact]\nlowercase = true\n")
    proc = cli("run", str(EXAMPLES), "-o", str(out), "-c", str(cfg), "-q")
    assert proc.returncode == 2 and "another config" in proc.stderr and "--overwrite" in proc.stderr
    assert output_bytes(out) == before
    cli_ok("run", str(EXAMPLES), "-o", str(out), "-c", str(cfg), "-q", "--overwrite", out=out)
    # a finished run started again is not redone
    t0 = time.perf_counter()
    stats = thresher.run([str(EXAMPLES)], str(out), config=cfg)
    assert stats.pop("already_complete") is True
    assert stats == read_json(out / "stats.json") and time.perf_counter() - t0 < 5
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(OutputError, match="holds no thresher run"):
        thresher.run([str(EXAMPLES)], str(tmp_path / "junk"))


def test_a_phase_refuses_a_previous_phase_of_another_config(tmp_path):
    out = tmp_path / "out"
    run_ok([EXAMPLES], out, workers=1, config={"output": {"keep_work": True}})
    lay = Layout(out)
    m = read_json(lay.phase_manifest("exact.reduce"))
    write_json(lay.phase_manifest("exact.reduce"), {**m, "config_hash": "0000"})
    os.remove(lay.phase_manifest("pass3"))      # the pass after exact (boilerplate, near_dup, exact)
    manifest = read_json(lay.run_manifest)
    write_json(lay.run_manifest, {**manifest, "status": "running"})
    with pytest.raises(PhaseError, match="exact.reduce.*made with config 0000"):
        thresher.run([str(EXAMPLES)], str(out), workers=1, config={"output": {"keep_work": True}})


class Shout(DocumentStep):
    """A test-only local step: drops documents mentioning 'drop me', removes each 'NOISE' word."""

    name = "shout"
    stage = "dedup_documents"
    position = 0            # before exact

    def process(self, doc):
        if "drop me" in doc.text:
            return Drop("test_drop")
        cuts, i = [], doc.text.find("NOISE")
        while i != -1:
            cuts.append(Cut(i, i + 5, "test_noise"))
            i = doc.text.find("NOISE", i + 5)
        return cuts


def test_local_steps_plug_into_the_engine_before_and_after_a_global_one(tmp_path, monkeypatch):
    from thresher import registry

    monkeypatch.setattr(registry, "STEPS", {**registry.STEPS, "shout": Shout})
    p = tmp_path / "in.jsonl"
    docs = ["alpha NOISE beta", "alpha beta", "NOISE NOISE gamma", "please drop me", "gamma"]
    p.write_bytes(b"".join(orjson.dumps({"id": f"d{i}", "text": t}) + b"\n" for i, t in enumerate(docs)))
    out = tmp_path / "out"
    stats = run_ok([p], out, steps=["shout", "exact"], workers=1)
    kept = dict(zip(*pq.read_table(out / "documents").select(["id", "text"]).to_pydict().values()))
    # d0 becomes "alpha  beta", equal to d1 after whitespace folding, so exact keeps d0 and drops d1
    assert kept == {"d0": "alpha  beta", "d2": "  gamma"}
    assert stats["steps"]["shout"]["removals"] == {"test_noise": {"rows": 3, "chars": 15},
                                                   "test_drop": {"rows": 1, "chars": 14}}
    rows = {(r["doc_id"], r["reason"]) for r in removals(out)}
    assert ("d1", "exact") in rows and ("d4", "exact") in rows


#: Every step but quality, which drops make_corpus's random-word documents (all of them).
BIG_STEPS = ["boilerplate", "repeats", "language", "near_dup", "exact", "paragraphs", "substrings", "pii"]
BIG_CONFIG = {"engine": {"shard_mb": 4}, "steps": BIG_STEPS}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 200,000-document JSONL corpus with 20% exact copies, and its output with 2 workers."""
    d = tmp_path_factory.mktemp("big")
    corpus = d / "big.jsonl"
    first_of = make_corpus(corpus, docs=200_000, copy_fraction=0.2)
    out = d / "ref"
    stats = run_ok([corpus], out, workers=2, config=BIG_CONFIG)
    return {"corpus": corpus, "first_of": first_of, "out": out, "stats": stats, "bytes": output_bytes(out)}


@pytest.mark.slow
def test_two_hundred_thousand_documents_with_copies(big):
    first_of = big["first_of"]
    assert len(first_of) > 35_000
    rows = removals(big["out"])
    got = {r["doc_id"]: r["dup_of_id"] for r in rows if r["step"] in ("exact", "near_dup")}
    kept = set(pq.read_table(big["out"] / "documents", columns=["id"]).column("id").to_pylist())
    # filters judge each document before dedup: a copy whose original is kept is removed in its
    # favour (make_corpus copies originals only, so the twin is exactly the document copied), by
    # near_dup, which runs first and takes exact copies as Jaccard 1.0 (exact takes what it cannot).
    # A copy whose changed whitespace cut off its first word as a line of its own, which boilerplate
    # removes, is no longer exact: near_dup finds it as LSH finds pairs, all but a few
    expected = {c: o for c, o in first_of.items() if o in kept}
    assert len(expected) > 0.95 * len(first_of)
    missed = [c for c, o in expected.items() if got.get(c) != o]
    assert len(missed) < 0.005 * len(expected)
    want = set(missed) | {first_of[c] for c in missed}
    texts = {r["id"]: r["text"] for r in map(orjson.loads, big["corpus"].read_bytes().splitlines())
             if r["id"] in want}
    assert all(texts[c] != texts[first_of[c]] for c in missed)      # only whitespace-changed copies
    assert set(got.values()) <= kept
    assert sum(r["step"] == "near_dup" for r in rows) > 0.95 * len(expected)
    assert big["stats"]["total"]["shards"] > 10


@pytest.mark.slow
def test_two_hundred_thousand_documents_one_worker_gives_the_same_bytes(big, tmp_path):
    out = tmp_path / "w1"
    run_ok([big["corpus"]], out, workers=1, config=BIG_CONFIG)
    assert output_bytes(out) == big["bytes"]


def _kill_when(proc, folder, count, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if folder.exists() and len(list(folder.glob("*.json"))) >= count:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    return False


@pytest.mark.parametrize("phase,count", [("ingest", 3), ("pass1", 2), ("near_dup.verify", 2), ("pass2", 2),
                                         ("pass3", 2), ("pass4", 2), ("boilerplate.reduce", 2), ("pass5", 2)])
@pytest.mark.slow
def test_killed_run_resumes_to_identical_bytes(big, tmp_path, phase, count):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f"steps = {BIG_STEPS!r}\n[engine]\nshard_mb = 4\n".replace("'", '"'))
    out = tmp_path / "out"
    args = [sys.executable, "-m", "thresher", "run", str(big["corpus"]), "-o", str(out), "-c", str(cfg),
            "-w", "2", "-q"]
    proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    killed = _kill_when(proc, out / "_work" / "done" / phase, count)
    assert killed, "the run ended before it could be killed; make the corpus bigger"
    assert read_json(out / "manifest.json")["status"] == "running"
    cli_ok("run", str(big["corpus"]), "-o", str(out), "-c", str(cfg), "-w", "2", "-q", out=out)
    assert read_json(out / "stats.json")["resumed"] is True
    assert output_bytes(out) == big["bytes"]


def test_records_with_their_own_source_field(tmp_path):
    """Dolma's records carry a `source` field: with no config it is carried as `record_source` (the
    column `source` names the input file); with [output] source_column set, under its own name."""
    data = shared_path("bench", "web", "cc_en_head-0091.jsonl")
    first = json.loads(data.read_text().split("\n", 1)[0])
    out = tmp_path / "o1"
    cli_ok("run", str(data), "-o", str(out), "-q", "-w", "1", out=out)
    docs = pq.read_table(out / "documents")
    assert {"source", "record_source", "metadata", "added"} <= set(docs.column_names)
    assert set(docs.column("source").to_pylist()) == {str(data)}
    assert set(docs.column("record_source").to_pylist()) == {first["source"]}
    out = tmp_path / "o2"
    run_ok([data], out, config={"output": {"source_column": "input_file"}, "engine": {"workers": 1}})
    docs = pq.read_table(out / "documents")
    assert {"input_file", "source", "metadata", "added"} <= set(docs.column_names)
    assert set(docs.column("input_file").to_pylist()) == {str(data)}
    assert set(docs.column("source").to_pylist()) == {first["source"]}


@pytest.mark.slow
def test_nested_field_paths_and_a_failed_run_does_not_claim_out(tmp_path):
    """`text_field`/`id_field` may name nested fields (metadata.id); a key with a dot in it wins.
    A run that failed before finishing a task leaves OUT to the next run of another config."""
    src = tmp_path / "in.jsonl"
    recs = [{"doc": {"body": f"text number {i}", "lang": "en"}, "metadata": {"id": f"m{i}", "url": "u"},
             "a.b": f"dotted {i}"} for i in range(4)]
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "out"
    wrong = cli("run", str(src), "-o", str(out), "-q", "--steps", "exact")
    assert wrong.returncode == 2 and "has a string field 'text'" in wrong.stderr
    cli_ok("run", str(src), "-o", str(out), "-q", "--steps", "exact", "--set", "input.text_field=doc.body",
           "--set", "input.id_field=metadata.id", out=out)           # no --overwrite needed
    docs = pq.read_table(out / "documents").sort_by("id").to_pylist()
    assert [d["id"] for d in docs] == ["m0", "m1", "m2", "m3"]
    assert docs[0]["text"] == "text number 0"
    assert docs[0]["doc"] == {"lang": "en"} and docs[0]["metadata"] == {"url": "u"}   # the rest carried
    out2 = tmp_path / "out2"
    cli_ok("run", str(src), "-o", str(out2), "-q", "--steps", "exact", "--set", "input.text_field=a.b",
           out=out2)
    assert sorted(pq.read_table(out2 / "documents").column("text").to_pylist())[0] == "dotted 0"
    again = cli("run", str(src), "-o", str(out2), "-q", "--steps", "exact")   # a finished run is kept
    assert again.returncode == 2 and "--overwrite" in again.stderr



_FAULTS = """
import resource, sys
import numpy as np
import pyarrow as pa
from thresher.engine.memory import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "retain" else False
faults = []
for _ in range(4):   # a shard's worth of 4 MB blocks, allocated, written and freed, four times
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(500_000, np.int64) for _ in range(8)] + [pa.array(np.arange(500_000))
                                                                for _ in range(8)]
    del blocks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, pa.default_memory_pool().backend_name, sum(faults[1:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_retained_memory_is_reused_without_faulting_pages_in_again():
    def run(mode):
        out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0] == "True", out[1], int(out[2])

    applied, pool, faults = run("retain")
    _, default_pool, default_faults = run("default")
    assert applied and pool == "system" and default_pool != "system"
    pages = 3 * 16 * 4_000_000 // 4096      # the three rounds after the first, in 4 KB pages
    assert default_faults > pages // 4, default_faults    # glibc and mimalloc hand the pages back
    assert faults < pages // 100, (faults, default_faults)


def test_error_messages_are_printed_literally(tmp_path):
    """Brackets in a path or a hint are text, never markup; a long message is not wrapped."""
    folder = tmp_path / "a[" / "b]c [bold]x"        # the path holds "[/b]"
    folder.mkdir(parents=True)
    (folder / "keep.txt").write_text("not a run")
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "hello"}\n')
    proc = cli("run", str(src), "-o", str(folder))
    assert proc.returncode == 2
    assert f"error: output folder {folder} is not empty" in proc.stderr
    # the message is one line, not wrapped (the line before it says what the run started doing)
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert line.endswith("choose an empty or new folder")
    assert all(x.startswith("error:") or " thresher run: loading" in x for x in proc.stderr.splitlines())
    proc = cli("run", str(src), "-o", str(tmp_path / "o"), "--steps", "[pii]")
    assert proc.returncode == 2 and "unknown step '[pii]'" in proc.stderr


@pytest.mark.slow
def test_a_wrong_text_field_stops_the_run_naming_the_fields(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "content": "hello"}\n\n{"id": "b", "content": "world", "url": "u"}\n')
    proc = cli("run", str(src), "-o", str(tmp_path / "out"))
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stderr
    assert "none of its 2 records (from line 1) has a string field 'text'" in said
    assert "fields seen: id, content, url" in said and "[input] text_field" in said
    cfg = tmp_path / "t.toml"
    cfg.write_text('[input]\ntext_field = "content"\n')
    cli_ok("run", str(src), "-o", str(tmp_path / "out2"), "-c", str(cfg), "-q", out=tmp_path / "out2")


def test_files_a_folder_holds_that_are_not_read_are_named_and_counted(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"id": "a", "text": "hello there"}\n')
    (folder / "b.xml.gz").write_bytes(gzip.compress(b"<doc>x</doc>\n"))
    (folder / "c.md").write_text("# notes\n")
    (folder / "d.md").write_text("# more\n")
    proc = cli("run", str(folder), "-o", str(tmp_path / "out"), "--steps", "exact", "-q")
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())
    assert "note: 3 files in the input folders are not read (2 .md, 1 .xml.gz)" in said
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["input"]["not_read"]["files"] == 3
    assert stats["input"]["not_read"]["by_suffix"] == {".md": 2, ".xml.gz": 1}


def test_progress_without_a_terminal_is_plain_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"document number {i}"}) + "\n" for i in range(5)))
    proc = cli("run", str(src), "-o", str(tmp_path / "out"), "--steps", "exact", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    lines = [line.split(" ", 1)[1] for line in proc.stderr.splitlines() if line.strip()]
    # the kernels are compiled first on a machine that has not compiled them (tests/test_warmup.py)
    lines = [line for line in lines if not line.startswith(("phase compile kernels", "thresher run: loading"))]
    phases = [line.split(":")[0] for line in lines]
    assert phases == ["phase ingest", "phase ingest", "phase ids", "phase ids", "phase exact.reduce", "phase exact.reduce",
                      "phase pass1", "phase pass1"]
    assert lines[0].startswith("phase ingest: started (") and "done in" in lines[1]
    assert "5 docs" in lines[1] and "MB/s" in lines[1]


def test_plain_progress_reports_every_interval_with_an_eta():
    import io

    from thresher.cli import PlainProgress

    now = [0.0]
    out = io.StringIO()
    p = PlainProgress(out, interval=30, clock=lambda: now[0])
    p.start_phase("pass1", total_tasks=4, total_bytes=None)
    for _ in range(4):
        now[0] += 20
        p.advance(docs=10)
    p.end_phase()
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == ["phase pass1: started (4 tasks)",
                     "phase pass1: 2/4 tasks, 20 docs, 0 docs/s, ETA 40 s",
                     "phase pass1: 4/4 tasks, 40 docs, 0 docs/s, ETA 0 s",
                     "phase pass1: done in 80.0 s, 4 tasks, 40 docs, 0 docs/s"]


@pytest.mark.parametrize("manifest", [b'{"name": "my project", "version": "1.0"}', b"not json", b"[1, 2]"])
def test_a_folder_with_someone_elses_manifest_is_never_replaced(tmp_path, manifest):
    out = tmp_path / "project"
    out.mkdir()
    (out / "manifest.json").write_bytes(manifest)
    (out / "notes.txt").write_text("mine")
    proc = cli("run", str(EXAMPLES), "-o", str(out), "--overwrite", "-q")
    assert proc.returncode == 2 and "holds no thresher run" in proc.stderr and str(out) in proc.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "manifest.json").read_bytes() == manifest
