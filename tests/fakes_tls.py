"""Hostile-but-plausible TLS servers and the certificates they show: how sites really get TLS wrong.

:func:`issue` makes certificates the way real (and sloppy private) CAs do: wildcards, roots without
keyUsage, leaves without AKI, RSA-1024 intermediates, underscores in names. A :class:`TlsFake` is the
SMTP fake of ``fakes.py`` with its own TLS side (:class:`TlsSetup`): versions and suites, a chain for
clients that send SNI and another for those that do not, a connection limiter, a 465 listener that greets
a silent client in cleartext, a 465 that never greets inside TLS.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket
import ssl
import struct
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fakes import MAX_COMMANDS, WELL_BEHAVED, Behaviour, SmtpFake, _Lines

DAY = dt.timedelta(days=1)
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    """A certificate and its key."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@functools.cache
def _rsa_key(bits: int) -> rsa.RSAPrivateKey:
    """One RSA key per size for the whole test run (generating them is the slow part); EC keys are fresh."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


_serial = iter(range(1000, 10**9))


def issue(
    cn: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    names: tuple[str, ...] = (),
    key: str = "ec",
    basic_constraints: str | None = "critical",
    key_usage: bool = True,
    aki: bool = True,
    ski: bool = True,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    ca_eku: tuple[x509.ObjectIdentifier, ...] | None = None,
    usage: x509.KeyUsage | None = None,
    path_length: int | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    sign_hash: hashes.HashAlgorithm | None = None,
) -> Issued:
    """One certificate, signed by ``issuer`` (or by itself); every option is one way real CAs differ."""
    private: PrivateKey = ec.generate_private_key(ec.SECP256R1()) if key == "ec" else _rsa_key(int(key.removeprefix("rsa")))
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    signer = issuer.key if issuer else private
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(private.public_key())
        .serial_number(next(_serial))
        .not_valid_before(not_before or now - DAY)
        .not_valid_after(not_after or now + 365 * DAY)
    )
    if basic_constraints:
        constraints = x509.BasicConstraints(ca=ca, path_length=path_length if ca else None)
        builder = builder.add_extension(constraints, critical=basic_constraints == "critical")
    if key_usage and usage is None:
        usage = x509.KeyUsage(
            digital_signature=not ca,
            content_commitment=False,
            key_encipherment=not ca and isinstance(private, rsa.RSAPrivateKey),
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    purposes = ca_eku if ca else eku
    if purposes is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(purposes)), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), critical=False)
    if aki:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return Issued(builder.sign(signer, sign_hash or hashes.SHA256()), private)  # type: ignore[arg-type]  # SHA-1 on purpose


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def root(cn: str = "Fake Root CA", **options: object) -> Issued:
    return issue(cn, ca=True, **options)  # type: ignore[arg-type]


def ca_file(directory: Path, *cas: Issued) -> Path:
    path = directory / "fake-tls-ca.pem"
    path.write_bytes(b"".join(c.pem() for c in cas))
    return path


# -- the servers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsSetup:
    """The TLS side of a :class:`TlsFake`."""

    chain: tuple[Issued, ...]
    """Leaf first, then the intermediates the server sends; the leaf's key is the server's."""
    no_sni_chain: tuple[Issued, ...] = ()
    """What clients without SNI get; empty: the same chain."""
    oldest: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    newest: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    ciphers: str = "DEFAULT"
    served: int = 0
    """A connection limiter: connections after the first ``served`` are reset (0: no limit)."""
    cleartext_to_waiter: float = 0.0
    """465 only: a client silent for this long gets a cleartext SMTP greeting (TLS only for a ClientHello)."""
    greets: bool = True
    """465 only: False never sends the banner inside TLS."""


def _context(setup: TlsSetup, chain: tuple[Issued, ...]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(f"{setup.ciphers}:@SECLEVEL=0")
    context.minimum_version, context.maximum_version = setup.oldest, setup.newest
    key = chain[0].key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp, "server.pem")
        pem.write_bytes(key + b"".join(c.pem() for c in chain))
        context.load_cert_chain(pem)
    return context


class TlsFake(SmtpFake):
    """The SMTP fake of ``fakes.py`` with its own TLS setup (see :class:`TlsSetup`)."""

    def __init__(self, setup: TlsSetup, behaviour: Behaviour = WELL_BEHAVED, *, name: str = "tls") -> None:
        super().__init__(behaviour, name=name)
        self.setup = setup
        with warnings.catch_warnings():  # TLS 1.0 on purpose
            warnings.simplefilter("ignore", DeprecationWarning)
            self._with_sni = _context(setup, setup.chain)
            self._without_sni = _context(setup, setup.no_sni_chain or setup.chain)
        self._without_sni.sni_callback = self._choose
        self._served = 0
        self._count = threading.Lock()

    def _choose(self, tls: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        if name:
            tls.context = self._with_sni

    def start_tls(self, sock: socket.socket) -> ssl.SSLSocket:
        tls = self._without_sni.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.track(tls).do_handshake()
        return tls

    def serve(self, sock: socket.socket) -> None:
        with self._count:
            self._served += 1
            over = self.setup.served and self._served > self.setup.served
        if over:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if self.behaviour.implicit_tls and self.setup.cleartext_to_waiter:
            sock.settimeout(self.setup.cleartext_to_waiter)
            try:
                first = sock.recv(1, socket.MSG_PEEK)
            except TimeoutError:
                first = b""
            self.track(sock)
            if not first:
                return self._cleartext_dialogue(sock)
        if self.behaviour.implicit_tls and not self.setup.greets:
            return self.hold(self.start_tls(sock))
        super().serve(sock)

    def _cleartext_dialogue(self, sock: socket.socket) -> None:
        """What a silent client gets: cleartext SMTP with AUTH, a 334 for a password."""
        sock.sendall(b"220 fake.invalid ESMTP greeting silent clients in cleartext\r\n")
        lines = _Lines(sock)
        for _ in range(MAX_COMMANDS):
            line = lines.next()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb == "QUIT":
                sock.sendall(b"221 bye\r\n")
                return self.hang_up(sock)
            if verb in ("EHLO", "HELO"):
                sock.sendall(b"250-fake.invalid\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == "AUTH":
                sock.sendall(b"334 \r\n")
            else:
                sock.sendall(b"250 ok\r\n")
