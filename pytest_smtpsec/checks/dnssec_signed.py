"""The domain and each MX host's name validate under DNSSEC (the AD bit of the resolver the user names)."""

from __future__ import annotations

from ..probe import Probes
from ..verdict import Outcome, failed, passed
from ._domain import DomainCheck
from .base import Area, Fix


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    hint = "" if probes.target.resolver else " (or the system resolver does not validate: name one with --smtpsec-resolver)"
    questions = [(found.domain, "DNSKEY"), (found.domain, "MX")]
    mx = found.get(found.domain, "MX")
    if not mx.servfail and found.answer(found.domain, "MX").exists:
        questions += [(host, "A") for host in found.mx_hosts() if (host, "A") in found.answers]
    findings: list[str] = []
    for name, rdtype in questions:
        answer = found.get(name, rdtype)
        if answer.servfail:
            findings.append(f"{name}: bogus: the resolver refuses its {rdtype} answer (SERVFAIL), as a broken signature gives")
            continue
        answer = found.answer(name, rdtype)
        if not answer.secure:
            findings.append(f"{name}: insecure: the {rdtype} answer is not validated (no AD bit): the zone is not signed{hint}")
    if findings:
        return failed(findings)
    return passed(f"validated (AD) by {found.resolver}: " + ", ".join(f"{name} {rdtype}" for name, rdtype in questions))


CHECK = DomainCheck(
    name="dnssec_signed",
    title="The domain and its MX hosts are DNSSEC-signed and validate",
    area=Area.DOMAIN,
    expected="the validating resolver sets the AD bit on the domain's DNSKEY and on each MX host's address",
    note=(
        "Beyond the note: without DNSSEC, whoever answers a sender's DNS can redirect the domain's mail; DANE "
        "needs it, and only a validating resolver's AD bit says it holds (it is never assumed)."
    ),
    fix=Fix("sign the zone (Knot: dnssec-signing: on; BIND: dnssec-policy default;) and publish its DS at the parent"),
    judge=judge,
)
