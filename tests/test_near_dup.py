"""near_dup: the shingles, the estimator, an exact all-pairs oracle on real documents, chaining."""

import json
import re
import unicodedata

import numpy as np
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.steps.near_dup.minhash import optimal_params, signatures, similarities
from thresher.steps.near_dup import NearDup
from thresher.text.shingles import shingles

from conftest import run_ok, shared_path

PUNCT = re.compile(r"[\u0080-\u00bf\u00d7\u00f7\u2000-\u207f\u3000-\u3002]")


def reference_words(text):
    """Words as the docs define them: NFKC, lower case, runs of letters/digits/_ (ASCII) and non-ASCII
    characters other than spaces and Latin-1 / General Punctuation."""
    t = text if text.isascii() else unicodedata.normalize("NFKC", text).lower()
    t = PUNCT.sub(" ", t.lower() if t.isascii() else t)
    return re.findall(r"(?:[0-9A-Za-z_]|[^\x00-\x7f\s])+", t)


def reference_jaccard(x, y, n=5):
    def grams(text):
        w = reference_words(text)
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)} or ({tuple(w)} if w else set())
    a, b = grams(x), grams(y)
    return len(a & b) / len(a | b) if a | b else 1.0


def test_shingle_sets_match_a_plain_python_reference():
    texts = ["The quick brown fox, jumps over the lazy dog; again and again!",
             "the QUICK brown fox jumps over the lazy dog again and AGAIN",
             "Ünïcode’s “quotes” — and dashes… don’t split words differently in café menus",
             "Unicode’s quotes and dashes don’t split words differently in cafe menus",
             "short", ""]
    off, ids = shingles(texts)
    assert np.diff(off).tolist() == [8, 8, 9, 9, 1, 0]          # 12 words, 12, 13, 13, 1, none
    for i in range(4):
        for j in range(4):
            a, b = ids[off[i]:off[i + 1]], ids[off[j]:off[j + 1]]
            got = len(np.intersect1d(a, b)) / len(np.union1d(a, b))
            assert got == pytest.approx(reference_jaccard(texts[i], texts[j])), (i, j)


def test_one_permutation_estimator_is_unbiased_with_minhash_variance():
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(400):
        n = int(rng.integers(50, 3000))
        base = rng.integers(0, 2**63, n, dtype=np.uint64)
        keep = rng.random(n) < rng.uniform(0.4, 1.0)
        extra = rng.integers(0, 2**63, int(n * rng.uniform(0, 0.5)), dtype=np.uint64)
        a, b = np.unique(base), np.unique(np.concatenate([base[keep], extra]))
        true = len(np.intersect1d(a, b)) / len(np.union1d(a, b))
        sig = signatures(np.concatenate([a, b]), np.array([0, len(a), len(a) + len(b)]), num_perm=128, seed=3)
        errors.append((sig[0] == sig[1]).mean() - true)
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.01
    assert np.sqrt((errors ** 2).mean()) < 0.05        # classic MinHash: sqrt(J(1-J)/128) <= 0.044


UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def _auto_chars(text: str) -> bool:
    """Reference: True if at least 30% of the non-space characters belong to scripts written without
    spaces."""
    if text.isascii() or not text:
        return False
    n = len(text) - sum(map(text.count, " \n\t"))
    return n > 0 and len(UNSPACED.findall(text)) >= 0.3 * n


def test_unspaced_scripts_get_character_shingles():
    assert _auto_chars("今天天气很好我们去公园散步吧")
    assert _auto_chars("ภาษาไทยเขียนติดกันโดยไม่เว้นวรรค")
    assert not _auto_chars("Files: tools/build/example/qt/qt3/uic/main.cpp, Copyright: 2003 Félix")
    assert not _auto_chars("한국어는 띄어쓰기를 합니다")          # Korean is written with spaces
    off, ids = shingles(["今天天气很好我们去公园散步吧", "今天天气很好我们去公园散步"], unit="auto")
    assert np.diff(off).tolist() == [10, 9]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab \n\t.,é€𝄞今天ภาไ한국ｦﾟ\u0e00\u0eff\u9fff\ua000")),
                        max_size=40), min_size=1, max_size=8))
