"""Fill a state directory with everything one sendmail instance reads: PKI, SASL users, mc and cf."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Mapping

from . import statedir
from .errors import LabError
from .layout import Layout
from .mc import build_cf, render_mc, sendmail
from .pki import CA
from .profiles import TLS_NAME, USER, Profile
from .target import LabTarget

MAIL_TEST_IP = "127.0.0.2"  # not the clients' 127.0.0.1: sendmail puts [its own IP] into $=w, which relays

_NSSWITCH = "".join(f"{db}: files\n" for db in ("passwd", "group", "shadow", "hosts", "services", "protocols"))
_SERVICE_SWITCH = "hosts\tfiles\naliases\tfiles\npasswd\tfiles\n"
_ALIASES = "postmaster: root\nMAILER-DAEMON: postmaster\nabuse: postmaster\n"
_HELPFILE = "#vers\t2\nsmtp\tTopics: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY EXPN STARTTLS AUTH\n"
"""HELP shows sendmail's version three ways: without a helpfile ("Sendmail 8.x -- HELP not implemented"),
with one lacking the "#vers 2" line (a "This is sendmail version" header), or with Debian's, whose text
has $v. A "#vers 2" helpfile without $v shows none (measured on 8.17.1.9)."""


def hosts_file(hostname_alias: str | None = None) -> str:
    """Private /etc/hosts: `mail.test` must resolve, or sendmail sleeps 60 s at startup."""
    names = " ".join(n for n in (TLS_NAME, TLS_NAME.split(".")[0], hostname_alias) if n)
    return f"127.0.0.1\tlocalhost\n{MAIL_TEST_IP}\t{names}\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def openssl_cnf(profile: Profile) -> str:
    sm = sendmail(profile)
    return (
        "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n[system_default_sect]\n"
        f"MinProtocol = {sm.min_tls}\nCipherString = DEFAULT@SECLEVEL={sm.seclevel}\n"
    )


def sasl_conf(layout: Layout) -> str:
    return f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {layout.sasldb}\nmech_list: PLAIN LOGIN\n"


def _mkdirs(layout: Layout) -> None:
    """The subdirectories, in a state dir already claimed (ours alone); no planted symlink survives."""
    for top, dirs, files in os.walk(layout.root):
        for name in dirs + files:
            if os.path.islink(link := os.path.join(top, name)):
                os.unlink(link)
    for stale in (layout.pid_file, layout.status_file):
        statedir.remove(stale)
    for d, mode in (
        (layout.private, 0o700),
        (layout.sasl, 0o700),
        (layout.queue, 0o700),
        (layout.etc, 0o755),
        (layout.mail_settings, 0o755),
    ):
        statedir.directory(d, mode)


def _write_pki(layout: Layout, profile: Profile, address: str) -> None:
    ca = CA()
    server = profile.cert.issue(ca, address)
    ca.cert_pem.write_to_path(layout.cacert)
    for cert, key in ((layout.server_cert, layout.server_key), (layout.client_cert, layout.client_key)):
        server.cert_pem.write_to_path(cert)
        server.private_key_pem.write_to_path(key, mode=0o400)


def _add_sasl_user(layout: Layout, password: str) -> None:
    layout.sasldb.unlink(missing_ok=True)
    proc = subprocess.run(
        ["saslpasswd2", "-p", "-c", "-f", str(layout.sasldb), "-u", TLS_NAME, USER],
        input=password,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"saslpasswd2 failed: {proc.stderr.strip() or proc.returncode}")
    layout.sasldb.chmod(0o600)


def prepare(
    profile: Profile,
    layout: Layout,
    address: str,
    ports: Mapping[str, int | None],
    *,
    hostname_alias: str | None = None,
) -> LabTarget:
    """Write the state dir from scratch (a fresh CA and password each time) and say how to reach it."""
    mc = render_mc(profile, layout, address, ports)  # first: it rejects unusable paths
    _mkdirs(layout)
    password = secrets.token_urlsafe(16)
    _write_pki(layout, profile, address)
    statedir.write(layout.hosts, hosts_file(hostname_alias))
    statedir.write(layout.nsswitch, _NSSWITCH)
    statedir.write(layout.service_switch, _SERVICE_SWITCH)
    statedir.write(layout.openssl_cnf, openssl_cnf(profile))
    statedir.write(layout.aliases, _ALIASES)
    statedir.write(layout.helpfile, _HELPFILE)
    statedir.write(layout.sasl_conf, sasl_conf(layout), 0o600)
    _add_sasl_user(layout, password)
    statedir.write(layout.mc, mc)
    build_cf(layout, keep_loopback_relay=sendmail(profile).promiscuous)
    target = LabTarget.of(profile.name, address, ports, layout.cacert, password)
    target.write(layout.target)
    return target
