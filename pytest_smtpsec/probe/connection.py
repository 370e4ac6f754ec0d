"""One SMTP connection on a raw socket, TLS through ``ssl.MemoryBIO``.

We drive the socket ourselves rather than through ``smtplib`` because the probes need what smtplib
hides: one deadline for the whole session (smtplib's socket timeout restarts on every byte, so a server
that drips a byte a second, or a tarpit that answers each command just in time, never times out), caps
on what is read, the raw bytes a server sends on 465 instead of a
TLS handshake, and pipelining ``STARTTLS`` with a following command in one write.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from dataclasses import dataclass

from .errors import ProbeError
from .network import ConnectError, connect, cut_short, deadline_for, within
from .reply import Reply, ReplyError, ReplyReader
from .transcript import Transcript, mask

_RECV = 16384
_TLS_RECORDS = range(0x14, 0x19)
"""The first byte of every TLS record (change_cipher_spec .. heartbeat): anything else is not TLS."""


@dataclass(frozen=True)
class TlsInfo:
    """What one TLS handshake showed: the negotiated protocol and cipher, and the chain as sent (DER, leaf first)."""

    version: str
    cipher: str
    chain: tuple[bytes, ...]


WITHHELD = " [text withheld: it answers a command that carried the password]"


class CleartextOnTls(ProbeError):
    """The server answered a TLS ClientHello with cleartext (an SMTP banner on the smtps port)."""

    def __init__(self, address: str, stage: str, seen: bytes) -> None:
        self.seen = seen
        text = seen.split(b"\n", 1)[0][:80].decode("ascii", "replace").strip()  # the first line: what follows depends on timing
        super().__init__(address, stage, f"server sent cleartext instead of a TLS handshake: {text!r}")


class TlsRefused(ProbeError):
    """The server answered the handshake with a TLS alert, or with a version or suite this client did not offer.

    Only that is an answer to "would you speak this TLS?". A reset, a close or silence is not: a connection
    limiter or a busy server does the same to every client, so those stay plain "could not check" errors.
    """


class Connection:
    """A connected SMTP client socket with a masked transcript and one deadline: ``timeout`` after connecting began.

    The methods a command or a reply passes through set ``__tracebackhide__``: their frames hold the AUTH
    lines, which pytest's long tracebacks and ``--showlocals`` would otherwise print in the clear.
    """

    def __init__(self, sock: socket.socket, address: str, timeout: float, transcript: Transcript, *, deadline: float | None = None) -> None:
        self.address = address
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = deadline if deadline is not None else deadline_for(timeout)
        """Every read, write and handshake of this connection ends by then, whatever the server does."""
        self.transcript = transcript
        self._sock = sock
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._reader = ReplyReader()

    @classmethod
    def open(cls, host: str, port: int, *, timeout: float, transcript: Transcript) -> Connection:
        address = f"{host}:{port}"
        started = time.monotonic()
        deadline = deadline_for(timeout)  # name lookup and connecting count: the whole session ends by then
        try:
            sock = connect(host, port, timeout=timeout)
        except ConnectError as exc:
            raise ProbeError(address, "connect", exc.reason) from None
        transcript.event(f"connected to {address}")
        conn = cls(sock, address, timeout, transcript, deadline=deadline)
        conn.started = started
        return conn

    @property
    def tls(self) -> bool:
        return self._tls is not None

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- SMTP ------------------------------------------------------------------------------------

    def send(self, *lines: str, shown: str | None = None, stage: str = "send") -> None:
        """Send one or more command lines in a single write; ``shown`` replaces them in the transcript."""
        __tracebackhide__ = True
        unasked = self.unasked()
        if unasked:
            seen = self._seen(unasked)
            self.transcript.event(f"the server sent {seen} before it was asked")
            raise ProbeError(
                self.address, stage, f"out of step: the server sent {seen} before it was asked, so replies no longer pair with commands"
            )
        for line in lines:
            self.transcript.sent(shown if shown is not None else line)
        self._write("".join(f"{line}\r\n" for line in lines).encode(), stage)

    def read_reply(self, stage: str, *, withhold: bool = False) -> Reply:
        """The next reply. ``withhold``: it answers a command that carried the password, so only its code and
        enhanced code are kept (a server may echo the password in any encoding; none of it is shown)."""
        __tracebackhide__ = True
        deadline = self.deadline
        while True:
            try:
                reply = self._reader.take()
            except ReplyError as exc:
                seen = f": {self._seen(exc.seen)}" if exc.seen and not withhold else ""
                raise ProbeError(self.address, stage, f"garbage reply: {exc.problem}{seen}{WITHHELD if withhold else ''}") from None
            if reply is not None:
                # A hostile server may echo what we sent: no secret leaves this method, in a reply or an error.
                if withhold:
                    reply = Reply(reply.code, (f"{reply.enhanced or ''}{WITHHELD}".strip(),))
                reply = Reply(reply.code, tuple(mask(line, self.transcript.secrets) for line in reply.lines))
                self.transcript.received(reply.render())
                return reply
            pending, lines = self._reader.pending, self._reader.pending_lines
            so_far = f"{lines} lines of a multi-line reply, then " if lines else ""
            if withhold:
                so_far += f"{len(pending)} bytes{WITHHELD}" if pending else ("nothing more" if lines else "nothing")
            else:
                so_far += f"{self._seen(pending)}" if pending else ("nothing more" if lines else "nothing")
            data = self._read(deadline, stage, waiting=f"a reply (received {so_far})")
            if not data:
                raise ProbeError(self.address, stage, f"connection closed by the server (received {so_far})")
            self._reader.feed(data)

    def command(self, line: str, stage: str, *, shown: str | None = None) -> Reply:
        """Send a line and read its reply; with ``shown`` (the line carries a secret) the reply is withheld too."""
        __tracebackhide__ = True
        self.send(line, shown=shown, stage=stage)
        return self.read_reply(stage, withhold=shown is not None)

    # -- TLS -------------------------------------------------------------------------------------

    def listen(self, seconds: float, stage: str) -> bytes:
        """What the server sends unasked within ``seconds`` (b"" if nothing): a TLS server waits for the client."""
        self._sock.settimeout(max(0.001, min(seconds, self.deadline - time.monotonic())))
        try:
            data = self._sock.recv(_RECV)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise ProbeError(self.address, stage, f"receive failed: {exc.strerror or exc}") from None
        if not data:
            raise ProbeError(self.address, stage, "connection closed by the server before the client said anything")
        self._reader.feed(data)
        return data

    def start_tls(self, context: ssl.SSLContext, server_hostname: str | None, stage: str = "tls") -> TlsInfo:
        """Run the TLS handshake on this socket (after ``220`` to STARTTLS, or at once on 465)."""
        if self._reader.pending:
            self.transcript.event(f"discarding {len(self._reader.pending)} cleartext bytes sent before TLS")
            self._reader = ReplyReader()
        tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        deadline = self.deadline
        received = 0
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush(stage)
                so_far = f"{received} bytes received" if received else "nothing received"
                data = self._recv(deadline, stage, waiting=f"the TLS handshake ({so_far})")
                if not received and data and data[0] not in _TLS_RECORDS:
                    # Not TLS at all. An SMTP reply there is the insecure case; HTTP, SSH or junk is no mail server.
                    if data[:1].isdigit():
                        raise CleartextOnTls(self.address, stage, data) from None
                    seen = self._seen(data)
                    raise ProbeError(self.address, stage, f"not a TLS server: it answered the ClientHello with {seen}") from None
                if not data:
                    raise ProbeError(self.address, stage, f"connection closed during the TLS handshake ({so_far})") from None
                received += len(data)
                self._incoming.write(data)
            except ssl.SSLError as exc:
                raise TlsRefused(self.address, stage, f"TLS handshake failed: {exc.reason or exc}") from None
        self._flush(stage)
        self._tls = tls
        chain = _chain(tls)
        info = TlsInfo(version=tls.version() or "?", cipher=(tls.cipher() or ("?",))[0], chain=chain)
        self.transcript.event(f"TLS established: {info.version} {info.cipher}")
        return info

    # -- bytes -----------------------------------------------------------------------------------

    def _seen(self, data: bytes, limit: int = 60) -> str:
        """Server bytes for an error message: decoded, secrets masked before the cut, quoted."""
        text = mask(data.decode("utf-8", "replace"), self.transcript.secrets)
        return repr(text[:limit]) + ("..." if len(text) > limit else "")

    def unasked(self) -> bytes:
        """Reply bytes that arrived before the next command was sent (a second banner, an extra reply)."""
        if self._reader.pending:
            return self._reader.pending
        if self._tls is not None:
            return b"?" * self._tls.pending()  # decrypted application data waiting: its content is read later
        self._sock.settimeout(0.0)  # a look, never a wait (every send and receive sets its own deadline)
        try:
            return self._sock.recv(_RECV, socket.MSG_PEEK)
        except OSError:  # nothing waiting (BlockingIOError), or a closed socket: the read that follows says so
            return b""

    def _write(self, data: bytes, stage: str) -> None:
        __tracebackhide__ = True
        if self._tls is not None:
            try:
                self._tls.write(data)
            except ssl.SSLError as exc:  # e.g. a renegotiation request: never let it escape with the line in a frame
                raise ProbeError(self.address, stage, f"TLS error while sending: {type(exc).__name__}") from None
            self._flush(stage)
        else:
            self._sendall(data, stage)

    def _read(self, deadline: float, stage: str, waiting: str) -> bytes:
        """Some application bytes (b"" at end of stream), never waiting past ``deadline``."""
        __tracebackhide__ = True
        if self._tls is None:
            return self._recv(deadline, stage, waiting)
        while True:
            try:
                return self._tls.read(_RECV)
            except ssl.SSLWantReadError:
                data = self._recv(deadline, stage, waiting)
                if not data:
                    return b""
                self._incoming.write(data)
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLError as exc:
                raise ProbeError(self.address, stage, f"TLS error: {exc.reason or exc}") from None

    def _flush(self, stage: str) -> None:
        data = self._outgoing.read()
        if data:
            self._sendall(data, stage)

    def _sendall(self, data: bytes, stage: str) -> None:
        __tracebackhide__ = True
        self._sock.settimeout(max(0.001, self.deadline - time.monotonic()))
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise ProbeError(self.address, stage, f"could not send {within(self.timeout, self.started, self.deadline)}") from None
        except OSError as exc:
            raise ProbeError(self.address, stage, f"send failed: {exc.strerror or exc}") from None

    def _timed_out(self) -> str:
        if cut_short(self.timeout, self.started, self.deadline):
            return f"timed out: the host's {self.timeout:g} s ran out"
        return f"timed out after {self.timeout:g} s"

    def _recv(self, deadline: float, stage: str, waiting: str) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeError(self.address, stage, f"{self._timed_out()} waiting for {waiting}")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(_RECV)
        except TimeoutError:
            raise ProbeError(self.address, stage, f"{self._timed_out()} waiting for {waiting}") from None
        except ConnectionResetError:
            raise ProbeError(self.address, stage, f"connection reset by the server while waiting for {waiting}") from None
        except OSError as exc:
            raise ProbeError(self.address, stage, f"receive failed: {exc.strerror or exc}") from None


def _chain(tls: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first (all of them where this Python can say, else the leaf)."""
    sslobj = getattr(tls, "_sslobj", None)
    unverified = getattr(sslobj, "get_unverified_chain", None)
    if unverified is not None:
        chain = unverified() or []
        return tuple(cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in chain)  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def probe_context(*, minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that never aborts on the certificate: the chain is kept and judged by the certificate checks.

    Without bounds it offers every version this OpenSSL can still speak (TLS 1.0 up, at security level 0),
    so a server stuck on old TLS is judged with one clear failure of ``tls_protocols`` instead of turning
    every other check into "could not check". A modern server still negotiates TLS 1.3 or 1.2.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0" if minimum is not None or maximum is not None else "DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # asking for TLS 1.0/1.1 on purpose: that is the probe
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            context.minimum_version = minimum if minimum is not None else ssl.TLSVersion.TLSv1
        except (ValueError, ssl.SSLError):
            if minimum is not None:
                raise
        if maximum is not None:
            context.maximum_version = maximum
    return context
