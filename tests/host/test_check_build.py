"""sendmail_has_starttls_and_sasl: the real binary passes; a binary built without STARTTLS or SASL fails."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_smtpsec.host import HOST_CHECKS, HostFacts, HostPaths, LocalRunner
from pytest_smtpsec.host.build_info import parse_build
from pytest_smtpsec.verdict import Verdict

CHECK = HOST_CHECKS["sendmail_has_starttls_and_sasl"]

NOTE_OUTPUT = """\
Version 8.13.8
Compiled with: DNSMAP HESIOD HES_GETMAILHOST LDAPMAP LOG
MATCHGECOS MILTER MIME7TO8 MIME8TO7 NAMED_BIND
NEWDB PIPELINING SASLv2 SCANF STARTTLS
...etc.
"""


def fake_sendmail(tmp_path: Path, flags: str, then: str = "") -> str:
    """A `sendmail` that prints a version and a Compiled-with list, like `sendmail -d0.1 -bv root`."""
    path = tmp_path / "sendmail"
    path.write_text(f'#!/bin/sh\necho "Version 8.18.1"\necho " Compiled with: {flags}"\necho\n{then}\n')
    path.chmod(0o755)
    return str(path)


def run(sendmail: str) -> tuple[Verdict, tuple[str, ...], str]:
    result = CHECK.run(HostFacts(LocalRunner(), HostPaths(sendmail=sendmail)))
    return result.verdict, result.outcome.findings, result.outcome.reason


def test_parses_the_notes_output() -> None:
    build = parse_build(NOTE_OUTPUT)
    assert build is not None and build.version == "8.13.8"
    assert {"STARTTLS", "SASLv2", "NEWDB", "DNSMAP"} <= build.compiled_with and "...etc." not in build.compiled_with
    assert parse_build("sendmail: unknown option\n") is None


def test_the_installed_sendmail_passes() -> None:
    if not os.access("/usr/sbin/sendmail", os.X_OK):
        pytest.skip("no /usr/sbin/sendmail here")
    verdict, _, reason = run("/usr/sbin/sendmail")
    assert verdict is Verdict.PASS, reason
    assert "compiled with STARTTLS and SASLv2" in reason


def test_fails_without_starttls(tmp_path: Path) -> None:
    verdict, findings, _ = run(fake_sendmail(tmp_path, "DNSMAP LOG MILTER NEWDB=5.3 PIPELINING SASLv2"))
    assert verdict is Verdict.FAIL
    assert "sendmail 8.18.1) was compiled without STARTTLS" in findings[0]
    assert findings[-1] == "Compiled with: DNSMAP LOG MILTER NEWDB PIPELINING SASLv2"


def test_fails_without_sasl(tmp_path: Path) -> None:
    verdict, findings, _ = run(fake_sendmail(tmp_path, "DNSMAP LOG PIPELINING STARTTLS"))
    assert verdict is Verdict.FAIL and "without SASL" in findings[0]


def test_a_missing_binary_skips_and_says_so(tmp_path: Path) -> None:
    verdict, _, reason = run(str(tmp_path / "no-sendmail"))
    assert verdict is Verdict.SKIP
    assert reason.startswith("cannot tell:") and "no-sendmail" in reason and "not found" in reason


def test_stops_reading_once_the_list_is_out(tmp_path: Path) -> None:
    """sendmail sleeps 60 s after the list when the host's own name is unqualified; we do not wait."""
    pid_file = tmp_path / "pid"
    binary = fake_sendmail(tmp_path, "STARTTLS SASLv2", then=f"echo $$ > {pid_file}; exec sleep 30")
    started = time.monotonic()
    verdict, _, reason = run(binary)
    assert verdict is Verdict.PASS, reason
    assert time.monotonic() - started < 5
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
