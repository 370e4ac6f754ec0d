"""The certificate is issued by a real CA: the note says avoid self-signed certificates."""

from __future__ import annotations

from ..certs import describe, trust_anchors
from ..probe import Probes
from ..target import Service
from ..trust import STRICT_VERIFIERS, not_sent, strict_problems, verify
from ..verdict import Outcome, failed, passed, warned
from ._tls import presented_chain
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    chain, transcript = presented_chain(probes, service)
    ca_file = probes.target.ca_file
    store = str(ca_file) if ca_file else "the system store"
    trust = verify(chain, trust_anchors(ca_file))
    if trust.problem is not None:
        return failed([trust.problem, f"trusted CAs: {store}"], transcript=transcript)
    anchor = describe(trust.path[-1].subject)
    warnings = [
        f"the server does not send the intermediate CA '{describe(ca.subject)}': it is trusted here only because "
        f"{store} holds it; clients whose store has only the root (most MTAs) cannot build the chain"
        for ca in not_sent(trust.path, chain)
    ]
    strict = strict_problems(trust.path)
    if strict:
        warnings += [f"OpenSSL-based MTAs and mail clients trust it (via '{anchor}'), but {STRICT_VERIFIERS} reject it", *strict]
    if warnings:
        return warned(warnings, transcript=transcript)
    return passed(f"issued by '{describe(chain[0].issuer)}', trusted via '{anchor}' from {store}")


CHECK = ServiceCheck(
    name="certificate_trusted",
    title="The certificate chain leads to a trusted CA (not self-signed)",
    area=Area.CERTIFICATE,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected=(
        "a chain that OpenSSL verifies against --smtpsec-ca-file (or the system store), as sending MTAs do; "
        "no self-signed certificate; the server sends every intermediate CA (a warning when only the CA file has one); "
        "a warning where strict RFC 5280 verifiers would reject it"
    ),
    note=(
        "Certificates: 'You should avoid using self-signed certs, these will confuse the end user. Many client "
        "applications will fail miserably when presented with a self-signed cert'; use a key pair from a well "
        "known authority, and make sure the CA file holds the cert of the CA that issued yours."
    ),
    fix=Fix(
        "get a certificate from a real CA; then in sendmail.mc:\n"
        "define(`confSERVER_CERT', `/etc/mail/tls/smtp.pem')dnl\n"
        "define(`confCACERT', `/etc/mail/tls/cacert.pem')dnl   # the issuing CA and intermediates: sendmail sends them\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
