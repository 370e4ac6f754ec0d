"""No NULL, anonymous, export, RC4 or (3)DES cipher suites.

The stdlib's OpenSSL can still offer the NULL and anonymous suites, so those are probed with one
handshake; RC4, DES, 3DES and export suites are compiled out of OpenSSL 3, so they are not probed, and
the result says so. With the optional scan (``--smtpsec-scan=sslyze``, sslyze installed apart) sslyze's
own legacy OpenSSL tries every suite instead, and any weak one accepted fails the check.
"""

from __future__ import annotations

import ssl

from ..probe import Probes
from ..probe.connection import probe_context
from ..probe.scan import TlsScan, scan_wanted, scanned
from ..target import Service
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, Fix, NotApplicable, ServiceCheck

WEAK_CLASSES = {"NULL": "eNULL", "anonymous": "aNULL", "export": "EXPORT", "RC4": "RC4", "DES": "DES", "3DES": "3DES"}
_MARKERS = (
    ("NULL", ("_WITH_NULL_",)),
    ("anonymous", ("_ANON_",)),
    ("export", ("EXPORT",)),
    ("RC4", ("RC4",)),
    ("3DES", ("3DES", "DES_192_EDE3")),
    ("DES", ("DES",)),
)
"""How the weak classes show in IANA suite names (as the scan reports them); the first match names the class."""


def weak_class(suite: str) -> str | None:
    """The weak class of an IANA-named suite (``TLS_RSA_WITH_RC4_128_SHA`` -> ``RC4``), None if it is none of them."""
    name = suite.upper()
    return next((label for label, markers in _MARKERS if any(m in name for m in markers)), None)


def offerable() -> tuple[list[str], list[str]]:
    """(classes this OpenSSL can offer, classes it cannot)."""
    can, cannot = [], []
    for label, spec in WEAK_CLASSES.items():
        try:
            probe_context(maximum=ssl.TLSVersion.TLSv1_2).set_ciphers(f"{spec}:@SECLEVEL=0")
        except ssl.SSLError:
            cannot.append(label)
        else:
            can.append(label)
    return can, cannot


def judge(probes: Probes, service: Service) -> Outcome:
    tls_session(probes, service).handshake()  # the service must speak TLS at all before its ciphers are asked about
    if scan_wanted(probes.target):
        return _judge_scan(scanned(probes, service))
    can, cannot = offerable()
    if not can:
        raise NotApplicable(f"this OpenSSL can offer none of the weak suites ({', '.join(cannot)})")
    context = probe_context(maximum=ssl.TLSVersion.TLSv1_2)
    context.set_ciphers(":".join(f"{WEAK_CLASSES[c]}" for c in can) + ":@SECLEVEL=0")
    answer = probes.handshake(service, "weak ciphers: " + ", ".join(can), context)
    if answer.accepted:
        return failed([f"accepts a weak cipher suite on {service.value}: {answer.detail}"], transcript=answer.transcript)
    reason = f"on {service.value}: refuses {', '.join(can)} suites (TLS alert)"
    if cannot:
        reason += f"; not probed: {', '.join(cannot)} (compiled out of this OpenSSL; --smtpsec-scan=sslyze probes them)"
    return passed(reason)


def _judge_scan(scan: TlsScan) -> Outcome:
    weak = [(label, version, suite) for version, suite in scan.suites() if (label := weak_class(suite))]
    evidence = "\n".join([scan.summary, *(f"  {version}: {', '.join(suites)}" for version, suites in scan.accepted if suites)])
    if weak:
        findings = [f"accepts {label} suite {suite} with {version} on {scan.service.value}" for label, version, suite in weak]
        return failed(findings, transcript=evidence)
    reason = f"on {scan.service.value}: accepts none of the {', '.join(WEAK_CLASSES)} suites ({scan.summary})"
    return passed(reason, transcript=evidence)


CHECK = ServiceCheck(
    name="tls_ciphers",
    title="No NULL, anonymous, export, RC4 or DES/3DES cipher suites",
    area=Area.TLS,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected="on every TLS service: a TLS 1.2 handshake that offers only weak suites is refused with a TLS alert",
    note=(
        "The SSL must really protect the userid and password: NULL suites do not encrypt, anonymous suites do "
        "not authenticate the server, and export, RC4 and DES suites are broken."
    ),
    fix=Fix(
        "define(`confCIPHER_LIST', `HIGH:!aNULL:!eNULL:!EXPORT:!RC4:!DES:!3DES:!MD5')dnl\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
