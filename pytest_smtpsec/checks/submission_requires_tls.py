"""Port 587 takes no mail before STARTTLS and login."""

from __future__ import annotations

from ..probe import Probes, Step
from ..target import Service
from ..verdict import Outcome, failed, passed
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    mail = session.reply(Step.MAIL_BEFORE_TLS)
    assert mail is not None
    if mail.positive:
        return failed(
            [f"MAIL FROM before STARTTLS and AUTH was accepted: '{mail}' — clients may submit without TLS"],
            transcript=session.transcript,
        )
    return passed(f"MAIL FROM before STARTTLS+AUTH refused: {mail.code} {mail.enhanced or ''}".rstrip())


CHECK = ServiceCheck(
    name="submission_requires_tls",
    title="Submission (587) refuses MAIL FROM before STARTTLS and AUTH",
    area=Area.ENCRYPTION,
    services=(Service.SUBMISSION,),
    expected="MAIL FROM before STARTTLS+AUTH on 587 is refused (e.g. '530 5.7.0 Authentication required')",
    note=(
        "Port 587: 'You may have clients using port 587, that's fine provided that you require SSL before "
        "authentication'; the submission daemon is for users who log in (M=Ea)."
    ),
    fix=Fix(
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl   # E: no ETRN, a: AUTH required\n"
        "define(`confAUTH_OPTIONS', `A p')dnl\nm4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
