"""A command sent in the same packet as STARTTLS must not be answered inside TLS (CVE-2011-0411 class)."""

from __future__ import annotations

from ..probe import Probes, Step
from ..target import Service
from ..verdict import Outcome, failed, passed
from .base import Area, Fix, NotApplicable, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    starttls = session.reply(Step.STARTTLS)
    if starttls is None or starttls.code != 220:
        raise NotApplicable(f"{service.value} did not start TLS, so nothing could be injected")
    session.handshake()
    injected = session.reply(Step.INJECTED)
    if injected is not None:
        return failed(
            [f"the RCPT sent in the same write as STARTTLS was answered inside TLS: '{injected}' (before the reply to EHLO)"],
            transcript=session.transcript,
        )
    return passed("the command pipelined with STARTTLS was discarded", transcript=session.transcript)


CHECK = ServiceCheck(
    name="starttls_no_injection",
    title="Commands pipelined with STARTTLS are discarded, not run inside TLS",
    area=Area.ENCRYPTION,
    services=(Service.SMTP, Service.SUBMISSION),
    expected="'STARTTLS\\r\\nRCPT TO:<...>\\r\\n' in one write: 220, then the first reply inside TLS answers our EHLO, not the RCPT",
    note=(
        "STARTTLS must protect the session that follows it: a man in the middle who can add cleartext "
        "commands that run after TLS starts can steer the 'secure' session (CVE-2011-0411)."
    ),
    fix=Fix("upgrade the MTA (sendmail, Postfix >= 2.8.4 and Exim discard input buffered before TLS); restart it"),
    judge=judge,
)
