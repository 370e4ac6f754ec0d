"""The certificate is in date, and its key and signature are strong enough."""

from __future__ import annotations

import datetime as dt

from ..certs import MIN_KEY_BITS, WEAK_HASHES, describe, key_description, signature_hash
from ..probe import Probes
from ..target import Service
from ..verdict import Outcome, failed, passed, warned
from ._tls import presented_chain
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    chain, transcript = presented_chain(probes, service)
    leaf, now = chain[0], dt.datetime.now(dt.UTC)
    problems: list[str] = []
    if leaf.not_valid_after_utc < now:
        problems.append(f"expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    if leaf.not_valid_before_utc > now:
        problems.append(f"not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    kind, bits = key_description(leaf)
    if bits < MIN_KEY_BITS.get(kind, 0):
        problems.append(f"{kind} key of {bits} bits (at least {MIN_KEY_BITS[kind]} needed)")
    for cert in chain:
        digest = signature_hash(cert)
        if digest in WEAK_HASHES and not (cert.issuer == cert.subject and cert is not leaf):
            problems.append(f"'{describe(cert.subject)}' is signed with {digest.upper()}, which can be forged")
    if problems:
        return failed(problems, transcript=transcript)
    left = leaf.not_valid_after_utc - now
    warn_days = probes.target.cert_warn_days
    if left < dt.timedelta(days=warn_days):
        return warned([f"expires in {left.days} days ({leaf.not_valid_after_utc:%Y-%m-%d}), within {warn_days} days"])
    return passed(f"valid until {leaf.not_valid_after_utc:%Y-%m-%d}; {kind} {bits} bits; {signature_hash(leaf)}")


CHECK = ServiceCheck(
    name="certificate_valid",
    title="The certificate is in date, with a strong key and signature",
    area=Area.CERTIFICATE,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected="not expired, not yet-to-come; RSA >= 2048 or EC >= 256 bits; no SHA-1/MD5 signature; warn near expiry",
    note=(
        "Certificates: clients 'fail miserably' on certificates they cannot trust; an expired certificate or "
        "a weak key breaks the SSL that protects the userid and password just as a self-signed one does."
    ),
    fix=Fix(
        "renew the certificate (RSA 2048+ or EC P-256, SHA-256), install it where\n"
        "define(`confSERVER_CERT', ...)dnl and define(`confSERVER_KEY', ...)dnl point, then restart sendmail"
    ),
    judge=judge,
)
