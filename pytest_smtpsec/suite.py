"""The built-in suite as pytest nodes, and how a check becomes a test outcome.

Checks run in setup, so "could not check" is a test error; their verdict settles in call, so "insecure"
is a failure. Shared by the built-in items and by users' tests that carry a check marker.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from .checks import CHECKS, Check
from .client import SmtpClient
from .host import HOST_CHECKS, HostCheck, HostFacts
from .probe import ProbeCache, Probes
from .report import failure
from .report.records import Record
from .target import Service, Target
from .verdict import CheckResult, Verdict

PREFETCH_HOSTS = 16
"""Hosts probed at once when the suite starts (without xdist), so no host waits on another's timeout."""


class SmtpsecWarning(UserWarning):
    """A check passed with a reservation (auth policy 'migrate', a certificate that expires soon)."""


class CheckFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]  # public: pytest.fail.Exception
    """Raised in the call phase: the server does the insecure thing. Rendered as one screen, no traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


class CouldNotCheck(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """Raised in the setup phase: the server could not be asked. Reported as a test error, no traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


@dataclass
class State:
    enabled: bool
    suites: list[tuple[str, list[Target]]]
    """The built-in suites: ("smtpsec", [the --smtpsec-host target]) and (inventory file name, its hosts)."""
    host_facts: HostFacts | None = None
    """The mail server's own host, for the host checks (``--smtpsec-host-config``)."""
    probes: ProbeCache = field(default_factory=ProbeCache)
    prefetch: ThreadPoolExecutor | None = None
    warming: dict[Target, Future[None]] = field(default_factory=dict)

    @property
    def targets(self) -> list[Target]:
        return [t for _, targets in self.suites for t in targets]


STATE = pytest.StashKey[State]()
AnyCheck = Check | HostCheck
RESULTS = pytest.StashKey[list[tuple[AnyCheck, CheckResult]]]()
CLIENTS = pytest.StashKey[list[SmtpClient]]()
RECORDS = pytest.StashKey[list[Record]]()


