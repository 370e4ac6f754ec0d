"""SPF (RFC 7208): exactly one record, an ``all`` that rejects, within the 10-lookup limit."""

from __future__ import annotations

from ..domain.spf import LOOKUP_LIMIT, SpfError, count_lookups, parse_spf, spf_records
from ..probe import Probes
from ..verdict import Outcome, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    domain = found.domain
    records = spf_records(found.txt(domain))
    if not records:
        return failed([f"{domain} has no SPF record: anyone may send as @{domain}"])
    if len(records) > 1:
        return failed([f"{domain} has {len(records)} SPF records: a permanent error, receivers ignore SPF (RFC 7208 3.2)"])
    try:
        spf = parse_spf(records[0])
    except SpfError as exc:
        return failed([f"{domain}: {exc}: a permanent error (RFC 7208 4.6)"])

    def records_of(name: str) -> list[str] | None:
        return spf_records(found.txt(name)) if (name, "TXT") in found.answers else None

    count = count_lookups(records[0], records_of)
    findings = list(count.problems)
    if spf.all in ("+", "?"):
        findings.append(f"'{spf.all}all' lets any host send as @{domain}: end the record with -all (or ~all)")
    if count.lookups > LOOKUP_LIMIT:
        findings.append(f"{count.lookups} DNS-querying terms with its includes, over the limit of {LOOKUP_LIMIT} (RFC 7208 4.6.4)")
    if findings:
        return failed(findings)
    if spf.all == "~":
        return warned([f"'~all' only marks forged mail (softfail): '-all' rejects it ({records[0]})"])
    if not spf.all and not spf.redirect:
        return warned([f"no 'all' term: mail from other hosts is neutral, as if there were no SPF ({records[0]})"])
    counted = f"{count.lookups} lookups" if count.complete else f"at least {count.lookups} lookups: deeper includes not fetched"
    return passed(f"{records[0]} ({counted})")


CHECK = DomainCheck(
    name="spf_record",
    title="One SPF record that rejects mail from other hosts",
    area=Area.DOMAIN,
    expected="one 'v=spf1' TXT record at the domain, ending in -all (~all warns; +all and ?all fail), at most 10 lookups with its includes",
    note="Beyond the note: SPF tells receivers which hosts may send as the domain; a lax one helps forgers.",
    fix=Fix('@ IN TXT "v=spf1 mx -all"   (one record only; merge any others into it)'),
    judge=judge,
)
