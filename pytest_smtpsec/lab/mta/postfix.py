"""Debian's Postfix 3.7 as a lab server: `main.cf` and `master.cf` written the way a postmaster would.

The idioms: `smtpd_tls_auth_only` keeps AUTH inside TLS, `smtpd_tls_security_level=encrypt` makes
submission refuse MAIL before STARTTLS, `smtpd_tls_wrappermode` is smtps, and relaying is decided by
`smtpd_relay_restrictions` (loopback is in the default `mynetworks`, so the secure profile must not
`permit_mynetworks`). Every service runs unchrooted (`chroot = n`) so smtpd can read /etc/sasldb2.
"""

from __future__ import annotations

from ..profiles import TLS_NAME, USER
from .profiles import MtaProfile
from .rootfs import BASE, Recipe
from .server import Instance, MtaServer

_SASL_CONF = "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /etc/sasldb2\nmech_list: PLAIN LOGIN\n"

RECIPE = Recipe(
    "postfix",
    packages=("postfix", "libsasl2-modules", "sasl2-bin"),
    debconf=(
        "postfix postfix/main_mailer_type select Internet Site",
        f"postfix postfix/mailname string {TLS_NAME}",
    ),
    setup=f"""
postconf -MX smtp/inet
postconf -F '*/*/chroot = n'
cp /etc/postfix/master.cf /etc/postfix/master.cf.lab-base
useradd --no-create-home --shell /usr/sbin/nologin {USER}
printf 'postmaster: root\\nroot: {USER}\\nabuse: postmaster\\n' > /etc/aliases
newaliases
printf '{_SASL_CONF}' > /etc/postfix/sasl/smtpd.conf
""",
    base=BASE,
)

_CERT = "/etc/postfix/tls/cert.pem"
_KEY = "/etc/postfix/tls/key.pem"
_OTHER_CERT = "/etc/postfix/tls/other-cert.pem"
_OTHER_KEY = "/etc/postfix/tls/other-key.pem"
_NOWHERE = "discard:the pytest-smtpsec lab delivers nothing outside"


def _level(starttls: bool, required: bool) -> str:
    return "encrypt" if required else "may" if starttls else "none"


def main_cf(i: Instance) -> str:
    p = i.profile
    relay = ["permit_mynetworks"] if p.open_relay else []
    users = [] if p.no_auth_relay else ["permit_sasl_authenticated"]
    settings = {
        "compatibility_level": "3.6",
        "myhostname": TLS_NAME,
        "mydomain": TLS_NAME,
        "myorigin": "$myhostname",
        "mydestination": "$myhostname, localhost",
        "inet_interfaces": i.address,
        "inet_protocols": "ipv6" if i.ipv6 else "ipv4",
        "smtpd_banner": "$myhostname ESMTP $mail_name $mail_version" if p.banner_version else f"$myhostname ESMTP pytest-smtpsec-{p.name}",
        "biff": "no",
        "append_dot_mydomain": "no",
        "maillog_file": "/var/log/postfix.log",
        "alias_maps": "hash:/etc/aliases",
        "alias_database": "hash:/etc/aliases",
        # nothing leaves the lab: mail for outside is accepted or refused by policy, then discarded
        "default_transport": _NOWHERE,
        "relay_transport": _NOWHERE,
        "smtp_dns_support_level": "disabled",
        "mynetworks": "0.0.0.0/0 [::]/0" if p.open_relay else "127.0.0.1/32",
        "smtpd_relay_restrictions": ", ".join([*relay, *users, "reject_unauth_destination"]),
        "smtpd_tls_cert_file": _CERT,
        "smtpd_tls_key_file": _KEY,
        "smtpd_tls_security_level": _level(p.starttls, False),
        "smtpd_tls_auth_only": "no" if p.auth_before_tls else "yes",
        "smtpd_tls_protocols": ">=TLSv1" if p.old_tls else ">=TLSv1.2",
        "smtpd_tls_mandatory_protocols": ">=TLSv1" if p.old_tls else ">=TLSv1.2",
        # OpenSSL 3 admits TLS 1.0/1.1 (SHA-1 signatures) only at security level 0
        **({"tls_medium_cipherlist": "DEFAULT:@SECLEVEL=0"} if p.old_tls else {}),
        # Postfix offers anonymous suites to opportunistic clients unless told not to
        "smtpd_tls_exclude_ciphers": "" if p.weak_ciphers else "aNULL, eNULL, EXPORT, DES, 3DES, RC4, MD5",
        "smtpd_tls_loglevel": "1",
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_type": "cyrus",
        "smtpd_sasl_path": "smtpd",
        "smtpd_sasl_local_domain": "$myhostname",
        "smtpd_sasl_security_options": "noanonymous",
        "broken_sasl_auth_clients": "no",
        "disable_vrfy_command": "no" if p.vrfy else "yes",
    }
    head = f"# pytest-smtpsec lab profile {p.name}: {p.models}\n"
    return head + "".join(f"{k} = {v}\n" for k, v in settings.items())


