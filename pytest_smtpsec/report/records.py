"""One record per check result, carried on test reports (also across xdist workers) for every report writer.

Typed to the last writer: verdicts, error kinds, facts, services and areas stay enums. A test report
carries its item's records as they are; only when a report leaves the process (an xdist worker's, or any
``pytest_report_to_serializable``) do they travel as plain data (:meth:`Record.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ..checks.base import Area
from ..target import Service
from ..verdict import CheckResult, ErrorKind, Fact, Verdict

if TYPE_CHECKING:
    from ..registry import AnyCheck

ATTRIBUTE = "smtpsec"
"""The TestReport attribute holding the records (as plain dicts in a report's serialisable form)."""


@dataclass(frozen=True, slots=True)
class Record:
    """A check's verdict with everything a report shows: where, what, why, the evidence and the cost."""

    target: str
    role: str
    address: str
    service: Service | None
    check: str
    title: str
    area: Area
    hardening: bool
    verdict: Verdict
    reason: str
    findings: tuple[str, ...] = ()
    transcript: str = ""
    note: str = ""
    fix: str = ""
    error: ErrorKind | None = None
    facts: frozenset[Fact] = frozenset()
    seconds: float = 0.0
    connections: int = 0
    """Connections opened to the host so far in this process (the largest value is the host's total)."""
    nodeid: str = ""
    rank: tuple[int, int] = (0, 0)
    """Where the check sorts in reports (its area, then its place in the registry)."""

    @classmethod
    def of(cls, check: AnyCheck, result: CheckResult, *, role: str, connections: int, nodeid: str, rank: tuple[int, int]) -> Record:
        outcome = result.outcome
        return cls(
            target=result.target,
            role=role,
            address=result.address,
            service=result.service,
            check=check.name,
            title=check.title,
            area=check.area,
            hardening=check.hardening,
            verdict=result.verdict,
            reason=outcome.reason,
            findings=outcome.findings,
            transcript=outcome.transcript,
            note=check.note,
            fix=check.fix.render(),
            error=outcome.error,
            facts=outcome.facts,
            seconds=round(result.seconds, 4),
            connections=connections,
            nodeid=nodeid,
            rank=rank,
        )

    @property
    def reached(self) -> bool:
        """Whether a mail port of the host answered for this result (it got past connecting)."""
        return self.service is not None and self.verdict is not Verdict.SKIP and self.error is not ErrorKind.UNREACHABLE

    def to_dict(self) -> dict[str, Any]:
        """The transport form: plain JSON-able values (built field by field: ``asdict`` deep-copies, and
        this runs once per result, ten thousand times on a large site)."""
        return {
            "target": self.target,
            "role": self.role,
            "address": self.address,
            "service": self.service.value if self.service else None,
            "check": self.check,
            "title": self.title,
            "area": self.area.value,
            "hardening": self.hardening,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "findings": list(self.findings),
            "transcript": self.transcript,
            "note": self.note,
            "fix": self.fix,
            "error": self.error.value if self.error else None,
            "facts": sorted(f.value for f in self.facts),
            "seconds": self.seconds,
            "connections": self.connections,
            "nodeid": self.nodeid,
            "rank": list(self.rank),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            **{
                **data,
                "service": Service(data["service"]) if data.get("service") else None,
                "area": Area(data["area"]),
                "verdict": Verdict(data["verdict"]),
                "error": ErrorKind(data["error"]) if data.get("error") else None,
                "facts": frozenset(Fact(f) for f in data.get("facts", ())),
                "findings": tuple(data.get("findings", ())),
                "rank": tuple(data.get("rank", (0, 0))),
            }
        )


def records_of(report: pytest.TestReport) -> list[Record]:
    """The records a test report carries (none for tests that ran no check)."""
    return [r if isinstance(r, Record) else Record.from_dict(r) for r in getattr(report, ATTRIBUTE, None) or ()]


def to_serializable(data: dict[str, Any]) -> dict[str, Any]:
    """A report's serialisable form (``pytest_report_to_serializable``) with its records as plain data."""
    if data.get(ATTRIBUTE):
        data[ATTRIBUTE] = [r.to_dict() if isinstance(r, Record) else r for r in data[ATTRIBUTE]]
    return data


def from_serializable(report: Any) -> Any:
    """A report rebuilt from its serialisable form (an xdist worker's, on the controller) with typed records."""
    if getattr(report, ATTRIBUTE, None):
        setattr(report, ATTRIBUTE, records_of(report))
    return report
