"""The detection matrix: the whole suite against every reference profile, compared with the expected table.

Every check passes (or is not applicable) on ``secure`` and fails on the profile it exists to catch;
no other verdict moves. The same table is generated into docs/detection-matrix.md:
``SMTPSEC_WRITE_DOCS=1 pytest tests/test_detection_matrix.py`` rewrites it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_smtpsec.checks import CHECKS
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.lab.ports import free_port
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.target import AuthPolicy, Ports, Role, Target

DOCS = Path(__file__).parent.parent / "docs" / "detection-matrix.md"

NO_STARTTLS_SKIPS = {
    f"{service}::{check}": "skip"
    for service in ("smtp", "submission")
    for check in ("starttls_no_injection", "certificate_trusted", "certificate_matches_host", "certificate_valid")
} | {"submission::auth_after_tls": "skip", "submission::relay_allowed_authenticated": "skip", "host::same_certificate_everywhere": "skip"}

SMTPS_AFTER_TLS = (
    "auth_after_tls", "relay_allowed_authenticated", "certificate_trusted", "certificate_matches_host", "certificate_valid",
    "banner_hides_version",
)  # fmt: skip

EXPECTED: dict[str, dict[str, str]] = {
    # scenario: {item: verdict} for every item whose verdict is not "pass"
    "secure": {},
    "cleartext-auth": {
        "smtp::requires_starttls_before_auth": "fail",
        "submission::requires_starttls_before_auth": "fail",
    },
    "cleartext-auth, policy migrate": {
        "smtp::requires_starttls_before_auth": "warn",
        "submission::requires_starttls_before_auth": "warn",
    },
    "no-starttls": {
        "smtp::requires_starttls_before_auth": "fail",
        "submission::requires_starttls_before_auth": "fail",
        **NO_STARTTLS_SKIPS,
    },
    "self-signed": {f"{s}::certificate_trusted": "fail" for s in ("smtp", "submission", "smtps")},
    "wrong-hostname": {f"{s}::certificate_matches_host": "fail" for s in ("smtp", "submission", "smtps")},
    "expired": {f"{s}::certificate_valid": "fail" for s in ("smtp", "submission", "smtps")},
    "weak-key": {f"{s}::certificate_valid": "fail" for s in ("smtp", "submission", "smtps")},
    "old-tls": {"host::tls_protocols": "fail"},
    "open-relay": {"smtp::relay_denied_unauthenticated": "fail"},
    "vrfy-on": {"smtp::vrfy_expn_disabled": "fail", "submission::vrfy_expn_disabled": "fail"},
    "no-smtps": {},
    "submission-open": {"submission::submission_requires_tls": "fail"},
    "no-auth-relay": {f"{s}::relay_allowed_authenticated": "fail" for s in ("submission", "smtps")},
    "default-banner": {f"{s}::banner_hides_version": "warn" for s in ("smtp", "submission", "smtps")},
    "weak-ciphers": {"host::tls_ciphers": "fail"},
    "smtps-cleartext": {
        "smtps::smtps_implicit_tls": "fail",
        # the rest of the smtps port could not be checked: it never spoke TLS
        **{f"smtps::{c}": "error" for c in SMTPS_AFTER_TLS},
    },
    "mixed certificates (smtps from wrong-hostname)": {
        "smtps::certificate_matches_host": "fail",
        "host::same_certificate_everywhere": "fail",
        # two servers, two user databases: this scenario gives no credentials
        **{f"{s}::{c}": "skip" for s in ("submission", "smtps") for c in ("auth_after_tls", "relay_allowed_authenticated")},
    },
    "no-mail host, nothing listening": {},
    "no-mail host, sendmail listening": {"host::no_mail_service": "fail"},
}


PROFILES = [
    "secure", "cleartext-auth", "no-starttls", "self-signed", "wrong-hostname", "expired", "weak-key", "old-tls",
    "open-relay", "vrfy-on", "no-smtps", "submission-open", "no-auth-relay", "default-banner", "weak-ciphers", "smtps-cleartext",
]  # fmt: skip


def _scenarios(lab: LabPool, tmp: Path) -> dict[str, Target]:
    """Every scenario as a Target: real sendmail profiles, and sites put together from them."""
    labs = lab.start(PROFILES)
    targets = {name: as_target(found) for name, found in labs.items()}
    secure, wrong = targets["secure"], targets["wrong-hostname"]
    closed = Ports(free_port(), free_port(), free_port())
    both_cas = tmp / "both-cas.pem"
    both_cas.write_bytes(secure.ca_file.read_bytes() + wrong.ca_file.read_bytes())  # type: ignore[union-attr]
    mixed = replace(secure, ports=replace(secure.ports, smtps=wrong.ports.smtps), ca_file=both_cas, credentials=None)
    return {
        **targets,
        "cleartext-auth, policy migrate": replace(targets["cleartext-auth"], auth_policy=AuthPolicy.MIGRATE),
        "mixed certificates (smtps from wrong-hostname)": mixed,
        "no-mail host, nothing listening": Target(host="127.0.0.1", ports=closed, role=Role.NO_MAIL, timeout=2.0),
        "no-mail host, sendmail listening": replace(secure, role=Role.NO_MAIL),
    }


def verdict_table(target: Target) -> dict[str, str]:
    """``{"<service or host>::<check>": verdict}`` for the whole suite against one target."""
    probes = Probes(target)
    return {
        f"{service.value if service else 'host'}::{check.name}": check.run(probes, service).verdict.value
        for check in CHECKS.values()
        for service in check.applies_to(target)
    }


@pytest.fixture(scope="module")
def observed(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    scenarios = _scenarios(lab, tmp_path_factory.mktemp("matrix"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        tables = pool.map(verdict_table, scenarios.values())
    return dict(zip(scenarios, tables, strict=True))


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_verdicts_match_the_expected_table(observed: dict[str, dict[str, str]], scenario: str) -> None:
    table = observed[scenario]
    deviations = {item: verdict for item, verdict in table.items() if verdict != "pass"}
    assert deviations == EXPECTED[scenario]


def test_no_check_fails_on_secure_and_every_check_is_caught_somewhere(observed: dict[str, dict[str, str]]) -> None:
    assert set(observed["secure"].values()) == {"pass"}
    caught = {item.split("::")[1] for table in EXPECTED.values() for item, v in table.items() if v in ("fail", "warn")}
    uncaught = set(CHECKS) - caught - FAKE_CAUGHT
    assert not uncaught, f"checks never shown to fail on a real misconfigured server: {sorted(uncaught)}"


FAKE_CAUGHT: set[str] = {
    "starttls_no_injection",  # a STARTTLS injection bug: tests/test_hostile_servers.py
    "auth_after_tls",  # AUTH accepting any password: tests/test_hostile_servers.py
}
"""Checks proven to fail elsewhere: on named fake servers, where sendmail cannot show the fault."""


SYMBOLS = {"pass": "pass", "fail": "**FAIL**", "warn": "warn", "skip": "–", "error": "ERROR"}


def render(expected: dict[str, dict[str, str]], observed: dict[str, dict[str, str]]) -> str:
    """The expected table as Markdown; ``observed`` only says where each check runs at all."""
    scenarios = list(expected)
    items = sorted({item for table in observed.values() for item in table}, key=_item_order)
    lines = [
        "# Detection matrix",
        "",
        "Generated by `tests/test_detection_matrix.py` (`SMTPSEC_WRITE_DOCS=1 pytest tests/test_detection_matrix.py`);",
        "the test fails when this page and the expected table disagree, so it cannot rot.",
        "Every column is a real sendmail 8.17 (Debian) started by the lab with that profile, or a site put",
        "together from them. `–` means not applicable (the check says why); an empty cell: the check does not",
        "run there (port off, or the host's role).",
        "",
        "| check | " + " | ".join(scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    for item in items:
        cells = [SYMBOLS[expected[s].get(item, "pass")] if item in observed[s] else "" for s in scenarios]
        lines.append(f"| `{item}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_docs_show_the_expected_table(observed: dict[str, dict[str, str]]) -> None:
    text = render(EXPECTED, observed)
    if os.environ.get("SMTPSEC_WRITE_DOCS"):
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_text(text)
    assert DOCS.read_text() == text, "docs/detection-matrix.md is stale: SMTPSEC_WRITE_DOCS=1 pytest tests/test_detection_matrix.py"


def _item_order(item: str) -> tuple[int, int]:
    service, check = item.split("::")
    return list(CHECKS).index(check), ["smtp", "submission", "smtps", "host"].index(service)
