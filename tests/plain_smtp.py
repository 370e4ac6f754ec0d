"""Plain smtplib/ssl against a lab server (sendmail, Postfix or Exim): the ground truth the plugin's
checks are compared with, so deliberately independent of the plugin's probes."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_smtpsec.lab import LabTarget

TIMEOUT = 10.0
CLIENT = "client.test"


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
    """Verifies the chain against the lab's CA and the name against the lab's TLS name (``verify=False``: neither)."""
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
def smtp(target: LabTarget, service: str = "submission", *, ctx: ssl.SSLContext | None = None, **tls: Any) -> Iterator[smtplib.SMTP]:
    """A session after the banner: plain for smtp/submission, implicit TLS for smtps (``ctx``, or one made
    by :func:`tls_context` with ``tls``); QUIT at the end."""
    port = target.ports[service]
    assert port, f"{target.profile} has no {service} port"
    if service == "smtps":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(target.host, port, context=ctx or tls_context(target, **tls), timeout=TIMEOUT)
    else:
        conn = smtplib.SMTP(target.host, port, timeout=TIMEOUT)
    try:
        yield conn
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


@contextmanager
def session(target: LabTarget, service: str = "submission", **options: Any) -> Iterator[smtplib.SMTP]:
    """:func:`smtp` after EHLO."""
    with smtp(target, service, **options) as conn:
        ehlo(conn)
        yield conn


def ehlo(conn: smtplib.SMTP) -> list[str]:
    """EHLO, which must succeed; the extensions offered."""
    code, text = conn.ehlo(CLIENT)
    assert code == 250, (code, text)
    return text.decode().splitlines()[1:]


def starttls(conn: smtplib.SMTP, ctx: ssl.SSLContext) -> None:
    """STARTTLS, which must succeed, then EHLO again."""
    code, text = conn.starttls(context=ctx)
    assert code == 220, text
    ehlo(conn)


def plain(user: str, password: str) -> str:
    return "PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def reply(conn: smtplib.SMTP, line: str) -> tuple[int, str]:
    code, text = conn.docmd(line)
    return code, text.decode()


def code(conn: smtplib.SMTP, line: str) -> int:
    return conn.docmd(line)[0]


def handshake_error(target: LabTarget, ctx: ssl.SSLContext) -> ssl.SSLError | None:
    """None if a TLS handshake on smtps with ``ctx`` succeeds, else the error the client raised."""
    try:
        with smtp(target, "smtps", ctx=ctx):
            return None
    except ssl.SSLError as e:
        return e
