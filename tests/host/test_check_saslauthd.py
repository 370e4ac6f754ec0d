"""saslauthd_running: skipped (with the reason) unless Sendmail.conf uses saslauthd; then a real saslauthd."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from children import stop

from pytest_smtpsec.host import HOST_CHECKS, HostFacts, LocalRunner
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.verdict import CheckResult, Verdict

from .conftest import edit, paths_of

SASLAUTHD = shutil.which("saslauthd") or "/usr/sbin/saslauthd"


def run(state: Path, **paths: str) -> CheckResult:
    return HOST_CHECKS["saslauthd_running"].run(HostFacts(LocalRunner(), paths_of(state, **paths)))


def use_saslauthd(state: Path, run_dir: Path) -> None:
    Layout(state).sasl_conf.write_text(f"pwcheck_method: saslauthd\nsaslauthd_path: {run_dir}/mux\nmech_list: PLAIN LOGIN\n")


@pytest.fixture
def saslauthd(tmp_path: Path) -> Iterator[Path]:
    """A real saslauthd (sasldb backend, one process, foreground) with its socket in a private directory."""
    if not Path(SASLAUTHD).exists():
        pytest.skip("saslauthd not installed (apt-get install sasl2-bin)")
    run_dir = tmp_path / "saslauthd"
    run_dir.mkdir()
    proc = subprocess.Popen(  # its own session: on SIGTERM saslauthd signals its whole process group
        [SASLAUTHD, "-a", "sasldb", "-m", str(run_dir), "-n", "1", "-d"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 5
        while not (run_dir / "mux").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"saslauthd did not create {run_dir}/mux (exit {proc.poll()})")
            time.sleep(0.05)
        yield run_dir
    finally:
        stop(proc)


def test_skips_on_the_secure_profile_saying_why(secure_state: Path) -> None:
    result = run(secure_state)
    assert result.verdict is Verdict.SKIP
    assert result.outcome.reason == f"cannot tell: saslauthd not needed: {Layout(secure_state).sasl_conf} has pwcheck_method: auxprop"


def test_skips_without_a_sendmail_conf(secure_state: Path, tmp_path: Path) -> None:
    result = run(secure_state, sasl_conf=str(tmp_path / "Sendmail.conf"))
    assert result.verdict is Verdict.SKIP and "no Sendmail.conf in" in result.outcome.reason


def test_skips_when_no_plaintext_mechanism_is_offered(broken: Callable[[], Path], tmp_path: Path) -> None:
    state = broken()
    use_saslauthd(state, tmp_path)
    edit(Layout(state).cf, "O AuthMechanisms=PLAIN LOGIN", "O AuthMechanisms=CRAM-MD5 DIGEST-MD5")
    result = run(state)
    assert result.verdict is Verdict.SKIP and "include neither PLAIN nor LOGIN" in result.outcome.reason


def test_fails_when_needed_but_not_running(broken: Callable[[], Path], tmp_path: Path) -> None:
    state = broken()
    use_saslauthd(state, tmp_path)
    result = run(state)
    assert result.verdict is Verdict.FAIL
    assert any(f"but its socket is not there ({tmp_path}/mux)" in f for f in result.outcome.findings)


def test_passes_with_a_running_saslauthd(broken: Callable[[], Path], saslauthd: Path) -> None:
    state = broken()
    use_saslauthd(state, saslauthd)
    result = run(state)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert "saslauthd runs (pid " in result.outcome.reason and f"with its socket at {saslauthd}/mux" in result.outcome.reason
