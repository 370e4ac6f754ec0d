"""``--smtpsec-json``: every verdict with its evidence, as a documented, versioned document.

The schema is ``docs/report-schema.json`` (``pytest-smtpsec/report/v1``); a change that would break a
reader gets a new version string. :class:`ReportFile` is the life cycle both file writers share.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .records import Record, RecordCollector
from .site import Site, counts, site_of

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


def document(records: list[Record], run: Run) -> dict[str, Any]:
    """The v1 report: run, totals, site facts, hosts (sorted like the grid) and their results."""
    site = site_of(records)
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
        "totals": {"hosts": len(site.hosts), "results": len(site.records), **counts(site.records)},
        "site": _site_facts(site),
        "hosts": [
            {"name": h.name, "role": h.role, "address": h.address, "connections": h.connections, "verdicts": h.verdicts} for h in site.hosts
        ],
        "results": [_result(r) for r in site.records],
    }


def _site_facts(site: Site) -> dict[str, Any]:
    return {
        "offering_mail": [h.name for h in site.offering_mail],
        "no_mail_listening": [h.name for h in site.listening_no_mail],
        "cleartext_auth_migrate": [{"host": f.host.name, "services": list(f.services)} for f in site.cleartext_auth],
    }


def _result(record: Record) -> dict[str, Any]:
    return {
        "host": record.target,
        "service": record.service,
        "address": record.address,
        "check": record.check,
        "title": record.title,
        "hardening": record.hardening,
        "verdict": record.verdict,
        "reason": record.reason,
        "findings": list(record.findings),
        "transcript": record.transcript,
        "note": record.note,
        "fix": record.fix,
        "seconds": record.seconds,
        "nodeid": record.nodeid,
    }


class ReportFile(ABC):
    """A report written to a file at the end of the session, from the records the controller gathered.

    Registered in ``pytest_configure`` on the controller only (xdist workers send their records there).
    """

    option: ClassVar[str]
    """The option's ini key / dest, e.g. ``smtpsec_json``."""
    label: ClassVar[str]

    def __init__(self, collector: RecordCollector, path: Path) -> None:
        self.collector = collector
        self.path = path
        self.started = dt.datetime.now(dt.UTC)
        self._clock = time.monotonic()
        self.written = False

    @classmethod
    def configured(cls, config: pytest.Config, collector: RecordCollector) -> ReportFile | None:
        """The writer if its option is set: a flag is relative to where pytest was started, an ini key to the rootdir."""
        given = config.getoption(cls.option)
        base = config.invocation_params.dir
        if not given:
            given, base = config.getini(cls.option), config.rootpath
        return cls(collector, base / Path(str(given)).expanduser()) if given else None

    @abstractmethod
    def render(self, records: list[Record], run: Run) -> str:
        """The whole file's text."""

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = dt.datetime.now(dt.UTC)
        self._clock = time.monotonic()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        run = Run(self.started, time.monotonic() - self._clock, int(exitstatus))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(self.collector.records, run), encoding="utf-8")
        self.written = True

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.written:  # after the grid, like junitxml's "generated xml file"
            terminalreporter.write_sep("-", f"smtpsec {self.label} report: {self.path}")


class JsonReport(ReportFile):
    option = "smtpsec_json"
    label = "JSON"

    def render(self, records: list[Record], run: Run) -> str:
        return json.dumps(document(records, run), indent=1, ensure_ascii=False) + "\n"
