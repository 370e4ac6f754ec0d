"""A site's hosts from one TOML file: roles, ports, names, credentials by reference. Strictly validated.

    [defaults]
    ca_file = "site-ca.pem"
    auth_policy = "enforce"
    service_roles = { smtp = "mx" }    # port 25 takes no logins on this site

    [[host]]
    name = "mail.example.org"      # the id, and the name the certificate must match
    address = "192.0.2.10"         # where to connect (default: name)
    role = "mail-server"
    ports = { smtp = 25, submission = 587, smtps = 465 }
    user = "probe@example.org"
    password_env = "MAIL_PROBE_PASSWORD"

Every per-host key may sit in ``[defaults]`` or a ``[[host]]``; a host's own value wins, then the
defaults, then the command line or ini file (see :mod:`.settings`), except ``tls_name``, which is the
host's ``name`` unless the host says otherwise. A bad file is refused before any
connection, naming the file and line.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import (
    SettingsError,
    build_target,
    parse_days,
    parse_domain,
    parse_env_name,
    parse_hardening,
    parse_mx_port,
    parse_name,
    parse_policy,
    parse_port,
    parse_resolver,
    parse_role,
    parse_seconds,
    parse_service_role,
    parse_tls_version,
    parse_user,
)
from .target import Service, Target

MAX_BYTES = 16 * 1024 * 1024
"""An inventory larger than this is refused (100,000 hosts take about 8 MB)."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"expected a number, got {type(value).__name__} {value!r}")
    return str(value)


def _per_service(parse: Callable[[str], Any], suffix: str, example: str) -> Callable[[Any], dict[str, Any]]:
    """A table keyed by service (``ports = { smtp = 25 }``) -> ``{"smtp_port": 25}``."""

    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SettingsError(f"expected a table like {example}, got {value!r}")
        unknown = set(value) - {s.value for s in Service}
        if unknown:
            raise SettingsError(f"unknown service(s): {', '.join(sorted(unknown))} (smtp, submission, smtps)")
        converted = {}
        for service, item in value.items():
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise SettingsError(f"{service} must be a number or a string, got {item!r}")
            converted[f"{service}_{suffix}"] = parse(str(item))
        return converted

    return convert


KEYS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "tls_name": lambda v: {"tls_name": parse_name(_text(v))},  # per host only: it defaults to the host's name
    "role": lambda v: {"role": parse_role(_text(v))},
    "ports": _per_service(parse_port, "port", '{ smtp = 25, smtps = "off" }'),
    "service_roles": _per_service(parse_service_role, "role", '{ smtp = "mx" }'),
    "ca_file": lambda v: {"ca_file": _text(v)},  # made absolute and checked by Inventory
    "user": lambda v: {"user": parse_user(_text(v))},
    "password_env": lambda v: {"password_env": parse_env_name(_text(v))},
    "auth_policy": lambda v: {"auth_policy": parse_policy(_text(v))},
    "timeout": lambda v: {"timeout": parse_seconds(_number(v))},
    "ehlo_name": lambda v: {"ehlo_name": parse_name(_text(v))},
    "min_tls": lambda v: {"min_tls": parse_tls_version(_text(v))},
    "cert_warn_days": lambda v: {"cert_warn_days": parse_days(_number(v))},
    "hardening": lambda v: {"hardening": parse_hardening(_text(v))},
    "domain": lambda v: {"domain": parse_domain(_text(v))},
    "resolver": lambda v: {"resolver": parse_resolver(_text(v))},
    "mx_port": lambda v: {"mx_port": parse_mx_port(_number(v))},
}
"""Every per-host key of an inventory, and how its TOML value becomes target settings."""
HOST_ONLY = ("name", "address")


