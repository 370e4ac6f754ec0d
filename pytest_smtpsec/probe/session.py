"""The probe sessions: SMTP dialogues that gather every fact the checks read, each on one connection.

Every service gets a *main* session: the note's own questions, the relay matrix without AUTH (before
TLS on 25/587, inside TLS on 465), the STARTTLS injection probe, the real login and relaying after it.
25 and 587 get an *extra* session: a decoy cleartext login, HELP/VRFY/EXPN, and relaying after
STARTTLS without AUTH. Every service where users log in gets *login* sessions for wrong logins, at most
two AUTH commands per connection (sendmail delays the third by a second): the wrong password on each
mechanism everywhere, and the whole matrix (wrong password, unknown user, empty password on every
mechanism) on one service per host. Those connect without SNI, so the certificate a client without SNI
sees is known too.

Nothing is ever delivered: DATA is never sent, every recipient is in a domain reserved by RFC 2606,
and a 334 before TLS is cancelled with ``*``; before TLS only a decoy identity is ever sent. When a
dialogue breaks part-way the facts gathered so far are kept, and asking for a later one raises the
error that stopped it, so a check that only needs the banner still gives its verdict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ..target import Service, Target
from .connection import Connection, TlsInfo, probe_context
from .errors import ProbeError
from .reply import Reply
from .transcript import Transcript, secret_forms

RELAY_DOMAIN = "example.com"
"""Where every relay probe's recipient lives: reserved by RFC 2606, so relaying there proves relaying anywhere."""
RELAY_PROBE_RECIPIENT = f"smtpsec-relay-probe@{RELAY_DOMAIN}"
OUTSIDE_SENDER = "smtpsec-probe@example.org"
WRONG_PASSWORD = "pytest-smtpsec-wrong-password"
NO_SUCH_USER = "smtpsec-no-such-user-4e1f"
DECOY_USER = "smtpsec-decoy"
DECOY_PASSWORD = "smtpsec-decoy-not-a-password"
"""Sent in cleartext on purpose: any reply but a refusal proves the server reads credentials before TLS."""
PASSWORD_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")
"""What the probe can log in with (and test wrong logins on), most common first."""
CHALLENGE_MECHANISMS = ("CRAM-MD5", "DIGEST-MD5", "SCRAM-", "GSSAPI", "EXTERNAL", "NTLM")
"""Mechanisms (or prefixes) that never carry the password itself in the clear."""
AUTH_PER_CONNECTION = 2


class Step(str, Enum):
    """The fixed questions of a session, in the order they are asked."""

    BANNER = "banner"
    EHLO = "ehlo"
    HELP = "help"
    VRFY = "vrfy"
    VRFY_UNKNOWN = "vrfy_unknown"
    EXPN = "expn"
    STARTTLS = "starttls"
    INJECTED = "injected"
    EHLO_TLS = "ehlo_tls"
    VRFY_TLS = "vrfy_tls"


class Phase(str, Enum):
    """Where in a dialogue a command was sent."""

    CLEARTEXT = "before TLS"
    STARTTLS = "after STARTTLS without AUTH"
    IMPLICIT_TLS = "inside implicit TLS without AUTH"
    AUTHENTICATED = "after AUTH"


class Identity(str, Enum):
    """Who an AUTH attempt claimed to be."""

    NONE = "no initial response"
    DECOY = "a decoy user and password"
    USER = "the right user and password"
    WRONG_PASSWORD = "the right user with a wrong password"
    UNKNOWN_USER = "an unknown user"
    EMPTY_PASSWORD = "the right user with an empty password"


BAD_LOGINS = (Identity.WRONG_PASSWORD, Identity.UNKNOWN_USER, Identity.EMPTY_PASSWORD)


class Kind(str, Enum):
    MAIN = "main"
    EXTRA = "extra"
    LOGINS = "logins"


@dataclass(frozen=True)
class AuthAttempt:
    """One AUTH command and how it ended: ``first`` answers the command line, ``final`` the whole exchange."""

    phase: Phase
    mechanism: str
    identity: Identity
    first: Reply
    final: Reply
    initial_response: bool = False
    """LOGIN with the user name on the command line (``AUTH LOGIN <base64 user>``), as many clients send it."""

    @property
    def accepted(self) -> bool:
        return self.final.positive

    @property
    def form(self) -> str:
        initial = " (the user name on the AUTH line)" if self.initial_response else ""
        return f"AUTH {self.mechanism}{initial} with {self.identity.value}"


