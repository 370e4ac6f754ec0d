"""Run a program chrooted into a root filesystem as PID 1 of a private mount/UTS/PID namespace.

There is no network namespace: a daemon inside binds the host's loopback, so host clients reach it.
The namespace's mounts (/proc, /tmp, a few /dev nodes) live and die with it, and when its init exits
the kernel kills everything else inside. So a daemon started here is stopped by signalling one host
PID, and the namespace id then proves that nothing of it is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import statedir
from ..errors import LabError
from ..process import POLL, proc_stat
from . import lifeline

# PID 1 of the new namespaces runs this, then becomes the program. `set -e`: a failed mount is fatal.
_ENTER = r"""
set -e
root=$1; name=$2; shift 2
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
for node in null zero random urandom; do
    [ -e "$root/dev/$node" ] || : > "$root/dev/$node"
    mount --bind "/dev/$node" "$root/dev/$node"
done
hostname "$name"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
"""


def _command(root: Path, hostname: str, argv: Sequence[str]) -> list[str]:
    # --kill-child: if unshare is killed, so is the namespace's init, hence all of it. The kernel forgets
    # that wish when the init changes credentials (Postfix's master, setuid exim4): daemons are therefore
    # always stopped through their own host pid (Jail.stop), which needs no launcher.
    return [
        "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--propagation", "private",
        "sh", "-c", _ENTER, "sh", str(root), hostname, *argv,
    ]  # fmt: skip


def run(root: Path, argv: Sequence[str], *, hostname: str, timeout: float, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv` to completion inside `root` (build steps, one-off setup); output is captured."""
    proc = subprocess.Popen(
        _command(root, hostname, argv),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # unshare's group: --kill-child takes the namespace down
        out, _ = proc.communicate()
        raise LabError(f"{' '.join(argv)[:80]} in {root} did not finish within {timeout:g}s: {_last(out)}") from None
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, "")


def _last(text: str, lines: int = 5) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(no output)"


def _pids() -> Iterator[int]:
    return (int(e.name) for e in os.scandir("/proc") if e.name.isdigit())


def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


@dataclass(frozen=True)
class Jail:
    """A running namespace, identified from any process by what `/proc` says about its init.

    `init_pid` is the HOST pid of the program (PID 1 inside); `start_time` tells it apart from a later
    process that reuses the pid; `pid_ns` finds every process that still lives inside.
    """

    root: str
    unshare_pid: int
    init_pid: int
    start_time: int
    pid_ns: str

    def save(self, path: Path, **extra: object) -> None:
        statedir.write(path, json.dumps({**extra, "jail": asdict(self)}) + "\n", 0o600)

    @classmethod
    def load(cls, path: Path) -> Jail | None:
        text = statedir.read(path)
        if text is None:
            return None
        try:
            return cls(**json.loads(text)["jail"])
        except (KeyError, TypeError, ValueError):
            raise LabError(f"{path} is not a lab record (empty or garbled); remove it if no lab runs there") from None

    @property
    def alive(self) -> bool:
        """The init still runs (a zombie waiting for unshare to reap it counts as gone), and it is the one
        recorded: same start time, in the recorded namespace, which is not ours (a planted record names none)."""
        fields = proc_stat(self.init_pid)
        if fields is None or int(fields[19]) != self.start_time or fields[0] == "Z":
            return False
        return _pid_ns(self.init_pid) == self.pid_ns != _pid_ns(os.getpid())

    def members(self) -> list[int]:
        """Host pids of the live processes inside the namespace (none if the record names our own)."""
        if self.pid_ns == _pid_ns(os.getpid()):
            return []
        return [pid for pid in _pids() if _pid_ns(pid) == self.pid_ns and (f := proc_stat(pid)) and f[0] != "Z" and self._rooted_here(pid)]

    def _rooted_here(self, pid: int) -> bool:
        """The kernel reuses namespace inode numbers: another jail's process can carry ours. Its root (the
        rootfs it is chrooted to) tells them apart; our init runs before it chroots, so it counts too."""
        if pid == self.init_pid:
            return True
        try:
            root = os.readlink(f"/proc/{pid}/root")
        except OSError:
            return False
        return root == self.root or root.startswith(self.root + "/")

    def leftovers(self) -> list[str]:
        """Anything of the jail the host can still see: processes inside it, mounts under its root."""
        found = [f"process {pid}" for pid in self.members()]
        mounts = Path("/proc/self/mounts").read_text().split("\n")
        found += [f"mount {m.split()[1]}" for m in mounts if m and m.split()[1].startswith(self.root + "/")]
        return found

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the init (the daemon shuts down its children), then SIGKILL; verify nothing is left."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 3.0)):
            if not self.alive and not self.members():
                break
            if self.alive:
                try:
                    os.kill(self.init_pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while (self.alive or self.members()) and time.monotonic() < deadline:
                time.sleep(POLL)
        if left := self.leftovers():
            raise LabError(f"the namespace of {self.root} survived SIGKILL: {', '.join(left)}")


def spawn(root: Path, argv: Sequence[str], *, hostname: str, log: Path, timeout: float = 5.0) -> tuple[Jail, subprocess.Popen[bytes]]:
    """Start `argv` as the namespace's init in a new session (it outlives the caller); return once it runs."""
    with open(statedir.create(log), "wb") as out:
        proc = subprocess.Popen(
            _command(root, hostname, argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    own_ns = _pid_ns(os.getpid())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in _children(proc.pid):
            fields, ns = proc_stat(pid), _pid_ns(pid)
            if fields is not None and ns is not None and ns != own_ns:
                return Jail(str(root), proc.pid, pid, int(fields[19]), ns), proc
        if proc.poll() is not None:
            break
        time.sleep(POLL)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise LabError(f"{argv[0]} did not start in a namespace (unshare status {proc.returncode}): {_last(log.read_text(errors='replace'))}")


def tie(jail: Jail) -> tuple[int, subprocess.Popen[bytes]]:
    """Make the namespace die with this process: the write end of its lifeline (close it when done) and
    the watcher (wait for it then).

    A watcher in its own session holds the read end (see `lifeline.py`); when this process exits, even
    by SIGKILL, the pipe closes and the watcher kills the namespace's init, and with it the namespace.
    """
    read, write = os.pipe()
    try:
        watcher = subprocess.Popen(
            [sys.executable, "-I", "-S", lifeline.__file__, str(read), str(jail.init_pid), str(jail.start_time)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(read,),
            start_new_session=True,
        )
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)
    return write, watcher


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []
