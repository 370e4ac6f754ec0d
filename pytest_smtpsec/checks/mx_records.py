"""The domain's MX set resolves: every MX host a name with addresses, no CNAME, no IP literal."""

from __future__ import annotations

import ipaddress

from ..probe import Probes
from ..verdict import Outcome, failed, passed
from ._domain import DomainCheck
from .base import Area, Fix, NotApplicable


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    domain = found.domain
    answer = found.answer(domain, "MX")
    if not answer.exists:
        return failed([f"{domain} does not exist ({answer.rcode}): no mail can be delivered to it"])
    if not answer.records:
        return failed([f"{domain} has no MX records: senders fall back to its address, if any (RFC 5321 5.1)"])
    hosts = found.mx_hosts()
    if hosts == [""]:
        raise NotApplicable(f"{domain} publishes a null MX (RFC 7505): it takes no mail")
    findings: list[str] = []
    shown: list[str] = []
    for host in hosts:
        if _literal(host):
            findings.append(f"MX {host} is an IP literal: an MX must name a host (RFC 5321 5.1)")
            continue
        addresses = [found.answer(host, rdtype) for rdtype in ("A", "AAAA")]
        records = [record for a in addresses for record in a.records]
        cname = next((a.cname for a in addresses if a.cname), "")
        if cname:
            findings.append(f"MX {host} is a CNAME (to {cname}): an MX must name the host itself (RFC 2181 10.3)")
        elif not records:
            findings.append(f"MX {host} has no A or AAAA record: a dangling MX, mail to it bounces or waits")
        else:
            shown.append(f"{host} ({', '.join(records)})")
    if findings:
        return failed(findings)
    return passed(f"MX of {domain}: {'; '.join(shown)}")


CHECK = DomainCheck(
    name="mx_records",
    title="The domain's MX records name hosts that resolve (no CNAME, no IP literal, none dangling)",
    area=Area.DOMAIN,
    expected="at least one MX record; each MX a host name with an A or AAAA record of its own",
    note=(
        "Beyond the note: the world reaches the mail server through the domain's MX records; an MX that is a "
        "CNAME, an address or a name without addresses makes senders fail or guess."
    ),
    fix=Fix("in the zone (one MX line each; each host its own A/AAAA):\n@ IN MX 10 mail.example.org.\nmail IN A 192.0.2.25"),
    judge=judge,
)
