"""SPF (RFC 7208): exactly one ``v=spf1`` record, its ``all`` and how many DNS lookups it costs."""

from __future__ import annotations

from collections.abc import Callable
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


def referenced(text: str) -> list[str]:
    """The domains an SPF record sends the receiver to (``include:`` and ``redirect=``), macro-free ones only."""
    names = []
    for term in text.split()[1:]:
        body = term[1:] if term[:1] in "+-~?" else term
        for prefix in ("include:", "redirect="):
            if body.lower().startswith(prefix) and "%" not in body:
                names.append(body[len(prefix) :].rstrip(".").lower())
    return names


@dataclass(frozen=True)
class Count:
    lookups: int
    problems: tuple[str, ...]
    complete: bool
    """False when some included record was not fetched (deeper than asked): the count is a lower bound."""


def count_lookups(text: str, records_of: Callable[[str], list[str] | None], depth: int = 0) -> Count:
    """DNS-querying terms of a record and of every record it includes or redirects to (RFC 7208 4.6.4).

    ``records_of(name)`` gives the SPF records at ``name``, or None when that name was not asked."""
    lookups = parse_spf(text).lookups
    problems: list[str] = []
    complete = True
    for name in referenced(text):
        found = records_of(name)
        if found is None or depth >= LOOKUP_LIMIT:
            complete = False
            continue
        if len(found) != 1:
            problems.append(f"{name} (included) has {len(found)} SPF records: a permanent error (RFC 7208 5.2)")
            continue
        try:
            inner = count_lookups(found[0], records_of, depth + 1)
        except SpfError as exc:
            problems.append(f"{name} (included): {exc}")
            continue
        lookups += inner.lookups
        problems.extend(inner.problems)
        complete = complete and inner.complete
    return Count(lookups, tuple(problems), complete)
