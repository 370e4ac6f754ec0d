"""Ports 25 and 587 must offer STARTTLS and must not take a password before it.

The note's test, by hand: ``telnet host 587``, ``starttls`` gives ``220 2.0.0 Ready to start TLS``;
``auth plain`` before it gives ``504 5.3.3 AUTH mechanism plain not available``, and "if you get a
334 response then you support clear text authentication -- you should not".
"""

from __future__ import annotations

from ..probe import ProbeError, Probes, Reply, SessionRecord, Step
from ..target import AuthPolicy, Service
from ..verdict import Fact, Outcome, failed, passed, warned
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    ehlo = session.reply(Step.EHLO)
    assert ehlo is not None
    insecure: list[str] = []

    cleartext_auth = _cleartext_auth(session)
    auth = session.reply(Step.AUTH_BEFORE_TLS)
    if auth is not None and not auth.intermediate and not auth.permanent_failure:
        insecure.append(f"AUTH PLAIN before TLS was answered '{auth}', expected a 5xx refusal")
    migrating = probes.target.auth_policy is AuthPolicy.MIGRATE

    try:
        insecure += _starttls_findings(session, ehlo)
    except ProbeError as exc:
        if not insecure and (migrating or not cleartext_auth):
            raise  # nothing seen that fails the check: could not check
        insecure.append(f"STARTTLS could not be checked: {exc.reason}")

    if insecure:
        return failed(insecure + cleartext_auth, transcript=session.transcript)
    if cleartext_auth and migrating:
        return warned(
            [_migration_count(probes), *cleartext_auth], transcript=session.transcript, facts=frozenset({Fact.CLEARTEXT_AUTH_TOLERATED})
        )
    if cleartext_auth:
        return failed(cleartext_auth, transcript=session.transcript)
    return passed("STARTTLS offered (220); AUTH refused before TLS and offered after it", transcript=session.transcript)


def _cleartext_auth(session: SessionRecord) -> list[str]:
    """How this session would take a password before TLS: AUTH advertised, or a 334 to ``AUTH PLAIN``."""
    found = []
    ehlo, auth = session.reply(Step.EHLO), session.reply(Step.AUTH_BEFORE_TLS)
    if ehlo is not None and (offered := ehlo.extension("AUTH")) is not None:
        found.append(f"AUTH {offered} is offered before TLS (EHLO reply)".replace("  ", " "))
    if auth is not None and auth.intermediate:
        found.append(f"AUTH PLAIN before TLS was answered {auth.code}: the server takes a cleartext password")
    return found


def _migration_count(probes: Probes) -> str:
    """The migration's progress: on how many of the host's cleartext ports AUTH before TLS still works."""
    ports = [s for s in probes.target.services if not s.implicit_tls]
    allowing = []
    for service in ports:
        try:
            if _cleartext_auth(probes.session(service)):
                allowing.append(service.value)
        except ProbeError:
            continue
    return (
        f"tolerated by auth policy 'migrate' (secure_auth=no): cleartext AUTH still allowed on "
        f"{len(allowing)} of {len(ports)} ports ({', '.join(allowing)}); set the policy to 'enforce' when users have moved"
    )


def _starttls_findings(session: SessionRecord, ehlo: Reply) -> list[str]:
    """What is wrong with STARTTLS and the view after it (raises ProbeError where the session broke)."""
    if ehlo.extension("STARTTLS") is None:
        return ["STARTTLS is not offered (EHLO reply has no STARTTLS line)"]
    starttls = session.reply(Step.STARTTLS)
    assert starttls is not None
    if starttls.code != 220:
        return [f"STARTTLS was answered '{starttls}', expected '220 2.0.0 Ready to start TLS'"]
    session.handshake()
    after = session.reply(Step.EHLO_TLS)
    if after is not None and after.extension("AUTH") is None and session.target.takes_logins(session.service):
        return ["AUTH is not offered after STARTTLS either: users cannot log in securely"]
    return []


CHECK = ServiceCheck(
    name="requires_starttls_before_auth",
    title="STARTTLS is offered and AUTH is refused until TLS is up",
    area=Area.ENCRYPTION,
    services=(Service.SMTP, Service.SUBMISSION),
    expected=(
        "cleartext banner; EHLO lists STARTTLS and no AUTH; 'AUTH PLAIN' is refused with 5xx "
        "(e.g. '504 5.3.3 AUTH mechanism plain not available'); STARTTLS answers "
        "'220 2.0.0 Ready to start TLS'; after TLS, EHLO lists AUTH"
    ),
    note=(
        "Ports 25 (smtp) and 587 (submission): 'mail servers should be configured to require SSL when "
        "users authenticate'; a 334 to 'auth plain' before STARTTLS means clear text authentication "
        "(secure_auth=yes). In migration (secure_auth=no) cleartext AUTH is tolerated for a while."
    ),
    fix=Fix(
        "define(`confAUTH_OPTIONS', `A p')dnl            # p: no plaintext AUTH before TLS\n"
        "define(`confSERVER_CERT', `/etc/mail/tls/smtp.pem')dnl  # + confSERVER_KEY, confCACERT: enables STARTTLS\n"
        "then: m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
