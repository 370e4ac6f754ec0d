"""The terminal summary: a host x area grid, the findings below it and the site-level facts, in 100 columns."""

from __future__ import annotations

import textwrap

from ..checks.base import Area
from ..verdict import Verdict
from .site import Finding, Host, Site, counts

WIDTH = 100
MAX_ROWS = 40
"""Host rows shown; a larger site shows its hosts with findings first and counts the rest."""
MAX_FINDINGS = 40
"""Finding lines shown; the JSON and HTML reports keep every one."""
CELL = {Verdict.PASS: "pass", Verdict.FAIL: "FAIL", Verdict.WARN: "warn", Verdict.SKIP: "skip", Verdict.ERROR: "ERR"}
NOT_RUN = "-"
_MARKUP: dict[Verdict | None, dict[str, bool]] = {
    Verdict.PASS: {"green": True},
    Verdict.FAIL: {"red": True, "bold": True},
    Verdict.WARN: {"yellow": True},
    Verdict.ERROR: {"purple": True, "bold": True},
}

Segment = tuple[str, Verdict | None]
"""Text, and the verdict that colours it (None: plain)."""
Line = list[Segment]


def render(site: Site) -> list[Line]:
    """The summary as lines of segments; plain text is the segments joined.

    Columns are the checks' areas (a handful, however many checks there are), each cell the worst verdict
    over the area's checks on the host's services; the findings below name the exact check and service.
    """
    areas = [a for a in Area if any(a in g.areas for g in site.groups)]
    short = {a: a.value[:4] for a in areas}
    shown, hidden = _rows(site)
    cap = max(12, WIDTH - 5 - 5 * len(areas))
    names, domain = _shortened([h.name for h in site.hosts], cap)
    lines: list[Line] = [[(_totals(site, domain), None)]]
    name_width = min(cap, max(*(len(g.role) for g in site.groups), *(len(names[h.name]) for h in shown)))
    for group in site.groups:
        members = [h for h in group.hosts if h in shown]
        if not members:
            continue
        lines.append([(f"{group.role:<{name_width}} conn" + "".join(f" {short[a]:<4}" for a in areas).rstrip(), None)])
        for host in members:
            name = names[host.name]
            if len(name) > name_width:  # a long name gets a line of its own rather than being cut
                lines.append([(name, None)])
            row: Line = [(f"{name if len(name) <= name_width else '':<{name_width}} {host.connections:>4}", None)]
            for area in areas:
                verdict = host.area(area)
                row += [(" ", None), (f"{CELL[verdict]:<4}", verdict) if verdict else (f"{NOT_RUN:<4}", None)]
            lines.append(_strip(row))
    if hidden:
        lines.append([(f"... and {hidden} more hosts with no findings", None)])
    legend = " ".join(f"{short[a]}={a.value}" for a in areas)
    legend += " (a cell: the worst verdict of the area's checks over the host's services; - none ran there)"
    lines += [[(text, None)] for text in _wrap(legend)]
    note_findings, hardening_findings = site.findings(hardening=False), site.findings(hardening=True)
    lines += _findings(note_findings, names, MAX_FINDINGS)
    if hardening_findings:
        lines.append([("hardening, beside the note:", None)])
        lines += _findings(hardening_findings, names, max(5, MAX_FINDINGS - len(note_findings)))
    if not note_findings and not hardening_findings:
        lines.append([("no findings: every check passed or was skipped", None)])
    lines += [[(text, None)] for text in _site_facts(site, names)]
    return lines


def _rows(site: Site) -> tuple[list[Host], int]:
    """The hosts that get a row: all of a small site; of a large one, those with findings first."""
    if len(site.hosts) <= MAX_ROWS:
        return list(site.hosts), 0
    problems = [h for h in site.hosts if not h.clean]
    shown = problems[:MAX_ROWS] if problems else list(site.hosts[:MAX_ROWS])
    return shown, len(site.hosts) - len(shown)


