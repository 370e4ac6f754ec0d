"""Ports 25 and 587 must offer STARTTLS and must not take a password before it.

The note's test, by hand: ``telnet host 587``, ``starttls`` gives ``220 2.0.0 Ready to start TLS``;
``auth plain`` before it gives ``504 5.3.3 AUTH mechanism plain not available``, and "if you get a
334 response then you support clear text authentication -- you should not".
"""

from __future__ import annotations

from ..probe import Probes, Step
from ..target import AuthPolicy, Service
from ..verdict import Outcome
from .base import Check


def judge(probes: Probes, service: Service | None) -> Outcome:
    assert service is not None
    session = probes.session(service)
    ehlo = session.reply(Step.EHLO)
    assert ehlo is not None
    insecure: list[str] = []
    cleartext_auth: list[str] = []

    offered = ehlo.extension("AUTH")
    if offered is not None:
        cleartext_auth.append(f"AUTH {offered} is offered before TLS (EHLO reply)".replace("  ", " "))
    auth = session.reply(Step.AUTH_BEFORE_TLS)
    if auth is not None and auth.intermediate:
        cleartext_auth.append(f"AUTH PLAIN before TLS was answered {auth.code}: the server takes a cleartext password")
    elif auth is not None and not auth.permanent_failure:
        insecure.append(f"AUTH PLAIN before TLS was answered '{auth}', expected a 5xx refusal")

    if ehlo.extension("STARTTLS") is None:
        insecure.append("STARTTLS is not offered (EHLO reply has no STARTTLS line)")
    else:
        starttls = session.reply(Step.STARTTLS)
        assert starttls is not None
        if starttls.code != 220:
            insecure.append(f"STARTTLS was answered '{starttls}', expected '220 2.0.0 Ready to start TLS'")
        else:
            session.handshake()
            after = session.reply(Step.EHLO_TLS)
            if after is not None and after.extension("AUTH") is None:
                insecure.append("AUTH is not offered after STARTTLS either: users cannot log in securely")

    if insecure:
        return Outcome.failed(insecure + cleartext_auth, transcript=session.transcript)
    if cleartext_auth:
        if probes.target.auth_policy is AuthPolicy.MIGRATE:
            migration = [f"tolerated by auth policy 'migrate': {cleartext_auth[0]}", *cleartext_auth[1:]]
            return Outcome.warned(migration, transcript=session.transcript)
        return Outcome.failed(cleartext_auth, transcript=session.transcript)
    return Outcome.passed("STARTTLS offered (220); AUTH refused before TLS and offered after it", transcript=session.transcript)


CHECK = Check(
    name="requires_starttls_before_auth",
    title="STARTTLS is offered and AUTH is refused until TLS is up",
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
    fix=(
        "define(`confAUTH_OPTIONS', `A p')dnl            # p: no plaintext AUTH before TLS\n"
        "define(`confSERVER_CERT', `/etc/mail/tls/smtp.pem')dnl  # + confSERVER_KEY, confCACERT: enables STARTTLS\n"
        "then: m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
