"""The lab's profiles, one registry for every MTA: `secure`, and one profile per misconfiguration.

A profile is a set of facts about behaviour ("AUTH is taken before TLS", "relays for anyone"); each
MTA renders them in its own idiom (sendmail: :mod:`.mc`, Postfix and Exim: :mod:`.mta`), and says
which it can render (:func:`sendmail_can`, ``MtaServer.can``). Each misconfigured profile differs from
`secure` in exactly one respect, so that a check which must fail on it cannot fail for a second,
accidental reason — and must give the same verdict on every MTA that renders it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field, replace

from .pki import CA, LeafCert, self_signed_cert

TLS_NAME = "mail.test"
USER = "alice"
"""Every lab server's one login, as ``alice@mail.test``."""


@dataclass(frozen=True)
class CertSpec:
    """The server certificate a profile presents."""

    names: tuple[str, ...] = (TLS_NAME,)
    add_address: bool = True  # also put the listening IP into the SAN
    self_signed: bool = False
    expired: bool = False
    key_size: int = 2048  # RSA

    def issue(self, ca: CA, address: str) -> LeafCert:
        """This certificate for a server on ``address``, issued by ``ca`` (or self-signed, if so specified)."""
        # a wildcard listening address (0.0.0.0, ::, as in the Docker image) is no name a client connects to
        names = self.names + ((address,) if self.add_address and not ipaddress.ip_address(address).is_unspecified else ())
        not_before = not_after = None
        if self.expired:
            now = dt.datetime.now(dt.UTC)
            not_before, not_after = now - dt.timedelta(days=60), now - dt.timedelta(days=30)
        issue = self_signed_cert if self.self_signed else ca.issue_cert
        return issue(*names, key_size=self.key_size, not_before=not_before, not_after=not_after)


@dataclass(frozen=True)
class Profile:
    name: str
    models: str  # one line: the misconfiguration, in words that fit any MTA
    auth_before_tls: bool = False  # AUTH offered and accepted in cleartext on smtp and submission
    starttls: bool = True  # STARTTLS offered on smtp and submission
    smtps: bool = True  # an implicit-TLS listener
    open_relay: bool = False  # unauthenticated clients may relay
    relay_local_from: bool = False  # anyone may relay whose MAIL FROM names a local domain
    vrfy: bool = False  # VRFY/EXPN answered
    old_tls: bool = False  # TLS 1.0 and 1.1 accepted besides 1.2/1.3
    weak_ciphers: bool = False  # cipher suites the note forbids (anonymous, NULL) accepted
    submission_open: bool = False  # submission takes MAIL before STARTTLS and AUTH
    smtps_cleartext: bool = False  # the smtps port speaks cleartext SMTP (implicit TLS forgotten)
    mixed_certs: bool = False  # smtps presents another (valid) certificate than smtp/submission
    banner_version: bool = False  # the greeting (and HELP) names the MTA and its version
    no_auth_relay: bool = False  # authenticated users may not relay either
    cert: CertSpec = field(default_factory=CertSpec)

    @property
    def submission_requires_tls(self) -> bool:
        """Submission refuses MAIL before STARTTLS; a server that takes cleartext AUTH there cannot."""
        return self.starttls and not self.auth_before_tls and not self.submission_open


SECURE = Profile("secure", "nothing: STARTTLS on smtp/submission, AUTH only inside TLS, smtps, no relay without AUTH")


def _variant(name: str, models: str, **changes: object) -> Profile:
    return replace(SECURE, name=name, models=models, **changes)  # type: ignore[arg-type]


ALL: dict[str, Profile] = {
    p.name: p
    for p in (
        SECURE,
        _variant("cleartext-auth", "AUTH offered and accepted before STARTTLS on smtp/submission", auth_before_tls=True),
        _variant("no-smtps", "no implicit-TLS (smtps) listener", smtps=False),
        _variant("no-starttls", "STARTTLS not offered on smtp/submission; smtps still works", starttls=False),
        _variant("self-signed", "server certificate is self-signed, not issued by the CA clients trust", cert=CertSpec(self_signed=True)),
        _variant(
            "wrong-hostname",
            "CA-signed certificate for another name (other.test), not the server's",
            cert=CertSpec(names=("other.test",), add_address=False),
        ),
        _variant("expired", "CA-signed certificate whose notAfter is in the past", cert=CertSpec(expired=True)),
        _variant("weak-key", "CA-signed certificate with a 1024-bit RSA key", cert=CertSpec(key_size=1024)),
        _variant("old-tls", "TLS 1.0 and 1.1 accepted besides 1.2/1.3", old_tls=True),
        _variant("open-relay", "relays for unauthenticated clients (sendmail on every port; Postfix/Exim on smtp)", open_relay=True),
        _variant(
            "relay-local-from",
            "relays for anyone whose MAIL FROM names a local domain (sendmail's FEATURE(relay_local_from))",
            relay_local_from=True,
        ),
        _variant("vrfy-on", "VRFY and EXPN answer, disclosing users", vrfy=True),
        _variant("submission-open", "submission takes MAIL before STARTTLS and AUTH", submission_open=True),
        _variant("no-auth-relay", "authenticated users may not relay", no_auth_relay=True),
        _variant("default-banner", "the greeting (and HELP) shows the MTA's version, as its defaults do", banner_version=True),
        _variant("weak-ciphers", "anonymous or NULL cipher suites accepted", weak_ciphers=True),
        _variant("smtps-cleartext", "the smtps port speaks cleartext SMTP: implicit TLS forgotten", smtps_cleartext=True),
        _variant("mixed-certs", "smtps presents another valid certificate than smtp and submission", mixed_certs=True),
    )
}
"""Every profile; an MTA offers those it can render."""


def sendmail_can(profile: Profile) -> bool:
    """Whether the reference sendmail renders ``profile`` (one certificate for all its daemons)."""
    return not profile.mixed_certs


PROFILES: dict[str, Profile] = {name: p for name, p in ALL.items() if sendmail_can(p)}
"""The reference sendmail's profiles."""
