"""The site as every report shows it: a row per host, the worst verdict per check and per area, the site facts.

Pure functions over :class:`Record`, shared by the terminal summary and the JSON and HTML writers so the
three never disagree. Rows are sorted (role, then name in natural order), so ``-n`` runs read the same.
The reports know no check by name: a check publishes the site facts it establishes (:class:`Fact`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..checks.base import Area
from ..target import Role, Service
from ..verdict import Fact, Verdict
from .records import Record


def _natural(name: str) -> tuple[str | int, ...]:
    """ws2 before ws10; digit runs always sit at odd positions, so ints only meet ints."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name.lower())))


_SERVICES: list[Service | None] = [None, *Service]


_ROLES = {r.value: i for i, r in enumerate(Role)}


def _role_order(role: str) -> int:
    return _ROLES.get(role, len(_ROLES))


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return min(verdicts, key=lambda v: v.severity)


def counts(records: Iterable[Record]) -> dict[Verdict, int]:
    verdicts = [r.verdict for r in records]
    return {v: verdicts.count(v) for v in Verdict}


@dataclass(frozen=True, slots=True)
class Cell:
    """One host x check: the records of each service it ran on, shown as the worst of their verdicts."""

    check: str
    records: tuple[Record, ...]

    @property
    def verdict(self) -> Verdict:
        return worst(r.verdict for r in self.records)

    @property
    def area(self) -> Area:
        return self.records[0].area

    @property
    def services(self) -> tuple[str, ...]:
        """The services that gave the worst verdict (empty for a check of the host as a whole)."""
        return tuple(dict.fromkeys(r.service.value for r in self.records if r.verdict is self.verdict and r.service))

    @property
    def hardening(self) -> bool:
        return self.records[0].hardening

    @property
    def reason(self) -> str:
        """The first line of the first worst record's reason."""
        first = next(r for r in self.records if r.verdict is self.verdict)
        return first.reason.splitlines()[0] if first.reason else ""


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    role: str
    address: str
    connections: int
    cells: dict[str, Cell]
    """By check name, in report order (area, then registry order)."""

    @property
    def records(self) -> list[Record]:
        return [r for cell in self.cells.values() for r in cell.records]

    @property
    def verdicts(self) -> dict[Verdict, int]:
        return counts(self.records)

    @property
    def clean(self) -> bool:
        return not any(c.verdict.problem for c in self.cells.values())

    def area(self, area: Area) -> Verdict | None:
        """The worst verdict over the host's checks of ``area`` (None: no check of that area ran)."""
        verdicts = [c.verdict for c in self.cells.values() if c.area is area]
        return worst(verdicts) if verdicts else None

    def has(self, fact: Fact) -> bool:
        return any(fact in r.facts for r in self.records)

    @property
    def is_domain(self) -> bool:
        """A mail domain's row (its domain checks, judged once per domain), not a host's."""
        return bool(self.cells) and all(cell.area is Area.DOMAIN for cell in self.cells.values())

    @property
    def offers_mail(self) -> bool:
        """Whether anything answered on a mail port, by what the probes saw."""
        return self.has(Fact.LISTENS_BUT_MUST_NOT) or any(r.reached for r in self.records)


@dataclass(frozen=True, slots=True)
class Group:
    """Hosts of one role, with the checks (and areas) that ran on any of them as columns."""

    role: str
    checks: tuple[str, ...]
    areas: tuple[Area, ...]
    hosts: tuple[Host, ...]


@dataclass(frozen=True, slots=True)
class Site:
    hosts: tuple[Host, ...]
    groups: tuple[Group, ...]

    @property
    def records(self) -> list[Record]:
        return [r for host in self.hosts for r in host.records]

    @property
    def offering_mail(self) -> tuple[Host, ...]:
        """Hosts where anything answered on a mail port, whatever their role."""
        return tuple(h for h in self.hosts if h.offers_mail and not h.is_domain)

    @property
    def machines(self) -> tuple[Host, ...]:
        """The rows that are hosts, not mail domains."""
        return tuple(h for h in self.hosts if not h.is_domain)

    @property
    def listening_no_mail(self) -> tuple[Host, ...]:
        """Hosts that must not offer mail but accept connections on 25, 465 or 587."""
        return tuple(h for h in self.hosts if h.has(Fact.LISTENS_BUT_MUST_NOT))

    @property
    def cleartext_auth(self) -> tuple[Finding, ...]:
        """Servers that still take a password before TLS, tolerated by auth policy ``migrate``."""
        found = []
        for host in self.hosts:
            for cell in host.cells.values():
                services = tuple(r.service.value if r.service else "" for r in cell.records if Fact.CLEARTEXT_AUTH_TOLERATED in r.facts)
                if services:
                    found.append(Finding(host, cell, services))
        return tuple(found)

    def findings(self, *, hardening: bool) -> list[Finding]:
        """Every cell that is not pass or skip, worst first, then by host and check; hardening kept apart, except
        "could not check", which says nothing about security and so is never a hardening finding."""
        cells = [(h, c) for h in self.hosts for c in h.cells.values() if c.verdict.problem]
        found = [Finding(h, c, c.services) for h, c in cells if (c.hardening and c.verdict is not Verdict.ERROR) == hardening]
        return sorted(found, key=lambda f: f.cell.verdict.severity)  # stable: host and check order kept


@dataclass(frozen=True, slots=True)
class Finding:
    """A cell worth a line below the grid, with the services it concerns."""

    host: Host
    cell: Cell
    services: tuple[str, ...]


def site_of(records: Iterable[Record]) -> Site:
    """Group records by host (sorted by role, then natural name) and by check (area, then registry order)."""
    by_host: dict[str, list[Record]] = {}
    for record in records:
        by_host.setdefault(record.target, []).append(record)
    hosts = []
    ranks: dict[str, tuple[int, int]] = {}
    for name, mine in by_host.items():
        by_check: dict[str, list[Record]] = {}
        for record in sorted(mine, key=lambda r: (r.rank, _SERVICES.index(r.service))):
            by_check.setdefault(record.check, []).append(record)
            ranks[record.check] = record.rank
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
        checks = sorted({c for h in members for c in h.cells}, key=lambda c: (ranks[c], c))
        areas = tuple(dict.fromkeys(c.area for h in members for c in sorted(h.cells.values(), key=lambda c: ranks[c.check])))
        groups.append(Group(role, tuple(checks), tuple(sorted(areas, key=list(Area).index)), members))
    return Site(tuple(hosts), tuple(groups))
