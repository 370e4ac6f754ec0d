"""A simulated site of 30 hosts on loopback (real sendmail servers and hosts that must not offer mail),
run from its inventory with and without xdist: the same verdicts, each host's probes done once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_smtpsec.checks import CHECKS
from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.lab.site import SimulatedSite

EXPECTED_FAILURES = {
    "site.toml::mail2.site.test::smtp::requires_starttls_before_auth",  # cleartext-auth
    "site.toml::mail2.site.test::submission::requires_starttls_before_auth",
    "site.toml::mail3.site.test::smtp::certificate_trusted",  # self-signed
    "site.toml::mail3.site.test::submission::certificate_trusted",
    "site.toml::mail3.site.test::smtps::certificate_trusted",
    "site.toml::mail4.site.test::smtp::relay_denied_unauthenticated",  # open-relay
    "site.toml::printer1.site.test::no_mail_service",  # no-mail hosts running sendmail anyway
    "site.toml::printer2.site.test::no_mail_service",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedSite]:
    with SimulatedSite(tmp_path_factory.mktemp("site"), subnet=100 + os.getpid() % 100) as running:
        assert running.size >= 30
        yield running


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_site_verdicts_and_connections(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, site: SimulatedSite, workers: list[str]
) -> None:
    for name, value in site.environ.items():
        monkeypatch.setenv(name, value)
    pytester.path.joinpath("site.toml").write_text(site.inventory.read_text())
    result = pytester.runpytest_subprocess("--smtpsec", "--smtpsec-inventory=site.toml", "-rf", "-p", "no:cacheprovider", *workers)
    failed = set(re.findall(r"^FAILED (\S+)", result.stdout.str(), re.MULTILINE))
    assert failed == EXPECTED_FAILURES
    targets = load_inventory(site.inventory, site.environ)
    items = sum(len(check.places(target)) for target in targets for check in CHECKS.values())
    result.assert_outcomes(failed=len(EXPECTED_FAILURES), passed=items - len(EXPECTED_FAILURES))
    out = result.stdout.str()
    for mail_host in ("mail1", "mail2", "mail3", "mail4"):  # the whole note suite in twelve connections
        assert re.search(rf"^{mail_host}\.site\.test +12 ", out, re.MULTILINE), f"{mail_host}: not 12 connections"
    assert re.search(r"^ws01\.site\.test +3 [- ]*pass[- ]*$", out, re.MULTILINE)  # only the exposure area runs there


def test_site_inventory_reads_like_a_real_one(site: SimulatedSite) -> None:
    text = site.inventory.read_text()
    assert 'role = "no-mail"' in text and f'address = "127.{site.subnet}.2.24"' in text
    assert "password = " not in text  # credentials only by reference to the environment
    assert Path(site.inventory).name == "site.toml"
