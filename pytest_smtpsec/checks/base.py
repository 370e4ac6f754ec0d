"""What a check is: a name, where it applies, what the note says, how to fix it, and a pure judge."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..probe import ProbeError, Probes
from ..target import Role, Service, Target
from ..verdict import CheckResult, Outcome, Verdict, skipped


class NotApplicable(Exception):
    """Raised by a judge when there is nothing to judge here (no TLS on this port, no credentials given)."""


Judge = Callable[[Probes, Service | None], Outcome]


@dataclass(frozen=True)
class Check:
    """One security promise, judged per applicable service from shared probes.

    ``note`` says which part of the note the check enforces and why, in our words; ``fix`` gives the
    ``sendmail.mc`` lines and the rebuild that make a failing server pass.
    """

    name: str
    title: str
    services: tuple[Service, ...]
    """Judged once per service; empty for a check that judges the target as a whole."""
    expected: str
    note: str
    fix: str
    judge: Judge
    roles: tuple[Role, ...] = (Role.MAIL_SERVER, Role.SUBMISSION_ONLY, Role.RELAY_ONLY)
    hardening: bool = False
    """Beside the note: what careful postmasters expect (reported apart from the note's own checks)."""

    def applies_to(self, target: Target) -> tuple[Service | None, ...]:
        """Where this check runs on ``target``: each applicable service, or ``(None,)`` for the target as a whole."""
        if target.role not in self.roles:
            return ()
        if not self.services:
            return (None,)
        return tuple(s for s in target.services if s in self.services)

    def run(self, probes: Probes, service: Service | None) -> CheckResult:
        """Judge one service; a probe that could not ask the server gives ERROR, never FAIL."""
        started = time.perf_counter()
        try:
            outcome = self.judge(probes, service)
        except ProbeError as exc:
            outcome = Outcome(Verdict.ERROR, str(exc), transcript=exc.transcript)
        except NotApplicable as exc:
            outcome = skipped(str(exc))
        return CheckResult(
            check=self.name,
            target=probes.target.name,
            service=service.value if service else None,
            address=probes.target.address(service) if service else probes.target.host,
            outcome=outcome,
            seconds=time.perf_counter() - started,
        )
