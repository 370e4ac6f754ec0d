"""The rendered main.cf / master.cf / exim4.conf: each MTA's own idioms, and one respect per profile.

No server is started here; the servers themselves are exercised in test_mta_matrix.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_smtpsec.lab.mta import PROFILES
from pytest_smtpsec.lab.mta.exim import exim4_conf
from pytest_smtpsec.lab.mta.postfix import main_cf, master_cf
from pytest_smtpsec.lab.mta.server import Instance
from pytest_smtpsec.lab.pki import self_signed_cert

PORTS = {"smtp": 2525, "submission": 2587, "smtps": 2465}
CERT = self_signed_cert("mail.test", key_type="ec")


def instance(profile: str, **ports: int | None) -> Instance:
    p = PROFILES[profile]
    chosen = {**PORTS, **({"smtps": None} if not p.smtps else {}), **ports}
    return Instance(Path("/nonexistent"), p, "127.0.0.1", chosen, CERT, "alice@mail.test", "pw-0_x", CERT if p.mixed_certs else None)


def main_settings(profile: str) -> dict[str, str]:
    lines = [line for line in main_cf(instance(profile)).splitlines() if line and not line.startswith("#")]
    return dict(line.split(" = ", 1) for line in lines)


def listeners(profile: str) -> dict[str, dict[str, str]]:
    """{service: {option: value}} of the lab's own master.cf entries (after the base it is given)."""
    text = master_cf(instance(profile), "")
    found = {}
    for block in re.split(r"\n(?=127\.0\.0\.1:)", text.split("\n", 1)[1].strip()):
        options = dict(re.findall(r"-o (\w+)=(\S*)", block))
        found[options.pop("syslog_name").split("/")[1]] = options
    return found


# -- Postfix -----------------------------------------------------------------------------------


def test_postfix_secure_uses_the_postfix_idioms() -> None:
    main = main_settings("secure")
    assert main["smtpd_tls_auth_only"] == "yes"
    assert main["smtpd_tls_security_level"] == "may"
    assert main["mynetworks"] == "127.0.0.1/32"
    assert "permit_mynetworks" not in main["smtpd_relay_restrictions"]  # loopback clients must not relay
    assert main["smtpd_relay_restrictions"] == "permit_sasl_authenticated, reject_unauth_destination"
    assert main["disable_vrfy_command"] == "yes"
    assert "aNULL" in main["smtpd_tls_exclude_ciphers"]
    assert main["inet_interfaces"] == "127.0.0.1"
    entries = listeners("secure")
    assert entries["submission"]["smtpd_tls_security_level"] == "encrypt"
    assert entries["smtps"]["smtpd_tls_wrappermode"] == "yes"
    assert master_cf(instance("secure"), "").count(" inet n - n - - smtpd") == 3  # unchrooted: sasldb is in /etc


POSTFIX_MAIN_CHANGES = {
    "cleartext-auth": {"smtpd_tls_auth_only"},
    "no-starttls": {"smtpd_tls_security_level"},
    "old-tls": {"smtpd_tls_protocols", "smtpd_tls_mandatory_protocols", "tls_medium_cipherlist"},
    "open-relay": {"mynetworks", "smtpd_relay_restrictions"},
    "vrfy-on": {"disable_vrfy_command"},
    "weak-ciphers": {"smtpd_tls_exclude_ciphers"},
    "no-auth-relay": {"smtpd_relay_restrictions"},
}
POSTFIX_MASTER_CHANGES = {
    "cleartext-auth": {("submission", "smtpd_tls_security_level")},
    "no-starttls": {("submission", "smtpd_tls_security_level")},
    "no-smtps": {("smtps", "*")},
    "submission-open": {("submission", o) for o in ("smtpd_tls_security_level", "smtpd_delay_reject", "smtpd_sender_restrictions")},
    "smtps-cleartext": {("smtps", "smtpd_tls_wrappermode"), ("smtps", "smtpd_tls_security_level")},
    "mixed-certs": {("smtps", "smtpd_tls_cert_file"), ("smtps", "smtpd_tls_key_file")},
    "no-auth-relay": {("submission", "smtpd_relay_restrictions"), ("smtps", "smtpd_relay_restrictions")},
}


