"""secure_on_every_address: a name reaches the world at each of its addresses, so each is judged. Judge
branches on recorded probes (no network), then fake servers that differ by address (a hostile one beside a
good one on the same port of another loopback address), the name resolved to both."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import test_judges as recorded
from domain_lab import loopback
from fakes import HOST, WELL_BEHAVED, SmtpFake
from test_domain_judges import Handshakes

from pytest_smtpsec.checks import CHECKS, run_at, secure_on_every_address
from pytest_smtpsec.lab.pool import as_target
from pytest_smtpsec.lab.server import ReferenceServer
from pytest_smtpsec.probe import Probes, Step, network
from pytest_smtpsec.probe.session import Phase
from pytest_smtpsec.target import Ports, Role, Service, ServiceRole, ServiceRoles, Target
from pytest_smtpsec.verdict import Verdict

CHECK = CHECKS["secure_on_every_address"]
NAMED = Target("mail.example.test", ports=Ports(25, None, None), role=Role.RELAY_ONLY, service_roles=ServiceRoles(smtp=ServiceRole.MX))


def at(address: str, **main: object) -> Probes:
    """The named host at ``address``, as recorded sessions of a secure server (its old-TLS and weak-suite
    handshakes refused), the main session changed by ``main``."""
    target = NAMED.at(address)
    session = recorded.main(Service.SMTP, auth=recorded.CLEAR_AUTH, relay=(recorded.relay(Phase.CLEARTEXT, recorded.DENIED),))
    sessions = [replace(session, target=target, **main), replace(recorded.extra(Service.SMTP), target=target)]  # type: ignore[arg-type]
    return Handshakes.recorded(target, sessions)


def judged(addresses: list[str], peers: list[Probes]) -> tuple[Verdict, str]:
    result = run_at(CHECK, Probes.recorded(NAMED, [], addresses=addresses, peers=peers), None)
    return result.verdict, " | ".join((result.outcome.reason, *result.outcome.findings))


@pytest.fixture(autouse=True)
def every_address_routable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secure_on_every_address, "_routable", lambda address: not address.startswith("2001:db8:"))


def test_placed_on_a_named_mail_host_only() -> None:
    assert CHECK.places(NAMED) == (None,)
    assert CHECK.places(Target("192.0.2.25")) == () and CHECK.places(Target("[2001:db8::25]")) == ()
    assert CHECK.places(Target("www.example.test", role=Role.NO_MAIL)) == ()
    assert CHECK.places(NAMED.at("192.0.2.25")) == () and CHECK.places(NAMED.mx("mx.example.test", "192.0.2.25")) == ()


def test_one_address_passes_the_other_checks_judged_it() -> None:
    verdict, said = judged(["192.0.2.25"], [])
    assert verdict is Verdict.PASS and "has one address (192.0.2.25)" in said


def test_every_address_alike_passes_naming_each() -> None:
    verdict, said = judged(["192.0.2.25", "2001:db9::25"], [at("192.0.2.25"), at("2001:db9::25")])
    assert verdict is Verdict.PASS and "192.0.2.25: " in said and "2001:db9::25: " in said, said


def test_an_address_that_takes_cleartext_auth_fails_naming_it() -> None:
    leak = recorded.r("250-mail|250-STARTTLS|250 AUTH PLAIN LOGIN")
    bad = at("2001:db9::25", replies={**at("x").session(Service.SMTP).replies, Step.EHLO: leak})
    verdict, said = judged(["192.0.2.25", "2001:db9::25"], [at("192.0.2.25"), bad])
    assert verdict is Verdict.FAIL and "2001:db9::25: requires_starttls_before_auth" in said, said
    assert "192.0.2.25: requires_starttls_before_auth" not in said


def test_an_address_this_machine_cannot_reach_warns_never_passes() -> None:
    verdict, said = judged(["192.0.2.25", "2001:db8::25"], [at("192.0.2.25")])
    assert verdict is Verdict.WARN and "2001:db8::25: not checked: this machine has no route to it" in said


def test_more_addresses_than_probed_are_named() -> None:
    many = [f"192.0.2.{i}" for i in range(1, 11)]
    verdict, said = judged(many, [at(a) for a in many])
    assert verdict is Verdict.WARN and "2 more addresses not checked: 192.0.2.9, 192.0.2.10" in said


# -- fake servers on two loopback addresses, one name ------------------------------------------------

SECOND = "127.0.0.2"
NAME = "dual.smtpsec.test"


@pytest.fixture
def resolves(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, list[str]], None]]:
    """``resolves(name, addresses)``: from then on ``name`` resolves to ``addresses`` (as a dual-stack or
    round-robin name does); the lookup cache forgets it afterwards."""
    real, names = socket.getaddrinfo, dict[str, list[str]]()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names and not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            return [info for address in names[host] for info in real(address, port, *args, **kwargs)]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield names.__setitem__
    for name in names:
        network._lookups._futures.pop(name, None)


@pytest.fixture
def resolves_to_both(resolves: Callable[[str, list[str]], None]) -> None:
    """``NAME`` resolves to 127.0.0.1 and 127.0.0.2."""
    resolves(NAME, [HOST, SECOND])


def test_a_hostile_server_behind_the_second_address_fails(resolves_to_both: None) -> None:
    with ExitStack() as stack:
        good = stack.enter_context(SmtpFake(WELL_BEHAVED))
        hostile = SmtpFake(replace(WELL_BEHAVED, auth_before_tls=True), name="cleartext_auth", address=SECOND, port=good.port)
        bad = stack.enter_context(hostile)
        target = Target(NAME, tls_name=HOST, ports=Ports(good.port, None, None), timeout=3.0)
        probes = Probes(target)
        probes.warm_up()
        result = run_at(CHECK, probes, None)
        main = run_at(CHECKS["requires_starttls_before_auth"], probes, Service.SMTP)  # the address the race picked
    said = " | ".join((result.outcome.reason, *result.outcome.findings))
    assert result.verdict is Verdict.FAIL and f"{SECOND}: requires_starttls_before_auth" in said, said
    assert f"{HOST}: requires_starttls_before_auth" not in said
    assert bad.connections > 0 and probes.addresses() == [HOST, SECOND]
    assert main.verdict is Verdict.PASS, "the first address answers first: without this check the host passed"


# -- real sendmail on two loopback addresses, one name -------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize(("second", "fails"), [("secure", ""), ("cleartext-auth", "requires_starttls_before_auth")])
def test_real_sendmail_on_each_address(second: str, fails: str, resolves: Any, tmp_path: Path) -> None:
    """Two reference sendmails on the same ports of two loopback addresses, the name resolving to both: alike
    they pass; a second one configured apart (AUTH before TLS) fails, named by its address."""
    first_address, second_address = loopback(), loopback()
    with ExitStack() as stack:
        first = stack.enter_context(ReferenceServer("secure", tmp_path / "first", address=first_address))
        other = stack.enter_context(ReferenceServer(second, tmp_path / "second", address=second_address, ports=first.ports))
        bundle = tmp_path / "cas.pem"
        bundle.write_bytes(first.ca_file.read_bytes() + other.ca_file.read_bytes())
        resolves(NAME, [first_address, second_address])
        target = replace(as_target(first), host=NAME, ca_file=bundle, credentials=None)
        probes = Probes(target)
        probes.warm_up()
        result = run_at(CHECK, probes, None)
    said = " | ".join((result.outcome.reason, *result.outcome.findings))
    if not fails:
        assert result.verdict is Verdict.PASS and f"{first_address}: " in said and f"{second_address}: " in said, said
    else:
        assert result.verdict is Verdict.FAIL and f"{second_address}: {fails}" in said, said
        assert f"{first_address}: {fails}" not in said
