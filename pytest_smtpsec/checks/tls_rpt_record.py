"""TLS-RPT (RFC 8460): the domain says where senders report TLS failures."""

from __future__ import annotations

from ..domain.tls_rpt import RecordError, parse_tls_rpt, tls_rpt_records
from ..probe import Probes
from ..verdict import Outcome, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    name = f"_smtp._tls.{found.domain}"
    records = tls_rpt_records(found.txt(name))
    if not records:
        return warned([f"{name} has no v=TLSRPTv1 record: TLS failures of senders reaching the MX go unreported"])
    if len(records) > 1:
        return failed([f"{name} has {len(records)} TLS-RPT records: reporters ignore them all (RFC 8460 3)"])
    try:
        record = parse_tls_rpt(records[0])
    except RecordError as exc:
        return failed([f"{name}: {exc}"])
    return passed(f"reports go to {', '.join(record.rua)}")


CHECK = DomainCheck(
    name="tls_rpt_record",
    title="TLS failures are reported (TLS-RPT record)",
    area=Area.DOMAIN,
    expected="one _smtp._tls.<domain> TXT record 'v=TLSRPTv1; rua=mailto:...' (or https:); a warning when absent",
    note="Beyond the note: without TLS-RPT nobody hears of senders that failed to reach the MX securely.",
    fix=Fix('_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.org"'),
    judge=judge,
)
