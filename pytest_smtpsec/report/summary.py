"""The terminal summary: a host x check grid, the findings below it and the site-level facts, in 100 columns."""

from __future__ import annotations

import textwrap

import pytest

from .records import RecordCollector
from .site import Finding, Site, counts, short_names, site_of

WIDTH = 100
CELL = {"pass": "pass", "fail": "FAIL", "warn": "warn", "skip": "skip", "error": "ERR"}
NOT_RUN = "-"
_MARKUP: dict[str | None, dict[str, bool]] = {
    "pass": {"green": True},
    "fail": {"red": True, "bold": True},
    "warn": {"yellow": True},
    "error": {"purple": True, "bold": True},
}

Segment = tuple[str, str | None]
"""Text, and the verdict that colours it (None: plain)."""
Line = list[Segment]


def render(site: Site) -> list[Line]:
    """The summary as lines of segments; plain text is the segments joined."""
    columns = [c for g in site.groups for c in g.checks]
    short = short_names(dict.fromkeys(columns))
    widest = max(5 * len(g.checks) for g in site.groups)
    cap = max(12, WIDTH - 5 - widest)
    names, domain = _shortened([h.name for h in site.hosts], cap)
    lines: list[Line] = [[(_totals(site, domain), None)]]
    name_width = min(cap, max(*(len(g.role) for g in site.groups), *(len(n) for n in names.values())))  # one width: columns align
    for group in site.groups:
        lines.append([(f"{group.role:<{name_width}} conn" + "".join(f" {short[c]:<4}" for c in group.checks).rstrip(), None)])
        for host in group.hosts:
            name = names[host.name]
            if len(name) > name_width:  # a long name gets a line of its own rather than being cut
                lines.append([(name, None)])
            row: Line = [(f"{name if len(name) <= name_width else '':<{name_width}} {host.connections:>4}", None)]
            for check in group.checks:
                cell = host.cells.get(check)
                row += [(" ", None), (f"{CELL[cell.verdict]:<4}", cell.verdict) if cell else (f"{NOT_RUN:<4}", None)]
            lines.append(_strip(row))
    hardening = [c for c in dict.fromkeys(columns) if any(h.cells[c].hardening for h in site.hosts if c in h.cells)]
    legend = " ".join(f"{short[c]}={c}" for c in dict.fromkeys(columns))
    legend += " (a cell: the worst verdict over the host's services; - not run there"
    legend += f"; hardening, beside the note: {' '.join(short[c] for c in hardening)})" if hardening else ")"
    lines += [[(text, None)] for text in _wrap(legend)]
    note_findings, hardening_findings = site.findings(hardening=False), site.findings(hardening=True)
    lines += _findings(note_findings, names)
    if hardening_findings:
        lines.append([("hardening, beside the note:", None)])
        lines += _findings(hardening_findings, names)
    if not note_findings and not hardening_findings:
        lines.append([("no findings: every check passed or was skipped", None)])
    lines += [[(text, None)] for text in _site_facts(site, names)]
    return lines


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
    hosts = f"{len(site.hosts)} host{'s' if len(site.hosts) != 1 else ''}" + (f" (*{domain})" if domain else "")
    return f"{len(records)} results on {hosts}: {shown}"


def _findings(found: list[Finding], names: dict[str, str]) -> list[Line]:
    """One line per finding, cut at the width; a host that could not be checked takes one line, not one per check."""
    errors: dict[str, list[Finding]] = {}
    for f in found:
        if f.cell.verdict == "error":
            errors.setdefault(f.host.name, []).append(f)
    lines = []
    for f in found:
        same, name = errors.get(f.host.name, []), names[f.host.name]
        if f.cell.verdict != "error" or len(same) == 1:
            where = f" ({', '.join(f.services)})" if f.services else ""
            lines.append(_line(f.cell.verdict, f"{name} {f.cell.check}{where}: {f.cell.reason}"))
        elif f is same[0]:
            lines.append(_line("error", f"{name} ({len(same)} checks): {f.cell.reason}"))
    return lines


def _line(verdict: str, text: str) -> Line:
    text = text if 5 + len(text) <= WIDTH else text[: WIDTH - 6] + "…"
    return [(f"{CELL[verdict]:<4}", verdict), (f" {text}", None)]


def _site_facts(site: Site, names: dict[str, str]) -> list[str]:
    """How many hosts offer mail, which no-mail hosts listen, which servers still take cleartext passwords."""
    offering = [names[h.name] for h in site.offering_mail]
    facts = [f"mail ports answer on {len(offering)} of {len(site.hosts)} hosts" + (": " + ", ".join(offering) if offering else "")]
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


def plain(lines: list[Line]) -> str:
    return "\n".join("".join(text for text, _ in line) for line in lines)


class SummaryReporter:
    """Prints the grid at the end of a run that ran built-in checks or check markers, whatever the verbosity."""

    def __init__(self, collector: RecordCollector) -> None:
        self.collector = collector

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        records = self.collector.records
        if not records:
            return
        tr = terminalreporter
        tr.write_sep("=", "smtpsec summary")
        for line in render(site_of(records)):
            for text, verdict in line:
                tr.write(text, **_MARKUP.get(verdict, {}))
            tr.line("")
