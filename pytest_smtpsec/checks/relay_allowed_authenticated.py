"""Users who have logged in may send mail through the server."""

from __future__ import annotations

from ..probe import Probes
from ..probe.session import Identity, Phase
from ..target import Service, ServiceRole
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, Fix, NotApplicable, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    if probes.target.credentials is None:
        raise NotApplicable("no credentials: give --smtpsec-user and $SMTPSEC_PASSWORD to check relaying after login")
    session = tls_session(probes, service)
    login = next((a for a in session.auth if a.identity is Identity.USER), None)
    if login is None or not login.accepted:
        raise NotApplicable(f"the login did not succeed ({login.final if login else 'not tried'}); auth_after_tls judges that")
    attempt = next((a for a in session.relay if a.phase is Phase.AUTHENTICATED), None)
    if attempt is None:
        raise session.error or NotApplicable("no relay attempt after login")
    if attempt.relayed:
        return passed(f"{attempt.form} after login: {attempt.rcpt.code if attempt.rcpt else ''}", transcript=session.transcript)
    return failed([f"after login, {attempt.form} was refused: '{attempt.rcpt or attempt.mail}'"], transcript=session.transcript)


CHECK = ServiceCheck(
    name="relay_allowed_authenticated",
    title="After login, mail to outside domains is accepted",
    area=Area.RELAY,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    service_roles=(ServiceRole.SUBMISSION,),
    expected="after TLS and AUTH, RCPT TO an outside address gets 250 (then RSET: no mail is sent)",
    note=(
        "smtp_auth=yes: it 'configures sendmail to allow those who have authenticated to send mail through "
        "the server' -- otherwise users cannot send mail at all."
    ),
    fix=Fix(
        "TRUST_AUTH_MECH(`PLAIN LOGIN')dnl     # authenticated users may relay\nm4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
