"""Every branch of the login, relay and STARTTLS judges, from sessions built by hand (``Probes.recorded``):
no network, milliseconds each. The same judges meet real servers in the detection matrix and fakes in
``test_probe_repertoire.py``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.probe import CleartextOnTls, ProbeError, Probes, Reply, SessionRecord, Step, TlsInfo, parse_reply
from pytest_smtpsec.probe.session import AuthAttempt, Identity, Kind, Phase, RelayAttempt
from pytest_smtpsec.target import AuthPolicy, Credentials, Ports, Service, ServiceRole, ServiceRoles, Target
from pytest_smtpsec.verdict import ErrorKind, Verdict

SMTP, SUBMISSION, SMTPS = Service.SMTP, Service.SUBMISSION, Service.SMTPS
TARGET = Target("mail.test", ports=Ports(None, 587, None), credentials=Credentials("alice@mail.test", "pw"))
TLS = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", ())


def r(text: str) -> Reply:
    """A reply from its lines as the server sends them ("250-a|250 b")."""
    return parse_reply("".join(f"{line}\r\n" for line in text.split("|")).encode())


EHLO = r("250-mail.test|250-STARTTLS|250 PIPELINING")
EHLO_TLS = r("250-mail.test|250-AUTH PLAIN LOGIN|250 PIPELINING")
REFUSED = r("503 5.3.3 AUTH not available")
OK, DENIED = r("250 2.1.5 ok"), r("550 5.7.1 Relaying denied")


def auth(phase: Phase, mechanism: str, identity: Identity, first: str, final: str | None = None) -> AuthAttempt:
    return AuthAttempt(phase, mechanism, identity, r(first), r(final or first))


def relay(
    phase: Phase, rcpt: Reply | None, *, sender: str = "", mail: Reply | None = None, recipient: str = "x@example.com"
) -> RelayAttempt:
    return RelayAttempt(phase, sender, recipient, mail or r("250 2.1.0 ok"), rcpt)


CLEAR_AUTH = (auth(Phase.CLEARTEXT, "PLAIN", Identity.NONE, "503 5.3.3 no"), auth(Phase.CLEARTEXT, "LOGIN", Identity.NONE, "503 5.3.3 no"))
RIGHT = auth(Phase.STARTTLS, "PLAIN", Identity.USER, "235 2.0.0 OK")
RELAY_AFTER_AUTH = relay(Phase.AUTHENTICATED, OK, sender="alice@mail.test")


def main(service: Service = SUBMISSION, **changes: object) -> SessionRecord:
    replies = {
        Step.BANNER: r("220 mail.test ESMTP"),
        Step.EHLO: EHLO,
        Step.STARTTLS: r("220 2.0.0 Ready to start TLS"),
        Step.EHLO_TLS: EHLO_TLS,
    }
    base = SessionRecord(
        TARGET, service, replies, TLS, "C: (main)", auth=(*CLEAR_AUTH, RIGHT), relay=(relay(Phase.CLEARTEXT, DENIED), RELAY_AFTER_AUTH)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def m(step: Step, reply: str) -> SessionRecord:
    """The main session with one reply changed."""
    session = main()
    return replace(session, replies={**session.replies, step: r(reply)})


def extra(service: Service = SUBMISSION, **changes: object) -> SessionRecord:
    replies = {Step.EHLO: EHLO, Step.STARTTLS: r("220 2.0.0 Ready"), Step.EHLO_TLS: EHLO_TLS, Step.VRFY: r("252 2.5.2 no"),
               Step.VRFY_UNKNOWN: r("252 2.5.2 no"), Step.EXPN: r("502 5.7.0 no"), Step.VRFY_TLS: r("252 2.5.2 no")}  # fmt: skip
    base = SessionRecord(
        TARGET, service, replies, TLS, "C: (extra)", kind=Kind.EXTRA,
        auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.DECOY, "503 5.3.3 no"),), relay=(relay(Phase.STARTTLS, DENIED),),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def logins(start: int, *attempts: AuthAttempt, service: Service = SUBMISSION) -> SessionRecord:
    return SessionRecord(TARGET, service, {Step.EHLO_TLS: EHLO_TLS}, TLS, "C: (logins)", kind=Kind.LOGINS, first_login=start, auth=attempts)


def bad(mechanism: str, identity: Identity, reply: str = "535 5.7.8 failed") -> AuthAttempt:
    return auth(Phase.STARTTLS, mechanism, identity, reply)


ALL_BAD = (
    logins(0, bad("PLAIN", Identity.WRONG_PASSWORD), bad("LOGIN", Identity.WRONG_PASSWORD)),
    logins(2, bad("PLAIN", Identity.UNKNOWN_USER), bad("LOGIN", Identity.UNKNOWN_USER)),
    logins(4, bad("PLAIN", Identity.EMPTY_PASSWORD), bad("LOGIN", Identity.EMPTY_PASSWORD)),
)


def judge(check: str, *sessions: SessionRecord, target: Target = TARGET, service: Service = SUBMISSION) -> tuple[Verdict, str]:
    sessions = tuple(replace(s, target=target) for s in sessions)
    result = run_at(CHECKS[check], Probes.recorded(target, sessions), service)
    return result.verdict, " | ".join((result.outcome.reason, *result.outcome.findings))


def secure(*changed: SessionRecord) -> tuple[SessionRecord, ...]:
    """The secure submission port's sessions, with some replaced (same kind and first login)."""
    sessions = {(s.kind, s.first_login): s for s in (main(), extra(), *ALL_BAD)}
    sessions.update({(s.kind, s.first_login): s for s in changed})
    return tuple(sessions.values())


