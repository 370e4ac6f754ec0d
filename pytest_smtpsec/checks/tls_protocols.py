"""No SSLv3, TLS 1.0 or 1.1: the server refuses protocols older than the policy (TLS 1.2 by default).

The stdlib's OpenSSL cannot offer SSLv3 (nor, on some systems, TLS 1.0/1.1), and says so in the result;
with the optional scan (``--smtpsec-scan=sslyze``, sslyze installed apart) sslyze asks about every version
from SSLv2 on instead.
"""

from __future__ import annotations

import ssl

from ..probe import Probes
from ..probe.connection import probe_context
from ..probe.scan import PROTOCOLS, TlsScan, scan_wanted, scanned
from ..settings import TLS_VERSIONS
from ..target import Service
from ..verdict import Outcome, failed, passed
from ._tls import handshake_service
from .base import Area, Fix, TargetCheck

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


def judge(probes: Probes) -> Outcome:
    where = handshake_service(probes)
    negotiated = probes.session(where).handshake().version  # the probe session's modern handshake
    minimum = probes.target.min_tls
    if scan_wanted(probes.target):
        return _judge_scan(scanned(probes, where), negotiated, minimum)
    too_old = [v for v in TLS_VERSIONS[: TLS_VERSIONS.index(minimum)] if client_can_offer(v)]
    unprobed = ["SSLv3 (this OpenSSL has no SSLv3)"]
    unprobed += [f"{v} (this OpenSSL cannot offer it)" for v in TLS_VERSIONS[: TLS_VERSIONS.index(minimum)] if v not in too_old]
    findings = []
    if negotiated in TLS_VERSIONS[: TLS_VERSIONS.index(minimum)]:
        findings.append(f"the best protocol negotiated was {negotiated}, below the policy minimum {minimum}")
    # One handshake offering every old version at once: the server takes the newest it accepts, so a
    # refusal answers for all of them. Only when one is accepted do we ask version by version.
    accepted = []
    if too_old and _accepts(probes, where, too_old[0], too_old[-1]):
        accepted = [v for v in too_old if _accepts(probes, where, v, v)]
    findings += [f"accepts {v} on {where.value}" for v in accepted]
    if findings:
        return failed(findings)
    reason = f"on {where.value}: negotiates {negotiated}; refuses {', '.join(too_old) or 'nothing older'}"
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


def _accepts(probes: Probes, service: Service, oldest: str, newest: str) -> bool:
    offer = oldest if oldest == newest else f"{oldest}-{newest}"
    context = probe_context(minimum=_VERSIONS[oldest], maximum=_VERSIONS[newest])
    return probes.handshake(service, offer, context).accepted


CHECK = TargetCheck(
    name="tls_protocols",
    title="No SSLv3, TLS 1.0 or TLS 1.1; TLS 1.2 or newer is offered",
    area=Area.TLS,
    expected="the handshake negotiates TLS 1.2+; handshakes offering only TLS 1.0 or only TLS 1.1 are refused",
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
