"""The optional sslyze scan (``pytest-smtpsec[scan]``, ``SMTPSEC_SCAN=1``) behind tls_protocols and tls_ciphers,
against the real reference sendmail: what the stdlib's OpenSSL 3 cannot ask, the scan can."""

from __future__ import annotations

import importlib.util

import pytest

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.checks.tls_ciphers import weak_class
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.probe.scan import SCAN_ENV, scan_wanted, scanned
from pytest_smtpsec.target import Service
from pytest_smtpsec.verdict import CheckResult, Verdict

HAVE_SSLYZE = importlib.util.find_spec("sslyze") is not None
needs_sslyze = pytest.mark.skipif(not HAVE_SSLYZE, reason="sslyze is not installed: pip install 'pytest-smtpsec[scan]' (sslyze==6.3.1)")


def test_scan_runs_only_when_asked_for_and_installed() -> None:
    assert not scan_wanted({})
    assert not scan_wanted({SCAN_ENV: "0"})
    assert scan_wanted({SCAN_ENV: "1"}) is HAVE_SSLYZE


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
    probes = Probes(as_target(lab(profile)))
    with pytest.MonkeyPatch.context() as env:
        env.setenv(SCAN_ENV, "1")
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
