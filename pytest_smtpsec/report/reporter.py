"""The reports of a run, on the controlling process: records gathered from every test report (xdist
workers' too), the terminal grid, and the ``pytest_smtpsec_report`` hook at the end for the file writers."""

from __future__ import annotations

import datetime as dt
import gc
import time
from typing import TYPE_CHECKING

import pytest

from . import summary
from .json_report import Run
from .records import Record, records_of
from .site import Site, site_of

if TYPE_CHECKING:
    from ..registry import Registry
    from ..settings import Settings


class Reporter:
    """Registered in ``pytest_configure`` on the controller only (workers send their records along)."""

    def __init__(self, config: pytest.Config, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self.records: list[Record] = []
        self.writes_files = False
        self.started = dt.datetime.now(dt.UTC)
        self._clock = time.monotonic()
        self._site: tuple[int, Site] | None = None

    @property
    def site(self) -> Site:
        """The records grouped for the reports, once for the terminal and the file writers both."""
        if self._site is None or self._site[0] != len(self.records):
            paused = gc.isenabled()  # grouping 10,000 hosts set off a full collection over every report (0.2 s)
            gc.disable()
            try:
                self._site = (len(self.records), site_of(self.records))
            finally:
                if paused:
                    gc.enable()
        return self._site[1]

    def add_files(self, settings: Settings) -> None:
        """Register the JSON and HTML writers the settings ask for (each implements ``pytest_smtpsec_report``)."""
        from .html_report import HtmlReport
        from .json_report import JsonReport

        for writer, path in ((JsonReport, settings.json), (HtmlReport, settings.html)):
            if path is not None:
                self.config.pluginmanager.register(writer(path), f"smtpsec-{writer.label.lower()}")
                self.writes_files = True

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = dt.datetime.now(dt.UTC)
        self._clock = time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":  # checks run in setup, so their records ride on the setup report
            self.records.extend(records_of(report))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        if not (self.records or self.writes_files):  # a file the user asked for is written even when empty
            return
        run = Run(self.started, time.monotonic() - self._clock, int(exitstatus))
        self.config.hook.pytest_smtpsec_report(config=self.config, site=self.site, run=run)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.records:
            return
        terminalreporter.write_sep("=", "smtpsec summary")
        for line in summary.render(self.site):
            for text, verdict in line:
                terminalreporter.write(text, **summary.markup(verdict))
            terminalreporter.line("")
