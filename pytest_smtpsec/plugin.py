"""pytest glue: options and ini keys, markers, fixtures, the built-in suite, failure text and summary.

Everything here is wiring; targets, probes and checks are plain Python usable from a REPL.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .checks import CHECKS, Check
from .client import SmtpClient
from .probe import ProbeCache, Probes
from .report import failure
from .report.summary import SummaryReporter
from .settings import OPTIONS, SettingsError, resolve, target_from
from .target import Service, Target
from .verdict import CheckResult, Verdict


class SmtpsecWarning(UserWarning):
    """A check passed with a reservation (auth policy 'migrate', a certificate that expires soon)."""


class CheckFailed(Exception):
    """Raised in the call phase: the server does the insecure thing. Rendered as one screen, no traceback."""


class CouldNotCheck(Exception):
    """Raised in the setup phase: the server could not be asked. Reported as a test error."""


@dataclass
class _State:
    enabled: bool
    target: Target | None
    probes: ProbeCache = field(default_factory=ProbeCache)


_STATE = pytest.StashKey[_State]()
_RESULTS = pytest.StashKey[list[tuple[Check, CheckResult]]]()
_CLIENTS = pytest.StashKey[list[SmtpClient]]()


# -- options and markers ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpsec", "mail server security checks (pytest-smtpsec)")
    group.addoption("--smtpsec", action="store_true", default=None, help="run the built-in acceptance suite against the configured host")
    parser.addini("smtpsec", type="bool", default=False, help="run the built-in acceptance suite (like --smtpsec)")
    for option in OPTIONS:
        group.addoption(option.flag, dest=option.key, default=None, metavar=option.name.split("-")[-1].upper(), help=option.help)
        parser.addini(option.key, help=option.help, default="")


def pytest_configure(config: pytest.Config) -> None:
    for check in CHECKS.values():
        where = f"once per applicable service ({', '.join(s.value for s in check.services)})" if check.services else "once per host"
        config.addinivalue_line("markers", f"{check.name}: run the {check.name} check ({check.title}) before the test, {where}.")
    raw = {o.name: config.getoption(o.key) or config.getini(o.key) for o in OPTIONS}
    try:
        target = target_from(resolve(raw))
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-smtpsec: {exc}") from None
    enabled = bool(config.getoption("smtpsec") or config.getini("smtpsec"))
    if enabled and target is None:
        raise pytest.UsageError("pytest-smtpsec: --smtpsec needs a host to check: give --smtpsec-host (or the smtpsec_host ini key)")
    config.stash[_STATE] = _State(enabled=enabled, target=target)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(SummaryReporter(config), "smtpsec-summary")


def pytest_report_header(config: pytest.Config) -> str | None:
    target = config.stash[_STATE].target
    if target is None:
        return None
    ports = ", ".join(f"{s.value} {target.port(s)}" for s in target.services)
    return f"smtpsec: {target.tls_name} at {target.host} ({ports}); auth policy {target.auth_policy.value}; timeout {target.timeout:g} s"


# -- the built-in suite ----------------------------------------------------------------------------


class SmtpsecCollector(pytest.Collector):
    """A level of the built-in suite's tree (suite, service); its items are made up front."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class SmtpsecItem(pytest.Item):
    """One check on one service of one target: probes in setup (errors), judgement in call (failures)."""

    def __init__(self, *, check: Check, target: Target, service: Service | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.service = service
        self.add_marker(check.name)
        self.add_marker(pytest.mark.xdist_group(target.name))

    def setup(self) -> None:
        _run_checks(self, [self.check], self.target, self.service)

    def runtest(self) -> None:
        _settle(self)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid


class SmtpsecSuite(SmtpsecCollector):
    """The root of the built-in suite: ``smtpsec::<service>::<check>``."""

    def __init__(self, *, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return list(_suite_items(self, self.target))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Hang the built-in suite under the session, beside any test files, so it is collected like them."""
    report = yield
    state = collector.config.stash[_STATE]
    if isinstance(collector, pytest.Session) and state.enabled and state.target is not None and report.passed:
        report.result.append(SmtpsecSuite.from_parent(collector, name="smtpsec", nodeid="smtpsec", target=state.target))
    return report


def _suite_items(suite: pytest.Collector, target: Target) -> Iterator[pytest.Collector | pytest.Item]:
    """Per-service checks under ``<service>::``, then the checks of the host as a whole."""
    for service in target.services:
        level = SmtpsecCollector.from_parent(suite, name=service.value)
        for check in CHECKS.values():
            if service in check.applies_to(target):
                yield SmtpsecItem.from_parent(level, name=check.name, check=check, target=target, service=service)
    for check in CHECKS.values():
        if None in check.applies_to(target):
            yield SmtpsecItem.from_parent(suite, name=check.name, check=check, target=target, service=None)


# -- running checks (shared by built-in items and marked tests) ------------------------------------


def _run_checks(item: pytest.Item, checks: list[Check], target: Target, service: Service | None) -> None:
    probes = item.config.stash[_STATE].probes(target)
    before = probes.connections
    results = [(check, check.run(probes, service)) for check in checks]
    item.stash[_RESULTS] = results
    item.user_properties.append(("smtpsec_connections", str(probes.connections - before)))
    for check, result in results:
        item.user_properties += [
            ("smtpsec_target", result.target),
            ("smtpsec_service", result.service or ""),
            ("smtpsec_check", check.name),
            ("smtpsec_verdict", result.verdict.value),
            ("smtpsec_reason", result.outcome.reason),
        ]
    errors = [failure.render(c, r) for c, r in results if r.verdict is Verdict.ERROR]
    if errors:
        raise CouldNotCheck("\n\n".join(errors))


def _settle(item: pytest.Item) -> None:
    """Turn the stored results into the test's outcome: FAIL fails, WARN warns, SKIP skips."""
    results = item.stash.get(_RESULTS, [])
    failed = [failure.render(c, r) for c, r in results if r.verdict is Verdict.FAIL]
    if failed:
        raise CheckFailed("\n\n".join(failed))
    for check, result in results:
        if result.verdict is Verdict.WARN:
            warnings.warn(SmtpsecWarning(f"{check.name} on {result.service}: {result.outcome.reason}"), stacklevel=1)
    skipped = [f"{c.name}: {r.outcome.reason}" for c, r in results if r.verdict is Verdict.SKIP]
    if skipped and len(skipped) == len(results):
        pytest.skip("; ".join(skipped))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if not isinstance(item, SmtpsecItem) and _RESULTS in item.stash:
        _settle(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, (CheckFailed, CouldNotCheck)):
        report.longrepr = str(call.excinfo.value)
    if report.failed:
        for client in item.stash.get(_CLIENTS, []):
            report.sections.append((f"SMTP transcript: {client.service.value} (secrets masked)", client.transcript))
    return report


# -- markers on users' tests -----------------------------------------------------------------------


def _marked_checks(node: pytest.Item | pytest.Function | Any) -> list[Check]:
    return [CHECKS[m.name] for m in node.iter_markers() if m.name in CHECKS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    checks = _marked_checks(metafunc.definition)
    if not checks or "smtpsec_service" not in metafunc.fixturenames:
        return
    target = metafunc.config.stash[_STATE].target
    if target is None:  # the smtp_target fixture will say what is missing
        where: list[Service | None] = [None]
    else:
        where = [w for w in (*target.services, None) if any(w in c.applies_to(target) for c in checks)]
    metafunc.parametrize("smtpsec_service", where, ids=[w.value if w else "host" for w in where], indirect=True)


@pytest.fixture
def smtpsec_service(request: pytest.FixtureRequest) -> Service | None:
    """The service a marked test runs for, parametrised from its check markers (None: the host as a whole).

    Scope: function. Type: :class:`~pytest_smtpsec.Service` or None.
    """
    return getattr(request, "param", None)


@pytest.fixture(autouse=True)
def _smtpsec_marked_checks(request: pytest.FixtureRequest, smtpsec_service: Service | None) -> None:
    checks = _marked_checks(request.node)
    if not checks:
        return
    service = smtpsec_service
    target: Target = request.getfixturevalue("smtp_target")
    _run_checks(request.node, [c for c in checks if service in c.applies_to(target)], target, service)


# -- fixtures for users' own suites ----------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_target(pytestconfig: pytest.Config) -> Target:
    """The configured mail host (``--smtpsec-host`` and friends).

    Scope: session. Type: :class:`~pytest_smtpsec.Target`. Override it in a conftest.py to test another host.
    """
    target = pytestconfig.stash[_STATE].target
    if target is None:
        pytest.fail("no mail host configured: give --smtpsec-host (or the smtpsec_host ini key)", pytrace=False)
    return target


@pytest.fixture(scope="session")
def smtpsec_probes(pytestconfig: pytest.Config, smtp_target: Target) -> Probes:
    """The shared probe cache of ``smtp_target``: each session runs once for the whole test run.

    Scope: session. Type: :class:`~pytest_smtpsec.probe.Probes`.
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


@pytest.fixture
def smtpsec_check(smtpsec_probes: Probes) -> Callable[[str, Service | str], CheckResult]:
    """Run a named check from a test and get its :class:`~pytest_smtpsec.CheckResult` to assert on.

    Scope: function. Type: ``(check: str, service: str | Service) -> CheckResult``.
    """

    def run(check: str, service: Service | str) -> CheckResult:
        return CHECKS[check].run(smtpsec_probes, Service(service))

    return run
