"""Fixtures and check markers for users' own suites: the target, recorded sessions, probes, checks, the lab."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .checks import ServiceCheck, TargetCheck
from .client import SmtpClient
from .engine import NetworkCheck
from .host import HostCheck, HostFacts
from .nodes import CLIENTS, PLAN, run_checks, store_results
from .probe import Probes
from .target import Service, Target
from .verdict import CheckResult

# -- markers and targets for users' own tests ------------------------------------------------------


def _marked(node: Any) -> list[Any]:
    registry = node.config.stash[PLAN].registry
    return list(dict.fromkeys(registry[m.name] for m in node.iter_markers() if m.name in registry))


def _marked_checks(node: Any) -> list[NetworkCheck]:
    return [c for c in _marked(node) if isinstance(c, ServiceCheck | TargetCheck)]


def _marked_host_checks(node: Any) -> list[HostCheck]:
    return [c for c in _marked(node) if isinstance(c, HostCheck)]


def _places(check: NetworkCheck, target: Target) -> tuple[Service | None, ...]:
    return check.places(target)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Marked tests run once per (host, service) their checks apply to; other tests once per host."""
    targets = metafunc.config.stash[PLAN].targets
    checks = _marked_checks(metafunc.definition)
    if checks:
        where = [(t, w) for t in targets for w in (*t.services, None) if any(w in _places(c, t) for c in checks)]
        services = [w.value if w else "host" for _, w in where]
        ids = [f"{t.name}::{s}" for (t, _), s in zip(where, services, strict=True)] if len(targets) > 1 else services
    elif len(targets) > 1 and "smtp_target" in metafunc.fixturenames:
        where = [(t, None) for t in targets]
        ids = [t.name for t in targets]
    else:
        return
    metafunc.parametrize("_smtpsec_where", where, ids=ids, indirect=True)


@pytest.fixture
def _smtpsec_where(request: pytest.FixtureRequest) -> tuple[Target | None, Service | None]:
    if hasattr(request, "param"):
        where: tuple[Target | None, Service | None] = request.param
        return where
    targets = request.config.stash[PLAN].targets
    return (targets[0] if targets else None), None


@pytest.fixture(autouse=True)
def _smtpsec_marked_checks(request: pytest.FixtureRequest, _smtpsec_where: tuple[Target | None, Service | None]) -> None:
    host_checks = _marked_host_checks(request.node)
    if host_checks:
        facts: HostFacts = request.getfixturevalue("smtpsec_host_facts")
        store_results(request.node, [(c, c.run(facts)) for c in host_checks], role="host-config", connections=0)
    checks = _marked_checks(request.node)
    if not checks:
        return
    target = request.getfixturevalue("smtp_target")
    service = _smtpsec_where[1]
    run_checks(request.node, [c for c in checks if service in _places(c, target)], target, service)


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
    facts = pytestconfig.stash[PLAN].host_facts
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
    return pytestconfig.stash[PLAN].engine.probes(smtp_target)


@pytest.fixture
def smtp_session(request: pytest.FixtureRequest, smtp_target: Target) -> Iterator[Callable[..., SmtpClient]]:
    """Open recorded SMTP sessions: ``smtp = smtp_session("submission")`` is connected, banner read.

    Scope: function. Type: factory ``(service: str | Service = "submission") -> SmtpClient``.
    Sessions are closed at teardown; their masked transcripts are attached to a failing test's report.
    """
    clients: list[SmtpClient] = []
    request.node.stash[CLIENTS] = clients

    def open_session(service: Service | str = Service.SUBMISSION) -> SmtpClient:
        client = SmtpClient(smtp_target, service)
        clients.append(client)
        client.connect()
        return client

    yield open_session
    for client in clients:
        client.quit()


@pytest.fixture
def smtpsec_check(pytestconfig: pytest.Config, smtp_target: Target) -> Callable[[str, Service | str | None], CheckResult]:
    """Run a named check from a test and get its :class:`~pytest_smtpsec.CheckResult` to assert on.

    Scope: function. Type: ``(check: str, service: str | Service | None) -> CheckResult``. Without a
    service, a per-service check runs on each service it applies to and the worst result comes back.
    """
    plan = pytestconfig.stash[PLAN]

    def run(check: str, service: Service | str | None = None) -> CheckResult:
        found = plan.registry[check]
        if not isinstance(found, ServiceCheck | TargetCheck):
            raise TypeError(f"{check} is a host check: use its marker, or {check}.run(smtpsec_host_facts)")
        if service is None and isinstance(found, ServiceCheck):
            results = [plan.engine.run(found, smtp_target, where) for where in found.places(smtp_target)]
            if not results:
                raise ValueError(f"{check} applies to none of {smtp_target.name}'s services")
            return min(results, key=lambda result: result.verdict.severity)  # worst first
        return plan.engine.run(found, smtp_target, Service(service) if service else None)

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
