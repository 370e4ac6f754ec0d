"""Is anything listening? For hosts that must not offer mail at all (the note: "they do not offer any of
the services at ports 25, 465 and 587")."""

from __future__ import annotations

import socket
from dataclasses import dataclass

BANNER_WAIT = 0.3
"""How long to wait for a banner on a port that should not be open, only to show what answers."""


@dataclass(frozen=True)
class PortState:
    port: int
    open: bool
    detail: str
    known: bool = True
    """False when the port was never reached (unknown name, no route): neither open nor closed is proven."""


def port_state(host: str, port: int, timeout: float, *, banner: bool = True) -> PortState:
    """Refused or no answer (dropped by a firewall) is closed; an accepted TCP connection is open, with what it
    said; anything else (a name that does not resolve, no route to the host) leaves the port unknown."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        return PortState(port, False, "refused")
    except TimeoutError:
        return PortState(port, False, f"no answer within {timeout:g} s (dropped)")
    except socket.gaierror as exc:
        return PortState(port, False, f"unknown host {host!r} ({exc.strerror})", known=False)
    except UnicodeError:  # an empty or over-long label fails in the IDNA codec, before any lookup
        return PortState(port, False, f"not a valid host name: {host!r}", known=False)
    except OSError as exc:
        return PortState(port, False, exc.strerror or str(exc), known=False)
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
