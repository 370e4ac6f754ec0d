"""Named configurations of the reference sendmail: `secure`, and one profile per misconfiguration.

Each misconfigured profile differs from `secure` in exactly one respect, so that a check which must
fail on it cannot fail for a second, accidental reason.
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
    models: str  # one line: the misconfiguration this profile models
    auth_options: str = "A p"  # confAUTH_OPTIONS; `p`: no plaintext AUTH before TLS
    starttls: bool = True  # offer STARTTLS on smtp and submission
    smtps: bool = True  # listen for implicit TLS (M=s)
    privacy_flags: str = "goaway"  # confPRIVACY_FLAGS
    relay_without_auth: bool = False  # FEATURE(promiscuous_relay)
    min_tls: str = "TLSv1.2"  # OpenSSL MinProtocol
    seclevel: int = 2  # OpenSSL @SECLEVEL: 1 admits 1024-bit RSA, 0 also TLS 1.0/1.1 (SHA-1 signatures)
    cert: CertSpec = field(default_factory=CertSpec)
    msa_modifiers: str = "Ea"  # submission daemon: E no ETRN, a AUTH required
    trust_auth: bool = True  # TRUST_AUTH_MECH: authenticated users may relay
    banner: str | None = "$j pytest-smtpsec-{name}"  # confSMTP_LOGIN_MSG; None: sendmail's default (with version)
    cipher_list: str | None = None  # confCIPHER_LIST
    smtps_modifiers: str = "s"  # smtps daemon: s = TLS at connect
    mc_lines: tuple[str, ...] = ()  # more sendmail.mc lines, e.g. FEATURE(`relay_local_from')dnl


SECURE = Profile("secure", "nothing: configured the way the note asks")


def _variant(name: str, models: str, **changes: object) -> Profile:
    return replace(SECURE, name=name, models=models, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        SECURE,
        _variant(
            "cleartext-auth",
            "AUTH offered and accepted before STARTTLS on smtp/submission (AUTH_OPTIONS without p)",
            auth_options="A",
        ),
        _variant("no-smtps", "no implicit-TLS (smtps) listener", smtps=False),
        _variant(
            "no-starttls",
            "STARTTLS not offered on smtp/submission (M=S); smtps still works",
            starttls=False,
        ),
        _variant(
            "self-signed",
            "server certificate is self-signed, not issued by the CA clients trust",
            cert=CertSpec(self_signed=True),
        ),
        _variant(
            "wrong-hostname",
            "CA-signed certificate for another name (other.test), not the server's",
            cert=CertSpec(names=("other.test",), add_address=False),
        ),
        _variant("expired", "CA-signed certificate whose notAfter is in the past", cert=CertSpec(expired=True)),
        _variant(
            "weak-key",
            "CA-signed certificate with a 1024-bit RSA key",
            cert=CertSpec(key_size=1024),
            seclevel=1,
        ),
        _variant(
            "old-tls",
            "TLS 1.0 and 1.1 accepted besides 1.2/1.3 (OpenSSL security level 0)",
            min_tls="TLSv1",
            seclevel=0,
        ),
        _variant("open-relay", "relays for unauthenticated clients", relay_without_auth=True),
        _variant(
            "relay-local-from",
            "relays for anyone whose MAIL FROM names a local domain (FEATURE(relay_local_from))",
            mc_lines=("FEATURE(`relay_local_from')dnl",),
        ),
        _variant(
            "vrfy-on",
            "VRFY and EXPN answer, disclosing users (no novrfy/noexpn)",
            privacy_flags="authwarnings",
        ),
        _variant("submission-open", "submission (587) takes MAIL before AUTH (M=E without a)", msa_modifiers="E"),
        _variant("no-auth-relay", "authenticated users may not relay (no TRUST_AUTH_MECH)", trust_auth=False),
        _variant("default-banner", "sendmail's default banner, which shows its version", banner=None),
        _variant(
            "weak-ciphers",
            "NULL and anonymous cipher suites accepted (confCIPHER_LIST with eNULL:aNULL)",
            cipher_list="ALL:eNULL:aNULL:@SECLEVEL=0",
            seclevel=0,
        ),
        _variant("smtps-cleartext", "the smtps port speaks cleartext SMTP (DAEMON_OPTIONS without M=s)", smtps_modifiers=""),
    )
}
