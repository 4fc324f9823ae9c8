"""decontaminate: benchmark items found in documents however re-wrapped, re-cased or re-punctuated,
each removal naming its item; clean text untouched; config errors before any work; verify knows
benchmark twins."""

from __future__ import annotations

import gzip
import json
import textwrap

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import thresher
from thresher.errors import ConfigError
from thresher.steps.decontaminate import Decontaminate, DecontaminateConfig
from thresher.text.wordgrams import all_windows, find_windows, lookup_tables

from conftest import cli, run_ok, shared_path

LONG = ("A farmer has 17 sheep and all but nine run away through a gap in the old stone wall; "
        "how many sheep does the farmer have left at the end of the day?")
SHORT = "Which planet in our solar system has the most moons?"            # 10 words
TINY = "What is two plus two?"                                             # 5 words: below min_words
PROSE = ("The river meets the sea at a wide delta where fishermen have worked for centuries. Their boats "
         "are painted in bright colours, and each family keeps its own pattern on the bow. ")


def _bench(tmp_path, rows=None):
    rows = rows or [{"idx": 7, "question": LONG}, {"idx": 8, "question": SHORT}, {"idx": 9, "question": TINY}]
    path = tmp_path / "bench.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in rows)))
    return path


def _step(tmp_path, **kw):
    b = {"name": "quiz", "path": str(_bench(tmp_path)), "fields": ["question"], "id_field": "idx"}
    cfg = thresher.load_config({"decontaminate": {"benchmark": [b], **kw}})
    return Decontaminate(cfg.step_options["decontaminate"])


def test_word_stream_ignores_case_punctuation_and_line_breaks():
    a = "The Quick, brown fox -- jumps\nover the lazy DOG's back!"
    b = "the quick brown fox jumps over\n\n   the lazy dogs back"
    t, h, n = all_windows(pa.array([a, b], pa.large_string()), ngram=4, min_words=2)
    assert t.tolist() == [0] * 7 + [1] * 7 and n.tolist() == [4] * 14
    assert h[:7].tolist() == h[7:].tolist() and len(set(h[:7].tolist())) == 7
    # every other character ends a word: sentences glued by extraction stay apart
    assert all_windows(pa.array(["the end.Next (one)"], pa.large_string()), ngram=4, min_words=1)[2].tolist() == [4]
    # a short text is one window of all its words, found by a lookup of that length
    t, h, n = all_windows(pa.array(["«Übergrößenträger» ÉTÉ self-sacrifice", "one"], pa.large_string()),
                          ngram=13, min_words=2)
    assert t.tolist() == [0] and n.tolist() == [3]
    table, bits = lookup_tables(h)
    found = find_windows(pa.array(["x ÜBERGRÖSSENTRÄGER? no", "Say: übergrößenträger, été selfsacrifice."],
                                  pa.large_string()), np.array([3]), h, table, bits)
    doc, start, end, slot, words = found
    assert doc.tolist() == [1] and slot.tolist() == [0] and words.tolist() == [3]
    assert (start[0], end[0]) == (5, 40)              # first letter to past the last letter


def test_items_are_found_rewrapped_recased_and_named(tmp_path):
    step = _step(tmp_path, window=20)
    rewrapped = textwrap.fill(LONG, 30).upper().replace(";", ",")
    texts = [PROSE + rewrapped + " " + PROSE, PROSE * 3, PROSE + SHORT.lower().rstrip("?") + " " + PROSE,
             PROSE + TINY + " " + PROSE, PROSE + " ".join(LONG.split()[:12]) + " " + PROSE]
    v = step.process_batch(pa.array(texts, pa.large_string()))
    assert v.row.tolist() == [0, 2]
    assert v.twin_id == ["quiz/7", "quiz/8"]
    at = texts[0].index(rewrapped)
    # the words' span (the closing "?" is no word), widened by window on each side
    assert v.start[0] == at - 20 and v.end[0] == at + len(rewrapped) - 1 + 20
    assert v.similarity[0] == 1.0 and v.similarity[1] == 1.0
    # 12 words of a 30-word item is not a 13-word window: no hit; the 5-word item is never matched
    doc = step.process_batch(pa.array(texts, pa.large_string()))
    assert 3 not in doc.row and 4 not in doc.row


