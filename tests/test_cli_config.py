"""`thresher config`, `--set`, `thresher steps` in TOML, and what a rerun or an interrupt says."""

from __future__ import annotations

import json
import sys
import tomllib

import pytest

import thresher
from thresher.config import parse_assignment, toml_value
from thresher.errors import ConfigError

from conftest import cli


def test_config_prints_every_option_as_toml_that_reads_back_to_the_defaults(tmp_path):
    proc = cli("config")
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert {"input", "extract", "output", "engine", "report", "exact", "near_dup", "quality"} <= set(data)
    assert data["near_dup"]["threshold"] == thresher.load_config(None).step_options["near_dup"].threshold
    path = tmp_path / "all.toml"
    path.write_text(proc.stdout)
    assert thresher.load_config(str(path)).hash() == thresher.load_config(None).hash()


def test_config_shows_what_set_and_a_file_give(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[exact]\nlowercase = true\n[input]\ntext_field = "body"\n')
    proc = cli("config", "--config", str(path), "--set", "input.text_field=content",
               "--set", 'boilerplate.skip=["c4_min_words"]', "--set", "near_dup.threshold=0.9")
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert data["exact"]["lowercase"] is True                   # from the file
    assert data["input"]["text_field"] == "content"             # --set wins over the file
    assert data["boilerplate"]["skip"] == ["c4_min_words"]
    assert data["near_dup"]["threshold"] == 0.9


def test_set_errors_name_the_key_and_the_form():
    assert parse_assignment("engine.workers=3") == {"engine": {"workers": 3}}
    assert parse_assignment("input.text_field=content") == {"input": {"text_field": "content"}}
    assert parse_assignment('steps=["exact"]') == {"steps": ["exact"]}
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_assignment("exact.lowercase")
    proc = cli("config", "--set", "exact.lowercse=true")
    assert proc.returncode == 2 and "did you mean 'exact.lowercase'" in proc.stderr
    proc = cli("config", "--set", "near_dup.threshold=high")
    assert proc.returncode == 2 and "near_dup.threshold = 'high' must be a number" in proc.stderr


def test_steps_prints_toml_values():
    proc = cli("steps")
    assert proc.returncode == 0, proc.stderr
    assert "True" not in proc.stdout and "'NFC'" not in proc.stdout
    for line in proc.stdout.splitlines():
        if line.startswith("    ") and " = " in line and not line.strip().startswith("rules"):
            key, value = line.strip().split("   ", 1)[0].split(" = ", 1)
            tomllib.loads(f"v = {value}")               # every value is valid TOML
    assert toml_value(("a", 'b"')) == '["a", "b\\""]' and toml_value(1e-05) == "1e-05"


def test_run_with_set_and_a_finished_run_says_already_complete(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"body": f"document number {i % 3}"}) + "\n" for i in range(6)))
    out = tmp_path / "out"
    args = ("run", str(src), "-o", str(out), "--steps", "exact", "--set", "input.text_field=body",
            "--set", "exact.lowercase=true")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["total"]["docs_in"] == 6 and stats["total"]["docs_out"] == 3
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert "already holds this run, complete" in again.stderr and "thresher run" not in again.stdout
    assert "already_complete" not in (out / "stats.json").read_text()


def test_an_interrupted_run_says_how_to_resume(tmp_path):
    """Ctrl-C (SIGINT) during a run: exit 130 and the resume hint, never a traceback; the same
    command then finishes the run."""
    import signal
    import subprocess
    import time

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": f"document {i} " + "word " * 200}) + "\n" for i in range(20000)))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "thresher", "run", str(src), "-o", str(out), "--steps", "exact,near_dup",
           "-w", "1", "--set", "engine.shard_mb=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:            # interrupt once a phase is under way
        if "phase ingest: started" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "stats.json").read_text())["total"]["docs_in"] == 20000


