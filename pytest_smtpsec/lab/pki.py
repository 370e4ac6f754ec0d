"""A throwaway PKI for the lab, in the manner of trustme: one `CA`, certificates issued from it.

Certificates are shaped for strict verifiers (`cryptography.x509.verification`), so that when a
client rejects one, it is for the fault a profile put there on purpose and for nothing else.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SigningHash = type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]

_DAY = dt.timedelta(days=1)


class KeyType(str, Enum):
    RSA = "rsa"
    EC = "ec"  # P-256: generated in microseconds, where a profile does not care about the key


@dataclass(frozen=True)
class Blob:
    """PEM bytes that can also become a file, for APIs that want a path (sendmail's cf does)."""

    _data: bytes = field(repr=False)

    def bytes(self) -> bytes:
        return self._data

    def write_to_path(self, path: str | os.PathLike[str], mode: int = 0o444) -> None:
        """Write with exactly `mode` (umask ignored); a read-only file from a previous run is replaced."""
        path = Path(path)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        try:
            os.fchmod(fd, mode)
            os.write(fd, self._data)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class LeafCert:
    """A server certificate and its key (the CA signs with the same pair of objects)."""

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)

    @property
    def cert_pem(self) -> Blob:
        return Blob(self.certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def private_key_pem(self) -> Blob:
        return Blob(
            self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _new_key(key_type: KeyType | str, key_size: int) -> PrivateKey:
    if KeyType(key_type) is KeyType.EC:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _cn(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, digital_signature: bool, key_encipherment: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf(
    names: tuple[str, ...],
    *,
    issuer: LeafCert | None,
    common_name: str | None,
    key_type: KeyType | str,
    key_size: int,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    hash_alg: SigningHash,
) -> LeafCert:
    """Issue a server certificate for `names`, signed by `issuer`, or by its own key if None."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    now = dt.datetime.now(dt.UTC)
    key = _new_key(key_type, key_size)
    subject = _cn(common_name or names[0])
    signer = issuer.private_key if issuer else key
    issuer_name = issuer.certificate.subject if issuer else subject
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - _DAY)
        .not_valid_after(not_after or now + 90 * _DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_encipherment=is_rsa, cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .sign(signer, hash_alg())
    )
    return LeafCert(cert, key)


def self_signed_cert(
    *names: str,
    common_name: str | None = None,
    key_type: KeyType | str = KeyType.RSA,
    key_size: int = 2048,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_alg: SigningHash = hashes.SHA256,
) -> LeafCert:
    """A server certificate signed by its own key: what the note tells admins to avoid."""
    return _leaf(
        names,
        issuer=None,
        common_name=common_name,
        key_type=key_type,
        key_size=key_size,
        not_before=not_before,
        not_after=not_after,
        hash_alg=hash_alg,
    )


class CA:
    """A root CA that lives in memory; only its certificate is ever handed out.

    Its key is EC P-256 by default: generated in microseconds where RSA 2048 takes ~100 ms, and no
    profile is about the CA's key. Leaf certificates default to RSA 2048, the classic server key.
    """

    def __init__(
        self,
        common_name: str = "pytest-smtpsec Test CA",
        *,
        key_type: KeyType | str = KeyType.EC,
        key_size: int = 2048,
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        key = _new_key(key_type, key_size)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pytest-smtpsec"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - 365 * _DAY)
            .not_valid_after(now + 365 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(digital_signature=False, key_encipherment=False, cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256())
        )
        self._issuer = LeafCert(cert, key)

    @property
    def certificate(self) -> x509.Certificate:
        return self._issuer.certificate

    @property
    def cert_pem(self) -> Blob:
        return self._issuer.cert_pem

    def issue_cert(
        self,
        *names: str,
        common_name: str | None = None,
        key_type: KeyType | str = KeyType.RSA,
        key_size: int = 2048,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        hash_alg: SigningHash = hashes.SHA256,
    ) -> LeafCert:
        """A server certificate for DNS names and/or IP addresses (all in the SAN; CN is the first)."""
        return _leaf(
            names,
            issuer=self._issuer,
            common_name=common_name,
            key_type=key_type,
            key_size=key_size,
            not_before=not_before,
            not_after=not_after,
            hash_alg=hash_alg,
        )
