"""OUT on an object store: the run writes the same bytes to s3:// (a local moto S3 server) as to a local
folder, with the local and the Ray engine; fsspec-only URLs (memory://) work in one process; the
Location type behaves like the pathlib subset the engine uses."""

from __future__ import annotations

import pickle

import pytest

import thresher
from thresher import ConfigError, OutputError
from thresher.engine.layout import read_json, write_bytes, write_json
from thresher.io.storage import Location, location

from conftest import DEDUP, EXAMPLES, SHARED, output_bytes, run_ok

SEEDS = SHARED / "seeds"
STEPS = [*DEDUP, "boilerplate", "quality", "language", "pii"]


def test_location_paths(tmp_path):
    root = location(tmp_path)
    assert location(f"file://{tmp_path}") == root
    f = root / "a" / "b.parquet"
    assert (f.name, f.suffix, f.parent, f.relative_to(tmp_path)) == ("b.parquet", ".parquet", root / "a", "a/b.parquet")
    assert str(f) == str(tmp_path / "a" / "b.parquet") and not f.exists()
    write_json(f.with_name("c.json"), {"x": 1})
    (root / "a" / "d").mkdir()
    assert [p.name for p in (root / "a").iterdir()] == ["c.json", "d"]
    assert (root / "a").glob("*.json") == [root / "a" / "c.json"]
    assert root.rglob("*.json") == [root / "a" / "c.json"] and (root / "a").is_dir()
    assert read_json(pickle.loads(pickle.dumps(root / "a" / "c.json"))) == {"x": 1}
    assert (root / "nothing").glob("*") == []
    with pytest.raises(ValueError, match="not inside"):
        f.relative_to(tmp_path / "other")
    (root / "a").rmtree()
    assert not (root / "a").exists()


def test_unknown_scheme_names_the_fix():
    with pytest.raises(ConfigError, match=r"nosuchscheme-xyz://bucket/out: .*install (fsspec|the store's)"):
        Location("nosuchscheme-xyz://bucket/out")


def _corpus() -> list:
    return [EXAMPLES] + ([SEEDS] if SEEDS.exists() else [])


def test_fsspec_memory_url_writes_the_same_bytes(tmp_path):
    pytest.importorskip("fsspec", reason="needs fsspec (test extra)")
    cfg = {"engine": {"shard_mb": 0.05}, "boilerplate": {"repeated_min_docs": 2}}
    run_ok(_corpus(), tmp_path / "local", workers=1, steps=STEPS, config=cfg)
    url = "memory://thresher-test/out"
    run_ok(_corpus(), url, workers=1, steps=STEPS, config=cfg)     # in-process store: one worker
    assert output_bytes(url) == output_bytes(tmp_path / "local")
    assert read_json(location(url) / "stats.json")["total"]["docs_out"] > 0
    assert not (location(url) / "_work").exists()


@pytest.fixture(scope="module")
def s3():
    """A local S3 server (moto) and the URL options pyarrow needs to reach it."""
    server_mod = pytest.importorskip("moto.server", reason="needs moto[server] (test extra)")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                     "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(k, v)          # inherited by worker processes and Ray workers
        server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield (f"?endpoint_override=http://{host}:{port}&scheme=http&region=us-east-1"
                   f"&allow_bucket_creation=true")
        finally:
            server.stop()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("s3ref") / "local"
    cfg = {"engine": {"shard_mb": 0.05}, "boilerplate": {"repeated_min_docs": 2}}
    stats = run_ok(_corpus(), out, workers=2, steps=STEPS, config=cfg)
    return {"config": cfg, "bytes": output_bytes(out), "stats": stats}


