"""Files that hold secrets: a 0700 directory, 0600 files, no symlinks, refused if exposed.

The checks run before the gateway or a CLI command touches the store, so a data
directory left readable by others stops the program with the fix in the message.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


class UnsafePathError(Exception):
    """A secret-bearing path is missing, exposed, a symlink, or owned by someone else."""


def ensure_private_dir(path: Path) -> None:
    """Create `path` as 0700 if missing (parents as usual); refuse it if exposed."""
    if not os.path.lexists(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
            # mkdir's mode is filtered by the umask; make the result exact.
            os.chmod(path, 0o700)
    check_private(path, directory=True)


def check_private(path: Path, *, directory: bool = False) -> None:
    """Refuse a path that is a symlink, not ours, of the wrong type, or open to others."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UnsafePathError(f"{path}: does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path}: is a symbolic link; use the real path")
    wanted, kind = (stat.S_ISDIR, "directory") if directory else (stat.S_ISREG, "regular file")
    if not wanted(st.st_mode):
        raise UnsafePathError(f"{path}: is not a {kind}")
    if st.st_uid != os.geteuid():
        raise UnsafePathError(f"{path}: is owned by uid {st.st_uid}, not by this user")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        fix = "700" if directory else "600"
        raise UnsafePathError(
            f"{path}: is accessible to group or others (mode {mode:03o}); run: chmod {fix} {path}"
        )


def read_private_file(path: Path, max_bytes: int) -> bytes:
    """Read a small secret file, refusing symlinks and exposed modes."""
    check_private(path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(max_bytes + 1)


def write_private_file(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` atomically as a 0600 file: temp file, fsync, rename, fsync the directory."""
    directory = path.parent
    if exclusive and os.path.lexists(path):
        raise FileExistsError(f"{path}: already exists")
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
