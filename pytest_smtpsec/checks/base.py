"""What a check is: a name, where it applies, what the note says, how to fix it, and a pure judge.

Two shapes: a :class:`ServiceCheck` judges one service of a host (``judge(probes, service)``), a
:class:`TargetCheck` the host as a whole (``judge(probes)``). Both judge shared probes and never open
connections of their own. The host checks (``host/checks``) are the third shape, judged from files.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum

from ..probe import ProbeError, Probes
from ..target import Hardening, Role, Service, ServiceRole, Target
from ..verdict import CheckResult, ErrorKind, Outcome, Verdict, could_not_check, skipped


class NotApplicable(Exception):
    """Raised by a judge when there is nothing to judge here (no TLS on this port, no credentials given)."""


class CredentialsRefused(ProbeError):
    """The probe's own login was refused: could not check, and the user's credentials may be wrong."""


class Area(str, Enum):
    """What a check is about; reports group their columns by area, so forty checks still fit a screen."""

    ENCRYPTION = "encryption"
    LOGIN = "login"
    RELAY = "relay"
    CERTIFICATE = "certificate"
    TLS = "tls"
    EXPOSURE = "exposure"
    HARDENING = "hardening"
    HOST = "host"
    DOMAIN = "domain"


@dataclass(frozen=True)
class Fix:
    """How to make a failing server pass, for each MTA the project knows (sendmail first: the note's)."""

    sendmail: str
    postfix: str = ""
    exim: str = ""

    def render(self) -> str:
        """All fixes, each under its MTA's name (the sendmail one alone when there is no other)."""
        parts = [(mta, text) for mta, text in (("sendmail", self.sendmail), ("Postfix", self.postfix), ("Exim", self.exim)) if text]
        if len(parts) == 1:
            return self.sendmail
        return "\n".join(f"{mta}:\n" + "\n".join(f"  {line}" for line in text.splitlines()) for mta, text in parts)


MAIL_ROLES = (Role.MAIL_SERVER, Role.SUBMISSION_ONLY, Role.RELAY_ONLY)


@dataclass(frozen=True, kw_only=True)
class Check:
    """One security promise. ``note`` says which part of the note it enforces and why, in our words."""

    name: str
    title: str
    area: Area
    expected: str
    note: str
    fix: Fix
    roles: tuple[Role, ...] = MAIL_ROLES
    hardening: bool = False
    """Beside the note: what careful postmasters expect (warns by default, see ``--smtpsec-hardening``)."""

    def subject(self, target: Target) -> Target:
        """What this check judges when placed on ``target``: the target itself, or something that several
        targets share and that is judged once for all of them (a mail domain: ``checks/_domain.py``)."""
        return target

    def _result(self, target: Target, where: Service | None, judge: Callable[[], Outcome]) -> CheckResult:
        started = time.perf_counter()
        outcome = judged(judge)
        if self.hardening and outcome.verdict is Verdict.FAIL and target.hardening is Hardening.WARN:
            outcome = replace(outcome, verdict=Verdict.WARN)  # beside the note: warns unless the user asks to fail
        address = target.address(where) if where is not None else target.host
        return CheckResult(self.name, target.name, where, address, outcome, time.perf_counter() - started)


def judged(judge: Callable[[], Outcome]) -> Outcome:
    """Run a judge: "could not ask" is ERROR (never FAIL), "nothing here" is SKIP, and an exception in the
    judge itself is ERROR for that check alone, with a one-line reason (never a traceback for the run)."""
    try:
        return judge()
    except NotApplicable as exc:
        return skipped(str(exc))
    except CredentialsRefused as exc:
        return could_not_check(str(exc), ErrorKind.CREDENTIALS, transcript=exc.transcript)
    except ProbeError as exc:
        kind = ErrorKind.UNREACHABLE if exc.stage in ("connect", "resolve") else ErrorKind.PROBE
        return could_not_check(str(exc), kind, transcript=exc.transcript)
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        return could_not_check(f"internal error in the check: {type(exc).__name__}: {text}", ErrorKind.INTERNAL)


@dataclass(frozen=True, kw_only=True)
class ServiceCheck(Check):
    """Judged once per applicable service: ``judge(probes, service)``."""

    services: tuple[Service, ...]
    judge: Callable[[Probes, Service], Outcome]
    service_roles: tuple[ServiceRole, ...] = (ServiceRole.SUBMISSION, ServiceRole.MX)
    """Only on services that are for these (e.g. login checks only where users log in)."""

    def places(self, target: Target) -> tuple[Service, ...]:
        if target.role not in self.roles:
            return ()
        return tuple(s for s in target.services if s in self.services and target.service_role(s) in self.service_roles)

    def run(self, probes: Probes, service: Service) -> CheckResult:
        return self._result(probes.target, service, lambda: self.judge(probes, service))


@dataclass(frozen=True, kw_only=True)
class TargetCheck(Check):
    """Judged once per host: ``judge(probes)``."""

    judge: Callable[[Probes], Outcome]

    def places(self, target: Target) -> tuple[None, ...]:
        return (None,) if target.role in self.roles else ()

    def run(self, probes: Probes, service: None = None) -> CheckResult:
        return self._result(probes.target, None, lambda: self.judge(probes))


NetworkCheck = ServiceCheck | TargetCheck


def run_at(check: NetworkCheck, probes: Probes, where: Service | None) -> CheckResult:
    """Any network check at one of its places (see ``places``): a service, or None for the host as a whole."""
    if isinstance(check, ServiceCheck):
        if where is None:
            raise ValueError(f"{check.name} is judged per service, not for the host as a whole")
        return check.run(probes, where)
    return check.run(probes)


def discover(package: str, path: Iterable[str], kinds: tuple[type[Check], ...]) -> list[Check]:
    """The ``CHECK`` of every public module of ``package``, by area, then name: a check is added by adding its
    module (named as the check), with no list to keep. Modules named ``_*`` and ``base`` are helpers."""
    found: list[Check] = []
    for module in pkgutil.iter_modules(path):
        if module.name.startswith("_") or module.name == "base":
            continue
        check = getattr(importlib.import_module(f"{package}.{module.name}"), "CHECK", None)
        if not isinstance(check, kinds):
            kind = " or ".join(k.__name__ for k in kinds)
            raise TypeError(f"{package}.{module.name} has no CHECK: each module there is one check (a {kind})")
        if check.name != module.name:
            raise ValueError(f"{package}.{module.name} holds check {check.name!r}: name the module after its check")
        found.append(check)
    areas = list(Area)
    return sorted(found, key=lambda check: (areas.index(check.area), check.name))
