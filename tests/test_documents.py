import random

import pytest

from thresher.documents import EditedText, apply_removals, covers


def test_apply_removals_deletes_and_replaces():
    text = "Call me at 555-1234 or mail a@b.c today"
    rows = [(11, 19, "<PHONE>"), (28, 33, "<EMAIL>"), (33, 39, None)]
    assert apply_removals(text, rows) == "Call me at <PHONE> or mail <EMAIL>"


def test_apply_removals_refuses_overlap_and_out_of_range():
    with pytest.raises(ValueError, match="overlaps"):
        apply_removals("abcdef", [(0, 3, None), (2, 4, None)])
    with pytest.raises(ValueError, match="outside"):
        apply_removals("abc", [(1, 9, None)])


def test_covers():
    assert covers(10, [(0, 4), (4, 10)])
    assert covers(10, [(0, 10), (2, 3)])
    assert not covers(10, [(0, 4), (5, 10)])
    assert covers(0, [])


def test_to_original_maps_through_earlier_edits():
    e = EditedText("0123456789", [(2, 4, None), (6, 7, None)])
    assert e.current == "0145789"
    # current "45" (offsets 2..4) is original 4..6; current "1457" spans two kept runs
    assert e.to_original(2, 4) == [(4, 6)]
    assert e.to_original(1, 5) == [(1, 2), (4, 6), (7, 8)]


def test_to_original_refuses_cut_into_replacement():
    e = EditedText("mail a@b.c now", [(5, 10, "<EMAIL>")])
    assert e.current == "mail <EMAIL> now"
    assert e.to_original(0, 4) == [(0, 4)]
    assert e.to_original(13, 16) == [(11, 14)]
    with pytest.raises(ValueError, match="replacement"):
        e.to_original(3, 8)


def test_kept_within_skips_removed_pieces():
    e = EditedText("0123456789", [(2, 4, None), (6, 7, None)])
    assert e.kept_within(0, 10) == [(0, 2), (4, 6), (7, 10)]
    assert e.kept_within(3, 6) == [(4, 6)]
    assert e.kept_within(2, 4) == []


def test_random_edit_sequences_keep_the_invariant():
    rng = random.Random(3)
    for _ in range(300):
        original = "".join(rng.choice("ab \n") for _ in range(rng.randint(0, 40)))
        e = EditedText(original)
        rows = []
        for _ in range(rng.randint(0, 4)):
            cur = e.current
            if not cur:
                break
            a = rng.randrange(len(cur))
            b = rng.randint(a, len(cur))
            pieces = e.to_original(a, b)
            expected = cur[:a] + cur[b:]
            e.add([(s, t, None) for s, t in pieces])
            rows += [(s, t, None) for s, t in pieces]
            assert e.current == expected
        assert apply_removals(original, rows) == e.current


# -- splice: many texts' edits at once, as apply_removals does one -------------------------------------

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from thresher.text.splice import splice  # noqa: E402

_ALPHABET = "ab \n\t.\u00e9\u65e5\u3000\U0001f600\u00a0\x85"


@st.composite
def _edited_texts(draw):
    texts = draw(st.lists(st.text(alphabet=_ALPHABET, max_size=25), min_size=1, max_size=8))
    edits = []
    for t in texts:
        cuts, pos = [], 0
        for _ in range(draw(st.integers(0, 4))):
            if pos > len(t):
                break
            a = draw(st.integers(pos, len(t)))
            b = draw(st.integers(a, len(t)))
            cuts.append((a, b, draw(st.sampled_from([None, "<EMAIL>", "\u00e9", ""]))))
            pos = b + 1
        edits.append(cuts)
    return texts, edits


@settings(max_examples=300, deadline=None)
@given(_edited_texts())
def test_splice_equals_apply_removals(case):
    texts, edits = case
    rows = list(range(len(texts)))[::-1]          # any order of rows
    lo, hi, start, end, repl = [], [], [], [], []
    for r in rows:
        lo.append(len(start))
        for a, b, x in edits[r]:
            start.append(a)
            end.append(b)
            repl.append(x)
        hi.append(len(start))
    arr = pa.array(texts, pa.large_string())
    out, lengths, nonspace = splice(arr, np.array(rows), np.array(lo), np.array(hi), np.array(start, np.int64),
                                    np.array(end, np.int64), repl)
    expect = [apply_removals(texts[r], edits[r]) for r in rows]
    assert out.to_pylist() == expect
    assert lengths.tolist() == [len(e) for e in expect]
    assert nonspace.tolist() == [bool(e.strip()) for e in expect]


