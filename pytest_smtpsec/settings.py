"""The plugin's settings: one table gives every option its flag, ini key, inventory key, parser and help.

Pure Python: the pytest glue hands in the raw texts (:class:`Given`) and turns :class:`SettingsError`
into a usage error. Per-host settings layer the same way for every key: a ``[[host]]`` table of an
inventory, then its ``[defaults]``, then the command line or ini file, then :class:`~.target.Target`'s
own defaults. :func:`build_target` is the one place a :class:`Target` is made from settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .target import AuthPolicy, Credentials, Hardening, Ports, Role, Service, ServiceRole, ServiceRoles, Target

PASSWORD_ENV = "SMTPSEC_PASSWORD"


class SettingsError(ValueError):
    """A bad option value or file, said in one line that names the option."""


# -- parsers: text as written (flag, ini or inventory) -> a typed value -----------------------------


def parse_port(text: str) -> int | None:
    if text.strip().lower() == "off":
        return None
    try:
        port = int(text)
    except ValueError:
        raise SettingsError(f"not a port number or 'off': {text!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(f"port out of range 1-65535: {port}")
    return port


def parse_mx_port(text: str) -> int:
    """The port MX hosts are probed on: a number (an MX is reached on 25; a lab or a tunnel may differ)."""
    port = parse_port(text)
    if port is None:
        raise SettingsError("the MX hosts cannot be 'off': leave out --smtpsec-domain to skip them")
    return port


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise SettingsError(f"timeout must be between 0 and 600 seconds: {value:g}")
    return value


def parse_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise SettingsError(f"not a whole number of days: {text!r}") from None
    if not 0 <= days <= 3650:
        raise SettingsError(f"days must be between 0 and 3650: {days}")
    return days


_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def parse_name(text: str) -> str:
    """A host name (RFC 1123 labels; ``_`` tolerated, as in real service names) or an IP address."""
    name = text.strip()
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    shown = repr(name) if len(name) <= 80 else repr(name[:80]) + "..."
    if not name:
        raise SettingsError("empty host name")
    if len(name.rstrip(".")) > 253:
        raise SettingsError(f"host name longer than 253 characters: {shown}")
    labels = name.removesuffix(".").split(".")
    bad = next((label for label in labels if not _LABEL.fullmatch(label)), None)
    if bad is not None:
        why = "an empty label" if not bad else "a label longer than 63 characters" if len(bad) > 63 else f"label {bad!r}"
        raise SettingsError(f"not a host name ({why}): {shown}")
    return name


def parse_domain(text: str) -> str:
    """A mail domain (a host name, never an address), without its trailing dot, lower case."""
    name = parse_name(text)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.rstrip(".").lower()
    raise SettingsError(f"a mail domain is a name, not an address: {text!r}")


def parse_resolver(text: str) -> tuple[str, int]:
    """``ADDR[:PORT]`` (``[v6]:PORT`` for IPv6) of the resolver used for every domain lookup."""
    raw = text.strip()
    host, port = raw, "53"
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise SettingsError(f"not ADDR[:PORT]: {text!r}")
            port = rest[1:]
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise SettingsError(f"a resolver is an IP address (with an optional :PORT), not {text!r}") from None
    number = parse_port(port)
    if number is None:
        raise SettingsError(f"a resolver needs a port, not 'off': {text!r}")
    return address, number


def parse_user(text: str) -> str:
    """A login name: printable, no CR, LF, NUL or other control character (it is sent to the server)."""
    if not text or len(text) > 256:
        raise SettingsError("a user must be 1 to 256 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise SettingsError(f"a user may not contain control characters (CR, LF, NUL...): {text!r}")
    return text


def parse_env_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise SettingsError(f"not an environment variable name: {text!r}")
    return text


def _choice(enum: type[Any], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return enum(text.strip().lower())
        except ValueError:
            choices = ", ".join(repr(e.value) for e in enum)
            raise SettingsError(f"{what} must be one of {choices}, not {text!r}") from None

    parse.__name__ = f"parse_{what.replace(' ', '_')}"
    return parse


parse_policy = _choice(AuthPolicy, "auth policy")
parse_role = _choice(Role, "role")
parse_service_role = _choice(ServiceRole, "service role")
parse_hardening = _choice(Hardening, "hardening")

TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def parse_tls_version(text: str) -> str:
    for version in TLS_VERSIONS:
        if text.strip().lower() == version.lower():
            return version
    raise SettingsError(f"TLS version must be one of {', '.join(TLS_VERSIONS)}, not {text!r}")


def parse_host_config(text: str) -> str:
    """``local`` or ``ssh://[user@]host[:port]``: where the host checks look (validated here, built once later)."""
    from .host import HostConfigError, runner_for

    try:
        runner_for(text)
    except HostConfigError as exc:
        raise SettingsError(str(exc)) from None
    return text


