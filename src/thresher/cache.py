"""Arrays derived from a packaged file, kept on disk so that the next process maps them in instead of
deriving them again.

The language model is the case: py3langid ships it as an xz-compressed ``.npz`` (4.6 MB) that takes
0.34 s to decompress and convert into the kernels' arrays (~100 MB), in the CLI and again in every
worker process; mapped from the cache, 0.002 s (``python benchmarks/kernels.py``,
``language_model_s``). :func:`cached_arrays` stores the converted arrays once as ``.npy`` files and
later opens them with ``mmap_mode="r"``, so processes share the pages instead of each holding a copy.

Invalidation: an entry's folder is named by the XXH3-64 of everything it is derived from (the source
file's bytes, the source package's version and the deriving code's format number), so a changed model,
package or conversion lands in a new folder and is never confused with an old one. An entry is written
to a temporary folder and renamed into place, so a reader never sees a partial one; two processes that
build it at once both succeed (the second rename loses and its copy is removed).

Where: ``$THRESHER_CACHE_DIR``, else ``$XDG_CACHE_HOME/thresher``, else ``~/.cache/thresher``.
``THRESHER_CACHE_DIR=""`` turns the cache off. A cache folder that cannot be written is not an error:
the arrays are derived in memory as without a cache (and a debug log line says why).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xxhash

log = logging.getLogger(__name__)


def cache_root() -> Path | None:
    """The cache folder (see the module docstring), or None when the cache is off."""
    env = os.environ.get("THRESHER_CACHE_DIR")
    if env is not None:
        return Path(env).expanduser() if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "thresher"


def entry_key(*, files: tuple[Path, ...] = (), parts: tuple[str, ...] = ()) -> str:
    """A key for what an entry is derived from: the bytes of ``files`` and the strings ``parts``."""
    h = xxhash.xxh3_64()
    for f in files:
        data = Path(f).read_bytes()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    for p in parts:
        b = p.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def cached_arrays(name: str, key: str, build: Callable[[], tuple[dict[str, np.ndarray], dict]]
                  ) -> tuple[dict[str, np.ndarray], dict]:
    """``build()`` -> ``(arrays, meta)`` (``meta`` JSON-serialisable), from the cache entry
    ``name/key`` when there is one (arrays then read-only, memory-mapped), else built and stored."""
    root = cache_root()
    if root is None:
        return build()
    folder = root / name / key
    try:
        return _load(folder)
    except (OSError, ValueError, KeyError) as exc:
        if folder.exists():   # entries appear whole (renamed into place), so this one is damaged
            log.debug("cache entry %s unreadable (%s); rebuilding", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    arrays, meta = build()
    try:
        _store(folder, arrays, meta)
        return _load(folder)      # mapped, so that this process too shares the pages
    except (OSError, ValueError, KeyError) as exc:
        log.debug("cache folder %s not usable (%s); not cached", folder, exc)
        return arrays, meta


def _load(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    index = json.loads((folder / "index.json").read_text("utf-8"))
    arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
              for k in index["arrays"]}
    return arrays, index["meta"]


def _store(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for k, a in arrays.items():
            np.save(tmp / f"{k}.npy", np.ascontiguousarray(a), allow_pickle=False)
        (tmp / "index.json").write_text(json.dumps({"arrays": list(arrays), "meta": meta}), "utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "index.json").exists():   # not another process's finished entry
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
