"""The Ray engine: the same bytes as the local engine, a killed Ray worker retried, a killed driver
resumed. Each run starts a local Ray runtime with 2 CPUs (and shuts it down)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import thresher
from thresher import ConfigError
from thresher.engine.layout import read_json

from conftest import EXAMPLES, SHARED, ROOT, assert_verified, cli_ok, make_corpus, output_bytes, run_ok

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra (pip install 'thresher[ray]')")

SEEDS = SHARED / "seeds"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Duplicates at every level: exact copies (generated), near copies, repeated paragraphs and
    boilerplate (examples), a contained document (seeds)."""
    d = tmp_path_factory.mktemp("raycorpus")
    make_corpus(d / "gen.jsonl", docs=20_000, copy_fraction=0.2)
    inputs = [d / "gen.jsonl", EXAMPLES] + ([SEEDS] if SEEDS.exists() else [])
    local = d / "local"
    run_ok(inputs, local, workers=2, config={"engine": {"shard_mb": 0.5}})
    return {"inputs": inputs, "local": local, "bytes": output_bytes(local)}


@pytest.mark.slow
def test_ray_output_is_byte_identical_to_local(corpus, tmp_path):
    out = tmp_path / "ray"
    stats = run_ok(corpus["inputs"], out, workers=2, engine="ray", config={"engine": {"shard_mb": 0.5}})
    assert output_bytes(out) == corpus["bytes"]
    local = read_json(corpus["local"] / "stats.json")
    assert stats["steps_run"] == local["steps_run"] and stats["total"]["docs_out"] == local["total"]["docs_out"]
    assert stats["total"]["shards"] > 4
    assert not ray.is_initialized()       # the runtime the run started is shut down


def _ray_task_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "ray::_call" in line]


def _run_cli(corpus, out, *extra):
    return [sys.executable, "-m", "thresher", "run", *map(str, corpus["inputs"]), "-o", str(out), "-w", "2",
            "-q", "--engine", "ray", "-c", str(out.parent / "t.toml"), *extra]


@pytest.mark.slow
def test_killed_ray_worker_is_retried_to_identical_bytes(corpus, tmp_path):
    (tmp_path / "t.toml").write_text("[engine]\nshard_mb = 0.5\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(_run_cli(corpus, out), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = None
    t0 = time.time()
    while killed is None and proc.poll() is None and time.time() - t0 < 300:
        pids = _ray_task_pids()
        if pids:
            os.kill(pids[0], signal.SIGKILL)       # a worker process dies in the middle of a task
            killed = pids[0]
        time.sleep(0.02)
    _, err = proc.communicate(timeout=600)
    assert killed is not None, "no Ray task was seen running"
    assert proc.returncode == 0, err
    assert_verified(out)
    assert output_bytes(out) == corpus["bytes"]


@pytest.mark.slow
def test_killed_ray_driver_resumes_to_identical_bytes(corpus, tmp_path):
    (tmp_path / "t.toml").write_text("[engine]\nshard_mb = 0.5\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(_run_cli(corpus, out), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = out / "_work" / "done" / "ingest"
    t0 = time.time()
    while proc.poll() is None and time.time() - t0 < 300:
        if done.exists() and len(list(done.glob("*.json"))) >= 3:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert read_json(out / "manifest.json")["status"] == "running"
    cli_ok("run", *map(str, corpus["inputs"]), "-o", str(out), "-w", "2", "-q", "--engine", "ray",
           "-c", str(tmp_path / "t.toml"), out=out)
    assert read_json(out / "stats.json")["resumed"] is True
    assert output_bytes(out) == corpus["bytes"]


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"pip install 'thresher\[ray\]'"):
        thresher.run([str(EXAMPLES)], str(tmp_path / "out"), engine="ray", steps=["exact"])


@pytest.mark.slow
def test_a_ray_that_thresher_starts_listens_on_loopback_only_with_its_authentication():
    import ipaddress

    import psutil

    from thresher.engine.ray_executor import RayExecutor

    if os.environ.get("RAY_AUTH_MODE") == "disabled":
        pytest.skip("this environment switches Ray's authentication off itself")
    ex = RayExecutor(2, address="local")
    try:
        assert os.environ.get("RAY_AUTH_MODE") != "disabled"     # thresher never switches it off
        assert sorted(ex.map(abs, [-1, -2])) == [(-2, 2), (-1, 1)]      # the runtime works
        ours = {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}
        listening = [c.laddr for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.pid in ours]
        assert listening, "no Ray service found listening"
        exposed = [a for a in listening if not ipaddress.ip_address(a.ip.removeprefix("::ffff:")).is_loopback]
        assert exposed == []
    finally:
        ex.close()


@pytest.mark.slow
def test_decontaminate_on_ray_gives_the_local_bytes(tmp_path):
    """A step whose twins lie outside the corpus (benchmark items) records them the same on Ray."""
    import gzip

    import orjson

    items = [{"idx": i, "question": f"A farmer number {i} has seventeen sheep and all but nine run away "
                                    f"through a gap in the old stone wall of field {i}; how many are left?"}
             for i in range(5)]
    bench = tmp_path / "bench.jsonl.gz"
    bench.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in items)))
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps({"id": f"d{i}", "text": "Notes from the market.\n" * 20 + items[i % 5]["question"]
                                           + "\n" + "Weather was fine.\n" * 20}) + b"\n" for i in range(40)))
    config = {"decontaminate": {"window": 10, "benchmark": [{"name": "q", "path": str(bench), "id_field": "idx"}]},
              "engine": {"shard_mb": 0.002}}
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        stats = run_ok([src], outs[engine], workers=2, engine=engine, steps=["decontaminate"], config=config)
        assert stats["steps"]["decontaminate"]["benchmarks"]["q"]["documents"] == 40
    assert output_bytes(outs["ray"]) == output_bytes(outs["local"])