def parse_abs_path(text: str) -> str:
    """A path on the mail host (maybe remote), so it is not checked here, only that it is absolute."""
    if not text.startswith("/"):
        raise SettingsError(f"must be an absolute path on the mail host: {text!r}")
    return text


def parse_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise SettingsError(f"no such file: {text}")
    return path


def parse_ca_file(text: str) -> Path:
    """A CA bundle: PEM certificates, checked before any connection (a DER file or /etc/hostname is a usage error)."""
    path = parse_file(text)
    from .certs import trust_anchors  # cryptography: imported only when a CA file is given

    try:
        anchors = trust_anchors(path)
    except (OSError, ValueError):
        anchors = ()
    if not anchors:
        raise SettingsError(f"{text} is not a PEM CA bundle: no '-----BEGIN CERTIFICATE-----' block could be read")
    return path


def parse_command(text: str) -> tuple[str, ...]:
    """A command to run (``sslyze``, ``/opt/sslyze/bin/sslyze``, ``pipx run sslyze==6.3.1``): found on $PATH or as a file."""
    words = tuple(shlex.split(text))
    if not words:
        raise SettingsError("an empty command")
    if shutil.which(words[0]) is None:
        raise SettingsError(f"no such command: {words[0]} (install sslyze apart, e.g. pipx install sslyze==6.3.1)")
    return words


def parse_output(text: str) -> Path:
    """A report file to write (its directory is created when the report is written)."""
    return Path(text).expanduser()


# -- the table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """``name`` gives ``--smtpsec-<name>`` and the ini key ``smtpsec_<name>``; ``per_host`` the setting's
    key in a target's settings (and, for most, an inventory key), or "" for a run-wide option."""

    name: str
    help: str
    parse: Callable[[str], Any]
    metavar: str
    per_host: str = ""
    path: bool = False
    """A local file: relative to where it was written (the working directory, the ini file's rootdir)."""

    @property
    def flag(self) -> str:
        return "--smtpsec-" + self.name

    @property
    def key(self) -> str:
        return "smtpsec_" + self.name.replace("-", "_")


_ROLE_HELP = "what {} is for: 'submission' (users log in there; {}) or 'mx' (mail from the world, no logins)"

