"""The domain probes without root or a DNS lab: a silent resolver, and the policy fetch against a local HTTPS server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from domain_lab import Routes, policy_server

from pytest_smtpsec.lab.pki import CA
from pytest_smtpsec.probe import ProbeError
from pytest_smtpsec.probe.dns import lookup_domain
from pytest_smtpsec.probe.https import fetch_policy
from pytest_smtpsec.target import Target

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 604800\r\n"


def test_a_silent_resolver_gives_an_error_per_question_within_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        target = Target("mail.test", domain="good.test", resolver=("127.0.0.1", silent.getsockname()[1]), timeout=1.0)
        started = time.monotonic()
        found = lookup_domain(target)
        took = time.monotonic() - started
    assert took < 2.0
    assert found.answers and all(answer.error.startswith("no answer within") for answer in found.answers.values())
    with pytest.raises(ProbeError, match=r"\[dns\]: MX good.test: no answer"):
        found.mx_hosts()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    ca = CA("policy CA")
    root = tmp_path_factory.mktemp("web")
    (root / "ca.pem").write_bytes(ca.cert_pem.bytes())
    routes: Routes = {
        "mta-sts.good.test": (200, {"Content-Type": "text/plain"}, POLICY),
        "mta-sts.moved.test": (302, {"Location": "https://elsewhere.test/"}, b""),
        "mta-sts.other.test": (200, {"Content-Type": "text/plain"}, POLICY),
    }
    with policy_server(root, ca, routes, {"mta-sts.other.test"}, address="127.0.0.1", port=0) as (address, port):
        yield address, port, root / "ca.pem"


def test_the_policy_fetch(web: tuple[str, int, Path]) -> None:
    address, port, ca_file = web
    good = fetch_policy(Target("mail.test", domain="good.test", ca_file=ca_file), address, port=port)
    assert (good.status, good.content_type, good.body, good.tls_error) == (200, "text/plain", POLICY, "")
    moved = fetch_policy(Target("mail.test", domain="moved.test", ca_file=ca_file), address, port=port)
    assert (moved.status, moved.location) == (302, "https://elsewhere.test/")
    other = fetch_policy(Target("mail.test", domain="other.test", ca_file=ca_file), address, port=port)
    assert "certificate" in other.tls_error
    system = fetch_policy(Target("mail.test", domain="good.test"), address, port=port)
    assert system.tls_error  # the test CA is not in the system store


def test_a_closed_policy_port_is_could_not_check() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ProbeError, match=r"\[connect\]"):
        fetch_policy(Target("mail.test", domain="good.test", timeout=1.0), "127.0.0.1", port=port)
