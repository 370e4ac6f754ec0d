"""The lab's command line drives Postfix and Exim like sendmail: `--server postfix|exim`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_smtpsec.lab import LabTarget
from pytest_smtpsec.lab.mta import server_in

CLI = [sys.executable, "-m", "pytest_smtpsec.lab"]


@pytest.mark.usefixtures("mta_tarballs")
@pytest.mark.parametrize(("mta", "profile", "status"), [("postfix", "secure", 0), ("exim", "cleartext-auth", 1)])
def test_run_gives_the_suites_verdict(mta: str, profile: str, status: int) -> None:
    result = subprocess.run([*CLI, "run", "--server", mta, "--profile", profile, "--", "-q"], capture_output=True, text=True, timeout=180)
    assert result.returncode == status, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"reference {mta}, profile '{profile}'" in result.stdout


@pytest.mark.usefixtures("mta_tarballs")
def test_start_prints_the_target_and_stop_stops_it(tmp_path: Path) -> None:
    state = tmp_path / "exim"
    started = subprocess.run([*CLI, "start", "--server", "exim", "--profile", "secure", "--state-dir", str(state)],
                             capture_output=True, text=True, timeout=180)  # fmt: skip
    assert started.returncode == 0, started.stderr
    target = LabTarget.from_json(started.stdout.strip().splitlines()[-1])
    assert target.profile == "secure" and server_in(state) == "exim"
    stopped = subprocess.run([*CLI, "stop", "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and stopped.stderr == ""


def test_no_namespace_is_refused_for_postfix(tmp_path: Path) -> None:
    result = subprocess.run([*CLI, "start", "--server", "postfix", "--profile", "secure", "--state-dir", str(tmp_path), "--no-namespace"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "--no-namespace is for the sendmail image only" in result.stderr
