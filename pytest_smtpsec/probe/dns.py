"""The mail domain's DNS, asked once per target: every query at once, each bounded by the target's timeout.

The resolver is the one the user names (``--smtpsec-resolver``) or the system's. Every query asks for
DNSSEC (EDNS DO and the AD flag), so a validating resolver's verdict comes back in the AD bit; it is
reported, never assumed. A query that gets no answer in time is kept as an error of that query alone.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from ..target import Target, is_address
from .errors import ProbeError
from .network import deadline_for
from .parallel import run_all

FIRST_WAVE = (("", "MX"), ("", "TXT"), ("", "DNSKEY"), ("_dmarc.", "TXT"), ("_mta-sts.", "TXT"), ("_smtp._tls.", "TXT"), ("mta-sts.", "A"))
"""What every domain is asked first (prefix, type); the MX hosts' own questions follow in a second wave."""


@dataclass(frozen=True)
class Answer:
    """One query's outcome: ``records`` in presentation form; ``rcode`` NOERROR or NXDOMAIN; ``error`` when
    the resolver did not answer (then nothing else is known). ``cname`` is the name the answer was for,
    when the query was redirected by a CNAME."""

    name: str
    rdtype: str
    records: tuple[str, ...] = ()
    secure: bool = False
    rcode: str = "NOERROR"
    cname: str = ""
    error: str = ""
    servfail: bool = False
    """The resolver answered SERVFAIL: with a validating resolver, most often a bogus DNSSEC signature."""

    @property
    def exists(self) -> bool:
        return not self.error and self.rcode == "NOERROR"


@dataclass(frozen=True)
class DomainDns:
    """Every answer about a domain, by (name, type)."""

    domain: str
    resolver: str
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)

    def get(self, name: str, rdtype: str) -> Answer:
        """The answer to one question; a question never asked is a bug of the caller (KeyError)."""
        return self.answers[(name.rstrip(".").lower(), rdtype)]

    def answer(self, name: str, rdtype: str) -> Answer:
        """Like :meth:`get`, but a resolver that did not answer is "could not check" (:class:`ProbeError`)."""
        found = self.get(name, rdtype)
        if found.error:
            raise ProbeError(self.resolver, "dns", f"{rdtype} {found.name}: {found.error}")
        return found

    def txt(self, name: str) -> list[str]:
        """The TXT strings at ``name`` (each record's strings joined, as RFC 7208 3.3 says), [] if none."""
        return [_unquote(text) for text in self.answer(name, "TXT").records]

    def mx_hosts(self) -> list[str]:
        """The MX host names by preference (lowest first), without the trailing dot."""
        pairs = [record.split(None, 1) for record in self.answer(self.domain, "MX").records]
        return [host.rstrip(".").lower() for _, host in sorted(pairs, key=lambda pair: int(pair[0]))]

    def mx_set(self) -> list[MxHost]:
        """Each MX host (by preference, the null MX left out) with what its name resolves to."""
        found = []
        for name in self.mx_hosts():
            if not name:
                continue
            if is_address(name):
                found.append(MxHost(name, literal=True))
                continue
            answers = [self.answer(name, rdtype) for rdtype in ("A", "AAAA")]
            cname = next((a.cname for a in answers if a.cname), "")
            found.append(MxHost(name, answers[0].records, answers[1].records, cname))
        return found


@dataclass(frozen=True)
class MxHost:
    """One MX host as its name resolves: a name with addresses of its own, or an IP literal, a CNAME, dangling."""

    name: str
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    cname: str = ""
    literal: bool = False

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.ipv4 + self.ipv6

    @property
    def probed(self) -> tuple[str, ...]:
        """Where the MX checks reach it: the first address of each family (one configuration behind a name is
        the rule; a sender may use either family), none for an IP literal, a CNAME or a dangling name."""
        if self.literal or self.cname:
            return ()
        return self.ipv4[:1] + self.ipv6[:1]


def _unquote(text: str) -> str:
    parts = []
    for chunk in text.split('" "'):
        parts.append(chunk.strip('"'))
    return "".join(parts).replace('\\"', '"')


