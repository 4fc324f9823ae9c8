"""substrings: the result equals a brute-force reference, less the twins it keeps, whatever the shards
and the fingerprint ranges."""

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thresher.text.normalize import utf8_buffer
from thresher.text.tokens import tokenize

from conftest import EXAMPLES, output_bytes, run_ok, shared_path


def reference_spans(docs, w):
    """Brute force: a window of w words is a repeat if the same words stood earlier in the corpus
    (earlier document, or earlier in the same one); a document's repeated windows are united."""
    seen = set()
    out = {}
    for doc_id, text in docs:
        words = [(m.start(), m.end()) for m in _words(text)]
        toks = [text[a:b] for a, b in words]
        covered = [False] * len(toks)
        for p in range(len(toks) - w + 1):
            win = tuple(toks[p:p + w])
            if win in seen:
                for q in range(p, p + w):
                    covered[q] = True
            seen.add(win)
        spans, q = [], 0
        while q < len(toks):
            if covered[q]:
                r = q
                while r < len(toks) and covered[r]:
                    r += 1
                spans.append((words[q][0], words[r - 1][1]))
                q = r
            else:
                q += 1
        if spans:
            out[doc_id] = spans
    return out


def _words(text):
    import re
    return re.finditer(r"\S+", text)


def random_corpus(path, n_docs, seed, vocab=30):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    docs = []
    for i in range(n_docs):
        if docs and rng.random() < 0.4:            # paste a piece of an earlier document
            src = rng.choice(docs)[1].split()
            a = rng.randrange(len(src))
            piece = src[a: a + rng.randint(3, 25)]
            body = [rng.choice(words) for _ in range(rng.randint(0, 15))] + piece + \
                   [rng.choice(words) for _ in range(rng.randint(0, 15))]
        else:
            body = [rng.choice(words) for _ in range(rng.randint(1, 40))]
        text = " ".join(body) if rng.random() < 0.5 else "\n".join(body) + "\n"
        docs.append((f"d{i}", text))
    path.write_text("".join(json.dumps({"id": d, "text": t}) + "\n" for d, t in docs))
    return docs


def test_tokens_are_words_or_characters_with_character_offsets():
    texts = ["  héllo wörld\u00a0x\n\ny ", "", "a"]
    data, off = utf8_buffer(pa.array(texts))
    doc, s, e, tok = tokenize(data, off)
    assert [(int(d), texts[d][a:b]) for d, a, b in zip(doc, s, e)] == [
        (0, "héllo"), (0, "wörld"), (0, "x"), (0, "y"), (2, "a")]
    assert tok[0] != tok[1]
    doc, s, e, tok = tokenize(data, off, unit="chars")
    assert "".join(texts[d][a:b] for d, a, b in zip(doc, s, e)) == "".join(texts)
    assert tok[2] != tok[3] and tok[0] == tok[1]          # "h" vs "é"; two spaces


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equals_brute_force_and_does_not_depend_on_shards_or_ranges(tmp_path, seed):
    corpus = tmp_path / "c.jsonl"
    docs = random_corpus(corpus, 120, seed)
    w = 5
    expected = _chars(reference_spans(docs, w))
    results = []
    for task_windows, shard_mb in ((10_000_000, 16), (1000, 0.002)):
        out = tmp_path / f"o{task_windows}"
        stats = run_ok([corpus], out, steps=["substrings"], workers=1, config={
            "substrings": {"min_tokens": w, "task_windows": task_windows},
            "engine": {"shard_mb": shard_mb, "partitions": 1}})
        rows = pq.read_table(out / "removals").to_pylist()
        rows = [r for r in rows if r["reason"] == "repeated_substring"]
        got = _chars({r["doc_id"]: [(r["start"], r["end"])] for r in rows}, rows)
        twins = _chars({}, [{"doc_id": r["dup_of_id"], "start": r["dup_of_start"], "end": r["dup_of_end"]}
                            for r in rows])
        # what the brute force removes, except the text that a removed span names as its twin (kept
        # so that every twin stays, with the spaces beside it); nothing else
        text = dict(docs)
        assert got <= expected
        assert {(d, c) for d, c in expected - got if not text[d][c].isspace()} <= twins
        assert not got & twins
        assert len(expected - got) < 0.05 * len(expected)
        results.append(got)
        for r in rows:
            removed = text[r["doc_id"]][r["start"]:r["end"]].split()
            twin = text[r["dup_of_id"]][r["dup_of_start"]:r["dup_of_end"]].split()
            # the matching part of the run's twin, or (a piece past its end) the whole twin
            assert removed == twin if len(twin) == len(removed) else len(twin) >= w
            assert int(r["dup_of_id"][1:]) <= int(r["doc_id"][1:])
        tasks = {p: json.loads((out / "manifests" / f"substrings.{p}.json").read_text())["tasks"]
                 for p in ("windows", "runs")}
        assert (tasks["windows"] > 1) == (tasks["runs"] > 1) == (task_windows == 1000)   # one or several
        assert stats["steps"]["substrings"]["removals"]["repeated_substring"]["rows"] > 10
    assert results[0] == results[1]


def _chars(spans: dict, rows=()) -> set:
    """(document, character) pairs of ``{doc: [(start, end)]}`` and of ``rows``' spans."""
    out = {(d, c) for d, ss in spans.items() for a, b in ss for c in range(a, b)}
    for r in rows:
        out |= {(r["doc_id"], c) for c in range(r["start"], r["end"])}
    return out