OPTIONS: tuple[Option, ...] = (
    Option("host", "mail host to check (name or address); required to run the network checks", parse_name, "HOST"),
    Option("inventory", "TOML file listing a site's hosts with their roles (see docs/configuration.md)", parse_file, "FILE", path=True),
    Option("tls-name", "name the certificate must match (default: the host)", parse_name, "NAME", "tls_name"),
    Option("smtp-port", "smtp port, or 'off' if the host offers none (default 25)", parse_port, "PORT", "smtp_port"),
    Option("submission-port", "submission port, or 'off' (default 587)", parse_port, "PORT", "submission_port"),
    Option("smtps-port", "smtps (implicit TLS) port, or 'off' (default 465)", parse_port, "PORT", "smtps_port"),
    Option("smtp-role", _ROLE_HELP.format("port 25", "the role's default"), parse_service_role, "ROLE", "smtp_role"),
    Option("submission-role", _ROLE_HELP.format("the submission port", "default"), parse_service_role, "ROLE", "submission_role"),
    Option("smtps-role", _ROLE_HELP.format("the smtps port", "default"), parse_service_role, "ROLE", "smtps_role"),
    Option("ca-file", "CA bundle to verify certificates against (default: the system store)", parse_ca_file, "FILE", "ca_file", path=True),
    Option("user", f"login for the AUTH and relay checks; the password comes only from ${PASSWORD_ENV}", parse_user, "USER", "user"),
    Option(
        "timeout",
        "seconds a host may take, name lookup and every probe session included (default 10; sessions run in parallel)",
        parse_seconds,
        "SECONDS",
        "timeout",
    ),
    Option("ehlo-name", "name to send in EHLO (default pytest-smtpsec.invalid)", parse_name, "NAME", "ehlo_name"),
    Option("auth-policy", "'enforce' (secure_auth=yes; default) or 'migrate' (cleartext AUTH warns)", parse_policy, "MODE", "auth_policy"),
    Option("role", "mail-server (default), submission-only, relay-only or no-mail (no 25/465/587)", parse_role, "ROLE", "role"),
    Option("min-tls", "oldest TLS version the server may accept (default TLSv1.2)", parse_tls_version, "VERSION", "min_tls"),
    Option("cert-warn-days", "warn when the certificate expires within this many days (default 30)", parse_days, "DAYS", "cert_warn_days"),
    Option("hardening", "checks beside the note: 'warn' (default) or 'fail'", parse_hardening, "warn|fail", "hardening"),
    Option(
        "scan",
        "also run this sslyze command (installed apart: pipx install sslyze==6.3.1) for the full TLS protocol and cipher scan; "
        "over 500 connections (default off)",
        parse_command,
        "COMMAND",
        "scan",
    ),
    Option(
        "domain",
        "mail domain to check as the world sees it: MX, DNSSEC, DANE, MTA-STS, TLS-RPT, SPF, DMARC (default: none, no DNS work)",
        parse_domain,
        "DOMAIN",
        "domain",
    ),
    Option("resolver", "validating resolver for every domain lookup (default: the system's)", parse_resolver, "ADDR[:PORT]", "resolver"),
    Option(
        "mx-port",
        "port the domain's MX hosts are probed on (default 25, as the world reaches them; another for a lab or a tunnel)",
        parse_mx_port,
        "PORT",
        "mx_port",
    ),
    Option("host-config", "run the host checks on 'local' or 'ssh://user@host' (key-based ssh)", parse_host_config, "URL"),
    Option("sendmail-cf", "sendmail.cf on the mail host (default /etc/mail/sendmail.cf)", parse_abs_path, "PATH"),
    Option("sendmail-mc", "sendmail.mc on the mail host (default /etc/mail/sendmail.mc)", parse_abs_path, "PATH"),
    Option("sendmail-bin", "sendmail binary on the mail host (default /usr/sbin/sendmail)", parse_abs_path, "PATH"),
    Option("json", "write the results as JSON to this file (schema: pytest_smtpsec/report/schema.json)", parse_output, "PATH", path=True),
    Option("html", "write a self-contained HTML report (host × check grid) to this file", parse_output, "PATH", path=True),
)
BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Given:
    """An option's raw text as written, and the directory a relative path in it is relative to."""

    text: str
    base: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Every option parsed once. ``host_settings`` holds the per-host values given on the command line
    or in the ini file, which every target inherits (inventory hosts too)."""

    host: str | None = None
    inventory: Path | None = None
    host_config: str | None = None
    sendmail_cf: str | None = None
    sendmail_mc: str | None = None
    sendmail_bin: str | None = None
    json: Path | None = None
    html: Path | None = None
    host_settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, given: Mapping[str, Given | None]) -> Settings:
        """Parse raw option texts (flag or ini; None or "" if unset) into typed values."""
        run: dict[str, Any] = {}
        per_host: dict[str, Any] = {}
        for option in OPTIONS:
            raw = given.get(option.name)
            if raw is None or not raw.text:
                continue
            text = raw.text
            if option.path and raw.base is not None and not Path(text).expanduser().is_absolute():
                text = str(raw.base / text)
            try:
                value = option.parse(text)
            except SettingsError as exc:
                raise SettingsError(f"{option.flag} / {option.key}: {exc}") from None
            if option.per_host:
                per_host[option.per_host] = value
            else:
                run[option.name.replace("-", "_")] = value
        return cls(**run, host_settings=per_host)

    def target(self, environ: Mapping[str, str] = os.environ, *, need_password: bool = True) -> Target | None:
        """The ``--smtpsec-host`` target, or None when no host is given."""
        if self.host is None:
            return None
        try:
            return build_target(self.host, self.host_settings, environ, need_password=need_password)
        except SettingsError as exc:
            raise SettingsError(f"--smtpsec-host {self.host}: {exc}") from None


def _sendable(password: str) -> bool:
    """Whether a password can go into an AUTH line: UTF-8 (no undecodable bytes) and no CR, LF or NUL."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(c in password for c in "\r\n\0")


def build_target(
    host: str, values: Mapping[str, Any], environ: Mapping[str, str] = os.environ, *, name: str = "", need_password: bool = True
) -> Target:
    """A :class:`Target` from typed per-host settings (missing keys keep Target's defaults).

    The password is read from the environment variable ``values["password_env"]`` (default
    ``$SMTPSEC_PASSWORD``); with ``need_password`` False (``--collect-only``, ``--help``) a missing one is
    tolerated, since nothing will be sent.
    """
    ports = Ports(**{s.value: values.get(f"{s.value}_port", s.default_port) for s in Service})
    if not any(ports.of(s) for s in Service):
        raise SettingsError("every port is 'off': nothing to check")
    roles = ServiceRoles(**{s.value: values.get(f"{s.value}_role") for s in Service})
    credentials = None
    if values.get("user"):
        variable = values.get("password_env") or PASSWORD_ENV
        password = environ.get(variable, "")
        if not password and need_password:
            raise SettingsError(f"a user is set but ${variable} is empty: put the password there")
        if not _sendable(password):  # never shown: the message names the variable, not its value
            raise SettingsError(f"${variable} is not valid UTF-8 text without control characters: the probe cannot send it")
        credentials = Credentials(values["user"], password)
    simple: tuple[str, ...] = ("ca_file", "timeout", "ehlo_name", "auth_policy", "role", "min_tls", "cert_warn_days", "hardening")
    simple += ("scan", "domain", "resolver", "mx_port")
    return Target(
        host=host,
        tls_name=values.get("tls_name") or "",
        name=name,
        ports=ports,
        service_roles=roles,
        credentials=credentials,
        **{key: values[key] for key in simple if values.get(key) is not None},
    )
