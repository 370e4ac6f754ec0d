"""The site as every report shows it: a row per host, the worst verdict per check, the site-level findings.

Pure functions over :class:`Record`, shared by the terminal summary and the JSON and HTML writers so the
three never disagree. Rows are sorted (role, then name in natural order), so ``-n`` runs read the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..checks import CHECKS
from ..target import Role, Service
from ..verdict import Verdict
from .records import Record

VERDICTS = tuple(v.value for v in Verdict)
"""Every verdict, in the order counts are shown."""
SEVERITY = ("fail", "error", "warn", "pass", "skip")
"""Worst first: a cell shows the worst verdict over the host's services."""
PROBLEMS = ("fail", "error", "warn")

LISTENING_CHECK = "no_mail_service"
MIGRATION_CHECK = "requires_starttls_before_auth"
_CONNECT_FAILED = "[connect]:"
"""How a ProbeError names the stage when nothing accepted the connection (``host:port [connect]: ...``)."""


def _natural(name: str) -> tuple[str | int, ...]:
    """ws2 before ws10; digit runs always sit at odd positions, so ints only meet ints."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name.lower())))


def _check_order(name: str) -> tuple[int, str]:
    order = list(CHECKS)
    return (order.index(name) if name in order else len(order), name)


def _service_order(service: str | None) -> int:
    names = [s.value for s in Service]
    return names.index(service) if service in names else len(names)


def _role_order(role: str) -> int:
    names = [r.value for r in Role]
    return names.index(role) if role in names else len(names)


def counts(records: Iterable[Record]) -> dict[str, int]:
    verdicts = [r.verdict for r in records]
    return {v: verdicts.count(v) for v in VERDICTS}


@dataclass(frozen=True)
class Cell:
    """One host x check: the records of each service it ran on, shown as the worst of their verdicts."""

    check: str
    records: tuple[Record, ...]

    @property
    def verdict(self) -> str:
        return min((r.verdict for r in self.records), key=SEVERITY.index)

    @property
    def services(self) -> tuple[str, ...]:
        """The services that gave the worst verdict (empty for a check of the host as a whole)."""
        return tuple(dict.fromkeys(r.service for r in self.records if r.verdict == self.verdict and r.service))

    @property
    def hardening(self) -> bool:
        return self.records[0].hardening

    @property
    def reason(self) -> str:
        """The first line of the first worst record's reason."""
        first = next(r for r in self.records if r.verdict == self.verdict)
        return first.reason.splitlines()[0] if first.reason else ""


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    address: str
    connections: int
    cells: dict[str, Cell]
    """By check name, in the suite's order."""

    @property
    def records(self) -> list[Record]:
        return [r for cell in self.cells.values() for r in cell.records]

    @property
    def verdicts(self) -> dict[str, int]:
        return counts(self.records)

    @property
    def clean(self) -> bool:
        return not any(c.verdict in PROBLEMS for c in self.cells.values())

    @property
    def offers_mail(self) -> bool:
        """Whether anything answered on a mail port, by what the probes saw: a check of a service got past
        connect, or a no-mail host was found listening."""
        if any(c.check == LISTENING_CHECK and c.verdict == "fail" for c in self.cells.values()):
            return True
        return any(r.service and r.verdict != "skip" and _CONNECT_FAILED not in r.reason for r in self.records)


@dataclass(frozen=True)
class Group:
    """Hosts of one role, with the checks that ran on any of them as columns."""

    role: str
    checks: tuple[str, ...]
    hosts: tuple[Host, ...]


@dataclass(frozen=True)
class Site:
    hosts: tuple[Host, ...]
    groups: tuple[Group, ...]

    @property
    def records(self) -> list[Record]:
        return [r for host in self.hosts for r in host.records]

    @property
    def offering_mail(self) -> tuple[Host, ...]:
        """Hosts where anything answered on a mail port, whatever their role."""
        return tuple(h for h in self.hosts if h.offers_mail)

    @property
    def listening_no_mail(self) -> tuple[Host, ...]:
        """``no-mail`` hosts that accept connections on 25, 465 or 587 (their no_mail_service FAILed)."""
        return tuple(h for h in self.hosts if (c := h.cells.get(LISTENING_CHECK)) is not None and c.verdict == "fail")

    @property
    def cleartext_auth(self) -> tuple[Finding, ...]:
        """Servers that still take a password before TLS, tolerated by auth policy ``migrate`` (a warn)."""
        found = []
        for host in self.hosts:
            cell = host.cells.get(MIGRATION_CHECK)
            warned = tuple(r.service or "" for r in cell.records if r.verdict == "warn") if cell else ()
            if cell and warned:
                found.append(Finding(host, cell, warned))
        return tuple(found)

    def findings(self, *, hardening: bool) -> list[Finding]:
        """Every cell that is not pass or skip, worst first, then by host and check; hardening kept apart, except
        "could not check", which says nothing about security and so is never a hardening finding."""
        cells = [(h, c) for h in self.hosts for c in h.cells.values() if c.verdict in PROBLEMS]
        found = [Finding(h, c, c.services) for h, c in cells if (c.hardening and c.verdict != "error") == hardening]
        return sorted(found, key=lambda f: SEVERITY.index(f.cell.verdict))  # stable: host and check order kept


@dataclass(frozen=True)
class Finding:
    """A cell worth a line below the grid, with the services it concerns."""

    host: Host
    cell: Cell
    services: tuple[str, ...]


def site_of(records: Iterable[Record]) -> Site:
    """Group records by host (sorted by role, then natural name) and by check (in the suite's order)."""
    by_host: dict[str, list[Record]] = {}
    for record in records:
        by_host.setdefault(record.target, []).append(record)
    hosts = []
    for name, mine in by_host.items():
        by_check: dict[str, list[Record]] = {}
        for record in sorted(mine, key=lambda r: (_check_order(r.check), _service_order(r.service))):
            by_check.setdefault(record.check, []).append(record)
        whole = next((r.address for r in mine if r.service is None), None)
        hosts.append(
            Host(
                name=name,
                role=mine[0].role,
                address=whole or mine[0].address.rsplit(":", 1)[0],
                connections=max(r.connections for r in mine),
                cells={check: Cell(check, tuple(rs)) for check, rs in by_check.items()},
            )
        )
    hosts.sort(key=lambda h: (_role_order(h.role), _natural(h.name), h.name))
    groups = []
    for role in dict.fromkeys(h.role for h in hosts):
        members = tuple(h for h in hosts if h.role == role)
        checks = sorted({c for h in members for c in h.cells}, key=_check_order)
        groups.append(Group(role, tuple(checks), members))
    return Site(tuple(hosts), tuple(groups))


def short_names(checks: Iterable[str]) -> dict[str, str]:
    """Column headers from the checks' names: their initials (requires_starttls_before_auth -> rsba), made unique."""
    names: dict[str, str] = {}
    for check in checks:
        short = "".join(word[0] for word in check.split("_") if word) or check[:3]
        candidate, n = short, 2
        while candidate in names.values():
            candidate, n = f"{short}{n}", n + 1
        names[check] = candidate
    return names