@pytest.mark.slow
def test_sample_reads_the_same_share_of_records_however_sharded(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document number {i} " + "word " * (i % 9)})
                           + "\n" for i in range(2000)))
    kept = {}
    for shard_mb, workers in ((16, "1"), (0.01, "2")):
        out = tmp_path / f"out{shard_mb}"
        proc = cli("run", str(src), "-o", str(out), "-q", "--steps", "exact", "--sample", "0.1",
                   "-w", workers, "--set", f"engine.shard_mb={shard_mb}")
        assert proc.returncode == 0, proc.stderr
        stats = json.loads((out / "stats.json").read_text())
        import pyarrow.parquet as pq
        kept[shard_mb] = sorted(pq.read_table(out / "documents").column("id").to_pylist())
        assert stats["input"]["skipped"]["sampled_out"] == 2000 - stats["input"]["docs"]
        assert proc.returncode == 0 and cli("verify", str(out)).returncode == 0
    assert kept[16] == kept[0.01] and 150 <= len(kept[16]) <= 250            # ~10% of 2000
    other = tmp_path / "other"
    assert cli("run", str(src), "-o", str(other), "-q", "--steps", "exact", "--sample", "0.1",
               "--set", "input.sample_seed=7").returncode == 0
    import pyarrow.parquet as pq
    assert sorted(pq.read_table(other / "documents").column("id").to_pylist()) != kept[16]
    assert cli("run", str(src), "-o", str(tmp_path / "bad"), "--sample", "1.5").returncode == 2


@pytest.mark.slow
def test_limit_reads_the_first_records_in_input_order_however_sharded(tmp_path):
    """--limit N: the first N records of the files in order; a record quarantined counts, a line that
    is not a record does not; what the run reads past the limit (c.jsonl, with no text field) neither
    stops it nor shows, but stops a run whose limit reaches it."""
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    src.mkdir()
    lines = [json.dumps({"id": f"a{i}", "text": "" if i == 20 else f"first file record {i} " + "w " * (i % 7)})
             for i in range(1500)]
    lines[10] = "{not json"
    (src / "a.jsonl").write_text("".join(x + "\n" for x in lines))
    (src / "b.jsonl").write_text("".join(json.dumps({"id": f"b{i}", "text": f"second file {i} " + "v " * (i % 5)})
                                         + "\n" for i in range(5000)))
    (src / "c.jsonl").write_text("".join(json.dumps({"id": f"c{i}", "body": "no text field"}) + "\n"
                                         for i in range(50)))
    expected = [f"a{i}" for i in range(1500) if i not in (10, 20)] + [f"b{i}" for i in range(201)]
    for shard_mb, workers in ((16, "1"), (0.01, "2")):
        out = tmp_path / f"out{shard_mb}"
        proc = cli("run", str(src), "-o", str(out), "-q", "--steps", "exact", "--limit", "1700",
                   "-w", workers, "--set", f"engine.shard_mb={shard_mb}", "--format", "jsonl")
        assert proc.returncode == 0, proc.stderr
        got = [json.loads(x)["id"] for f in sorted((out / "documents").iterdir())
               for x in f.read_text().splitlines()]
        assert got == expected
        stats = json.loads((out / "stats.json").read_text())
        assert stats["total"]["docs_in"] == 1699 and stats["total"]["quarantined"] == 2
        assert stats["total"]["shards"] == (2 if shard_mb == 16 else len(list((out / "documents").iterdir())))
        assert cli("verify", str(out)).returncode == 0
    assert pq.read_table(tmp_path / "out16" / "quarantine").column("kind").to_pylist() == [
        "invalid_json", "empty_document"]
    proc = cli("run", str(src), "-o", str(tmp_path / "all"), "-q", "--steps", "exact", "--limit", "6499")
    assert proc.returncode == 0, proc.stderr
    proc = cli("run", str(src), "-o", str(tmp_path / "all"), "-q", "--steps", "exact", "--limit", "6500",
               "--overwrite")
    assert proc.returncode == 2 and "c.jsonl: none of its 50 records" in proc.stderr
