"""What a host check is (the network checks' shape, judged from HostFacts), and how findings add up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...verdict import CheckResult, Outcome, Verdict, failed, passed, skipped, warned
from ..errors import CannotTell, RunnerError
from ..facts import HostFacts

HostJudge = Callable[[HostFacts], Outcome]


@dataclass(frozen=True)
class HostCheck:
    """One promise of the note checked on the mail server's host.

    ``note`` gives the note's reasoning in our words; ``fix`` the ``sendmail.mc`` line, ``chmod`` or
    rebuild command that makes a failing host pass.
    """

    name: str
    title: str
    expected: str
    note: str
    fix: str
    judge: HostJudge

    def run(self, facts: HostFacts) -> CheckResult:
        """Judge the host: a fact we cannot see gives SKIP with its reason, a dead runner ERROR."""
        started = time.perf_counter()
        try:
            outcome = self.judge(facts)
        except CannotTell as exc:
            outcome = skipped(f"cannot tell: {exc}")
        except RunnerError as exc:
            outcome = Outcome(Verdict.ERROR, str(exc))
        return CheckResult(
            check=self.name,
            target=facts.name,
            service=None,
            address=None,
            outcome=outcome,
            seconds=time.perf_counter() - started,
        )


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
