"""Users can log in once TLS is up, and nobody else can: a wrong password, an unknown user and an empty
password are refused on every password mechanism the server offers (PLAIN, LOGIN, CRAM-MD5)."""

from __future__ import annotations

from ..probe import ProbeError, Probes
from ..probe.session import AUTH_PER_CONNECTION, BAD_LOGINS, Identity, bad_logins, password_mechanisms
from ..target import Service, ServiceRole
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, CredentialsRefused, Fix, NotApplicable, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    if probes.target.credentials is None:
        raise NotApplicable("no credentials: give --smtpsec-user and $SMTPSEC_PASSWORD to check logins")
    session = tls_session(probes, service)
    ehlo = session.tls_ehlo()
    offered = ehlo.auth_mechanisms() if ehlo is not None else None
    if offered is None:
        raise NotApplicable(f"{service.value} offers no AUTH inside TLS (requires_starttls_before_auth judges that)")
    if not password_mechanisms(ehlo):
        raise ProbeError(session.address, "auth", f"offers only AUTH {' '.join(offered)}; the probe logs in with PLAIN, LOGIN or CRAM-MD5")
    right = next((a for a in session.auth if a.identity is Identity.USER), None)
    if right is None:
        raise session.error or ProbeError(session.address, "auth", "the login was never tried")

    sessions = probes.logins(service)
    bad = [a for s in sessions for a in s.auth if a.identity in BAD_LOGINS]
    transcript = "\n*  -- wrong logins, on their own connections --\n".join([session.transcript, *(s.transcript for s in sessions)])
    findings = [f"{a.form} was accepted: '{a.final}' — anyone can log in" for a in bad if a.accepted]
    if findings:
        return failed(findings, transcript=transcript)
    if not right.accepted:
        raise CredentialsRefused(
            session.address, "auth", f"the probe's own login ({right.mechanism}) was refused: '{right.final}'", transcript=transcript
        )
    expected = bad_logins(ehlo)
    if service is not probes.target.login_matrix_service():
        expected = expected[:AUTH_PER_CONNECTION]  # the full matrix runs on one service per host
    tried = {(a.mechanism, a.identity) for a in bad}
    missing = [f"AUTH {m} with {i.value}" for m, i in expected if (m, i) not in tried]
    if missing:
        broken = next((s.error for s in sessions if s.error is not None), None)
        why = broken.reason if broken is not None else "the server ended the dialogue first"
        raise ProbeError(session.address, "auth", f"not tried: {'; '.join(missing)} ({why})", transcript=transcript)
    refused = "; ".join(f"{a.form}: {a.final.code}" for a in bad)
    return passed(f"login with {right.mechanism} inside TLS: {right.final.code}; refused: {refused}", transcript=transcript)


CHECK = ServiceCheck(
    name="auth_after_tls",
    title="Login works inside TLS and nobody else can log in",
    area=Area.LOGIN,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    service_roles=(ServiceRole.SUBMISSION,),
    expected=(
        "inside TLS: AUTH with the right password gives 235; a wrong password, an unknown user and an empty password "
        "are refused (535) on every password mechanism offered"
    ),
    note=(
        "Authentication: 'Virtually all mail servers require the client application to login to send mail'; "
        "after STARTTLS 'they can safely issue an auth command'. Authentication needs saslauthd (or a sasldb)."
    ),
    fix=Fix(
        "define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl\nTRUST_AUTH_MECH(`PLAIN LOGIN')dnl\n"
        "run saslauthd (or pwcheck_method: auxprop with a sasldb);\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail",
        postfix="smtpd_sasl_auth_enable = yes with a working Cyrus or Dovecot SASL backend that checks every password",
        exim="each authenticator's server_condition must check the password (never 'yes' or an empty test)",
    ),
    judge=judge,
)