def resolver_for(target: Target) -> dns.resolver.Resolver:
    """A resolver asking the target's resolver (or the system's) with DO and AD set, and no caching."""
    resolver = dns.resolver.Resolver(configure=target.resolver is None)
    if target.resolver is not None:
        address, port = target.resolver
        resolver.nameservers = [address]
        resolver.port = port
    resolver.use_edns(0, dns.flags.DO, 1232)
    resolver.flags = dns.flags.RD | dns.flags.AD
    resolver.lifetime = target.timeout
    resolver.timeout = min(2.0, target.timeout)
    return resolver


def ask(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> Answer:
    """One question; never raises: every failure is an :class:`Answer` with ``error``."""
    key = name.rstrip(".").lower()
    try:
        result = resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN as exc:
        responses = exc.kwargs.get("responses", {}) if isinstance(exc.kwargs, dict) else {}
        secure = any(bool(response.flags & dns.flags.AD) for response in responses.values())  # a validated denial
        return Answer(key, rdtype, rcode="NXDOMAIN", secure=secure)
    except dns.resolver.NoNameservers as exc:
        return Answer(key, rdtype, error=f"SERVFAIL (bogus DNSSEC, or a broken zone): {_short(exc)}", servfail=True)
    except dns.exception.Timeout:
        return Answer(key, rdtype, error=f"no answer within {resolver.lifetime:.1f} s")
    except dns.exception.DNSException as exc:
        return Answer(key, rdtype, error=_short(exc))
    response = result.response
    records = tuple(sorted(rdata.to_text() for rdata in result.rrset)) if result.rrset is not None else ()
    canonical = str(result.canonical_name).rstrip(".").lower()
    return Answer(key, rdtype, records, bool(response.flags & dns.flags.AD), cname=canonical if canonical != key else "")


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160]


SPF_DEPTH = 4
"""How many levels of SPF ``include:`` are fetched (one wave each); deeper ones make the count a lower bound."""


def _follow_spf(found: DomainDns, wave: Callable[[list[tuple[str, str]]], None]) -> None:
    """The TXT records of the domains the SPF record includes, level by level, each level in one wave."""
    from ..domain.spf import SpfError, referenced, spf_records

    level = [found.domain]
    for _ in range(SPF_DEPTH):
        names = []
        for name in level:
            answer = found.answers.get((name, "TXT"))
            if answer is None or answer.error:
                continue
            for record in spf_records([_unquote(text) for text in answer.records]):
                try:
                    names += [n for n in referenced(record) if (n, "TXT") not in found.answers]
                except SpfError:
                    pass
        level = sorted(set(names))
        if not level:
            return
        wave([(name, "TXT") for name in level])


def lookup_domain(target: Target) -> DomainDns:
    """Every question about ``target.domain``: the first wave at once, then each MX host's addresses,
    CNAME and TLSA records at once."""
    if not target.domain:
        raise ValueError("no domain to look up")
    resolver = resolver_for(target)
    deadline = deadline_for(target.timeout)  # both waves together within the target's timeout (and the host's)
    where = "system resolver" if target.resolver is None else f"resolver {target.resolver[0]}:{target.resolver[1]}"
    answers: dict[tuple[str, str], Answer] = {}

    def wave(questions: list[tuple[str, str]]) -> None:
        resolver.lifetime = max(0.05, deadline - time.monotonic())
        resolver.timeout = min(resolver.timeout, resolver.lifetime)

        def one(name: str, rdtype: str) -> None:
            answers[(name, rdtype)] = ask(resolver, name, rdtype)

        run_all([functools.partial(one, name, rdtype) for name, rdtype in questions], "smtpsec-dns")

    domain = target.domain
    wave([(prefix + domain, rdtype) for prefix, rdtype in FIRST_WAVE])
    found = DomainDns(domain, where, answers)
    _follow_spf(found, wave)
    mx = answers[(domain, "MX")]
    if mx.exists:
        hosts = [host for host in found.mx_hosts() if host]
        second = [(host, rdtype) for host in hosts for rdtype in ("A", "AAAA")]
        second += [(f"_25._tcp.{host}", "TLSA") for host in hosts]
        wave(second)
    return found
