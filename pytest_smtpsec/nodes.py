"""The built-in suite as pytest nodes, and how a check's result becomes a test outcome.

Checks run in setup, so "could not check" is a test error; their verdict settles in call, so "insecure"
is a failure. Shared by the built-in items and by users' tests that carry a check marker.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pluggy
import pytest

from .checks import ServiceCheck, TargetCheck
from .engine import Engine, NetworkCheck
from .host import HostCheck, HostFacts
from .plugin import SELECT
from .probe import Memory
from .registry import AnyCheck, Registry
from .report import failure
from .report.records import Record
from .stash import PLAN, RECORDS, RESULTS
from .target import Service, Target
from .verdict import CheckResult, SmtpsecWarning, Verdict

BUILTIN_SUITE = "smtpsec"
"""The root of the built-in suite for ``--smtpsec-host`` (an inventory's root is its file name)."""


@dataclass(frozen=True)
class Suite:
    """One root of the built-in suite: the ``--smtpsec-host`` target, or an inventory's hosts."""

    name: str
    targets: tuple[Target, ...]
    per_host: bool
    """Whether ids name the host next (an inventory: ``site.toml::<host>::...``) or not (one host)."""

    @property
    def keyword(self) -> str:
        """The root's name, which ``-k`` matches (its id stays :attr:`name`): an inventory's file name; for one
        host its name, not ``smtpsec`` (``-k smtps`` would match every test through it)."""
        if self.per_host:
            return self.name
        return self.targets[0].name if len(self.targets) == 1 else "built-in"


@dataclass
class Plan:
    """What this run checks, decided once in ``pytest_configure``, and the engine that checks it."""

    enabled: bool
    registry: Registry
    suites: tuple[Suite, ...] = ()
    host_facts: HostFacts | None = None
    """The mail server's own host, for the host checks (``--smtpsec-host-config``)."""
    memory: Memory | None = None
    """What earlier runs saw (pytest's cache), for the checks that judge a change over time."""
    engine: Engine = field(init=False)
    targets: tuple[Target, ...] = field(init=False)
    """Every suite's targets (asked once per test by the fixtures: kept, not rebuilt)."""

    def __post_init__(self) -> None:
        self.targets = tuple(t for suite in self.suites for t in suite.targets)
        self.engine = Engine(self.registry, self.targets, self.memory)


class CheckFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]  # public: pytest.fail.Exception
    """Raised in the call phase: the server does the insecure thing. Rendered as one screen, no traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


class CouldNotCheck(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """Raised in the setup phase: the server could not be asked. Reported as a test error, no traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