def _listener(i: Instance, service: str, options: dict[str, str]) -> str:
    port = i.ports[service]
    host = f"[{i.address}]" if i.ipv6 else i.address
    lines = [f"{host}:{port} inet n - n - - smtpd", f"  -o syslog_name=postfix/{service}"]
    return "\n".join(lines + [f"  -o {k}={v}" for k, v in options.items()]) + "\n"


def master_cf(i: Instance, base: str) -> str:
    p: MtaProfile = i.profile
    # submission and smtps are for users: MAIL is refused until AUTH (smtpd_delay_reject=no makes the
    # sender restriction answer at MAIL, as sendmail's M=a does), and only users may relay.
    relay = {"smtpd_relay_restrictions": "reject_unauth_destination" if p.no_auth_relay else "permit_sasl_authenticated,reject"}
    users_only = {"smtpd_delay_reject": "no", "smtpd_sender_restrictions": "permit_sasl_authenticated,reject", **relay}
    listeners = [
        _listener(i, "smtp", {}),
        _listener(
            i,
            "submission",
            {"smtpd_tls_security_level": _level(p.starttls, p.submission_requires_tls), **(relay if p.submission_open else users_only)},
        ),
    ]
    if p.smtps:
        implicit = {"smtpd_tls_wrappermode": "yes", "smtpd_tls_security_level": "encrypt"}
        tls = {"smtpd_tls_security_level": "may"} if p.smtps_cleartext else implicit
        if i.other_cert is not None:
            tls |= {"smtpd_tls_cert_file": _OTHER_CERT, "smtpd_tls_key_file": _OTHER_KEY}
        listeners.append(_listener(i, "smtps", {**tls, **users_only}))
    return base + f"# pytest-smtpsec lab profile {p.name}\n" + "".join(listeners)


class PostfixServer(MtaServer):
    mta = "postfix"
    recipe = RECIPE
    logs = ("var/log/postfix.log",)

    def configure(self, instance: Instance) -> None:
        i = instance
        i.write(_CERT.lstrip("/"), i.cert.cert_pem.bytes())
        i.write(_KEY.lstrip("/"), i.cert.private_key_pem.bytes(), 0o600)
        if i.other_cert is not None:
            i.write(_OTHER_CERT.lstrip("/"), i.other_cert.cert_pem.bytes())
            i.write(_OTHER_KEY.lstrip("/"), i.other_cert.private_key_pem.bytes(), 0o600)
        i.write("etc/postfix/main.cf", main_cf(i))
        i.write("etc/postfix/master.cf", master_cf(i, (i.root / "etc/postfix/master.cf.lab-base").read_text()))
        (i.root / "var/log/postfix.log").unlink(missing_ok=True)
        (i.root / "etc/sasldb2").unlink(missing_ok=True)
        user, realm = i.user.split("@")
        # the realm must equal smtpd_sasl_local_domain; smtpd runs as postfix and must read the db
        i.run(["sh", "-ec", f"saslpasswd2 -p -c -u {realm} {user}\nchgrp postfix /etc/sasldb2\nchmod 640 /etc/sasldb2"], input=i.password)

    def command(self) -> list[str]:
        return ["postfix", "start-fg"]
