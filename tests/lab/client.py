"""smtplib/ssl helpers for the lab tests: deliberately plain, independent of the plugin's probes."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_smtpsec.lab import LabTarget


class _NamedContext(ssl.SSLContext):
    """Checks the certificate for `tls_name` whatever host smtplib connected to (an IP here)."""

    tls_name = ""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["server_hostname"] = self.tls_name
        return super().wrap_socket(sock, *args, **kwargs)


def tls_context(
    target: LabTarget,
    *,
    verify: bool = True,
    version: ssl.TLSVersion | None = None,
    seclevel: int | None = None,
) -> ssl.SSLContext:
    ctx = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.tls_name = target.tls_name
    ctx.load_verify_locations(target.ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if seclevel is not None:
        ctx.set_ciphers(f"DEFAULT@SECLEVEL={seclevel}")
    return ctx


@contextmanager
def smtp(target: LabTarget, service: str = "submission", **tls: Any) -> Iterator[smtplib.SMTP]:
    """A session after the banner: plain for smtp/submission, implicit TLS for smtps."""
    port = target.ports[service]
    assert port, f"{target.profile} has no {service} port"
    if service == "smtps":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(target.host, port, context=tls_context(target, **tls), timeout=10)
    else:
        conn = smtplib.SMTP(target.host, port, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def ehlo(conn: smtplib.SMTP) -> list[str]:
    code, text = conn.ehlo("client.example")
    assert code == 250, (code, text)
    return text.decode().splitlines()[1:]


def plain(user: str, password: str) -> str:
    return "PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def reply(conn: smtplib.SMTP, line: str) -> tuple[int, str]:
    code, text = conn.docmd(line)
    return code, text.decode()
