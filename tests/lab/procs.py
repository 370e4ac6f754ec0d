"""Which processes still belong to a lab: the check behind "stop leaves nothing running"."""

from __future__ import annotations

import os
from pathlib import Path


def lab_processes(state_dir: Path, group: int | None = None) -> list[int]:
    """Live processes in the lab's process group, or with its state dir on their command line."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        state, _, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if state != "Z" and (int(pgrp) == group or str(state_dir) in cmdline):
            found.append(int(entry.name))
    return found
