"""Where numba keeps thresher's compiled kernels, when neither place numba tries can be written.

numba caches each ``cache=True`` kernel next to its source (``__pycache__`` in the package) or, failing
that, in ``$XDG_CACHE_HOME/numba`` (``~/.cache/numba``); if neither is writable (a read-only install
and home, as in many containers) it refuses to compile at all (``RuntimeError: cannot cache
function``). Then, and only then, ``NUMBA_CACHE_DIR`` is pointed at a folder of this user under the
system's temporary folder, before numba reads it. A ``NUMBA_CACHE_DIR`` the user set is left alone.
"""

from __future__ import annotations

import os
import sys
import tempfile

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _writable(folder: str) -> bool:
    """Whether ``folder`` (or, if it does not exist yet, its nearest existing parent) can be written."""
    while not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return os.access(folder, os.W_OK | os.X_OK)


def numba_cache_dir() -> str | None:
    """The folder to set as ``NUMBA_CACHE_DIR``, or None when numba's own choice works."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if _writable(os.path.join(_PACKAGE, "text", "__pycache__")):
        return None
    user = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if os.path.isabs(user) and _writable(os.path.join(user, "numba")):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return os.path.join(tempfile.gettempdir(), f"thresher-numba-{uid}")


def use_writable_numba_cache() -> None:
    folder = numba_cache_dir()
    if folder is None:
        return
    os.environ["NUMBA_CACHE_DIR"] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:             # numba was imported before thresher: it read the variable already
        config.CACHE_DIR = folder


def cache_folder() -> str:
    """The folder numba caches thresher's kernels in (for files beside them, such as warm-up marks)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    own = os.path.join(_PACKAGE, "__pycache__")
    if _writable(own):
        return own
    user = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(user, "numba")
