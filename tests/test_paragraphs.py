"""paragraphs: unit tests of segmentation and end-to-end runs on the examples and the seeds."""

import json
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from thresher.steps.paragraphs import ParagraphDedup, ParagraphsConfig
from thresher.text.normalize import canonical, utf8_buffer
from thresher.text.segment import paragraphs

from conftest import EXAMPLES, run_ok, shared_path


def test_segmentation_offsets_are_characters_and_cuts_take_separators():
    texts = ["Intro é line\nsecond\n\n  Para two ü\n \n\nLast", "only", "", "\n\n"]
    data, off = utf8_buffer(pa.array(texts))
    doc, b0, b1, c0, c1, k0, k1 = paragraphs(data, off)
    got = [(int(d), texts[d][a:b], texts[d][x:y]) for d, a, b, x, y in zip(doc, c0, c1, k0, k1)]
    assert got == [(0, "Intro é line\nsecond", "Intro é line\nsecond\n\n  "),
                   (0, "Para two ü", "Para two ü\n \n\n"),
                   (0, "Last", "\n \n\nLast"),
                   (1, "only", "only")]
    assert [data[a:b].tobytes().decode() for a, b in zip(b0, b1)] == [g[1] for g in got]
    doc, *_ = paragraphs(data, off, mode="lines")
    assert doc.tolist() == [0, 0, 0, 0, 1]


def test_keys_follow_normalisation_and_min_chars():
    step = ParagraphDedup(ParagraphsConfig(min_chars=10))
    texts = ["A paragraph  that repeats\n\nshort", "a paragraph that repeats", "A paragraph that repeats"]
    sk = step.spans(pa.array(texts, pa.large_string()), np.array([len(t) for t in texts]))
    assert sk.row.tolist() == [0, 1, 2]            # "short" is under min_chars
    assert (sk.key[0] == sk.key[2]).all() and not (sk.key[0] == sk.key[1]).all()
    sk = ParagraphDedup(ParagraphsConfig(min_chars=10, lowercase=True)).spans(
        pa.array(texts, pa.large_string()), np.array([len(t) for t in texts]))
    assert (sk.key[0] == sk.key[1]).all()


def test_a_document_of_repeated_paragraphs_is_emptied_and_dropped(tmp_path):
    p = tmp_path / "in.jsonl"
    a = "The first paragraph, long enough to count.\n\nThe second paragraph, long enough as well."
    b = "The second paragraph, long enough as well.\n\n\nThe first paragraph, long enough to count.\n"
    p.write_text(json.dumps({"id": "a", "text": a}) + "\n" + json.dumps({"id": "b", "text": b}) + "\n")
    out = tmp_path / "out"
    stats = run_ok([p], out, steps=["paragraphs"])
    rows = pq.read_table(out / "removals").to_pylist()
    got = sorted((r["reason"], r["start"], r["end"], r["dup_of_start"]) for r in rows if r["doc_id"] == "b")
    assert got == [("emptied", 0, len(b), None),                 # only the final newline was left
                   ("repeated_paragraph", 0, 45, 44),            # with the blank lines after it
                   ("repeated_paragraph", 45, 87, 0)]
    assert stats["total"]["docs_out"] == 1


def split_paragraphs(text):
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]   # blank: any Unicode space


def split_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def assert_unique_paragraphs_survive(inputs, out, min_chars=30, split=split_paragraphs):
    """Every paragraph of >= min_chars that occurs once in the input is in the output unchanged."""
    docs = pq.read_table(out / "documents").to_pylist()
    kept = {(d["source"], d["id"]): d["text"] for d in docs}
    counts = Counter(canonical(p, normalization="NFKC") for _, t in inputs for p in split(t)
                     if len(p) >= min_chars)
    checked = 0
    for key, text in inputs:
        for p in split(text):
            if len(p) >= min_chars and counts[canonical(p, normalization="NFKC")] == 1:
                assert p in kept.get(key, ""), (key, p[:80])
                checked += 1
    return checked


def read_inputs(folder):
    out = []
    for path in sorted(folder.rglob("*.txt")):
        out.append(((str(path), path.stem), path.read_text()))
    return out


