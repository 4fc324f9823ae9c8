"""Hostile input and output faults (issue #22): no record crashes a run, nothing is lost silently,
nothing that is not thresher's is read as input or deleted. Each test runs the CLI end to end and
verifies OUT; the unit behaviour of the readers is in test_io.py."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import EXAMPLES, cli, cli_ok

GOOD = b'{"id": "good", "text": "a good document that stays"}\n'


def quarantine(out: Path) -> list[tuple[str, int | None, str]]:
    rows = pq.read_table(out / "quarantine").to_pylist() if (out / "quarantine").exists() else []
    return sorted((os.path.basename(r["file"]), r["line"], r["kind"]) for r in rows)


def kept(out: Path) -> list[str]:
    return sorted(pq.read_table(out / "documents", columns=["id"]).column("id").to_pylist())


def run_exact(inputs, out: Path, *extra: str):
    return cli_ok("run", *map(str, inputs), "--output", str(out), "--steps", "exact", "-q", *extra, out=out)


def test_lone_surrogates_and_deep_nesting_are_quarantined_and_the_rest_is_read(tmp_path):
    f = tmp_path / "hostile.jsonl"
    deep_field = '{"a":' * 70 + "1" + "}" * 70
    deep_json = "[" * 1100 + "]" * 1100
    f.write_bytes(b"".join([
        b'{"id": "\\ud800", "text": "lone surrogate in the id"}\n',
        b'{"id": "f", "text": "lone surrogate in a field", "meta": "x\\udc00"}\n',
        b'{"id": "t", "text": "lone \\udc00 surrogate in the text"}\n',
        b'{"id": "d1", "text": "deep field", "meta": %s}\n' % deep_field.encode(),
        b'{"id": "d2", "text": "deeper than the parser", "meta": %s}\n' % deep_json.encode(),
        b'{"id": "ok", "text": "a field nested ten levels", "meta": %s}\n' % ('[' * 10 + ']' * 10).encode(),
        GOOD]))
    out = tmp_path / "out"
    run_exact([f], out)
    assert quarantine(out) == [("hostile.jsonl", 1, "invalid_unicode"), ("hostile.jsonl", 2, "invalid_unicode"),
                               ("hostile.jsonl", 3, "invalid_unicode"), ("hostile.jsonl", 4, "too_deep"),
                               ("hostile.jsonl", 5, "too_deep")]
    assert kept(out) == ["good", "ok"]


def test_invalid_utf8_in_a_parquet_string_column_quarantines_that_row(tmp_path):
    raw = pa.array([b"first good text", b"bad \xff\xfe bytes", b"third good text"], pa.binary())
    text = pa.Array.from_buffers(pa.string(), 3, raw.buffers())     # Parquet does not check the bytes
    meta = pa.Array.from_buffers(pa.string(), 3, pa.array([b"m", b"m", b"\xc3"], pa.binary()).buffers())
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": text, "meta": meta}), tmp_path / "bad.parquet")
    out = tmp_path / "out"
    run_exact([tmp_path / "bad.parquet"], out)
    assert quarantine(out) == [("bad.parquet", 2, "invalid_utf8"), ("bad.parquet", 3, "invalid_utf8")]
    q = pq.read_table(out / "quarantine").to_pylist()
    assert {r["line"]: r["error"].split(":")[0] for r in q} == {2: "column 'text'", 3: "column 'meta'"}
    assert kept(out) == ["a"]


def test_one_bad_parquet_row_group_loses_only_its_rows(tmp_path):
    t = pa.table({"id": [f"d{i}" for i in range(2000)],
                  "text": [f"document number {i} of the file" for i in range(2000)]})
    path = tmp_path / "groups.parquet"
    pq.write_table(t, path, row_group_size=500, compression="none")
    col = pq.ParquetFile(path).metadata.row_group(1).column(1)
    data = bytearray(path.read_bytes())
    for i in range(col.data_page_offset + 10, col.data_page_offset + 60):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    pq.write_table(t.slice(0, 0), tmp_path / "empty.parquet")
    out = tmp_path / "out"
    run_exact([path, tmp_path / "empty.parquet"], out)
    assert quarantine(out) == [("empty.parquet", None, "empty_file"), ("groups.parquet", 501, "unreadable")]
    q = [r for r in pq.read_table(out / "quarantine").to_pylist() if r["kind"] == "unreadable"]
    assert "row group 1 (rows 501-1000, 500 rows lost)" in q[0]["error"]
    assert len(kept(out)) == 1500


def test_a_line_longer_than_max_line_bytes_is_quarantined_without_being_held(tmp_path):
    zeros = b"0" * (1 << 20)
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as g:          # 12 MB line, 12 KB on disk
        g.write(GOOD)
        for _ in range(12):
            g.write(zeros)
        g.write(b'\n{"id": "after", "text": "the document after the long line"}\n')
    long_doc = b'{"id": "long", "text": "%s"}\n' % (b"word " * 400_000)   # 2 MB, under the cap
    (tmp_path / "long.jsonl").write_bytes(long_doc)
    cfg = tmp_path / "t.toml"
    cfg.write_text("[input]\nmax_line_bytes = 4000000\n")
    out = tmp_path / "out"
    run_exact([path, tmp_path / "long.jsonl"], out, "--config", str(cfg))
    assert quarantine(out) == [("bomb.jsonl.gz", 2, "too_large")]
    (q,) = pq.read_table(out / "quarantine").to_pylist()
    assert q["byte_offset"] == len(GOOD) and q["raw"] is None
    assert f"a line of {12 << 20:,} bytes" in q["error"] and "max_line_bytes = 4,000,000" in q["error"]
    assert kept(out) == ["after", "good", "long"]


def test_ids_are_unique_per_file_and_integers_stay_exact(tmp_path):
    f = tmp_path / "ids.jsonl"
    big, bigger = 123456789012345678901234567890, 123456789012345678901234567891
    f.write_bytes(b"".join(orjson.dumps(r) + b"\n" if "raw" not in r else r["raw"] for r in [
        {"id": "a", "text": "first document a"},
        {"id": "a", "text": "second record with id a"},
        {"id": 7, "text": "integer seven"},
        {"id": "7", "text": "string seven"},
        {"raw": b'{"id": %d, "text": "big integer id", "n": %d}\n' % (big, bigger)},
        {"raw": b'{"id": %d, "text": "the next big integer id", "n": 1.5}\n' % bigger},
    ]))
    (tmp_path / "other.jsonl").write_bytes(orjson.dumps({"id": "a", "text": "id a in another file"}) + b"\n")
    out = tmp_path / "out"
    run_exact([f, tmp_path / "other.jsonl"], out, "--format", "jsonl")
    assert quarantine(out) == [("ids.jsonl", 2, "duplicate_id"), ("ids.jsonl", 4, "duplicate_id")]
    q = {r["line"]: r["error"] for r in pq.read_table(out / "quarantine").to_pylist()}
    assert "the id of line 1" in q[2] and "the id of line 3" in q[4]
    docs = [orjson.loads(line) for p in sorted((out / "documents").iterdir()) for line in p.read_bytes().splitlines()]
    by_text = {d["text"]: d for d in docs}
    assert by_text["big integer id"]["id"] == str(big)
    assert by_text["the next big integer id"]["id"] == str(bigger)
    line = next(x for p in (out / "documents").iterdir() for x in p.read_bytes().splitlines() if b"big integer id" in x)
    assert b'"n":%d' % bigger in line             # written digit for digit, not as a float
    assert {d["source"].rsplit("/", 1)[1] for d in docs if d["id"] == "a"} == {"ids.jsonl", "other.jsonl"}


@pytest.mark.slow
def test_ids_are_unique_across_the_shards_of_one_file(tmp_path):
    """A file longer than a shard: an id repeated in a later shard is quarantined as in one shard,
    and a run with small shards writes the same documents and removals as one with a single shard."""
    rng = __import__("random").Random(5)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    lines = [{"id": f"d{i}", "text": " ".join(rng.choice(words) for _ in range(60))} for i in range(400)]
    for at, like in ((150, 3), (260, 3), (399, 120)):      # later shards repeat ids of earlier ones
        lines[at]["id"] = lines[like]["id"]
    lines[300]["id"] = 7                                  # 7 and "7" are one id
    lines[310]["id"] = "7"
    f = tmp_path / "big.jsonl"
    f.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    results = {}
    for shard_mb in (0.005, 16):
        cfg = tmp_path / f"s{shard_mb}.toml"
        cfg.write_text(f"[engine]\nshard_mb = {shard_mb}\n")
        out = tmp_path / f"out{shard_mb}"
        cli_ok("run", str(f), "--output", str(out), "-q", "--config", str(cfg), out=out)
        stats = orjson.loads((out / "stats.json").read_bytes())
        results[shard_mb] = (quarantine(out), output_bytes_of(out), stats["input"]["quarantined"])
    small, whole = results[0.005], results[16]
    assert orjson.loads((tmp_path / "out0.005" / "stats.json").read_bytes())["total"]["shards"] > 10
    assert small[0] == whole[0] == [("big.jsonl", 151, "duplicate_id"), ("big.jsonl", 261, "duplicate_id"),
                                    ("big.jsonl", 311, "duplicate_id"), ("big.jsonl", 400, "duplicate_id")]
    q = {r["line"]: r["error"] for r in pq.read_table(tmp_path / "out0.005" / "quarantine").to_pylist()}
    assert "the id of line 4 " in q[151] and "the id of line 121 " in q[400] and "line 301" in q[311]
    assert small[1] == whole[1] and small[2] == whole[2] == {"duplicate_id": 4}


def output_bytes_of(out: Path) -> tuple[list, list]:
    docs = pq.read_table(out / "documents", columns=["id", "text"]).to_pylist()
    removals = pq.read_table(out / "removals").drop_columns(["source"]).to_pylist()
    return sorted((d["id"], d["text"]) for d in docs), sorted(map(str, removals))


def test_links_are_followed_and_broken_ones_are_quarantined(tmp_path):
    real, inp = tmp_path / "real", tmp_path / "in"
    real.mkdir()
    inp.mkdir()
    (real / "a.jsonl").write_bytes(GOOD)
    (real / "up").symlink_to("..")                       # a loop through the parent
    (inp / "b.jsonl").write_bytes(b'{"id": "b", "text": "a document in the folder itself"}\n')
    (inp / "linked").symlink_to("../real")
    (inp / "dangling.jsonl").symlink_to("nowhere.jsonl")
    (inp / "loop.jsonl").symlink_to("loop.jsonl")
    out = tmp_path / "out"
    run_exact([inp], out)
    assert kept(out) == ["b", "good"]
    assert quarantine(out) == [("dangling.jsonl", None, "unreadable"), ("loop.jsonl", None, "unreadable")]
    errors = {os.path.basename(r["file"]): r["error"] for r in pq.read_table(out / "quarantine").to_pylist()}
    assert errors == {"dangling.jsonl": "dangling symbolic link to nowhere.jsonl",
                      "loop.jsonl": "symbolic link loop (loop.jsonl)"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files of mode 000")
def test_files_and_folders_without_permission_are_quarantined(tmp_path):
    inp = tmp_path / "in"
    (inp / "locked").mkdir(parents=True)
    (inp / "locked" / "x.jsonl").write_bytes(GOOD)
    (inp / "good.jsonl").write_bytes(GOOD)
    for name in ("secret.jsonl", "secret.jsonl.gz"):
        (inp / name).write_bytes(GOOD)
        (inp / name).chmod(0)
    (inp / "locked").chmod(0)
    try:
        out = tmp_path / "out"
        run_exact([inp], out)
    finally:
        (inp / "locked").chmod(0o755)
    assert quarantine(out) == [("locked", None, "unreadable"), ("secret.jsonl", None, "unreadable"),
                               ("secret.jsonl.gz", None, "unreadable")]


def test_unreadable_files_are_quarantined_whatever_the_cause(tmp_path, monkeypatch):
    """As root no file lacks permission: an open that fails is simulated, for every format."""
    from thresher import run
    from thresher.io import inputs

    for name in ("a.jsonl", "b.jsonl.gz", "c.txt", "d.parquet"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "good.jsonl").write_bytes(GOOD)
    real_open = open

    def failing_open(path, *a, **kw):
        if os.path.basename(str(path)) != "good.jsonl":
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)
    monkeypatch.setattr(inputs, "open", failing_open, raising=False)
    out = tmp_path / "out"
    run([str(tmp_path)], str(out), steps=["exact"], workers=1, progress=None)
    q = pq.read_table(out / "quarantine").to_pylist()
    assert sorted((os.path.basename(r["file"]), r["kind"], r["error"]) for r in q) == [
        (n, "unreadable", "cannot read it: Permission denied") for n in ("a.jsonl", "b.jsonl.gz", "c.txt", "d.parquet")]


def test_out_inside_an_input_folder_is_not_read_as_input(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "forum.jsonl").write_bytes((EXAMPLES / "forum.jsonl").read_bytes())
    out = inp / "out"
    first = run_exact([inp], out, "--format", "jsonl")
    again = run_exact([inp], out, "--format", "jsonl")        # a finished run: nothing redone
    assert first.returncode == again.returncode == 0
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert [os.path.basename(f["path"]) for f in manifest["inputs"]] == ["forum.jsonl"]
    proc = cli("run", str(out), "--output", str(out), "-q")
    assert proc.returncode == 2 and "is inside the output folder" in proc.stderr


@pytest.mark.parametrize("command", ["verify", "report"])
def test_verify_and_report_of_a_folder_without_a_run_name_it(tmp_path, command):
    for folder in (tmp_path / "missing", tmp_path):
        proc = cli(command, str(folder))
        assert proc.returncode == 2, proc.stderr
        assert f"{folder} holds no thresher run (no manifest.json)" in proc.stderr
        assert "Traceback" not in proc.stderr
    (tmp_path / "manifest.json").write_text("{trunc")
    proc = cli(command, str(tmp_path))
    assert proc.returncode == 2 and "its manifest.json is not valid JSON" in proc.stderr


def _docs(n: int, tag: str) -> bytes:
    import random
    rng = random.Random(tag)
    return b"".join(orjson.dumps({"id": f"{tag}{i}", "text": f"{tag} document {i}: " + " ".join(
        rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) + str(rng.randrange(999)) for _ in range(20))})
        + b"\n" for i in range(n))


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x04
    return bytes(b)


def test_a_checksum_fault_quarantines_its_whole_member(tmp_path):
    import zstandard
    first, second = _docs(300, "m1"), _docs(300, "m2")
    gz1, gz2 = gzip.compress(first), gzip.compress(second)
    (tmp_path / "one.jsonl.gz").write_bytes(_flip(gz1, len(gz1) - 6))          # the CRC itself
    (tmp_path / "two.jsonl.gz").write_bytes(gz1 + _flip(gz2, len(gz2) // 2))   # bad data, member 2
    z = zstandard.ZstdCompressor(write_checksum=True).compress(first)
    (tmp_path / "sum.jsonl.zst").write_bytes(_flip(z, len(z) - 2))
    out = tmp_path / "out"
    run_exact([tmp_path / "one.jsonl.gz", tmp_path / "two.jsonl.gz", tmp_path / "sum.jsonl.zst"], out)
    assert quarantine(out) == [("one.jsonl.gz", 1, "corrupt"), ("sum.jsonl.zst", 1, "corrupt"),
                               ("two.jsonl.gz", 301, "corrupt")]
    q = {os.path.basename(r["file"]): r for r in pq.read_table(out / "quarantine").to_pylist()}
    assert q["two.jsonl.gz"]["byte_offset"] == len(first)
    assert "nothing from line 301 on is trusted" in q["two.jsonl.gz"]["error"]
    ids = kept(out)
    assert len(ids) == 300 and all(i.startswith("m1") for i in ids)     # member 1 of two.jsonl.gz only
    assert {i for i in ids} == {f"m1{i}" for i in range(300)}


def test_a_checksum_fault_found_after_lines_were_passed_on_stops_the_run(tmp_path):
    data = gzip.compress(_docs(3000, "big"))
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(_flip(data, len(data) - 6))
    cfg = tmp_path / "t.toml"
    cfg.write_text("[engine]\nshard_mb = 0.02\n")       # the file is cut by the driver
    proc = cli("run", str(path), "--output", str(tmp_path / "out"), "--steps", "exact", "-q", "--config", str(cfg))
    assert proc.returncode == 2, proc.stderr
    assert f"{path}: corrupt gzip data" in proc.stderr and "fetch it again" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_run_killed_while_removing_its_scratch_data_finishes_that_on_rerun(tmp_path):
    out = tmp_path / "out"
    run_exact([EXAMPLES], out)
    report = (out / "report.html").read_bytes()
    # what a kill -9 in the middle of removing OUT/_work leaves: the run is complete, _work is half gone
    for sub in ("shards", "lengths"):
        (out / "_work" / sub).mkdir(parents=True)
        (out / "_work" / sub / "part-000001.arrow").write_bytes(b"half a file")
    proc = cli("report", str(out))        # never reads the half-removed _work
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.html").read_bytes() == report
    run_exact([EXAMPLES], out)            # the rerun finds the run complete and finishes the clean-up
    assert not (out / "_work").exists()


@pytest.mark.slow
def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(tmp_path):
    import subprocess
    import sys

    from thresher.engine.lock import OutputLock
    from thresher.io.storage import Location

    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from thresher.engine.lock import OutputLock; from thresher.io.storage import Location;"
        f"lock = OutputLock(Location({str(out)!r})); print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for extra in ((), ("--overwrite",)):
            proc = cli("run", str(EXAMPLES), "--output", str(out), "-q", *extra)
            assert proc.returncode == 2, proc.stderr
            assert f"output folder {out} is in use by another thresher run" in proc.stderr
    finally:
        holder.kill()            # kill -9: the kernel drops the lock with the process
        holder.wait()
    run_exact([EXAMPLES], out)
    lock = OutputLock(Location(str(out)))      # the finished run released it
    lock.release()
    (out / "stats.json").write_text("{}")
    run_exact([EXAMPLES], out, "--overwrite")             # --overwrite empties OUT and runs again
    assert orjson.loads((out / "stats.json").read_bytes())["total"]["docs_in"] > 0


@pytest.mark.slow
def test_a_read_only_install_and_home_still_compile_the_kernels(tmp_path):
    """The package folder and $HOME mounted read-only (a private mount namespace: needs root and
    unshare): numba's two cache places cannot be written, and thresher gives it a third."""
    import shutil
    import subprocess
    import sys

    import thresher

    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to mount folders read-only in a private namespace")
    pkg, home, tmp = os.path.dirname(thresher.__file__), tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    out = tmp_path / "out"
    script = (f"mount --bind {pkg} {pkg} && mount -o remount,bind,ro {pkg} && "
              f"mount --bind {home} {home} && mount -o remount,bind,ro {home} && "
              f"exec {sys.executable} -m thresher run {EXAMPLES} -o {out} -q --steps exact")
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "NUMBA_CACHE_DIR")}
    env.update(HOME=str(home), TMPDIR=str(tmp))
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m is not allowed here: {probe.stderr.decode().strip()}")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "cannot cache function" not in proc.stderr
    assert (tmp / f"thresher-numba-{os.getuid()}").is_dir()
    assert (out / "manifest.json").exists()


