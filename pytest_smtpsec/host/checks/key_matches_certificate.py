"""Each configured key file holds the private key of its certificate (server pair and client pair).

The note installs "an SSL key pair -- a certificate and private key for your host"; after a renewal
or a copy from the web server, the two files easily come from different pairs, and sendmail then
cannot start TLS at all. Compared by public key: the certificate's against the one the key derives.
"""

from __future__ import annotations

from ...checks.base import Fix
from ...verdict import Outcome
from ..errors import CannotTell
from ..facts import HostFacts
from ..note_options import PAIRS
from ..pem import UnusableKey, certificates, describe, private_key_public, same_key
from .base import Findings, HostCheck


def judge(facts: HostFacts) -> Outcome:
    paths = facts.tls_paths
    found = Findings()
    matched, unset = [], []
    for pair, cert_option, key_option in PAIRS:
        cert_path, key_path = paths.get(cert_option), paths.get(key_option)
        if not cert_path or not key_path:
            unset.append(f"{pair} pair not configured ({cert_option.cf}/{key_option.cf})")
            continue
        try:
            certs = certificates(facts.data(cert_path, cert_option.cf)).certificates
            key_data = facts.data(key_path, key_option.cf)
        except CannotTell as exc:
            found.unknown.append(str(exc))
            continue
        if not certs:
            found.failures.append(f"{cert_option.cf} {cert_path} holds no PEM certificate")
            continue
        try:
            public = private_key_public(key_data)
        except UnusableKey as exc:
            found.failures.append(f"{key_option.cf} {key_path}: {exc}")
            continue
        if public is None:
            found.failures.append(f"{key_option.cf} {key_path} holds no PEM private key")
            continue
        cert_key = certs[0].public_key()
        if not same_key(cert_key, public):
            found.failures.append(
                f"{key_option.cf} {key_path} does not belong to {cert_option.cf} {cert_path}: the certificate's "
                f"public key is {describe(cert_key)}, the private key's is {describe(public)}"
            )
        else:
            matched.append(f"{pair} pair matches ({describe(public)})")
    if not matched and not found.failures and not found.unknown:
        raise CannotTell(f"{facts.paths.cf} configures neither key pair ({'; '.join(unset)})")
    return found.outcome("; ".join(matched + unset))


CHECK = HostCheck(
    name="key_matches_certificate",
    title="Each key file holds the private key of its certificate",
    expected="ServerKeyFile derives the public key in ServerCertFile; ClientKeyFile the one in ClientCertFile",
    note=(
        "TLS needs a key pair: the certificate the server presents and the private key that proves it owns it. "
        "The note installs a server pair and a client pair (copies of the same data); a key from another pair "
        "makes sendmail give up on STARTTLS and smtps."
    ),
    fix=Fix(
        "install the private key issued with the certificate (compare `openssl x509 -noout -pubkey -in smtp.pem` "
        "with `openssl pkey -pubout -in private/smtpkey.pem`), then restart sendmail"
    ),
    judge=judge,
)
