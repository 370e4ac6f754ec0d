"""Certificate facts, judged apart from the handshake: trust, names, validity, key and signature strength.

The TLS probe never aborts on a bad certificate; it keeps the chain as the server sent it and these
pure functions judge it with ``cryptography``, so each certificate check judges one thing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import warnings
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import verification

WEAK_HASHES = ("md5", "sha1")
MIN_KEY_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}


def load_chain(der_chain: tuple[bytes, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_der_x509_certificate(der) for der in der_chain)


def trust_anchors(ca_file: Path | None) -> tuple[x509.Certificate, ...]:
    """The CA certificates to trust: ``ca_file``, or the system store when None (parsed once per file version)."""
    path = ca_file or Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    stat = path.stat()
    return _load_anchors(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _load_anchors(path: Path, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    """Keyed on the file's version too: a lab restarted in the same directory writes a new CA there."""
    with warnings.catch_warnings():  # a few old roots in system stores are not strictly DER: not the user's concern
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


def describe(name: x509.Name) -> str:
    return name.rfc4514_string() or "(empty name)"


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, Exception):  # any failure means "not self-signed"
        return False
    return True


def san_names(cert: x509.Certificate) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """DNS names and IP addresses of the subjectAltName extension (empty if there is none)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    ips = [ip for ip in san.get_values_for_type(x509.IPAddress) if not isinstance(ip, ipaddress.IPv4Network | ipaddress.IPv6Network)]
    return san.get_values_for_type(x509.DNSName), ips


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """RFC 6125 matching of ``name`` against the subjectAltName: exact, or a wildcard in the leftmost label only."""
    dns, ips = san_names(cert)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return address in ips
    wanted = name.lower().rstrip(".")
    for pattern in (d.lower().rstrip(".") for d in dns):
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            head, rest = wanted.split(".", 1)
            if head and rest == pattern[2:] and rest.count(".") >= 1:
                return True
    return False


def chain_problem(chain: tuple[x509.Certificate, ...], anchors: tuple[x509.Certificate, ...]) -> str | None:
    """Why the chain does not lead to a trusted CA, or None when it does.

    Verified at a moment inside the leaf's validity, so an expired certificate is judged by
    certificate_valid, not here; and for the leaf's own first name, so names are judged elsewhere.
    """
    leaf = chain[0]
    if is_self_signed(leaf) and leaf not in anchors:
        return f"the certificate is self-signed ({describe(leaf.subject)}): no CA vouches for it"
    dns, ips = san_names(leaf)
    subject: x509.DNSName | x509.IPAddress
    if dns:
        subject = x509.DNSName(dns[0].lstrip("*."))
    elif ips:
        subject = x509.IPAddress(ips[0])
    else:
        return "the certificate has no subjectAltName, which verifying clients require"
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    moment = min(max(dt.datetime.now(dt.UTC), start + dt.timedelta(seconds=1)), end - dt.timedelta(seconds=1))
    try:
        verifier = verification.PolicyBuilder().store(verification.Store(list(anchors))).time(moment).build_server_verifier(subject)
        verifier.verify(leaf, list(chain[1:]))
    except verification.VerificationError as exc:
        known = {describe(a.subject) for a in anchors}
        issuer = describe(leaf.issuer)
        if issuer not in known and not any(describe(c.subject) == issuer for c in chain[1:]):
            return f"issued by '{issuer}', which is not a trusted CA here"
        return f"the chain does not verify: {exc}"
    return None


def key_description(cert: x509.Certificate) -> tuple[str, int]:
    """("RSA", 2048), ("EC", 256), ("Ed25519", 256)…"""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448
    return type(key).__name__, 0


def signature_hash(cert: x509.Certificate) -> str | None:
    algorithm = cert.signature_hash_algorithm
    return algorithm.name if algorithm is not None else None


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":")


def summary(chain: tuple[x509.Certificate, ...]) -> str:
    """The chain as a person reads it: subject, issuer, names, validity, key, fingerprint, per certificate."""
    lines = []
    for depth, cert in enumerate(chain):
        dns, ips = san_names(cert)
        kind, bits = key_description(cert)
        lines += [
            f"certificate {depth}: {describe(cert.subject)}",
            f"  issuer:  {describe(cert.issuer)}",
            f"  names:   {', '.join([*dns, *map(str, ips)]) or '(no subjectAltName)'}",
            f"  valid:   {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}",
            f"  key:     {kind} {bits} bits, signed with {signature_hash(cert) or 'n/a'}",
            f"  sha256:  {fingerprint(cert)}",
        ]
    return "\n".join(lines)
