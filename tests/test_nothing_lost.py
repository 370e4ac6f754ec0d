"""Nothing lost, nothing sent: a full suite run queues no message, and the lab always stops its daemons."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.lab.process import Daemon


def _live(state: Path) -> list[int]:
    daemon = Daemon.load(Layout(state))
    return daemon.members() if daemon else []


@pytest.mark.parametrize("profile", ["secure", "open-relay", "cleartext-auth", "no-auth-relay"])
def test_a_full_suite_run_queues_no_message(pytester: pytest.Pytester, lab: LabPool, monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    target = lab(profile)
    monkeypatch.setenv("SMTPSEC_PASSWORD", target.password)
    pytester.runpytest("--smtpsec", *lab_flags(target), "-p", "no:cacheprovider")
    queue = Path(target.ca_file).parent / "queue"
    assert queue.is_dir()
    assert sorted(p.name for p in queue.iterdir()) == [], "the probes relayed nothing: they never send DATA"


def _wait_for_line(proc: subprocess.Popen[str], text: str, seconds: float = 60) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"never printed {text!r}")


@pytest.mark.lab  # starts the reference sendmail itself
def test_ctrl_c_on_the_acceptance_run_stops_the_lab(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    cmd = [sys.executable, "-m", "pytest_smtpsec.lab", "run", "--profile", "secure", "--state-dir", str(state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_for_line(proc, "reference sendmail")
        assert _live(state)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group, pytest included
        proc.wait(timeout=30)
        assert _live(state) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.lab  # starts the reference sendmail itself
def test_ctrl_c_during_a_session_using_the_fixture_stops_the_lab(pytester: pytest.Pytester, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    pytester.makepyfile(
        f"""
        import pathlib, time

        def test_waits(smtpsec_reference_server):
            target = smtpsec_reference_server("secure")
            pathlib.Path({str(marker)!r}).write_text(str(target.ca_file.parent))
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(pytester.path)],
        cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        state = Path(marker.read_text())
        assert _live(state)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        assert _live(state) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.lab  # starts the reference sendmail itself
def test_a_failing_fixture_still_stops_the_lab(pytester: pytest.Pytester, tmp_path: Path) -> None:
    marker = tmp_path / "state"
    pytester.makepyfile(
        f"""
        import pathlib, pytest

        @pytest.fixture
        def broken(smtpsec_reference_server):
            target = smtpsec_reference_server("cleartext-auth")
            pathlib.Path({str(marker)!r}).write_text(str(target.ca_file.parent))
            raise RuntimeError("a fixture that breaks after starting the lab")

        def test_it(broken):
            pass
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(errors=1)
    assert _live(Path(marker.read_text())) == []
