"""Is anything listening? For hosts that must not offer mail at all (the note: "they do not offer any of
the services at ports 25, 465 and 587")."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ProbeError
from .network import ConnectError, connect_all

BANNER_WAIT = 0.3
"""How long to wait for a banner on a port that should not be open, only to show what answers."""


@dataclass(frozen=True, slots=True)
class PortState:
    port: int
    open: bool
    detail: str
    known: bool = True
    """False when the port was never reached (no route to the host): neither open nor closed is proven."""


def port_states(host: str, wanted: Sequence[tuple[int, bool]], timeout: float) -> list[PortState]:
    """Each ``(port, banner)`` at once: refused or no answer (dropped) is closed; an accepted TCP connection
    is open, with what it said first if ``banner`` (an implicit-TLS port says nothing first).

    A name that does not resolve says nothing about the ports, nor does a wait cut short by the host's
    deadline: both are a ``ProbeError`` (could not check), never "closed".
    """
    results = connect_all(host, [port for port, _ in wanted], timeout=timeout)
    for (port, _), result in zip(wanted, results, strict=True):
        if isinstance(result, ConnectError) and (result.kind == "lookup" or result.cut_short):
            for other in results:
                if isinstance(other, socket.socket):
                    other.close()
            raise ProbeError(f"{host}:{port}", "connect", result.reason)
    return [_state(port, result, banner, timeout) for (port, banner), result in zip(wanted, results, strict=True)]


def port_state(host: str, port: int, timeout: float, *, banner: bool = True) -> PortState:
    """One port (see :func:`port_states`)."""
    return port_states(host, [(port, banner)], timeout)[0]


def _state(port: int, result: socket.socket | ConnectError, banner: bool, timeout: float) -> PortState:
    if isinstance(result, ConnectError):
        if result.kind == "refused":
            return PortState(port, False, "refused")
        return PortState(port, False, result.reason.replace("(filtered?)", "(dropped)"), known=result.kind == "timeout")
    with result as sock:
        if not banner:
            return PortState(port, True, "accepts connections")
        sock.settimeout(min(BANNER_WAIT, timeout))
        try:
            said = sock.recv(200)
        except OSError:
            said = b""
    seen = said.decode("ascii", "replace").strip().splitlines()
    return PortState(port, True, f"accepts connections; said {seen[0]!r}" if seen else "accepts connections (said nothing)")