def test_compiled_script_detection_equals_the_reference(texts):
    from thresher.text.shingles import unspaced_texts

    enc = [t.encode() for t in texts]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in enc])]).astype(np.int64)
    data = np.frombuffer(b"".join(enc), np.uint8)
    assert unspaced_texts(data, offsets).tolist() == [_auto_chars(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 200), max_size=30), min_size=1, max_size=6), st.integers(1, 7))
def test_sampled_shingles_are_sorted_unique_multiples(sets, rate):
    from thresher.steps.near_dup.minhash import sampled_shingles

    ids = np.array([x for s in sets for x in s], np.uint64)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])]).astype(np.int64)
    doc, out = sampled_shingles(ids, offsets, rate=rate)
    expect = [(d, x) for d, s in enumerate(sets) for x in sorted(set(s)) if x % rate == 0]
    assert list(zip(doc.tolist(), out.tolist())) == expect


def test_lsh_parameters():
    assert optimal_params(0.8, 128) == (9, 13)
    b, r = optimal_params(0.5, 128)
    assert b * r <= 128 and b > 9


def write_jsonl(path, docs):
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs))


def test_clusters_do_not_chain(tmp_path):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(5000)]
    base = list(rng.choice(words, 400))
    b = base + list(rng.choice(words, 10))                 # B: the longest, near both A and C
    a = base[:360] + list(rng.choice(words, 10))
    c = base[40:] + list(rng.choice(words, 10))
    p = tmp_path / "c.jsonl"
    docs = [("A", " ".join(a)), ("B", " ".join(b)), ("C", " ".join(c))]
    write_jsonl(p, docs)
    ja_c = reference_jaccard(docs[0][1], docs[2][1])
    assert ja_c < 0.8 <= min(reference_jaccard(docs[0][1], docs[1][1]), reference_jaccard(docs[1][1], docs[2][1]))
    out = tmp_path / "out"
    run_ok([p], out, steps=["near_dup"], config={"near_dup": {"containment": 0}})
    rows = {r["doc_id"]: r for r in pq.read_table(out / "removals").to_pylist()}
    assert set(rows) == {"A", "C"} and {r["dup_of_id"] for r in rows.values()} == {"B"}
    for r in rows.values():
        true = reference_jaccard(dict(docs)[r["doc_id"]], docs[1][1])
        assert r["similarity"] == pytest.approx(true) and true >= 0.8
    clusters = pq.read_table(out / "clusters").to_pylist()
    assert sorted((c["doc_id"], c["kept"]) for c in clusters) == [("A", False), ("B", True), ("C", False)]


def test_seeds_article_is_contained_in_the_forum_thread(tmp_path):
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    stats = run_ok([seeds], out, steps=["near_dup"])
    (row,) = pq.read_table(out / "removals").to_pylist()
    assert row["doc_id"].startswith("003") and row["dup_of_id"].startswith("000")
    assert row["reason"] == "containment" and row["similarity"] >= 0.8
    s = stats["steps"]["near_dup"]
    assert (s["candidates"], s["verified"], s["rejected"]) == (1, 1, 0)
    # unverified: the same decision, by the share of 003's sampled shingles found in 000
    stats = run_ok([seeds], tmp_path / "est", steps=["near_dup"], config={"near_dup": {"verify": False}})
    (est,) = pq.read_table(tmp_path / "est" / "removals").to_pylist()
    assert (est["doc_id"], est["dup_of_id"], est["reason"]) == (row["doc_id"], row["dup_of_id"], "containment")
    assert abs(est["similarity"] - row["similarity"]) < 0.1
    assert stats["steps"]["near_dup"]["estimated"] == 1


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """~2,500 webdocs documents (every injected cluster member among them, plus lightly edited copies)
    and the exact similarity of every pair of them, by brute force with the step's own shingles."""
    corpus = shared_path("bench", "webdocs", "corpus.jsonl.zst")
    clusters = [json.loads(line) for line in open(corpus.parent / "gt_clusters.jsonl")]
    wanted = {i for c in clusters[:500] for i in c["ids"]}
    lines = zstandard.ZstdDecompressor().stream_reader(open(corpus, "rb")).readall().splitlines()
    docs = []
    for n, line in enumerate(lines):
        rec = json.loads(line)
        if rec["id"] in wanted or n % 50 == 0:
            docs.append((rec["id"], rec["text"]))
        if n % 100 == 0:                       # and a lightly edited copy: one word in 60 dropped
            words = rec["text"].split(" ")
            docs.append((rec["id"] + "-edit", " ".join(w for k, w in enumerate(words) if k % 60 != 7)))
    assert len(docs) > 2500
    p = tmp_path_factory.mktemp("oracle") / "c.jsonl"
    write_jsonl(p, docs)
    off, ids = NearDup().shingle_sets([t for _, t in docs])
    ia, ib = np.triu_indices(len(docs), 1)
    return p, docs, ia, ib, similarities(ids, off, ia, ids, off, ib)


