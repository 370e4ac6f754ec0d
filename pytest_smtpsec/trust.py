"""Certificate trust as a sending MTA judges it: OpenSSL's path building, then strict RFC 5280 as warnings.

sendmail, Postfix, Exim (with OpenSSL) and most mail clients verify with OpenSSL's ``X509_verify_cert``
for an SSL server: issuers are looked up in the CA file first, then among the certificates the server
sent, up to a self-signed root of the CA file (no partial chains: an intermediate alone there is not
enough); every signature must verify; every issuer, the CA file's included, must be a CA (OpenSSL 3:
basicConstraints CA:TRUE, critical or not, or an old v1 root; a keyUsage, where present, must allow
keyCertSign) and respect its pathLenConstraint; an extendedKeyUsage, where present, must allow
serverAuth; a leaf keyUsage must allow a TLS key exchange. ``tests/test_tls_accuracy.py`` checks each
rule against this machine's OpenSSL. Validity dates, key sizes and hashes are ``certificate_valid``'s,
names ``certificate_matches_host``'s; name constraints and revocation are not judged.

What OpenSSL accepts but strict RFC 5280 / CA/Browser Forum verifiers (Python's ``cryptography``,
tools and clients built on webpki-style profiles) reject is reported separately, as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from .certs import WEAK_HASHES, describe, is_self_signed, signature_hash

MAX_DEPTH = 10
STRICT_VERIFIERS = "strict RFC 5280 verifiers (Python's cryptography, CA/Browser-Forum-profile clients)"


@dataclass(frozen=True)
class Trust:
    """The outcome of path building: the path found (leaf to anchor), or why there is none."""

    path: tuple[x509.Certificate, ...]
    problem: str | None = None

    @property
    def trusted(self) -> bool:
        return self.problem is None

    @property
    def anchor(self) -> x509.Certificate | None:
        return self.path[-1] if self.trusted else None


def _name(cert: x509.Certificate) -> str:
    return f"'{describe(cert.subject)}'"


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return None  # a malformed extension: cryptography parses lazily; treated as absent


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # wrong name, bad signature, unsupported key: "not signed by it" in every case
        return False
    return True


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    """The same certificate, or the same CA (subject and key): OpenSSL trusts a store entry by both."""
    return a == b or (a.subject == b.subject and a.public_key() == b.public_key())


def _not_a_ca(cert: x509.Certificate) -> str | None:
    """Why OpenSSL 3 refuses ``cert`` as an issuer ("invalid CA certificate"), or None."""
    usage = _ext(cert, x509.KeyUsage)
    if usage is not None and not usage.value.key_cert_sign:  # type: ignore[attr-defined]
        return "its keyUsage does not allow keyCertSign"
    constraints = _ext(cert, x509.BasicConstraints)
    if constraints is not None:
        return None if constraints.value.ca else "its basicConstraints say CA:FALSE"  # type: ignore[attr-defined]
    if cert.version is x509.Version.v1 and is_self_signed(cert):
        return None  # an old v1 root: OpenSSL still takes it
    return "it has no basicConstraints (CA:TRUE) extension"


def _server_purpose(cert: x509.Certificate, leaf: bool) -> str | None:
    """Why OpenSSL's "SSL server" purpose check refuses ``cert``, or None."""
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH not in eku.value:  # type: ignore[operator]
        return f"{_name(cert)} is limited by extendedKeyUsage to other uses than serverAuth"
    usage = _ext(cert, x509.KeyUsage)
    if leaf and usage is not None:
        ku = usage.value
        if not (ku.digital_signature or ku.key_encipherment or ku.key_agreement):  # type: ignore[attr-defined]
            return "the certificate's keyUsage allows none of digitalSignature, keyEncipherment, keyAgreement"
    for ext in cert.extensions:
        if ext.critical and isinstance(ext.value, x509.UnrecognizedExtension):
            return f"{_name(cert)} has an unsupported critical extension ({ext.oid.dotted_string})"
    return None


