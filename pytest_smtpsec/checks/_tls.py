"""What the certificate checks share: the chain a service presented in its probe session."""

from __future__ import annotations

from cryptography import x509

from ..certs import load_chain, summary
from ..probe import ProbeError, Probes, SessionRecord, Step
from ..target import Service
from .base import NotApplicable


def tls_session(probes: Probes, service: Service) -> SessionRecord:
    """The probe session of ``service`` once TLS is up; NotApplicable where the service never starts TLS."""
    session = probes.session(service)
    if not service.implicit_tls:
        ehlo = session.reply(Step.EHLO)
        if ehlo is not None and not ehlo.positive:
            session.handshake()  # raises what stopped the session: EHLO refused is "could not check"
        if ehlo is not None and ehlo.extension("STARTTLS") is None:
            raise NotApplicable(f"{service.value} offers no STARTTLS (requires_starttls_before_auth judges that)")
        starttls = session.reply(Step.STARTTLS)
        if starttls is not None and starttls.code != 220:
            raise NotApplicable(f"STARTTLS was refused on {service.value} ({starttls}), so no TLS session")
    session.handshake()
    return session


def presented_chain(probes: Probes, service: Service) -> tuple[tuple[x509.Certificate, ...], str]:
    """The chain (leaf first) and its description as evidence; NotApplicable without TLS."""
    session = tls_session(probes, service)
    tls = session.handshake()
    if not tls.chain:
        raise NotApplicable(f"{service.value} presented no certificate")
    chain = load_chain(tls.chain)
    return chain, f"{session.address} presented ({tls.version}):\n{summary(chain)}"


def handshake_service(probes: Probes) -> Service:
    """The service to ask single-purpose TLS questions on: the cheapest one whose probe session got TLS up.

    smtps needs no SMTP dialogue before the handshake, so it comes first; a service whose TLS is broken
    is judged by its own checks and does not hide the others.
    """
    first_error: ProbeError | None = None
    for service in (Service.SMTPS, Service.SUBMISSION, Service.SMTP):
        if service not in probes.target.services:
            continue
        try:
            tls_session(probes, service)
        except NotApplicable:
            continue
        except ProbeError as exc:
            first_error = first_error or exc
            continue
        return service
    if first_error is not None:
        raise first_error
    raise NotApplicable("no service of this host speaks TLS")