def _verify_errors(out: Path) -> list[str]:
    import thresher
    return thresher.verify_output(out)["errors"]


def test_verify_fails_on_every_kind_of_tampering(tmp_path):
    import shutil

    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "forum.jsonl").write_bytes((EXAMPLES / "forum.jsonl").read_bytes() + b"not json\n")
    ref = tmp_path / "ref"
    cli_ok("run", str(inp), "-o", str(ref), "-q", "--format", "jsonl", "--steps", "near_dup,exact,paragraphs", out=ref)
    assert (ref / "clusters").exists() and (ref / "quarantine").exists()

    def tampered(name: str, change) -> list[str]:
        out = tmp_path / name
        shutil.copytree(ref, out)
        change(out)
        return _verify_errors(out)

    def first_doc(out: Path) -> Path:
        return sorted((out / "documents").iterdir())[0]

    def repeat_row(out: Path) -> None:
        p = first_doc(out)
        p.write_bytes(p.read_bytes() + p.read_bytes().splitlines(keepends=True)[0])
    assert any("more than once" in e for e in tampered("dup_row", repeat_row))
    assert any("quarantine" in e and "is missing" in e
               for e in tampered("no_quarantine", lambda o: shutil.rmtree(o / "quarantine")))
    assert any("clusters" in e and "is missing" in e
               for e in tampered("no_clusters", lambda o: shutil.rmtree(o / "clusters")))

    def rewrite_removals(out: Path, change) -> None:
        p = sorted((out / "removals").iterdir())[0]
        t = pq.read_table(p).to_pylist()
        change(t)
        pq.write_table(pa.Table.from_pylist(t, schema=pq.read_schema(p)), p)

    def unknown_reason(rows):
        rows[0]["reason"] = "because"
    errors = tampered("reason", lambda o: rewrite_removals(o, unknown_reason))
    assert any("reason 'because': a reason stats.json does not know" in e for e in errors)

    def nowhere(rows):
        r = next(r for r in rows if r["dup_of_id"] is not None)
        r["dup_of_id"] = "no-such-document"
    errors = tampered("twin", lambda o: rewrite_removals(o, nowhere))
    assert any("'no-such-document', which is not in documents/" in e for e in errors)

    def chars_out(out: Path) -> None:
        stats = orjson.loads((out / "stats.json").read_bytes())
        stats["total"]["chars_out"] += 1
        (out / "stats.json").write_bytes(orjson.dumps(stats))
    assert any("characters out" in e for e in tampered("chars", chars_out))
    assert _verify_errors(ref) == []


