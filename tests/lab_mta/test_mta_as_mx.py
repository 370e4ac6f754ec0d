"""Real Postfix and Exim as the MX of a published mail domain: signed zones (Knot), a validating resolver
(Unbound), the MTA-STS policy over HTTPS, the MX on port 25 of its own loopback address. The domain checks
judge them as they judge the reference sendmail (tests/test_domain_lab.py): mx_records runs every network
check on the MX as the world reaches it (on the lab's port, --smtpsec-mx-port, since Postfix listens only
on an interface's address and 127.0.0.1:25 may be taken), and MTA-STS reads the certificate it presents."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_domain_lab import verdicts

from pytest_smtpsec.lab import domain
from pytest_smtpsec.lab.mta import SERVERS
from pytest_smtpsec.target import Ports, Target

NAME = "example.test"


@pytest.mark.parametrize("mta", tuple(SERVERS))
def test_a_real_mta_is_judged_as_the_mx_of_a_domain(mta: str, mta_tarballs: object, tmp_path: Path) -> None:
    if not domain.available():
        pytest.skip(f"Knot or Unbound missing: {domain.INSTALL}")
    server = SERVERS[mta]("secure", tmp_path / mta)  # on 127.0.0.1 (Postfix listens only on an interface's address)
    with server as mx:
        routes: domain.Routes = {f"mta-sts.{NAME}": (200, {"Content-Type": "text/plain"}, domain.policy(mx.tls_name))}

        def zones(web: str) -> list[domain.Zone]:
            return [domain.Zone(NAME, domain.good_domain(NAME, mx.tls_name, web)), domain.Zone(mx.tls_name, f"@ IN A {mx.host}\n")]

        (tmp_path / "dns").mkdir()
        with domain.dns_lab(tmp_path / "dns", zones, routes, set(), [mx.ca_file]) as published:
            smtp = mx.ports["smtp"]
            assert smtp is not None
            ports = Ports(smtp, None, None)
            target = Target(
                mx.host, tls_name=mx.tls_name, ports=ports, resolver=published.resolver, ca_file=published.ca_file, mx_port=smtp
            )
            got = verdicts(target, NAME)
    assert got["mx_records"][0] == "pass", got["mx_records"]
    assert f"{mx.tls_name} ({mx.host}): requires_starttls_before_auth" in got["mx_records"][1]
    for check in ("relay_denied_unauthenticated", "certificate_matches_host", "tls_protocols"):
        assert check in got["mx_records"][1]
    assert got["mta_sts_policy"][0] == "pass", got["mta_sts_policy"]
    assert got["dnssec_signed"][0] == "pass", got["dnssec_signed"]
