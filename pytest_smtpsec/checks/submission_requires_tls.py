"""Port 587 takes no mail before STARTTLS and login."""

from __future__ import annotations

from ..probe import ProbeError, Probes
from ..probe.session import Phase
from ..target import Service
from ..verdict import Outcome, failed, passed
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    attempts = [a for a in session.relay if a.phase is Phase.CLEARTEXT]
    if not attempts:  # the session broke before its first MAIL FROM
        raise session.error or ProbeError(session.address, "relay", "no MAIL FROM could be sent")
    taken = [f"{a.form.split(' RCPT')[0]} before STARTTLS and AUTH was accepted: '{a.mail}'" for a in attempts if a.mail.positive]
    if taken:
        return failed([*taken, "clients may submit mail without TLS or login"], transcript=session.transcript)
    senders = ", ".join(f"<{a.sender}>" for a in attempts)
    return passed(f"MAIL FROM before STARTTLS+AUTH refused for {senders}: {attempts[0].mail.code}", transcript=session.transcript)


CHECK = ServiceCheck(
    name="submission_requires_tls",
    title="Submission (587) refuses MAIL FROM before STARTTLS and AUTH",
    area=Area.ENCRYPTION,
    services=(Service.SUBMISSION,),
    expected="MAIL FROM before STARTTLS+AUTH on 587 is refused for every sender (e.g. '530 5.7.0 Authentication required')",
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
