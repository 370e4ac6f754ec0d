"""Nobody who has not logged in may relay mail to outside domains (no open relay)."""

from __future__ import annotations

from ..probe import Probes, Step
from ..probe.session import RELAY_PROBE_RECIPIENT
from ..target import Service
from ..verdict import Outcome, failed, passed, warned
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    mail = session.reply(Step.MAIL_BEFORE_TLS)
    assert mail is not None
    if not mail.positive:
        return passed(f"refused already at MAIL FROM: {mail.code}", transcript=session.transcript)
    rcpt = session.reply(Step.RCPT_BEFORE_TLS)
    assert rcpt is not None
    if rcpt.positive:
        return failed(
            [f"RCPT TO:<{RELAY_PROBE_RECIPIENT}> without login was accepted: '{rcpt}' — an open relay"],
            transcript=session.transcript,
        )
    if not rcpt.permanent_failure:
        return warned([f"relaying was only refused for now: '{rcpt}' (a 4xx may be greylisting)"], transcript=session.transcript)
    return passed(f"relaying refused: {rcpt.code} {rcpt.enhanced or ''}".rstrip(), transcript=session.transcript)


CHECK = ServiceCheck(
    name="relay_denied_unauthenticated",
    title="Without login, mail to outside domains is refused",
    area=Area.RELAY,
    services=(Service.SMTP, Service.SUBMISSION),
    expected="MAIL FROM/RCPT TO an outside address without AUTH is refused (e.g. '550 5.7.1 Relaying denied'); DATA is never sent",
    note=(
        "smtp_auth: sendmail allows 'those who have authenticated to send mail through the server'; "
        "login 'helps to prevent spam and forgeries' only if nobody else may relay."
    ),
    fix=Fix(
        "remove FEATURE(`promiscuous_relay') and broad entries from /etc/mail/access and relay-domains;\n"
        "keep the default relay rules, m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
