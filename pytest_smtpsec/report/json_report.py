"""``--smtpsec-json``: every verdict with its evidence, as a documented, versioned document.

The schema ships in the package (``pytest_smtpsec/report/schema.json``, ``pytest-smtpsec/report/v1``);
a change that would break a reader gets a new version string. :class:`ReportFile` is what both file
writers share: each is an implementation of the ``pytest_smtpsec_report`` hook.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..verdict import Verdict
from .records import Record
from .site import Site, counts

SCHEMA = "pytest-smtpsec/report/v1"


@dataclass(frozen=True)
class Run:
    """What a report says about the run itself."""

    started: dt.datetime
    duration: float
    exit_status: int

    @property
    def exit_name(self) -> str:
        try:
            return pytest.ExitCode(self.exit_status).name
        except ValueError:
            return str(self.exit_status)

    @property
    def version(self) -> str:
        try:
            return metadata.version("pytest-smtpsec")
        except metadata.PackageNotFoundError:
            return "unknown"


SCHEMA_FILE = Path(__file__).with_name("schema.json")


def document(site: Site, run: Run) -> dict[str, Any]:
    """The v1 report: run, totals, site facts, hosts (sorted like the grid) and their results."""
    return {
        "schema": SCHEMA,
        "run": {
            "started": run.started.isoformat(timespec="seconds"),
            "duration": round(run.duration, 3),
            "pytest_smtpsec": run.version,
            "pytest": pytest.__version__,
            "exit_status": run.exit_status,
            "exit_name": run.exit_name,
        },
        "totals": {"hosts": len(site.hosts), "results": len(site.records), **_counted(counts(site.records))},
        "site": _site_facts(site),
        "hosts": [
            {"name": h.name, "role": h.role, "address": h.address, "connections": h.connections, "verdicts": _counted(h.verdicts)}
            for h in site.hosts
        ],
        "results": [_result(r) for r in site.records],
    }


def _counted(by_verdict: dict[Verdict, int]) -> dict[str, int]:
    return {v.value: n for v, n in by_verdict.items()}


def _site_facts(site: Site) -> dict[str, Any]:
    return {
        "offering_mail": [h.name for h in site.offering_mail],
        "no_mail_listening": [h.name for h in site.listening_no_mail],
        "cleartext_auth_migrate": [{"host": f.host.name, "services": list(f.services)} for f in site.cleartext_auth],
    }


def _result(record: Record) -> dict[str, Any]:
    return {
        "host": record.target,
        "service": record.service.value if record.service else None,
        "address": record.address,
        "check": record.check,
        "title": record.title,
        "hardening": record.hardening,
        "area": record.area.value,
        "verdict": record.verdict.value,
        "error": record.error.value if record.error else None,
        "reason": record.reason,
        "findings": list(record.findings),
        "transcript": record.transcript,
        "note": record.note,
        "fix": record.fix,
        "seconds": record.seconds,
        "nodeid": record.nodeid,
    }


class ReportFile(ABC):
    """A report written to a file at the end of the run, on the controlling process only."""

    label: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = False

    @abstractmethod
    def render(self, site: Site, run: Run) -> str:
        """The whole file's text."""

    def pytest_smtpsec_report(self, config: pytest.Config, site: Site, run: Run) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(site, run), encoding="utf-8")
        self.written = True

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.written:  # after the grid, like junitxml's "generated xml file"
            terminalreporter.write_sep("-", f"smtpsec {self.label} report: {self.path}")


class JsonReport(ReportFile):
    label = "JSON"

    def render(self, site: Site, run: Run) -> str:
        return json.dumps(document(site, run), indent=1, ensure_ascii=False) + "\n"
