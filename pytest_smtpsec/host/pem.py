"""PEM files as sendmail's certificate options use them: bundles of certificates, keys, or both.

A file may hold several blocks (RedHat's ``sendmail.pem`` has the key and the certificate together, a
CA bundle hundreds of certificates); we take the blocks we need and ignore text around them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.S)
_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class UnusableKey(ValueError):
    """A private key that cannot be used as it is (encrypted, garbled)."""


@dataclass(frozen=True)
class CertificateList:
    certificates: tuple[x509.Certificate, ...]
    unreadable: int
    """CERTIFICATE blocks that did not parse."""


def blocks(data: bytes, kind: str) -> list[bytes]:
    """The PEM blocks whose label ends with ``kind`` (``PRIVATE KEY`` also finds ``RSA PRIVATE KEY``)."""
    return [m.group(0) for m in _BLOCK.finditer(data) if m.group(1).decode().endswith(kind)]


def certificates(data: bytes) -> CertificateList:
    found, bad = [], 0
    for block in blocks(data, "CERTIFICATE"):
        try:
            found.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            bad += 1
    return CertificateList(tuple(found), bad)


def private_key_public(data: bytes) -> PublicKeyTypes | None:
    """The public half of the first private key in ``data``; None if there is none."""
    keys = blocks(data, "PRIVATE KEY")
    if not keys:
        return None
    if keys[0].startswith(b"-----BEGIN ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in keys[0]:
        raise UnusableKey("the private key is encrypted: sendmail has no way to ask for its passphrase")
    try:
        key = serialization.load_pem_private_key(keys[0], password=None)
    except (ValueError, TypeError) as exc:
        raise UnusableKey(f"the private key does not parse: {exc}") from None
    return key.public_key()


def describe(public: PublicKeyTypes) -> str:
    """``RSA-2048 a1b2c3d4e5f60718``: the key type and size and its SubjectPublicKeyInfo fingerprint."""
    der = public.public_bytes(*_SPKI)
    kind = (
        f"RSA-{public.key_size}"
        if isinstance(public, rsa.RSAPublicKey)
        else f"EC-{public.curve.name}"
        if isinstance(public, ec.EllipticCurvePublicKey)
        else type(public).__name__.removesuffix("PublicKey").lstrip("_")
    )
    return f"{kind} {hashlib.sha256(der).hexdigest()[:16]}"


def same_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    return a.public_bytes(*_SPKI) == b.public_bytes(*_SPKI)
