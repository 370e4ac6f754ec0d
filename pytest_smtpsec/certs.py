"""Certificate facts, judged apart from the handshake: trust, names, validity, key and signature strength.

The TLS probe never aborts on a bad certificate; it keeps the chain as the server sent it and these
pure functions judge it with ``cryptography``, so each certificate check judges one thing.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import warnings
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

WEAK_HASHES = ("md5", "sha1")
MIN_KEY_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}


def load_chain(der_chain: tuple[bytes, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_der_x509_certificate(der) for der in der_chain)


def trust_anchors(ca_file: Path | None) -> tuple[x509.Certificate, ...]:
    """The CA certificates to trust: ``ca_file``, or the system store when None (parsed once per file version)."""
    path = ca_file or Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    stat = path.stat()
    with _LOADING:  # one parse at a time: the warnings filter below is process-wide, and probe threads ask at once
        return _load_anchors(path, stat.st_mtime_ns, stat.st_size)


_LOADING = threading.Lock()


@lru_cache(maxsize=16)
def _load_anchors(path: Path, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    """Keyed on the file's version too: a lab restarted in the same directory writes a new CA there."""
    with warnings.catch_warnings():  # a few old roots in system stores are not strictly DER: not the user's concern
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


def describe(name: x509.Name) -> str:
    return name.rfc4514_string() or "(empty name)"


def is_self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: its own name as issuer, and its own key's signature (or one too old to check, SHA-1)."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except ValueError as exc:
        return "unsupported signature algorithm" in str(exc).lower()
    except Exception:  # a bad signature, an unsupported key: not signed by itself
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


def _dns_matches(pattern: str, wanted: str) -> bool:
    """RFC 6125: exact (case-insensitive, a trailing dot ignored), or ``*`` as the whole leftmost label."""
    pattern = pattern.lower().rstrip(".")
    if pattern == wanted:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:] or "." not in pattern[2:]:
        return False  # partial or inner wildcards and "*.tld" match nothing
    head, _, rest = wanted.partition(".")
    return bool(head) and rest == pattern[2:]


def name_match(cert: x509.Certificate, name: str) -> str | None:
    """How ``name`` is covered: "subjectAltName", "common name" (no DNS SAN at all, as OpenSSL falls back), or None.

    An IP address matches IP SANs only; a host name matches DNS SANs, and the subject CN only when the
    certificate has no DNS SAN (OpenSSL's X509_check_host; clients that never read the CN refuse it).
    """
    dns, ips = san_names(cert)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return "subjectAltName" if address in ips else None
    wanted = name.lower().rstrip(".")
    if dns:
        return "subjectAltName" if any(_dns_matches(d, wanted) for d in dns) else None
    common = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    return "common name" if any(_dns_matches(cn, wanted) for cn in common) else None


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """Whether the certificate covers ``name`` by its subjectAltName (RFC 6125)."""
    return name_match(cert, name) == "subjectAltName"


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
