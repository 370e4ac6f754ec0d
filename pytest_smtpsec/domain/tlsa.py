"""DANE for SMTP (RFC 7671, 7672): TLSA records and whether the chain an MX presents matches one of them.

Usage 3 (DANE-EE) matches the server's own certificate, usage 2 (DANE-TA) any certificate of the chain
above it; selector 0 is the whole certificate, 1 its public key; matching 0 exact, 1 SHA-256, 2 SHA-512.
Usages 0 and 1 (PKIX) are not used for SMTP (RFC 7672 3.1.3): such records are unusable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


@dataclass(frozen=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()[:16]}..."


def association(der: bytes, selector: int, mtype: int) -> bytes:
    """The data a TLSA record with this selector and matching type carries for a certificate (DER)."""
    if selector == 0:
        selected = der
    elif selector == 1:
        selected = x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    else:
        raise ValueError(f"unknown selector {selector}")
    if mtype == 0:
        return selected
    if mtype == 1:
        return hashlib.sha256(selected).digest()
    if mtype == 2:
        return hashlib.sha512(selected).digest()
    raise ValueError(f"unknown matching type {mtype}")


def usable(record: Tlsa) -> bool:
    return record.usage in (2, 3) and record.selector in (0, 1) and record.mtype in (0, 1, 2)


def matches(record: Tlsa, chain: tuple[bytes, ...]) -> bool:
    """Whether the presented chain (DER, leaf first) satisfies one usable record."""
    if not usable(record) or not chain:
        return False
    candidates = chain[:1] if record.usage == 3 else chain[1:]
    return any(association(der, record.selector, record.mtype) == record.data for der in candidates)


@dataclass(frozen=True)
class TlsaJudgement:
    matched: tuple[Tlsa, ...]
    stale: tuple[Tlsa, ...]
    """Usable records that match nothing presented (a rollover's next key is one of these: not a fault
    while another record matches)."""
    unusable: tuple[Tlsa, ...]


def judge_tlsa(records: list[Tlsa], chain: tuple[bytes, ...]) -> TlsaJudgement:
    matched = tuple(r for r in records if matches(r, chain))
    unusable = tuple(r for r in records if not usable(r))
    stale = tuple(r for r in records if usable(r) and r not in matched)
    return TlsaJudgement(matched, stale, unusable)
