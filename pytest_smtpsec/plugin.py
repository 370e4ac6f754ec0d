"""pytest glue: options and ini keys, markers, fixtures, the built-in suite, failure text and reports.

Everything here is wiring; targets, probes and checks are plain Python usable from a REPL.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .checks import CHECKS, Check
from .client import SmtpClient
from .host import HOST_CHECKS, HostCheck, HostFacts
from .inventory import load_inventory, password_variables
from .probe import ProbeCache, Probes
from .report import failure
from .report.records import ATTRIBUTE, Record, RecordCollector
from .report.summary import SummaryReporter
from .settings import OPTIONS, PASSWORD_ENV, Option, SettingsError, parse_file, resolve, target_from
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
class _State:
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


_STATE = pytest.StashKey[_State]()
_INVENTORY_KEY = "smtpsec_inventory"
AnyCheck = Check | HostCheck
_RESULTS = pytest.StashKey[list[tuple[AnyCheck, CheckResult]]]()
_CLIENTS = pytest.StashKey[list[SmtpClient]]()


# -- options and markers ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpsec", "mail server security checks (pytest-smtpsec)")
    group.addoption("--smtpsec", action="store_true", default=None, help="run the built-in acceptance suite against the configured hosts")
    parser.addini("smtpsec", type="bool", default=False, help="run the built-in acceptance suite (like --smtpsec)")
    for option in OPTIONS:
        metavar = option.metavar or option.name.split("-")[-1].upper()
        group.addoption(option.flag, dest=option.key, default=None, metavar=metavar, help=option.help)
        parser.addini(option.key, help=option.help, default="")


def pytest_configure(config: pytest.Config) -> None:
    for check in CHECKS.values():
        where = f"once per applicable service ({', '.join(s.value for s in check.services)})" if check.services else "once per host"
        config.addinivalue_line("markers", f"{check.name}: run the {check.name} check ({check.title}) before the test, {where}.")
    for host_check in HOST_CHECKS.values():
        config.addinivalue_line(
            "markers",
            f"{host_check.name}: run the {host_check.name} host check ({host_check.title}) before the test (--smtpsec-host-config).",
        )
    config.addinivalue_line(
        "markers", "smtpsec(host, role, service, check): on every built-in check, to select with -m \"smtpsec(role='no-mail')\"."
    )
    state = config.stash[_STATE] = _state(config)
    if state.enabled and not state.targets and state.host_facts is None:
        raise pytest.UsageError(
            "pytest-smtpsec: --smtpsec needs something to check: --smtpsec-host, --smtpsec-inventory or --smtpsec-host-config"
        )
    if not hasattr(config, "workerinput"):
        collector = RecordCollector()
        config.pluginmanager.register(collector, "smtpsec-records")
        config.pluginmanager.register(SummaryReporter(collector), "smtpsec-summary")
        from .report.html_report import HtmlReport
        from .report.json_report import JsonReport

        for writer in (JsonReport, HtmlReport):
            report = writer.configured(config, collector)
            if report is not None:
                config.pluginmanager.register(report, f"smtpsec-{writer.label.lower()}")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist: with ``-n``, keep each host's checks on one worker (``--dist load``/``loadgroup``, the default)."""
    state = config.stash[_STATE]
    if not state.enabled or config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from .scheduling import HostScheduling

    return HostScheduling(config, log, suites=[(name, _per_host(name)) for name, _ in state.suites] or [("smtpsec", False)])