def test_examples_repeated_paragraphs(tmp_path):
    out = tmp_path / "out"
    stats = run_ok([EXAMPLES], out, steps=["paragraphs"], workers=2,
                   config={"paragraphs": {"split": "blank_lines"}})
    rows = pq.read_table(out / "removals").to_pylist()
    by_doc = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], []).append(r)
    # the quoted post repeats in the next two posts of the thread; the first stays
    assert "t1-p1" not in by_doc
    assert [r["dup_of_id"] for r in by_doc["t1-p2"]] == ["t1-p1"]
    assert sorted(r["dup_of_id"] for r in by_doc["t1-p3"]) == ["t1-p1", "t1-p2"]
    # the digest repeats two paragraphs of earlier documents and the shared footer; its tomato
    # paragraph is the first of its kind ("digest" sorts before "tomatoes"), so it stays there
    kept = {d["id"]: d["text"] for d in pq.read_table(out / "documents").to_pylist()}
    assert kept["digest"].startswith("Tomatoes planted too early") and "\n\n" not in kept["digest"]
    assert {r["dup_of_id"] for r in by_doc["tomatoes"]} >= {"digest"}
    assert stats["steps"]["paragraphs"]["removals"]["repeated_paragraph"]["rows"] >= 10
    inputs = read_inputs(EXAMPLES / "web")
    for line in (EXAMPLES / "forum.jsonl").read_text().splitlines():
        if line.endswith("}"):
            rec = json.loads(line)
            inputs.append(((str(EXAMPLES / "forum.jsonl"), rec["id"]), rec["text"]))
    assert assert_unique_paragraphs_survive(inputs, out) >= 5


def test_seeds_unique_paragraphs_survive(tmp_path):
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    run_ok([seeds], out, steps=["paragraphs"], config={"paragraphs": {"split": "blank_lines"}})
    assert assert_unique_paragraphs_survive(read_inputs(seeds), out) > 20


def test_seeds_quoted_posts_survive_once_with_line_paragraphs(tmp_path):
    """The forum thread glues each quoted post to a lone "." line, so the posts are whole paragraphs
    only when every line is one (``split = "lines"``, the default and Dolma's unit too)."""
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    run_ok([seeds], out, steps=["paragraphs"], config={"paragraphs": {"split": "lines"}})
    inputs = read_inputs(seeds)
    kept = {d["id"]: d["text"] for d in pq.read_table(out / "documents").to_pylist()}
    forum = kept[next(k for k in kept if k.startswith("000"))]
    lines = Counter(line for line in split_lines(inputs[0][1]) if len(line) >= 30)
    repeated = [line for line, n in lines.items() if n > 1]
    assert len(repeated) >= 5
    kept_lines = Counter(split_lines(forum))
    for line in repeated:
        assert kept_lines[line] == 1, line[:80]
    assert assert_unique_paragraphs_survive(inputs, out, split=split_lines) > 50


import xxhash  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from thresher.text.normalize import span_fingerprints  # noqa: E402
from thresher.text.segment import keyed_lines  # noqa: E402

_LINE_ALPHABET = "aB \n\t\x1c.\u00e9\u00c9\u65e5\u3000\u00a0\u2003\x85\uff21\ufb01"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_LINE_ALPHABET, max_size=40), min_size=1, max_size=6))
def test_keyed_lines_equal_segmenting_then_fingerprinting(texts):
    """The fused line kernel gives the spans, cuts and keys of paragraphs(mode="lines") followed by
    span_fingerprints (NFKC, lower case, whitespace folded), on ASCII and non-ASCII whitespace alike."""
    data, off = utf8_buffer(pa.array(texts, pa.large_string()))
    doc, b0, b1, c0, c1, cut0, cut1 = paragraphs(data, off, mode="lines")
    key = span_fingerprints(data, b0, b1 - b0, normalization="NFKC", lowercase=True)
    got = keyed_lines(data, off, normalization="NFKC", lowercase=True)
    for want, have in zip((doc, c0, c1, cut0, cut1, key), got):
        assert np.array_equal(want, have)
    for d, a, b, k in zip(doc.tolist(), c0.tolist(), c1.tolist(), got[5]):   # the canonical line's hash
        line = canonical(texts[d][a:b], normalization="NFKC", lowercase=True)
        assert k.tolist() == np.frombuffer(xxhash.xxh3_128_digest(line.encode()), ">u8").tolist()