def verify(chain: tuple[x509.Certificate, ...], anchors: tuple[x509.Certificate, ...]) -> Trust:
    """Build a path from the leaf to a certificate of ``anchors`` the way OpenSSL does, or say why none exists."""
    leaf, sent = chain[0], chain[1:]
    path = [leaf]
    cert = leaf
    for _ in range(MAX_DEPTH):
        if problem := _server_purpose(cert, cert is leaf):
            return Trust(tuple(path), problem)
        anchored = any(_same(cert, a) for a in anchors)
        if is_self_signed(cert) and anchored:
            return Trust(tuple(path))  # OpenSSL (without partial chains) ends only at a self-signed root of the CA file
        if is_self_signed(cert):
            if cert is leaf:
                said = f"the certificate is self-signed ({describe(cert.subject)}) and not in the CA file: no CA vouches for it"
                return Trust(tuple(path), said)
            return Trust(tuple(path), f"the chain ends at the root {_name(cert)}, which is not in the CA file")
        named = [c for c in (*anchors, *sent) if c.subject == cert.issuer and not _same(c, cert)]
        issuer = next((c for c in named if _signed_by(cert, c)), None)
        if issuer is None:
            who = "the certificate" if cert is leaf else _name(cert)
            if anchored:
                said = f"the CA file holds {_name(cert)} but not the root that issued it ('{describe(cert.issuer)}')"
                return Trust(tuple(path), said + ": OpenSSL-based MTAs need the chain to end at a self-signed root there")
            if named:
                said = f"{who} names '{describe(cert.issuer)}' as issuer, but that CA's signature on it does not verify"
                if (digest := signature_hash(cert)) in WEAK_HASHES:
                    said += f" (it is signed with {digest.upper()}, which OpenSSL refuses at its default security level)"
                return Trust(tuple(path), said)
            return Trust(tuple(path), f"{who} is issued by '{describe(cert.issuer)}', which is not in the CA file (nor sent by the server)")
        if why := _not_a_ca(issuer):  # asked of the CA file's certificates too
            return Trust(tuple(path), f"{_name(issuer)} signed {_name(cert)} but is not a CA: {why}")
        below = sum(1 for c in path[1:] if c.subject != c.issuer)
        constraints = _ext(issuer, x509.BasicConstraints)
        limit = constraints.value.path_length if constraints is not None else None  # type: ignore[attr-defined]
        if limit is not None and below > limit:
            said = f"{_name(issuer)} allows {limit} intermediate CA(s) below it (pathLenConstraint), the chain has {below}"
            return Trust(tuple(path), said)
        path.append(issuer)
        cert = issuer
    return Trust(tuple(path), f"no path to a trusted CA within {MAX_DEPTH} certificates")


def not_sent(path: tuple[x509.Certificate, ...], chain: tuple[x509.Certificate, ...]) -> list[x509.Certificate]:
    """The intermediate CAs of a trusted ``path`` that the server did not send (they came from the CA file):
    a client whose store holds only roots, as most do, cannot build the chain."""
    return [c for c in path[1:] if not is_self_signed(c) and not any(_same(c, s) for s in chain[1:])]


def strict_problems(path: tuple[x509.Certificate, ...]) -> list[str]:
    """What strict RFC 5280 verifiers reject in a path that OpenSSL accepts (one line each)."""
    found = []
    for depth, cert in enumerate(path):
        is_ca = depth > 0
        root = is_self_signed(cert)
        if not root and _ext(cert, x509.AuthorityKeyIdentifier) is None:
            found.append(f"{_name(cert)} has no authorityKeyIdentifier")
        if not is_ca:
            continue
        constraints = _ext(cert, x509.BasicConstraints)
        if constraints is None:
            found.append(f"the CA {_name(cert)} has no basicConstraints extension")
        elif not constraints.critical:
            found.append(f"the CA {_name(cert)} has a non-critical basicConstraints extension")
        if _ext(cert, x509.KeyUsage) is None:
            found.append(f"the CA {_name(cert)} has no keyUsage extension")
        if _ext(cert, x509.SubjectKeyIdentifier) is None:
            found.append(f"the CA {_name(cert)} has no subjectKeyIdentifier")
    return found