@pytest.mark.slow
def test_a_damaged_work_file_is_found_on_resume_and_its_task_run_again(tmp_path):
    """What a kill -9 before the last pass leaves (status running, the last phase not done), with a
    shard of a finished ingest task deleted and a near_dup file of a finished phase changed: the
    rerun finds both by their markers' sizes and checksums, runs those tasks again, and writes the
    bytes of an undisturbed run. Stats cover the whole run."""
    import shutil

    from conftest import make_corpus, output_bytes

    corpus = tmp_path / "c.jsonl"
    make_corpus(corpus, docs=6000, copy_fraction=0.2)
    cfg = tmp_path / "t.toml"
    cfg.write_text('steps = ["near_dup", "exact", "paragraphs"]\n[engine]\nshard_mb = 0.2\n[output]\nkeep_work = true\n')
    ref = tmp_path / "ref"
    cli_ok("run", str(corpus), "-o", str(ref), "-c", str(cfg), "-q", "-w", "2", out=ref)
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    (out / "manifest.json").write_bytes(orjson.dumps({**manifest, "status": "running"}))
    last = sorted((out / "manifests").glob("pass*.json"))[-1].stem
    (out / "manifests" / f"{last}.json").unlink()
    shutil.rmtree(out / "_work" / "done" / last)
    for d in ("documents", "removals", "quarantine", "clusters"):
        shutil.rmtree(out / d, ignore_errors=True)
    (out / "stats.json").unlink()
    (out / "_work" / "shards" / "part-000001.arrow").unlink()
    records = sorted((out / "_work" / "near_dup.records").rglob("*.*"))[0]
    data = bytearray(records.read_bytes())
    data[len(data) // 2] ^= 0xFF
    records.write_bytes(bytes(data))
    cli_ok("run", str(corpus), "-o", str(out), "-c", str(cfg), "-q", "-w", "2", out=out)
    assert output_bytes(out) == output_bytes(ref)
    stats = orjson.loads((out / "stats.json").read_bytes())
    ref_stats = orjson.loads((ref / "stats.json").read_bytes())
    assert stats["resumed"] is True
    assert sorted(stats["repaired_files"]) == sorted([   # clusters/ is near_dup.reduce's, also redone
        "_work/shards/part-000001.arrow", str(records.relative_to(out)), "clusters/part-000000.parquet"])
    assert stats["total"]["docs_in"] == ref_stats["total"]["docs_in"] == 6000
    assert {k: v for k, v in stats["total"].items() if "seconds" not in k and "mb_per_s" not in k} == \
           {k: v for k, v in ref_stats["total"].items() if "seconds" not in k and "mb_per_s" not in k}
    assert stats["phases"]["exact.reduce"]["earlier_process"] is True
    assert last in stats["phases"] and "earlier_process" not in stats["phases"][last]
    assert stats["total"]["wall_seconds"] > sum(v["wall_seconds"] for v in stats["phases"].values()
                                                if v.get("earlier_process"))


def _in_namespace(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    """``script`` (sh) in a private mount namespace: needs root and unshare(1), else the test skips."""
    import shutil

    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m is not allowed here: {probe.stderr.decode().strip()}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)


def test_a_full_disk_is_found_before_the_run_or_named_with_the_fix(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    nocheck = tmp_path / "nocheck.toml"
    nocheck.write_text("[engine]\ncheck_free_space = false\n")
    run = f"{sys.executable} -m thresher run {EXAMPLES} -q -o {small}/out"
    proc = _in_namespace(tmp_path, f"mount -t tmpfs -o size=300k tmpfs {small} && {run}; echo rc=$?; "
                                   f"rm -rf {small}/out; {run} -c {nocheck}; echo rc=$?")
    first, second = proc.stdout.split()
    assert (first, second) == ("rc=2", "rc=1"), proc.stderr
    errors = proc.stderr.splitlines()
    assert errors[0].startswith(f"error: the disk of {small}/out has 0.3 MB free; this run needs about")
    assert "check_free_space = false" in errors[0]
    assert errors[1].startswith(f"error: cannot write {small}/out/") and "No space left on device" in errors[1]
    assert "run the same command again: it resumes" in errors[1]
    assert "Traceback" not in proc.stderr


def test_a_read_only_out_is_named_with_the_fix(tmp_path):
    ro = tmp_path / "ro"
    (ro / "out").mkdir(parents=True)
    proc = _in_namespace(tmp_path, f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
                                   f"{sys.executable} -m thresher run {EXAMPLES} -q -o {ro}/out; echo rc=$?; "
                                   f"{sys.executable} -m thresher run {EXAMPLES} -q -o {ro}/new; echo rc=$?")
    assert proc.stdout.split() == ["rc=1", "rc=2"], proc.stderr
    errors = proc.stderr.splitlines()
    assert f"cannot write {ro}/out/manifest.json" in errors[0] and "read-only filesystem" in errors[0]
    assert errors[1].startswith(f"error: cannot use {ro}/new as the output folder")
    assert "Read-only file system" in errors[1] and errors[1].endswith("choose another --output")


def test_a_truncated_run_manifest_is_named_and_the_folder_kept(tmp_path):
    out = tmp_path / "out"
    run_exact([EXAMPLES], out)
    (out / "manifest.json").write_bytes((out / "manifest.json").read_bytes()[:40])
    for extra in ((), ("--overwrite",)):
        proc = cli("run", str(EXAMPLES), "-o", str(out), "-q", *extra)
        assert proc.returncode == 2 and "its manifest.json cannot be read" in proc.stderr
        assert "delete the folder yourself" in proc.stderr and (out / "documents").exists()
