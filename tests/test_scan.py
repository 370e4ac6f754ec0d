"""The optional sslyze scan (``--smtpsec-scan=sslyze``, sslyze in its own environment) behind tls_protocols and
tls_ciphers, against the real reference sendmail: what the stdlib's OpenSSL 3 cannot ask, the scan can.

The runs against sendmail need an sslyze 6 command: ``sslyze`` on $PATH, or ``SMTPSEC_TEST_SSLYZE=/path/to/sslyze``
(``python3 -m venv /opt/sslyze && /opt/sslyze/bin/pip install sslyze==6.3.1``).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.checks.tls_ciphers import weak_class
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.probe import ProbeError, Probes
from pytest_smtpsec.probe.scan import read_scan, scan_wanted, scanned
from pytest_smtpsec.target import Service, Target
from pytest_smtpsec.verdict import CheckResult, Verdict

SSLYZE = os.environ.get("SMTPSEC_TEST_SSLYZE") or shutil.which("sslyze")
needs_sslyze = pytest.mark.skipif(
    SSLYZE is None,
    reason="no sslyze command: put sslyze 6 on $PATH or name it in $SMTPSEC_TEST_SSLYZE (pip install sslyze==6.3.1 in a venv)",
)


def test_scan_runs_only_when_a_command_is_named() -> None:
    assert not scan_wanted(Target(host="mail.example.org"))
    assert scan_wanted(Target(host="mail.example.org", scan=("sslyze",)))


def test_the_package_never_installs_sslyze_beside_us() -> None:
    """sslyze pins cryptography below what we may use: it is a separate program, never an extra of ours."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    assert not [r for reqs in extras.values() for r in reqs if r.lower().startswith("sslyze")]


def test_a_scan_command_that_does_not_exist_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec-host=127.0.0.1", "--smtpsec-scan=no-such-sslyze-here", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--smtpsec-scan / smtpsec_scan: no such command: no-such-sslyze-here*"])


def _document(status: str = "COMPLETED", **versions: Any) -> dict[str, Any]:
    keys = ["ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1", "tls_1_2", "tls_1_3"]
    results = {
        f"{key}_cipher_suites": versions.get(key)
        or {
            "status": "COMPLETED",
            "result": {"accepted_cipher_suites": [], "rejected_cipher_suites": [{"cipher_suite": {"name": "X"}}] * 3},
        }
        for key in keys
    }
    return {
        "server_scan_results": [{"scan_status": status, "connectivity_error_trace": "Traceback\nConnectionRefused", "scan_result": results}]
    }


def test_sslyze_json_is_read_into_accepted_suites_and_connections() -> None:
    accepted = {
        "status": "COMPLETED",
        "result": {"accepted_cipher_suites": [{"cipher_suite": {"name": "TLS_AES_128_GCM_SHA256"}}], "rejected_cipher_suites": []},
    }
    scan = read_scan(_document(tls_1_3=accepted), Service.SMTPS, "mail.example.org:465")
    assert scan.protocols == ("TLSv1.3",)
    assert scan.suites() == (("TLSv1.3", "TLS_AES_128_GCM_SHA256"),)
    assert scan.connections == 5 * 3 + 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_document(status="ERROR_NO_CONNECTIVITY"), "ConnectionRefused"),
        (_document(tls_1_2={"status": "ERROR", "error_reason": "BUG_IN_SSLYZE", "error_trace": None}), "BUG_IN_SSLYZE"),
        ({"something": "else"}, "unexpected sslyze output"),
    ],
)
def test_a_scan_that_did_not_complete_is_could_not_check(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ProbeError, match=message):
        read_scan(document, Service.SMTPS, "mail.example.org:465")


@pytest.mark.parametrize(
    ("suite", "label"),
    [
        ("TLS_RSA_WITH_NULL_SHA256", "NULL"),
        ("TLS_ECDH_anon_WITH_NULL_SHA", "NULL"),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "anonymous"),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "export"),
        ("SSL_CK_RC4_128_EXPORT40_WITH_MD5", "export"),
        ("TLS_RSA_WITH_RC4_128_SHA", "RC4"),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
        ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "3DES"),
        ("TLS_RSA_WITH_DES_CBC_SHA", "DES"),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
        ("TLS_AES_256_GCM_SHA384", None),
    ],
)
def test_weak_classes_by_iana_name(suite: str, label: str | None) -> None:
    assert weak_class(suite) == label


def _scan_checks(lab: LabPool, profile: str) -> tuple[Probes, dict[str, CheckResult]]:
    assert SSLYZE is not None
    probes = Probes(as_target(lab(profile), scan=(SSLYZE,)))
    results = {name: run_at(CHECKS[name], probes, Service.SMTPS) for name in ("tls_protocols", "tls_ciphers")}
    return probes, results


@pytest.fixture(scope="module")
def secure(lab: LabPool) -> tuple[Probes, dict[str, CheckResult]]:
    return _scan_checks(lab, "secure")


@needs_sslyze
def test_secure_server_passes_the_full_scan(secure: tuple[Probes, dict[str, CheckResult]]) -> None:
    probes, results = secure
    assert results["tls_protocols"].verdict is Verdict.PASS, results["tls_protocols"].outcome
    assert "refuses SSLv2, SSLv3, TLSv1, TLSv1.1 (sslyze scan" in results["tls_protocols"].outcome.reason
    assert results["tls_ciphers"].verdict is Verdict.PASS, results["tls_ciphers"].outcome
    scan = scanned(probes, Service.SMTPS)  # smtps: no SMTP dialogue before each handshake
    assert scan.protocols == ("TLSv1.2", "TLSv1.3")
    assert not [s for _, s in scan.suites() if weak_class(s)]


@needs_sslyze
def test_scan_connections_are_counted_once(secure: tuple[Probes, dict[str, CheckResult]]) -> None:
    probes, _ = secure
    scan = scanned(probes, Service.SMTPS)
    assert scan.connections > 400  # one per suite and protocol: why the scan is opt-in
    assert probes.connections == 1 + scan.connections  # the smtps probe session, then the scan (counted once)


@needs_sslyze
def test_old_tls_fails_with_each_old_version(lab: LabPool) -> None:
    _, results = _scan_checks(lab, "old-tls")
    protocols = results["tls_protocols"]
    assert protocols.verdict is Verdict.FAIL, protocols.outcome
    assert set(protocols.outcome.findings) == {"accepts TLSv1 on smtps", "accepts TLSv1.1 on smtps"}
    assert "sslyze scan of" in protocols.outcome.transcript


@needs_sslyze
def test_weak_ciphers_fail_with_the_suites_named(lab: LabPool) -> None:
    _, results = _scan_checks(lab, "weak-ciphers")
    ciphers = results["tls_ciphers"]
    assert ciphers.verdict is Verdict.FAIL, ciphers.outcome
    assert any(f.startswith("accepts anonymous suite TLS_") for f in ciphers.outcome.findings)
    assert any(f.startswith("accepts NULL suite TLS_") for f in ciphers.outcome.findings)
