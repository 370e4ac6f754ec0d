"""The ``smtpsec_*`` fixtures for users' own tests: the target, recorded sessions, probes, checks, the lab.

Always registered (they are inert until asked for) and cheap to import: the machinery behind them is
imported when a test uses one. The parametrisation by check markers, the marker aliases and the
``smtp_target`` / ``smtp_session`` aliases come from :mod:`.active`, in runs that use pytest-smtpsec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .stash import CLIENTS, PLAN
from .target import Service, Target

if TYPE_CHECKING:
    from .client import SmtpClient
    from .host import HostFacts
    from .nodes import Plan
    from .probe import Probes
    from .verdict import CheckResult

Where = tuple[Target | None, Service | None]

NO_HOST = "no mail host configured: give --smtpsec-host (or the smtpsec_host ini key) or --smtpsec-inventory"


def _plan(config: pytest.Config) -> Plan:
    plan = config.stash.get(PLAN, None)
    if plan is None:
        pytest.fail(NO_HOST, pytrace=False)
    return plan


@pytest.fixture
def _smtpsec_where(request: pytest.FixtureRequest) -> Where:
    """Where a test runs: parametrised by :mod:`.active` (marked tests, inventories), else the first host."""
    if hasattr(request, "param"):
        where: Where = request.param
        return where
    plan = request.config.stash.get(PLAN, None)
    targets = plan.targets if plan is not None else []
    return (targets[0] if targets else None), None


@pytest.fixture
def smtpsec_target(_smtpsec_where: Where) -> Target:
    """The mail host under test: ``--smtpsec-host``, or each host of ``--smtpsec-inventory`` in turn.

    Scope: function (a cheap view; probes are shared for the whole run). Type: :class:`~pytest_smtpsec.Target`.
    Override it in a conftest.py to test another host. Alias: ``smtp_target``.
    """
    target = _smtpsec_where[0]
    if target is None:
        pytest.fail(NO_HOST, pytrace=False)
    return target


@pytest.fixture
def smtpsec_host_facts(pytestconfig: pytest.Config) -> HostFacts:
    """The mail server's own host (``--smtpsec-host-config``): files, modes, sendmail's build, saslauthd.

    Scope: function (facts are gathered once per run). Type: :class:`pytest_smtpsec.host.HostFacts`.
    """
    facts = pytestconfig.stash[PLAN].host_facts if PLAN in pytestconfig.stash else None
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
def smtpsec_service(_smtpsec_where: Where) -> Service | None:
    """The service a marked test runs for, parametrised from its check markers (None: the host as a whole).

    Scope: function. Type: :class:`~pytest_smtpsec.Service` or None.
    """
    return _smtpsec_where[1]


@pytest.fixture
def smtpsec_probes(pytestconfig: pytest.Config, smtpsec_target: Target) -> Probes:
    """The shared probe cache of ``smtpsec_target``: each probe session runs once for the whole test run.

    Scope: function (the cache behind it lives for the session). Type: :class:`~pytest_smtpsec.Probes`.
    """
    return _plan(pytestconfig).engine.probes(smtpsec_target)


@pytest.fixture
def smtpsec_session(request: pytest.FixtureRequest, smtpsec_target: Target) -> Iterator[Callable[..., SmtpClient]]:
    """Open recorded SMTP sessions: ``smtp = smtpsec_session("submission")`` is connected, banner read.

    Scope: function. Type: factory ``(service: str | Service = "submission") -> SmtpClient``.
    Sessions are closed at teardown; their masked transcripts are attached to a failing test's report.
    Alias: ``smtp_session``.
    """
    from .client import SmtpClient

    clients: list[SmtpClient] = []
    request.node.stash[CLIENTS] = clients

    def open_session(service: Service | str = Service.SUBMISSION) -> SmtpClient:
        client = SmtpClient(smtpsec_target, service)
        clients.append(client)
        client.connect()
        return client

    yield open_session
    for client in clients:
        client.quit()


@pytest.fixture
def smtpsec_check(pytestconfig: pytest.Config, smtpsec_target: Target) -> Callable[[str, Service | str | None], CheckResult]:
    """Run a named check from a test and get its :class:`~pytest_smtpsec.CheckResult` to assert on.

    Scope: function. Type: ``(check: str, service: str | Service | None) -> CheckResult``. Without a
    service, a per-service check runs on each service it applies to and the worst result comes back.
    """
    from .checks import ServiceCheck, TargetCheck

    plan = _plan(pytestconfig)

    def run(check: str, service: Service | str | None = None) -> CheckResult:
        found = plan.registry[check]
        if not isinstance(found, ServiceCheck | TargetCheck):
            raise TypeError(f"{check} is a host check: use its marker, or {check}.run(smtpsec_host_facts)")
        if service is None and isinstance(found, ServiceCheck):
            results = [plan.engine.run(found, smtpsec_target, where) for where in found.places(smtpsec_target)]
            if not results:
                raise ValueError(f"{check} applies to none of {smtpsec_target.name}'s services")
            return min(results, key=lambda result: result.verdict.severity)  # worst first
        return plan.engine.run(found, smtpsec_target, Service(service) if service else None)

    return run


@pytest.fixture(scope="session")
def smtpsec_reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Target]]:
    """Start the bundled reference sendmail: ``target = smtpsec_reference_server("secure")``.

    Scope: session. Type: factory ``(profile: str = "secure", **target_overrides) -> Target``.
    Each profile starts once (real sendmail on loopback, needs root) and is stopped at the end of the
    session, also when tests fail. Profiles: ``smtpsec-lab profiles``.
    """
    from .lab.pool import LabPool, as_target

    with LabPool(tmp_path_factory.mktemp("smtpsec-lab")) as pool:

        def start(profile: str = "secure", **overrides: Any) -> Target:
            return as_target(pool(profile), **overrides)

        yield start
