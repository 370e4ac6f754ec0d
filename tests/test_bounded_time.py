"""`--smtpsec-timeout` bounds a host whatever DNS or the network do, and Ctrl-C does not wait for it.

Filtered addresses are loopback listeners whose accept queue is full (the kernel then drops SYNs);
the silent resolver is a UDP socket that never answers, made the resolver of a pytest run in a
private mount namespace (`unshare --mount` + a bind-mounted /etc/resolv.conf).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_smtpsec.probe import network
from pytest_smtpsec.probe.errors import ProbeError
from pytest_smtpsec.probe.listening import port_state, port_states

FILTERED = [f"127.0.0.{i}" for i in range(41, 61)]
needs_namespaces = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")


def _dropping(addresses: list[str], port: int = 0) -> tuple[int, list[socket.socket]]:
    """Listeners on ``addresses`` (one port) that never complete a handshake: their queues are full."""
    socks: list[socket.socket] = []
    for address in addresses:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        port = listener.getsockname()[1]
        listener.listen(0)
        socks.append(listener)
        for _ in range(2):  # fill the accept queue; later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((address, port))
            socks.append(filler)
    time.sleep(0.05)
    return port, socks


@pytest.fixture
def filtered() -> Iterator[int]:
    port, socks = _dropping(FILTERED)
    yield port
    for sock in socks:
        sock.close()


def _addresses(hosts: list[str]) -> list[network.Address]:
    return [(socket.AF_INET, (host,)) for host in hosts]


def test_twenty_filtered_addresses_cost_one_timeout(filtered: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "resolve", lambda host, deadline, timeout: _addresses(FILTERED))
    began = time.monotonic()
    with pytest.raises(network.ConnectError, match=r"^no answer from any of 20 addresses within 1 s \(filtered\?\)$"):
        network.connect("many.test", filtered, timeout=1)
    assert time.monotonic() - began < 1.5


def test_a_working_address_after_filtered_ones_is_found(filtered: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.61", filtered)):
        monkeypatch.setattr(network, "resolve", lambda host, deadline, timeout: _addresses([*FILTERED[:3], "127.0.0.61"]))
        began = time.monotonic()
        with network.connect("mixed.test", filtered, timeout=5) as sock:
            assert sock.getpeername() == ("127.0.0.61", filtered)
        assert time.monotonic() - began < 1.5  # the fourth address starts 0.75 s in, not after 3 timeouts


def test_refused_everywhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "resolve", lambda host, deadline, timeout: _addresses(["127.0.0.62", "127.0.0.63"]))
    with pytest.raises(network.ConnectError, match=r"^connection refused"):
        network.connect("closed.test", 9, timeout=2)


def test_the_host_deadline_bounds_every_connection_and_says_so(filtered: int) -> None:
    with network.host_deadline(0.5):
        began = time.monotonic()
        with pytest.raises(network.ConnectError, match=r"before the host's 2 s ran out") as info:
            network.connect(FILTERED[0], filtered, timeout=2)
        assert info.value.cut_short and time.monotonic() - began < 0.8


def test_a_port_wait_cut_short_is_not_closed(filtered: int) -> None:
    """A no-mail host's port that never got its own timeout proves nothing: could not check, not PASS."""
    assert port_state(FILTERED[0], filtered, 0.3).detail == "no answer from it within 0.3 s (dropped)"
    with network.host_deadline(0.1), pytest.raises(ProbeError, match="before the host's 2 s ran out"):
        port_state(FILTERED[0], filtered, 2)


def test_a_lookup_is_shared_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def slow(host: str, *args: object, **kwargs: object) -> list[object]:
        if kwargs.get("flags") == socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "not numeric")
        calls.append(host)
        time.sleep(3)
        return []

    monkeypatch.setattr(network, "_lookups", network._Lookups())
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    began = time.monotonic()
    for _ in range(3):
        with pytest.raises(network.ConnectError, match=r"^name lookup of 'slow.test' gave no answer within 0.2 s"):
            network.resolve("slow.test", time.monotonic() + 0.2, 0.2)
    assert calls == ["slow.test"]  # one lookup thread, however many connections wait for it
    assert time.monotonic() - began < 1


# -- whole runs: a silent resolver in a private mount namespace, Ctrl-C ---------------------------


