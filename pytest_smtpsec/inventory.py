"""A site's hosts from one TOML file: roles, ports, names, credentials by reference. Strictly validated.

    [defaults]
    ca_file = "site-ca.pem"
    auth_policy = "enforce"

    [[host]]
    name = "mail.example.org"      # the id, and the name the certificate must match
    address = "192.0.2.10"         # where to connect (default: name)
    role = "mail-server"
    ports = { smtp = 25, submission = 587, smtps = 465 }
    user = "probe@example.org"
    password_env = "MAIL_PROBE_PASSWORD"

A bad file is refused before any connection, naming the file and line.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .settings import SettingsError, parse_days, parse_name, parse_policy, parse_port, parse_role, parse_seconds, parse_tls_version
from .target import Credentials, Ports, Service, Target

_HOST_ONLY = {"name", "address"}
_KEYS: dict[str, Callable[[Any], Any]] = {
    "tls_name": lambda v: parse_name(_text(v)),
    "role": lambda v: parse_role(_text(v)),
    "ports": lambda v: v,  # checked by _ports
    "ca_file": lambda v: _text(v),
    "user": lambda v: _text(v),
    "password_env": lambda v: parse_name(_text(v)),
    "auth_policy": lambda v: parse_policy(_text(v)),
    "timeout": lambda v: parse_seconds(str(_number(v))),
    "ehlo_name": lambda v: parse_name(_text(v)),
    "min_tls": lambda v: parse_tls_version(_text(v)),
    "cert_warn_days": lambda v: parse_days(str(_number(v))),
}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"expected a number, got {type(value).__name__} {value!r}")
    return value


def _ports(value: Any) -> Ports:
    if not isinstance(value, dict):
        raise SettingsError(f"ports must be a table like {{ smtp = 25 }}, got {value!r}")
    unknown = set(value) - {s.value for s in Service}
    if unknown:
        raise SettingsError(f"unknown service(s) in ports: {', '.join(sorted(unknown))} (smtp, submission, smtps)")
    given = {}
    for service, port in value.items():
        if isinstance(port, bool) or not isinstance(port, int | str):
            raise SettingsError(f"ports.{service} must be a number or \"off\", got {port!r}")
        given[service] = parse_port(str(port))
    return Ports(**{**{s.value: s.default_port for s in Service}, **given})


class _Lines:
    """Where things are in the file, since tomllib keeps no positions: table headers and keys by line."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.hosts = [i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*host\s*\]\]", line)]
        self.defaults = next((i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\s*defaults\s*\]", line)), 1)

    def key(self, start: int, key: str) -> int:
        """The line of ``key`` in the table that starts at line ``start`` (or the header line)."""
        for number in range(start, len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > start and re.match(r"\s*\[", line):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", line):
                return number
        return start


def password_variables(path: Path) -> list[str]:
    """The environment variables an inventory takes passwords from (``password_env``), best effort."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return []  # load_inventory says what is wrong with the file
    tables = [data.get("defaults", {}), *data.get("host", [])]
    return sorted({t["password_env"] for t in tables if isinstance(t, dict) and isinstance(t.get("password_env"), str)})


def load_inventory(path: Path, environ: Mapping[str, str] = os.environ, *, timeout: float = 10.0) -> list[Target]:
    """The hosts of an inventory file as Targets, in file order. Raises SettingsError naming file:line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the inventory: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    where = _Lines(text)

    def fail(line: int, message: str) -> SettingsError:
        return SettingsError(f"{path}:{line}: {message}")

    unknown = set(data) - {"defaults", "host"}
    if unknown:
        raise fail(1, f"unknown top-level key(s): {', '.join(sorted(unknown))} (expected [defaults] and [[host]])")
    defaults = data.get("defaults", {})
    hosts = data.get("host", [])
    if not isinstance(defaults, dict) or not isinstance(hosts, list):
        raise fail(1, "[defaults] must be a table and [[host]] an array of tables")
    if not hosts:
        raise fail(1, "no hosts: add at least one [[host]] table")
    for key in set(defaults) - set(_KEYS):
        raise fail(where.key(where.defaults, key), f"unknown key {key!r} in [defaults]")

    targets: list[Target] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(hosts):
        start = where.hosts[index] if index < len(where.hosts) else 1
        for key in set(entry) - set(_KEYS) - _HOST_ONLY:
            raise fail(where.key(start, key), f"unknown key {key!r} in [[host]] (known: {', '.join(sorted({*_KEYS, *_HOST_ONLY}))})")
        if "name" not in entry:
            raise fail(start, "a [[host]] without a name")
        merged = {**defaults, **entry}
        values: dict[str, Any] = {}
        for key, value in merged.items():
            line = where.key(start if key in entry else where.defaults, key)
            try:
                values[key] = _ports(value) if key == "ports" else parse_name(_text(value)) if key in _HOST_ONLY else _KEYS[key](value)
            except SettingsError as exc:
                raise fail(line, f"{key}: {exc}") from None
        name = values["name"]
        if name in seen:
            raise fail(where.key(start, "name"), f"duplicate host name {name!r} (first at line {seen[name]})")
        seen[name] = where.key(start, "name")
        credentials = None
        if "user" in values:
            env = values.get("password_env")
            if not env:
                raise fail(where.key(start, "user"), f"host {name!r} has a user but no password_env")
            password = environ.get(env)
            if not password:
                raise fail(where.key(start, "user"), f"${env} (password_env of {name!r}) is not set")
            credentials = Credentials(values["user"], password)
        ca_file = values.get("ca_file")
        if ca_file is not None:
            ca_path = (path.parent / ca_file).resolve()
            if not ca_path.is_file():
                raise fail(where.key(start if "ca_file" in entry else where.defaults, "ca_file"), f"ca_file: no such file: {ca_path}")
            ca_file = ca_path
        options = {k: values[k] for k in ("role", "auth_policy", "ehlo_name", "min_tls", "cert_warn_days") if k in values}
        targets.append(
            Target(
                host=values.get("address", name),
                tls_name=values.get("tls_name", name),
                name=name,
                ports=values.get("ports", Ports()),
                ca_file=ca_file,
                credentials=credentials,
                timeout=values.get("timeout", timeout),
                **options,
            )
        )
    return targets
