"""Where everything of one lab instance lives: a single state directory, nothing outside it.

The certificate files mirror the note (`cacert.pem`, `smtp.pem`, `private/smtpkey.pem`, and the
client pair `smtpc.pem` / `private/smtpckey.pem` as copies of the same data), so host-side checks of
file modes can be run against the `secure` lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def cacert(self) -> Path:
        return self.root / "cacert.pem"

    @property
    def server_cert(self) -> Path:
        return self.root / "smtp.pem"

    @property
    def client_cert(self) -> Path:
        return self.root / "smtpc.pem"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def server_key(self) -> Path:
        return self.private / "smtpkey.pem"

    @property
    def client_key(self) -> Path:
        return self.private / "smtpckey.pem"

    @property
    def mc(self) -> Path:
        return self.root / "sendmail.mc"

    @property
    def cf(self) -> Path:
        return self.root / "sendmail.cf"

    @property
    def etc(self) -> Path:
        """Private copies of system files, bind-mounted over the real ones inside the namespace."""
        return self.root / "etc"

    @property
    def hosts(self) -> Path:
        return self.etc / "hosts"

    @property
    def nsswitch(self) -> Path:
        return self.etc / "nsswitch.conf"

    @property
    def openssl_cnf(self) -> Path:
        """sendmail has no cf option for the minimum TLS version, and loads a weak key only at a
        lowered security level before its CipherList applies; OpenSSL's config covers both."""
        return self.etc / "openssl.cnf"

    @property
    def service_switch(self) -> Path:
        return self.etc / "service.switch"

    @property
    def mail_settings(self) -> Path:
        return self.root / "mail"

    @property
    def sasl(self) -> Path:
        return self.root / "sasl"

    @property
    def sasl_conf(self) -> Path:
        return self.sasl / "Sendmail.conf"

    @property
    def sasldb(self) -> Path:
        return self.sasl / "sasldb2"

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    @property
    def aliases(self) -> Path:
        return self.root / "aliases"

    @property
    def helpfile(self) -> Path:
        return self.root / "helpfile"

    @property
    def pid_file(self) -> Path:
        return self.root / "sendmail.pid"

    @property
    def status_file(self) -> Path:
        return self.root / "sendmail.st"

    @property
    def dead_letter(self) -> Path:
        return self.root / "dead.letter"

    @property
    def syslog_socket(self) -> Path:
        return self.root / "syslog.sock"

    @property
    def syslog(self) -> Path:
        """sendmail's syslog messages (it logs nowhere else)."""
        return self.root / "syslog.log"

    @property
    def daemon_log(self) -> Path:
        """stdout/stderr of the daemon: early fatal errors (cf syntax, mounts) land here."""
        return self.root / "daemon.log"

    @property
    def run(self) -> Path:
        """What `start` launched, for `stop` from another process."""
        return self.root / "run.json"

    @property
    def target(self) -> Path:
        return self.root / "target.json"
