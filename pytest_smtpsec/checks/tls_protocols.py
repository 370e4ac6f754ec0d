"""No SSLv3, TLS 1.0 or 1.1: each TLS service refuses protocols older than the policy (TLS 1.2 by default).

Judged on every service (25 and 587 after STARTTLS, 465): sites keep old TLS on port 25 "for old MTAs".

The stdlib's OpenSSL cannot offer SSLv3 (nor, on some systems, TLS 1.0/1.1), and says so in the result;
with the optional scan (``--smtpsec-scan=sslyze``, sslyze installed apart) sslyze asks about every version
from SSLv2 on instead.
"""

from __future__ import annotations

import ssl

from ..probe import Handshake, Probes
from ..probe.connection import probe_context
from ..probe.scan import PROTOCOLS, TlsScan, scan_wanted, scanned
from ..settings import TLS_VERSIONS
from ..target import Service
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, Fix, ServiceCheck

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def client_can_offer(version: str) -> bool:
    """Whether this machine's OpenSSL can still speak ``version`` at all (SSLv3 is long compiled out)."""
    flag = {"TLSv1": "HAS_TLSv1", "TLSv1.1": "HAS_TLSv1_1", "TLSv1.2": "HAS_TLSv1_2", "TLSv1.3": "HAS_TLSv1_3"}[version]
    if not getattr(ssl, flag, False):
        return False
    try:
        probe_context(minimum=_VERSIONS[version], maximum=_VERSIONS[version])
    except (ValueError, ssl.SSLError):
        return False
    return True


def judge(probes: Probes, service: Service) -> Outcome:
    negotiated = tls_session(probes, service).handshake().version  # the probe session's own handshake
    minimum = probes.target.min_tls
    if scan_wanted(probes.target):
        return _judge_scan(scanned(probes, service), negotiated, minimum)
    below = TLS_VERSIONS[: TLS_VERSIONS.index(minimum)]
    too_old = [v for v in below if client_can_offer(v)]
    unprobed = ["SSLv3 (this OpenSSL has no SSLv3)", *(f"{v} (this OpenSSL cannot offer it)" for v in below if v not in too_old)]
    findings = []
    if negotiated in below:
        findings.append(f"the best protocol negotiated was {negotiated}, below the policy minimum {minimum}")
    # One handshake offering every old version at once: the server takes the newest it accepts, so a
    # refusal (a TLS alert) answers for all of them, and an acceptance for the newer ones offered. Only
    # the versions older than the one it took are asked one by one.
    accepted: list[str] = []
    evidence = ""
    if too_old:
        first = _offer(probes, service, too_old[0], too_old[-1])
        if first.accepted and first.version in too_old:
            older = too_old[: too_old.index(first.version)]
            accepted = [first.version] + [v for v in older if _offer(probes, service, v, v).accepted]
            evidence = first.transcript
    findings += [f"accepts {v} on {service.value}" for v in sorted(accepted, key=too_old.index)]
    if findings:
        return failed(findings, transcript=evidence or tls_session(probes, service).transcript)
    reason = f"on {service.value}: negotiates {negotiated}; refuses {', '.join(too_old) or 'nothing older'} (TLS alerts)"
    return passed(f"{reason}; not probed: {', '.join(unprobed)}")


def _judge_scan(scan: TlsScan, negotiated: str, minimum: str) -> Outcome:
    too_old = PROTOCOLS[: PROTOCOLS.index(minimum)]
    findings = []
    if negotiated in too_old:
        findings.append(f"the best protocol negotiated was {negotiated}, below the policy minimum {minimum}")
    findings += [f"accepts {v} on {scan.service.value}" for v in scan.protocols if v in too_old]
    if findings:
        return failed(findings, transcript=scan.summary)
    return passed(f"on {scan.service.value}: negotiates {negotiated}; refuses {', '.join(too_old)} ({scan.summary})")


def _offer(probes: Probes, service: Service, oldest: str, newest: str) -> Handshake:
    """One handshake offering only ``oldest``..``newest``: accepted, or refused by a TLS alert (else ProbeError)."""
    offer = oldest if oldest == newest else f"{oldest}-{newest}"
    context = probe_context(minimum=_VERSIONS[oldest], maximum=_VERSIONS[newest])
    return probes.handshake(service, offer, context)


CHECK = ServiceCheck(
    name="tls_protocols",
    title="No SSLv3, TLS 1.0 or TLS 1.1; TLS 1.2 or newer is offered",
    area=Area.TLS,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected=(
        "on every TLS service: the handshake negotiates TLS 1.2+; a handshake offering only TLS 1.0/1.1 is refused "
        "with a TLS alert (a reset or close is 'could not check')"
    ),
    note=(
        "The SSL the note asks for must really protect 'the userid and password': SSLv3, TLS 1.0 and 1.1 are "
        "broken or deprecated (RFC 8996) and no longer protect them."
    ),
    fix=Fix(
        "define(`confSERVER_SSL_OPTIONS', `+SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1')dnl\n"
        "(or MinProtocol = TLSv1.2 in /etc/ssl/openssl.cnf, which Debian sets by default)\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
