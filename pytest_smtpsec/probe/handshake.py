"""Single-purpose TLS probes: would the server complete a handshake with this client offer?

Used to ask about old protocol versions and weak ciphers. Each costs one connection, so the checks ask
on one TLS service per host (the cheapest: smtps needs no SMTP dialogue before the handshake).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ..target import Service, Target
from .connection import Connection, TlsRefused
from .errors import ProbeError
from .transcript import Transcript


@dataclass(frozen=True)
class Handshake:
    """The answer to one client offer: accepted (with what was negotiated) or refused (with how)."""

    service: Service
    offer: str
    accepted: bool
    detail: str
    transcript: str


def try_handshake(target: Target, service: Service, context: ssl.SSLContext, offer: str) -> Handshake:
    """Offer only what ``context`` allows on ``service``; a refusal is an answer, a timeout an error."""
    transcript = Transcript()
    transcript.event(f"offering only {offer}")
    try:
        with Connection.open(target.host, target.port(service), timeout=target.timeout, transcript=transcript) as conn:
            if not service.implicit_tls:
                banner = conn.read_reply("banner")
                if not banner.positive:
                    raise ProbeError(conn.address, "banner", f"session refused: {banner}")
                conn.command(f"EHLO {target.ehlo_name}", "ehlo")
                reply = conn.command("STARTTLS", "starttls")
                if reply.code != 220:
                    raise ProbeError(conn.address, "starttls", f"STARTTLS not accepted: {reply}")
            try:
                info = conn.start_tls(context, target.sni, stage=f"tls {offer}")
            except TlsRefused as exc:
                return Handshake(service, offer, False, exc.reason, transcript.render())
            return Handshake(service, offer, True, f"{info.version} {info.cipher}", transcript.render())
    except ProbeError as exc:
        exc.transcript = transcript.render()
        raise
