"""The Docker entrypoint's path (`serve --no-namespace`), run natively in an imitation container.

The imitation is what a container gives the lab: a writable /etc of its own (an overlay here), its
own /dev, and an unqualified hostname. The host's files must come out unchanged.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from plain_smtp import ehlo, smtp, tls_context

from pytest_smtpsec.lab import LabTarget
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.process import Daemon

from .procs import lab_processes

pytestmark = pytest.mark.lab  # imitating a container needs root (tests/tiers.py)

HOST_FILES = ("/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl/openssl.cnf")


def _container(tmp_path: Path, command: list[str]) -> subprocess.Popen[str]:
    upper, work = tmp_path / "etc-upper", tmp_path / "etc-work"
    upper.mkdir()
    work.mkdir()
    script = "\n".join(
        [
            "set -e",
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc",
            "mount -t tmpfs -o mode=0755 container-dev /dev",
            "mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9",
            "hostname c0ffee123",
            "exec " + shlex.join(command),
        ]
    )
    return subprocess.Popen(
        ["unshare", "--uts", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_no_namespace_in_an_imitated_container(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    host_files = {f: Path(f).read_bytes() for f in HOST_FILES}
    proc = _container(
        tmp_path,
        [
            sys.executable,
            "-m",
            "pytest_smtpsec.lab",
            "serve",
            "--no-namespace",
            "--profile",
            "secure",
            "--state-dir",
            str(state),
            "--timeout",
            "5",
        ],
    )
    try:
        assert proc.stdout and proc.stderr
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        target = LabTarget.from_json(line)
        with smtp(target) as conn:
            assert not [f for f in ehlo(conn) if f.startswith("AUTH")]
            conn.starttls(context=tls_context(target))
            assert "AUTH PLAIN LOGIN" in ehlo(conn)
            assert conn.login(target.user, target.password)[0] == 235
        with smtp(target, "smtps") as conn:
            assert conn.login(target.user, target.password)[0] == 235

        written = tmp_path / "etc-upper"  # what the lab wrote into the container's /etc
        assert "127.0.0.2\tmail.test mail c0ffee123\n" in (written / "hosts").read_text()
        assert "hosts: files" in (written / "nsswitch.conf").read_text()
        assert "MinProtocol = TLSv1.2" in (written / "ssl/openssl.cnf").read_text()
        assert f"sasldb_path: {state}/sasl/sasldb2" in (written / "sasl2/Sendmail.conf").read_text()
        assert {f: Path(f).read_bytes() for f in HOST_FILES} == host_files
        assert not os.path.lexists("/etc/sasl2") and not os.path.lexists("/dev/log")

        daemon = Daemon.load(Layout(state))
        assert daemon
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert lab_processes(state, daemon.pid) == []
        assert "starting daemon (8.17" in (state / "syslog.log").read_text()
    finally:
        proc.kill()
        proc.wait()
