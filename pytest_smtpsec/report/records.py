"""One record per check result, carried on test reports (also across xdist workers) for every report writer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytest

from ..verdict import CheckResult

ATTRIBUTE = "smtpsec"
"""The TestReport attribute holding the records as plain dicts (xdist serialises report attributes)."""


@dataclass(frozen=True)
class Record:
    """A check's verdict with everything a report shows: where, what, why, the evidence and the cost."""

    target: str
    role: str
    address: str
    service: str | None
    check: str
    title: str
    hardening: bool
    verdict: str
    reason: str
    findings: tuple[str, ...] = ()
    transcript: str = ""
    note: str = ""
    fix: str = ""
    seconds: float = 0.0
    connections: int = 0
    """Connections opened to the host so far in this process (the largest value is the host's total)."""
    nodeid: str = ""

    @classmethod
    def of(cls, check: Any, result: CheckResult, *, role: str, connections: int, nodeid: str) -> Record:
        """From a network :class:`Check` or a host check, and its result."""
        outcome = result.outcome
        return cls(
            target=result.target,
            role=role,
            address=result.address or result.target,
            service=result.service,
            check=check.name,
            title=check.title,
            hardening=getattr(check, "hardening", False),
            verdict=result.verdict.value,
            reason=outcome.reason,
            findings=outcome.findings,
            transcript=outcome.transcript,
            note=check.note,
            fix=check.fix,
            seconds=round(result.seconds, 4),
            connections=connections,
            nodeid=nodeid,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = list(self.findings)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**{**data, "findings": tuple(data.get("findings", ()))})


def records_of(report: pytest.TestReport) -> list[Record]:
    """The records a test report carries (none for tests that ran no check)."""
    return [Record.from_dict(d) for d in getattr(report, ATTRIBUTE, None) or []]


class RecordCollector:
    """Gathers the records of a whole run on the controlling process, for the summary and the writers."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":  # checks run in setup, so their records ride on the setup report
            self.records.extend(records_of(report))
