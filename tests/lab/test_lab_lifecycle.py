"""Starting, stopping and failing: the lab leaves no process behind and the host unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from plain_smtp import ehlo, smtp, tls_context

from pytest_smtpsec.lab import LabError, LabTarget, ReferenceServer
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.process import Daemon
from pytest_smtpsec.lab.profiles import ALL
from pytest_smtpsec.lab.server import stop as stop_lab

from .procs import lab_processes

pytestmark = pytest.mark.lab  # starts sendmail itself; needs root (tests/tiers.py)

CLI = [sys.executable, "-m", "pytest_smtpsec.lab"]
HOST_FILES = ["/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl/openssl.cnf", "/etc/hosts.allow"]


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _host_snapshot() -> dict[str, object]:
    """Everything the lab must leave alone (it mounts private copies over some of these)."""

    def tree(top: str) -> dict[str, str]:
        out = {}
        for root, _dirs, files in os.walk(top):
            for f in files:
                p = os.path.join(root, f)
                out[p] = os.readlink(p) if os.path.islink(p) else hashlib.sha256(Path(p).read_bytes()).hexdigest()
        return out

    return {
        "hostname": socket.gethostname(),
        "files": {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in HOST_FILES if os.path.exists(f)},
        "sasl2": tree("/usr/lib/sasl2"),
        "etc_mail": tree("/etc/mail"),
        "dev_log": os.path.lexists("/dev/log"),
        "etc_sasl2": os.path.lexists("/etc/sasl2"),
    }


def _listening(port: int) -> list[str]:
    """Local addresses of listening TCP sockets on `port` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.append(socket.inet_ntoa(bytes.fromhex(addr)[::-1]) if len(addr) == 8 else addr)
    return found


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir whose lab, if any, is stopped after the test whatever happened."""
    path = tmp_path / "state"
    yield path
    stop_lab(path)


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


def test_cli_start_prints_one_json_line_and_stop_leaves_nothing(state_dir: Path) -> None:
    ports = _free_ports(3)
    began = time.perf_counter()
    started = _cli("start", "--profile", "secure", "--state-dir", str(state_dir), "--ports", ",".join(map(str, ports)))
    start_seconds = time.perf_counter() - began
    assert started.returncode == 0, started.stderr
    assert started.stdout.count("\n") == 1
    data = json.loads(started.stdout)
    assert sorted(data) == ["ca_file", "host", "password", "ports", "profile", "tls_name", "user"]
    target = LabTarget.from_json(started.stdout)
    assert list(target.ports.values()) == ports
    assert (target.host, target.user, target.tls_name) == ("127.0.0.1", "alice@mail.test", "mail.test")
    with smtp(target) as conn:  # the daemon outlived the command that started it
        ehlo(conn)
        conn.starttls(context=tls_context(target))
    daemon = Daemon.load(Layout(state_dir))
    assert daemon and daemon.members()

    began = time.perf_counter()
    stopped = _cli("stop", "--state-dir", str(state_dir))
    stop_seconds = time.perf_counter() - began
    assert (stopped.returncode, stopped.stdout, stopped.stderr) == (0, "", "")
    assert lab_processes(state_dir, daemon.pid) == []
    assert not (state_dir / "run.json").exists()
    print(f"CLI start {start_seconds:.2f}s, CLI stop {stop_seconds:.2f}s (each includes a Python start-up)")

    again = _cli("stop", "--state-dir", str(state_dir))
    assert again.returncode == 0 and "no lab was running" in again.stderr


def test_state_dir_mirrors_the_note(tmp_path: Path) -> None:
    with ReferenceServer("secure", tmp_path) as target:
        assert target.ca_file == tmp_path / "cacert.pem"
        modes = {
            p: stat.S_IMODE((tmp_path / p).stat().st_mode)
            for p in (
                "cacert.pem",
                "smtp.pem",
                "smtpc.pem",
                "private",
                "private/smtpkey.pem",
                "private/smtpckey.pem",
                "queue",
                "sasl",
                "sasl/sasldb2",
                "sasl/Sendmail.conf",
            )
        }
        assert modes == {
            "cacert.pem": 0o444,
            "smtp.pem": 0o444,
            "smtpc.pem": 0o444,
            "private": 0o700,
            "private/smtpkey.pem": 0o400,
            "private/smtpckey.pem": 0o400,
            "queue": 0o700,
            "sasl": 0o700,
            "sasl/sasldb2": 0o600,
            "sasl/Sendmail.conf": 0o600,
        }
        assert (tmp_path / "smtp.pem").read_bytes() == (tmp_path / "smtpc.pem").read_bytes()
        assert "confAUTH_OPTIONS', `A p'" in (tmp_path / "sendmail.mc").read_text()
        assert "O AuthOptions=A p" in (tmp_path / "sendmail.cf").read_text()
        assert json.loads((tmp_path / "target.json").read_text())["password"] == target.password
    assert "starting daemon (8.17" in (tmp_path / "syslog.log").read_text()


def test_host_is_untouched_and_only_loopback_listens(tmp_path: Path) -> None:
    before = _host_snapshot()
    with ReferenceServer("old-tls", tmp_path) as target:  # the profile that changes the most
        assert _host_snapshot() == before
        for port in target.ports.values():
            assert port and _listening(port) == ["127.0.0.1"]
    assert _host_snapshot() == before
    written = {p for p in tmp_path.rglob("*")}
    assert all(str(p).startswith(str(tmp_path)) for p in written)


def test_side_by_side_on_distinct_loopback_addresses_with_the_same_ports(tmp_path: Path) -> None:
    ports = dict(zip(("smtp", "submission", "smtps"), _free_ports(3), strict=True))
    with (
        ReferenceServer("secure", tmp_path / "a", address="127.0.0.3", ports=ports) as a,
        ReferenceServer("cleartext-auth", tmp_path / "b", address="127.0.0.4", ports=ports) as b,
    ):
        assert a.ports == b.ports == ports
        with smtp(a) as conn:
            assert not [f for f in ehlo(conn) if f.startswith("AUTH")]
        with smtp(b) as conn:
            assert "AUTH PLAIN LOGIN" in ehlo(conn)
        for target in (a, b):  # checked against the IP this time: the SAN has each lab's own address
            context = ssl.create_default_context(cafile=target.ca_file)
            port = target.ports["smtps"]
            assert port
            with smtplib.SMTP_SSL(target.host, port, context=context, timeout=10) as conn:
                assert conn.login(target.user, target.password)[0] == 235


def test_ipv6_loopback(tmp_path: Path) -> None:
    with ReferenceServer("secure", tmp_path, address="::1") as target:
        port = target.ports["smtps"]
        # ::1 as /proc/net/tcp6 spells it (another lab may use the same port number on 127.0.0.1)
        assert port and "0" * 24 + "01000000" in _listening(port)
        assert "0" * 32 not in _listening(port) and "0.0.0.0" not in _listening(port)
        context = ssl.create_default_context(cafile=target.ca_file)
        with smtplib.SMTP_SSL(target.host, port, context=context, timeout=10) as conn:
            assert conn.login(target.user, target.password)[0] == 235


def test_startup_and_stop_times(
    lab_startup_seconds: dict[str, float], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    for name, seconds in sorted(lab_startup_seconds.items()):
        record_property(f"startup_concurrent_{name}", round(seconds, 3))
    assert max(lab_startup_seconds.values()) < 10
    server = ReferenceServer("secure", tmp_path)
    began = time.perf_counter()
    server.start()
    alone = time.perf_counter() - began
    began = time.perf_counter()
    server.stop()
    stop = time.perf_counter() - began
    record_property("startup_alone_secure", round(alone, 3))
    record_property("stop_secure", round(stop, 3))
    print(
        f"secure alone: start {alone:.3f}s, stop {stop:.3f}s; all {len(lab_startup_seconds)} profiles "
        f"concurrently: slowest start {max(lab_startup_seconds.values()):.3f}s"
    )
    assert alone < 5 and stop < 2


def test_serve_runs_until_sigterm(state_dir: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "serve", "--profile", "no-smtps", "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout
        target = LabTarget.from_json(proc.stdout.readline())
        assert target.ports["smtps"] is None
        with smtp(target, "smtp") as conn:
            assert "STARTTLS" in ehlo(conn)
        daemon = Daemon.load(Layout(state_dir))
        assert daemon
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert lab_processes(state_dir, daemon.pid) == []
    finally:
        proc.kill()
        proc.wait()


def test_failing_test_still_stops_its_lab(pytester: pytest.Pytester, tmp_path: Path) -> None:
    state = tmp_path / "inner-state"
    pytester.makepyfile(
        f"""
        import pytest
        from pytest_smtpsec.lab import ReferenceServer

        @pytest.fixture
        def target():
            with ReferenceServer("secure", {str(state)!r}) as target:
                yield target

        def test_fails(target):
            assert target.ports["smtp"] == -1
        """
    )
    result = pytester.runpytest("-p", "no:smtpsec", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert (state / "sendmail.cf").exists()
    assert lab_processes(state) == []
    assert not (state / "run.json").exists()


class TestErrors:
    def test_port_busy(self, tmp_path: Path) -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(LabError, match=f"^port {port} \\(smtp\\) on 127.0.0.1 is already in use$"):
                ReferenceServer("secure", tmp_path, ports={"smtp": port}).start()
        assert not (tmp_path / "sendmail.cf").exists()

    def test_unusable_state_dir(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("")
        with pytest.raises(LabError, match=r"^refusing state dir .*/file/state: .*/file above it is not a directory"):
            ReferenceServer("secure", tmp_path / "file" / "state").start()

    def test_only_loopback(self, tmp_path: Path) -> None:
        with pytest.raises(LabError, match="loopback only"):
            ReferenceServer("secure", tmp_path, address="0.0.0.0").start()

    def test_daemon_death_is_reported_with_its_log(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_smtpsec.lab.prepare import prepare as real_prepare

        def prepare_without_queue(*args: object, **kwargs: object) -> LabTarget:
            target = real_prepare(*args, **kwargs)  # type: ignore[arg-type]
            shutil.rmtree(tmp_path / "queue")
            return target

        monkeypatch.setattr("pytest_smtpsec.lab.server.prepare", prepare_without_queue)
        server = ReferenceServer("secure", tmp_path)
        with pytest.raises(LabError, match=r"^sendmail exited with status 78 before listening: .*can not chdir"):
            server.start()
        assert lab_processes(tmp_path) == []
        assert not server.running

    def test_startup_timeout_stops_the_daemon(self, tmp_path: Path) -> None:
        with pytest.raises(LabError, match=r"not listening on 127.0.0.1 port\(s\) .* after 0s"):
            ReferenceServer("secure", tmp_path, startup_timeout=0).start()
        assert lab_processes(tmp_path) == []

    def test_second_start_in_the_same_state_dir(self, tmp_path: Path) -> None:
        with ReferenceServer("secure", tmp_path), pytest.raises(LabError, match=r"already running in .* stop it first"):
            ReferenceServer("secure", tmp_path).start()

    def test_cli_errors_are_one_line_exit_2(self, tmp_path: Path) -> None:
        for args in (
            ["start", "--profile", "nope", "--state-dir", str(tmp_path)],
            ["start", "--profile", "secure", "--state-dir", str(tmp_path / "a b")],
            ["start", "--profile", "secure", "--state-dir", str(tmp_path), "--ports", "x"],
            ["serve", "--profile", "secure", "--state-dir", str(tmp_path), "--address", "192.0.2.1"],
        ):
            result = _cli(*args)
            assert result.returncode == 2, args
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
            assert result.stdout == ""

    def test_cli_profiles(self) -> None:
        result = _cli("profiles")
        assert result.returncode == 0
        lines = result.stdout.splitlines()
        assert lines[0] == f"secure\tsendmail,postfix,exim\t{ALL['secure'].models}"
        assert len(lines) == len(ALL) and "mixed-certs\tpostfix,exim\t" in result.stdout  # no server offered that cannot
        assert "relay-local-from\tsendmail\t" in result.stdout
