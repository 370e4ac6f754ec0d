"""A state directory the root lab can trust: its own, writable by nobody else, locked while in use.

The lab runs as root, and state dirs are often under /tmp. Anything another user could have planted
(a symlink named `daemon.log`, a `run.json` naming someone else's process) must not steer it, so:
the directory is created here or refused unless it belongs to the caller and no one else may write
to it or to any directory above it (sticky /tmp is fine); every file is created afresh, never
followed through a symlink (`O_EXCL|O_NOFOLLOW`); and `flock` keeps two starts or stops apart.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LabError

LOCK_WAIT = 30.0  # seconds a stop waits for a start to finish


def _check_owner(root: Path, path: Path, st: os.stat_result, *, sticky_ok: bool) -> None:
    """Refuse a directory someone else owns or may write to (a sticky one like /tmp may be shared)."""
    euid = os.geteuid()
    where = "" if path == root else f"{path} above it is "
    if not stat.S_ISDIR(st.st_mode):
        raise LabError(f"refusing state dir {root}: {where}not a directory (a symlink or a file)")
    if st.st_uid not in (euid, 0):
        raise LabError(f"refusing state dir {root}: {where}owned by uid {st.st_uid}, not by you (uid {euid}); use a directory of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        mode = stat.S_IMODE(st.st_mode)
        raise LabError(f"refusing state dir {root}: {where}writable by other users (mode {mode:04o}); use a directory only you can write")


def claim(root: Path) -> None:
    """Create `root` (0755, parents as needed) or accept it only if it is ours alone; else LabError.

    Every existing directory above it must be owned by root or the caller and not writable by
    others (unless sticky): otherwise its owner could swap `root` for a symlink after this check.
    """
    parent = Path(os.path.realpath(root.parent))
    for above in (*reversed(parent.parents), parent):
        try:
            st = os.stat(above)
        except FileNotFoundError:
            break  # the rest is created here
        _check_owner(root, above, st, sticky_ok=True)
    try:
        root.mkdir(mode=0o755, parents=True)
    except FileExistsError:
        _check_owner(root, root, os.lstat(root), sticky_ok=False)
    else:
        os.chmod(root, 0o755)  # mkdir's mode is filtered by the umask


def check(root: Path) -> bool:
    """Whether `root` exists; if it does, it must be ours alone (as :func:`claim` demands), else LabError."""
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return False
    parent = Path(os.path.realpath(root.parent))
    for above in (*reversed(parent.parents), parent):
        _check_owner(root, above, os.stat(above), sticky_ok=True)
    _check_owner(root, root, st, sticky_ok=False)
    return True


def directory(path: Path, mode: int) -> None:
    """A subdirectory of a claimed state dir, with exactly `mode`: made here, or an existing one of ours."""
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        _check_owner(path, path, os.lstat(path), sticky_ok=False)
    os.chmod(path, mode, follow_symlinks=False)


def remove(path: Path) -> None:
    """Remove a file or a planted symlink (never what it points to); a directory there is an error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        raise LabError(f"refusing state dir {path.parent}: {path.name} is a directory, expected a file") from None


def create(path: Path, mode: int = 0o644) -> int:
    """A new, empty file with exactly `mode`, opened for writing; whatever was at `path` is removed first."""
    remove(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError:  # someone raced us: only possible if the directory is not ours alone
        raise LabError(f"refusing state dir {path.parent}: {path.name} reappeared while it was being written") from None
    os.fchmod(fd, mode)
    return fd


def write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write a fresh file with exactly `mode` (umask ignored), never through a symlink."""
    with open(create(path, mode), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def append(path: Path) -> int:
    """An fd appending to a log file (created 0644 if missing); a symlink there is refused."""
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise LabError(f"refusing state dir {path.parent}: {path.name} is a symlink") from None
        raise


def read(path: Path) -> str | None:
    """A small file's text, None if it is missing; a symlink there is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LabError(f"refusing state dir {path.parent}: {path.name} is a symlink") from None
        raise
    with open(fd, encoding="utf-8", errors="replace") as f:
        return f.read(1 << 20)


@contextmanager
def locked(root: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the state dir's lock (flock on the directory); waits up to `wait` seconds, else LabError."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LabError(f"state dir {root} does not exist") from None
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LabError(f"refusing state dir {root}: not a directory (a symlink or a file)") from None
        raise
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LabError(f"another start or stop is using {root} right now") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
