"""Every TLS service presents the same certificate, so a renewal cannot miss one of them."""

from __future__ import annotations

from ..certs import describe, fingerprint
from ..probe import ProbeError, Probes
from ..verdict import Outcome, failed, passed
from ._tls import presented_chain
from .base import Area, Fix, NotApplicable, TargetCheck


def judge(probes: Probes) -> Outcome:
    seen: dict[str, list[str]] = {}
    subjects: dict[str, str] = {}
    errors: list[ProbeError] = []
    for each in probes.target.services:
        try:
            chain, _ = presented_chain(probes, each)
        except NotApplicable:
            continue  # no TLS there: judged by the per-service checks
        except ProbeError as exc:
            errors.append(exc)
            continue
        print_ = fingerprint(chain[0])
        seen.setdefault(print_, []).append(each.value)
        subjects[print_] = describe(chain[0].subject)
    if len(seen) < 2:
        if sum(map(len, seen.values())) < 2:
            if errors:
                raise errors[0]  # could not ask: an error, not "nothing to compare"
            raise NotApplicable("fewer than two services presented a certificate")
        return passed(f"{', '.join(next(iter(seen.values())))} present the same certificate")
    findings = [f"{', '.join(services)}: '{subjects[fp]}' (SHA-256 {fp[:23]}...)" for fp, services in seen.items()]
    return failed(["the services present different certificates", *findings])


CHECK = TargetCheck(
    name="same_certificate_everywhere",
    title="Ports 25, 587 and 465 present the same certificate",
    area=Area.CERTIFICATE,
    expected="one certificate on every TLS service of the host",
    note=(
        "Certificates: sendmail uses one key pair (confSERVER_CERT/confSERVER_KEY) for all its daemons; "
        "a different certificate on one port means a second, forgotten configuration."
    ),
    fix=Fix(
        "point every daemon at the same pair: define(`confSERVER_CERT', ...)dnl, define(`confSERVER_KEY', ...)dnl;\n"
        "remove per-daemon overrides; m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
