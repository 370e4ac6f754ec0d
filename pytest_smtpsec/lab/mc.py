"""`sendmail.mc` for a profile, and `sendmail.cf` built from it the way an admin would (m4).

Every path sendmail would otherwise use under /etc/mail, /var/lib/sendmail or /run points into the
state directory, so instances run side by side and the host's mail setup is never touched.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from . import statedir
from .errors import LabError
from .layout import Layout
from .profiles import TLS_NAME, Profile

CF_M4 = "/usr/share/sendmail/cf/m4/cf.m4"

# proto.m4 lets loopback clients (and the server's own names) relay without AUTH. The lab's clients
# are all on loopback, so with these rules every profile would be an open relay.
_LOOPBACK_RELAY_RULES = (
    re.compile(r"^R127\.0\.0\.1\t.*originated locally$"),
    re.compile(r"^RIPv6:.*originated locally$"),
    re.compile(r"^R<\?> \$=w\t*\$@ RELAY"),
)

_UNSAFE_IN_M4 = re.compile(r"[`',\s]")


def _daemon(name: str, port: int, address: str, modifiers: str) -> str:
    family = "inet6" if ":" in address else "inet"
    opts = f"Port={port}, Addr={address}, Family={family}, Name={name}"
    return f"DAEMON_OPTIONS(`{opts}{', M=' + modifiers if modifiers else ''}')dnl"


@dataclass(frozen=True)
class Sendmail:
    """A profile's facts in sendmail's own terms (what the mc and the OpenSSL config say)."""

    auth_options: str  # confAUTH_OPTIONS; `p`: no plaintext AUTH before TLS
    privacy_flags: str  # confPRIVACY_FLAGS
    msa_modifiers: str  # submission daemon: E no ETRN, a AUTH required
    smtps_modifiers: str  # smtps daemon: s = TLS at connect
    trust_auth: bool  # TRUST_AUTH_MECH: authenticated users may relay
    promiscuous: bool  # FEATURE(promiscuous_relay)
    banner: str | None  # confSMTP_LOGIN_MSG; None: sendmail's default (with version), and no helpfile
    cipher_list: str | None  # confCIPHER_LIST
    min_tls: str  # OpenSSL MinProtocol
    seclevel: int  # OpenSSL @SECLEVEL: 1 admits 1024-bit RSA, 0 also TLS 1.0/1.1 and weak suites
    mc_lines: tuple[str, ...]  # more sendmail.mc lines


def sendmail(profile: Profile) -> Sendmail:
    """How the reference sendmail renders ``profile``."""
    return Sendmail(
        auth_options="A" if profile.auth_before_tls else "A p",
        privacy_flags="authwarnings" if profile.vrfy else "goaway",
        msa_modifiers="E" if profile.submission_open else "Ea",
        smtps_modifiers="" if profile.smtps_cleartext else "s",
        trust_auth=not profile.no_auth_relay,
        promiscuous=profile.open_relay,
        banner=None if profile.banner_version else "$j pytest-smtpsec-{name}",
        cipher_list="ALL:eNULL:aNULL:@SECLEVEL=0" if profile.weak_ciphers else None,
        min_tls="TLSv1" if profile.old_tls else "TLSv1.2",
        seclevel=0 if profile.old_tls or profile.weak_ciphers else 1 if profile.cert.key_size < 2048 else 2,
        mc_lines=("FEATURE(`relay_local_from')dnl",) if profile.relay_local_from else (),
    )


def render_mc(profile: Profile, layout: Layout, address: str, ports: Mapping[str, int | None]) -> str:
    """The whole `sendmail.mc`; the secure parts are the note's lines, the rest keeps it private."""
    if _UNSAFE_IN_M4.search(str(layout.root)):
        raise LabError(f"state dir path must not contain quotes, commas or spaces (m4/cf syntax): {layout.root}")
    no_tls = "" if profile.starttls else "S"
    sm = sendmail(profile)
    d = {
        "confDOMAIN_NAME": TLS_NAME,
        "confBIND_OPTS": "-DNSRCH -DEFNAMES",
        "confSERVICE_SWITCH_FILE": layout.service_switch,
        "confHOSTS_FILE": "/etc/hosts",
        "confDONT_PROBE_INTERFACES": "True",
        "confTO_IDENT": "0s",
        "confDELIVERY_MODE": "queue",
        "QUEUE_DIR": layout.queue,
        "ALIAS_FILE": layout.aliases,
        "confPID_FILE": layout.pid_file,
        "STATUS_FILE": layout.status_file,
        "confDEAD_LETTER_DROP": layout.dead_letter,
        "confCR_FILE": f"-o {layout.mail_settings}/relay-domains",
        "confCT_FILE": f"-o {layout.mail_settings}/trusted-users",
        "confCW_FILE": f"-o {layout.mail_settings}/local-host-names",
        "confDONT_BLAME_SENDMAIL": "TrustStickyBit",  # state dirs may live under /tmp (mode 1777)
        "confPRIVACY_FLAGS": sm.privacy_flags,
        "confCACERT_PATH": layout.root,
        "confCACERT": layout.cacert,
        "confSERVER_CERT": layout.server_cert,
        "confSERVER_KEY": layout.server_key,
        "confCLIENT_CERT": layout.client_cert,
        "confCLIENT_KEY": layout.client_key,
        "confAUTH_MECHANISMS": "PLAIN LOGIN",
        "confAUTH_OPTIONS": sm.auth_options,
        "confAUTH_REALM": TLS_NAME,
    }
    if sm.banner is not None:  # the default-banner profile keeps sendmail's banner and HELP, with the version
        d["confSMTP_LOGIN_MSG"] = sm.banner.format(name=profile.name)
        d["HELP_FILE"] = layout.helpfile
    if sm.cipher_list is not None:
        d["confCIPHER_LIST"] = sm.cipher_list
    defines = [f"define(`{k}', `{v}')dnl" for k, v in d.items()]
    lines = [
        "divert(-1)dnl",
        f"# pytest-smtpsec lab profile {profile.name}: {profile.models}",
        f"define(`MAIL_SETTINGS_DIR', `{layout.mail_settings}/')dnl",
        "divert(0)dnl",
        f"include(`{CF_M4}')dnl",
        f"VERSIONID(`pytest-smtpsec {profile.name}')dnl",
        "OSTYPE(`debian')dnl",
        "FEATURE(`nocanonify')dnl",
        "FEATURE(`accept_unresolvable_domains')dnl",  # hosts: files only, senders never resolve
        "undefine(`confHOST_STATUS_DIRECTORY')dnl",  # debian.m4 puts it under /var/lib/sendmail
        *defines,
        *(["TRUST_AUTH_MECH(`PLAIN LOGIN')dnl"] if sm.trust_auth else []),
        *(["FEATURE(`promiscuous_relay')dnl"] if sm.promiscuous else []),
        *sm.mc_lines,
        "FEATURE(`no_default_msa')dnl",
        _daemon("MTA", ports["smtp"] or 0, address, no_tls),
        _daemon("MSA", ports["submission"] or 0, address, sm.msa_modifiers + no_tls),
        *([_daemon("TLSMTA", smtps, address, sm.smtps_modifiers)] if (smtps := ports["smtps"]) else []),
        "MAILER(`local')dnl",
        "MAILER(`smtp')dnl",
    ]
    return "\n".join(lines) + "\n"


def build_cf(layout: Layout, *, keep_loopback_relay: bool = False) -> None:
    """`m4 sendmail.mc > sendmail.cf`, minus the loopback relay rules unless kept.

    (With FEATURE(promiscuous_relay) the rules are not generated at all, so they must be kept.)
    """
    proc = subprocess.run(["m4", str(layout.mc)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # stderr alone is a warning (promiscuous_relay prints one)
        raise LabError(f"m4 {layout.mc} failed: {proc.stderr.strip() or proc.returncode}")
    lines = proc.stdout.splitlines(keepends=True)
    if not keep_loopback_relay:
        for rule in _LOOPBACK_RELAY_RULES:
            kept = [line for line in lines if not rule.match(line)]
            if len(kept) == len(lines):
                raise LabError(f"{CF_M4} changed: loopback relay rule {rule.pattern!r} not in the generated cf")
            lines = kept
    statedir.write(layout.cf, "".join(lines))
