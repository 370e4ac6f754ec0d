"""Verdicts and results: what a check concluded, kept apart from "could not check", typed to the last writer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .target import Service


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    """The server really does the insecure thing."""
    WARN = "warn"
    """Tolerated for now (migration, a certificate that expires soon, hardening); reported, does not fail the run."""
    SKIP = "skip"
    """Not applicable, or this machine cannot probe it; the reason says which."""
    ERROR = "error"
    """Could not check: refused, timed out, garbage, broken TLS. Says nothing about security."""

    @property
    def severity(self) -> int:
        """Worst first: fail 0, error 1, warn 2, pass 3, skip 4 (a report cell shows the worst)."""
        return _SEVERITY.index(self)

    @property
    def problem(self) -> bool:
        return self in (Verdict.FAIL, Verdict.ERROR, Verdict.WARN)


_SEVERITY = (Verdict.FAIL, Verdict.ERROR, Verdict.WARN, Verdict.PASS, Verdict.SKIP)


class ErrorKind(str, Enum):
    """Why a check could not judge: reports tell an unreachable host from a broken dialogue or our own bug."""

    UNREACHABLE = "unreachable"
    """Nothing accepted the connection: refused, unknown name, no route, no answer to the connect."""
    PROBE = "probe"
    """The dialogue broke: timeout, garbage, a hang-up, broken TLS, a step the server refused."""
    CREDENTIALS = "credentials"
    """The probe's own login was refused: its user or password may be wrong."""
    HOST = "host"
    """The mail host's files could not be read (host checks: ssh or local runner failed)."""
    INTERNAL = "internal"
    """The check itself failed on what the server sent: a bug of ours, reported for that check alone."""


class Fact(str, Enum):
    """Site facts a check establishes for the reports, so that no report needs to know checks by name."""

    LISTENS_BUT_MUST_NOT = "listens-but-must-not"
    """A host that must not offer mail accepts connections on a mail port."""
    CLEARTEXT_AUTH_TOLERATED = "cleartext-auth-tolerated"
    """A password would be taken before TLS, tolerated by auth policy ``migrate``."""


@dataclass(frozen=True)
class Outcome:
    """A check's conclusion: the verdict, one line of why, the findings behind it and the evidence."""

    verdict: Verdict
    reason: str
    findings: tuple[str, ...] = ()
    transcript: str = ""
    error: ErrorKind | None = None
    """Set exactly when the verdict is ERROR."""
    facts: frozenset[Fact] = frozenset()


def passed(reason: str, *, transcript: str = "") -> Outcome:
    return Outcome(Verdict.PASS, reason, (), transcript)


def failed(findings: list[str] | tuple[str, ...], *, transcript: str = "", facts: frozenset[Fact] = frozenset()) -> Outcome:
    """The first finding is the reason; all of them are listed on the failure screen."""
    return Outcome(Verdict.FAIL, findings[0], tuple(findings), transcript, facts=facts)


def warned(findings: list[str] | tuple[str, ...], *, transcript: str = "", facts: frozenset[Fact] = frozenset()) -> Outcome:
    return Outcome(Verdict.WARN, findings[0], tuple(findings), transcript, facts=facts)


def skipped(reason: str) -> Outcome:
    return Outcome(Verdict.SKIP, reason)


def could_not_check(reason: str, kind: ErrorKind, *, transcript: str = "") -> Outcome:
    return Outcome(Verdict.ERROR, reason, (), transcript, error=kind)


@dataclass(frozen=True)
class CheckResult:
    """One check on one service (or the whole) of one target, as reports need it."""

    check: str
    target: str
    service: Service | None
    address: str
    outcome: Outcome
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict


class SmtpsecWarning(UserWarning):
    """A check passed with a reservation (auth policy 'migrate', a certificate that expires soon, hardening).

    Turn warnings into failures with ``-W error::pytest_smtpsec.SmtpsecWarning``.
    """
