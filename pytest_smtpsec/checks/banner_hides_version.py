"""Hardening beside the note: the banner, EHLO and HELP texts do not advertise the software version.

Every line of every reply the probe session recorded is read (a version often sits on banner line 2, in
the EHLO greeting, or in HELP, which the reference sendmail answers with "This is sendmail version ...").
"""

from __future__ import annotations

import re

from ..probe import Probes
from ..target import Service
from ..verdict import Outcome, passed, warned
from .base import Area, Fix, ServiceCheck

PRODUCTS = (
    r"sendmail|postfix|exim|qmail|opensmtpd|smtpd|haraka|courier|zimbra|exchange|microsoft esmtp mail service|"
    r"microsoft smtp server|mdaemon|kerio connect|icewarp|communigate pro|hmailserver|mailenable|axigen|smartermail|"
    r"domino|james|xmail|merak|surgemail|ecelerity|ironport|mimecast|postfix-\w+"
)
VERSION = re.compile(
    rf"\b(?:{PRODUCTS})\b[^\d\r\n]{{0,16}}?v?\d+\.\d+(?:[.\-]\w+)*|\bversion\b[:\s]{{0,3}}v?\d+\.\d+(?:\.\w+)*",
    re.IGNORECASE,
)
"""A known product closely followed by a version ('ESMTP Sendmail 8.17.1.9/8.17.1.9', 'Microsoft ESMTP MAIL
Service, Version: 10.0.17763.1', 'Exim 4.96', 'Haraka/2.8.28'), or the word 'version' before a number."""


def leaks(lines: list[str]) -> list[str]:
    """The version disclosures in ``lines``, each once, in order of appearance."""
    found = (m.group(0).strip() for line in lines for m in VERSION.finditer(line))
    return list(dict.fromkeys(found))


def judge(probes: Probes, service: Service) -> Outcome:
    # the main session; on 25/587 the extra one too, which asks HELP
    sessions = [probes.session(service)] if service.implicit_tls else [probes.session(service), probes.extra(service)]
    replies = [(step, reply) for session in sessions for step, reply in session.replies.items()]
    transcript = "\n*  -- the extra session --\n".join(s.transcript for s in sessions)
    shown = leaks([line for _, reply in replies for line in reply.lines])
    if shown:
        return warned([f"the server's replies show a software version: {', '.join(shown)}"], transcript=transcript)
    broken = next((s.error for s in sessions if s.error is not None), None)
    if broken is not None:
        raise broken  # a session cut short has not shown everything it would
    read = ", ".join(dict.fromkeys(step.value for step, _ in replies))
    return passed(f"no software version in any reply ({read})")


CHECK = ServiceCheck(
    name="banner_hides_version",
    title="The banner does not advertise the software version (hardening)",
    area=Area.HARDENING,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected="a banner like '220 mail.example.org ESMTP'; no version number in any line of the banner, EHLO or HELP",
    note="Beside the note: a version in the banner tells attackers which exploits to try (a warning, not a failure).",
    fix=Fix(
        "define(`confSMTP_LOGIN_MSG', `$j ESMTP')dnl   # instead of `$j Sendmail $v/$Z; $b'\n"
        "define(`HELP_FILE', `/etc/mail/helpfile')dnl  # a helpfile that starts with '#vers 2' and has no $v\n"
        "(without a helpfile, or one without '#vers 2', HELP shows the version all the same)",
        postfix="smtpd_banner = $myhostname ESMTP",
        exim="smtp_banner = $smtp_active_hostname ESMTP",
    ),
    judge=judge,
    hardening=True,
)
