"""Starting and stopping Postfix and Exim: PID 1 of a private namespace, stopped by one host pid, nothing left."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plain_smtp import session, starttls, tls_context

from pytest_smtpsec.lab import LabError, LabTarget
from pytest_smtpsec.lab.mta import SERVERS, MtaServer, PostfixServer, server_in, stop
from pytest_smtpsec.lab.mta.jail import Jail
from pytest_smtpsec.lab.mta.server import Instance

from .conftest import TIMING, MtaHome


def _closed(target: LabTarget) -> bool:
    for port in filter(None, target.ports.values()):
        try:
            socket.create_connection((target.host, port), timeout=0.5).close()
        except OSError:
            continue
        return False
    return True


def _nothing_left(jail: Jail) -> None:
    assert jail.members() == []
    assert [line for line in Path("/proc/self/mounts").read_text().splitlines() if jail.root in line] == []


def test_daemon_is_pid_1_of_its_namespace_and_stop_leaves_nothing(mta_home: MtaHome, request: pytest.FixtureRequest) -> None:
    server = mta_home.server("secure")
    began = time.perf_counter()
    target = server.start()
    started = time.perf_counter() - began
    try:
        jail = Jail.load(server.layout.run)
        assert jail is not None and server_in(server.layout.root) == mta_home.mta
        status = Path(f"/proc/{jail.init_pid}/status").read_text()
        assert f"NSpid:\t{jail.init_pid}\t1\n" in status  # the daemon itself, as PID 1 inside
        assert jail.init_pid in server.pids() and len(server.pids()) >= 1
        hostname = subprocess.run(["nsenter", "-t", str(jail.init_pid), "-u", "hostname"], capture_output=True, text=True)
        assert hostname.stdout.strip() == target.tls_name
        # the namespace's /proc, /tmp and /dev mounts are invisible on the host
        assert str(server.rootfs) not in Path("/proc/self/mounts").read_text()
        assert json.loads(server.layout.target.read_text())["ports"] == target.ports
        with session(target, "submission") as c:
            starttls(c, tls_context(target))
            c.login(target.user, target.password)
    finally:
        began = time.perf_counter()
        server.stop()
        stopped = time.perf_counter() - began
    request.node.user_properties += [(TIMING, (f"{mta_home.mta} start", started)), (TIMING, (f"{mta_home.mta} stop", stopped))]
    _nothing_left(jail)
    assert _closed(target) and not server.layout.run.exists()
    server.stop()  # twice is harmless


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout


def test_started_by_one_process_and_stopped_by_another_as_the_cli_does(mta_home: MtaHome) -> None:
    state_dir = str(mta_home.state_dir)
    starter = f"SERVERS[{mta_home.mta!r}]('no-smtps', {state_dir!r}, detached=True)"  # as the CLI's `start`
    line = _python(f"from pytest_smtpsec.lab.mta import SERVERS; print({starter}.start().to_json())")
    target = LabTarget.from_json(line)  # the starter has exited; the daemon lives on
    jail = Jail.load(mta_home.state_dir / "run.json")
    assert jail is not None and jail.alive
    with session(target, "submission") as c:
        starttls(c, tls_context(target))
        c.login(target.user, target.password)
    assert _python(f"from pytest_smtpsec.lab.mta import stop; print(stop({state_dir!r}))").strip() == "True"
    _nothing_left(jail)
    assert _closed(target)
    assert stop(mta_home.state_dir) is False  # nothing recorded any more


def test_the_namespace_dies_with_a_sigkilled_starter(mta_home: MtaHome) -> None:
    """A pytest using an MTA lab killed with SIGKILL leaves no root daemon behind (its lifeline closes)."""
    state_dir = str(mta_home.state_dir)
    code = (
        f"import time; from pytest_smtpsec.lab.mta import SERVERS; s = SERVERS[{mta_home.mta!r}]('no-smtps', {state_dir!r}); "
        "print(s.start().to_json(), flush=True); time.sleep(60)"
    )
    starter = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout
        target = LabTarget.from_json(starter.stdout.readline())
        jail = Jail.load(mta_home.state_dir / "run.json")
        assert jail is not None and jail.alive
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 5
        while (jail.alive or jail.members()) and time.monotonic() < deadline:
            time.sleep(0.05)
        _nothing_left(jail)
        assert _closed(target)
    finally:
        starter.kill()
        starter.wait()
        stop(mta_home.state_dir)  # the record is left behind; nothing runs


def test_stop_needs_no_launcher_and_a_dead_init_takes_the_namespace_with_it(mta_home: MtaHome) -> None:
    """The launcher (unshare) may be gone, e.g. killed with a cancelled CI job: the host pid still stops it.
    And when the init dies, the kernel kills everything else inside (the per-connection children)."""
    server = mta_home.server("secure")
    target = server.start()
    jail = Jail.load(server.layout.run)
    assert jail is not None
    with session(target, "smtp"):  # a live per-connection child inside the namespace
        assert len(jail.members()) >= 2
        os.kill(jail.unshare_pid, signal.SIGKILL)
        time.sleep(0.1)
        assert jail.alive  # setuid exim4 and Postfix's master outlive their launcher...
        assert stop(server.layout.root) is True  # ...and are stopped by their own host pid
    _nothing_left(jail)
    server.stop()


def test_a_second_start_in_the_same_state_dir_is_refused(mta_home: MtaHome) -> None:
    with mta_home.server("secure"), pytest.raises(LabError, match="already running"):
        mta_home.server("open-relay").start()


_CONFIG = {"postfix": "etc/postfix/master.cf", "exim": "etc/exim4/exim4.conf"}
_COMPLAINT = {"postfix": "master.cf: line [0-9]+: bad field count", "exim": "pytest_smtpsec_bogus"}


def test_a_daemon_that_rejects_its_config_fails_start_with_its_own_words(mta_home: MtaHome) -> None:
    real = SERVERS[mta_home.mta]

    def broken_configure(self: MtaServer, instance: Instance) -> None:
        real.configure(self, instance)
        with open(instance.root / _CONFIG[mta_home.mta], "a") as f:
            f.write("pytest_smtpsec_bogus = yes\n")

    broken = type(f"Broken{real.__name__}", (real,), {"configure": broken_configure})
    server = broken("secure", mta_home.state_dir, startup_timeout=5)
    began = time.monotonic()
    with pytest.raises(LabError, match=f"{mta_home.mta} exited with status .* before listening: .*{_COMPLAINT[mta_home.mta]}"):
        server.start()
    assert time.monotonic() - began < 5  # the daemon's exit is noticed at once, not after the timeout
    assert not server.running and not server.layout.run.exists()


@pytest.mark.lab  # start() refuses non-root before it looks at the address
def test_unknown_profile_and_non_loopback_address_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unknown postfix profile 'nope'"):
        PostfixServer("nope", tmp_path)
    with pytest.raises(LabError, match="loopback only"):
        PostfixServer("secure", tmp_path, address="192.0.2.1").start()
