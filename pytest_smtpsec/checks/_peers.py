"""What the checks that judge other targets share (a domain's MX hosts, each address of a host): every check
that places itself on the other target, on that target's own probes, folded into one verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..probe import Probes
from ..probe.network import host_deadline
from ..verdict import CheckResult, ErrorKind, Outcome, Verdict, failed, passed, warned
from .base import run_at


def judge_peer(peer: Probes) -> list[CheckResult]:
    """Every built-in network check that places itself on ``peer.target``, in the peer's own time: the
    registry's placement and judges, none repeated here."""
    from . import CHECKS  # the package is built from the check modules, this one's users among them

    with host_deadline(peer.target.timeout):
        peer.warm_up()
        return [run_at(check, peer, where) for check in CHECKS.values() for where in check.places(peer.target)]


@dataclass
class Folded:
    """The results on several peers, each under its label, as one verdict (:meth:`outcome`)."""

    findings: list[str] = field(default_factory=list)
    """What fails, besides the peers' failures (e.g. the DNS's)."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passing: list[str] = field(default_factory=list)
    transcript: str = ""
    kinds: set[ErrorKind] = field(default_factory=set)

    def add(self, label: str, results: list[CheckResult]) -> None:
        """One peer's results: its failures, warnings and errors named by ``label``; what it passed."""
        broken = [r for r in results if r.verdict is Verdict.ERROR]
        if broken and len(broken) == len(results):  # nothing answered as it should: one line for the peer
            self.errors.append(f"{label}: could not check on port {results[0].address.rsplit(':', 1)[-1]}: {broken[0].outcome.reason}")
        else:
            self.errors += [f"{label}: {r.check}: could not check: {r.outcome.reason}" for r in broken]
        self.kinds.update(r.outcome.error for r in broken if r.outcome.error is not None)
        for result in results:
            if result.verdict is Verdict.FAIL:
                self.findings.append(f"{label}: {result.check}: {result.outcome.reason}")
                self.transcript = self.transcript or result.outcome.transcript
            elif result.verdict is Verdict.WARN:
                self.warnings.append(f"{label}: {result.check}: {result.outcome.reason}")
        self.passing.append(f"{label}: {', '.join(r.check for r in results if r.verdict is Verdict.PASS) or 'no check applied'}")

    def outcome(self, summary: str) -> Outcome:
        """FAIL for any finding; else ERROR if a peer could not be checked (never a false PASS); else WARN for a
        warning; else PASS, ``summary`` followed by what each peer passed."""
        if self.findings:
            return failed(self.findings + self.errors + self.warnings, transcript=self.transcript)
        if self.errors:
            kind = ErrorKind.UNREACHABLE if self.kinds == {ErrorKind.UNREACHABLE} else ErrorKind.PROBE
            return Outcome(Verdict.ERROR, self.errors[0], tuple(self.errors + self.warnings), error=kind)
        if self.warnings:
            return warned(self.warnings)
        return passed(f"{summary}: {'; '.join(self.passing) or 'none to probe'}")
