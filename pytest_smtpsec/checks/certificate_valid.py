"""The certificate is in date, and its key and signature are strong enough."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from ..certs import MIN_KEY_BITS, WEAK_HASHES, describe, is_self_signed, key_description, signature_hash, trust_anchors
from ..probe import Probes
from ..target import Service
from ..trust import verify
from ..verdict import Outcome, failed, passed, warned
from ._tls import presented_chain
from .base import Area, Fix, ServiceCheck


def judged_chain(chain: tuple[x509.Certificate, ...], probes: Probes) -> tuple[x509.Certificate, ...]:
    """The path a client verifies (the chain sent, up to the CA of the CA file); the chain as sent where there is none."""
    try:
        anchors = trust_anchors(probes.target.ca_file)
    except (OSError, ValueError):
        return chain  # no CA file to read: certificate_trusted says so; the chain sent is still judged here
    trust = verify(chain, anchors)
    return trust.path if trust.problem is None else chain


def cert_problems(cert: x509.Certificate, who: str, now: dt.datetime) -> list[str]:
    """What is wrong with one certificate of the chain: dates, key size, signature hash."""
    problems = []
    if cert.not_valid_after_utc < now:
        problems.append(f"{who} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    if cert.not_valid_before_utc > now:
        problems.append(f"{who} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    kind, bits = key_description(cert)
    if bits < MIN_KEY_BITS.get(kind, 0):
        problems.append(f"{who} has an {kind} key of {bits} bits (at least {MIN_KEY_BITS[kind]} needed)")
    digest = signature_hash(cert)
    if digest in WEAK_HASHES and not is_self_signed(cert):  # a root's signature on itself proves nothing anyway
        problems.append(f"{who} is signed with {digest.upper()}, which can be forged")
    return problems


def judge(probes: Probes, service: Service) -> Outcome:
    chain, transcript = presented_chain(probes, service)
    path, now = judged_chain(chain, probes), dt.datetime.now(dt.UTC)
    problems = []
    for depth, cert in enumerate(path):
        who = "the certificate" if depth == 0 else f"the CA certificate '{describe(cert.subject)}'"
        problems += cert_problems(cert, who, now)
    if problems:
        return failed(problems, transcript=transcript)
    leaf = path[0]
    ending = min(path, key=lambda c: c.not_valid_after_utc)
    left = ending.not_valid_after_utc - now
    warn_days = probes.target.cert_warn_days
    if left < dt.timedelta(days=warn_days):
        who = "the certificate" if ending is leaf else f"the CA certificate '{describe(ending.subject)}'"
        return warned([f"{who} expires in {left.days} days ({ending.not_valid_after_utc:%Y-%m-%d}), within {warn_days} days"])
    kind, bits = key_description(leaf)
    whole = f"; {len(path)} certificates judged" if len(path) > 1 else ""
    return passed(f"valid until {leaf.not_valid_after_utc:%Y-%m-%d}; {kind} {bits} bits; {signature_hash(leaf)}{whole}")


CHECK = ServiceCheck(
    name="certificate_valid",
    title="The certificate is in date, with a strong key and signature",
    area=Area.CERTIFICATE,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected=(
        "every certificate of the chain up to the trusted CA: not expired, not yet-to-come; RSA >= 2048 or EC >= 256 bits; "
        "no SHA-1/MD5 signature; warn near expiry"
    ),
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
