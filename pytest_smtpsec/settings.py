"""The plugin's options: one table gives each its command-line flag, ini key, parser and help.

Pure Python: the pytest glue turns :class:`SettingsError` into a usage error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .target import AuthPolicy, Credentials, Ports, Role, Service, Target

PASSWORD_ENV = "SMTPSEC_PASSWORD"


class SettingsError(ValueError):
    """A bad option value or file, said in one line that names the option."""


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


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise SettingsError(f"timeout must be between 0 and 600 seconds: {value:g}")
    return value


def parse_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise SettingsError(f"no such file: {text}")
    return path


def parse_name(text: str) -> str:
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        raise SettingsError(f"not a host name: {text!r}")
    return text


def parse_policy(text: str) -> AuthPolicy:
    try:
        return AuthPolicy(text.strip().lower())
    except ValueError:
        raise SettingsError(f"auth policy must be 'migrate' or 'enforce', not {text!r}") from None


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise SettingsError(f"role must be one of {roles}, not {text!r}") from None


TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def parse_tls_version(text: str) -> str:
    for version in TLS_VERSIONS:
        if text.strip().lower() == version.lower():
            return version
    raise SettingsError(f"TLS version must be one of {', '.join(TLS_VERSIONS)}, not {text!r}")


def parse_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise SettingsError(f"not a whole number of days: {text!r}") from None
    if not 0 <= days <= 3650:
        raise SettingsError(f"days must be between 0 and 3650: {days}")
    return days


def parse_host_config(text: str) -> str:
    """``local`` or ``ssh://[user@]host[:port]``: where the host checks look."""
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


def parse_output(text: str) -> Path:
    """A report file to write (its directory is created when the report is written)."""
    return Path(text).expanduser()


@dataclass(frozen=True)
class Option:
    """``name`` gives ``--smtpsec-<name>`` and the ini key ``smtpsec_<name>``."""

    name: str
    help: str
    parse: Callable[[str], Any]
    default: Any = None
    metavar: str = ""

    @property
    def flag(self) -> str:
        return "--smtpsec-" + self.name

    @property
    def key(self) -> str:
        return "smtpsec_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("host", "mail host to check (name or address); required to run the network checks", parse_name),
    Option("inventory", "TOML file listing a site's hosts with their roles (see docs/configuration.md)", parse_file),
    Option("tls-name", "name the certificate must match (default: the host)", parse_name),
    Option("smtp-port", "smtp port, or 'off' if the host offers none (default 25)", parse_port, 25),
    Option("submission-port", "submission port, or 'off' (default 587)", parse_port, 587),
    Option("smtps-port", "smtps (implicit TLS) port, or 'off' (default 465)", parse_port, 465),
    Option("ca-file", "CA bundle to verify certificates against (default: the system store)", parse_file),
    Option("user", f"login for the AUTH and relay checks; the password comes only from ${PASSWORD_ENV}", str),
    Option("timeout", "seconds any one network step may take (default 10)", parse_seconds, 10.0),
    Option("ehlo-name", "name to send in EHLO (default pytest-smtpsec.invalid)", parse_name, "pytest-smtpsec.invalid"),
    Option("auth-policy", "'enforce' (secure_auth=yes, default) or 'migrate' (cleartext AUTH warns)", parse_policy, AuthPolicy.ENFORCE),
    Option("role", "mail-server (default), submission-only, relay-only or no-mail (no 25/465/587)", parse_role, Role.MAIL_SERVER),
    Option("min-tls", "oldest TLS version the server may accept (default TLSv1.2)", parse_tls_version, "TLSv1.2"),
    Option("cert-warn-days", "warn when the certificate expires within this many days (default 30)", parse_days, 30),
    Option("host-config", "run the host checks on 'local' or 'ssh://user@host' (key-based ssh)", parse_host_config),
    Option("sendmail-cf", "sendmail.cf on the mail host (default /etc/mail/sendmail.cf)", parse_abs_path),
    Option("sendmail-mc", "sendmail.mc on the mail host (default /etc/mail/sendmail.mc)", parse_abs_path),
    Option("sendmail-bin", "sendmail binary on the mail host (default /usr/sbin/sendmail)", parse_abs_path),
    Option("json", "write the results as JSON to this file (schema: docs/report-schema.json)", parse_output, metavar="PATH"),
    Option("html", "write a self-contained HTML report (host × check grid) to this file", parse_output, metavar="PATH"),
)


def resolve(given: Mapping[str, str | None]) -> dict[str, Any]:
    """Parse raw option values (flag or ini text, None if unset) into typed values, defaults filled in."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = given.get(option.name)
        if raw is None or raw == "":
            values[option.name] = option.default
            continue
        try:
            values[option.name] = option.parse(str(raw))
        except SettingsError as exc:
            raise SettingsError(f"{option.flag} / {option.key}: {exc}") from None
    return values


def target_from(values: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Target | None:
    """The configured target, or None when no host is given."""
    if values["host"] is None:
        return None
    ports = Ports(values["smtp-port"], values["submission-port"], values["smtps-port"])
    if not any(ports.of(s) for s in Service):
        raise SettingsError("every port is 'off': nothing to check")
    credentials = None
    if values["user"]:
        password = environ.get(PASSWORD_ENV)
        if not password:
            raise SettingsError(f"--smtpsec-user is set but ${PASSWORD_ENV} is empty: put the password there")
        credentials = Credentials(values["user"], password)
    return Target(
        host=values["host"],
        tls_name=values["tls-name"] or "",
        ports=ports,
        ca_file=values["ca-file"],
        credentials=credentials,
        timeout=values["timeout"],
        ehlo_name=values["ehlo-name"],
        auth_policy=values["auth-policy"],
        role=values["role"],
        min_tls=values["min-tls"],
        cert_warn_days=values["cert-warn-days"],
    )