def _master_changes(profile: str) -> set[tuple[str, str]]:
    secure, other = listeners("secure"), listeners(profile)
    changed = {(s, "*") for s in set(secure) ^ set(other)}
    for service in set(secure) & set(other):
        a, b = secure[service], other[service]
        changed |= {(service, o) for o in set(a) | set(b) if a.get(o) != b.get(o)}
    return changed


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "secure"])
def test_postfix_profiles_differ_from_secure_in_one_respect(profile: str) -> None:
    secure, other = main_settings("secure"), main_settings(profile)
    changed = {k for k in set(secure) | set(other) if secure.get(k) != other.get(k)} - {"smtpd_banner"}
    assert changed == POSTFIX_MAIN_CHANGES.get(profile, set())
    assert _master_changes(profile) == POSTFIX_MASTER_CHANGES.get(profile, set())
    own = "$mail_name $mail_version" if profile == "default-banner" else f"pytest-smtpsec-{profile}"
    assert other["smtpd_banner"] == f"$myhostname ESMTP {own}"


def test_postfix_open_relay_is_the_classic_mynetworks_mistake() -> None:
    main = main_settings("open-relay")
    assert main["mynetworks"] == "0.0.0.0/0 [::]/0" and main["smtpd_relay_restrictions"].startswith("permit_mynetworks")


# -- Exim --------------------------------------------------------------------------------------


def exim(profile: str) -> str:
    return exim4_conf(instance(profile))


def test_exim_secure_uses_the_exim_idioms() -> None:
    conf = exim("secure")
    assert "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}" in conf  # AUTH only once TLS is up
    assert "tls_on_connect_ports = 2465" in conf and "daemon_smtp_ports = 2525 : 2587 : 2465" in conf
    assert "tls_advertise_hosts = *" in conf
    assert re.search(r"hostlist relay_from_hosts = <; *\n", conf)  # Debian's default (loopback) emptied
    assert "acl_smtp_vrfy" not in conf and "acl_smtp_expn" not in conf
    assert "condition = ${if eq{$received_port}{2587}}\n          !encrypted = *" in conf
    assert "server_condition = ${if and{{eq{$auth2}{alice@mail.test}}{eq{$auth3}{pw-0_x}}}}" in conf
    assert _TLS12 in conf


_TLS12 = "tls_require_ciphers = NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
EXIM_IDIOMS = {
    # profile: (lines it adds, lines it drops) relative to secure, besides the header and the banner
    "cleartext-auth": ({"auth_advertise_hosts = *"}, {"auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}"}),
    "no-starttls": ({"tls_advertise_hosts ="}, {"tls_advertise_hosts = *"}),
    "no-smtps": ({"daemon_smtp_ports = 2525 : 2587"}, {"daemon_smtp_ports = 2525 : 2587 : 2465", "tls_on_connect_ports = 2465"}),
    "old-tls": ({_TLS12 + ":+VERS-TLS1.1:+VERS-TLS1.0"}, {_TLS12}),
    "open-relay": ({"hostlist relay_from_hosts = <; 0.0.0.0/0 ; ::/0"}, {"hostlist relay_from_hosts = <;"}),
    "vrfy-on": ({"acl_smtp_vrfy = accept", "acl_smtp_expn = accept"}, set()),
    "weak-ciphers": ({_TLS12.replace("NORMAL", "NORMAL:+NULL")}, {_TLS12}),
    "smtps-cleartext": (set(), {"tls_on_connect_ports = 2465"}),
}


def _lines(conf: str) -> set[str]:
    return {line.rstrip() for line in conf.splitlines() if line.strip() and not line.startswith(("#", "smtp_banner"))}


@pytest.mark.parametrize("profile", sorted(EXIM_IDIOMS))
def test_exim_profiles_change_the_exim_idiom(profile: str) -> None:
    added, dropped = EXIM_IDIOMS[profile]
    secure, other = _lines(exim("secure")), _lines(exim(profile))
    assert added <= other - secure and dropped <= secure - other


def test_exim_submission_profiles_change_the_mail_acl() -> None:
    secure, cleartext, open_ = exim("secure"), exim("cleartext-auth"), exim("submission-open")
    assert "Must issue a STARTTLS command first" in secure and "Must issue a STARTTLS command first" not in cleartext
    assert "inlist{$received_port}{2587:2465}}\n          !authenticated" in cleartext  # MAIL only after AUTH
    assert "inlist{$received_port}{2465}}\n          !authenticated" in open_  # smtps still needs AUTH
    assert "tls_certificate = ${if eq{$received_port}{2465}" in exim("mixed-certs")
    assert "accept  authenticated = *\n          domains = +local_domains\n" in exim("no-auth-relay")
    assert "smtp_banner" not in exim("default-banner")  # Exim's default banner shows its version
