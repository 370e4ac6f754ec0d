"""Users who have logged in may send mail through the server."""

from __future__ import annotations

from ..probe import Probes, Step
from ..probe.session import RELAY_PROBE_RECIPIENT
from ..target import Service, ServiceRole
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, Fix, NotApplicable, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    if probes.target.credentials is None:
        raise NotApplicable("no credentials: give --smtpsec-user and $SMTPSEC_PASSWORD to check relaying after login")
    session = tls_session(probes, service)
    auth = session.reply(Step.AUTH)
    if auth is None or not auth.positive:
        raise NotApplicable(f"the login did not succeed ({auth or 'no AUTH offered'}); auth_after_tls judges that")
    mail, rcpt = session.reply(Step.MAIL_AUTH), session.reply(Step.RCPT_AUTH)
    refused = rcpt or mail
    if rcpt is not None and rcpt.positive:
        return passed(f"RCPT to an outside domain after login: {rcpt.code}", transcript=session.transcript)
    return failed([f"after login, relaying to <{RELAY_PROBE_RECIPIENT}> was refused: '{refused}'"], transcript=session.transcript)


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