class SmtpsecCollector(pytest.Collector):
    """A level of the built-in suite's tree: suite, host, service; ``config`` for the host checks."""

    def __init__(self, *, suite: Suite, targets: tuple[Target, ...], host_facts: HostFacts | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.targets = targets
        self.host_facts = host_facts

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        registry = self.config.stash[PLAN].registry
        if self.suite.per_host and self.parent is self.session:  # an inventory: <file>::<host>::...
            found: list[pytest.Item | pytest.Collector] = [
                SmtpsecCollector.from_parent(self, name=t.name, suite=self.suite, targets=(t,)) for t in self.targets
            ]
        else:  # --smtpsec-host, or one host of an inventory: ...::<service>::<check>
            found = [item for t in self.targets for item in _target_items(self, registry, t)]
        if self.host_facts is not None:  # smtpsec::config::<host check>
            level = SmtpsecCollector.from_parent(self, name="config", suite=self.suite, targets=())
            found += [HostCheckItem.from_parent(level, name=c.name, check=c, facts=self.host_facts) for c in registry.host]
        return found


class CheckItem(pytest.Item):
    """A built-in check as a test: it runs in setup (so "could not check" is an error), settles in call."""

    @property
    def ihook(self) -> pluggy.HookRelay:
        """pytest's hooks for this item, its three phases called without output and log capture (see :class:`QuietHooks`)."""
        found = self.session.stash.setdefault(QUIET_HOOKS, {})
        hooks = found.get(self.path)
        if hooks is None:
            hooks = found[self.path] = QuietHooks(self.session.gethookproxy(self.path), self.config.pluginmanager)
        return cast(pluggy.HookRelay, hooks)  # a relay by duck typing: pluggy's class is final

    def runtest(self) -> None:
        settle(self)

    def teardown(self) -> None:
        """The results were settled in call; only the records (on the setup report) are kept to the end."""
        if RESULTS in self.stash:
            del self.stash[RESULTS]

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # The name, not the node id: pytest turns the dots of a domain into "::" in -v lines, and host
        # names have dots. Failure headlines get the whole node id in pytest_runtest_makereport.
        return self.path, None, self.name

    @property
    def headline(self) -> str:
        """The failure headline: the id, or with a dotted host name (which pytest's -v lines would show
        as ``mail::example::org``) the check, host and service in words."""
        if "." not in self.nodeid:
            return self.nodeid
        return f"{self.name} on {self.nodeid.removesuffix('::' + self.name)}"


class NetworkCheckItem(CheckItem):
    """One check on one service (or the whole) of one target: probes in setup (errors), judgement in call."""

    def __init__(self, *, check: NetworkCheck, target: Target, where: Service | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.where = where
        self.add_marker(_mark(check.name))
        service = where.value if where else "host"
        self.add_marker(_mark(SELECT).with_args(host=target.name, role=target.role.value, service=service, check=check.name))
        self.extra_keyword_matches.add(target.role.value)

    def setup(self) -> None:
        run_checks(self, [self.check], self.target, self.where)


@functools.cache
def _mark(name: str) -> pytest.MarkDecorator:
    """``pytest.mark.<name>``, looked up once per run's check rather than once per item."""
    return getattr(pytest.mark, name)  # type: ignore[no-any-return]


class HostCheckItem(CheckItem):
    """One host check on the mail server's own host (files, modes, the binary, saslauthd)."""

    def __init__(self, *, check: HostCheck, facts: HostFacts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.facts = facts
        self.add_marker(check.name)
        self.add_marker(_mark(SELECT)(host=facts.name, role="host-config", service="config", check=check.name))

    def setup(self) -> None:
        engine = self.config.stash[PLAN].engine
        store_results(self, [(self.check, engine.run_host(self.check, self.facts))], role="host-config", connections=0)


def _target_items(parent: SmtpsecCollector, registry: Registry, target: Target) -> Iterator[pytest.Collector | pytest.Item]:
    """Per-service checks under ``<service>::``, then the checks of the host as a whole (a domain's checks on the
    first host that names the domain only: ``Engine.places``)."""
    places = parent.config.stash[PLAN].engine.places
    for service in target.services:
        level = SmtpsecCollector.from_parent(parent, name=service.value, suite=parent.suite, targets=(target,))
        for check in registry.network:
            if isinstance(check, ServiceCheck) and service in places(check, target):
                yield NetworkCheckItem.from_parent(level, name=check.name, check=check, target=target, where=service)
    for check in registry.network:
        if isinstance(check, TargetCheck) and places(check, target):
            yield NetworkCheckItem.from_parent(parent, name=check.name, check=check, target=target, where=None)


class QuietHooks:
    """The hooks of a path with the run phases (setup, call, teardown) called past pytest's capturing plugins.

    A built-in check prints and logs nothing, yet per phase the capture plugin swaps file descriptors and the
    logging plugin installs its handlers: a third of the run on a large site. Everything else about the item is
    pytest's own protocol (reports, terminal, junitxml, xdist, warnings, -x, pdb). A site's own phase hooks still
    run on it; what they print goes straight to the terminal, their log records to log_cli/log_file only.
    """

    def __init__(self, hooks: pluggy.HookRelay, pluginmanager: pytest.PytestPluginManager) -> None:
        self._hooks = hooks
        capturing = {pluginmanager.get_plugin(name) for name in CAPTURING} - {None}
        for name in PHASES:
            kept = {impl.plugin for impl in getattr(hooks, name).get_hookimpls()} - capturing
            left_out = {impl.plugin for impl in getattr(pluginmanager.hook, name).get_hookimpls()} - kept
            setattr(self, name, pluginmanager.subset_hook_caller(name, left_out))

    def __getattr__(self, name: str) -> pluggy.HookCaller:
        found: pluggy.HookCaller = getattr(self._hooks, name)
        setattr(self, name, found)
        return found


PHASES = ("pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown")
CAPTURING = ("capturemanager", "logging-plugin")
"""pytest's plugins that wrap each phase to capture output (``-s`` turns it off) and log records."""
QUIET_HOOKS = pytest.StashKey[dict[Path, QuietHooks]]()
"""In ``session.stash``: the built-in items' hooks, one per path (all of them share the rootdir's)."""


# -- running checks (shared by built-in items and marked tests) ------------------------------------


def run_checks(item: pytest.Item, checks: list[NetworkCheck], target: Target, where: Service | None) -> None:
    engine = item.config.stash[PLAN].engine
    if isinstance(item, NetworkCheckItem):
        engine.warm(target)
    results: list[tuple[AnyCheck, CheckResult]] = [(check, engine.run(check, target, where)) for check in checks]
    subjects = {check.subject(target) for check in checks}  # a domain check: what checking the domain cost
    connections = engine.connections(subjects.pop() if len(subjects) == 1 else target)
    store_results(item, results, role=target.role.value, connections=connections)


def store_results(item: pytest.Item, results: list[tuple[AnyCheck, CheckResult]], *, role: str, connections: int) -> None:
    """Keep the results for the call phase and the reports; a check that could not run errors the setup.

    Adds to what the item holds already: a test may carry host-check and network-check markers both.
    """
    item.stash[RESULTS] = [*item.stash.get(RESULTS, []), *results]
    registry = item.config.stash[PLAN].registry
    records = [Record.of(c, r, role=role, connections=connections, nodeid=item.nodeid, rank=registry.order(c.name)) for c, r in results]
    item.stash[RECORDS] = [*item.stash.get(RECORDS, []), *records]
    for record in records:
        item.user_properties += [
            ("smtpsec_host", record.target),
            _property("smtpsec_role", record.role),
            _property("smtpsec_service", record.service.value if record.service else "host"),
            _property("smtpsec_check", record.check),
            _property("smtpsec_verdict", record.verdict.value),
        ]
    errors = [failure.render(c, r) for c, r in results if r.verdict is Verdict.ERROR]
    if errors:
        raise CouldNotCheck("\n\n".join(errors))


@functools.cache
def _property(name: str, value: str) -> tuple[str, str]:
    """One tuple per distinct user property, shared by the items (and the reports, which copy the list)."""
    return (name, value)


def settle(item: pytest.Item) -> None:
    """Turn the stored results into the test's outcome: FAIL fails, WARN warns, SKIP skips."""
    results = item.stash.get(RESULTS, [])
    failed = [failure.render(c, r) for c, r in results if r.verdict is Verdict.FAIL]
    if failed:
        raise CheckFailed("\n\n".join(failed))
    for check, result in results:
        if result.verdict is Verdict.WARN:
            where = f"{result.target} {result.service.value}" if result.service else result.target
            warning = SmtpsecWarning(f"{check.name} on {where}: {result.outcome.reason}")
            if item.location[1] is None:  # a built-in check: no source line, so point at the test id
                warnings.warn_explicit(warning, SmtpsecWarning, filename=item.nodeid, lineno=0)
            else:
                item.warn(warning)
    skipped = [f"{c.name}: {r.outcome.reason}" for c, r in results if r.verdict is Verdict.SKIP]
    if skipped and len(skipped) == len(results):
        raise pytest.skip.Exception("; ".join(skipped), _use_item_location=item.location[1] is not None)