def test_common_phrasing_of_many_items_does_not_match(tmp_path):
    stem = "which of the following statements best describes the main purpose of the"
    rows = [{"idx": i, "question": f"{stem} organ number {i} in the human body"} for i in range(12)]
    b = {"name": "quiz", "path": str(_bench(tmp_path, rows)), "fields": ["question"], "id_field": "idx"}
    cfg = thresher.load_config({"decontaminate": {"benchmark": [b]}})
    step = Decontaminate(cfg.step_options["decontaminate"])
    v = step.process_batch(pa.array([PROSE + stem + " river delta. " + PROSE,
                                     PROSE + rows[3]["question"] + ". " + PROSE], pa.large_string()))
    assert v.row.tolist() == [1] and v.twin_id == ["quiz/3"]


def test_config_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="no file matches"):
        thresher.load_config({"decontaminate": {"benchmark": [{"name": "x", "path": str(tmp_path / "no*.jsonl")}]}})
    with pytest.raises(ConfigError, match="needs a name"):
        thresher.load_config({"decontaminate": {"benchmark": [{"path": str(_bench(tmp_path))}]}})
    with pytest.raises(ConfigError, match="min_words"):
        thresher.load_config({"decontaminate": {"min_words": 20, "benchmark": [
            {"name": "x", "path": str(_bench(tmp_path))}]}})
    with pytest.raises(ConfigError, match=r"decontaminate.benchmark\[0\].field"):
        thresher.load_config({"decontaminate": {"benchmark": [{"name": "x", "path": "p", "field": ["q"]}]}})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{oops\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: benchmark item is not valid JSON"):
        thresher.load_config({"decontaminate": {"benchmark": [{"name": "x", "path": str(bad)}]}})
    bad.write_text('{"prompt": "a text under another name"}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:1: benchmark 'x' item has no string field 'question' "
                                          r"\(fields: prompt\); set fields"):
        thresher.load_config({"decontaminate": {"benchmark": [{"name": "x", "path": str(bad)}]}})
    cfg = thresher.load_config({"decontaminate": {"benchmark": [{"name": "x", "path": str(bad), "fields": ["prompt"]}]}})
    assert Decontaminate(cfg.step_options["decontaminate"]).index.names == ["x/0"]


def test_off_by_default_on_when_configured_and_config_reads_back(tmp_path):
    assert "decontaminate" not in thresher.load_config(None).steps
    b = {"name": "quiz", "path": str(_bench(tmp_path))}
    cfg = thresher.load_config({"decontaminate": {"benchmark": [b]}})
    assert cfg.steps[0] == "decontaminate" and "near_dup" in cfg.steps
    src = tmp_path / "c.toml"
    src.write_text(f'[[decontaminate.benchmark]]\nname = "quiz"\npath = "{b["path"]}"\n')
    proc = cli("config", "--config", str(src))
    assert proc.returncode == 0, proc.stderr
    again = tmp_path / "again.toml"
    again.write_text(proc.stdout)
    assert thresher.load_config(str(again)).hash() == thresher.load_config(str(src)).hash()


@pytest.mark.parametrize("mode", ["span", "document"])
def test_cli_run_removes_items_and_verify_passes(tmp_path, mode):
    bench = _bench(tmp_path)
    recs = [{"id": "dirty", "text": PROSE + LONG.upper() + "\n" + PROSE},
            {"id": "clean", "text": PROSE + "A different story about boats and nets.\n" + PROSE * 2},
            {"id": "short", "text": PROSE + SHORT + "\n" + PROSE}]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    config = tmp_path / "c.toml"
    config.write_text(f'[decontaminate]\nmode = "{mode}"\nwindow = 10\n'
                      f'[[decontaminate.benchmark]]\nname = "quiz"\npath = "{bench}"\nid_field = "idx"\n')
    out = tmp_path / "out"
    proc = cli("run", str(src), "-o", str(out), "-q", "--config", str(config), "--steps", "decontaminate")
    assert proc.returncode == 0, proc.stderr
    rem = pq.read_table(out / "removals").to_pylist()
    assert sorted((r["doc_id"], r["dup_of_id"], r["reason"]) for r in rem) == [
        ("dirty", "quiz/7", "contamination"), ("short", "quiz/8", "contamination")]
    docs = {r["id"]: r["text"] for r in pq.read_table(out / "documents").to_pylist()}
    if mode == "span":
        assert LONG.upper() not in docs["dirty"] and docs["dirty"].startswith(PROSE[:-12])
        assert docs["clean"] == recs[1]["text"]
    else:
        assert set(docs) == {"clean"}
    assert cli("verify", str(out)).returncode == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["steps"]["decontaminate"]["removals"]["contamination"]["rows"] == 2
    if mode == "document":       # a benchmark twin is checked by benchmark name, not in documents/
        part = next((out / "removals").glob("*.parquet"))
        t = pq.read_table(part)
        ids = [x if x is None else "other/" + x.split("/")[1] for x in t.column("dup_of_id").to_pylist()]
        pq.write_table(t.set_column(t.schema.get_field_index("dup_of_id"), "dup_of_id", pa.array(ids, pa.string())), part)
        proc = cli("verify", str(out))
        assert proc.returncode != 0 and "not an item of its benchmarks (quiz)" in proc.stdout + proc.stderr
        return
    quiz = stats["steps"]["decontaminate"]["benchmarks"]["quiz"]
    chars = stats["steps"]["decontaminate"]["removals"]["contamination"]["chars"]
    assert (quiz["documents"], quiz["removals"], quiz["items_hit"], quiz["chars"]) == (2, 2, 2, chars)
    assert {t["item"] for t in quiz["top_items"]} == {"quiz/7", "quiz/8"}
    html = (out / "report.html").read_text()
    table = html.split('<table id="contamination">', 1)[1].split("</table>", 1)[0]
    assert '<td>quiz</td><td data-k="documents" data-v="2">2</td>' in table and "quiz/7 (1)" in table


def test_real_benchmarks_find_their_items_in_web_text(tmp_path):
    decon = shared_path("bench", "decon")
    rows = [orjson.loads(x) for x in gzip.decompress((decon / "gsm8k_test-1.jsonl.gz").read_bytes()).splitlines()]
    cfg = thresher.load_config({"decontaminate": {"benchmark": [
        {"name": "mmlu", "path": str(decon / "mmlu_test-*.jsonl.gz"), "id_field": "eval_instance_index"},
        {"name": "gsm8k", "path": str(decon / "gsm8k_test-1.jsonl.gz"), "id_field": "eval_instance_index"}]}})
    step = Decontaminate(cfg.step_options["decontaminate"])
    picks = np.random.default_rng(0).choice(len(rows), 20, replace=False).tolist()
    texts = [PROSE + rows[i]["question"].replace(". ", ".\n").lower() + "\n" + PROSE for i in picks]
    v = step.process_batch(pa.array(texts + [PROSE * 20], pa.large_string()))
    assert v.row.tolist() == list(range(20))
    assert v.twin_id == [f"gsm8k/{rows[i]['eval_instance_index']}" for i in picks]


def test_a_region_must_hold_a_share_of_its_item(tmp_path):
    """13 words of a 33-word item (1 of its 21 windows) are a quote, not the item; 16 words (4 of
    21) are a partial copy; min_share = 0 counts any window."""
    words = LONG.split()
    assert len(words) == 33
    texts = [PROSE + " ".join(words[:13]) + "\n" + PROSE, PROSE + " ".join(words[:16]) + "\n" + PROSE]
    v = _step(tmp_path).process_batch(pa.array(texts, pa.large_string()))
    assert v.row.tolist() == [1] and v.similarity.tolist() == [round(4 / 21, 4)]
    v = _step(tmp_path, min_share=0.0).process_batch(pa.array(texts, pa.large_string()))
    assert v.row.tolist() == [0, 1]


def test_a_run_is_not_taken_as_done_or_resumed_after_its_benchmark_items_changed(tmp_path):
    bench = _bench(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps({"id": "d", "text": PROSE + LONG + "\n" + PROSE}) + b"\n")
    cfg = {"decontaminate": {"window": 10, "benchmark": [
        {"name": "quiz", "path": str(bench), "fields": ["question"], "id_field": "idx"}]}}
    out = tmp_path / "out"
    thresher.run([src], out, config=cfg, steps=["decontaminate"], workers=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["step_inputs"]) == {"decontaminate"}
    assert thresher.run([src], out, config=cfg, steps=["decontaminate"], workers=1)["already_complete"]
    # same path, same options, other items: the index, and so the output, would differ
    _bench(tmp_path, [{"idx": 1, "question": SHORT}])
    with pytest.raises(thresher.OutputError, match="files read by a step"):
        thresher.run([src], out, config=cfg, steps=["decontaminate"], workers=1)
    stats = thresher.run([src], out, config=cfg, steps=["decontaminate"], workers=1, overwrite=True)
    assert "already_complete" not in stats and stats["output"]["docs"] == 1