def _per_host(suite: str) -> bool:
    """Inventory suites name the host in every id; the ``--smtpsec-host`` suite checks one host only."""
    return suite != "smtpsec"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the password variables the targets name (remote ``--tx ssh=`` workers do not
    inherit our environment; execnet carries them over its ssh channel)."""
    node.workerinput["smtpsec_environ"] = {name: os.environ[name] for name in _password_variables(node.config) if name in os.environ}


def _password_variables(config: pytest.Config) -> list[str]:
    inventory = config.getoption(_INVENTORY_KEY) or config.getini(_INVENTORY_KEY)
    return [PASSWORD_ENV, *(password_variables(Path(inventory)) if inventory else [])]


def _raw_value(config: pytest.Config, option: Option) -> str | None:
    """The flag's text, else the ini key's; a relative file named in an ini file is relative to the rootdir."""
    given = config.getoption(option.key)
    if given:
        return str(given)
    value = str(config.getini(option.key) or "")
    if value and option.parse is parse_file and not Path(value).expanduser().is_absolute():
        return str(config.rootpath / value)
    return value or None


def _state(config: pytest.Config) -> _State:
    raw = {o.name: _raw_value(config, o) for o in OPTIONS}
    environ = {**os.environ, **getattr(config, "workerinput", {}).get("smtpsec_environ", {})}
    try:
        values = resolve(raw)
        suites = []
        target = target_from(values, environ)
        if target is not None:
            suites.append(("smtpsec", [target]))
        inventory: Path | None = values["inventory"]
        if inventory is not None:
            suites.append((inventory.name, load_inventory(inventory, environ, timeout=values["timeout"])))
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-smtpsec: {exc}") from None
    host_facts = None
    if values["host-config"]:
        host_facts = HostFacts.from_options(
            values["host-config"], cf=values["sendmail-cf"], mc=values["sendmail-mc"], sendmail=values["sendmail-bin"]
        )
    enabled = bool(config.getoption("smtpsec") or config.getini("smtpsec"))
    return _State(enabled=enabled, suites=suites, host_facts=host_facts)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for target in config.stash[_STATE].targets:
        ports = ", ".join(f"{s.value} {target.port(s)}" for s in target.services) or "no mail ports expected"
        lines.append(
            f"smtpsec: {target.tls_name} at {target.host} ({ports}); role {target.role.value}; "
            f"auth policy {target.auth_policy.value}; timeout {target.timeout:g} s"
        )
    return lines[:5] + ([f"smtpsec: ... and {len(lines) - 5} more hosts"] if len(lines) > 5 else [])


# -- the built-in suite ----------------------------------------------------------------------------


class SmtpsecCollector(pytest.Collector):
    """A level of the built-in suite's tree: suite, host, service; ``config`` for the host checks."""

    def __init__(self, *, targets: list[Target], host_facts: HostFacts | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = targets
        self.host_facts = host_facts

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        if _per_host(self.name) and self.parent is self.session:  # an inventory: <file>::<host>::...
            hosts = [SmtpsecCollector.from_parent(self, name=t.name, targets=[t]) for t in self.targets]
            found: list[pytest.Item | pytest.Collector] = list(hosts)
        else:  # --smtpsec-host, or one host of an inventory: ...::<service>::<check>
            found = [item for t in self.targets for item in _target_items(self, t)]
        if self.host_facts is not None:  # smtpsec::config::<host check>
            level = SmtpsecCollector.from_parent(self, name="config", targets=[])
            found += [HostCheckItem.from_parent(level, name=c.name, check=c, facts=self.host_facts) for c in HOST_CHECKS.values()]
        return found


class _CheckItem(pytest.Item):
    """A built-in check as a test: it runs in setup (so "could not check" is an error), settles in call."""

    def runtest(self) -> None:
        _settle(self)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # The name, not the node id: pytest turns the dots of a domain into "::" in -v lines, and host
        # names have dots. Failure headlines get the whole node id in pytest_runtest_makereport.
        return self.path, None, self.name


class SmtpsecItem(_CheckItem):
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
        _run_checks(self, [self.check], self.target, self.service)


class HostCheckItem(_CheckItem):
    """One host check on the mail server's own host (files, modes, the binary, saslauthd)."""

    def __init__(self, *, check: HostCheck, facts: HostFacts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.facts = facts
        self.add_marker(check.name)
        self.add_marker(pytest.mark.smtpsec(host=facts.name, role="host-config", service="config", check=check.name))

    def setup(self) -> None:
        _judge(self, [(self.check, self.check.run(self.facts))], role="host-config", connections=0)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Hang the built-in suites under the session, beside any test files, so they are collected like them."""
    report = yield
    state = collector.config.stash[_STATE]
    if isinstance(collector, pytest.Session) and state.enabled and report.passed:
        suites = state.suites if state.suites or state.host_facts is None else [("smtpsec", [])]
        for index, (name, targets) in enumerate(suites):
            facts = state.host_facts if index == 0 else None
            report.result.append(SmtpsecCollector.from_parent(collector, name=name, nodeid=name, targets=targets, host_facts=facts))
    return report


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


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist, probe every selected host at once in the background, so no host waits on another.

    (An xdist worker does not know which hosts it will get: it warms each host when its first check runs.)
    """
    state = session.config.stash[_STATE]
    if session.config.option.collectonly or not state.enabled:
        return
    gc.freeze()  # the collected tree lives until the end: keep the collector from walking it again and again
    if hasattr(session.config, "workerinput"):
        return
    for target in dict.fromkeys(i.target for i in session.items if isinstance(i, SmtpsecItem)):
        _start_warming(state, target)


def _start_warming(state: _State, target: Target) -> None:
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


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None and state.prefetch is not None:
        state.prefetch.shutdown(wait=False, cancel_futures=True)


# -- running checks (shared by built-in items and marked tests) ------------------------------------


def _run_checks(item: pytest.Item, checks: list[Check], target: Target, service: Service | None) -> None:
    state = item.config.stash[_STATE]
    if isinstance(item, SmtpsecItem):
        _start_warming(state, target)
    if target in state.warming:
        state.warming[target].result()  # the host's probes finish together, so its connection count is final
    probes = state.probes(target)
    results: list[tuple[AnyCheck, CheckResult]] = [(check, check.run(probes, service)) for check in checks]
    _judge(item, results, role=target.role.value, connections=probes.connections)


def _judge(item: pytest.Item, results: list[tuple[AnyCheck, CheckResult]], *, role: str, connections: int) -> None:
    """Keep the results for the call phase and the reports; a check that could not run errors the setup."""
    item.stash[_RESULTS] = results
    records = [Record.of(c, r, role=role, connections=connections, nodeid=item.nodeid) for c, r in results]
    item.stash[_RECORDS] = records
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


_RECORDS = pytest.StashKey[list[Record]]()


def _settle(item: pytest.Item) -> None:
    """Turn the stored results into the test's outcome: FAIL fails, WARN warns, SKIP skips."""
    results = item.stash.get(_RESULTS, [])
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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if not isinstance(item, _CheckItem) and _RESULTS in item.stash:
        _settle(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, _CheckItem):
        report.location = (report.location[0], report.location[1], item.nodeid)  # the failure headline
        if report.skipped and isinstance(report.longrepr, tuple):  # "SKIPPED <test id>: <reason>", not plugin.py
            report.longrepr = (item.nodeid, None, report.longrepr[2])  # type: ignore[assignment]  # no line: the summary prints "id: reason"
    if call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed | CouldNotCheck):
        report.longrepr = str(call.excinfo.value)
    if call.when == "setup" and _RECORDS in item.stash:
        setattr(report, ATTRIBUTE, [r.to_dict() for r in item.stash[_RECORDS]])
    if report.failed:
        for client in item.stash.get(_CLIENTS, []):
            report.sections.append((f"SMTP transcript: {client.service.value} (secrets masked)", client.transcript))
    return report


# -- markers and targets for users' own tests ------------------------------------------------------


def _marked_checks(node: Any) -> list[Check]:
    return [CHECKS[m.name] for m in node.iter_markers() if m.name in CHECKS]


def _marked_host_checks(node: Any) -> list[HostCheck]:
    return [HOST_CHECKS[m.name] for m in node.iter_markers() if m.name in HOST_CHECKS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Marked tests run once per (host, service) their checks apply to; other tests once per host."""
    targets = metafunc.config.stash[_STATE].targets
    checks = _marked_checks(metafunc.definition)
    if checks:
        where = [(t, w) for t in targets for w in (*t.services, None) if any(w in c.applies_to(t) for c in checks)]
    elif len(targets) > 1 and "smtp_target" in metafunc.fixturenames:
        where = [(t, None) for t in targets]
    else:
        return
    many = len(targets) > 1
    ids = [f"{t.name}::{w.value if w else 'host'}" if many else (w.value if w else "host") for t, w in where]
    if not checks:
        ids = [t.name for t, _ in where]
    metafunc.parametrize("_smtpsec_where", where, ids=ids, indirect=True)


@pytest.fixture
def _smtpsec_where(request: pytest.FixtureRequest) -> tuple[Target | None, Service | None]:
    if hasattr(request, "param"):
        where: tuple[Target | None, Service | None] = request.param
        return where
    targets = request.config.stash[_STATE].targets
    return (targets[0] if targets else None), None


@pytest.fixture(autouse=True)
def _smtpsec_marked_checks(request: pytest.FixtureRequest, _smtpsec_where: tuple[Target | None, Service | None]) -> None:
    host_checks = _marked_host_checks(request.node)
    if host_checks:
        facts: HostFacts = request.getfixturevalue("smtpsec_host_facts")
        _judge(request.node, [(c, c.run(facts)) for c in host_checks], role="host-config", connections=0)
    checks = _marked_checks(request.node)
    if not checks:
        return
    target = request.getfixturevalue("smtp_target")
    service = _smtpsec_where[1]
    _run_checks(request.node, [c for c in checks if service in c.applies_to(target)], target, service)


@pytest.fixture
def smtp_target(_smtpsec_where: tuple[Target | None, Service | None]) -> Target:
    """The mail host under test: ``--smtpsec-host``, or each host of ``--smtpsec-inventory`` in turn.

    Scope: function (a cheap view; probes are shared for the whole run). Type: :class:`~pytest_smtpsec.Target`.
    Override it in a conftest.py to test another host.
    """
    target = _smtpsec_where[0]
    if target is None:
        pytest.fail("no mail host configured: give --smtpsec-host (or the smtpsec_host ini key)", pytrace=False)
    return target


@pytest.fixture
def smtpsec_host_facts(pytestconfig: pytest.Config) -> HostFacts:
    """The mail server's own host (``--smtpsec-host-config``): files, modes, sendmail's build, saslauthd.

    Scope: function (facts are gathered once per run). Type: :class:`pytest_smtpsec.host.HostFacts`.
    """
    facts = pytestconfig.stash[_STATE].host_facts
    if facts is None:
        pytest.fail("no mail host to inspect: give --smtpsec-host-config=local or ssh://user@host", pytrace=False)
    return facts


@pytest.fixture
def smtpsec_sendmail_cf(smtpsec_host_facts: HostFacts) -> Any:
    """The host's parsed ``sendmail.cf`` (``O`` options, classes): ``smtpsec_sendmail_cf.get("AuthOptions")``.

    Scope: function. Type: :class:`pytest_smtpsec.host.sendmail_cf.SendmailCf`.
    """
    return smtpsec_host_facts.cf


@pytest.fixture
def smtpsec_service(_smtpsec_where: tuple[Target | None, Service | None]) -> Service | None:
    """The service a marked test runs for, parametrised from its check markers (None: the host as a whole).

    Scope: function. Type: :class:`~pytest_smtpsec.Service` or None.
    """
    return _smtpsec_where[1]


@pytest.fixture
def smtpsec_probes(pytestconfig: pytest.Config, smtp_target: Target) -> Probes:
    """The shared probe cache of ``smtp_target``: each probe session runs once for the whole test run.

    Scope: function (the cache behind it lives for the session). Type: :class:`~pytest_smtpsec.Probes`.
    """
    return pytestconfig.stash[_STATE].probes(smtp_target)


@pytest.fixture
def smtp_session(request: pytest.FixtureRequest, smtp_target: Target) -> Iterator[Callable[..., SmtpClient]]:
    """Open recorded SMTP sessions: ``smtp = smtp_session("submission")`` is connected, banner read.

    Scope: function. Type: factory ``(service: str | Service = "submission") -> SmtpClient``.
    Sessions are closed at teardown; their masked transcripts are attached to a failing test's report.
    """
    clients: list[SmtpClient] = []
    request.node.stash[_CLIENTS] = clients

    def open_session(service: Service | str = Service.SUBMISSION) -> SmtpClient:
        client = SmtpClient(smtp_target, service)
        clients.append(client)
        client.connect()
        return client

    yield open_session
    for client in clients:
        client.quit()


@pytest.fixture
def smtpsec_check(smtpsec_probes: Probes) -> Callable[[str, Service | str | None], CheckResult]:
    """Run a named check from a test and get its :class:`~pytest_smtpsec.CheckResult` to assert on.

    Scope: function. Type: ``(check: str, service: str | Service | None) -> CheckResult``.
    """

    def run(check: str, service: Service | str | None = None) -> CheckResult:
        return CHECKS[check].run(smtpsec_probes, Service(service) if service else None)

    return run


@pytest.fixture(scope="session")
def smtpsec_reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Target]]:
    """Start the bundled reference sendmail: ``target = smtpsec_reference_server("secure")``.

    Scope: session. Type: factory ``(profile: str = "secure", **target_overrides) -> Target``.
    Each profile starts once (real sendmail on loopback, needs root) and is stopped at the end of the
    session, also when tests fail. Profiles: ``python -m pytest_smtpsec.lab profiles``.
    """
    from .lab.pool import LabPool, as_target

    with LabPool(tmp_path_factory.mktemp("smtpsec-lab")) as pool:

        def start(profile: str = "secure", **overrides: Any) -> Target:
            return as_target(pool(profile), **overrides)

        yield start
