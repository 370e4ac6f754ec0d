"""The optional full TLS scan (``pytest-smtpsec[scan]``, sslyze): every protocol and cipher suite the server accepts.

The stdlib's OpenSSL 3 can no longer offer SSLv3, RC4, DES, 3DES or export suites, so the built-in
probes cannot ask about them; sslyze brings its own legacy OpenSSL (nassl) and can. It is thorough and
therefore not gentle: one connection per cipher suite per protocol, over 500 on one service (see
docs/performance.md). So it runs only when sslyze is installed *and* the user opts in with
``SMTPSEC_SCAN=1``, and only on the one service the TLS checks ask their questions on (smtps first).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..target import Service, Target
from .errors import ProbeError

if TYPE_CHECKING:
    from .cache import Probes

SCAN_ENV = "SMTPSEC_SCAN"
PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
"""Every version the scan asks about, oldest first; the names match ``settings.TLS_VERSIONS``."""


def scan_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """The user opted in (``SMTPSEC_SCAN=1``) and the ``scan`` extra is installed."""
    return environ.get(SCAN_ENV, "").strip() == "1" and importlib.util.find_spec("sslyze") is not None


@dataclass(frozen=True)
class TlsScan:
    """What one service accepted: the cipher suites (IANA names) per protocol version."""

    service: Service
    address: str
    accepted: tuple[tuple[str, tuple[str, ...]], ...]
    """(protocol, accepted suites) for every protocol in :data:`PROTOCOLS`; no suites: refused."""
    connections: int

    @property
    def protocols(self) -> tuple[str, ...]:
        """The versions the server completed a handshake with."""
        return tuple(version for version, suites in self.accepted if suites)

    def suites(self) -> tuple[tuple[str, str], ...]:
        """Every accepted (protocol, suite)."""
        return tuple((version, suite) for version, suites in self.accepted for suite in suites)

    @property
    def summary(self) -> str:
        return f"sslyze scan of {self.address} ({self.connections} connections): accepts {', '.join(self.protocols) or 'nothing'}"


def scanned(probes: Probes, service: Service) -> TlsScan:
    """The scan of ``service``, run once per target and counted in the target's connections."""
    result = probes.cached(("scan", service), lambda: scan_tls(probes.target, service), connections=0)
    # The count is known only afterwards; an empty entry adds it once (Probes.cached counts on first fetch).
    probes.cached(("scan connections", service), lambda: None, connections=result.connections)
    return result


def scan_tls(target: Target, service: Service) -> TlsScan:
    """Ask sslyze for every protocol and cipher suite on ``service``; ProbeError if it cannot connect."""
    from sslyze import (  # type: ignore[import-not-found, unused-ignore]
        ProtocolWithOpportunisticTlsEnum,
        ScanCommand,
        ScanCommandAttemptStatusEnum,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )

    commands = {
        "SSLv2": ScanCommand.SSL_2_0_CIPHER_SUITES,
        "SSLv3": ScanCommand.SSL_3_0_CIPHER_SUITES,
        "TLSv1": ScanCommand.TLS_1_0_CIPHER_SUITES,
        "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
        "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES,
        "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
    }
    address = target.address(service)
    ip = _address_of(target.host, address)
    starttls = None if service.implicit_tls else ProtocolWithOpportunisticTlsEnum.SMTP
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=target.tls_name, port=target.port(service), ip_address=ip),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=target.tls_name,
            tls_opportunistic_encryption=starttls,
            smtp_ehlo_hostname=target.ehlo_name if starttls else None,
            network_timeout=max(1, round(target.timeout)),
        ),
        scan_commands=set(commands.values()),
    )
    destination = (ip, target.port(service))
    before = _COUNTER.count(destination)
    scanner = Scanner(concurrent_server_scans_limit=1)
    scanner.queue_scans([request])
    (result,) = list(scanner.get_results())
    connections = _COUNTER.count(destination) - before
    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        raise ProbeError(address, "sslyze scan", _last_line(result.connectivity_error_trace) or "could not connect")
    accepted = []
    for version, command in commands.items():
        attempt = getattr(result.scan_result, command.value)
        if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED:
            raise ProbeError(address, f"sslyze scan {version}", _last_line(attempt.error_trace) or str(attempt.error_reason))
        accepted.append((version, tuple(sorted({a.cipher_suite.name for a in attempt.result.accepted_cipher_suites}))))
    return TlsScan(service, address, tuple(accepted), connections)


def _address_of(host: str, address: str) -> str:
    """sslyze connects to an IP address; resolving here makes a bad name a ProbeError like any other."""
    try:
        return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
    except OSError as exc:
        raise ProbeError(address, "resolve", exc.strerror or str(exc)) from None


def _last_line(trace: Any) -> str:
    lines = "".join(trace.format_exception_only()).strip().splitlines() if trace is not None else []
    return lines[-1] if lines else ""


class _ConnectionCounter:
    """Counts the TCP connections sslyze opens, per destination.

    sslyze reports accepted and rejected suites but not how many connections it took (it tries some
    suites twice under different names, and retries after timeouts); every one of them goes through
    ``socket.create_connection`` in its ``tls_connection`` module, so that name is wrapped, there only.
    """

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        self._installed = False

    def count(self, destination: tuple[str, int]) -> int:
        self._install()
        with self._lock:
            return self._counts[destination]

    def _install(self) -> None:
        with self._lock:
            if self._installed:
                return
            from sslyze.connection_helpers import tls_connection  # type: ignore[import-not-found, unused-ignore]

            tls_connection.socket = _CountingSocketModule(self)  # type: ignore[assignment, unused-ignore]
            self._installed = True

    def opened(self, address: tuple[str, int]) -> None:
        with self._lock:
            self._counts[(str(address[0]), int(address[1]))] += 1


class _CountingSocketModule:
    """``socket`` as sslyze's tls_connection module sees it: the same module, connections counted."""

    def __init__(self, counter: _ConnectionCounter) -> None:
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        self._counter.opened(address)
        return socket.create_connection(address, *args, **kwargs)


_COUNTER = _ConnectionCounter()
