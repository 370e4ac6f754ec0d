"""Verdicts and results: what a check concluded, kept apart from "could not check"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    """The server really does the insecure thing."""
    WARN = "warn"
    """Tolerated for now (migration, a certificate that expires soon); reported, does not fail the run."""
    SKIP = "skip"
    """Not applicable, or this machine cannot probe it; the reason says which."""
    ERROR = "error"
    """Could not check: refused, timed out, garbage, broken TLS. Says nothing about security."""


@dataclass(frozen=True)
class Outcome:
    """A check's conclusion: the verdict, one line of why, the findings behind it and the evidence."""

    verdict: Verdict
    reason: str
    findings: tuple[str, ...] = ()
    transcript: str = ""


def passed(reason: str, *, transcript: str = "") -> Outcome:
    return Outcome(Verdict.PASS, reason, (), transcript)


def failed(findings: list[str] | tuple[str, ...], *, transcript: str = "") -> Outcome:
    """The first finding is the reason; all of them are listed on the failure screen."""
    return Outcome(Verdict.FAIL, findings[0], tuple(findings), transcript)


def warned(findings: list[str] | tuple[str, ...], *, transcript: str = "") -> Outcome:
    return Outcome(Verdict.WARN, findings[0], tuple(findings), transcript)


def skipped(reason: str) -> Outcome:
    return Outcome(Verdict.SKIP, reason)


@dataclass(frozen=True)
class CheckResult:
    """One check on one service of one target, as reports need it."""

    check: str
    target: str
    service: str | None
    address: str | None
    outcome: Outcome
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict
