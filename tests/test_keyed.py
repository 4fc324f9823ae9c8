import numpy as np
import pyarrow as pa

from thresher.steps.keyed import resolve


def records(rows):
    hi, lo, key, start, end, ids = zip(*rows)
    return pa.table({"hi": pa.array(hi, pa.uint64()), "lo": pa.array(lo, pa.uint64()),
                     "_key": pa.array(key, pa.int64()), "start": pa.array(start, pa.int64()),
                     "end": pa.array(end, pa.int64()), "cut_start": pa.array(start, pa.int64()),
                     "cut_end": pa.array(end, pa.int64()), "id": pa.array(ids)})


def test_first_occurrence_in_corpus_order_is_kept():
    t = records([
        (1, 1, 50, 0, 10, "late"),
        (1, 1, 7, 0, 12, "first"),
        (2, 9, 3, 0, 5, "alone"),
        (1, 1, 20, 0, 11, "middle"),
        (1, 2, 21, 0, 11, "other-low-bits"),
    ])
    d = resolve(t).to_pylist()
    assert d == [
        {"_key": 20, "start": 0, "end": 11, "dup_of_id": "first", "dup_of_start": 0, "dup_of_end": 12,
         "reason": None, "similarity": None, "value": None, "dup_of_key": 7},
        {"_key": 50, "start": 0, "end": 10, "dup_of_id": "first", "dup_of_start": 0, "dup_of_end": 12,
         "reason": None, "similarity": None, "value": None, "dup_of_key": 7},
    ]


def test_same_document_spans_order_by_start():
    t = records([(5, 5, 1, 100, 130, "d"), (5, 5, 1, 10, 40, "d")])
    assert resolve(t).to_pylist() == [
        {"_key": 1, "start": 100, "end": 130, "dup_of_id": "d", "dup_of_start": 10, "dup_of_end": 40,
         "reason": None, "similarity": None, "value": None, "dup_of_key": 1}]


def test_input_order_does_not_matter():
    rng = np.random.default_rng(0)
    rows = [(int(rng.integers(0, 50)), 0, i, 0, 1, f"d{i}") for i in range(2000)]
    a = resolve(records(rows))
    b = resolve(records(rows[::-1]))
    assert a.equals(b)
    assert a.num_rows == 2000 - len({r[0] for r in rows})


def test_a_repeat_is_cut_with_its_extent_and_points_at_the_kept_span():
    t = records([(5, 5, 1, 10, 40, "a"), (5, 5, 9, 100, 130, "b")])
    t = t.set_column(t.schema.get_field_index("cut_end"), "cut_end", pa.array([42, 133], pa.int64()))
    assert resolve(t).to_pylist() == [
        {"_key": 9, "start": 100, "end": 133, "dup_of_id": "a", "dup_of_start": 10, "dup_of_end": 40,
         "reason": None, "similarity": None, "value": None, "dup_of_key": 1}]


def test_a_whole_document_twin_has_no_span():
    d = resolve(records([(1, 1, 3, 0, 9, "x"), (1, 1, 8, 0, 9, "y")]), whole_document=True).to_pylist()
    assert [(r["_key"], r["dup_of_id"], r["dup_of_start"], r["dup_of_key"]) for r in d] == [(8, "x", None, 3)]
