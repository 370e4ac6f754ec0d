"""Plain smtplib/ssl against a lab MTA: the ground truth the plugin's checks are compared with."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_smtpsec.lab import LabTarget


def context(target: LabTarget, *, verify: bool = True) -> ssl.SSLContext:
    """Verifies the chain against the lab CA and the name against the IP smtplib connects to (in the SAN)."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(target.ca_file))


@contextmanager
def session(target: LabTarget, service: str, *, ctx: ssl.SSLContext | None = None) -> Iterator[smtplib.SMTP]:
    """An EHLO'd session on `service` (implicit TLS on smtps); QUIT at the end."""
    port = target.ports[service]
    assert port is not None, f"{service} is off in {target.profile}"
    if service == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, port, timeout=5, context=ctx or context(target))
    else:
        client = smtplib.SMTP(target.host, port, timeout=5)
    try:
        client.ehlo("client.test")
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def starttls(client: smtplib.SMTP, ctx: ssl.SSLContext) -> None:
    code, text = client.starttls(context=ctx)
    assert code == 220, text
    client.ehlo("client.test")


def code(client: smtplib.SMTP, line: str) -> int:
    return client.docmd(line)[0]


def handshake_error(target: LabTarget, ctx: ssl.SSLContext) -> ssl.SSLError | None:
    """None if a TLS handshake on smtps with `ctx` succeeds, else the error the client raised."""
    try:
        with session(target, "smtps", ctx=ctx):
            return None
    except ssl.SSLError as e:
        return e