@dataclass(frozen=True)
class RelayAttempt:
    """One MAIL FROM / RCPT TO pair (RCPT None when MAIL was refused); ``retried`` after a 4xx."""

    phase: Phase
    sender: str
    recipient: str
    mail: Reply
    rcpt: Reply | None
    retried: bool = False

    @property
    def relayed(self) -> bool:
        return self.rcpt is not None and self.rcpt.positive

    @property
    def deferred(self) -> bool:
        """Refused only for now (4xx, twice): not a proof either way."""
        last = self.rcpt if self.mail.positive and self.rcpt is not None else self.mail
        return 400 <= last.code < 500

    @property
    def form(self) -> str:
        return f"MAIL FROM:<{self.sender}> RCPT TO:<{self.recipient}>"


@dataclass(frozen=True)
class SessionRecord:
    """What one probe session saw: replies by step, AUTH and relay attempts, the TLS handshake, the transcript."""

    target: Target
    service: Service
    replies: Mapping[Step, Reply]
    tls: TlsInfo | None
    transcript: str
    error: ProbeError | None = None
    auth: tuple[AuthAttempt, ...] = ()
    relay: tuple[RelayAttempt, ...] = ()
    kind: Kind = Kind.MAIN
    first_login: int = 0
    """Of a wrong-login session: where in :func:`bad_logins` its attempts start."""
    notes: tuple[str, ...] = field(default=())

    @property
    def address(self) -> str:
        return self.target.address(self.service)

    def reply(self, step: Step) -> Reply | None:
        """The reply to ``step``; None if the step did not apply; the session's error if it never got there."""
        if step in self.replies:
            return self.replies[step]
        if self.error is not None:
            raise self.error
        return None

    def handshake(self) -> TlsInfo:
        """The TLS handshake, or the error that prevented it."""
        if self.tls is not None:
            return self.tls
        if self.error is not None:
            raise self.error
        raise ProbeError(self.address, "tls", "TLS was never started in this session")

    def tls_ehlo(self) -> Reply | None:
        """The EHLO reply inside TLS (STARTTLS or implicit), None if TLS was not reached."""
        return self.replies.get(Step.EHLO if self.service.implicit_tls else Step.EHLO_TLS) if self.tls else None


@dataclass(frozen=True)
class Plan:
    """What one session asks beyond the banner and EHLO."""

    kind: Kind
    first_login: int = 0
    """Of a wrong-login session: where in :func:`bad_logins` (of its own EHLO) its two attempts start."""


def password_mechanisms(ehlo: Reply | None) -> tuple[str, ...]:
    """The mechanisms on offer that the probe speaks, in the probe's order of preference."""
    offered = (ehlo.auth_mechanisms() or ()) if ehlo is not None else ()
    return tuple(m for m in PASSWORD_MECHANISMS if m in offered)


def bad_logins(ehlo: Reply | None) -> tuple[tuple[str, Identity], ...]:
    """The wrong-login matrix: every bad identity on every password mechanism offered, wrong passwords first."""
    return tuple((mechanism, identity) for identity in BAD_LOGINS for mechanism in password_mechanisms(ehlo))


def carries_password(mechanism: str) -> bool:
    """Whether a mechanism sends the password itself (PLAIN, LOGIN, and any we do not know to be safer)."""
    return not mechanism.upper().startswith(CHALLENGE_MECHANISMS)