@pytest.fixture
def silent_resolver(tmp_path: Path) -> Iterator[Path]:
    """A resolv.conf naming a DNS server that never answers, and an /etc/hosts with a 20-address name."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dns:
        for last in range(70, 100):  # one per test: tests may run side by side
            try:
                dns.bind((f"127.0.0.{last}", 53))
                break
            except OSError:
                continue
        (tmp_path / "resolv.conf").write_text(f"nameserver {dns.getsockname()[0]}\n")
        (tmp_path / "hosts").write_text("127.0.0.1 localhost\n" + "".join(f"{a} many.test\n" for a in FILTERED))
        (tmp_path / "run").mkdir()
        yield tmp_path


def _pytest_in_namespace(files: Path, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    mounts = f"mount --bind {files}/resolv.conf /etc/resolv.conf && mount --bind {files}/hosts /etc/hosts"
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{mounts} && exec "$@"', "sh"]
    cmd += [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args]
    began = time.monotonic()
    result = subprocess.run(cmd, cwd=files / "run", capture_output=True, text=True, timeout=timeout, check=False)
    return result, time.monotonic() - began


@pytest.fixture
def startup(silent_resolver: Path) -> float:
    """Seconds a run costs with nothing to wait for (every port refused): pytest's start-up on this box now."""
    ports = [f"--smtpsec-{service}-port=9" for service in ("smtp", "submission", "smtps")]
    return _pytest_in_namespace(silent_resolver, "--smtpsec", "--smtpsec-host=127.0.0.1", *ports, "-q")[1]


@needs_namespaces
@pytest.mark.parametrize("role", ["mail-server", "no-mail"])
def test_a_silent_resolver_costs_one_timeout(silent_resolver: Path, startup: float, role: str) -> None:
    result, seconds = _pytest_in_namespace(
        silent_resolver, "--smtpsec", "--smtpsec-host=mail.silent.test", "--smtpsec-timeout=2", f"--smtpsec-role={role}", "-q"
    )
    assert "name lookup of 'mail.silent.test' gave no answer within 2 s (DNS unreachable?)" in result.stdout, result.stdout[-3000:]
    assert " passed" not in result.stdout.splitlines()[-1]  # nothing is judged closed or secure without an answer
    assert seconds < startup + 2 + 1.5, (startup, seconds)  # one timeout (it was 11.6 s, 32.7 s for no-mail)


@needs_namespaces
def test_a_name_with_twenty_filtered_addresses_costs_one_timeout(silent_resolver: Path, startup: float, filtered: int) -> None:
    ports = [f"--smtpsec-{service}-port={filtered}" for service in ("smtp", "submission", "smtps")]
    result, seconds = _pytest_in_namespace(silent_resolver, "--smtpsec", "--smtpsec-host=many.test", "--smtpsec-timeout=2", *ports, "-q")
    assert "no answer from any of 20 addresses within 2 s (filtered?)" in result.stdout, result.stdout[-3000:]
    assert seconds < startup + 2 + 1.5, (startup, seconds)  # it was 41 s
    result, seconds = _pytest_in_namespace(
        silent_resolver, "--smtpsec", "--smtpsec-host=many.test", "--smtpsec-role=no-mail", "--smtpsec-timeout=2", *ports, "-q"
    )
    assert "1 passed" in result.stdout, result.stdout[-2000:]  # every port dropped: closed
    assert seconds < startup + 2 + 1.5, (startup, seconds)  # it was 121 s


def test_ctrl_c_with_probes_in_flight_exits_at_once(tmp_path: Path) -> None:
    """A silent server and a long timeout: Ctrl-C must not wait for the probes' deadlines."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        args = ["--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-timeout=120"]
        args += [f"--smtpsec-{service}-port={port}" for service in ("smtp", "submission", "smtps")]
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            silent.settimeout(30)
            accepted = [silent.accept()[0] for _ in range(3)]  # every session is waiting for a banner
            proc.send_signal(signal.SIGINT)
            began = time.monotonic()
            out, _ = proc.communicate(timeout=30)
            seconds = time.monotonic() - began
        finally:
            proc.kill()
            proc.wait()
        for conn in accepted:
            conn.close()
    assert "KeyboardInterrupt" in out, out[-2000:]
    assert seconds < 5, seconds  # about 1.3 s here, most of it pytest's own wind-down; it was 87 s


def test_a_port_asked_twice_is_probed_twice() -> None:
    """An inventory may give the same port to two services: each gets its own connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        states = port_states("127.0.0.1", [(port, False), (port, False), (9, False)], 2)
    assert [(s.port, s.open) for s in states] == [(port, True), (port, True), (9, False)]
