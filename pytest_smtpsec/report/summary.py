"""The terminal summary: verdicts per target, service and check, and the connections it took."""

from __future__ import annotations

from collections import defaultdict

import pytest

_SYMBOL = {"pass": "pass", "fail": "FAIL", "warn": "warn", "skip": "skip", "error": "ERROR"}


class SummaryReporter:
    """Collects the smtpsec properties of every report (also from xdist workers) and prints a table."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.verdicts: dict[tuple[str, str, str], str] = {}
        self.connections: dict[str, int] = defaultdict(int)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if "smtpsec_check" not in props:
            return
        target = str(props["smtpsec_target"])
        if report.when == "setup":
            self.connections[target] += int(str(props.get("smtpsec_connections", 0)))
        key = (target, str(props["smtpsec_service"]), str(props["smtpsec_check"]))
        if report.when == "setup" or key not in self.verdicts:
            self.verdicts[key] = str(props["smtpsec_verdict"])

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.verdicts:
            return
        tr = terminalreporter
        tr.write_sep("=", "smtpsec summary")
        width = max(len(f"{t} {s}") for t, s, _ in self.verdicts) + 2
        for target in sorted({t for t, _, _ in self.verdicts}):
            for (t, service, check), verdict in sorted(self.verdicts.items()):
                if t == target:
                    tr.write_line(f"{(target + ' ' + service).ljust(width)}{_SYMBOL[verdict]:6} {check}")
            tr.write_line(f"{target}: {self.connections[target]} connection(s)")