# -- requires_starttls_before_auth -----------------------------------------------------------------

CLEARTEXT = "requires_starttls_before_auth"


@pytest.mark.parametrize(
    ("sessions", "verdict", "shown"),
    [
        (secure(), Verdict.PASS, "AUTH refused before TLS (LOGIN, PLAIN)"),
        (secure(m(Step.EHLO, "250-mail.test|250-STARTTLS|250 AUTH PLAIN")), Verdict.FAIL, "AUTH PLAIN is offered before TLS"),
        (secure(m(Step.EHLO, "250-mail.test|250-STARTTLS|250 AUTH=LOGIN")), Verdict.FAIL, "AUTH LOGIN is offered before TLS"),
        (secure(m(Step.EHLO, "250-mail.test|250-STARTTLS|250 AUTH CRAM-MD5")), Verdict.PASS, "STARTTLS offered"),
        (secure(main(auth=(auth(Phase.CLEARTEXT, "LOGIN", Identity.NONE, "334 VXNlcm5hbWU6", "501 aborted"), RIGHT))), Verdict.FAIL,
         "AUTH LOGIN before TLS was answered 334"),
        (secure(extra(auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.DECOY, "535 5.7.8 failed"),))), Verdict.FAIL,
         "decoy user and password before TLS was answered '535"),
        (secure(extra(auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.DECOY, "500 5.7.8 credentials invalid"),))), Verdict.FAIL, "decoy"),
        (secure(extra(auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.DECOY, "454 4.7.0 TLS required"),))), Verdict.PASS, "STARTTLS offered"),
        (secure(main(auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.NONE, "454 4.7.0 TLS required"), RIGHT))), Verdict.PASS, "STARTTLS"),
        (secure(m(Step.EHLO, "554 5.0.0 no")), Verdict.FAIL, "EHLO was refused"),
        (secure(m(Step.EHLO, "250-mail.test|250 PIPELINING")), Verdict.FAIL, "STARTTLS is not offered"),
        (secure(m(Step.STARTTLS, "454 4.7.0 TLS not available")), Verdict.FAIL, "STARTTLS was answered"),
        (secure(m(Step.EHLO_TLS, "250-mail.test|250 PIPELINING")), Verdict.FAIL, "AUTH is not offered after STARTTLS"),
        (secure(main(tls=None, error=CleartextOnTls("mail.test:587", "starttls", b"500 what?"))), Verdict.FAIL, "a fake STARTTLS"),
        (secure(main(tls=None, error=ProbeError("mail.test:587", "starttls", "timed out"))), Verdict.ERROR, "timed out"),
    ],
    ids=["secure", "offered", "offered-old-form", "cram-only-offered", "login-334", "decoy-535", "decoy-5.7.8", "decoy-454",
         "bare-4xx", "ehlo-refused", "no-starttls", "starttls-refused", "no-auth-after-tls", "fake-starttls", "tls-broke"],
)  # fmt: skip
def test_cleartext_auth(sessions: tuple[SessionRecord, ...], verdict: Verdict, shown: str) -> None:
    seen, said = judge(CLEARTEXT, *sessions)
    assert (seen, shown in said) == (verdict, True), said


