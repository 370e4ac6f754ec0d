"""What ``sendmail -d0.1 -bv root`` says about the binary: its version and its "Compiled with:" list.

The note: "Your sendmail will support SSL ... and authentication if built with STARTTLS and SASL
options. To confirm that try: /usr/lib/sendmail -d0.1 -bv".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAG = re.compile(r"[A-Z][A-Za-z0-9_]*(=\S*)?")  # SASLv2, NEWDB=5.3


@dataclass(frozen=True)
class SendmailBuild:
    version: str
    compiled_with: frozenset[str]
    """Flag names without their ``=value`` (``NEWDB=5.3`` is ``NEWDB``)."""

    def has(self, flag: str) -> bool:
        return flag in self.compiled_with


def parse_build(output: str) -> SendmailBuild | None:
    """The version and flags, or None if the output has no "Compiled with:" list."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if "Compiled with:" in line), None)
    if start is None:
        return None
    version = next((m.group(1) for line in lines if (m := re.match(r"\s*Version\s+(\S+)", line))), "unknown")
    words = lines[start].split("Compiled with:", 1)[1].split()
    for line in lines[start + 1 :]:
        if not line.strip() or re.match(r"\s*[=A-Z][^:=]*:\s", line):  # blank, "=== ...", "OS Defines:"
            break
        words += line.split()
    flags = frozenset(w.split("=", 1)[0] for w in words if _FLAG.fullmatch(w))
    return SendmailBuild(version, flags)
