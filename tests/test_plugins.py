"""Steps and readers from another package, through the entry points ``thresher.steps`` and
``thresher.readers``: the example package in tests/plugin, installed for real with pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

PLUGIN = Path(__file__).parent / "plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "plugin"      # a copy: the build writes beside the source
    shutil.copytree(PLUGIN, source)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(target)


def _thresher(args: list[str], plugin_path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin_path, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "thresher", *args], capture_output=True, text=True, env=env)


def test_plugin_steps_and_reader_run_from_the_cli(tmp_path, plugin_path):
    docs = {"a": "Bees\nBees cool their hive by fanning their wings at the entrance.",
            "b": "Tides\nThe moon pulls the oceans, and the water rises twice a day.",
            "c": "bees\nA different text under the same title, which same_title removes.",
            "d": "tiny"}
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps({"id": k, "text": v}) + b"\n" for k, v in docs.items()))
    tsv = tmp_path / "more.tab"
    tsv.write_text("e\tSourdough\\nFlour, water and time make the starter rise.\nbroken line\n")
    out = tmp_path / "out"
    proc = _thresher(["run", str(src), str(tsv), "-o", str(out), "--steps", "same_title,exact,drop_short",
                      "-w", "2", "--quiet"], plugin_path)
    assert proc.returncode == 0, proc.stderr
    kept = pq.read_table(out / "documents").column("id").to_pylist()
    assert kept == ["a", "b", "e"]
    rows = {r["doc_id"]: r for r in pq.read_table(out / "removals").to_pylist()}
    assert rows["c"]["step"] == "same_title" and rows["c"]["reason"] == "same_title"
    assert rows["c"]["dup_of_id"] == "a"
    assert rows["d"]["step"] == "drop_short" and rows["d"]["reason"] == "too_short"
    quarantine = pq.read_table(out / "quarantine").to_pylist()
    assert [(q["kind"], q["line"]) for q in quarantine] == [("no_tab", 2)]
    stats = orjson.loads((out / "stats.json").read_bytes())
    assert stats["steps_run"] == ["drop_short", "exact", "same_title"]   # stage, position, name
    assert _thresher(["verify", str(out)], plugin_path).returncode == 0
    listing = _thresher(["steps"], plugin_path)
    assert "same_title" in listing.stdout and "drop_short" in listing.stdout


def test_a_broken_plugin_is_named_when_asked_for(tmp_path, plugin_path):
    site = tmp_path / "site"
    dist = site / "broken_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[thresher.steps]\nbroken = no_such_module:Step\n")
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "hello"}\n')
    proc = _thresher(["run", str(src), "-o", str(tmp_path / "out"), "--steps", "broken"],
                     os.pathsep.join([str(site), plugin_path]))
    assert proc.returncode == 2
    said = " ".join(proc.stderr.split())
    assert "broken = no_such_module:Step" in said and "cannot be loaded" in said
    # the built-in steps are untouched by a broken plug-in
    ok = _thresher(["run", str(src), "-o", str(tmp_path / "out2"), "--steps", "exact", "--quiet"],
                   os.pathsep.join([str(site), plugin_path]))
    assert ok.returncode == 0, ok.stderr


def test_readme_shows_the_example_package_as_it_is():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    code = (PLUGIN / "thresher_plugin_example" / "__init__.py").read_text().rstrip()
    assert f"```python\n{code}\n```" in readme
    pyproject = (PLUGIN / "pyproject.toml").read_text()
    for line in pyproject.splitlines():
        if line.startswith(("drop_short", "same_title", "tsv", "[project.entry-points")):
            assert line in readme
