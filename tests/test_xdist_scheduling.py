"""xdist: hosts are dealt out and probed at once on each worker; users' tests are left to load scheduling,
and a user test that kills its worker is reported once and hangs nothing."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator

import pytest

from pytest_smtpsec.scheduling import HostScheduling, host_scope, own_items, share

SUITES = {"site.toml": True, "smtpsec": False}
IDS = [
    "test_user.py::test_a",
    "site.toml::a.test::smtp::banner_hides_version",
    "site.toml::a.test::tls_protocols",
    "site.toml::b.test::no_mail_service",
    "test_user.py::test_b",
    "site.toml::c.test::smtp::banner_hides_version",
]


def test_only_built_in_items_have_a_host_unit() -> None:
    a, b, c = "site.toml::a.test", "site.toml::b.test", "site.toml::c.test"
    assert [host_scope(i, SUITES) for i in IDS] == [None, a, a, b, None, c]
    assert host_scope("smtpsec::smtp::banner_hides_version", SUITES) == "smtpsec"  # one host: the suite is its unit


def test_hosts_are_dealt_round_robin_and_workers_agree() -> None:
    assert share(IDS, SUITES, "gw0", 2) == ["site.toml::a.test", "site.toml::c.test"]
    assert share(IDS, SUITES, "gw1", 2) == ["site.toml::b.test"]
    assert share(IDS, SUITES, "gw2", 2) == []  # a replacement worker gets hosts only as they are handed to it
    assert own_items(IDS, SUITES, "gw1", 2) == {"site.toml::b.test::no_mail_service"}


def test_pending_work_is_counted_to_three_from_the_newest_host() -> None:
    """xdist compares a worker's pending count with 0 and 2 after every report: counting every host it was dealt
    made 10,000 hosts take 76 s with -n 2; finished hosts leave the workload and the count stops at 3."""
    sched = HostScheduling.__new__(HostScheduling)  # _pending_of reads nothing of the scheduler
    assert sched._pending_of({"a": {"a1": True}, "b": {"b1": False}, "c": {"c1": False, "c2": False, "c3": False}}) == 3
    assert sched._pending_of({"a": {"a1": True, "a2": False}, "b": {"b1": False}}) == 2
    assert sched._pending_of({"a": {"a1": True}}) == 0


CRASHING = """
import os

def test_before():
    pass

def test_crashes_its_worker():
    os._exit(3)

def test_after():
    pass
"""


def test_a_user_test_that_kills_its_worker_is_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=CRASHING)
    ports = [f"--smtpsec-{service}-port=9" for service in ("smtp", "submission", "smtps")]  # refused: quick errors
    result = pytester.runpytest_subprocess("--smtpsec", "--smtpsec-host=127.0.0.1", *ports, "-n", "2", "-p", "no:cacheprovider", timeout=60)
    out = result.stdout.str()
    assert len(re.findall(r"^FAILED test_user.py::test_crashes_its_worker", out, re.MULTILINE)) == 1, out  # was: hangs, 9 reports
    assert "1 failed, 2 passed" in out.splitlines()[-1], out.splitlines()[-1]


def _dropping(address: str, ports: tuple[int, ...]) -> list[socket.socket]:
    """Listeners on ``address`` whose accept queue is full: SYNs to them are dropped, as by a firewall."""
    socks = []
    for port in ports:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(0)
        socks.append(listener)
        for _ in range(2):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((address, port))
            socks.append(filler)
    return socks


HOSTS = 80


@pytest.fixture
def filtered_site(pytester: pytest.Pytester) -> Iterator[None]:
    """``HOSTS`` no-mail hosts whose three ports are all filtered: each costs one timeout (1 s)."""
    subnet = 150 + os.getpid() % 50
    addresses = [f"127.{subnet}.9.{i + 1}" for i in range(HOSTS)]
    socks = [sock for address in addresses for sock in _dropping(address, (25, 587, 465))]
    hosts = "".join(f'[[host]]\nname = "ws{i}.test"\naddress = "{a}"\nrole = "no-mail"\n\n' for i, a in enumerate(addresses))
    pytester.path.joinpath("site.toml").write_text(f"[defaults]\ntimeout = 1\n\n{hosts}")
    time.sleep(0.05)
    yield
    for sock in socks:
        sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="binds ports 25, 465 and 587")
def test_xdist_never_makes_a_site_slower(pytester: pytest.Pytester, filtered_site: None) -> None:
    seconds = {}
    for name, workers in (("serial", []), ("xdist", ["-n", "2"])):
        began = time.monotonic()
        args = ["--smtpsec", "--smtpsec-inventory=site.toml", "-p", "no:cacheprovider", *workers]
        result = pytester.runpytest_subprocess(*args, timeout=120)
        seconds[name] = time.monotonic() - began
        result.assert_outcomes(passed=HOSTS)  # every port dropped: closed
    print(f"{HOSTS} filtered no-mail hosts, timeout 1 s: {seconds}")
    # Serial probes 16 hosts at a time (5 rounds); each worker does the same with its half (3 rounds).
    # Measured with 40 hosts on the 2-core box: serial 3.7 s, xdist 3.4 s (before: 9.7 s and 66 s, each
    # worker probing one host at a time, each port in turn: 40 s a worker here). Starting two workers
    # costs seconds on a busy machine: the bound allows for that, not for probing hosts one by one.
    assert seconds["xdist"] < min(seconds["serial"] + 6, HOSTS / 4), seconds
