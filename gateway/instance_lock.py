"""One running gateway per data directory.

Two gateways on one store would answer for the same callsigns, overwrite each other's
`gateway.pid` and status snapshot, and leave `gateway status` and `gateway radio`
talking to the wrong one. `gateway run` therefore holds an exclusive `flock` on
`data_dir/gateway.lock` for as long as it runs. The kernel drops the lock when the
process ends, however it ends (kill -9 included), so a stale lock file never keeps a
gateway from starting; the file itself is never removed (removing it would let a
third instance lock a new file while the second still holds the old one).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "gateway.lock"


class AlreadyRunning(OSError):
    """Another gateway holds the data directory's lock."""


class InstanceLock:
    """The exclusive lock of one data directory, held from `acquire` to `release`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, pid_file: Path) -> None:
        """Take the lock, or raise AlreadyRunning naming the holder (from `pid_file`)."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (PID {int(pid_file.read_text().strip())})"
            raise AlreadyRunning(
                f"another gateway is running on {self.path.parent}{holder};"
                " stop it first, or give this one a data_dir of its own"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None
