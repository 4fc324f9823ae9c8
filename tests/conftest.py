"""Shared helpers. Every end-to-end run goes through ``run_ok``/``cli_ok``, which verify the invariant of
OUT (removals applied to each original give the kept text; dropped documents are covered) on every run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import thresher
from thresher.engine.runner import output_files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("THRESHER_SHARED", ROOT.parent / "shared"))


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    """Derived-array caches (thresher.cache) in the session's temporary folder, not the user's home."""
    old = os.environ.get("THRESHER_CACHE_DIR")
    os.environ["THRESHER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("THRESHER_CACHE_DIR")
    else:
        os.environ["THRESHER_CACHE_DIR"] = old


def shared_path(*parts: str) -> Path:
    """A path in ../shared; the test skips with a message where it is absent (a user's clone)."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (the project's shared data, present in CI; absent in this clone)")
    return p


def assert_verified(out: Path) -> dict:
    report = thresher.verify_output(out)
    assert report["errors"] == [], report["errors"]
    return report


#: The dedup steps: tests of the engine and readers use these, so that the filters' verdicts on tiny
#: synthetic documents do not hide what they check.
DEDUP = ["exact", "near_dup", "paragraphs", "substrings"]


def run_ok(inputs, out, **kw) -> dict:
    stats = thresher.run([str(i) for i in inputs], str(out), **kw)
    assert_verified(out)
    return stats


def cli(*args: str, check_verify: bool = False, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "thresher", *args], capture_output=True, text=True,
                          cwd=kw.pop("cwd", ROOT), **kw)
    return proc


def cli_ok(*args: str, out: Path, **kw) -> subprocess.CompletedProcess:
    proc = cli(*args, **kw)
    assert proc.returncode == 0, proc.stderr
    assert_verified(out)
    return proc


def output_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in output_files(out)}


WORDS = ("river stone paper light orbit garden copper window signal harbor quiet thunder lattice "
         "meadow engine cobalt violet anchor ember glacier pixel canyon lantern saddle").split()


def make_corpus(path: Path, *, docs: int, copy_fraction: float, seed: int = 7,
                words: tuple[int, int] = (20, 80)) -> dict[str, str]:
    """JSONL corpus: unique random documents, then ``copy_fraction`` of them exact copies of earlier
    ones (some with whitespace changed, which exact dedup folds). Returns {copy id: first id}."""
    rng = random.Random(seed)
    n_copies = int(docs * copy_fraction)
    originals: list[tuple[str, str]] = []
    first_of: dict[str, str] = {}
    copies_left = n_copies
    with open(path, "wb") as fh:
        for i in range(docs):
            if originals and copies_left and rng.random() < copy_fraction * 1.5:
                src_id, text = originals[rng.randrange(len(originals))]
                if rng.random() < 0.3:
                    text = text.replace(" ", "  \n", 1)
                doc_id = f"c{i:07d}"
                first_of[doc_id] = src_id
                copies_left -= 1
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(*words))) + f" n{i}."
                doc_id = f"d{i:07d}"
                originals.append((doc_id, text))
            fh.write(orjson.dumps({"id": doc_id, "text": text, "n": i}) + b"\n")
    return first_of
