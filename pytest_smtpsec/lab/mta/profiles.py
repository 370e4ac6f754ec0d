"""The lab profiles as facts about behaviour, which each MTA module turns into its own idioms.

The names, and the certificate faults, are the reference sendmail's (`..profiles.PROFILES`), so a
profile means the same misconfiguration on every server and a check must give the same verdict on all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..profiles import PROFILES as SENDMAIL_PROFILES
from ..profiles import CertSpec


@dataclass(frozen=True)
class MtaProfile:
    name: str
    models: str  # one line: the misconfiguration, in words that fit any MTA
    auth_before_tls: bool = False  # AUTH offered and accepted in cleartext on smtp and submission
    starttls: bool = True  # STARTTLS offered on smtp and submission
    smtps: bool = True  # an implicit-TLS listener
    open_relay: bool = False  # unauthenticated clients may relay on smtp
    vrfy: bool = False  # VRFY/EXPN answered
    old_tls: bool = False  # TLS 1.0 and 1.1 accepted besides 1.2/1.3
    weak_ciphers: bool = False  # cipher suites the note forbids (anonymous, NULL) accepted
    submission_open: bool = False  # submission takes MAIL before STARTTLS and AUTH
    smtps_cleartext: bool = False  # the smtps port speaks cleartext SMTP (implicit TLS forgotten)
    mixed_certs: bool = False  # smtps presents another (valid) certificate than smtp/submission
    banner_version: bool = False  # the greeting names the MTA and its version
    no_auth_relay: bool = False  # authenticated users may not relay either
    cert: CertSpec = field(default_factory=CertSpec)

    @property
    def submission_requires_tls(self) -> bool:
        """Submission refuses MAIL before STARTTLS; a server that takes cleartext AUTH there cannot."""
        return self.starttls and not self.auth_before_tls and not self.submission_open


SECURE = MtaProfile("secure", "nothing: STARTTLS on smtp/submission, AUTH only inside TLS, smtps, no relay without AUTH")


def _variant(name: str, models: str, **changes: object) -> MtaProfile:
    """A profile that differs from `secure` in one respect; certificate faults come from sendmail's table."""
    cert = SENDMAIL_PROFILES[name].cert if name in SENDMAIL_PROFILES else SECURE.cert
    return replace(SECURE, name=name, models=models, cert=cert, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, MtaProfile] = {
    p.name: p
    for p in (
        SECURE,
        _variant("cleartext-auth", "AUTH offered and accepted before STARTTLS on smtp/submission", auth_before_tls=True),
        _variant("no-smtps", "no implicit-TLS (smtps) listener", smtps=False),
        _variant("no-starttls", "STARTTLS not offered on smtp/submission; smtps still works", starttls=False),
        _variant("self-signed", "server certificate is self-signed, not issued by the CA clients trust"),
        _variant("wrong-hostname", "CA-signed certificate for another name (other.test), not the server's"),
        _variant("expired", "CA-signed certificate whose notAfter is in the past"),
        _variant("weak-key", "CA-signed certificate with a 1024-bit RSA key"),
        _variant("old-tls", "TLS 1.0 and 1.1 accepted besides 1.2/1.3", old_tls=True),
        _variant("open-relay", "relays for unauthenticated clients on smtp", open_relay=True),
        _variant("vrfy-on", "VRFY and EXPN answer, disclosing users", vrfy=True),
        _variant("submission-open", "submission takes MAIL before STARTTLS and AUTH", submission_open=True),
        _variant("no-auth-relay", "authenticated users may not relay", no_auth_relay=True),
        _variant("default-banner", "the greeting shows the MTA's version (Exim's default; Postfix: $mail_version)", banner_version=True),
        _variant("weak-ciphers", "anonymous or NULL cipher suites accepted (Postfix's default: aNULL)", weak_ciphers=True),
        _variant("smtps-cleartext", "the smtps port speaks cleartext SMTP: implicit TLS forgotten", smtps_cleartext=True),
        _variant("mixed-certs", "smtps presents another valid certificate than smtp and submission", mixed_certs=True),
    )
}
"""Sendmail's profiles with the same names and faults (all but its no-mail host), and `mixed-certs`."""