def test_splice_refuses_overlapping_or_outside_edits():
    arr = pa.array(["hello world"], pa.large_string())
    for start, end in (([0, 3], [5, 8]), ([0], [12]), ([4], [2])):
        with pytest.raises(ValueError, match="overlaps the previous one or lies outside"):
            splice(arr, np.array([0]), np.array([0]), np.array([len(start)]), np.array(start), np.array(end))


@settings(max_examples=200, deadline=None)
@given(_edited_texts())
def test_shard_offset_map_equals_edited_text(case):
    """ShardState.current_to_original (all documents at once) maps as EditedText does one by one."""
    from thresher.engine.shard import ShardState
    from thresher.engine.stats import StepStats

    texts, edits = case
    table = pa.table({"id": [str(i) for i in range(len(texts))], "text": pa.array(texts, pa.large_string()),
                      "source": ["s"] * len(texts), "_len": [len(t) for t in texts]})
    state = ShardState(0, table)
    for r, cuts in enumerate(edits):
        for a, b, x in cuts:
            state.remove_original(r, [(a, b)], "t", "r", StepStats(), replacement=x)
    rows, positions, expect = [], [], []
    for r, t in enumerate(texts):
        e = EditedText(t, [c for c in edits[r] if c[1] > c[0]])
        n = len(e.current)
        rows += [r] * n
        positions += range(n)
        expect += e.current_to_original(np.arange(n)).tolist()
    got = state.current_to_original(np.array(rows, np.int64), np.array(positions, np.int64))
    assert got.tolist() == expect


def test_shard_removal_rows_survive_bulk_single_and_the_next_pass():
    """Rows a batched step records as arrays, rows recorded one by one, and a pass loaded from them all
    give the same removal rows and current texts."""
    from thresher.engine.shard import ShardState
    from thresher.engine.stats import StepStats
    from thresher.steps.pii import PiiFilter

    texts = ["mail a@b.org or c@d.org now", "nothing here", "call 81.2.69.1 please", "drop me"]
    table = pa.table({"id": ["a", "b", "c", "d"], "text": pa.array(texts, pa.large_string()),
                      "source": ["s1", "s1", "s2", "s2"], "_len": [len(t) for t in texts]})
    state = ShardState(3, table)
    state.apply_batch(PiiFilter(), StepStats())            # bulk: arrays, with replacements
    state.drop(3, "t", "gone", StepStats(), value=0.5)     # one row
    state.remove_original(1, [(0, 8)], "t", "cut", StepStats(), dup_of_id="x", similarity=0.9)
    got = state.removals().to_pylist()
    assert [(r["doc_id"], r["start"], r["end"], r["reason"], r["replacement"], r["_drop"]) for r in got] == [
        ("a", 5, 12, "pii_email", "<EMAIL>", False), ("a", 16, 23, "pii_email", "<EMAIL>", False),
        ("b", 0, 8, "cut", None, False), ("c", 5, 14, "pii_ip", "<IP_ADDRESS>", False),
        ("d", 0, 7, "gone", None, True)]
    assert got[0]["step"] == "pii" and got[0]["source"] == "s1" and got[0]["value"] is None
    assert got[0]["_key"] == (3 << 32) and got[3]["_key"] == (3 << 32) | 2
    assert (got[2]["dup_of_id"], got[2]["similarity"], got[4]["value"]) == ("x", 0.9, 0.5)
    current = state.current_texts(np.arange(3)).to_pylist()
    assert current == ["mail <EMAIL> or <EMAIL> now", "here", "call <IP_ADDRESS> please"]
    again = ShardState(3, table, prior=state.removals())
    assert again.removals().equals(state.removals())
    assert again.current_texts(np.arange(3)).to_pylist() == current and not again.alive[3]


def test_offset_search_without_a_composite_key_gives_the_same_answer():
    from thresher.engine.shard import last_at_or_before

    rng = np.random.default_rng(3)
    for _ in range(50):
        row = np.sort(rng.integers(0, 6, 20))
        cur = np.concatenate([np.sort(rng.integers(0, 50, int((row == r).sum()))) for r in range(6)])
        rows, positions = rng.integers(0, 7, 30), rng.integers(0, 60, 30)
        fast = last_at_or_before(row, cur, rows, positions)
        merged = last_at_or_before(row, cur, rows, positions, limit=0)
        brute = np.array([max([k for k in range(len(row)) if (row[k], cur[k]) <= (r, p)], default=-1)
                          for r, p in zip(rows, positions)])
        assert fast.tolist() == merged.tolist() == brute.tolist()
