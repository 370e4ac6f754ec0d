"""Hardening beside the note: VRFY and EXPN must not tell strangers which users exist."""

from __future__ import annotations

from ..probe import Probes, Step
from ..target import Service
from ..verdict import Outcome, failed, passed
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.extra(service)  # VRFY and EXPN are asked in the extra session, before TLS and inside it
    findings = []
    for step in (Step.VRFY, Step.EXPN):
        reply = session.reply(step)
        if reply is not None and reply.code in (250, 251):
            findings.append(f"{step.value.upper()} postmaster disclosed a user: '{reply}'")
    inside = session.replies.get(Step.VRFY_TLS)
    if inside is not None and inside.code in (250, 251):
        findings.append(f"VRFY postmaster inside TLS disclosed a user: '{inside}'")
    known, unknown = session.reply(Step.VRFY), session.reply(Step.VRFY_UNKNOWN)
    if not findings and known and unknown and known.code // 100 != unknown.code // 100:
        findings.append(f"VRFY tells users apart: postmaster got '{known}', a missing user '{unknown}'")
    if findings:
        return failed(findings, transcript=session.transcript)
    return passed("VRFY and EXPN disclose nothing", transcript=session.transcript)


CHECK = ServiceCheck(
    name="vrfy_expn_disabled",
    title="VRFY and EXPN do not disclose users (hardening)",
    area=Area.HARDENING,
    services=(Service.SMTP, Service.SUBMISSION),
    expected="VRFY answers 252 or 5xx alike for existing and missing users, before TLS and inside it; EXPN 5xx",
    note="Beside the note: user enumeration feeds the password guessing that AUTH must withstand.",
    fix=Fix(
        "define(`confPRIVACY_FLAGS', `authwarnings,goaway,restrictqrun')dnl   # goaway = novrfy,noexpn,...\n"
        "Postfix: disable_vrfy_command = yes; Exim: no acl_smtp_vrfy/acl_smtp_expn that accepts"
    ),
    judge=judge,
    hardening=True,
)
