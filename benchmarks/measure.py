"""Timing one command: wall time, peak memory and exit status of a bounded subprocess, and medians of several."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One run of a command. ``max_rss_mb`` is the largest resident set of the process or any child it waited for."""

    seconds: float
    max_rss_mb: float
    returncode: int
    output: str
    timed_out: bool = False


def run(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float) -> Run:
    """Run ``command`` in its own process group; past ``timeout`` the whole group is killed.

    The child is reaped with ``os.wait4`` so its own rusage (peak RSS) is read, not the sum of every
    child this process ever had.
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        reaped: list[tuple[float, int, int]] = []  # seconds, wait status, peak RSS in KiB

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            reaped.append((time.perf_counter() - started, status, usage.ru_maxrss))

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        waiter.join(timeout)
        timed_out = waiter.is_alive()
        if timed_out:
            os.killpg(proc.pid, signal.SIGKILL)
            waiter.join()
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers the tool left behind (testssl's openssl children)
            except ProcessLookupError:
                pass
        seconds, status, rss = reaped[0]
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    return Run(seconds, rss / 1024, proc.returncode, output, timed_out)


@dataclass(frozen=True)
class Timing:
    """Several runs of one command."""

    runs: tuple[Run, ...]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def low(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def high(self) -> float:
        return max(r.seconds for r in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return statistics.median(r.max_rss_mb for r in self.runs)

    @property
    def failed(self) -> list[Run]:
        return [r for r in self.runs if r.timed_out]

    def describe(self) -> str:
        if len(self.runs) == 1:
            return f"{self.median:.2f} s"
        return f"{self.median:.2f} s ({self.low:.2f}–{self.high:.2f})"


def repeat(command: Sequence[str], times: int, *, env: Mapping[str, str], cwd: Path, timeout: float) -> Timing:
    return Timing(tuple(run(command, env=env, cwd=cwd, timeout=timeout) for _ in range(times)))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
