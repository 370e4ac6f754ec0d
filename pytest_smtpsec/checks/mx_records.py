"""The domain's MX set resolves (no CNAME, no IP literal, none dangling), and each MX host passes the network
checks as the world reaches it: on port 25, under its MX name, nobody logged in."""

from __future__ import annotations

import functools

from ..probe import Probes
from ..probe.dns import MxHost
from ..probe.parallel import map_all
from ..verdict import Outcome, failed
from ._domain import DomainCheck
from ._peers import Folded, judge_peer
from .base import Area, Fix, NotApplicable


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    domain = found.domain
    answer = found.answer(domain, "MX")
    if not answer.exists:
        return failed([f"{domain} does not exist ({answer.rcode}): no mail can be delivered to it"])
    if not answer.records:
        return failed([f"{domain} has no MX records: senders fall back to its address, if any (RFC 5321 5.1)"])
    hosts = found.mx_set()
    if not hosts:
        raise NotApplicable(f"{domain} publishes a null MX (RFC 7505): it takes no mail")
    folded = Folded(findings=[finding for mx in hosts if (finding := _dns_finding(mx))])
    where = [(mx.name, address) for mx in hosts for address in mx.probed]
    judged = map_all([functools.partial(judge_peer, probes.mx(name, address)) for name, address in where], "smtpsec-mx-checks")
    for (name, address), results in zip(where, judged, strict=True):
        folded.add(f"MX {name} ({address})", results)
    return folded.outcome(f"MX of {domain}")


def _dns_finding(mx: MxHost) -> str:
    if mx.literal:
        return f"MX {mx.name} is an IP literal: an MX must name a host (RFC 5321 5.1)"
    if mx.cname:
        return f"MX {mx.name} is a CNAME (to {mx.cname}): an MX must name the host itself (RFC 2181 10.3)"
    if not mx.addresses:
        return f"MX {mx.name} has no A or AAAA record: a dangling MX, mail to it bounces or waits"
    return ""


CHECK = DomainCheck(
    name="mx_records",
    title="The domain's MX hosts resolve (no CNAME, no IP literal, none dangling) and pass the checks on port 25",
    area=Area.DOMAIN,
    expected=(
        "at least one MX record; each MX a host name with an A or AAAA record of its own; each MX host, at the first "
        "address of each family, passing every network check on port 25 under its MX name (as the world sends mail)"
    ),
    note=(
        "Beyond the note's own host list: the world reaches the mail server through the domain's MX records; an MX "
        "that is a CNAME, an address or a name without addresses makes senders fail or guess, and an MX that "
        "fails the note's checks (no STARTTLS, a certificate not for its name, an open relay) is where the "
        "domain's mail is exposed."
    ),
    fix=Fix("in the zone (one MX line each; each host its own A/AAAA):\n@ IN MX 10 mail.example.org.\nmail IN A 192.0.2.25"),
    judge=judge,
)
