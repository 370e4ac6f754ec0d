"""The one-screen text a user reads when a check fails or could not run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..verdict import CheckResult, ErrorKind, Verdict

if TYPE_CHECKING:
    from ..checks.base import Fix


class Explained(Protocol):
    """What a failure screen needs of a check (network or host): its name and the note's why and fix."""

    @property
    def name(self) -> str: ...
    @property
    def expected(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def fix(self) -> Fix: ...


_HEADLINE = {
    Verdict.FAIL: "INSECURE",
    Verdict.ERROR: "COULD NOT CHECK",
    Verdict.WARN: "WARNING",
}
MAX_TRANSCRIPT_LINES = 30
_NOTHING = "  This says nothing about security:"
_NEXT_STEP = {
    ErrorKind.UNREACHABLE: [f"{_NOTHING} nothing answered. Check the host name, port and firewall, then run again."],
    ErrorKind.PROBE: [f"{_NOTHING} the server could not be asked. Check the host, port and", "  --smtpsec-timeout, then run again."],
    ErrorKind.CREDENTIALS: [f"{_NOTHING} the probe's own login was refused. Check --smtpsec-user and the password."],
    ErrorKind.HOST: [f"{_NOTHING} the mail host's files could not be read. Check --smtpsec-host-config."],
    ErrorKind.INTERNAL: [f"{_NOTHING} the check itself failed on what it saw. Please report it (SECURITY.md)."],
}


def render(check: Explained, result: CheckResult) -> str:
    """What was expected, what the server did (masked transcript), which part of the note, how to fix it."""
    where = f" {result.service.value} ({result.address})" if result.service else ""
    head = f"{check.name} on {result.target}{where}: {_HEADLINE.get(result.verdict, result.verdict.value.upper())}"
    lines = [head]
    if result.verdict is Verdict.ERROR:
        lines += [f"  {result.outcome.reason}", *_NEXT_STEP[result.outcome.error or ErrorKind.PROBE]]
    else:
        lines += [f"  - {finding}" for finding in result.outcome.findings]
        lines += [
            "",
            f"Expected: {check.expected}",
            f"The note: {check.note}",
            "Fix:",
            *(f"  {line}" for line in check.fix.render().splitlines()),
        ]
    transcript = compact(result.outcome.transcript.splitlines())
    if transcript:
        lines += ["", "Evidence (SMTP transcript or certificate; secrets masked):"]
        if len(transcript) > MAX_TRANSCRIPT_LINES:
            cut = len(transcript) - MAX_TRANSCRIPT_LINES
            half = MAX_TRANSCRIPT_LINES // 2
            transcript = [*transcript[:half], f"   ... {cut} lines ...", *transcript[-half:]]
        lines += [f"  {line}" for line in transcript]
    return "\n".join(lines)


def compact(lines: list[str]) -> list[str]:
    """Fold each multi-line reply (``S: 250-…`` … ``S: 250 …``) into one line, so a session fits a screen."""
    folded: list[str] = []
    pending: list[str] = []  # the continuation lines of a reply not yet complete, as sent
    for line in lines:
        reply_line = line.startswith("S: ") and line[3:6].isdigit()
        if reply_line and line[6:7] == "-":
            pending.append(line)
        elif reply_line and pending:
            folded.append(f"S: {line[3:6]} " + " | ".join(p[7:] for p in [*pending, line]))
            pending = []
        else:
            folded += [*pending, line]
            pending = []
    return folded + pending