class _Lines:
    """Where things are in the file, since tomllib keeps no positions: table headers and keys by line."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        headers = [(i + 1, line) for i, line in enumerate(self.lines) if line.lstrip().startswith("[")]  # no regex per line
        self.hosts = [number for number, line in headers if re.match(r"\s*\[\[\s*host\s*\]\]", line)]
        self.defaults = next((number for number, line in headers if re.match(r"\s*\[\s*defaults\s*\]", line)), 1)

    def key(self, start: int, key: str) -> int:
        """The line of ``key`` in the table that starts at line ``start`` (or the header line)."""
        for number in range(start, min(len(self.lines), start + 200) + 1):
            line = self.lines[number - 1]
            if number > start and re.match(r"\s*\[", line):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", line):
                return number
        return start


@dataclass(frozen=True)
class Inventory:
    """An inventory file read and syntax-checked once; :meth:`targets` validates and builds its hosts."""

    path: Path
    text: str
    data: Mapping[str, Any]

    @classmethod
    def read(cls, path: Path) -> Inventory:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read the inventory: {exc.strerror}") from None
        if len(raw) > MAX_BYTES:
            raise SettingsError(f"{path}: inventory larger than {MAX_BYTES // 2**20} MB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{path}: not a text file (invalid UTF-8 at byte {exc.start}): expected TOML") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        return cls(path, text, data)

    def password_variables(self) -> list[str]:
        """The environment variables the hosts take passwords from (``password_env``), best effort."""
        tables = [self.data.get("defaults", {}), *self.data.get("host", [])]
        return sorted({t["password_env"] for t in tables if isinstance(t, dict) and isinstance(t.get("password_env"), str)})

    def targets(
        self, environ: Mapping[str, str] = os.environ, *, defaults: Mapping[str, Any] = {}, need_password: bool = True
    ) -> list[Target]:
        """The hosts as Targets, in file order; ``defaults`` are the command line's per-host settings.

        Raises SettingsError naming file:line.
        """
        path, data, where = self.path, self.data, _Lines(self.text)

        def fail(line: int, message: str) -> SettingsError:
            return SettingsError(f"{path}:{line}: {message}")

        unknown = set(data) - {"defaults", "host"}
        if unknown:
            raise fail(1, f"unknown top-level key(s): {', '.join(sorted(unknown))} (expected [defaults] and [[host]])")
        site_defaults, hosts = data.get("defaults", {}), data.get("host", [])
        if not isinstance(site_defaults, dict) or not isinstance(hosts, list) or not all(isinstance(h, dict) for h in hosts):
            raise fail(1, "[defaults] must be a table and [[host]] an array of tables")
        if not hosts:
            raise fail(1, "no hosts: add at least one [[host]] table")
        if "tls_name" in site_defaults:
            raise fail(where.key(where.defaults, "tls_name"), "tls_name is per host (it defaults to the host's name), not in [defaults]")
        for key in set(site_defaults) - set(KEYS):
            raise fail(where.key(where.defaults, key), f"unknown key {key!r} in [defaults] (known: {', '.join(sorted(KEYS))})")
        common = {**defaults, **self._values(site_defaults, lambda key: where.key(where.defaults, key), fail)}

        targets: list[Target] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(hosts):
            start = where.hosts[index] if index < len(where.hosts) else 1
            for key in set(entry) - set(KEYS) - set(HOST_ONLY):
                raise fail(where.key(start, key), f"unknown key {key!r} in [[host]] (known: {', '.join(sorted({*KEYS, *HOST_ONLY}))})")
            if "name" not in entry:
                raise fail(start, "a [[host]] without a name")

            def line_of(key: str, start: int = start) -> int:
                return where.key(start, key)

            try:
                name, address = (parse_name(_text(entry[k])) if k in entry else None for k in HOST_ONLY)
            except SettingsError as exc:
                raise fail(line_of("name"), f"name/address: {exc}") from None
            assert name is not None
            if name in seen:
                raise fail(line_of("name"), f"duplicate host name {name!r} (first at line {where.key(seen[name], 'name')})")
            seen[name] = start  # the table's line: the key's own is looked up only for the message
            values = {**common, "tls_name": name, **self._values({k: v for k, v in entry.items() if k in KEYS}, line_of, fail)}
            try:
                targets.append(build_target(address or name, values, environ, name=name, need_password=need_password))
            except SettingsError as exc:
                raise fail(line_of("user") if "user" in entry else start, f"host {name!r}: {exc}") from None
        return targets

    def _values(self, table: Mapping[str, Any], line_of: Callable[[str], int], fail: Callable[[int, str], SettingsError]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in table.items():
            try:
                values.update(KEYS[key](value))
                if key == "ca_file":
                    ca_file = (self.path.parent / values["ca_file"]).resolve()
                    if not ca_file.is_file():
                        raise SettingsError(f"no such file: {ca_file}")
                    values["ca_file"] = ca_file
            except SettingsError as exc:
                raise fail(line_of(key), f"{key}: {exc}") from None
        return values


def load_inventory(
    path: Path, environ: Mapping[str, str] = os.environ, *, defaults: Mapping[str, Any] = {}, need_password: bool = True
) -> list[Target]:
    """The hosts of an inventory file as Targets, in file order. Raises SettingsError naming file:line."""
    return Inventory.read(path).targets(environ, defaults=defaults, need_password=need_password)
