"""Shared fixtures: the real reference sendmail, one server per profile for the whole test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from children import stop
from tiers import lab_fixture, mark_tiers

from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.lab.ports import free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_tiers(items)


@lab_fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPool]:
    """Real sendmail servers by profile name: ``lab("secure")`` -> LabTarget; stopped at session end."""
    with LabPool(tmp_path_factory.mktemp("lab")) as pool:
        yield pool


SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
INSTALL = "apt-get install -y openssh-server"


def keygen(path: Path) -> None:
    """A passphrase-less ed25519 key pair at ``path`` and ``path.pub``."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pytest-smtpsec", "-f", str(path)], check=True, timeout=30)


@lab_fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running sshd on 127.0.0.1; yields the ``ssh://`` URL (with key and known_hosts) to reach it as root."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip(f"OpenSSH server or client missing: {INSTALL}")
    if os.geteuid() != 0:
        pytest.skip("sshd needs root to log users in")
    d = tmp_path_factory.mktemp("sshd")
    keygen(d / "host_key")
    keygen(d / "client_key")
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = free_port()
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
        stop(proc)
        log.close()