def _oracle_run(oracle, out, **near_dup):
    """Run near_dup at threshold 0.8 on the oracle's documents; returns (stats, removals by id,
    recall of the pairs >= 0.85, exact (jaccard, share of the removed one inside) of each removal)."""
    p, docs, ia, ib, sims = oracle
    threshold = 0.8
    stats = run_ok([p], out, steps=["near_dup"], workers=2,
                   config={"near_dup": {"threshold": threshold, **near_dup}, "engine": {"shard_mb": 2}})
    index = {d: i for i, (d, _) in enumerate(docs)}
    removed = {r["doc_id"]: r for r in pq.read_table(out / "removals").to_pylist()}
    high = np.flatnonzero(sims[:, 0] >= threshold + 0.05)
    assert len(high) > 300
    recall = sum(1 for k in high if docs[ia[k]][0] in removed or docs[ib[k]][0] in removed) / len(high)
    pair_sim = {}
    for k in np.flatnonzero((sims[:, 0] >= 0.6) | (sims[:, 1] >= 0.6) | (sims[:, 2] >= 0.6)):
        pair_sim[(ia[k], ib[k])] = sims[k]
    exact = {}
    for doc_id, r in removed.items():
        x, y = index[doc_id], index[r["dup_of_id"]]
        s = pair_sim.get((min(x, y), max(x, y)))
        assert s is not None, (doc_id, r["dup_of_id"])
        exact[doc_id] = (s[0], s[1] if x < y else s[2])
    return stats["steps"]["near_dup"], removed, recall, exact


@pytest.mark.slow
def test_exact_oracle_on_real_documents(tmp_path, oracle):
    """All-pairs exact Jaccard by brute force on ~2,500 webdocs documents: recall >= 0.95 of pairs above
    threshold + 0.05; no removal below threshold - 0.05; each recorded similarity is the exact one."""
    stats, removed, recall, exact = _oracle_run(oracle, tmp_path / "out")
    assert recall >= 0.95
    for doc_id, r in removed.items():
        jac, share = exact[doc_id]
        assert jac >= 0.8 - 0.05 or share >= 0.75
        assert r["similarity"] == pytest.approx(jac if r["reason"] == "jaccard" else share)
    assert len(exact) <= stats["verified"] <= stats["candidates"] and "estimated" not in stats


@pytest.mark.slow
def test_unverified_estimates_on_real_documents(tmp_path, oracle):
    """``verify = false`` accepts pairs by their estimates: the same recall, removals whose exact
    similarity is near the threshold at worst, recorded estimates close to the exact values, and
    stats that say the pairs were estimated, not verified."""
    stats, removed, recall, exact = _oracle_run(oracle, tmp_path / "out", verify=False)
    assert recall >= 0.95
    errors = []
    for doc_id, r in removed.items():
        jac, share = exact[doc_id]
        assert jac >= 0.8 - 0.15 or share >= 0.8 - 0.2, (doc_id, jac, share)
        errors.append(r["similarity"] - (jac if r["reason"] == "jaccard" else share))
    assert np.sqrt(np.mean(np.square(errors))) < 0.08
    assert "verified" not in stats and stats["estimated"] + stats["rejected"] == stats["candidates"]
