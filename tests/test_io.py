"""Readers: chunking, decompression faults, and every kind of bad record → quarantine with file and line."""

import gzip

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from thresher import InputConfig, InputError
from thresher.io.inputs import expand_inputs
from thresher.io.parse import FIELD_PREFIX, parse_chunk
from thresher.io.readers import iter_chunks


def parse_all(paths, shard_bytes=1 << 30, **cfg):
    files = expand_inputs([str(p) for p in paths])
    tables, quarantine, json_fields = [], [], []
    for chunk in iter_chunks(files, shard_bytes=shard_bytes, cfg=InputConfig(**cfg)):
        parsed = parse_chunk(chunk, InputConfig(**cfg), source_column="source")
        tables.append(parsed.table)
        quarantine += parsed.quarantine
        json_fields += parsed.json_fields
    return tables, quarantine, json_fields


def lines(n, start=0):
    return b"".join(orjson.dumps({"id": f"d{i}", "text": f"document number {i}"}) + b"\n"
                    for i in range(start, start + n))


def test_expand_inputs_orders_and_rejects(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ["b/2.txt", "b/1.txt", "a.jsonl", "skip.md"]:
        (tmp_path / name).write_text("x")
    files = expand_inputs([tmp_path / "b", tmp_path / "a.jsonl", tmp_path / "b" / "1.txt"])
    assert [f.path.rsplit("/", 1)[1] for f in files] == ["1.txt", "2.txt", "a.jsonl"]
    with pytest.raises(InputError, match="does not exist"):
        expand_inputs([tmp_path / "missing"])
    with pytest.raises(InputError, match="unsupported file type"):
        expand_inputs([tmp_path / "skip.md"])
    with pytest.raises(InputError, match="matches no"):
        expand_inputs([str(tmp_path / "*.nothing")])


def test_jsonl_chunks_cut_at_lines_and_number_them(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_bytes(lines(1000))
    files = expand_inputs([p])
    chunks = list(iter_chunks(files, shard_bytes=4000, cfg=InputConfig()))
    assert len(chunks) > 5
    assert [c.index for c in chunks] == list(range(len(chunks)))
    def count(c):
        return sum(piece.count(b"\n") for piece in c.payload)
    assert sum(count(c) for c in chunks) == 1000
    assert chunks[1].first_line == count(chunks[0]) + 1
    assert chunks[1].byte_offset == sum(map(len, chunks[0].payload))
    tables, q, _ = parse_all([p], shard_bytes=4000)
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    assert ids == [f"d{i}" for i in range(1000)] and q == []


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
@pytest.mark.parametrize("shard_bytes", [1 << 30, 5_000], ids=["read-by-worker", "streamed-by-driver"])
def test_compressed_and_truncated_archives(tmp_path, suffix, shard_bytes):
    data = lines(20000)
    comp = gzip.compress(data) if suffix.endswith("gz") else zstandard.ZstdCompressor().compress(data)
    good = tmp_path / f"good{suffix}"
    good.write_bytes(comp)
    assert len(comp) > shard_bytes or shard_bytes == 1 << 30   # which path is under test
    tables, q, _ = parse_all([good], shard_bytes=shard_bytes)
    assert sum(t.num_rows for t in tables) == 20000 and q == []

    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(comp[: len(comp) // 2])
    tables, q, _ = parse_all([cut], shard_bytes=shard_bytes)
    read = sum(t.num_rows for t in tables)
    assert 0 < read < 20000
    assert len(q) == 1 and q[0]["kind"] == "truncated"
    assert q[0]["file"] == str(cut) and q[0]["line"] == read + 1
    assert "truncated" in q[0]["error"]


def test_multi_frame_zstd_is_read_whole(tmp_path):
    c = zstandard.ZstdCompressor()
    p = tmp_path / "frames.jsonl.zst"
    p.write_bytes(c.compress(lines(10)) + c.compress(lines(10, 10)))
    tables, q, _ = parse_all([p])
    assert sum(t.num_rows for t in tables) == 20 and q == []


def test_every_bad_jsonl_record_is_quarantined_with_its_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(
        b'{"id": "ok1", "text": "fine"}\n'
        b'{"id": "x", "text": "caf\xe9"}\n'        # invalid UTF-8
        b'this is not json\n'
        b'{"id": "y", "body": "no text field"}\n'
        b'{"id": "z", "text": 42}\n'
        b'[1, 2]\n'
        b'\n'
        b'{"id": "e", "text": ""}\n'
        b'{"id": "big", "text": "ok", "n": 123456789012345678901234567890}\n'
        b'{"text": "no id"}\n'
    )
    tables, q, _ = parse_all([p])
    kinds = [(r["line"], r["kind"]) for r in q]
    assert kinds == [(2, "invalid_utf8"), (3, "invalid_json"), (4, "missing_text"), (5, "missing_text"),
                     (6, "not_object"), (7, "blank_line"), (8, "empty_document")]
    assert all(r["file"] == str(p) for r in q)
    assert q[1]["raw"] == b"this is not json"
    ids = tables[0].column("id").to_pylist()
    assert ids == ["ok1", "big", f"{p}:10"]


def test_txt_invalid_utf8_empty_and_exact_decoding(tmp_path):
    (tmp_path / "a.txt").write_bytes("\ufeffline one\r\nline two\n".encode())
    (tmp_path / "b.txt").write_bytes(b"good line\nbad \xff byte\n")
    (tmp_path / "c.txt").write_bytes(b"")
    tables, q, _ = parse_all([tmp_path])
    t = tables[0]
    assert t.column("id").to_pylist() == ["a"]
    assert t.column("text").to_pylist() == ["\ufeffline one\r\nline two\n"]   # exactly as stored
    assert [(r["file"].rsplit("/", 1)[1], r["line"], r["byte_offset"], r["kind"]) for r in q] == [
        ("b.txt", 2, 14, "invalid_utf8"), ("c.txt", None, None, "empty_document")]


def test_empty_jsonl_file_is_a_quarantine_record(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    tables, q, _ = parse_all([p])
    assert sum(t.num_rows for t in tables) == 0
    assert [r["kind"] for r in q] == ["empty_file"]


def test_huge_document_and_max_doc_chars(tmp_path):
    big = "word " * 10_000_000   # 50 MB
    p = tmp_path / "big.jsonl"
    p.write_bytes(orjson.dumps({"id": "huge", "text": big}) + b"\n")
    tables, q, _ = parse_all([p])
    assert tables[0].column("text")[0].as_py() == big and q == []
    tables, q, _ = parse_all([p], max_doc_chars=1000)
    assert tables[0].num_rows == 0 and q[0]["kind"] == "too_large"


def test_carried_fields_keep_types_and_mixed_types_become_json(tmp_path):
    p = tmp_path / "f.jsonl"
    recs = [{"id": "a", "text": "t", "url": "u1", "meta": {"k": 1}, "when": 2020},
            {"id": "b", "text": "t", "url": "u2", "when": "2020-01"}]
    p.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    tables, q, json_fields = parse_all([p])
    t = tables[0]
    assert t.column(FIELD_PREFIX + "url").to_pylist() == ["u1", "u2"]
    assert t.column(FIELD_PREFIX + "meta").to_pylist() == [{"k": 1}, None]
    assert json_fields == ["when"]
    assert t.column(FIELD_PREFIX + "when").to_pylist() == ["2020", '"2020-01"']


def test_a_records_own_source_is_carried_as_record_source(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_bytes(b'{"id": "a", "text": "t", "source": "cc"}\n')
    tables, q, _ = parse_all([p])
    assert tables[0].column(FIELD_PREFIX + "record_source").to_pylist() == ["cc"] and q == []
    p.write_bytes(b'{"id": "a", "text": "t", "source": "cc", "record_source": "x"}\n')
    with pytest.raises(InputError, match="source_column"):          # both names taken: say the fix
        parse_all([p])


def test_parquet_input_keeps_typed_columns(tmp_path):
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["one", None, "three"],
                             "score": pa.array([0.5, 0.7, 0.9], pa.float32())}), p, row_group_size=1)
    tables, q, _ = parse_all([p], shard_bytes=1)
    kept = pa.concat_tables(tables)
    assert kept.column("id").to_pylist() == ["a", "c"]
    assert kept.column(FIELD_PREFIX + "score").type == pa.float32()
    assert [(r["line"], r["kind"]) for r in q] == [(2, "missing_text")]


def test_read_ahead_keeps_order_raises_where_the_source_failed_and_stops_early():
    import threading

    from thresher.io.readers import read_ahead

    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise ValueError("broken input at line 3")

    got = []
    with pytest.raises(ValueError, match="line 3"):
        for x in read_ahead(failing()):
            got.append(x)
    assert got == [1, 2]

    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    it = read_ahead(endless(), depth=2)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    it.close()                       # the consumer stops: the thread stops and closes the source
    assert closed.wait(5)
    assert not any(t.name == "thresher-read-ahead" for t in threading.enumerate())


def test_dolma_suffixes_and_bzip2_are_json_lines(tmp_path):
    import bz2

    recs = [{"id": f"d{i}", "text": f"document {i} " + "word " * 2000} for i in range(300)]
    data = b"".join(orjson.dumps(r) + b"\n" for r in recs)
    half = len(data) // 2
    cut = data.index(b"\n", half) + 1
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(data))
    (tmp_path / "b.json.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    (tmp_path / "c.jsonl.bz2").write_bytes(bz2.compress(data[:cut]) + bz2.compress(data[cut:]))  # two streams
    (tmp_path / "d.json.bz2").write_bytes(bz2.compress(data)[:-100])                            # truncated
    files = expand_inputs([tmp_path])
    assert [f.kind for f in files] == ["jsonl"] * 4
    got = {}
    for f in files:
        for chunk in iter_chunks([f], shard_bytes=1 << 30, cfg=InputConfig()):
            parsed = parse_chunk(chunk, InputConfig(), source_column="source")
            got[f.path.rsplit("/", 1)[1]] = (parsed.table.column("id").to_pylist(),
                                             [q["kind"] for q in parsed.quarantine])
    for name in ("a.json.gz", "b.json.zst", "c.jsonl.bz2"):
        assert got[name] == ([r["id"] for r in recs], []), name
    ids, kinds = got["d.json.bz2"]
    assert kinds == ["truncated"] and ids == [r["id"] for r in recs[: len(ids)]] and len(ids) < 300


def _arrow_corpus(tmp_path):
    import pyarrow.feather as feather
    import pyarrow.ipc as ipc

    t = pa.table({"text": [f"document number {i} " + "word " * (i % 7) for i in range(300)],
                  "id": [f"d{i}" for i in range(300)], "source": ["cc"] * 300, "n": list(range(300))})
    feather.write_feather(t, tmp_path / "f.feather", chunksize=50)           # IPC file format
    hf = tmp_path / "hf"                       # datasets' save_to_disk: IPC streams plus JSON metadata
    hf.mkdir()
    for k in range(2):
        with ipc.new_stream(str(hf / f"data-0000{k}-of-00002.arrow"), t.schema) as w:
            for batch in t.slice(k * 150, 150).to_batches(max_chunksize=40):
                w.write_batch(batch)
    (hf / "state.json").write_text("{}")
    (hf / "dataset_info.json").write_text("{}")
    return t


@pytest.mark.parametrize("shard_mb", [16.0, 0.002])
def test_arrow_ipc_files_and_saved_datasets_are_read_as_tables(tmp_path, shard_mb):
    """Feather / Arrow IPC files and Hugging Face save_to_disk folders (IPC streams): one document per
    row, columns carried with their type (the record's own `source` as record_source), cut at record
    batches: many shards give the same documents as one."""
    t = _arrow_corpus(tmp_path)
    cfg = InputConfig()
    for inp in (tmp_path / "f.feather", tmp_path / "hf"):
        unread: list[str] = []
        files = expand_inputs([str(inp)], unread=unread)
        assert {f.kind for f in files} == {"arrow"}
        chunks = list(iter_chunks(files, shard_bytes=int(shard_mb * 1e6), cfg=cfg))
        assert (len(chunks) > 4) == (shard_mb < 1)
        tables = [parse_chunk(c, cfg, source_column="source").table for c in chunks]
        got = pa.concat_tables(tables)
        assert got.column("id").to_pylist() == t.column("id").to_pylist()
        assert got.column("text").to_pylist() == t.column("text").to_pylist()
        assert got.column(FIELD_PREFIX + "n").type == pa.int64()
        assert got.column(FIELD_PREFIX + "record_source").to_pylist() == ["cc"] * 300
    assert sorted(unread) == [str(tmp_path / "hf" / "dataset_info.json"), str(tmp_path / "hf" / "state.json")]


def test_a_damaged_arrow_stream_loses_only_the_rows_past_the_damage(tmp_path):
    _arrow_corpus(tmp_path)
    path = tmp_path / "hf" / "data-00000-of-00002.arrow"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])           # cut inside a later batch
    files = expand_inputs([str(path)], unread=[])
    cfg = InputConfig()
    parsed = [parse_chunk(c, cfg, source_column="source") for c in iter_chunks(files, shard_bytes=1 << 24, cfg=cfg)]
    ids = [i for p in parsed for i in p.table.column("id").to_pylist()]
    bad = [q for p in parsed for q in p.quarantine]
    assert len(bad) == 1 and bad[0]["kind"] == "unreadable" and "record batch" in bad[0]["error"]
    assert ids == [f"d{i}" for i in range(len(ids))] and 0 < len(ids) < 150
    assert f"row {len(ids) + 1}" in bad[0]["error"]
    with pytest.raises(InputError, match="no column 'body'"):
        from thresher.io.readers import check_inputs
        check_inputs(expand_inputs([str(tmp_path / "f.feather")], unread=[]), InputConfig(text_field="body"))


def test_csv_and_tsv_with_a_header(tmp_path):
    """Quoted fields may hold commas, tabs and line breaks; a row of the wrong width and one with
    bytes that are not UTF-8 are quarantined naming their line; the other rows are read."""
    p = tmp_path / "d.csv"
    p.write_bytes(b'id,text,lang\r\na,"one, with a comma",en\r\nb,"two\nlines ""quoted""",fr\r\n'
                  b'c,short row\r\nd,"bad \xff byte",en\r\n,no id,de\r\n')
    tables, q, _ = parse_all([p])
    t = pa.concat_tables(tables)
    assert t.column("id").to_pylist() == ["a", "b", f"{p}:7"]
    assert t.column("text").to_pylist() == ["one, with a comma", 'two\nlines "quoted"', "no id"]
    assert t.column(FIELD_PREFIX + "lang").to_pylist() == ["en", "fr", "de"]
    assert [(r["line"], r["kind"]) for r in q] == [(5, "malformed_row"), (6, "invalid_utf8")]
    tsv = tmp_path / "d.tsv"
    tsv.write_text("text\tscore\nhello, world\t3\n")
    tables, q, _ = parse_all([tsv])
    assert tables[0].column("text").to_pylist() == ["hello, world"] and q == []
    with pytest.raises(InputError, match="no column 'body'"):
        from thresher.io.readers import check_inputs
        check_inputs(expand_inputs([str(p)], unread=[]), InputConfig(text_field="body"))
