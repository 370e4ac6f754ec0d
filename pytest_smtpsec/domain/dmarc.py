"""DMARC (RFC 7489): the ``_dmarc.<domain>`` TXT record: its policy and where aggregate reports go."""

from __future__ import annotations

from dataclasses import dataclass


class DmarcError(ValueError):
    """A record receivers would ignore, in one line."""


@dataclass(frozen=True)
class Dmarc:
    policy: str
    rua: tuple[str, ...]


def dmarc_records(texts: list[str]) -> list[str]:
    return [text for text in texts if text.replace(" ", "").startswith("v=DMARC1")]


def parse_dmarc(text: str) -> Dmarc:
    """``v=DMARC1; p=...; rua=mailto:...`` (RFC 7489 6.3): ``v`` first, ``p`` second and one of none,
    quarantine, reject."""
    fields = [part.strip() for part in text.strip().rstrip(";").split(";")]
    pairs = [(key.strip(), value.strip()) for key, _, value in (field.partition("=") for field in fields)]
    if not pairs or pairs[0] != ("v", "DMARC1"):
        raise DmarcError(f"does not start with v=DMARC1: {text!r}")
    if len(pairs) < 2 or pairs[1][0] != "p":
        raise DmarcError("p= must come right after v=DMARC1")
    policy = pairs[1][1].lower()
    if policy not in ("none", "quarantine", "reject"):
        raise DmarcError(f"p must be none, quarantine or reject, not {pairs[1][1]!r}")
    values = dict(pairs)
    rua = tuple(uri.strip() for uri in values.get("rua", "").split(",") if uri.strip())
    return Dmarc(policy, rua)
