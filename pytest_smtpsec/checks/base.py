"""What a check is: a name, where it applies, what the note says, how to fix it, and a pure judge."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..probe import ProbeError, Probes
from ..target import Service
from ..verdict import CheckResult, Outcome, Verdict

Judge = Callable[[Probes, Service], Outcome]


@dataclass(frozen=True)
class Check:
    """One security promise, judged per applicable service from shared probes.

    ``note`` says which part of the note the check enforces and why, in our words; ``fix`` gives the
    ``sendmail.mc`` lines and the rebuild that make a failing server pass.
    """

    name: str
    title: str
    services: tuple[Service, ...]
    expected: str
    note: str
    fix: str
    judge: Judge

    def applies_to(self, services: tuple[Service, ...]) -> tuple[Service, ...]:
        """The services of a target this check runs on, in the note's order."""
        return tuple(s for s in services if s in self.services)

    def run(self, probes: Probes, service: Service) -> CheckResult:
        """Judge one service; a probe that could not ask the server gives ERROR, never FAIL."""
        started = time.perf_counter()
        try:
            outcome = self.judge(probes, service)
        except ProbeError as exc:
            outcome = Outcome(Verdict.ERROR, str(exc), transcript=exc.transcript)
        return CheckResult(
            check=self.name,
            target=probes.target.name,
            service=service.value,
            address=probes.target.address(service),
            outcome=outcome,
            seconds=time.perf_counter() - started,
        )
