"""Every way a login or relaying rule breaks, each on a small hostile-but-plausible server (a named fake):
the check that guards the rule must FAIL and name the exact form that got through; each way a server
honours a rule unusually (CRAM-MD5 only, a lockout after one failure, a 4xx refusal, an MX on 25 that
takes no logins, the old ``AUTH=`` form) must PASS. No check may ERROR on any of these servers.

Sendmail, Postfix and Exim cannot show most of these faults (they need broken code or an old feature);
the real-MTA profiles that can are in the detection matrix (``tests/expected_verdicts.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from fakes import HOST, PASSWORD, USER, WELL_BEHAVED, Behaviour, SmtpFake, write_ca_file

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.target import Credentials, Ports, Role, Service, ServiceRole, ServiceRoles, Target
from pytest_smtpsec.verdict import CheckResult, Verdict

SMTP, SUBMISSION, SMTPS = Service.SMTP, Service.SUBMISSION, Service.SMTPS
MX = replace(WELL_BEHAVED, mail_without_auth=True)
"""A port-25 server as it should be: MAIL from anyone, RCPT only for its own domains."""
RELAY = "relay_denied_unauthenticated"
LOGIN = "auth_after_tls"
CLEARTEXT = "requires_starttls_before_auth"


@dataclass(frozen=True)
class Server:
    """One fake, the service it plays, and what the suite must say about it."""

    behaviour: Behaviour
    service: Service
    fails: dict[str, str] = field(default_factory=dict)
    """check -> text a finding must contain; every other check of the note passes (or has nothing to judge on one port)."""
    smtp_role: ServiceRole | None = None
    errors: str = ""
    """Where replies cannot be trusted: every other check is "could not check" and says this."""

    def target(self, port: int, ca_file: Path) -> Target:
        ports = Ports(**{s.value: port if s is self.service else None for s in Service})
        roles = ServiceRoles(smtp=self.smtp_role) if self.smtp_role else ServiceRoles()
        return Target(HOST, ports=ports, ca_file=ca_file, credentials=Credentials(USER, PASSWORD), service_roles=roles, timeout=5.0)


CORPUS: dict[str, Server] = {
    # -- cleartext AUTH, in forms the note's one "auth plain" does not show
    "login_334_before_tls": Server(
        replace(WELL_BEHAVED, cleartext_mechanisms=("LOGIN",)), SUBMISSION, {CLEARTEXT: "AUTH LOGIN before TLS was answered 334"}
    ),
    "plain_initial_response_checked_before_tls": Server(
        replace(WELL_BEHAVED, cleartext_initial_response=("PLAIN",)),
        SUBMISSION,
        {CLEARTEXT: "AUTH PLAIN with a decoy user and password before TLS was answered '535"},
    ),
    "login_initial_response_read_before_tls": Server(
        replace(WELL_BEHAVED, cleartext_initial_response=("LOGIN",)),
        SMTP,
        {CLEARTEXT: "AUTH LOGIN (the user name on the AUTH line) with a decoy user and password before TLS was answered '334"},
    ),
    "old_auth_form_before_tls": Server(
        replace(WELL_BEHAVED, advertise_before_tls="AUTH=LOGIN"), SMTP, {CLEARTEXT: "AUTH LOGIN is offered before TLS"}
    ),
    # -- anyone can log in, on one path only
    "login_path_takes_any_password": Server(
        replace(WELL_BEHAVED, login_any_password=True),
        SMTP,
        {LOGIN: "AUTH LOGIN with the right user with a wrong password was accepted"},
    ),
    "unknown_user_accepted": Server(replace(WELL_BEHAVED, unknown_user_ok=True), SUBMISSION, {LOGIN: "with an unknown user was accepted"}),
    "empty_password_accepted": Server(
        replace(WELL_BEHAVED, implicit_tls=True, empty_password_ok=True),
        SMTPS,
        {LOGIN: "the right user with an empty password was accepted"},
    ),
    # -- open relays in every form
    **{
        f"relays_{form}": Server(replace(MX, relay_forms=(form,)), SMTP, {RELAY: shown})
        for form, shown in (
            ("percent", "RCPT TO:<smtpsec-relay-probe%example.com@[127.0.0.1]> before TLS was accepted"),
            ("source_route", "RCPT TO:<@[127.0.0.1]:smtpsec-relay-probe@example.com> before TLS was accepted"),
            ("quoted", 'RCPT TO:<"smtpsec-relay-probe@example.com"@[127.0.0.1]> before TLS was accepted'),
            ("bang", "RCPT TO:<example.com!smtpsec-relay-probe@[127.0.0.1]> before TLS was accepted"),
        )
    },
    "relays_for_local_sender": Server(
        replace(MX, relay_local_sender=True), SMTP, {RELAY: "MAIL FROM:<postmaster@[127.0.0.1]> RCPT TO:<smtpsec-relay-probe@example.com>"}
    ),
    "refuses_only_the_null_sender": Server(
        replace(MX, refuse_null_sender=True), SMTP, {RELAY: "FROM:<smtpsec-probe@example.org> RCPT TO:<smtpsec-relay-probe@example.com>"}
    ),
    "relays_after_starttls_on_25": Server(replace(MX, relay_inside_tls=True), SMTP, {RELAY: "after STARTTLS without AUTH was accepted"}),
    "relays_after_starttls_on_587": Server(
        replace(WELL_BEHAVED, relay_inside_tls=True), SUBMISSION, {RELAY: "after STARTTLS without AUTH was accepted"}
    ),
    "relays_on_465_without_auth": Server(
        replace(WELL_BEHAVED, implicit_tls=True, relay_inside_tls=True), SMTPS, {RELAY: "inside implicit TLS without AUTH was accepted"}
    ),
    "greylists_then_relays": Server(replace(MX, greylist=True), SMTP, {RELAY: "before TLS was accepted"}),
    # -- submission in cleartext for every sender but the null one
    "submission_takes_mail_before_tls": Server(
        replace(WELL_BEHAVED, cleartext_mail=True),
        SUBMISSION,
        {"submission_requires_tls": "MAIL FROM:<smtpsec-probe@example.org> before STARTTLS and AUTH was accepted"},
    ),
    # -- the STARTTLS injection, and a safe server that answers HELP with 250 (no longer mistaken for one)
    "starttls_injection": Server(
        replace(WELL_BEHAVED, answers_pipelined=True), SUBMISSION, {"starttls_no_injection": "answered inside TLS: '503"}
    ),
    # -- a STARTTLS that is not one, and a dialogue out of step (an open relay that would pass, judged off by one)
    "fake_starttls": Server(replace(WELL_BEHAVED, starttls="fake"), SUBMISSION, {CLEARTEXT: "a fake STARTTLS"}, errors="cleartext"),
    "two_banners_open_relay": Server(
        replace(MX, double_banner=True, relay_forms=("plain",)), SMTP, errors="out of step: the server sent '220 fake.invalid"
    ),
    # -- honouring the rules unusually: all must pass
    "well_behaved": Server(WELL_BEHAVED, SUBMISSION),
    "well_behaved_smtps": Server(replace(WELL_BEHAVED, implicit_tls=True), SMTPS),
    "cram_md5_only": Server(replace(WELL_BEHAVED, mechanisms="CRAM-MD5"), SUBMISSION),
    "locks_after_one_failure": Server(replace(WELL_BEHAVED, lockout=True), SUBMISSION),
    "refuses_auth_before_tls_with_4xx": Server(replace(WELL_BEHAVED, refuse_auth_before_tls="454 4.7.0 TLS required"), SUBMISSION),
    "old_auth_form_after_tls": Server(replace(WELL_BEHAVED, old_auth_form=True), SUBMISSION),
    "mx_on_25_without_logins": Server(replace(MX, mechanisms=""), SMTP, smtp_role=ServiceRole.MX),
}  # fmt: skip


@dataclass(frozen=True)
class Verdicts:
    target: Target
    results: dict[str, CheckResult]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Verdicts]]:
    """Every check on every server of the corpus, all servers probed at once."""
    ca_file = write_ca_file(tmp_path_factory.mktemp("repertoire"))
    with ExitStack() as stack:
        fakes = {name: stack.enter_context(SmtpFake(server.behaviour, name=name)) for name, server in CORPUS.items()}

        def judge(name: str) -> Verdicts:
            server = CORPUS[name]
            target = server.target(fakes[name].port, ca_file)
            probes = Probes(target)
            results = {check.name: run_at(check, probes, where) for check in CHECKS.values() for where in check.places(target)}
            return Verdicts(target, results)

        with ThreadPoolExecutor(max_workers=8) as pool:
            yield dict(zip(CORPUS, pool.map(judge, CORPUS), strict=True))


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_guarding_check_fails_and_names_the_form(verdicts: dict[str, Verdicts], name: str) -> None:
    server, seen = CORPUS[name], verdicts[name]
    for check, result in seen.results.items():
        said = " | ".join((result.outcome.reason, *result.outcome.findings))
        if check in server.fails:
            assert result.verdict is Verdict.FAIL, f"{check}: {result.verdict.value}: {said}"
            assert server.fails[check] in said, f"{check} does not name the form: {said}"
        elif CHECKS[check].hardening:
            continue
        elif server.errors:
            assert result.verdict in (Verdict.PASS, Verdict.ERROR, Verdict.SKIP), f"{check} on {name}: {result.verdict.value}: {said}"
            assert result.verdict is not Verdict.ERROR or server.errors in said, f"{check}: {said}"
        else:
            assert result.verdict in (Verdict.PASS, Verdict.SKIP), f"{check} on {name}: {result.verdict.value}: {said}"


def test_a_dialogue_out_of_step_is_never_judged(verdicts: dict[str, Verdicts]) -> None:
    """Two banners shift every reply by one: the open relay must not pass on the reply to another command."""
    seen = verdicts["two_banners_open_relay"].results
    assert {result.verdict for result in seen.values()} == {Verdict.ERROR}


def test_an_mx_that_takes_no_logins_is_not_asked_for_them(verdicts: dict[str, Verdicts]) -> None:
    seen = verdicts["mx_on_25_without_logins"]
    assert LOGIN not in seen.results and "relay_allowed_authenticated" not in seen.results
    assert seen.results[CLEARTEXT].verdict is Verdict.PASS and seen.results[RELAY].verdict is Verdict.PASS


def test_the_corpus_stays_within_the_connection_budget(verdicts: dict[str, Verdicts]) -> None:
    """One service per fake: main, extra and the wrong-login sessions (the full matrix: three of them)."""
    for name in CORPUS:
        probes = Probes(verdicts[name].target)
        for service in probes.target.services:
            probes.sessions(service)
        assert probes.connections <= 6, f"{name}: {probes.connections} connections"


@pytest.mark.parametrize("host", ["no-such-host.invalid", "bad..name.invalid"])
def test_a_no_mail_host_never_reached_is_could_not_check_not_closed(host: str) -> None:
    """Only a refusal (or a silent drop) proves a port closed: a typo in the inventory or no route is not a pass."""
    target = Target(host, role=Role.NO_MAIL, timeout=1.0)
    result = run_at(CHECKS["no_mail_service"], Probes(target), None)
    assert result.verdict is Verdict.ERROR, result.outcome.reason
    assert result.outcome.reason.startswith(f"{host}:") and " [connect]: " in result.outcome.reason
    assert result.seconds < 0.9, "answered at once, not at the deadline"
