"""Every TLS service presents the same certificate, with and without SNI, so a renewal cannot miss one of them.

Many MTAs connect to port 25 without SNI; a server whose right certificate appears only with SNI shows
them another one (often a self-signed default). Each service is asked both ways (the probe session sends
SNI, :meth:`Probes.without_sni` does not) unless the TLS name is an address, when no client sends SNI.
"""

from __future__ import annotations

from cryptography import x509

from ..certs import describe, fingerprint, load_chain, name_matches, trust_anchors
from ..probe import ProbeError, Probes
from ..target import Service
from ..trust import verify
from ..verdict import Outcome, failed, passed
from ._tls import presented_chain
from .base import Area, Fix, NotApplicable, TargetCheck


def views(probes: Probes, service: Service) -> list[tuple[str, x509.Certificate | str]]:
    """What clients see on ``service``: (view, leaf) with SNI and without; (view, why nothing) where TLS failed."""
    chain, _ = presented_chain(probes, service)
    seen: list[tuple[str, x509.Certificate | str]] = [(service.value, chain[0])]
    if probes.target.sni is not None:
        plain = probes.without_sni(service)
        label = f"{service.value} without SNI"
        seen.append((label, load_chain(plain.chain)[0]) if plain.accepted and plain.chain else (label, plain.detail or "no certificate"))
    return seen


def _about(cert: x509.Certificate, probes: Probes) -> str:
    """One line on a certificate a client may get: who it is for, and whether a client would accept it."""
    notes = [f"SHA-256 {fingerprint(cert)[:23]}..."]
    try:
        problem = verify((cert,), trust_anchors(probes.target.ca_file)).problem
    except (OSError, ValueError):
        problem = None
    if problem:
        notes.append(problem)
    if not name_matches(cert, probes.target.tls_name):
        notes.append(f"does not cover {probes.target.tls_name}")
    return f"'{describe(cert.subject)}' ({'; '.join(notes)})"


def judge(probes: Probes) -> Outcome:
    seen: dict[str, list[str]] = {}
    about: dict[str, str] = {}
    refused: list[str] = []
    errors: list[ProbeError] = []
    for each in probes.target.services:
        try:
            found = views(probes, each)
        except NotApplicable:
            continue  # no TLS there: judged by the per-service checks
        except ProbeError as exc:
            errors.append(exc)
            continue
        for label, cert in found:
            if isinstance(cert, str):
                refused.append(f"{label}: no TLS for a client without SNI ({cert}); many MTAs send none")
                continue
            print_ = fingerprint(cert)
            seen.setdefault(print_, []).append(label)
            about.setdefault(print_, _about(cert, probes))
    if len(seen) < 2 and not refused:
        if sum(map(len, seen.values())) < 2:
            if errors:
                raise errors[0]  # could not ask: an error, not "nothing to compare"
            raise NotApplicable("fewer than two services presented a certificate")
        return passed(f"{', '.join(next(iter(seen.values())))} present the same certificate")
    findings = [f"{', '.join(labels)}: {about[fp]}" for fp, labels in seen.items()]
    headline = "clients get different certificates on this host" if len(seen) > 1 else "not every client gets the certificate"
    return failed([headline, *findings, *refused])


CHECK = TargetCheck(
    name="same_certificate_everywhere",
    title="Ports 25, 587 and 465 present the same certificate, with and without SNI",
    area=Area.CERTIFICATE,
    expected="one certificate on every TLS service of the host, to clients that send SNI and to those that do not",
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
