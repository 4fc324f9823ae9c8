"""One run at a time on an OUT folder.

The lock is ``flock`` on the OUT folder itself, held for the whole run: a second run (or an
``--overwrite`` of a running one) on the same OUT exits 2 instead of mixing its files in. The kernel
drops the lock when its process dies, so a run killed with kill -9 leaves no stale lock behind, and
``--overwrite`` empties OUT rather than replacing the folder, so the locked folder is the one used.
Only local folders are locked: an object store has no such lock (two runs on one store URL are the
user's to avoid), and ``flock`` on NFS locks only within one machine.
"""

from __future__ import annotations

import errno
import fcntl
import os

from ..errors import OutputError
from ..io.storage import Location


class OutputLock:
    """The exclusive lock on a local OUT folder (created if missing); :meth:`release` frees it."""

    def __init__(self, out: Location):
        self.fd: int | None = None
        if not out.is_local:
            return
        try:
            out.mkdir()
            self.fd = os.open(out.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise OutputError(f"cannot use {out} as the output folder ({exc.strerror or exc}); choose "
                              f"another --output") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self.fd)
            self.fd = None
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise OutputError(f"output folder {out} is in use by another thresher run; wait for it "
                                  f"to end (or stop it), or choose another --output") from None
            raise OutputError(f"cannot lock the output folder {out}: {exc.strerror or exc}") from None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)        # closing the descriptor drops the lock
            self.fd = None
