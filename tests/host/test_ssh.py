"""The ssh runner against a real OpenSSH server started here on loopback: own host key, own client key,
own port, key login for root only. The host checks must see over ssh what they see locally.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_smtpsec.host import HOST_CHECKS, HostFacts, SshRunner, runner_for
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.ports import free_port
from pytest_smtpsec.verdict import Verdict

from .conftest import facts_of, paths_of


@pytest.fixture
def ssh_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every ssh command line started while the test runs."""
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        if argv[0] == "ssh":
            calls.append(argv)
        return real(argv, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(subprocess, "run", counting)
    return calls


def test_run_stat_and_read_over_ssh(sshd: str, secure_state: Path) -> None:
    runner = runner_for(sshd)
    assert runner.run(["echo", "a b", "$HOME"]) == (0, "a b $HOME\n", "")
    key = str(Layout(secure_state).server_key)
    stats = runner.stat([key, "/nonexistent"])
    assert stats[key].perm == 0o400 and stats[key].owner == "root" and stats["/nonexistent"].missing
    reads = runner.read([key, "/nonexistent"])
    assert reads[key].data == Layout(secure_state).server_key.read_bytes() and reads["/nonexistent"].missing


def test_the_checks_see_over_ssh_what_they_see_locally(sshd: str, secure_state: Path, ssh_calls: list[list[str]]) -> None:
    remote = HostFacts(runner_for(sshd), paths_of(secure_state))
    local = facts_of(secure_state)
    for name, check in HOST_CHECKS.items():
        there, here = check.run(remote), check.run(local)
        assert there.verdict is here.verdict, (name, there.outcome, here.outcome)
        assert there.target.startswith("ssh://root@127.0.0.1:")
        if name != "sendmail_cf_rebuilt":  # its reason quotes the OS's wording for a missing pid file
            assert there.outcome.reason == here.outcome.reason
    assert len(ssh_calls) <= 5, [c[-1][:60] for c in ssh_calls]


def test_a_broken_copy_fails_over_ssh(sshd: str, broken: Callable[[], Path]) -> None:
    state = broken()
    Layout(state).server_key.chmod(0o644)
    result = HOST_CHECKS["key_files_protected"].run(HostFacts(runner_for(sshd), paths_of(state)))
    assert result.verdict is Verdict.FAIL and "0644" in result.outcome.findings[0]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


def test_a_wrong_host_key_is_an_error_not_a_verdict(sshd: str, secure_state: Path, tmp_path: Path) -> None:
    good = runner_for(sshd)
    assert isinstance(good, SshRunner) and good.known_hosts is not None
    _keygen(tmp_path / "impostor")
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{good.port} {(tmp_path / 'impostor.pub').read_text()}")
    runner = SshRunner(**{**good.__dict__, "known_hosts": str(tmp_path / "known_hosts")})
    facts = HostFacts(runner, paths_of(secure_state))
    results = [check.run(facts) for check in HOST_CHECKS.values()]
    assert {r.verdict for r in results} == {Verdict.ERROR}
    assert "Host key verification failed" in results[0].outcome.reason


def test_nobody_listening_is_an_error(secure_state: Path) -> None:
    runner = SshRunner("127.0.0.1", user="root", port=free_port(), ssh_config="/dev/null", connect_timeout=2)
    result = HOST_CHECKS["sendmail_cf_options"].run(HostFacts(runner, paths_of(secure_state)))
    assert result.verdict is Verdict.ERROR and "Connection refused" in result.outcome.reason
