"""DANE: an MX host's ``_25._tcp`` TLSA records, where published, are validated and match what it presents."""

from __future__ import annotations

from ..domain.tlsa import Tlsa, judge_tlsa
from ..probe import Probes
from ..verdict import Outcome, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix, NotApplicable


def _records(texts: tuple[str, ...]) -> list[Tlsa]:
    records = []
    for text in texts:
        usage, selector, mtype, *data = text.split()
        records.append(Tlsa(int(usage), int(selector), int(mtype), bytes.fromhex("".join(data))))
    return records


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    if not found.answer(found.domain, "MX").exists:
        raise NotApplicable(f"{found.domain} has no MX records (see mx_records)")
    findings: list[str] = []
    warnings: list[str] = []
    shown: list[str] = []
    for host in found.mx_hosts():
        if (host, "A") not in found.answers:
            continue
        name = f"_25._tcp.{host}"
        if found.get(name, "TLSA").servfail and found.get(host, "A").exists:
            findings.append(f"{name}: the TLSA lookup fails (SERVFAIL) where the address resolves: DANE senders defer mail (RFC 7672 2.2)")
            continue
        answer = found.answer(name, "TLSA")
        if not answer.records:
            continue
        if not answer.secure:
            findings.append(f"{name}: TLSA records not DNSSEC-validated (no AD bit): senders must ignore them (RFC 7672 2.2)")
            continue
        addresses = found.answer(host, "A").records + found.answer(host, "AAAA").records
        if not addresses:
            continue  # dangling: mx_records says so
        handshake = probes.mx_handshake(host, addresses[0])
        if not handshake.accepted or not handshake.chain:
            findings.append(f"{host}: publishes TLSA but offered no TLS on STARTTLS ({handshake.detail})")
            continue
        judged = judge_tlsa(_records(answer.records), handshake.chain)
        if not judged.matched:
            listed = "; ".join(str(r) for r in judged.stale + judged.unusable)
            findings.append(f"{host}: no TLSA record matches the certificate it presents (hash mismatch, or a key not presented): {listed}")
            continue
        shown.append(f"{host} ({judged.matched[0]})")
        if judged.unusable:
            warnings.append(f"{name}: unusable records for SMTP (usages 0/1, RFC 7672 3.1.3): " + "; ".join(map(str, judged.unusable)))
    if findings:
        return failed(findings + warnings)
    if not shown:
        raise NotApplicable("no MX host publishes TLSA records: DANE is not in use")
    if warnings:
        return warned(warnings)
    return passed("TLSA matches what each MX presents: " + ", ".join(shown))


CHECK = DomainCheck(
    name="dane_tlsa",
    title="The MX hosts' TLSA records (DANE) are signed and match the certificates they present",
    area=Area.DOMAIN,
    expected=(
        "where _25._tcp.<mx> TLSA records exist: validated by DNSSEC and at least one (usage 2 or 3, selector 0/1, "
        "matching 0/1/2) matches the chain the MX presents after STARTTLS; a second record for the next key is fine"
    ),
    note=(
        "Beyond the note: DANE (RFC 7672) lets senders insist on TLS with the right key; a record that matches "
        "nothing the MX presents makes DANE senders hold all the domain's mail."
    ),
    fix=Fix(
        "publish the hash of the key the MX presents (and, during a rollover, of the next one too):\n"
        "_25._tcp.mail IN TLSA 3 1 1 <sha256 of the certificate's SubjectPublicKeyInfo>\n"
        "openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum"
    ),
    judge=judge,
)
