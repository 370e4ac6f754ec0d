"""The throwaway PKI satisfies strict verifiers, and its odd cases are odd in exactly one way."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from pytest_smtpsec.lab import CA
from pytest_smtpsec.lab.pki import Blob, KeyType, self_signed_cert

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA()


def _verify(ca: CA, leaf: x509.Certificate, name: x509.DNSName | x509.IPAddress, at: dt.datetime = NOW) -> None:
    verifier = PolicyBuilder().store(Store([ca.certificate])).time(at).build_server_verifier(name)
    verifier.verify(leaf, [])


def test_ca_is_a_proper_root(ca: CA) -> None:
    ext = ca.certificate.extensions
    bc = ext.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert "pytest-smtpsec Test CA" in ca.certificate.subject.rfc4514_string()


@pytest.mark.parametrize("ca_key", ["ec", "rsa"])
def test_leaf_verifies_for_dns_name_and_ip(ca_key: str) -> None:
    ca = CA(key_type=ca_key)
    leaf = ca.issue_cert("mail.test", "127.0.0.1").certificate
    _verify(ca, leaf, x509.DNSName("mail.test"))
    _verify(ca, leaf, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    with pytest.raises(VerificationError):
        _verify(ca, leaf, x509.DNSName("other.test"))


def test_leaf_extensions(ca: CA) -> None:
    leaf = ca.issue_cert("mail.test").certificate
    ext = leaf.extensions
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert ExtendedKeyUsageOID.SERVER_AUTH in ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert leaf.issuer == ca.certificate.subject


def test_self_signed_is_detectably_self_signed(ca: CA) -> None:
    leaf = self_signed_cert("mail.test").certificate
    assert leaf.issuer == leaf.subject
    leaf.verify_directly_issued_by(leaf)
    with pytest.raises(VerificationError):
        _verify(ca, leaf, x509.DNSName("mail.test"))


def test_expired_fails_now_but_verified_while_valid(ca: CA) -> None:
    before, after = NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=30)
    leaf = ca.issue_cert("mail.test", not_before=before, not_after=after).certificate
    assert leaf.not_valid_after_utc == after.replace(microsecond=0)
    with pytest.raises(VerificationError):
        _verify(ca, leaf, x509.DNSName("mail.test"))
    _verify(ca, leaf, x509.DNSName("mail.test"), at=NOW - dt.timedelta(days=45))


@pytest.mark.parametrize("bits", [1024, 2048])
def test_rsa_key_sizes(ca: CA, bits: int) -> None:
    key = ca.issue_cert("mail.test", key_size=bits).certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == bits


def test_ec_keys_sign_without_key_encipherment() -> None:
    ec_ca = CA()
    assert isinstance(ec_ca.certificate.public_key(), ec.EllipticCurvePublicKey)  # the fast default
    leaf = ec_ca.issue_cert("mail.test", key_type=KeyType.EC)
    assert isinstance(leaf.certificate.public_key(), ec.EllipticCurvePublicKey)
    assert not leaf.certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    _verify(ec_ca, leaf.certificate, x509.DNSName("mail.test"))


def test_blob_writes_exact_modes_over_read_only_files(tmp_path: Path) -> None:
    leaf = self_signed_cert("mail.test", key_type="ec")
    key_path = tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(key_path, mode=0o400)
    leaf.private_key_pem.write_to_path(key_path, mode=0o400)  # again, over the read-only file
    leaf.cert_pem.write_to_path(tmp_path / "cert.pem")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o400
    assert stat.S_IMODE((tmp_path / "cert.pem").stat().st_mode) == 0o444
    assert x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes()) == leaf.certificate
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert Blob(b"x").bytes() == b"x"


def test_no_names_is_an_error(ca: CA) -> None:
    with pytest.raises(ValueError, match="at least one name"):
        ca.issue_cert()
