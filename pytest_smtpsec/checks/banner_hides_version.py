"""Hardening beside the note: the banner and EHLO greeting do not advertise the software version."""

from __future__ import annotations

import re

from ..probe import Probes, Step
from ..target import Service
from ..verdict import Outcome, passed, warned
from .base import Area, Fix, ServiceCheck

VERSION = re.compile(
    r"\b(?:sendmail|postfix|exim|exchange|qmail|opensmtpd|haraka|courier|zimbra|smtpd)\b\D{0,12}v?\d+\.\d+(?:\.\d+)*",
    re.IGNORECASE,
)
"""A product name followed closely by a version number: '220 mx ESMTP Sendmail 8.17.1.9/8.17.1.9; ...'."""


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    shown = [r for r in (session.reply(Step.BANNER), session.reply(Step.EHLO), session.reply(Step.EHLO_TLS)) if r]
    leaks = sorted({m.group(0).strip() for r in shown for m in VERSION.finditer(r.lines[0] if r.lines else "")})
    if leaks:
        return warned([f"the greeting shows a software version: {', '.join(leaks)}"], transcript=session.transcript)
    return passed("no software version in the banner or EHLO greeting")


CHECK = ServiceCheck(
    name="banner_hides_version",
    title="The banner does not advertise the software version (hardening)",
    area=Area.HARDENING,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected="a banner like '220 mail.example.org ESMTP' with no version number",
    note="Beside the note: a version in the banner tells attackers which exploits to try (a warning, not a failure).",
    fix=Fix("define(`confSMTP_LOGIN_MSG', `$j ESMTP')dnl   # instead of `$j Sendmail $v/$Z; $b'"),
    judge=judge,
    hardening=True,
)