class SmtpsecCollector(pytest.Collector):
    """A level of the built-in suite's tree: suite, host, service; ``config`` for the host checks."""

    def __init__(self, *, targets: list[Target], host_facts: HostFacts | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = targets
        self.host_facts = host_facts

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        if per_host(self.name) and self.parent is self.session:  # an inventory: <file>::<host>::...
            hosts = [SmtpsecCollector.from_parent(self, name=t.name, targets=[t]) for t in self.targets]
            found: list[pytest.Item | pytest.Collector] = list(hosts)
        else:  # --smtpsec-host, or one host of an inventory: ...::<service>::<check>
            found = [item for t in self.targets for item in _target_items(self, t)]
        if self.host_facts is not None:  # smtpsec::config::<host check>
            level = SmtpsecCollector.from_parent(self, name="config", targets=[])
            found += [HostCheckItem.from_parent(level, name=c.name, check=c, facts=self.host_facts) for c in HOST_CHECKS.values()]
        return found


class CheckItem(pytest.Item):
    """A built-in check as a test: it runs in setup (so "could not check" is an error), settles in call."""

    def runtest(self) -> None:
        settle(self)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # The name, not the node id: pytest turns the dots of a domain into "::" in -v lines, and host
        # names have dots. Failure headlines get the whole node id in pytest_runtest_makereport.
        return self.path, None, self.name


class SmtpsecItem(CheckItem):
    """One check on one service of one target: probes in setup (errors), judgement in call (failures)."""

    def __init__(self, *, check: Check, target: Target, service: Service | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.service = service
        self.add_marker(check.name)
        where = service.value if service else "host"
        self.add_marker(pytest.mark.smtpsec(host=target.name, role=target.role.value, service=where, check=check.name))
        self.extra_keyword_matches.add(target.role.value)

    def setup(self) -> None:
        run_checks(self, [self.check], self.target, self.service)


class HostCheckItem(CheckItem):
    """One host check on the mail server's own host (files, modes, the binary, saslauthd)."""

    def __init__(self, *, check: HostCheck, facts: HostFacts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.facts = facts
        self.add_marker(check.name)
        self.add_marker(pytest.mark.smtpsec(host=facts.name, role="host-config", service="config", check=check.name))

    def setup(self) -> None:
        judge(self, [(self.check, self.check.run(self.facts))], role="host-config", connections=0)


def _target_items(parent: pytest.Collector, target: Target) -> Iterator[pytest.Collector | pytest.Item]:
    """Per-service checks under ``<service>::``, then the checks of the host as a whole."""
    for service in target.services:
        level = SmtpsecCollector.from_parent(parent, name=service.value, targets=[target])
        for check in CHECKS.values():
            if service in check.applies_to(target):
                yield SmtpsecItem.from_parent(level, name=check.name, check=check, target=target, service=service)
    for check in CHECKS.values():
        if None in check.applies_to(target):
            yield SmtpsecItem.from_parent(parent, name=check.name, check=check, target=target, service=None)


def per_host(suite: str) -> bool:
    """Inventory suites name the host in every id; the ``--smtpsec-host`` suite checks one host only."""
    return suite != "smtpsec"


def start_warming(state: State, target: Target) -> None:
    if target not in state.warming:
        if state.prefetch is None:
            state.prefetch = ThreadPoolExecutor(max_workers=PREFETCH_HOSTS, thread_name_prefix="smtpsec-probe")
        state.warming[target] = state.prefetch.submit(_warm, state.probes(target))


def _warm(probes: Probes) -> None:
    """Run every probe session of a host at once (one connection each), then every check on top of them."""
    services = probes.target.services
    with ThreadPoolExecutor(max_workers=max(1, len(services)), thread_name_prefix="smtpsec-session") as pool:
        list(pool.map(probes.session, services))
    for check in CHECKS.values():
        for service in check.applies_to(probes.target):
            check.run(probes, service)


# -- running checks (shared by built-in items and marked tests) ------------------------------------


def run_checks(item: pytest.Item, checks: list[Check], target: Target, service: Service | None) -> None:
    state = item.config.stash[STATE]
    if isinstance(item, SmtpsecItem):
        start_warming(state, target)
    if target in state.warming:
        state.warming[target].result()  # the host's probes finish together, so its connection count is final
    probes = state.probes(target)
    results: list[tuple[AnyCheck, CheckResult]] = [(check, check.run(probes, service)) for check in checks]
    judge(item, results, role=target.role.value, connections=probes.connections)


def judge(item: pytest.Item, results: list[tuple[AnyCheck, CheckResult]], *, role: str, connections: int) -> None:
    """Keep the results for the call phase and the reports; a check that could not run errors the setup.

    Adds to what the item holds already: a test may carry host-check and network-check markers both.
    """
    item.stash[RESULTS] = [*item.stash.get(RESULTS, []), *results]
    records = [Record.of(c, r, role=role, connections=connections, nodeid=item.nodeid) for c, r in results]
    item.stash[RECORDS] = [*item.stash.get(RECORDS, []), *records]
    for record in records:
        item.user_properties += [
            ("smtpsec_host", record.target),
            ("smtpsec_role", record.role),
            ("smtpsec_service", record.service or "host"),
            ("smtpsec_check", record.check),
            ("smtpsec_verdict", record.verdict),
        ]
    errors = [failure.render(c, r) for c, r in results if r.verdict is Verdict.ERROR]
    if errors:
        raise CouldNotCheck("\n\n".join(errors))


def settle(item: pytest.Item) -> None:
    """Turn the stored results into the test's outcome: FAIL fails, WARN warns, SKIP skips."""
    results = item.stash.get(RESULTS, [])
    failed = [failure.render(c, r) for c, r in results if r.verdict is Verdict.FAIL]
    if failed:
        raise CheckFailed("\n\n".join(failed))
    for check, result in results:
        if result.verdict is Verdict.WARN:
            where = f"{result.target} {result.service}" if result.service else result.target
            warning = SmtpsecWarning(f"{check.name} on {where}: {result.outcome.reason}")
            if item.location[1] is None:  # a built-in check: no source line, so point at the test id
                warnings.warn_explicit(warning, SmtpsecWarning, filename=item.nodeid, lineno=0)
            else:
                item.warn(warning)
    skipped = [f"{c.name}: {r.outcome.reason}" for c, r in results if r.verdict is Verdict.SKIP]
    if skipped and len(skipped) == len(results):
        raise pytest.skip.Exception("; ".join(skipped), _use_item_location=item.location[1] is not None)