def test_cleartext_auth_warns_in_migration_and_an_mx_needs_no_auth_after_tls() -> None:
    migrating = replace(TARGET, auth_policy=AuthPolicy.MIGRATE)
    sessions = secure(main(auth=(auth(Phase.CLEARTEXT, "PLAIN", Identity.NONE, "334 ", "501 aborted"), RIGHT)))
    assert judge(CLEARTEXT, *sessions, target=migrating)[0] is Verdict.WARN
    mx = replace(TARGET, ports=Ports(25, None, None), service_roles=ServiceRoles(smtp=ServiceRole.MX))
    no_auth = r("250-mail.test|250 PIPELINING")
    sessions = (main(SMTP, replies={**main().replies, Step.EHLO_TLS: no_auth}), extra(SMTP))
    assert judge(CLEARTEXT, *sessions, target=mx, service=SMTP)[0] is Verdict.PASS


# -- auth_after_tls --------------------------------------------------------------------------------

LOGIN = "auth_after_tls"


@pytest.mark.parametrize(
    ("sessions", "verdict", "shown"),
    [
        (secure(), Verdict.PASS, "login with PLAIN inside TLS: 235; refused:"),
        (secure(logins(2, bad("PLAIN", Identity.UNKNOWN_USER), bad("LOGIN", Identity.UNKNOWN_USER, "235 2.0.0 OK"))), Verdict.FAIL,
         "AUTH LOGIN with an unknown user was accepted"),
        (secure(logins(4, bad("PLAIN", Identity.EMPTY_PASSWORD, "235 ok"))), Verdict.FAIL, "empty password was accepted"),
        (secure(logins(0, bad("PLAIN", Identity.WRONG_PASSWORD), bad("LOGIN", Identity.WRONG_PASSWORD, "454 4.7.0 locked"))), Verdict.PASS,
         "refused"),
        (secure(main(auth=(*CLEAR_AUTH, auth(Phase.STARTTLS, "PLAIN", Identity.USER, "535 5.7.8 no")))), Verdict.ERROR,
         "the probe's own login (PLAIN) was refused"),
        (secure(replace(logins(4), error=ProbeError("mail.test:587", "tls", "reset"))), Verdict.ERROR,
         "not tried: AUTH PLAIN with the right user with an empty password"),
        (secure(m(Step.EHLO_TLS, "250-mail.test|250 AUTH SCRAM-SHA-256")), Verdict.ERROR,
         "offers only AUTH SCRAM-SHA-256"),
        (secure(m(Step.EHLO_TLS, "250-mail.test|250 PIPELINING")), Verdict.SKIP, "offers no AUTH"),
    ],
    ids=["secure", "unknown-user", "empty-password", "refusal-4xx", "own-login-refused", "matrix-incomplete", "scram-only", "no-auth"],
)  # fmt: skip
def test_logins(sessions: tuple[SessionRecord, ...], verdict: Verdict, shown: str) -> None:
    seen, said = judge(LOGIN, *sessions)
    assert (seen, shown in said) == (verdict, True), said


def test_a_refused_own_login_is_about_the_credentials() -> None:
    sessions = secure(main(auth=(*CLEAR_AUTH, auth(Phase.STARTTLS, "PLAIN", Identity.USER, "535 5.7.8 no"))))
    result = run_at(CHECKS[LOGIN], Probes.recorded(TARGET, sessions), SUBMISSION)
    assert result.outcome.error is ErrorKind.CREDENTIALS


def test_logins_without_credentials_are_skipped() -> None:
    nobody = replace(TARGET, credentials=None)
    assert judge(LOGIN, *secure(), target=nobody)[0] is Verdict.SKIP


def test_other_services_need_only_the_wrong_passwords() -> None:
    """The whole matrix runs on one service per host; elsewhere the first two wrong logins suffice."""
    both = replace(TARGET, ports=Ports(25, 587, None))
    smtp = (main(SMTP), extra(SMTP), logins(0, bad("PLAIN", Identity.WRONG_PASSWORD), bad("LOGIN", Identity.WRONG_PASSWORD), service=SMTP))
    assert both.login_matrix_service() is SUBMISSION
    assert judge(LOGIN, *smtp, target=both, service=SMTP)[0] is Verdict.PASS


# -- relaying --------------------------------------------------------------------------------------

RELAY = "relay_denied_unauthenticated"


