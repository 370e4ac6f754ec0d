"""MTA-STS (RFC 8461): the domain's ``_mta-sts`` record and its policy, fetched over verified HTTPS."""

from __future__ import annotations

import functools
import hashlib
from datetime import date

from ..certs import load_chain, name_matches, trust_anchors
from ..domain.mta_sts import SHORT_MAX_AGE, Mode, PolicyError, parse_policy, parse_txt, sts_records, unmatched
from ..probe import ProbeError, Probes
from ..probe.parallel import run_all
from ..trust import verify
from ..verdict import Outcome, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    domain = found.domain
    name = f"_mta-sts.{domain}"
    records = sts_records(found.txt(name))
    if not records:
        return warned([f"{name} has no v=STSv1 record: senders without DANE may be downgraded to cleartext"])
    if len(records) > 1:
        return failed([f"{name} has {len(records)} v=STSv1 records: senders treat that as no policy (RFC 8461 3.1)"])
    try:
        record = parse_txt(records[0])
    except PolicyError as exc:
        return failed([f"{name}: {exc}"])
    host = f"mta-sts.{domain}"
    addresses = found.answer(host, "A").records
    if not addresses:
        return failed([f"{host} has no A record: the policy the TXT record announces cannot be fetched"])
    fetch = probes.policy(addresses[0])
    if fetch.tls_error:
        return failed([f"{fetch.url}: the certificate is refused ({fetch.tls_error}): senders ignore the policy"])
    if 300 <= fetch.status < 400:
        where = fetch.location or "?"
        return failed([f"{fetch.url} redirects (HTTP {fetch.status} to {where}): senders must not follow it (RFC 8461 3.3)"])
    if fetch.status != 200:
        return failed([f"{fetch.url} answers HTTP {fetch.status}, not 200"])
    if fetch.content_type.split(";")[0].strip().lower() != "text/plain":
        return failed([f"{fetch.url} is served as {fetch.content_type or 'no Content-Type'}, not text/plain (RFC 8461 3.2)"])
    try:
        policy = parse_policy(fetch.body)
    except PolicyError as exc:
        return failed([f"{fetch.url}: {exc}"])
    stale = _changed_under_the_same_id(probes, domain, record.id, fetch.body)
    if stale:
        return failed([stale])
    if found.answer(domain, "MX").exists:
        hosts = [mx for mx in found.mx_hosts() if mx]
        missing = unmatched(policy, hosts) if policy.mode is not Mode.NONE else []
        if missing:
            patterns = ", ".join(policy.mx)
            return failed([f"MX {', '.join(missing)} matched by no mx: line of the policy ({patterns}): senders refuse to deliver there"])
        problems = _mx_certificates(probes, hosts) if policy.mode is not Mode.NONE else []
        if problems:
            return failed(problems)
    warnings = []
    if policy.mode is not Mode.ENFORCE:
        warnings.append(f"mode: {policy.mode.value}: senders still deliver when TLS fails (use mode: enforce once reports are clean)")
    if policy.max_age < SHORT_MAX_AGE:
        warnings.append(f"max_age: {policy.max_age} is under a day: the policy protects little between fetches (weeks are usual)")
    if warnings:
        return warned(warnings)
    return passed(f"id={record.id}, mode {policy.mode.value}, max_age {policy.max_age}, mx {', '.join(policy.mx)}")


def _changed_under_the_same_id(probes: Probes, domain: str, policy_id: str, body: bytes) -> str:
    """RFC 8461 3.1: senders fetch the policy again only when the id changes. The policy is compared with the
    one the last run saw (``probes.memory``): new content under the same id is a finding, and the old policy
    stays remembered until the id changes, so the finding stays until it is fixed."""
    if probes.memory is None:
        return ""
    key = f"smtpsec/mta-sts/{domain}"
    digest = hashlib.sha256(body).hexdigest()
    seen = probes.memory.get(key, None)
    if not isinstance(seen, dict) or seen.get("id") != policy_id:
        probes.memory.set(key, {"id": policy_id, "sha256": digest, "since": date.today().isoformat()})
        return ""
    if seen.get("sha256") == digest:
        return ""
    return (
        f"the policy changed since {seen.get('since', 'the last run')} but its id did not (still id={policy_id}): "
        "senders that cached the old policy keep it until its max_age runs out (RFC 8461 3.1: a new id with every change)"
    )


def _mx_certificates(probes: Probes, hosts: list[str]) -> list[str]:
    """What an MTA-STS sender would refuse at each MX (RFC 8461 4.2): no STARTTLS, or a certificate not valid
    for the MX name under the trusted CAs. All MX hosts are asked at once."""
    found = probes.domain()
    first = {}
    for host in hosts:
        addresses = found.answer(host, "A").records + found.answer(host, "AAAA").records
        if addresses:
            first[host] = addresses[0]
    run_all([functools.partial(_quietly, probes, host, address) for host, address in first.items()], "smtpsec-mx")
    anchors = trust_anchors(probes.target.ca_file)
    problems = []
    for host, address in first.items():
        handshake = probes.mx_handshake(host, address)
        if not handshake.accepted or not handshake.chain:
            problems.append(f"MX {host}: no TLS after STARTTLS ({handshake.detail}): MTA-STS senders will not deliver")
            continue
        chain = load_chain(handshake.chain)
        trust = verify(chain, anchors)
        if trust.problem is not None:
            problems.append(f"MX {host}: certificate not trusted ({trust.problem}): MTA-STS senders will not deliver")
        elif not name_matches(chain[0], host):
            problems.append(f"MX {host}: certificate not valid for the name {host}: MTA-STS senders will not deliver")
    return problems


def _quietly(probes: Probes, host: str, address: str) -> None:
    try:
        probes.mx_handshake(host, address)
    except ProbeError:
        pass  # cached: asked again below, it is "could not check"


CHECK = DomainCheck(
    name="mta_sts_policy",
    title="The MTA-STS record and policy are published, served over verified HTTPS, and cover every MX",
    area=Area.DOMAIN,
    expected=(
        "one _mta-sts TXT 'v=STSv1; id=...'; https://mta-sts.<domain>/.well-known/mta-sts.txt served as text/plain "
        "with a certificate valid for its name, no redirect, a strict RFC 8461 policy whose mx lines match every MX, "
        "and each MX offering STARTTLS with a trusted certificate for its MX name; a policy changed since the "
        "last run (pytest's cache) under the same id fails; mode testing or a max_age under a day warn"
    ),
    note="Beyond the note: MTA-STS makes senders insist on TLS with a valid certificate to the domain's MX hosts.",
    fix=Fix(
        '_mta-sts IN TXT "v=STSv1; id=20260101T000000"   (a new id whenever the policy changes)\n'
        "https://mta-sts.example.org/.well-known/mta-sts.txt (text/plain, CRLF lines):\n"
        "version: STSv1\nmode: enforce\nmx: mail.example.org\nmax_age: 604800"
    ),
    judge=judge,
)