class _Dialogue:
    """Runs the steps of one session, recording replies as it goes."""

    def __init__(self, target: Target, service: Service, plan: Plan) -> None:
        self.target = target
        self.service = service
        self.plan = plan
        creds = target.credentials
        secrets = secret_forms(creds.password, creds.user) if creds else ()
        self.transcript = Transcript(secrets=secrets)
        self.replies: dict[Step, Reply] = {}
        self.auth: list[AuthAttempt] = []
        self.relay: list[RelayAttempt] = []
        self.tls: TlsInfo | None = None
        self.conn: Connection | None = None

    def run(self) -> SessionRecord:
        port = self.target.port(self.service)
        error: ProbeError | None = None
        try:
            self.conn = Connection.open(self.target.host, port, timeout=self.target.timeout, transcript=self.transcript)
            with self.conn:
                if self.service.implicit_tls:
                    self._implicit_tls()
                else:
                    self._starttls()
                self._quit()
        except ProbeError as exc:
            error = exc
        except Exception as exc:  # never let an unexpected error carry a frame with a credential in it
            error = ProbeError(self.target.address(self.service), "internal", f"unexpected {type(exc).__name__} in the probe")
        if error is not None:
            error = _bare(error)
            self.transcript.event(f"stopped: {error.reason}")
            error.transcript = self.transcript.render()
        return SessionRecord(
            target=self.target,
            service=self.service,
            replies=dict(self.replies),
            tls=self.tls,
            transcript=self.transcript.render(),
            error=error,
            auth=tuple(self.auth),
            relay=tuple(self.relay),
            kind=self.plan.kind,
            first_login=self.plan.first_login,
        )

    # -- the two shapes of session ---------------------------------------------------------------

    def _starttls(self) -> None:
        """25 and 587: cleartext first; what a client without TLS can do; STARTTLS; then the view inside TLS."""
        conn, kind = self._conn, self.plan.kind
        self._banner()
        ehlo = self.ask(Step.EHLO, f"EHLO {self.target.ehlo_name}")
        self.expect(Step.EHLO, ehlo, "EHLO")
        if kind is Kind.MAIN:
            for mechanism in ("PLAIN", "LOGIN"):
                self._auth(Phase.CLEARTEXT, mechanism, Identity.NONE)
            self._relay_matrix(Phase.CLEARTEXT)
        elif kind is Kind.EXTRA:
            self._auth(Phase.CLEARTEXT, "PLAIN", Identity.DECOY)
            offered = [m for m in ehlo.auth_mechanisms() or () if m not in ("PLAIN", "LOGIN")]
            if offered:  # one more at most: Exim drops a client after three AUTH refusals
                self._auth(Phase.CLEARTEXT, offered[0], Identity.NONE)
            else:  # refusing a bare AUTH LOGIN is not refusing one with the user name on the line
                self._auth(Phase.CLEARTEXT, "LOGIN", Identity.DECOY, initial_response=True)
            self._disclosure()
        if ehlo.extension("STARTTLS") is None:
            return
        if kind is Kind.MAIN:
            self._starttls_with_injection()
        elif self.ask(Step.STARTTLS, "STARTTLS").code == 220:
            self.tls = conn.start_tls(probe_context(), self._sni, stage=Step.STARTTLS.value)
            self.expect(Step.EHLO_TLS, self.ask(Step.EHLO_TLS, f"EHLO {self.target.ehlo_name}"), "EHLO")
        if Step.EHLO_TLS in self.replies:
            self._inside_tls(Phase.STARTTLS, self.replies[Step.EHLO_TLS])

    def _implicit_tls(self) -> None:
        """465: the TLS handshake comes first, then the banner, EHLO and the view inside TLS."""
        self.tls = self._conn.start_tls(probe_context(), self._sni, stage="tls")
        self._banner()
        ehlo = self.ask(Step.EHLO, f"EHLO {self.target.ehlo_name}")
        self.expect(Step.EHLO, ehlo, "EHLO")
        self._inside_tls(Phase.IMPLICIT_TLS, ehlo)

    def _inside_tls(self, phase: Phase, ehlo: Reply) -> None:
        """Main: relaying without AUTH on 465, the real login and relaying after it. Extra: VRFY inside TLS and
        relaying after STARTTLS without AUTH. Logins: wrong logins, two per connection."""
        kind = self.plan.kind
        if kind is Kind.MAIN:
            if phase is Phase.IMPLICIT_TLS:
                self._relay_matrix(phase)
            if self.target.credentials is not None and self.target.takes_logins(self.service):
                self._login(phase, ehlo)
        elif kind is Kind.EXTRA:
            self.ask(Step.VRFY_TLS, f"VRFY <postmaster@{self._local_domain}>")
            self._relay_matrix(phase, forms=False)
        else:
            start = self.plan.first_login
            for mechanism, identity in bad_logins(ehlo)[start : start + AUTH_PER_CONNECTION]:
                self._auth(phase, mechanism, identity)

    # -- the steps -------------------------------------------------------------------------------

    @property
    def _conn(self) -> Connection:
        assert self.conn is not None
        return self.conn

    @property
    def _sni(self) -> str | None:
        """Only the main session sends SNI: the others connect as many sending MTAs do, so the certificate a
        client without SNI is shown is known too (:meth:`Probes.without_sni`)."""
        return self.target.sni if self.plan.kind is Kind.MAIN else None

    @property
    def _local_domain(self) -> str:
        return self.target.tls_name if self.target.sni else f"[{self.target.tls_name}]"

    def ask(self, step: Step, line: str) -> Reply:
        reply = self._conn.command(line, step.value)
        self.replies[step] = reply
        return reply

    def expect(self, step: Step, reply: Reply, what: str) -> None:
        """Stop the session with a clear error if a reply the dialogue depends on is not positive."""
        if not reply.positive:
            raise ProbeError(self._conn.address, step.value, f"{what} refused: {reply}")

    def _banner(self) -> Reply:
        banner = self._conn.read_reply(Step.BANNER.value)
        self.replies[Step.BANNER] = banner
        self.expect(Step.BANNER, banner, "the session")
        return banner

    def _disclosure(self) -> None:
        """HELP (its text may name the software), and whether VRFY/EXPN tell users apart.

        A user every server has, and one none has: a server that tells them apart discloses users, even
        when it never says 250 (Postfix: 252 for one, 550 for the other). The missing user is asked only
        when postmaster got a 2xx: a refused VRFY tells nothing apart, and each refusal counts against the
        session on Postfix (see :meth:`_relay_matrix`)."""
        self.ask(Step.HELP, "HELP")
        if self.ask(Step.VRFY, f"VRFY <postmaster@{self._local_domain}>").code // 100 == 2:
            self.ask(Step.VRFY_UNKNOWN, f"VRFY <{NO_SUCH_USER}@{self._local_domain}>")
        self.ask(Step.EXPN, "EXPN postmaster")

    def _starttls_with_injection(self) -> None:
        """STARTTLS with a command pipelined behind it in one write (CVE-2011-0411 class).

        A safe server discards the injected ``RCPT`` (no transaction is open, so it would be refused with a
        5xx); a vulnerable one runs it inside TLS. Its reply then comes before the reply to our first
        command inside TLS, EHLO, which can never be a refusal: the two cannot be confused."""
        conn = self._conn
        conn.send("STARTTLS", f"RCPT TO:<smtpsec-injected@{RELAY_DOMAIN}>", stage=Step.STARTTLS.value)
        starttls = conn.read_reply(Step.STARTTLS.value)
        self.replies[Step.STARTTLS] = starttls
        if starttls.code != 220:
            conn.read_reply(Step.STARTTLS.value)  # the pipelined command's reply, in cleartext
            return
        self.tls = conn.start_tls(probe_context(), self._sni, stage=Step.STARTTLS.value)
        if conn.unasked():  # the injected command's reply came first, even before our EHLO
            self.replies[Step.INJECTED] = conn.read_reply(Step.INJECTED.value)
        first = self.ask(Step.EHLO_TLS, f"EHLO {self.target.ehlo_name}")
        if not first.positive:  # the injected command's reply: the EHLO's reply follows it
            self.replies[Step.INJECTED] = first
            self.replies[Step.EHLO_TLS] = conn.read_reply(Step.EHLO_TLS.value)
        self.expect(Step.EHLO_TLS, self.replies[Step.EHLO_TLS], "EHLO")

    def _login(self, phase: Phase, ehlo: Reply) -> None:
        """The real login, as the first AUTH of the connection (some servers lock a connection after a
        failure), then relaying as the user: MAIL and RCPT only, reset at once."""
        mechanisms = password_mechanisms(ehlo)
        if not mechanisms:
            return  # the judges say why: no AUTH, or none the probe speaks
        if self._auth(phase, mechanisms[0], Identity.USER).accepted:
            creds = self.target.credentials
            assert creds is not None
            sender = creds.user if "@" in creds.user else ""
            self._relay(Phase.AUTHENTICATED, sender, RELAY_PROBE_RECIPIENT)

    def _auth(self, phase: Phase, mechanism: str, identity: Identity, *, initial_response: bool = False) -> AuthAttempt:
        """One AUTH exchange. Only the decoy identity is ever sent before TLS; a 334 to a command without
        an initial response is cancelled with ``*`` (RFC 4954) before anything secret is sent. LOGIN sends
        the user name on the AUTH line with ``initial_response``."""
        user, password = self._identity(identity)
        conn, stage = self._conn, f"auth {mechanism.lower()}"
        secret = identity is Identity.USER
        if identity is Identity.NONE or mechanism not in PASSWORD_MECHANISMS:
            first = conn.command(f"AUTH {mechanism}", stage)
            final = conn.command("*", stage) if first.intermediate else first
        elif mechanism == "PLAIN":
            shown = "AUTH PLAIN ********" if secret else None
            first = final = conn.command(auth_plain(user, password), stage, shown=shown)
        elif mechanism == "LOGIN" and initial_response:
            first = final = conn.command(f"AUTH LOGIN {_b64(user)}", stage)
            if final.intermediate:
                final = conn.command(_b64(password), stage, shown="********" if secret else None)
        elif mechanism == "LOGIN":
            first = final = conn.command("AUTH LOGIN", stage)
            if final.intermediate:
                final = conn.command(_b64(user), stage)
            if final.intermediate:
                final = conn.command(_b64(password), stage, shown="********" if secret else None)
        else:  # CRAM-MD5 (RFC 2195): the password keys an HMAC of the server's challenge
            first = final = conn.command("AUTH CRAM-MD5", stage)
            if final.intermediate:
                challenge = base64.b64decode(final.text.strip() or "=", validate=False)
                digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
                final = conn.command(_b64(f"{user} {digest}"), stage, shown="********" if secret else None)
        attempt = AuthAttempt(phase, mechanism, identity, first, final, initial_response)
        self.auth.append(attempt)
        return attempt

    def _identity(self, identity: Identity) -> tuple[str, str]:
        creds = self.target.credentials
        user = creds.user if creds else ""
        if identity is Identity.USER:
            assert creds is not None
            return user, creds.password
        return {
            Identity.NONE: ("", ""),
            Identity.DECOY: (DECOY_USER, DECOY_PASSWORD),
            Identity.WRONG_PASSWORD: (user, WRONG_PASSWORD),
            Identity.UNKNOWN_USER: (NO_SUCH_USER, WRONG_PASSWORD),
            Identity.EMPTY_PASSWORD: (user, ""),
        }[identity]

    def _relay_matrix(self, phase: Phase, *, forms: bool = True) -> None:
        """Relaying without AUTH, every way servers get it wrong: each sender with a plain outside recipient
        (servers that trust a local or the user's own sender domain, or refuse only the null sender), then
        the old address tricks with the first sender the server took (``%`` hack, source route, quoted
        local part, bang path), each pointing outside through this server's own name.

        Every refusal counts against the client on Postfix (from the tenth on, each reply is delayed a
        second), so a session asks at most nine questions that may be refused."""
        accepted: str | None = None
        for sender in self._senders():
            attempt = self._relay(phase, sender, RELAY_PROBE_RECIPIENT)
            if attempt.mail.positive and accepted is None:
                accepted = sender
        if accepted is None or not forms:
            return
        local, user = self._local_domain, RELAY_PROBE_RECIPIENT.split("@")[0]
        for recipient in (
            f"{user}%{RELAY_DOMAIN}@{local}",
            f"@{local}:{user}@{RELAY_DOMAIN}",
            f'"{user}@{RELAY_DOMAIN}"@{local}',
            f"{RELAY_DOMAIN}!{user}@{local}",
        ):
            self._relay(phase, accepted, recipient)

    def _senders(self) -> list[str]:
        senders = ["", OUTSIDE_SENDER, f"postmaster@{self._local_domain}"]
        labels = self.target.tls_name.split(".")
        if self.target.sni and len(labels) > 2:
            senders.append("postmaster@" + ".".join(labels[1:]))
        creds = self.target.credentials
        if creds is not None and "@" in creds.user:
            senders.append("postmaster@" + creds.user.rsplit("@", 1)[1])
        return list(dict.fromkeys(senders))

    def _relay(self, phase: Phase, sender: str, recipient: str, *, retried: bool = False) -> RelayAttempt:
        """MAIL FROM / RCPT TO, then RSET: relaying is decided at RCPT, DATA is never sent. A 4xx is asked once more."""
        conn = self._conn
        mail, rcpt = conn.command(f"MAIL FROM:<{sender}>", "relay"), None
        if mail.positive:
            rcpt = conn.command(f"RCPT TO:<{recipient}>", "relay")
            conn.command("RSET", "rset")
        attempt = RelayAttempt(phase, sender, recipient, mail, rcpt, retried)
        if attempt.deferred and not retried:
            return self._relay(phase, sender, recipient, retried=True)
        self.relay.append(attempt)
        return attempt

    def _quit(self) -> None:
        try:
            self._conn.command("QUIT", "quit")
        except ProbeError:
            pass  # the facts are gathered; a server that hangs up early is no concern of QUIT's


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _bare(error: ProbeError) -> ProbeError:
    """The error without its traceback and chain: their frames may hold a credential."""
    error.__traceback__ = None
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    return error


def auth_plain(user: str, password: str) -> str:
    """The ``AUTH PLAIN`` command with its initial response (RFC 4616); never log it unmasked."""
    return f"AUTH PLAIN {_b64(chr(0) + user + chr(0) + password)}"


def run_session(target: Target, service: Service, plan: Plan = Plan(Kind.MAIN)) -> SessionRecord:
    """Run one probe session on one service of one target (one connection)."""
    return _Dialogue(target, service, plan).run()
