"""DMARC (RFC 7489): the domain asks receivers to reject forged mail, and to report."""

from __future__ import annotations

from ..domain.dmarc import DmarcError, dmarc_records, parse_dmarc
from ..probe import Probes
from ..verdict import Outcome, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    name = f"_dmarc.{found.domain}"
    records = dmarc_records(found.txt(name))
    if not records:
        return failed([f"{name} has no DMARC record: receivers are not asked to reject mail forged as @{found.domain}"])
    if len(records) > 1:
        return failed([f"{name} has {len(records)} DMARC records: receivers ignore them all (RFC 7489 6.6.3)"])
    try:
        record = parse_dmarc(records[0])
    except DmarcError as exc:
        return failed([f"{name}: {exc}"])
    warnings = []
    if record.policy == "none":
        warnings.append("p=none only watches: forged mail is still delivered (p=quarantine or p=reject acts)")
    if not record.rua:
        warnings.append("no rua=: nobody receives the aggregate reports that show who sends as the domain")
    if warnings:
        return warned(warnings)
    return passed(f"p={record.policy}, reports to {', '.join(record.rua)}")


CHECK = DomainCheck(
    name="dmarc_record",
    title="A DMARC record that rejects forged mail and asks for reports",
    area=Area.DOMAIN,
    expected="one _dmarc.<domain> TXT 'v=DMARC1; p=quarantine|reject; rua=mailto:...'; p=none or no rua warns",
    note="Beyond the note: DMARC tells receivers what to do with mail that fails SPF and DKIM for the domain.",
    fix=Fix('_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.org"'),
    judge=judge,
)
