"""Cyrus SASL's ``Sendmail.conf``: does password checking go through saslauthd?

The note: "Authentication requires the saslauthd(8) service". That holds when ``pwcheck_method``
names ``saslauthd`` and a plaintext mechanism (PLAIN, LOGIN: the only ones saslauthd can verify) is
offered; with ``auxprop`` (sasldb) or without a ``Sendmail.conf`` (Cyrus then uses auxprop) it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

SASL_CONF_CANDIDATES = (
    "/etc/sasl2/Sendmail.conf",  # RedHat, newer Cyrus
    "/usr/lib/sasl2/Sendmail.conf",  # Debian (a link to /etc/mail/sasl/Sendmail.conf*)
    "/usr/lib64/sasl2/Sendmail.conf",
)
"""Where Cyrus SASL looks for sendmail's configuration; the first that exists is used."""

SASLAUTHD_SOCKETS = ("/run/saslauthd/mux", "/var/run/saslauthd/mux", "/var/state/saslauthd/mux")
"""saslauthd's socket when ``saslauthd_path`` does not say."""

PLAINTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})

SENDMAIL_DEFAULT_MECHANISMS = ("GSSAPI", "KERBEROS_V4", "DIGEST-MD5", "CRAM-MD5")
"""sendmail's AuthMechanisms when the cf does not set it."""


@dataclass(frozen=True)
class SaslConf:
    path: str
    options: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        return dict(self.options).get(key)

    @property
    def pwcheck_methods(self) -> tuple[str, ...]:
        return tuple((self.get("pwcheck_method") or "auxprop").split())

    @property
    def mech_list(self) -> frozenset[str] | None:
        value = self.get("mech_list")
        return frozenset(value.upper().split()) if value else None

    @property
    def sockets(self) -> tuple[str, ...]:
        path = self.get("saslauthd_path")
        return (path,) if path else SASLAUTHD_SOCKETS


def parse_sasl_conf(path: str, text: str) -> SaslConf:
    """``key: value`` lines; ``#`` starts a comment line. A later key overrides an earlier one."""
    options = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            options.append((key.strip(), value.strip()))
    return SaslConf(path, tuple(options))
