"""SPF (RFC 7208): exactly one ``v=spf1`` record, its ``all`` and how many DNS lookups it costs."""

from __future__ import annotations

from dataclasses import dataclass

LOOKUP_LIMIT = 10
"""RFC 7208 4.6.4: more DNS-querying terms than this is a permanent error."""
_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
_KNOWN = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", "redirect", "exp")


class SpfError(ValueError):
    """A record receivers would treat as a permanent error, in one line."""


@dataclass(frozen=True)
class Spf:
    all: str
    """The qualifier of ``all`` (``+ - ~ ?``), or "" when there is no ``all`` term."""
    lookups: int
    """DNS-querying terms in this record alone (includes are not followed)."""
    redirect: bool


def spf_records(texts: list[str]) -> list[str]:
    """The TXT strings that are SPF records (RFC 7208 4.5: ``v=spf1`` alone or followed by a space)."""
    return [text for text in texts if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def parse_spf(text: str) -> Spf:
    terms = text.split()[1:]
    qualifier = ""
    lookups = 0
    redirect = False
    for term in terms:
        if "=" in term.split(":")[0]:
            name = term.split("=", 1)[0].lower()
            if name == "redirect":
                redirect = True
                lookups += 1
            continue
        body = term[1:] if term[:1] in "+-~?" else term
        name = body.split(":", 1)[0].split("/", 1)[0].lower()
        if name not in _KNOWN:
            raise SpfError(f"unknown term {term!r}")
        if name == "all":
            qualifier = term[0] if term[:1] in "+-~?" else "+"
        elif name in _LOOKUP_TERMS:
            lookups += 1
    return Spf(qualifier, lookups, redirect)
