"""The terminal summary: one row per host, one column per check, and the site-level findings."""

from __future__ import annotations

import pytest

from .records import RecordCollector

_CELL = {"pass": "ok", "fail": "FAIL", "warn": "warn", "skip": "-", "error": "ERR"}


class SummaryReporter:
    """Prints the verdict grid at the end of a run that ran built-in checks or check markers."""

    def __init__(self, collector: RecordCollector) -> None:
        self.collector = collector

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        records = self.collector.records
        if not records:
            return
        tr = terminalreporter
        tr.write_sep("=", "smtpsec summary")
        for target in dict.fromkeys(r.target for r in records):
            mine = [r for r in records if r.target == target]
            cells = []
            for r in mine:
                where = f"{r.service}:" if r.service else ""
                cells.append(f"{where}{r.check}={_CELL[r.verdict]}")
            bad = [c for c in cells if not c.endswith(("=ok", "=-"))]
            conns = sum(r.connections for r in mine)
            state = "all passed" if not bad else ", ".join(bad)
            tr.write_line(f"{target} ({mine[0].role}, {conns} connections): {state}")
