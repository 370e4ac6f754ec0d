"""Is anything listening? For hosts that must not offer mail at all (the note: "they do not offer any of
the services at ports 25, 465 and 587")."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ProbeError
from .network import ConnectError, connect

BANNER_WAIT = 0.3
"""How long to wait for a banner on a port that should not be open, only to show what answers."""


@dataclass(frozen=True)
class PortState:
    port: int
    open: bool
    detail: str


def port_state(host: str, port: int, timeout: float, *, banner: bool = True) -> PortState:
    """Refused or no answer (dropped) is closed; an accepted TCP connection is open, with what it said.

    A name that does not resolve says nothing about the port, nor does a wait cut short by the host's
    deadline: both are a ``ProbeError`` (could not check), never "closed".
    """
    try:
        sock = connect(host, port, timeout=timeout)
    except ConnectError as exc:
        if exc.kind == "lookup" or exc.cut_short:
            raise ProbeError(f"{host}:{port}", "connect", exc.reason) from None
        if exc.kind == "refused":
            return PortState(port, False, "refused")
        if exc.kind == "timeout":
            return PortState(port, False, exc.reason.replace("(filtered?)", "(dropped)"))
        return PortState(port, False, exc.reason)
    with sock:
        if not banner:  # an implicit-TLS port says nothing first: no point waiting
            return PortState(port, True, "accepts connections")
        sock.settimeout(min(BANNER_WAIT, timeout))
        try:
            said = sock.recv(200)
        except OSError:
            said = b""
    seen = said.decode("ascii", "replace").strip().splitlines()
    return PortState(port, True, f"accepts connections; said {seen[0]!r}" if seen else "accepts connections (said nothing)")
