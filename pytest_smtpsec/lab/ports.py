"""Choose the lab's ports and hold them until sendmail listens on them.

Checking first turns a busy port into an immediate, clear error (sendmail itself would retry for
a while). Holding them (bound, not listening) keeps labs started concurrently from picking the
same free port; sendmail can still bind them because both sides set SO_REUSEADDR and only it listens.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

from .errors import LabError
from .target import SERVICES


def _bind(stack: ExitStack, address: str, port: int, service: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = stack.enter_context(socket.socket(family, socket.SOCK_STREAM))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise LabError(f"port {port} ({service}) on {address} is already in use") from None
        raise LabError(f"cannot listen on {address} port {port} ({service}): {e.strerror}") from None
    return int(sock.getsockname()[1])


@contextmanager
def reserved_ports(address: str, wanted: Mapping[str, int | None] | None, *, smtps: bool) -> Iterator[dict[str, int | None]]:
    """Ports per service: as wanted, or free ones where a port is missing or 0; smtps None if off."""
    wanted = wanted or {}
    if unknown := set(wanted) - set(SERVICES):
        raise LabError(f"unknown service(s) {sorted(unknown)}; expected {', '.join(SERVICES)}")
    with ExitStack() as stack:
        yield {
            service: _bind(stack, address, wanted.get(service) or 0, service) if smtps or service != "smtps" else None
            for service in SERVICES
        }


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests that need a closed port or a port to give away)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])
