"""The certificate names the host users connect to."""

from __future__ import annotations

from ..certs import describe, name_match, san_names
from ..probe import Probes
from ..target import Service
from ..verdict import Outcome, failed, passed, warned
from ._tls import presented_chain
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    chain, transcript = presented_chain(probes, service)
    leaf, name = chain[0], probes.target.tls_name
    how = name_match(leaf, name)
    if how == "subjectAltName":
        return passed(f"subjectAltName covers {name}")
    if how == "common name":
        return warned(
            [f"only the subject's common name covers {name}, and there is no subjectAltName: OpenSSL-based MTAs accept "
             "it, but clients that ignore the CN (Python, Go, browsers' libraries, many mail apps) refuse it"],
            transcript=transcript,
        )  # fmt: skip
    dns, ips = san_names(leaf)
    listed = ", ".join([*dns, *map(str, ips)]) or f"none (subject {describe(leaf.subject)})"
    return failed([f"the certificate does not cover {name}; its subjectAltName lists: {listed}"], transcript=transcript)


CHECK = ServiceCheck(
    name="certificate_matches_host",
    title="The certificate's subjectAltName covers the server's name",
    area=Area.CERTIFICATE,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected=(
        "--smtpsec-tls-name is covered by the certificate's subjectAltName (RFC 6125: a wildcard only as the whole "
        "leftmost label, an IP address by an IP entry); a warning where only the subject's CN names it"
    ),
    note=(
        "Certificates: a web server's key pair will do, 'but only if the host names used for web services and "
        "email services match'; clients check the name they connect to against the certificate."
    ),
    fix=Fix(
        "issue a certificate whose subjectAltName includes the mail host name, then\n"
        "define(`confSERVER_CERT', `/etc/mail/tls/smtp.pem')dnl and define(`confSERVER_KEY', ...)dnl\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
