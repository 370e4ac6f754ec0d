"""The MTA-STS policy fetch (RFC 8461 3.3): one HTTPS GET, the certificate verified, no redirect followed."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from ..target import Target
from .errors import ProbeError

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_READ = 64 * 1024 + 1
"""One byte over what a sender accepts: enough to know the policy is too large."""


@dataclass(frozen=True)
class PolicyFetch:
    """What the policy host answered. ``tls_error`` set: the certificate was refused (a sender would stop
    there); otherwise ``status``, ``content_type``, ``location`` (of a redirect) and ``body``."""

    url: str
    tls_error: str = ""
    status: int = 0
    content_type: str = ""
    location: str = ""
    body: bytes = b""


def fetch_policy(target: Target, address: str, *, port: int = 443) -> PolicyFetch:
    """GET the policy of ``target.domain`` from ``address`` (found with the target's resolver), verifying
    the certificate for ``mta-sts.<domain>`` against the CA file (or the system store)."""
    host = f"mta-sts.{target.domain}"
    url = f"https://{host}{POLICY_PATH}"
    where = f"{address}:{port}"
    context = ssl.create_default_context(cafile=str(target.ca_file) if target.ca_file else None)
    try:
        raw = socket.create_connection((address, port), timeout=target.timeout)
    except OSError as exc:
        raise ProbeError(where, "connect", f"policy host {host}: {exc.strerror or exc}") from None
    with raw:
        try:
            conn = context.wrap_socket(raw, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            return PolicyFetch(url, tls_error=exc.verify_message or str(exc))
        except (ssl.SSLError, OSError) as exc:
            raise ProbeError(where, "tls", f"policy host {host}: {exc}") from None
        with conn:
            request = f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pytest-smtpsec\r\nConnection: close\r\n\r\n"
            try:
                conn.sendall(request.encode())
                data = b""
                while len(data) < MAX_READ + 16384:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (OSError, ssl.SSLError) as exc:
                raise ProbeError(where, "http", f"policy host {host}: {exc}") from None
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProbeError(where, "http", f"policy host {host}: not an HTTP response: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _unchunk(body)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    kind, location = headers.get("content-type", ""), headers.get("location", "")
    return PolicyFetch(url, status=int(parts[1]), content_type=kind, location=location, body=body)


def _unchunk(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body += rest[:size]
        data = rest[size + 2 :]
    return body
