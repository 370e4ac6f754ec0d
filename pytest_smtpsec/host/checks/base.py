"""What a host check is (a :class:`~pytest_smtpsec.checks.Check` judged from HostFacts), and how findings add up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...checks.base import Area, Check, judged
from ...verdict import CheckResult, ErrorKind, Outcome, could_not_check, failed, passed, skipped, warned
from ..errors import CannotTell, RunnerError
from ..facts import HostFacts

HostJudge = Callable[[HostFacts], Outcome]


@dataclass(frozen=True, kw_only=True)
class HostCheck(Check):
    """One promise of the note checked on the mail server's host, judged from :class:`HostFacts`.

    ``fix`` gives the ``sendmail.mc`` line, ``chmod`` or rebuild command that makes a failing host pass.
    """

    area: Area = Area.HOST
    judge: HostJudge

    def run(self, facts: HostFacts) -> CheckResult:
        """Judge the host: a fact we cannot see gives SKIP with its reason, a dead runner ERROR."""
        started = time.perf_counter()
        outcome = judged(lambda: self._judge(facts))
        return CheckResult(self.name, facts.name, None, facts.name, outcome, time.perf_counter() - started)

    def _judge(self, facts: HostFacts) -> Outcome:
        try:
            return self.judge(facts)
        except CannotTell as exc:
            return skipped(f"cannot tell: {exc}")
        except RunnerError as exc:
            return could_not_check(str(exc), ErrorKind.HOST)


@dataclass
class Findings:
    """Collects what a judge saw: failures, warnings, and what it could not tell.

    Any failure fails (with the unknowns listed after it); otherwise an unknown skips, so that a
    partly unseen host never passes; otherwise a warning warns.
    """

    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def outcome(self, reason: str) -> Outcome:
        """The verdict of the findings; ``reason`` says what passed when nothing was found."""
        if self.failures:
            return failed([*self.failures, *self.warnings, *(f"could not tell: {u}" for u in self.unknown)])
        if self.unknown:
            return skipped("cannot tell: " + "; ".join(self.unknown))
        if self.warnings:
            return warned(self.warnings)
        return passed(reason)


def when(timestamp: float) -> str:
    """A host timestamp as UTC, to the second."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
