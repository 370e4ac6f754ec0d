"""Each misconfigured profile shows its defining fault, and only that fault, to a plain smtplib client."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
from cryptography import x509
from plain_smtp import ehlo, plain, reply, smtp, tls_context

from pytest_smtpsec.lab import LabTarget

CLEAR = ["smtp", "submission"]
RELAY_DENIED = (550, "5.7.1 <victim@example.com>... Relaying denied. Proper authentication required.")


def _peer_cert(target: LabTarget, service: str = "submission") -> x509.Certificate:
    with smtp(target, service) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(target, verify=False, seclevel=0))
        assert isinstance(conn.sock, ssl.SSLSocket)
        der = conn.sock.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _starttls_verify_error(target: LabTarget, service: str) -> str:
    with smtp(target, service) as conn:
        ehlo(conn)
        with pytest.raises(ssl.SSLCertVerificationError) as err:
            conn.starttls(context=tls_context(target))
    return str(err.value.verify_message)


@pytest.mark.parametrize("service", CLEAR)
def test_cleartext_auth_accepted_before_tls(labs: dict[str, LabTarget], service: str) -> None:
    target = labs["cleartext-auth"]
    with smtp(target, service) as conn:
        features = ehlo(conn)
        assert "AUTH PLAIN LOGIN" in features
        assert "STARTTLS" in features
        assert reply(conn, "AUTH " + plain(target.user, target.password)) == (235, "2.0.0 OK Authenticated")


def test_cleartext_auth_still_denies_unauthenticated_relay(labs: dict[str, LabTarget]) -> None:
    with smtp(labs["cleartext-auth"], "smtp") as conn:
        ehlo(conn)
        reply(conn, "MAIL FROM:<x@example.org>")
        assert reply(conn, "RCPT TO:<victim@example.com>") == RELAY_DENIED


def test_no_smtps_has_no_listener(labs: dict[str, LabTarget]) -> None:
    target = labs["no-smtps"]
    assert target.ports["smtps"] is None
    assert target.ports["smtp"] and target.ports["submission"]
    with smtp(target) as conn:
        assert "STARTTLS" in ehlo(conn)


@pytest.mark.parametrize("service", CLEAR)
def test_no_starttls_offered(labs: dict[str, LabTarget], service: str) -> None:
    target = labs["no-starttls"]
    with smtp(target, service) as conn:
        features = ehlo(conn)
        assert "STARTTLS" not in features
        assert not [f for f in features if f.startswith("AUTH")]  # A p: no AUTH without TLS, ever
        assert reply(conn, "STARTTLS") == (503, "5.5.0 TLS not available")


def test_no_starttls_keeps_smtps(labs: dict[str, LabTarget]) -> None:
    target = labs["no-starttls"]
    with smtp(target, "smtps") as conn:
        assert "AUTH PLAIN LOGIN" in ehlo(conn)
        assert conn.login(target.user, target.password)[0] == 235


@pytest.mark.parametrize("service", ["smtp", "submission", "smtps"])
def test_self_signed_fails_verification(labs: dict[str, LabTarget], service: str) -> None:
    target = labs["self-signed"]
    if service == "smtps":
        with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate"), smtp(target, service):
            pass
    else:
        assert _starttls_verify_error(target, service) == "self-signed certificate"
    cert = _peer_cert(target)
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)


def test_self_signed_works_without_verification(labs: dict[str, LabTarget]) -> None:
    target = labs["self-signed"]
    with smtp(target) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(target, verify=False))
        ehlo(conn)
        assert conn.login(target.user, target.password)[0] == 235


def test_wrong_hostname(labs: dict[str, LabTarget]) -> None:
    target = labs["wrong-hostname"]
    assert _starttls_verify_error(target, "submission") == "Hostname mismatch, certificate is not valid for 'mail.test'."
    cert = _peer_cert(target)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["other.test"]
    assert san.get_values_for_type(x509.IPAddress) == []  # no other way to match either


def test_expired(labs: dict[str, LabTarget]) -> None:
    target = labs["expired"]
    assert _starttls_verify_error(target, "smtp") == "certificate has expired"
    cert = _peer_cert(target)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)


def test_weak_key_offered_but_rejected_by_default_clients(labs: dict[str, LabTarget]) -> None:
    target = labs["weak-key"]
    assert _starttls_verify_error(target, "submission") == "EE certificate key too weak"
    with smtp(target) as conn:  # verifies fine once the client accepts 1024-bit keys
        ehlo(conn)
        conn.starttls(context=tls_context(target, seclevel=1))
        assert isinstance(conn.sock, ssl.SSLSocket)
        assert conn.sock.version() == "TLSv1.3"
    assert _peer_cert(target).public_key().key_size == 1024  # type: ignore[union-attr]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("service", [*CLEAR, "smtps"])
def test_old_tls_accepted(labs: dict[str, LabTarget], service: str, version: ssl.TLSVersion) -> None:
    target = labs["old-tls"]
    if service == "smtps":
        with smtp(target, service, version=version, seclevel=0) as conn:
            assert isinstance(conn.sock, ssl.SSLSocket)
            assert conn.sock.version() == version.name.replace("_", ".")
        return
    with smtp(target, service) as conn:
        ehlo(conn)
        conn.starttls(context=tls_context(target, version=version, seclevel=0))
        assert isinstance(conn.sock, ssl.SSLSocket)
        assert conn.sock.version() == version.name.replace("_", ".")
        ehlo(conn)
        assert conn.login(target.user, target.password)[0] == 235


def test_open_relay(labs: dict[str, LabTarget]) -> None:
    with smtp(labs["open-relay"], "smtp") as conn:
        ehlo(conn)
        reply(conn, "MAIL FROM:<x@example.org>")
        assert reply(conn, "RCPT TO:<victim@example.com>") == (250, "2.1.5 <victim@example.com>... Recipient ok")
        conn.rset()


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("VRFY root", (250, "2.1.5 root <root@mail.test>")),
        ("EXPN postmaster", (250, "2.1.5 root <root@mail.test>")),
        ("VRFY nosuchuser", (550, "5.1.1 nosuchuser... User unknown")),
    ],
)
def test_vrfy_on_discloses_users(labs: dict[str, LabTarget], command: str, answer: tuple[int, str]) -> None:
    with smtp(labs["vrfy-on"], "smtp") as conn:
        assert "EXPN" in ehlo(conn)
        assert reply(conn, command) == answer


@pytest.mark.parametrize("name", ["cleartext-auth", "no-starttls", "self-signed", "wrong-hostname", "expired"])
def test_faults_keep_the_rest_secure(labs: dict[str, LabTarget], name: str) -> None:
    """Relay stays closed and VRFY stays quiet: each profile has one fault only."""
    with smtp(labs[name], "smtp") as conn:
        ehlo(conn)
        assert reply(conn, "VRFY root")[0] == 252
        reply(conn, "MAIL FROM:<x@example.org>")
        assert reply(conn, "RCPT TO:<victim@example.com>") == RELAY_DENIED
