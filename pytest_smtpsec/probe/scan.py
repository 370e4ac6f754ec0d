"""The optional full TLS scan: every protocol and cipher suite the server accepts, asked by sslyze.

The stdlib's OpenSSL 3 can no longer offer SSLv3, RC4, DES, 3DES or export suites, so the built-in
probes cannot ask about them; sslyze brings its own legacy OpenSSL (nassl) and can. It is thorough and
therefore not gentle: one connection per cipher suite per protocol, over 500 on one service (see
docs/performance.md). So it runs only when the user names an sslyze command (``--smtpsec-scan=sslyze``
or the ``smtpsec_scan`` ini key), and only on the one service the TLS checks ask their questions on
(smtps first).

sslyze runs as a separate process, installed apart (``pipx install sslyze==6.3.1``): it pins its own
``cryptography``, which must never hold back ours.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..target import Service, Target
from .errors import ProbeError

if TYPE_CHECKING:
    from .cache import Probes

PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
"""Every version the scan asks about, oldest first; the names match ``settings.TLS_VERSIONS``."""
_COMMANDS = {
    "SSLv2": ("--sslv2", "ssl_2_0_cipher_suites"),
    "SSLv3": ("--sslv3", "ssl_3_0_cipher_suites"),
    "TLSv1": ("--tlsv1", "tls_1_0_cipher_suites"),
    "TLSv1.1": ("--tlsv1_1", "tls_1_1_cipher_suites"),
    "TLSv1.2": ("--tlsv1_2", "tls_1_2_cipher_suites"),
    "TLSv1.3": ("--tlsv1_3", "tls_1_3_cipher_suites"),
}
"""Per version: sslyze's command-line flag and the key of its result in sslyze's JSON output."""
SCAN_TIMEOUT_PER_SECOND = 30
"""The scan may take this many times the target's timeout (it opens hundreds of connections)."""


def scan_wanted(target: Target) -> bool:
    """The user named an sslyze command for this target (``--smtpsec-scan``)."""
    return bool(target.scan)


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
    """Run sslyze on ``service`` and read its JSON; ProbeError if it cannot connect or does not finish."""
    address = target.address(service)
    ip = _address_of(target.host, address)
    flags = [flag for flag, _ in _COMMANDS.values()]
    starttls = [] if service.implicit_tls else ["--starttls", "smtp"]
    sni = ["--sni", target.sni] if target.sni else []
    with tempfile.TemporaryDirectory(prefix="smtpsec-scan-") as tmp:
        out = Path(tmp) / "scan.json"
        command = [*target.scan, "--quiet", f"--json_out={out}", "--mozilla_config=disable", *flags, *starttls, *sni]
        command.append(f"{target.tls_name}:{target.port(service)}{{{ip}}}")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=SCAN_TIMEOUT_PER_SECOND * target.timeout)
        except FileNotFoundError:
            raise ProbeError(address, "sslyze scan", f"no such command: {target.scan[0]}") from None
        except subprocess.TimeoutExpired:
            raise ProbeError(address, "sslyze scan", f"did not finish within {SCAN_TIMEOUT_PER_SECOND * target.timeout:g} s") from None
        if done.returncode != 0 or not out.is_file():
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise ProbeError(address, "sslyze scan", last)
        return read_scan(json.loads(out.read_text()), service, address)


def read_scan(document: dict[str, Any], service: Service, address: str) -> TlsScan:
    """A :class:`TlsScan` from sslyze's JSON output (``--json_out``) for one server."""
    try:
        (result,) = document["server_scan_results"]
        if result["scan_status"] != "COMPLETED" or result.get("scan_result") is None:
            raise ProbeError(address, "sslyze scan", _last_line(result.get("connectivity_error_trace")) or "could not connect")
        accepted = []
        connections = 0
        for version, (_, key) in _COMMANDS.items():
            attempt = result["scan_result"][key]
            if attempt["status"] != "COMPLETED":
                raise ProbeError(address, f"sslyze scan {version}", _last_line(attempt.get("error_trace")) or str(attempt["error_reason"]))
            suites = attempt["result"]
            accepted.append((version, tuple(sorted({a["cipher_suite"]["name"] for a in suites["accepted_cipher_suites"]}))))
            connections += len(suites["accepted_cipher_suites"]) + len(suites["rejected_cipher_suites"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProbeError(address, "sslyze scan", f"unexpected sslyze output ({exc!r}): is it sslyze 6?") from None
    return TlsScan(service, address, tuple(accepted), connections)


def _address_of(host: str, address: str) -> str:
    """sslyze connects to an IP address; resolving here makes a bad name a ProbeError like any other."""
    try:
        return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
    except OSError as exc:
        raise ProbeError(address, "resolve", exc.strerror or str(exc)) from None


def _last_line(trace: Any) -> str:
    """The last line of an error trace as sslyze's JSON gives it (a string), or ""."""
    lines = str(trace).strip().splitlines() if trace else []
    return lines[-1] if lines else ""
