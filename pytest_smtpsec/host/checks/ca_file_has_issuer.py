"""CACertFile holds the certificate that issued ServerCertFile, and its key verifies the signature.

The note: "The 'cacert.pem' file is the certificate for the Certificate Authority that 'issued' your
certificates ... Look for the 'Issuer:' text in your certificate", and of a vendor bundle, "make sure
it contains the cert for the CA that issued your cert". A name match alone is not enough: the
candidate's public key must verify the server certificate's signature.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature

from ...checks.base import Fix
from ...verdict import Outcome, failed, passed
from ..facts import HostFacts
from ..note_options import CA_CERT_FILE, SERVER_CERT
from ..pem import certificates
from .base import Findings, HostCheck


def judge(facts: HostFacts) -> Outcome:
    paths = facts.tls_paths
    found = Findings()
    for option in (CA_CERT_FILE, SERVER_CERT):
        if option not in paths:
            found.failures.append(f"{facts.paths.cf} sets no {option.cf}")
    if found.failures:
        return found.outcome("")
    ca_path, cert_path = paths[CA_CERT_FILE], paths[SERVER_CERT]
    leaf_list = certificates(facts.data(cert_path, SERVER_CERT.cf)).certificates
    bundle = certificates(facts.data(ca_path, CA_CERT_FILE.cf))
    if not leaf_list:
        return failed([f"{SERVER_CERT.cf} {cert_path} holds no PEM certificate"])
    leaf = leaf_list[0]
    issuer = leaf.issuer.rfc4514_string()
    named = [c for c in bundle.certificates if c.subject == leaf.issuer]
    for index, candidate in enumerate(named):
        try:
            leaf.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return passed(
            f"{ca_path} ({_count(len(bundle.certificates))}) holds the issuer '{issuer}' of {cert_path}, "
            f"and its key verifies the signature" + (f" (candidate {index + 1} of {len(named)})" if len(named) > 1 else "")
        )
    size = f"{ca_path} ({_count(len(bundle.certificates))}" + (f", {bundle.unreadable} unreadable" if bundle.unreadable else "") + ")"
    if named:
        found.failures.append(
            f"{size} holds {_count(len(named))} named '{issuer}', but no key among them verifies the signature "
            f"of {cert_path}: a different CA with the same name"
        )
    else:
        found.failures.append(f"{size} does not hold the issuer of {cert_path}: '{issuer}'")
    if leaf.issuer == leaf.subject:
        found.failures.append(
            f"{cert_path} is self-signed: clients will not find its issuer among the CAs they trust (the note: avoid self-signed certs)"
        )
    return found.outcome("")


def _count(n: int) -> str:
    return f"{n} certificate" if n == 1 else f"{n} certificates"


CHECK = HostCheck(
    name="ca_file_has_issuer",
    title="CACertFile holds the CA certificate that issued the server certificate",
    expected="a certificate in CACertFile whose subject is the server certificate's issuer and whose key verifies its signature",
    note=(
        "sendmail sends its certificate chain and verifies peers with CACertFile; the note has admins put the "
        "certificate of the CA that issued theirs there (check the 'Issuer:' of the certificate), and make sure a "
        "vendor bundle contains it. A self-signed certificate has no such issuer and confuses clients."
    ),
    fix=Fix(
        "append the issuing CA's certificate (`openssl x509 -noout -issuer -in smtp.pem` names it) to the file "
        "named by define(`confCACERT', ...) -- e.g. cat issuing-ca.pem >> /etc/mail/certs/cacert.pem -- then restart"
    ),
    judge=judge,
)
