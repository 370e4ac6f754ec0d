"""The domain lab of the tests: the package's (:mod:`pytest_smtpsec.lab.domain`: Knot signs the zones the
tests write, Unbound validates them, an HTTPS server on port 443 serves the MTA-STS policies), and reference
sendmail servers as the MX hosts, each on port 25 of an address of its own. Root only (ports 25 and 443)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from pytest_smtpsec.lab.domain import INSTALL, KNOTD, UNBOUND, DnsLab, Routes, Zone, dns_lab, loopback, policy_server
from pytest_smtpsec.lab.profiles import TLS_NAME
from pytest_smtpsec.lab.server import ReferenceServer
from pytest_smtpsec.lab.target import LabTarget

__all__ = ["INSTALL", "KNOTD", "UNBOUND", "DnsLab", "Routes", "Zone", "dns_lab", "loopback", "mx_server", "policy_server"]


@contextmanager
def mx_server(root: Path, profile: str, name: str = TLS_NAME) -> Iterator[LabTarget]:
    """The reference sendmail as ``profile``, an MX as the world reaches it: port 25 of its own 127.x address,
    its certificate for the MX ``name`` wherever the profile's says ``mail.test`` (so each MX can have its own
    name, and a profile's one fault stays its only one)."""
    server = ReferenceServer(profile, root / profile, address=loopback(), ports={"smtp": 25})
    cert = server.profile.cert
    server.profile = replace(server.profile, cert=replace(cert, names=tuple(name if n == TLS_NAME else n for n in cert.names)))
    with server as running:
        yield running
