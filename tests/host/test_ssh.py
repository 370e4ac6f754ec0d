"""The ssh runner against a real OpenSSH server started here on loopback: own host key, own client key,
own port, key login for root only. The host checks must see over ssh what they see locally.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_smtpsec.host import HOST_CHECKS, HostFacts, SshRunner, runner_for
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.verdict import Verdict

from .conftest import facts_of, paths_of

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
INSTALL = "apt-get install -y openssh-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pytest-smtpsec", "-f", str(path)], check=True, timeout=30)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running sshd on 127.0.0.1; yields the ``ssh://`` URL (with key and known_hosts) to reach it as root."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip(f"OpenSSH server or client missing: {INSTALL}")
    if os.geteuid() != 0:
        pytest.skip("sshd needs root to log users in")
    d = tmp_path_factory.mktemp("sshd")
    _keygen(d / "host_key")
    _keygen(d / "client_key")
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = _free_port()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nLogLevel ERROR\n"  # StrictModes: the keys live under /tmp (world-writable)
    )
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd refuses to start without its privsep dir
    check = subprocess.run([SSHD, "-t", "-f", str(d / "sshd_config")], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        pytest.fail(f"sshd -t: {check.stderr.strip()}")
    log = open(d / "sshd.log", "w")  # noqa: SIM115 - closed below, after sshd has stopped
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sshd did not listen on {port}: {(d / 'sshd.log').read_text()}")
                time.sleep(0.05)
        yield (
            f"ssh://root@127.0.0.1:{port}?identity_file={d}/client_key&known_hosts={d}/known_hosts"
            "&strict_host_key_checking=yes&ssh_config=/dev/null&connect_timeout=5"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
    runner = SshRunner("127.0.0.1", user="root", port=_free_port(), ssh_config="/dev/null", connect_timeout=2)
    result = HOST_CHECKS["sendmail_cf_options"].run(HostFacts(runner, paths_of(secure_state)))
    assert result.verdict is Verdict.ERROR and "Connection refused" in result.outcome.reason
