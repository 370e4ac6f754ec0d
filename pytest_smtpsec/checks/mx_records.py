"""The domain's MX set resolves (no CNAME, no IP literal, none dangling), and each MX host passes the network
checks as the world reaches it: on port 25, under its MX name, nobody logged in."""

from __future__ import annotations

import functools

from ..probe import Probes
from ..probe.dns import MxHost
from ..probe.network import host_deadline
from ..probe.parallel import map_all
from ..verdict import CheckResult, ErrorKind, Outcome, Verdict, failed, passed, warned
from ._domain import DomainCheck
from .base import Area, Fix, NotApplicable, run_at


def judge(probes: Probes) -> Outcome:
    found = probes.domain()
    domain = found.domain
    answer = found.answer(domain, "MX")
    if not answer.exists:
        return failed([f"{domain} does not exist ({answer.rcode}): no mail can be delivered to it"])
    if not answer.records:
        return failed([f"{domain} has no MX records: senders fall back to its address, if any (RFC 5321 5.1)"])
    hosts = found.mx_set()
    if not hosts:
        raise NotApplicable(f"{domain} publishes a null MX (RFC 7505): it takes no mail")
    findings = [finding for mx in hosts if (finding := _dns_finding(mx))]
    where = [(mx.name, address) for mx in hosts for address in mx.probed]
    judged = map_all([functools.partial(_judge_mx, probes, name, address) for name, address in where], "smtpsec-mx-checks")
    return _verdict(domain, findings, list(zip(where, judged, strict=True)))


def _dns_finding(mx: MxHost) -> str:
    if mx.literal:
        return f"MX {mx.name} is an IP literal: an MX must name a host (RFC 5321 5.1)"
    if mx.cname:
        return f"MX {mx.name} is a CNAME (to {mx.cname}): an MX must name the host itself (RFC 2181 10.3)"
    if not mx.addresses:
        return f"MX {mx.name} has no A or AAAA record: a dangling MX, mail to it bounces or waits"
    return ""


def _judge_mx(probes: Probes, name: str, address: str) -> list[CheckResult]:
    """Every network check that places itself on the MX (as ``Target.mx`` makes it), on its own probes, in its
    own time: the registry's placement and judges, none repeated here."""
    from . import CHECKS  # the package is built from this module, among others

    mx = probes.mx(name, address)
    with host_deadline(mx.target.timeout):
        mx.warm_up()
        return [run_at(check, mx, where) for check in CHECKS.values() for where in check.places(mx.target)]


def _verdict(domain: str, findings: list[str], judged: list[tuple[tuple[str, str], list[CheckResult]]]) -> Outcome:
    """FAIL for a DNS finding or an MX failing a check; else ERROR if an MX could not be checked (never a false
    PASS); else WARN for a warning; else PASS, listing what each MX passed."""
    errors: list[str] = []
    warnings: list[str] = []
    shown: list[str] = []
    transcript = ""
    kinds: set[ErrorKind] = set()
    for (name, address), results in judged:
        mx = f"MX {name} ({address})"
        broken = [r for r in results if r.verdict is Verdict.ERROR]
        if broken and len(broken) == len(results):  # nothing answered as it should: one line for the MX
            errors.append(f"{mx}: could not check on port {results[0].address.rsplit(':', 1)[-1]}: {broken[0].outcome.reason}")
        else:
            errors += [f"{mx}: {r.check}: could not check: {r.outcome.reason}" for r in broken]
        kinds.update(r.outcome.error for r in broken if r.outcome.error is not None)
        for result in results:
            if result.verdict is Verdict.FAIL:
                findings.append(f"{mx}: {result.check}: {result.outcome.reason}")
                transcript = transcript or result.outcome.transcript
            elif result.verdict is Verdict.WARN:
                warnings.append(f"{mx}: {result.check}: {result.outcome.reason}")
        passing = [r.check for r in results if r.verdict is Verdict.PASS]
        shown.append(f"{name} ({address}): {', '.join(passing) or 'no check applied'}")
    if findings:
        return failed(findings + errors + warnings, transcript=transcript)
    if errors:
        kind = ErrorKind.UNREACHABLE if kinds == {ErrorKind.UNREACHABLE} else ErrorKind.PROBE
        return Outcome(Verdict.ERROR, errors[0], tuple(errors + warnings), error=kind)
    if warnings:
        return warned(warnings)
    return passed(f"MX of {domain}: " + "; ".join(shown) if shown else f"MX of {domain}: none to probe")


CHECK = DomainCheck(
    name="mx_records",
    title="The domain's MX hosts resolve (no CNAME, no IP literal, none dangling) and pass the checks on port 25",
    area=Area.DOMAIN,
    expected=(
        "at least one MX record; each MX a host name with an A or AAAA record of its own; each MX host, at the first "
        "address of each family, passing every network check on port 25 under its MX name (as the world sends mail)"
    ),
    note=(
        "Beyond the note's own host list: the world reaches the mail server through the domain's MX records; an MX "
        "that is a CNAME, an address or a name without addresses makes senders fail or guess, and an MX that "
        "fails the note's checks (no STARTTLS, a certificate not for its name, an open relay) is where the "
        "domain's mail is exposed."
    ),
    fix=Fix("in the zone (one MX line each; each host its own A/AAAA):\n@ IN MX 10 mail.example.org.\nmail IN A 192.0.2.25"),
    judge=judge,
)
