"""sendmail_cf_rebuilt against the real running reference sendmail: the daemon must postdate its cf."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tiers import lab_fixture

from pytest_smtpsec.host import HOST_CHECKS
from pytest_smtpsec.lab import LabError, ReferenceServer
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.verdict import Verdict

from .conftest import facts_of

REBUILT = HOST_CHECKS["sendmail_cf_rebuilt"]


@lab_fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The `secure` profile's daemon, started once for this module."""
    server = ReferenceServer("secure", tmp_path_factory.mktemp("running"))
    try:
        server.start()
    except LabError as exc:
        pytest.skip(f"the reference sendmail cannot run here: {exc}")
    try:
        yield server.layout.root
    finally:
        server.stop()


def test_sees_the_daemon_started_after_the_rebuild(running: Path) -> None:
    facts = facts_of(running)
    daemon = facts.daemon
    assert daemon.pid_file == str(Layout(running).pid_file)
    assert abs(daemon.started - time.time()) < 120
    result = REBUILT.run(facts)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert f"the daemon (pid {daemon.pid}) started at" in result.outcome.reason and "after the rebuild" in result.outcome.reason


def test_fails_when_the_cf_was_rebuilt_after_the_daemon_started(running: Path) -> None:
    cf = Layout(running).cf
    before = os.stat(cf)
    later = time.time() + 120
    os.utime(cf, (later, later))  # as if `m4 sendmail.mc > sendmail.cf` ran without a restart
    try:
        result = REBUILT.run(facts_of(running))
    finally:
        os.utime(cf, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert result.verdict is Verdict.FAIL
    (finding,) = result.outcome.findings
    assert finding.startswith("the running sendmail (pid ") and finding.endswith("it still runs the old configuration")
