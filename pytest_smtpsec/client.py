"""A recorded SMTP session for users' own tests: the same connection code the probes use."""

from __future__ import annotations

import ssl

from .probe import Connection, ProbeError, Reply, TlsInfo, Transcript, probe_context
from .probe.session import auth_plain
from .probe.transcript import secret_forms
from .target import Service, Target


class SmtpClient:
    """One SMTP session to a service of a target. TLS is never verified here: certificate checks judge that.

    >>> with SmtpClient(target, Service.SUBMISSION) as smtp:   # doctest: +SKIP
    ...     assert "STARTTLS" in smtp.ehlo().keywords()
    ...     smtp.starttls()
    ...     assert smtp.login().code == 235
    """

    def __init__(self, target: Target, service: Service | str) -> None:
        self.target = target
        self.service = Service(service)
        creds = target.credentials
        self._transcript = Transcript(secrets=secret_forms(creds.password, creds.user) if creds else ())
        self._conn: Connection | None = None
        self.banner: Reply | None = None
        self.tls: TlsInfo | None = None

    def connect(self) -> Reply:
        """Open the connection (TLS first on smtps) and read the banner."""
        port = self.target.port(self.service)
        self._conn = Connection.open(self.target.host, port, timeout=self.target.timeout, transcript=self._transcript)
        if self.service.implicit_tls:
            self.tls = self._conn.start_tls(probe_context(), self.target.sni)
        self.banner = self._conn.read_reply("banner")
        return self.banner

    def command(self, line: str, *, shown: str | None = None) -> Reply:
        __tracebackhide__ = True  # the frame holds the line as sent (an AUTH line carries the password)
        return self._connection().command(line, line.split(" ", 1)[0].lower(), shown=shown)

    def ehlo(self) -> Reply:
        return self.command(f"EHLO {self.target.ehlo_name}")

    def starttls(self, context: ssl.SSLContext | None = None) -> Reply:
        """STARTTLS; on ``220`` the handshake runs and ``self.tls`` describes it."""
        reply = self.command("STARTTLS")
        if reply.code == 220:
            self.tls = self._connection().start_tls(context or probe_context(), self.target.sni, stage="starttls")
        return reply

    def login(self, user: str | None = None, password: str | None = None) -> Reply:
        """One ``AUTH PLAIN`` with the target's credentials (or those given); masked in the transcript."""
        __tracebackhide__ = True  # the frame holds the password
        creds = self.target.credentials
        user = user if user is not None else (creds.user if creds else "")
        password = password if password is not None else (creds.password if creds else "")
        self._transcript.secrets += secret_forms(password, user)
        return self.command(auth_plain(user, password), shown="AUTH PLAIN ********")

    def quit(self) -> None:
        if self._conn is not None:
            try:
                self._conn.command("QUIT", "quit")
            except ProbeError:
                pass
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def transcript(self) -> str:
        return self._transcript.render()

    def __enter__(self) -> SmtpClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()

    def _connection(self) -> Connection:
        if self._conn is None:
            raise ProbeError(f"{self.target.host}", "client", "not connected: call connect() first")
        return self._conn
