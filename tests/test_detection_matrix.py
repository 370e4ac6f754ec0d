"""The detection matrix: the whole suite against every reference profile, compared with the expected table.

Every check passes (or is not applicable) on ``secure`` and fails on the profile it exists to catch;
no other verdict moves. The same table is docs/detection-matrix.md (written by ``scripts/gen-docs``).
"""

from __future__ import annotations

import pytest
from docgen import EXPECTED, MATRIX, REGENERATE, observe, render_matrix

from pytest_smtpsec.checks import CHECKS, Area
from pytest_smtpsec.lab.pool import LabPool


@pytest.fixture(scope="module")
def observed(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return observe(lab, tmp_path_factory.mktemp("matrix"))


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_verdicts_match_the_expected_table(observed: dict[str, dict[str, str]], scenario: str) -> None:
    table = observed[scenario]
    deviations = {item: verdict for item, verdict in table.items() if verdict != "pass"}
    assert deviations == EXPECTED[scenario]


def test_no_check_fails_on_secure_and_every_check_is_caught_somewhere(observed: dict[str, dict[str, str]]) -> None:
    assert set(observed["secure"].values()) == {"pass"}
    caught = {item.split("::")[1] for table in EXPECTED.values() for item, v in table.items() if v in ("fail", "warn")}
    uncaught = set(CHECKS) - caught - FAKE_CAUGHT - DOMAIN_CAUGHT
    assert not uncaught, f"checks never shown to fail on a real misconfigured server: {sorted(uncaught)}"


FAKE_CAUGHT: set[str] = {
    "starttls_no_injection",  # a STARTTLS injection bug: tests/test_hostile_servers.py
    "auth_after_tls",  # AUTH accepting any password: tests/test_hostile_servers.py
}
"""Checks proven to fail elsewhere: on named fake servers, where sendmail cannot show the fault."""
DOMAIN_CAUGHT = {name for name, check in CHECKS.items() if check.area is Area.DOMAIN} | {"secure_on_every_address"}
"""The mail domain's checks: no reference profile has a domain; tests/test_domain_judges.py and
tests/test_domain_lab.py show each one failing. Nor two addresses: tests/test_every_address.py shows
secure_on_every_address failing on a real sendmail behind the second address of a name."""


def test_docs_show_the_expected_table(observed: dict[str, dict[str, str]]) -> None:
    assert MATRIX.read_text() == render_matrix(observed), f"docs/detection-matrix.md is stale; run {REGENERATE}"