def _shortened(names: list[str], width: int) -> tuple[dict[str, str], str]:
    """Names as shown: without the domain every host shares, when a full name would not fit in ``width``."""
    same = {n: n for n in names}
    if all(len(n) <= width for n in names) or any(n.replace(".", "").isdigit() for n in names):
        return same, ""
    labels = [n.split(".") for n in names]
    common = 0
    while all(len(ls) > common + 1 for ls in labels) and len({tuple(ls[-common - 1 :]) for ls in labels}) == 1:
        common += 1
    if not common:
        return same, ""
    domain = "." + ".".join(labels[0][-common:])
    return {n: n.removesuffix(domain) for n in names}, domain


def _totals(site: Site, domain: str) -> str:
    records = site.records
    shown = ", ".join(f"{n} {CELL[v]}" for v, n in counts(records).items() if n)
    machines, domains = len(site.machines), len(site.hosts) - len(site.machines)
    hosts = f"{machines} host{'s' if machines != 1 else ''}" + (f" (*{domain})" if domain else "")
    hosts += f" and {domains} mail domain{'s' if domains != 1 else ''}" if domains else ""
    return f"{len(records)} results on {hosts}: {shown}"


def _findings(found: list[Finding], names: dict[str, str], limit: int) -> list[Line]:
    """One line per finding, cut at the width; a host that could not be checked takes one line, not one per check."""
    errors: dict[str, list[Finding]] = {}
    for f in found:
        if f.cell.verdict is Verdict.ERROR:
            errors.setdefault(f.host.name, []).append(f)
    lines = []
    for f in found:
        same, name = errors.get(f.host.name, []), names[f.host.name]
        if f.cell.verdict is not Verdict.ERROR or len(same) == 1:
            where = f" ({', '.join(f.services)})" if f.services else ""
            lines.append(_line(f.cell.verdict, f"{name} {f.cell.check}{where}: {f.cell.reason}"))
        elif f is same[0]:
            lines.append(_line(Verdict.ERROR, f"{name} ({len(same)} checks): {f.cell.reason}"))
    if len(lines) > limit:
        more = len(lines) - limit
        lines = [*lines[:limit], [(f"... and {more} more (every finding is in --smtpsec-json and --smtpsec-html)", None)]]
    return lines


def _line(verdict: Verdict, text: str) -> Line:
    text = text if 5 + len(text) <= WIDTH else text[: WIDTH - 6] + "…"
    return [(f"{CELL[verdict]:<4}", verdict), (f" {text}", None)]


def _site_facts(site: Site, names: dict[str, str]) -> list[str]:
    """How many hosts offer mail, which no-mail hosts listen, which servers still take cleartext passwords."""
    offering = [names[h.name] for h in site.offering_mail]
    facts = [f"mail ports answer on {len(offering)} of {len(site.machines)} hosts" + (": " + ", ".join(offering) if offering else "")]
    listening = [names[h.name] for h in site.listening_no_mail]
    if listening:
        facts.append(f"no-mail hosts listening on mail ports ({len(listening)}): " + ", ".join(listening))
    cleartext = [f"{names[f.host.name]} ({', '.join(f.services)})" for f in site.cleartext_auth]
    if cleartext:
        facts.append(f"cleartext AUTH still allowed by auth policy 'migrate' ({len(cleartext)}): " + ", ".join(cleartext))
    return [line for fact in facts for line in _wrap(fact)]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False) or [""]


def _strip(line: Line) -> Line:
    """Drop trailing blanks so no row is wider than it looks."""
    while line and not line[-1][0].strip():
        line = line[:-1]
    if line:
        text, verdict = line[-1]
        line = [*line[:-1], (text.rstrip(), verdict)]
    return line


def markup(verdict: Verdict | None) -> dict[str, bool]:
    """The terminal colours of a verdict's text."""
    return _MARKUP.get(verdict, {})


def plain(lines: list[Line]) -> str:
    return "\n".join("".join(text for text, _ in line) for line in lines)
