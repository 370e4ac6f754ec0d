"""The daemon's process group: recorded in the state dir, so any process can stop it later.

The record is only a claim: before signalling, the process it names must still be the one that
was launched (same start time), belong to the caller, and sit in the lab's own mount namespace
running the recorded program. A reused pid or a planted `run.json` therefore names nothing to stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from . import statedir
from .errors import LabError
from .layout import Layout

POLL = 0.01
"""Seconds between looks at a process or a port, for every lab server."""


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name: [0] state, [1] ppid, [2] pgrp, [19] starttime."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _link(pid: int, name: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/{name}")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except (FileNotFoundError, ProcessLookupError):
        return None


def _all_stats() -> Iterator[tuple[int, list[str]]]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := proc_stat(int(entry.name))) is not None:
            yield int(entry.name), fields


@dataclass(frozen=True)
class Daemon:
    """A launched sendmail; its pid is also its process group (daemon, children, syslog reader).

    `start_time` (clock ticks after boot) tells it apart from a later process that reuses the pid;
    `mnt_ns` and `exe` (read once it listens) tell it apart from any other process of the group's id.
    """

    pid: int
    start_time: int
    mnt_ns: str
    exe: str

    @classmethod
    def of(cls, pid: int) -> Daemon:
        stat, ns, exe = proc_stat(pid), _link(pid, "ns/mnt"), _link(pid, "exe")
        if stat is None or ns is None or exe is None:
            raise LabError(f"sendmail (pid {pid}) vanished right after start")
        return cls(pid, int(stat[19]), ns, exe)

    def save(self, layout: Layout) -> None:
        statedir.write(layout.run, json.dumps(asdict(self)) + "\n", 0o600)

    @classmethod
    def load(cls, layout: Layout) -> Daemon | None:
        """The recorded daemon, None if there is no record; a garbled record is a LabError."""
        text = statedir.read(layout.run)
        if text is None:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
                raise ValueError
            daemon = cls(**data)
            if not (isinstance(daemon.pid, int) and daemon.pid > 1 and isinstance(daemon.start_time, int)):
                raise ValueError
        except ValueError:
            raise LabError(f"{layout.run} is not a lab record (empty or garbled); remove it if no lab runs there") from None
        return daemon

    def _in_lab(self, pid: int) -> bool:
        return _uid(pid) == os.geteuid() and _link(pid, "ns/mnt") == self.mnt_ns

    def members(self) -> list[int]:
        """Live (non-zombie) processes of the lab's group; empty once the pid belongs to someone else."""
        leader = proc_stat(self.pid)
        if leader is not None and leader[0] != "Z":
            same = int(leader[19]) == self.start_time and _link(self.pid, "exe") == self.exe
            if not (same and self._in_lab(self.pid)):
                return []
        return [pid for pid, f in _all_stats() if int(f[2]) == self.pid and f[0] != "Z" and self._in_lab(pid)]

    def terminate(self, timeout: float = 5.0) -> None:
        """SIGTERM the lab's processes, SIGKILL what is left after `timeout` seconds."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
            if not (members := self.members()):
                return
            for pid in members:  # one by one, never the whole group id: only what was verified
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self.members() and time.monotonic() < deadline:
                time.sleep(POLL)
        if left := self.members():
            raise LabError(f"sendmail process group {self.pid} survived SIGKILL: pids {left}")


def orphaned(queue: Path) -> list[Daemon]:
    """Daemons whose state dir was deleted under them: our sendmails still working in `queue`, now gone."""
    gone = f"{queue} (deleted)"
    return [
        Daemon.of(pid)
        for pid, f in _all_stats()
        if int(f[2]) == pid and _uid(pid) == os.geteuid() and _link(pid, "cwd") == gone  # sendmail works in its queue
    ]


def _group_alive(pgid: int) -> bool:
    return any(int(f[2]) == pgid and f[0] != "Z" for _, f in _all_stats())


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Stop the group our own child `proc` leads, then reap it. Its id is safe to signal while the
    group has members (or the leader is unreaped): no other process or group can have it then."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        if proc.returncode is not None and not _group_alive(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(POLL)
        if not _group_alive(proc.pid):
            break
    proc.wait()
