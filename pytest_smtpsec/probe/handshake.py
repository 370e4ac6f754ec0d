"""Single-purpose TLS probes: would the server complete a handshake with this client offer, and what does it show?

Used to ask each TLS service about old protocol versions and weak ciphers, and to see the certificate a
client gets without SNI. Each costs one connection. Only a TLS answer counts: a completed handshake, or an
alert (or a version or suite the client did not offer); a reset, a close or silence is "could not check".
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ..target import Service, Target
from .connection import CleartextOnTls, Connection, TlsRefused
from .errors import ProbeError
from .transcript import Transcript

SILENT_WAIT = 0.2
"""Seconds a client on 465 waits before its ClientHello: a server that fills the silence with cleartext SMTP
(a listener that serves TLS only to clients that start it) is caught; one that waits longer is not (sslh's
default timeout is 2 s). The wait sets the floor of a host's wall time, which is why it is this short."""


@dataclass(frozen=True)
class Handshake:
    """The answer to one client offer: accepted (with what was negotiated and shown) or refused (with how)."""

    service: Service
    offer: str
    accepted: bool
    detail: str
    transcript: str
    version: str = ""
    chain: tuple[bytes, ...] = ()
    """The certificates the server sent, leaf first (DER), when accepted."""


def try_handshake(
    target: Target, service: Service, context: ssl.SSLContext, offer: str, *, sni: bool = True, listen_first: float = 0.0
) -> Handshake:
    """Offer only what ``context`` allows on ``service``; a TLS refusal is an answer, anything else an error.

    ``sni`` False sends no server name; ``listen_first`` seconds of silence come before a ClientHello on 465,
    and cleartext from the server in that time is :class:`CleartextOnTls`.
    """
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
            elif listen_first:
                seen = conn.listen(listen_first, "silent client")
                if seen:
                    transcript.received(seen[:200].decode("utf-8", "replace").splitlines())
                    if seen[:1].isdigit():
                        raise CleartextOnTls(conn.address, "silent client", seen)
                    raise ProbeError(conn.address, "silent client", f"the server spoke first, and not TLS: {seen[:60]!r}")
                transcript.event(f"waited {listen_first:g} s without a word: the server said nothing, as a TLS server should")
            try:
                info = conn.start_tls(context, target.sni if sni else None, stage=f"tls {offer}")
            except TlsRefused as exc:
                return Handshake(service, offer, False, exc.reason, transcript.render())
            return Handshake(service, offer, True, f"{info.version} {info.cipher}", transcript.render(), info.version, info.chain)
    except ProbeError as exc:
        exc.transcript = transcript.render()
        raise
