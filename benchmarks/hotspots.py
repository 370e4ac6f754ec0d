"""Where the time goes: a py-spy sampling profile of one run, folded into a few named phases.

py-spy (from PyPI, in the benchmark's venv) samples the real process from outside, so the figures
are those of the same command the benchmark times, with no profiler inside it. Each sample's stack is
put in the first phase whose marker it contains, innermost phase first where they nest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RATE = 250
"""Samples per second."""

PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("import pytest_smtpsec (cryptography included)", ("<module> (pytest_smtpsec/",)),
    (
        "probes: waiting for the server (socket, TLS handshake)",
        ("Connection._recv", "do_handshake", "create_connection", "Connection.open"),
    ),
    ("probes and checks: our own CPU", ("pytest_smtpsec/probe/", "pytest_smtpsec/checks/")),
    ("smtpsec reports (records, summary grid)", ("pytest_smtpsec/report/",)),
    ("import pytest and its own plugins", ("<module> (pytest/__init__.py", "<module> (_pytest/")),
    ("pytest start-up: plugins, options, configure", ("_prepareconfig", "pytest_configure (")),
    ("collection", ("pytest_collection (", "perform_collect")),
    ("pytest end of run: gc.collect() x5 (unraisableexception)", ("gc_collect_harder",)),
    ("pytest: running items (hooks, reports, terminal)", ("pytest_runtestloop", "pytest_runtest_")),
    ("pytest: terminal summary and session end", ("pytest_terminal_summary", "pytest_sessionfinish")),
    ("xdist: workers, scheduling, messages", ("xdist/", "execnet/")),
    ("interpreter start-up (site) and exit", ("<module> (<frozen site>", "_run_module_as_main")),
)
OTHER = "other (interpreter start-up before Python frames, threads idle, ...)"


@dataclass(frozen=True)
class Profile:
    samples: int
    phases: tuple[tuple[str, int], ...]
    functions: tuple[tuple[str, int], ...]
    """Our own functions with the most samples (inclusive)."""

    def seconds(self, samples: int) -> float:
        return samples / RATE


def record(py_spy: Path, command: Sequence[str], out: Path, *, idle: bool, subprocesses: bool) -> list[str]:
    """The py-spy command that writes raw (collapsed) stacks of ``command`` to ``out``."""
    flags = ["--idle"] if idle else []
    flags += ["--subprocesses"] if subprocesses else []
    return [str(py_spy), "record", "--nonblocking", "-r", str(RATE), "-f", "raw", "-o", str(out), *flags, "--", *command]


def fold(raw: Path) -> Profile:
    phases: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        phases[_phase(stack)] += n
        for frame in dict.fromkeys(re.sub(r":\d+\)", ")", f) for f in stack.split(";")):
            if "pytest_smtpsec/" in frame and not frame.startswith("<module>"):
                functions[frame] += n
    ordered = tuple((name, phases[name]) for name, _ in (*PHASES, (OTHER, ())) if phases[name])
    return Profile(total, ordered, tuple(functions.most_common(8)))


def _phase(stack: str) -> str:
    for name, markers in PHASES:
        if any(m in stack for m in markers):
            return name
    return OTHER
