"""thresher.cache: derived arrays stored once, mapped in after; a changed source is a new entry; a cache
that cannot be written or is damaged never fails the caller."""

from __future__ import annotations

import numpy as np
import pytest

from thresher.cache import cache_root, cached_arrays, entry_key


def _builder():
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(10, dtype=np.int32), "b": np.ones((3, 4), np.float32)}, {"names": ["x", "y"]}
    return build, calls


def test_built_once_then_mapped_in(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHER_CACHE_DIR", str(tmp_path))
    build, calls = _builder()
    first = cached_arrays("t", "k1", build)
    again = cached_arrays("t", "k1", build)
    assert len(calls) == 1
    for arrays, meta in (first, again):
        assert meta == {"names": ["x", "y"]}
        assert arrays["a"].tolist() == list(range(10)) and arrays["b"].shape == (3, 4)
        assert type(arrays["a"]) is np.ndarray and not arrays["a"].flags.writeable
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["k1"]   # no temporary folder left


def test_another_key_is_another_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHER_CACHE_DIR", str(tmp_path))
    build, calls = _builder()
    cached_arrays("t", "k1", build)
    cached_arrays("t", "k2", build)
    assert len(calls) == 2


def test_key_follows_the_source_bytes_and_parts(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"one")
    k = entry_key(files=(f,), parts=("pkg", "1.0"))
    assert k == entry_key(files=(f,), parts=("pkg", "1.0"))
    assert k != entry_key(files=(f,), parts=("pkg", "1.1"))
    assert entry_key(parts=("ab", "c")) != entry_key(parts=("a", "bc"))
    f.write_bytes(b"two")
    assert k != entry_key(files=(f,), parts=("pkg", "1.0"))


def test_empty_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHER_CACHE_DIR", "")
    assert cache_root() is None
    build, calls = _builder()
    cached_arrays("t", "k", build)
    arrays, _ = cached_arrays("t", "k", build)
    assert len(calls) == 2 and arrays["a"].flags.writeable


def test_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("THRESHER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "thresher"


def test_unwritable_cache_gives_the_built_arrays(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("THRESHER_CACHE_DIR", str(blocker))
    build, calls = _builder()
    arrays, meta = cached_arrays("t", "k", build)
    assert arrays["a"].tolist() == list(range(10)) and meta["names"] == ["x", "y"]


@pytest.mark.parametrize("damage", ["truncate_array", "drop_index", "bad_index"])
def test_damaged_entry_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("THRESHER_CACHE_DIR", str(tmp_path))
    build, calls = _builder()
    cached_arrays("t", "k", build)
    entry = tmp_path / "t" / "k"
    if damage == "truncate_array":
        (entry / "a.npy").write_bytes((entry / "a.npy").read_bytes()[:70])
    elif damage == "drop_index":
        (entry / "index.json").unlink()
    else:
        (entry / "index.json").write_text("{")
    arrays, _ = cached_arrays("t", "k", build)
    assert len(calls) == 2 and arrays["a"].tolist() == list(range(10))
    again, _ = cached_arrays("t", "k", build)
    assert len(calls) == 2 and again["b"].shape == (3, 4)


def test_language_model_from_the_cache_equals_the_converted_one(tmp_path, monkeypatch):
    from thresher.steps.language import Model
    monkeypatch.setenv("THRESHER_CACHE_DIR", "")
    fresh = Model()
    monkeypatch.setenv("THRESHER_CACHE_DIR", str(tmp_path))
    Model()
    cached = Model()
    assert not cached.ptc.flags.writeable   # really read from the cache
    assert cached.classes == fresh.classes
    for name in ("ptc", "pc", "nextmove", "rowbase", "output"):
        a, b = getattr(cached, name), getattr(fresh, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    texts = ["Ceci est une phrase en français.", "Das ist ein deutscher Satz über nichts.", "", "12345"]
    assert cached.classify_batch(texts)[0] == fresh.classify_batch(texts)[0]
    assert np.array_equal(cached.classify_batch(texts)[1], fresh.classify_batch(texts)[1])
