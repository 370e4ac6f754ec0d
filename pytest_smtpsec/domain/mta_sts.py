"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record, the policy file, and which MX names a policy allows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

MAX_POLICY_BYTES = 64 * 1024
"""RFC 8461 3.3: a sender may refuse a policy larger than 64 KiB."""
MAX_AGE_LIMIT = 31557600
"""RFC 8461 3.2: ``max_age`` is at most 31557600 seconds (about one year)."""
SHORT_MAX_AGE = 86400
"""A ``max_age`` below a day protects little (RFC 8461 recommends weeks): a warning."""

_ID = re.compile(r"[A-Za-z0-9]{1,32}")


class Mode(str, Enum):
    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


@dataclass(frozen=True)
class StsRecord:
    """The ``_mta-sts.<domain>`` TXT record: its policy ``id``."""

    id: str


@dataclass(frozen=True)
class Policy:
    mode: Mode
    max_age: int
    mx: tuple[str, ...]


class PolicyError(ValueError):
    """A record or policy that a sender would not accept, said in one line."""


def parse_txt(text: str) -> StsRecord:
    """Parse one ``v=STSv1; id=...`` record (RFC 8461 3.1); raises :class:`PolicyError`."""
    fields = [part.strip() for part in text.strip().rstrip(";").split(";")]
    if not fields or fields[0] != "v=STSv1":
        raise PolicyError(f"does not start with v=STSv1: {text!r}")
    values: dict[str, str] = {}
    for field in fields[1:]:
        key, sep, value = field.partition("=")
        if not sep:
            raise PolicyError(f"field without '=': {field!r}")
        values.setdefault(key.strip(), value.strip())
    if "id" not in values:
        raise PolicyError("no id= field")
    if not _ID.fullmatch(values["id"]):
        raise PolicyError(f"id must be 1 to 32 letters and digits: {values['id']!r}")
    return StsRecord(values["id"])


def sts_records(texts: list[str]) -> list[str]:
    """The TXT strings that claim to be MTA-STS records (RFC 8461 3.1: those starting ``v=STSv1``)."""
    return [text for text in texts if text.startswith("v=STSv1")]


def parse_policy(body: bytes) -> Policy:
    """Parse a policy file strictly (RFC 8461 3.2): CRLF lines (LF tolerated), ``version: STSv1`` first,
    one ``mode``, one ``max_age`` within bounds, at least one ``mx`` unless mode is ``none``."""
    if len(body) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy is {len(body)} bytes, over the 64 KiB a sender accepts")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("policy is not UTF-8 text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or key != key.strip():
            raise PolicyError(f"line {number} is not 'key: value': {line!r}")
        pairs.append((key, value.strip()))
    if not pairs or pairs[0] != ("version", "STSv1"):
        raise PolicyError("the first line must be 'version: STSv1'")
    found: dict[str, list[str]] = {}
    for key, value in pairs[1:]:
        found.setdefault(key, []).append(value)
    for key in ("mode", "max_age"):
        if len(found.get(key, [])) != 1:
            raise PolicyError(f"expected exactly one '{key}:' line, found {len(found.get(key, []))}")
    try:
        mode = Mode(found["mode"][0])
    except ValueError:
        raise PolicyError(f"mode must be enforce, testing or none, not {found['mode'][0]!r}") from None
    age = found["max_age"][0]
    if not age.isdigit() or len(age) > 10:
        raise PolicyError(f"max_age must be a number of seconds, not {age!r}")
    max_age = int(age)
    if max_age > MAX_AGE_LIMIT:
        raise PolicyError(f"max_age {max_age} is over the limit of {MAX_AGE_LIMIT} seconds")
    mx = tuple(pattern.lower().rstrip(".") for pattern in found.get("mx", []))
    for pattern in mx:
        _check_pattern(pattern)
    if mode is not Mode.NONE and not mx:
        raise PolicyError(f"mode {mode.value} needs at least one 'mx:' line")
    return Policy(mode, max_age, mx)


def _check_pattern(pattern: str) -> None:
    rest = pattern.removeprefix("*.")
    labels = rest.split(".")
    if not rest or any(not re.fullmatch(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?", label) for label in labels):
        raise PolicyError(f"not an mx pattern (a name, or '*.' and a name): {pattern!r}")


def mx_matches(pattern: str, host: str) -> bool:
    """Whether an MX host name matches a policy ``mx`` pattern (RFC 8461 4.1): exact, or ``*.`` for exactly
    one leftmost label."""
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == pattern[2:]
    return host == pattern


def unmatched(policy: Policy, hosts: list[str]) -> list[str]:
    """The MX hosts that no pattern of the policy allows."""
    return [host for host in hosts if not any(mx_matches(pattern, host) for pattern in policy.mx)]
