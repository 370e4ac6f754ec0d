"""The probe sessions: one well-ordered SMTP dialogue per service that gathers every fact the checks read.

Each session uses exactly one connection and never sends DATA, so no mail is ever queued. When the
dialogue breaks part-way the facts gathered so far are kept, and asking for a later one raises the
error that stopped it: a check that only needs the banner still gives its verdict.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ..target import Service, Target
from .connection import Connection, TlsInfo, probe_context
from .errors import ProbeError
from .reply import Reply
from .transcript import Transcript, secret_forms

RELAY_PROBE_RECIPIENT = "smtpsec-relay-probe@example.com"
"""An address in a domain reserved by RFC 2606: relaying to it proves relaying anywhere."""
WRONG_PASSWORD = "pytest-smtpsec-wrong-password"
NO_SUCH_USER = "smtpsec-no-such-user-4e1f"  # deliberately wrong


class Step(str, Enum):
    """The steps of a probe session, in the order they run."""

    BANNER = "banner"
    EHLO = "ehlo"
    AUTH_BEFORE_TLS = "auth_before_tls"
    AUTH_BEFORE_TLS_CANCEL = "auth_before_tls_cancel"
    VRFY = "vrfy"
    VRFY_UNKNOWN = "vrfy_unknown"
    EXPN = "expn"
    MAIL_BEFORE_TLS = "mail_before_tls"
    RCPT_BEFORE_TLS = "rcpt_before_tls"
    STARTTLS = "starttls"
    INJECTED = "injected"
    EHLO_TLS = "ehlo_tls"
    AUTH_WRONG = "auth_wrong"
    AUTH = "auth"
    MAIL_AUTH = "mail_auth"
    RCPT_AUTH = "rcpt_auth"


@dataclass(frozen=True)
class SessionRecord:
    """What one probe session saw: replies by step, the TLS handshake, the masked transcript."""

    target: Target
    service: Service
    replies: Mapping[Step, Reply]
    tls: TlsInfo | None
    transcript: str
    error: ProbeError | None = None
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


class _Dialogue:
    """Runs the steps of one session, recording replies as it goes."""

    def __init__(self, target: Target, service: Service) -> None:
        self.target = target
        self.service = service
        creds = target.credentials
        secrets = secret_forms(creds.password, creds.user) if creds else ()
        self.transcript = Transcript(secrets=secrets)
        self.replies: dict[Step, Reply] = {}
        self.tls: TlsInfo | None = None
        self.conn: Connection | None = None

    def ask(self, step: Step, line: str, *, shown: str | None = None) -> Reply:
        assert self.conn is not None
        reply = self.conn.command(line, step.value, shown=shown)
        self.replies[step] = reply
        return reply

    def expect(self, step: Step, reply: Reply, what: str) -> None:
        """Stop the session with a clear error if a reply the dialogue depends on is not positive."""
        if not reply.positive:
            assert self.conn is not None
            raise ProbeError(self.conn.address, step.value, f"{what} refused: {reply}")

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
            self.transcript.event(f"stopped: {exc.reason}")
            exc.transcript = self.transcript.render()
        return SessionRecord(
            target=self.target,
            service=self.service,
            replies=dict(self.replies),
            tls=self.tls,
            transcript=self.transcript.render(),
            error=error,
        )

    # -- the two shapes of session ---------------------------------------------------------------

    def _starttls(self) -> None:
        """25 and 587: cleartext first; what a client without TLS can do; STARTTLS; then the logged-in view."""
        assert self.conn is not None
        self._banner()
        ehlo = self.ask(Step.EHLO, f"EHLO {self.target.ehlo_name}")
        self.expect(Step.EHLO, ehlo, "EHLO")
        # The note's own test: "auth plain" with no initial response, so no credential is ever sent in
        # the clear. 334 means the server would take a cleartext password; cancel it with "*".
        if self.ask(Step.AUTH_BEFORE_TLS, "AUTH PLAIN").intermediate:
            self.ask(Step.AUTH_BEFORE_TLS_CANCEL, "*")
        # A user every server has, and one none has: a server that tells them apart discloses users, even
        # when it never says 250 (Postfix: 252 for one, 550 for the other).
        domain = self.target.tls_name if self.target.sni else f"[{self.target.tls_name}]"
        self.ask(Step.VRFY, f"VRFY <postmaster@{domain}>")
        self.ask(Step.VRFY_UNKNOWN, f"VRFY <{NO_SUCH_USER}@{domain}>")
        self.ask(Step.EXPN, "EXPN postmaster")
        self._relay_probe(Step.MAIL_BEFORE_TLS, Step.RCPT_BEFORE_TLS, sender="")
        if ehlo.extension("STARTTLS") is None:
            return
        # STARTTLS and NOOP in one write (CVE-2011-0411 class): a safe server discards the NOOP. After
        # the handshake we send HELP; if the first reply inside TLS is a 250, it answered the NOOP.
        self.conn.send("STARTTLS", "NOOP", stage=Step.STARTTLS.value)
        starttls = self.conn.read_reply(Step.STARTTLS.value)
        self.replies[Step.STARTTLS] = starttls
        if starttls.code != 220:
            self.conn.read_reply(Step.STARTTLS.value)  # the NOOP's reply, in cleartext
            return
        self.tls = self.conn.start_tls(probe_context(), self.target.sni, stage=Step.STARTTLS.value)
        first = self.ask(Step.INJECTED, "HELP")
        if first.code == 250:
            self.conn.read_reply(Step.INJECTED.value)  # the HELP reply that follows
        else:
            del self.replies[Step.INJECTED]
        self._logged_in_view(Step.EHLO_TLS)

    def _implicit_tls(self) -> None:
        """465: the TLS handshake comes first, then the banner, EHLO and the logged-in view."""
        assert self.conn is not None
        self.tls = self.conn.start_tls(probe_context(), self.target.sni, stage="tls")
        self._banner()
        self._logged_in_view(Step.EHLO)

    # -- shared steps ----------------------------------------------------------------------------

    def _banner(self) -> Reply:
        assert self.conn is not None
        banner = self.conn.read_reply(Step.BANNER.value)
        self.replies[Step.BANNER] = banner
        self.expect(Step.BANNER, banner, "the session")
        return banner

    def _logged_in_view(self, ehlo_step: Step) -> None:
        ehlo = self.ask(ehlo_step, f"EHLO {self.target.ehlo_name}")
        self.expect(ehlo_step, ehlo, "EHLO")
        creds = self.target.credentials
        if creds is None or not self.target.takes_logins(self.service):
            return
        mechanisms = (ehlo.extension("AUTH") or "").upper().split()
        mechanism = "PLAIN" if "PLAIN" in mechanisms or "LOGIN" not in mechanisms else "LOGIN"
        # Exactly one wrong-password attempt: sendmail slows down from the third failure on.
        self._auth(Step.AUTH_WRONG, mechanism, creds.user, WRONG_PASSWORD)
        if self._auth(Step.AUTH, mechanism, creds.user, creds.password).positive:
            self._relay_probe(Step.MAIL_AUTH, Step.RCPT_AUTH, sender=creds.user if "@" in creds.user else "")

    def _auth(self, step: Step, mechanism: str, user: str, password: str) -> Reply:
        if mechanism == "PLAIN":
            return self.ask(step, auth_plain(user, password), shown="AUTH PLAIN ********")
        reply = self.ask(step, "AUTH LOGIN")
        if reply.intermediate:
            reply = self.ask(step, _b64(user), shown=_b64(user))
        if reply.intermediate:
            reply = self.ask(step, _b64(password), shown="********")
        return reply

    def _relay_probe(self, mail_step: Step, rcpt_step: Step, *, sender: str) -> None:
        """MAIL FROM / RCPT TO an outside address, then RSET: relaying is decided at RCPT, DATA is never sent."""
        if self.ask(mail_step, f"MAIL FROM:<{sender}>").positive:
            self.ask(rcpt_step, f"RCPT TO:<{RELAY_PROBE_RECIPIENT}>")
            assert self.conn is not None
            self.conn.command("RSET", "rset")

    def _quit(self) -> None:
        assert self.conn is not None
        try:
            self.conn.command("QUIT", "quit")
        except ProbeError:
            pass  # the facts are gathered; a server that hangs up early is no concern of QUIT's


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def auth_plain(user: str, password: str) -> str:
    """The ``AUTH PLAIN`` command with its initial response (RFC 4616); never log it unmasked."""
    return f"AUTH PLAIN {_b64(chr(0) + user + chr(0) + password)}"


def run_session(target: Target, service: Service) -> SessionRecord:
    """Run the probe session for one service of one target (one connection)."""
    return _Dialogue(target, service).run()
