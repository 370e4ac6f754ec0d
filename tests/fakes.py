"""Fake mail servers for tests: each binds 127.0.0.1 on an ephemeral port, behaves in one named way and
stops cleanly when its ``with`` block ends.

Two kinds: a :class:`ScriptedFake` plays a fixed list of actions whatever the client says (the broken
servers, table :data:`SCRIPTS`); an :class:`SmtpFake` answers commands, well-behaved by default, with
one :class:`Behaviour` knob per insecure or hostile variant. Every loop and every wait is bounded, and
nothing a client sends is kept beyond one line.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import socket
import ssl
import struct
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

HOST = "127.0.0.1"
USER = "alice"
PASSWORD = "fake-Passw0rd!"
HOLD = 30.0
"""The longest any single wait of a fake lasts, should a client never hang up and close() never come."""
JOIN = 2.0
MAX_CLIENTS = 256
"""Connections served at once; more are closed at accept (threads, and so memory, stay bounded)."""
MAX_COMMANDS = 100
MAX_LINE = 4096
S = TypeVar("S", bound=socket.socket)


class FakeServer(ABC):
    """A TCP listener on 127.0.0.1 (or ``address``; an ephemeral port unless ``port``) that hands each
    connection to :meth:`serve` in its own thread."""

    def __init__(self, *, address: str = HOST, port: int = 0) -> None:
        self._listener = socket.create_server((address, port))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> FakeServer:
        self._start(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, cut every connection, wait (bounded) for the threads. Idempotent."""
        self._stop.set()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # wakes a thread blocked in recv or send
            except OSError:
                pass
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(JOIN)
        self._listener.close()

    @abstractmethod
    def serve(self, sock: socket.socket) -> None:
        """Talk to one accepted client (each fake's behaviour)."""

    # -- for subclasses --------------------------------------------------------------------------

    def track(self, sock: S) -> S:
        """Register a socket (also a TLS-wrapped one) so that close() can cut it."""
        sock.settimeout(HOLD)
        with self._lock:
            self._socks.append(sock)
        return sock

    def hold(self, sock: socket.socket) -> None:
        """Say nothing more: read and discard until the client hangs up or the fake closes."""
        while not self._stop.is_set() and sock.recv(4096):
            pass

    def hang_up(self, sock: socket.socket) -> None:
        """Close our side (FIN) and drain until the client closes too, so no reset eats what we sent."""
        socket.socket.shutdown(sock, socket.SHUT_WR)
        self.hold(sock)

    def start_tls(self, sock: socket.socket) -> ssl.SSLSocket:
        """The server side of a TLS handshake on ``sock`` (tracked first, so close() can cut a stalled one)."""
        tls = server_context().wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.track(tls).do_handshake()
        return tls

    def pause(self, seconds: float) -> bool:
        """Sleep unless the fake closes meanwhile; False if it did."""
        return not self._stop.wait(seconds)

    # -- machinery -------------------------------------------------------------------------------

    def _start(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"{type(self).__name__}:{self.port}", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                self._socks = [s for s in self._socks if s.fileno() != -1]
                busy = len(self._threads) > MAX_CLIENTS
            if busy:
                sock.close()
                continue
            self.track(sock)
            self._start(functools.partial(self._serve_one, sock))

    def _serve_one(self, sock: socket.socket) -> None:
        try:
            self.serve(sock)
        except OSError:
            pass  # the client hung up, or close() cut the connection
        finally:
            sock.close()


# -- scripted fakes: the broken servers -----------------------------------------------------------


@dataclass(frozen=True)
class Drip:
    """Send ``data`` one byte per ``interval`` seconds (a tarpit)."""

    data: bytes
    interval: float = 1.0


@dataclass(frozen=True)
class Repeat:
    """Send ``data`` ``times`` times over: a reply that, to a client with any cap, never ends."""

    data: bytes
    times: int


READ = "read"  # wait until the client says something (a ClientHello, an HTTP request...)
CLOSE = "close"  # hang up (FIN), then drain what the client still sends
RESET = "reset"  # hang up with a TCP reset

Action = bytes | Drip | Repeat | str

SCRIPTS: dict[str, tuple[Action, ...]] = {
    "silent": (),
    "banner_then_silence": (b"220 quiet.invalid ESMTP\r\n",),
    "slow_drip": (Drip(b"220 tarpit.invalid ESMTP one byte a second, be patient\r\n"),),
    "garbage": (bytes(range(256)) * 4,),
    "long_line": (b"220 " + b"x" * 1_000_000,),
    "endless_multiline": (Repeat(b"220-still greeting you\r\n", 100_000),),
    "busy_421": (b"421 4.3.2 busy.invalid too many connections, try again later\r\n", CLOSE),
    "closed_at_once": (CLOSE,),
    "reset_at_once": (RESET,),
    "tls_stall": (READ,),
    "http": (READ, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", CLOSE),
}
"""Each script runs once per connection; after it the fake holds the connection open, saying nothing."""


class ScriptedFake(FakeServer):
    """A server that plays ``SCRIPTS[name]`` to every client."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.script = SCRIPTS[name]

    def serve(self, sock: socket.socket) -> None:
        for action in self.script:
            if isinstance(action, bytes):
                sock.sendall(action)
            elif isinstance(action, Drip):
                for i, byte in enumerate(action.data):
                    if i and not self.pause(action.interval):
                        return
                    sock.sendall(bytes([byte]))
            elif isinstance(action, Repeat):
                for _ in range(action.times):
                    sock.sendall(action.data)
            elif action == READ:
                sock.recv(4096)
            elif action == RESET:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            elif action == CLOSE:
                return self.hang_up(sock)
        self.hold(sock)


# -- an SMTP server that answers: well-behaved, or insecure in one named way ---------------------


@dataclass(frozen=True)
class Behaviour:
    """How an :class:`SmtpFake` answers. The defaults are the secure server of the note."""

    implicit_tls: bool = False
    starttls: str = "yes"
    """"yes"; "no" (not offered); "drop" (220, then hang up); "stall" (220, then no handshake);
    "fake" (220, then a cleartext reply to the ClientHello)."""
    double_banner: bool = False
    """Greet twice: every later reply is one behind the command it seems to answer."""
    auth_before_tls: bool = False
    """Offer AUTH before TLS and answer 334 / 235 there (the note's "clear text authentication")."""
    any_password: bool = False
    answers_pipelined: bool = False
    """Keep commands pipelined after STARTTLS and answer them inside TLS (CVE-2011-0411)."""
    mechanisms: str = "PLAIN LOGIN"
    delay: float = 0.0
    """Seconds to wait before each answer: a tarpit that stays just inside a client's timeout."""
    echo_auth: str = ""
    """Hostile: answer a right login by echoing its line back: "reply" (in a 535), "garbage", "partial" (no CRLF, hang up)."""
    # -- logins before TLS
    advertise_before_tls: str = ""
    """An extra EHLO line before TLS, e.g. the old form "AUTH=LOGIN" alone."""
    cleartext_mechanisms: tuple[str, ...] = ()
    """Answer 334 to these before TLS, though AUTH is not advertised there."""
    cleartext_initial_response: tuple[str, ...] = ()
    """These mechanisms, sent with an initial response before TLS, are read while the bare command is refused:
    PLAIN's credentials checked (535), LOGIN's user name taken and the password asked for (334)."""
    refuse_auth_before_tls: str = "530 5.7.0 Must issue a STARTTLS command first"
    # -- logins inside TLS
    login_any_password: bool = False
    """The AUTH LOGIN path takes any password for the user (PLAIN checks it)."""
    unknown_user_ok: bool = False
    empty_password_ok: bool = False
    lockout: bool = False
    """After one failed AUTH, every later AUTH on the connection is refused (honest: a locking server)."""
    old_auth_form: bool = False
    """After TLS, EHLO shows only the old form "AUTH=<mechanisms>"."""
    # -- relaying
    mail_without_auth: bool = False
    """An MX: MAIL FROM is taken without AUTH, RCPT decides (outside recipients refused unless below)."""
    relay_forms: tuple[str, ...] = ()
    """Recipient forms relayed without AUTH: "plain", "percent", "source_route", "quoted", "bang"."""
    relay_local_sender: bool = False
    refuse_null_sender: bool = False
    """MAIL FROM:<> is refused; any other sender may relay."""
    relay_inside_tls: bool = False
    """Relays without AUTH once TLS is up (after STARTTLS, or on 465)."""
    greylist: bool = False
    """The first RCPT of each (sender, recipient) gets 450; the retry relays."""
    cleartext_mail: bool = False
    """Takes MAIL FROM from any sender but the null one before TLS (outside recipients still refused)."""


class SmtpFake(FakeServer):
    """A small SMTP server: banner, EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL/RCPT (relay only when logged in)."""

    def __init__(self, behaviour: Behaviour = Behaviour(), *, name: str = "well_behaved", address: str = HOST, port: int = 0) -> None:
        super().__init__(address=address, port=port)
        self.behaviour = behaviour
        self.name = name
        server_context()  # made once, before any serving thread needs it

    def serve(self, sock: socket.socket) -> None:
        b = self.behaviour
        lines = _Lines(sock)
        if b.implicit_tls:
            lines.sock = sock = self.start_tls(sock)
        state = _State(tls=b.implicit_tls)
        sock.sendall(b"220 fake.invalid ESMTP FakeServer\r\n" * (2 if b.double_banner else 1))
        for _ in range(MAX_COMMANDS):
            line = lines.next()
            if line is None or (b.delay and not self.pause(b.delay)):
                return
            verb = line.split(" ", 1)[0].upper()
            if verb == "QUIT":
                sock.sendall(b"221 2.0.0 fake.invalid closing connection\r\n")
                return self.hang_up(sock)
            if verb == "STARTTLS" and not state.tls and b.starttls != "no":
                sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                if b.starttls == "drop":
                    return self.hang_up(sock)
                if b.starttls == "stall":
                    return self.hold(sock)
                if b.starttls == "fake":
                    if sock.recv(4096):  # the ClientHello, answered as a bad command
                        sock.sendall(b"500 5.5.1 Command unrecognized\r\n")
                    return self.hold(sock)
                if not b.answers_pipelined:
                    lines.buffer = b""
                lines.sock = sock = self.start_tls(sock)
                state = _State(tls=True)
                continue
            if verb == "AUTH":
                sock.sendall(self._auth_command(line, lines, state).encode())
                continue
            sock.sendall(self._answer(verb, line, state).encode())

    def _auth_command(self, line: str, lines: _Lines, state: _State) -> str:
        b = self.behaviour
        words = line.split()
        mechanism = words[1].upper() if len(words) > 1 else ""
        if not state.tls and not b.auth_before_tls:
            if mechanism in b.cleartext_mechanisms:
                return "501 5.7.0 AUTH aborted\r\n" if self._challenge(lines, "") in (None, "*") else "535 5.7.8 Authentication failed\r\n"
            if mechanism in b.cleartext_initial_response and len(words) > 2:
                if mechanism == "LOGIN" and self._challenge(lines, "UGFzc3dvcmQ6") in (None, "*"):
                    return "501 5.7.0 AUTH aborted\r\n"
                return "535 5.7.8 Authentication failed\r\n"
            return b.refuse_auth_before_tls + "\r\n"
        if state.authed:
            return "503 5.5.1 Already authenticated\r\n"
        if b.lockout and state.failures:
            return "535 5.7.8 Too many failures on this connection\r\n"
        ok, shown = self._auth(line, lines)
        state.authed = ok
        state.failures += bool(shown) and not ok
        if ok and b.echo_auth:
            assert lines.sock is not None
            if b.echo_auth == "partial":
                lines.sock.sendall(f"535 {shown}".encode())
                raise OSError("hung up")  # ends the connection
            return f"{'535 5.7.8 no: ' if b.echo_auth == 'reply' else 'no: '}{shown}\r\n"
        reply = "235 2.7.0 Authentication successful" if ok else "535 5.7.8 Authentication failed"
        return f"{reply}\r\n" if shown else "501 5.7.0 AUTH aborted\r\n"

    def _answer(self, verb: str, line: str, state: _State) -> str:
        b = self.behaviour
        if verb in ("EHLO", "HELO"):
            keywords = ["PIPELINING", "8BITMIME"]
            if not state.tls and b.starttls != "no":
                keywords.append("STARTTLS")
            if not state.tls and b.advertise_before_tls:
                keywords.append(b.advertise_before_tls)
            if (state.tls or b.auth_before_tls) and b.mechanisms:
                keywords.append(f"AUTH={b.mechanisms}" if b.old_auth_form else f"AUTH {b.mechanisms}")
            return "".join(f"250-{k}\r\n" for k in ["fake.invalid greets you", *keywords]) + "250 HELP\r\n"
        if verb == "MAIL":
            sender = _address(line)
            open_mail = b.mail_without_auth or b.relay_forms or b.relay_local_sender or b.greylist or b.refuse_null_sender
            open_mail = open_mail or (b.relay_inside_tls and state.tls) or (b.cleartext_mail and sender != "")
            if b.refuse_null_sender and sender == "" and not state.authed:
                return "550 5.7.1 Null sender refused\r\n"
            if not state.authed and not open_mail:
                return "530 5.7.0 Authentication required\r\n"
            state.sender = sender
            return _REPLIES["MAIL"]
        if verb == "RCPT":
            if state.sender is None:
                return "503 5.5.1 Need MAIL before RCPT\r\n"
            return self._rcpt(state.sender, _address(line), state)
        if verb == "RSET":
            state.sender = None
        return _REPLIES.get(verb, "500 5.5.1 Command unrecognized\r\n")

    def _rcpt(self, sender: str, recipient: str, state: _State) -> str:
        b = self.behaviour
        relays = state.authed or _form(recipient) in b.relay_forms or (b.relay_inside_tls and state.tls)
        relays = relays or (b.relay_local_sender and sender.endswith(LOCAL_DOMAINS)) or (b.refuse_null_sender and sender != "")
        if b.greylist and not state.authed:
            if (sender, recipient) not in state.greylisted:
                state.greylisted.add((sender, recipient))
                return "450 4.2.0 Greylisted, try again later\r\n"
            relays = True
        return _REPLIES["RCPT"] if relays else "550 5.7.1 Relaying denied\r\n"

    def _auth(self, line: str, lines: _Lines) -> tuple[bool, str]:
        """One AUTH exchange: (login accepted, the line that carried the password); (False, "") if cancelled."""
        words = line.split()
        mechanism = words[1].upper() if len(words) > 1 else ""
        if mechanism not in self.behaviour.mechanisms.split():
            return False, ""
        if mechanism == "PLAIN":
            response = words[2] if len(words) > 2 else self._challenge(lines, "")
            if response in (None, "*"):
                return False, ""
            _, user, password = (_b64decode(response) + "\0\0").split("\0")[:3]
            return self._login(user, password), line if len(words) > 2 else response
        if mechanism == "LOGIN":
            name = self._challenge(lines, "VXNlcm5hbWU6")
            secret = self._challenge(lines, "UGFzc3dvcmQ6") if name not in (None, "*") else None
            if name in (None, "*") or secret in (None, "*"):
                return False, ""
            login = self._login(_b64decode(name or ""), _b64decode(secret or ""), any_password=self.behaviour.login_any_password)
            return login, secret or ""
        if mechanism == "CRAM-MD5":
            challenge = "<4711.1234@fake.invalid>"
            response = self._challenge(lines, base64.b64encode(challenge.encode()).decode())
            if response in (None, "*"):
                return False, ""
            user, _, digest = _b64decode(response or "").partition(" ")
            expected = hmac.new(PASSWORD.encode(), challenge.encode(), hashlib.md5).hexdigest()
            return (user == USER and hmac.compare_digest(digest, expected)) or self.behaviour.any_password, response or ""
        return False, ""

    def _challenge(self, lines: _Lines, text: str) -> str | None:
        assert lines.sock is not None
        lines.sock.sendall(f"334 {text}\r\n".encode())
        return lines.next()

    def _login(self, user: str, password: str, *, any_password: bool = False) -> bool:
        b = self.behaviour
        if b.any_password or (user == USER and (any_password or password == PASSWORD)):
            return True
        return (b.unknown_user_ok and user != USER) or (b.empty_password_ok and user == USER and password == "")


LOCAL_DOMAINS = ("@[127.0.0.1]", "@127.0.0.1", "@fake.invalid")


@dataclass
class _State:
    """One connection's SMTP state (reset by STARTTLS)."""

    tls: bool
    authed: bool = False
    failures: int = 0
    sender: str | None = None
    greylisted: set[tuple[str, str]] = field(default_factory=set)


def _address(line: str) -> str:
    """The address inside <...> of a MAIL or RCPT line."""
    start, end = line.find("<"), line.rfind(">")
    return line[start + 1 : end] if 0 <= start < end else ""


def _form(recipient: str) -> str:
    """Which relay trick a recipient uses: plain, percent, source_route, quoted or bang."""
    local = recipient.rsplit("@", 1)[0]
    if recipient.startswith("@"):
        return "source_route"
    if recipient.startswith('"'):
        return "quoted"
    if "%" in local:
        return "percent"
    if "!" in local:
        return "bang"
    return "plain"


_REPLIES = {
    "MAIL": "250 2.1.0 Sender ok\r\n",
    "RCPT": "250 2.1.5 Recipient ok\r\n",
    "VRFY": "252 2.5.2 Cannot VRFY user\r\n",
    "EXPN": "502 5.7.0 Sorry, we do not allow this operation\r\n",
    "RSET": "250 2.0.0 Reset state\r\n",
    "NOOP": "250 2.0.0 OK\r\n",
    "HELP": "214 2.0.0 This is a fake mail server\r\n",
    "DATA": "554 5.5.1 No mail is ever taken here\r\n",
    "STARTTLS": "502 5.5.1 STARTTLS not available\r\n",
}


def _b64decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return ""


class _Lines:
    """Command lines from a client, one at a time; None when it hangs up or sends a line too long."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.buffer = b""

    def next(self) -> str | None:
        assert self.sock is not None
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data or len(self.buffer) > MAX_LINE:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")


@functools.cache
def certificate() -> tuple[bytes, bytes, bytes]:
    """The fakes' certificate for 127.0.0.1, its key and the CA that issued it, PEM (EC keys: fast)."""
    from pytest_smtpsec.lab.pki import CA

    ca = CA("pytest-smtpsec fakes CA", key_type="ec")
    leaf = ca.issue_cert(HOST, "localhost", key_type="ec")
    return leaf.cert_pem.bytes(), leaf.private_key_pem.bytes(), ca.cert_pem.bytes()


def write_ca_file(directory: Path) -> Path:
    """The certificate as a CA file (``--smtpsec-ca-file``), so that certificate checks pass on the fakes."""
    path = directory / "fakes-ca.pem"
    path.write_bytes(certificate()[2])
    return path


@functools.cache
def server_context() -> ssl.SSLContext:
    """The TLS server side of every fake."""
    cert, key, _ = certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp, "fake.pem")
        pem.write_bytes(key + cert)
        context.load_cert_chain(pem)
    return context


# -- the catalogue ---------------------------------------------------------------------------------

WELL_BEHAVED = Behaviour()
SMTP_VARIANTS: dict[str, Behaviour] = {
    "well_behaved": WELL_BEHAVED,
    "well_behaved_smtps": replace(WELL_BEHAVED, implicit_tls=True),
    "starttls_drop": replace(WELL_BEHAVED, starttls="drop"),
    "starttls_stall": replace(WELL_BEHAVED, starttls="stall"),
    "cleartext_smtp": replace(WELL_BEHAVED, starttls="no", auth_before_tls=True),
    "any_password": replace(WELL_BEHAVED, auth_before_tls=True, any_password=True),
    "starttls_injection": replace(WELL_BEHAVED, answers_pipelined=True),
    "tarpit": replace(WELL_BEHAVED, delay=0.4),
    "echo_auth_reply": replace(WELL_BEHAVED, echo_auth="reply"),
    "echo_auth_garbage": replace(WELL_BEHAVED, echo_auth="garbage"),
    "echo_auth_login_smtps": replace(WELL_BEHAVED, implicit_tls=True, mechanisms="LOGIN", echo_auth="reply"),
    "echo_auth_partial_smtps": replace(WELL_BEHAVED, implicit_tls=True, echo_auth="partial"),
}


def fake(name: str) -> FakeServer:
    """The fake called ``name``: a script from :data:`SCRIPTS` or a variant from :data:`SMTP_VARIANTS`."""
    if name in SCRIPTS:
        return ScriptedFake(name)
    return SmtpFake(SMTP_VARIANTS[name], name=name)