@pytest.mark.parametrize(
    ("sessions", "verdict", "shown"),
    [
        (secure(), Verdict.PASS, "2 relay attempts refused (before TLS, after STARTTLS without AUTH)"),
        (secure(extra(relay=(relay(Phase.STARTTLS, OK, recipient="x%example.com@mail.test"),))), Verdict.FAIL,
         "RCPT TO:<x%example.com@mail.test> after STARTTLS without AUTH was accepted"),
        (secure(main(relay=(relay(Phase.CLEARTEXT, r("450 4.2.0 greylisted")),))), Verdict.WARN, "only refused for now, twice"),
        (secure(main(relay=(relay(Phase.CLEARTEXT, None, mail=r("451 4.1.8 try later")),))), Verdict.WARN, "only refused for now"),
        (secure(main(relay=(relay(Phase.CLEARTEXT, None, mail=r("550 5.7.1 no")),))), Verdict.PASS, "relay attempts refused"),
        ((main(relay=(), error=ProbeError("mail.test:587", "ehlo", "EHLO refused")), extra(relay=())), Verdict.ERROR, "EHLO refused"),
    ],
    ids=["secure", "percent-after-starttls", "greylisted", "deferred-at-mail", "refused-at-mail", "never-asked"],
)  # fmt: skip
def test_relay_denied(sessions: tuple[SessionRecord, ...], verdict: Verdict, shown: str) -> None:
    seen, said = judge(RELAY, *sessions)
    assert (seen, shown in said) == (verdict, True), said


def test_relay_on_465_reads_the_main_session_only() -> None:
    smtps = replace(TARGET, ports=Ports(None, None, 465))
    session = main(SMTPS, relay=(relay(Phase.IMPLICIT_TLS, OK, sender="postmaster@mail.test"),))
    verdict, said = judge(RELAY, session, target=smtps, service=SMTPS)
    assert verdict is Verdict.FAIL and "inside implicit TLS without AUTH was accepted" in said


@pytest.mark.parametrize(
    ("attempt", "verdict"),
    [(RELAY_AFTER_AUTH, Verdict.PASS), (relay(Phase.AUTHENTICATED, DENIED, sender="alice@mail.test"), Verdict.FAIL)],
    ids=["relays", "refuses"],
)
def test_relay_after_login(attempt: RelayAttempt, verdict: Verdict) -> None:
    assert judge("relay_allowed_authenticated", *secure(main(relay=(attempt,))))[0] is verdict


def test_relay_after_a_failed_login_is_not_judged() -> None:
    sessions = secure(main(auth=(*CLEAR_AUTH, auth(Phase.STARTTLS, "PLAIN", Identity.USER, "535 no")), relay=()))
    assert judge("relay_allowed_authenticated", *sessions)[0] is Verdict.SKIP


@pytest.mark.parametrize(
    ("mail", "verdict"),
    [(r("530 5.7.0 Authentication required"), Verdict.PASS), (r("250 2.1.0 ok"), Verdict.FAIL)],
    ids=["refused", "taken"],
)
def test_submission_before_tls(mail: Reply, verdict: Verdict) -> None:
    attempts = (relay(Phase.CLEARTEXT, None, mail=r("530 5.7.0 no")), relay(Phase.CLEARTEXT, DENIED, sender="x@example.org", mail=mail))
    assert judge("submission_requires_tls", main(relay=attempts))[0] is verdict


# -- the STARTTLS injection, VRFY/EXPN -------------------------------------------------------------


def test_injection() -> None:
    injected = m(Step.INJECTED, "503 5.5.1 Need MAIL before RCPT")
    assert judge("starttls_no_injection", injected)[0] is Verdict.FAIL
    assert judge("starttls_no_injection", main())[0] is Verdict.PASS
    refused = m(Step.STARTTLS, "454 4.7.0 no TLS")
    assert judge("starttls_no_injection", refused)[0] is Verdict.SKIP


@pytest.mark.parametrize(
    ("step", "reply", "verdict"),
    [
        (Step.VRFY, "252 2.5.2 no", Verdict.PASS),
        (Step.VRFY, "250 2.1.5 <postmaster@mail.test>", Verdict.WARN),
        (Step.VRFY_UNKNOWN, "550 5.1.1 unknown", Verdict.WARN),  # 252 for one, 550 for the other: tells users apart
        (Step.EXPN, "250 2.1.5 <root@mail.test>", Verdict.WARN),
        (Step.VRFY_TLS, "250 2.1.5 <postmaster@mail.test>", Verdict.WARN),
    ],
    ids=["secure", "vrfy", "tells-apart", "expn", "vrfy-inside-tls"],
)
def test_vrfy_expn_hardening_warns_by_default(step: Step, reply: str, verdict: Verdict) -> None:
    session = extra(replies={**extra().replies, step: r(reply)})
    assert judge("vrfy_expn_disabled", main(), session)[0] is verdict
