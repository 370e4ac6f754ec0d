"""The `secure` profile does everything the note asks, seen from a plain smtplib client."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest
from cryptography import x509
from plain_smtp import ehlo, plain, reply, smtp, tls_context

from pytest_smtpsec.lab import LabTarget

CLEAR = ["smtp", "submission"]


def test_banner_is_the_profile(secure: LabTarget) -> None:
    with socket.create_connection((secure.host, secure.ports["smtp"]), timeout=5) as sock:
        assert sock.recv(200) == b"220 mail.test ESMTP pytest-smtpsec-secure\r\n"


@pytest.mark.parametrize("service", CLEAR)
def test_no_auth_before_tls(secure: LabTarget, service: str) -> None:
    with smtp(secure, service) as conn:
        features = ehlo(conn)
        assert "STARTTLS" in features
        assert not [f for f in features if f.startswith("AUTH")]
        assert reply(conn, "AUTH " + plain(secure.user, secure.password)) == (503, "5.3.3 AUTH not available")
        assert reply(conn, "AUTH LOGIN") == (503, "5.3.3 AUTH not available")


@pytest.mark.parametrize("service", CLEAR)
def test_starttls_then_login(secure: LabTarget, service: str) -> None:
    with smtp(secure, service) as conn:
        ehlo(conn)
        assert conn.starttls(context=tls_context(secure)) == (220, b"2.0.0 Ready to start TLS")
        assert isinstance(conn.sock, ssl.SSLSocket)
        assert conn.sock.version() == "TLSv1.3"
        features = ehlo(conn)
        assert "AUTH PLAIN LOGIN" in features
        assert "STARTTLS" not in features
        assert conn.login(secure.user, secure.password) == (235, b"2.0.0 OK Authenticated")


def test_wrong_password_refused_after_tls(secure: LabTarget) -> None:
    with smtp(secure) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(secure))
        ehlo(conn)
        assert reply(conn, "AUTH " + plain(secure.user, "wrong")) == (535, "5.7.0 authentication failed")


def test_certificate_is_ca_signed_for_mail_test_and_address(secure: LabTarget) -> None:
    with smtp(secure) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(secure))
        assert isinstance(conn.sock, ssl.SSLSocket)
        der = conn.sock.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.test"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [secure.host]
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]


def test_relay_denied_without_auth(secure: LabTarget) -> None:
    with smtp(secure, "smtp") as conn:
        ehlo(conn)
        assert reply(conn, "MAIL FROM:<x@example.org>") == (250, "2.1.0 <x@example.org>... Sender ok")
        assert reply(conn, "RCPT TO:<victim@example.com>") == (
            550,
            "5.7.1 <victim@example.com>... Relaying denied. Proper authentication required.",
        )
        assert reply(conn, "RCPT TO:<postmaster@mail.test>")[0] == 250  # local mail is still accepted


def test_submission_needs_auth_for_mail(secure: LabTarget) -> None:
    with smtp(secure, "submission") as conn:
        ehlo(conn)
        assert reply(conn, "MAIL FROM:<x@example.org>") == (530, "5.7.0 Authentication required")


@pytest.mark.parametrize("service", CLEAR)
def test_relay_allowed_after_auth(secure: LabTarget, service: str) -> None:
    with smtp(secure, service) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(secure))
        ehlo(conn)
        conn.login(secure.user, secure.password)
        assert reply(conn, f"MAIL FROM:<{secure.user}>")[0] == 250
        assert reply(conn, "RCPT TO:<victim@example.com>") == (250, "2.1.5 <victim@example.com>... Recipient ok")
        conn.rset()  # never DATA: nothing is queued


def test_smtps_is_tls_first_then_banner(secure: LabTarget) -> None:
    port = secure.ports["smtps"]
    assert port
    with socket.create_connection((secure.host, port), timeout=5) as raw:
        raw.settimeout(0.5)
        with pytest.raises(TimeoutError):
            raw.recv(100)  # no cleartext banner: the server waits for a ClientHello
    with (
        socket.create_connection((secure.host, port), timeout=5) as raw,
        tls_context(secure).wrap_socket(raw) as tls,
    ):
        assert tls.recv(200) == b"220 mail.test ESMTP pytest-smtpsec-secure\r\n"
    with smtp(secure, "smtps") as conn:
        features = ehlo(conn)
        assert "AUTH PLAIN LOGIN" in features
        assert "STARTTLS" not in features
        assert conn.login(secure.user, secure.password) == (235, b"2.0.0 OK Authenticated")


@pytest.mark.parametrize("command", ["VRFY root", "VRFY alice", "EXPN postmaster"])
def test_vrfy_expn_disclose_nothing(secure: LabTarget, command: str) -> None:
    with smtp(secure, "smtp") as conn:
        ehlo(conn)
        code, text = reply(conn, command)
    assert (code, text) in {
        (252, "2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)"),
        (502, "5.7.0 Sorry, we do not allow this operation"),
    }


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_old_tls_refused(secure: LabTarget, version: ssl.TLSVersion) -> None:
    with smtp(secure) as conn:
        ehlo(conn)
        with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
            conn.starttls(context=tls_context(secure, version=version, seclevel=0))


def test_cleartext_login_impossible_with_smtplib(secure: LabTarget) -> None:
    with smtp(secure) as conn, pytest.raises(smtplib.SMTPNotSupportedError):
        ehlo(conn)
        conn.login(secure.user, secure.password)