@pytest.mark.parametrize("engine", ["local", "ray"])
@pytest.mark.slow
def test_s3_output_is_byte_identical_to_a_local_folder(s3, local_run, engine):
    if engine == "ray":
        pytest.importorskip("ray", reason="the Ray engine is an optional extra (pip install 'thresher[ray]')")
    location(f"s3://thresher-{engine}{s3}").mkdir()                 # the bucket
    url = f"s3://thresher-{engine}/runs/out{s3}"
    stats = run_ok(_corpus(), url, workers=2, steps=STEPS, engine=engine, config=local_run["config"])
    out = location(url)
    assert str(out) == f"s3://thresher-{engine}/runs/out"           # no endpoint in what is shown
    assert output_bytes(out) == local_run["bytes"]
    assert stats["total"]["docs_out"] == local_run["stats"]["total"]["docs_out"]
    assert stats["total"]["shards"] > 2
    assert (out / "report.html").exists() and (out / "clusters").exists()
    assert not (out / "_work").exists() and out.rglob(".*.tmp") == []
    assert read_json(out / "manifest.json")["status"] == "complete"
    # a finished run is not redone; another config is refused, naming the fix
    again = thresher.run([str(p) for p in _corpus()], url, workers=2, steps=STEPS, config=local_run["config"])
    assert again.pop("already_complete") is True and again == read_json(out / "stats.json")
    with pytest.raises(OutputError, match="--overwrite"):
        thresher.run([str(p) for p in _corpus()], url, workers=1, steps=["exact"])


def test_s3_missing_bucket_is_a_clear_error(s3):
    url = f"s3://no-such-bucket/out{s3.replace('&allow_bucket_creation=true', '')}"
    with pytest.raises(OutputError, match="cannot reach the output folder s3://no-such-bucket/out"):
        thresher.run([str(EXAMPLES)], url, workers=1, steps=["exact"])


def _output_rows(out, prefix: str) -> dict[str, list]:
    """Every row of OUT's documents, removals and quarantine, with the input path prefix cut from
    ``source`` (``file``)."""
    from thresher.engine.layout import read_parquet
    from thresher.engine.runner import output_files

    rows: dict[str, list] = {}
    for p in output_files(out):
        if p.suffix == ".parquet":
            t = read_parquet(p).to_pylist()
            col = "file" if p.parent.name == "quarantine" else "source"
            for r in t:
                assert r[col].startswith(prefix), (r[col], prefix)
                r[col] = r[col][len(prefix):]
            rows[p.relative_to(out)] = t
    return rows


@pytest.mark.slow
def test_inputs_on_s3_give_the_same_documents_and_removals(s3, tmp_path):
    """Text files, JSONL (plain and gzip) and Parquet read from a store URL, a folder and a glob."""
    import gzip
    import shutil

    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    shutil.copytree(EXAMPLES / "web", src / "web")
    if SEEDS.exists():
        shutil.copytree(SEEDS, src / "seeds")
    (src / "web" / "deeper").mkdir()
    (src / "web" / "deeper" / "note.txt").write_text("A file one folder deeper, outside the glob below.")
    forum = (EXAMPLES / "forum.jsonl").read_bytes()
    (src / "forum.jsonl.gz").write_bytes(gzip.compress(forum))
    records = []
    for line in forum.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue                       # the example's deliberately broken lines
        if isinstance(rec, dict) and isinstance(rec.get("text"), str):
            records.append({"id": f"pq-{len(records)}", "text": rec["text"]})
    pq.write_table(pa.Table.from_pylist(records[:40]), src / "forum.parquet")
    bucket = location(f"s3://thresher-inputs{s3}")
    bucket.mkdir()
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        write_bytes(bucket / "in" / str(f.relative_to(src)), f.read_bytes())

    cfg = {"engine": {"shard_mb": 0.05}, "boilerplate": {"repeated_min_docs": 2}}
    run_ok([src], tmp_path / "local", workers=2, steps=STEPS, config=cfg)
    url_folder = f"s3://thresher-inputs/in{s3}"
    stats = run_ok([url_folder], tmp_path / "s3in", workers=2, steps=STEPS, config=cfg)
    assert stats["input"]["files"] == len([p for p in src.rglob("*") if p.is_file()])
    local = _output_rows(tmp_path / "local", str(src) + "/")
    remote = _output_rows(tmp_path / "s3in", "s3://thresher-inputs/in/")      # no "?endpoint..."
    assert remote == local and any(remote.values())
    # a glob over the store: only the text files
    glob_url = f"s3://thresher-inputs/in/*/*.txt{s3}"
    stats = run_ok([glob_url], tmp_path / "glob", workers=1, steps=["exact"])
    assert stats["input"]["files"] == len(list(src.glob("*/*.txt"))) == len(list(src.rglob("*.txt"))) - 1
    with pytest.raises(thresher.InputError, match="does not exist"):
        thresher.run([f"s3://thresher-inputs/nothing{s3}"], str(tmp_path / "x"), workers=1)