def test_character_mode_finds_exact_character_substrings(tmp_path):
    p = tmp_path / "c.jsonl"
    base = "The quick brown fox jumps over the lazy dog near the river bank."
    docs = [("a", "Intro. " + base + " Outro."), ("b", "Other start " + base + "!")]
    p.write_text("".join(json.dumps({"id": d, "text": t}) + "\n" for d, t in docs))
    out = tmp_path / "out"
    run_ok([p], out, steps=["substrings"], config={"substrings": {"min_chars": 20}})
    rows = pq.read_table(out / "removals").to_pylist()
    assert [(r["doc_id"], docs[1][1][r["start"]:r["end"]]) for r in rows] == [("b", " " + base)]
    assert docs[0][1][rows[0]["dup_of_start"]:rows[0]["dup_of_end"]] == " " + base


def test_seeds_article_copy_keeps_only_what_the_forum_lacks(tmp_path):
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    run_ok([seeds], out, steps=["exact", "paragraphs", "substrings"], workers=2)   # paragraph = line
    kept = {d["id"][:3]: d["text"] for d in pq.read_table(out / "documents").to_pylist()}
    forum = open(next(seeds.glob("000_*.txt"))).read()
    article = kept["003"]
    assert article.startswith("Print Share Comment Cite Upload Translate Updates")
    assert "Radio Free" in article and "To access this feature" in article
    # nothing of what 003 keeps (a line of 30+ characters) stands in the forum thread
    assert not [line for line in article.splitlines() if len(line) >= 30 and line.strip() in forum]
    assert len(article) < 1400


def test_workers_give_identical_bytes_for_every_step(tmp_path):
    outs = []
    for w in (1, 2):
        out = tmp_path / f"w{w}"
        run_ok([EXAMPLES], out, workers=w, config={"engine": {"shard_mb": 0.002},
                                                   "substrings": {"min_tokens": 8}})
        outs.append(output_bytes(out))
    assert outs[0] == outs[1]


@pytest.mark.slow
def test_debian_copyright_files_both_steps(tmp_path):
    """~700 real licence files of this machine, full of repeated licence texts."""
    import glob
    import shutil

    files = sorted(glob.glob("/usr/share/doc/*/copyright"))
    if len(files) < 50:
        pytest.skip("needs the Debian copyright files in /usr/share/doc (a Debian machine)")
    src = tmp_path / "in"
    src.mkdir()
    for f in files:
        shutil.copyfile(f, src / (f.split("/")[-2] + ".txt"))
    outs = []
    for w in (1, 2):
        out = tmp_path / f"w{w}"
        stats = run_ok([src], out, steps=["paragraphs", "substrings"], workers=w,
                       config={"engine": {"shard_mb": 2}})
        outs.append(output_bytes(out))
    removed = {k: sum(r["chars"] for r in v["removals"].values()) for k, v in stats["steps"].items()}
    assert removed["paragraphs"] > 0.5 * stats["total"]["chars_in"]
    assert removed["substrings"] > 0
    assert outs[0] == outs[1]


def test_window_fingerprints_match_window_equality_and_stay_inside_a_document():
    from thresher.steps.substrings.windows import BUCKET_BITS, bucketed_windows
    import numpy as np
    rng = np.random.default_rng(5)
    vocab = rng.integers(0, 2**63, 6, dtype=np.int64).astype(np.uint64)
    tok = vocab[rng.integers(0, 6, 400)]
    row = np.repeat(np.arange(8, dtype=np.int32), [0, 3, 60, 1, 100, 36, 150, 50])[:400]
    w = 3
    fp, pos, bounds = bucketed_windows(tok, row, w)
    valid = [p for p in range(len(tok) - w + 1) if row[p] == row[p + w - 1]]
    assert sorted(pos.tolist()) == valid                       # every window of one document, once
    assert (fp >> np.uint64(64 - BUCKET_BITS)).tolist() == sorted((fp >> np.uint64(64 - BUCKET_BITS)).tolist())
    assert bounds[-1] == len(fp) and all(np.diff(bounds) >= 0)
    win = {int(p): tuple(tok[p:p + w].tolist()) for p in pos}
    by_fp = dict(zip(pos.tolist(), fp.tolist()))
    for a in valid[::7]:
        for b in valid:
            assert (by_fp[a] == by_fp[b]) == (win[a] == win[b])


def test_candidates_name_the_earliest_window_and_verification_drops_collisions():
    from thresher.steps.substrings.windows import repeats, verified
    import numpy as np
    fp = np.array([7, 3, 7, 9, 3, 7], np.uint64)
    pos = np.array([40, 10, 5, 1, 2, 30], np.int64)
    p, s = repeats(fp, pos)
    assert list(zip(p.tolist(), s.tolist())) == [(10, 2), (30, 5), (40, 5)]
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 50, 3000).astype(np.uint64)
    tokens[2000:2100] = tokens[100:200]                         # a true repeat of 100 tokens
    w = 8
    cand_pos = np.concatenate([np.arange(2000, 2093), [2500, 2600]])
    cand_src = np.concatenate([np.arange(100, 193), [7, 8]])   # the last two: "collisions"
    cand_src[50] = 3                                           # one more inside the stretch
    look = lambda idx: tokens[idx]                             # noqa: E731
    expected = np.array([(tokens[a:a + w] == tokens[b:b + w]).all() for a, b in zip(cand_pos, cand_src)])
    for batch in (10, 64, 4_000_000):                           # stretches split over batches or not
        assert verified(cand_pos, cand_src, w, look, look, batch=batch).tolist() == expected.tolist()
    assert expected.sum() == 92
