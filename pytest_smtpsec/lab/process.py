"""The daemon's process group: recorded in the state dir, so any process can stop it later."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import LabError
from .layout import Layout

POLL = 0.01


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name: [0] state, [1] ppid, [2] pgrp, [19] starttime."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _all_stats() -> Iterator[tuple[int, list[str]]]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := proc_stat(int(entry.name))) is not None:
            yield int(entry.name), fields


@dataclass(frozen=True)
class Daemon:
    """A launched sendmail; its pid is also its process group (daemon, children, syslog reader).

    `start_time` (clock ticks after boot) tells it apart from a later process that reuses the pid.
    """

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> Daemon:
        fields = proc_stat(pid)
        if fields is None:
            raise LabError(f"sendmail (pid {pid}) vanished right after start")
        return cls(pid, int(fields[19]))

    def save(self, layout: Layout) -> None:
        layout.run.write_text(json.dumps(asdict(self)) + "\n")

    @classmethod
    def load(cls, layout: Layout) -> Daemon | None:
        try:
            return cls(**json.loads(layout.run.read_text()))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def members(self) -> list[int]:
        """Live (non-zombie) processes of the group; empty once the pid belongs to someone else."""
        leader = proc_stat(self.pid)
        if leader is not None and int(leader[19]) != self.start_time:
            return []
        return [pid for pid, fields in _all_stats() if int(fields[2]) == self.pid and fields[0] != "Z"]

    def terminate(self, timeout: float = 5.0) -> None:
        """SIGTERM the whole group, SIGKILL what is left after `timeout` seconds."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
            if not self.members():
                return
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while self.members() and time.monotonic() < deadline:
                time.sleep(POLL)
        if left := self.members():
            raise LabError(f"sendmail process group {self.pid} survived SIGKILL: pids {left}")
