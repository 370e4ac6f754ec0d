"""What the certificate checks share: the chain a service presented in its probe session."""

from __future__ import annotations

from cryptography import x509

from ..certs import load_chain, summary
from ..probe import Probes, SessionRecord, Step
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
    if service.implicit_tls:
        session.reply(Step.BANNER)  # a 465 that never greets inside TLS is no mail service to judge: the session's error
    return session


def presented_chain(probes: Probes, service: Service) -> tuple[tuple[x509.Certificate, ...], str]:
    """The chain (leaf first) and its description as evidence; NotApplicable without TLS."""
    session = tls_session(probes, service)
    tls = session.handshake()
    if not tls.chain:
        raise NotApplicable(f"{service.value} presented no certificate")
    chain = load_chain(tls.chain)
    return chain, f"{session.address} presented ({tls.version}):\n{summary(chain)}"
