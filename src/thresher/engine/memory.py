"""Memory freed by one shard kept for the next, instead of handed back to the system and faulted in again.

Every shard allocates the same large arrays (a 16 MB shard's code points alone are ~60 MB) and frees them
when it is done. glibc serves large blocks with fresh ``mmap`` pages and returns them on ``free``, and
Arrow's default allocator (mimalloc) gives freed pages back too (tests/test_run.py: 4 MB numpy and Arrow
blocks allocated and freed four times fault nearly every page in again each round), so each shard pays
the kernel again to fault in and zero the same amount of memory.

:func:`retain_freed_memory` turns that off for the process: glibc serves every block from its heap and
never trims it (``mallopt(M_MMAP_MAX, 0)``, ``mallopt(M_TRIM_THRESHOLD, 2**31 - 1)``), and Arrow
allocates through glibc (``pyarrow.system_memory_pool()``). The next shard then reuses pages already
mapped instead of faulting them in again (``python benchmarks/memory.py`` measures faults, system time
and wall with and without it; ``benchmarks/results/memory.json``). The
price is that a process keeps its peak memory until it exits, which fits worker processes and the CLI,
not a long-lived host process that needs memory back (``[engine] retain_memory = false``; the setting
cannot be undone in a process that has made it).

Only glibc has these settings; elsewhere (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import platform

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Keep freed memory in this process for reuse (see the module docstring); idempotent. Returns
    whether the settings took effect (False where the C library is not glibc)."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if not (mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)):
        return False
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    return True
