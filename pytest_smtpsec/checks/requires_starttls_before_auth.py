"""Ports 25 and 587 must offer STARTTLS and must not take a password before it.

The note's test, by hand: ``telnet host 587``, ``starttls`` gives ``220 2.0.0 Ready to start TLS``;
``auth plain`` before it gives ``504 5.3.3 AUTH mechanism plain not available``, and "if you get a
334 response then you support clear text authentication -- you should not".
"""

from __future__ import annotations

from ..probe import CleartextOnTls, ProbeError, Probes, Reply, SessionRecord, Step
from ..probe.session import AuthAttempt, Identity, Phase, carries_password
from ..target import AuthPolicy, Service
from ..verdict import Fact, Outcome, failed, passed, warned
from .base import Area, Fix, ServiceCheck

TOOK_CREDENTIALS = (235, 334, 535)
"""Replies to a decoy login that show the server read it: accepted, asked for more, or checked it and failed
(a 454 may be "temporary authentication failure" or "TLS required": not a proof either way)."""


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    ehlo = session.reply(Step.EHLO)
    assert ehlo is not None
    cleartext_auth = cleartext_auth_findings(probes, service)
    migrating = probes.target.auth_policy is AuthPolicy.MIGRATE
    insecure: list[str] = []
    try:
        insecure += _starttls_findings(session, ehlo)
    except ProbeError as exc:
        if migrating or not cleartext_auth:
            raise  # nothing seen that fails the check: could not check
        insecure.append(f"STARTTLS could not be checked: {exc.reason}")

    transcript = _transcripts(probes, service, decoy=any("decoy" in f for f in cleartext_auth))
    if insecure:
        return failed(insecure + cleartext_auth, transcript=transcript)
    if cleartext_auth and migrating:
        return warned([_migration_count(probes), *cleartext_auth], transcript=transcript, facts=frozenset({Fact.CLEARTEXT_AUTH_TOLERATED}))
    if cleartext_auth:
        return failed(cleartext_auth, transcript=transcript)
    tried = sorted({a.mechanism for a in _cleartext_attempts(probes, service)})
    return passed(
        f"STARTTLS offered (220); AUTH refused before TLS ({', '.join(tried) or 'not offered'}) and offered after it",
        transcript=transcript,
    )


def cleartext_auth_findings(probes: Probes, service: Service) -> list[str]:
    """Every way this service would take a password before TLS: a password mechanism offered in EHLO
    (``AUTH`` or the old ``AUTH=`` form), a 334 to a bare ``AUTH <mechanism>``, or a decoy login read."""
    found = []
    ehlo = probes.session(service).reply(Step.EHLO)
    offered = ehlo.auth_mechanisms() if ehlo is not None else None
    if offered and any(carries_password(m) for m in offered):
        found.append(f"AUTH {' '.join(offered)} is offered before TLS (EHLO reply)")
    for attempt in _cleartext_attempts(probes, service):
        if attempt.identity is Identity.DECOY and (attempt.first.code in TOOK_CREDENTIALS or attempt.first.enhanced == "5.7.8"):
            found.append(f"{attempt.form} before TLS was answered '{attempt.first}': the server reads passwords sent in the clear")
        elif attempt.first.intermediate and carries_password(attempt.mechanism):
            found.append(f"AUTH {attempt.mechanism} before TLS was answered {attempt.first.code}: the server takes a cleartext password")
        elif attempt.accepted:
            found.append(f"{attempt.form} before TLS was accepted: '{attempt.final}'")
    return found


def _cleartext_attempts(probes: Probes, service: Service) -> list[AuthAttempt]:
    attempts = []
    for session in (probes.session(service), probes.extra(service)):
        attempts += [a for a in session.auth if a.phase is Phase.CLEARTEXT]
    return attempts


def _transcripts(probes: Probes, service: Service, *, decoy: bool) -> str:
    """The main session; the extra one too where its decoy login is part of the evidence."""
    main = probes.session(service).transcript
    return main + "\n*  -- the extra session (decoy login) --\n" + probes.extra(service).transcript if decoy else main


def _migration_count(probes: Probes) -> str:
    """The migration's progress: on how many of the host's cleartext ports AUTH before TLS still works."""
    ports = [s for s in probes.target.services if not s.implicit_tls]
    allowing = []
    for service in ports:
        try:
            if cleartext_auth_findings(probes, service):
                allowing.append(service.value)
        except ProbeError:
            continue
    return (
        f"tolerated by auth policy 'migrate' (secure_auth=no): cleartext AUTH still allowed on "
        f"{len(allowing)} of {len(ports)} ports ({', '.join(allowing)}); set the policy to 'enforce' when users have moved"
    )


def _starttls_findings(session: SessionRecord, ehlo: Reply) -> list[str]:
    """What is wrong with STARTTLS and the view after it (raises ProbeError where the session broke)."""
    if not ehlo.positive:
        return [f"EHLO was refused: '{ehlo}' — without ESMTP there is no STARTTLS"]
    if ehlo.extension("STARTTLS") is None:
        return ["STARTTLS is not offered (EHLO reply has no STARTTLS line)"]
    starttls = session.reply(Step.STARTTLS)
    assert starttls is not None
    if starttls.code != 220:
        return [f"STARTTLS was answered '{starttls}', expected '220 2.0.0 Ready to start TLS'"]
    try:
        session.handshake()
    except CleartextOnTls as exc:
        return [f"STARTTLS was answered 220, then the server went on in cleartext ({exc.reason}): a fake STARTTLS"]
    after = session.reply(Step.EHLO_TLS)
    if after is not None and after.auth_mechanisms() is None and session.target.takes_logins(session.service):
        return ["AUTH is not offered after STARTTLS either: users cannot log in securely"]
    return []


CHECK = ServiceCheck(
    name="requires_starttls_before_auth",
    title="STARTTLS is offered and AUTH is refused until TLS is up",
    area=Area.ENCRYPTION,
    services=(Service.SMTP, Service.SUBMISSION),
    expected=(
        "cleartext banner; EHLO lists STARTTLS and no password AUTH mechanism; 'AUTH PLAIN', 'AUTH LOGIN' and a decoy's "
        "'AUTH PLAIN <initial response>' and 'AUTH LOGIN <user>' are refused (e.g. '504 5.3.3 AUTH mechanism plain "
        "not available'); STARTTLS answers "
        "'220 2.0.0 Ready to start TLS'; after TLS, EHLO lists AUTH"
    ),
    note=(
        "Ports 25 (smtp) and 587 (submission): 'mail servers should be configured to require SSL when "
        "users authenticate'; a 334 to 'auth plain' before STARTTLS means clear text authentication "
        "(secure_auth=yes). In migration (secure_auth=no) cleartext AUTH is tolerated for a while. "
        "Where users do not log in (an MX: --smtpsec-smtp-role=mx), no AUTH after STARTTLS is right too."
    ),
    fix=Fix(
        "define(`confAUTH_OPTIONS', `A p')dnl            # p: no plaintext AUTH before TLS\n"
        "define(`confSERVER_CERT', `/etc/mail/tls/smtp.pem')dnl  # + confSERVER_KEY, confCACERT: enables STARTTLS\n"
        "then: m4 sendmail.mc > sendmail.cf && systemctl restart sendmail",
        postfix="smtpd_tls_security_level = may (25) / encrypt (587); smtpd_tls_auth_only = yes; postfix reload",
        exim="tls_advertise_hosts = *; auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}; "
        "server_advertise_condition in each authenticator likewise",
    ),
    judge=judge,
)
