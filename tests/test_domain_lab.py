"""The domain checks against real DNS: Knot signs the zones, Unbound validates them (the AD bit is real),
an HTTPS server serves the MTA-STS policies, and the MX is the reference sendmail. One domain passes
everything; the others break each check in a way a real domain does."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from domain_lab import INSTALL, KNOTD, UNBOUND, DnsLab, Zone, dns_lab
from tiers import lab_fixture

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.domain.tlsa import association
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.probe import Probes, probe_context
from pytest_smtpsec.probe.handshake import try_handshake
from pytest_smtpsec.target import Service, Target

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 604800\r\n"
TEXT = {"Content-Type": "text/plain"}
DOMAIN_CHECKS = [name for name, check in CHECKS.items() if check.area.value == "domain"]


@lab_fixture(scope="module")
def domain(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, DnsLab]]:
    """The reference sendmail as the MX ``mail.test`` of several domains served by the DNS lab."""
    if not (os.path.exists(KNOTD) and os.path.exists(UNBOUND)):
        pytest.skip(f"Knot or Unbound missing: {INSTALL}")
    target = as_target(lab("secure"))
    shown = try_handshake(target, Service.SMTP, probe_context(), "the chain to publish")
    spki = association(shown.chain[0], 1, 1).hex()
    mx = target.host

    def zones(web: str) -> list[Zone]:
        good = (
            "@ IN MX 10 mail.test.\n"
            '@ IN TXT "v=spf1 mx -all"\n'
            '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"\n'
            '_mta-sts IN TXT "v=STSv1; id=20261203"\n'
            '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@good.test"\n'
            f"mta-sts IN A {web}\n"
        )
        broken = (
            "@ IN MX 10 mx.broken.test.\n@ IN MX 20 gone.broken.test.\n"
            f"mx IN A {mx}\n"
            f"_25._tcp.mx IN TLSA 3 1 1 {'ab' * 32}\n"
            '@ IN TXT "v=spf1 mx -all"\n@ IN TXT "v=spf1 +all"\n'
            '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@broken.test"\n'
            '_mta-sts IN TXT "v=STSv1; id=2"\n'
            '_smtp._tls IN TXT "v=TLSRPTv1; rua=http://reports.broken.test/"\n'
            f"mta-sts IN A {web}\n"
        )
        return [
            Zone("good.test", good),
            Zone("mail.test", f"@ IN A {mx}\n_25._tcp IN TLSA 3 1 1 {spki}\n_25._tcp IN TLSA 3 1 1 {'cd' * 32}\n"),
            Zone("broken.test", broken),
            Zone("unsigned.test", good.replace("good.test", "unsigned.test"), signed=False),
            Zone("plain.test", f"@ IN MX 10 mx.plain.test.\nmx IN A {mx}\n_25._tcp.mx IN TLSA 3 1 1 {spki}\n", signed=False),
            Zone("bogus.test", "@ IN MX 10 mail.test.\n", anchor_from="good.test"),
            Zone("badcert.test", good.replace("good.test", "badcert.test")),
            Zone("moved.test", good.replace("good.test", "moved.test").replace("mx -all", "mx ~all")),
        ]

    routes = {
        "mta-sts.good.test": (200, TEXT, POLICY),
        "mta-sts.unsigned.test": (200, TEXT, POLICY),
        "mta-sts.badcert.test": (200, TEXT, POLICY),
        "mta-sts.broken.test": (301, {"Location": "https://elsewhere.test/.well-known/mta-sts.txt"}, b""),
        "mta-sts.moved.test": (200, TEXT, POLICY.replace(b"mail.test", b"mx.moved.test").replace(b"enforce", b"testing")),
    }
    with dns_lab(tmp_path_factory.mktemp("dns"), zones, routes, {"mta-sts.badcert.test"}, target.ca_file or Path()) as running:
        yield replace(target, resolver=running.resolver, ca_file=running.ca_file), running


def verdicts(target: Target, name: str) -> dict[str, tuple[str, str]]:
    """Every domain check on ``name``, as (verdict, reason and findings)."""
    probes = Probes(replace(target, domain=name))
    results = {}
    for check in CHECKS.values():
        if check.area.value == "domain":
            outcome = run_at(check, probes, None).outcome
            results[check.name] = (outcome.verdict.value, " ".join([outcome.reason, *outcome.findings]))
    return results


def test_a_correct_signed_domain_passes_every_check(domain: tuple[Target, DnsLab]) -> None:
    started = time.monotonic()
    got = verdicts(domain[0], "good.test")
    took = time.monotonic() - started
    assert took < 1.0, f"the seven domain checks took {took:.2f} s (about 0.1 s measured)"
    assert {name: v for name, (v, _) in got.items()} == dict.fromkeys(got, "pass"), got
    assert "validated (AD)" in got["dnssec_signed"][1] and "mail.test" in got["dane_tlsa"][1]


def test_a_broken_domain_fails_each_check_with_its_reason(domain: tuple[Target, DnsLab]) -> None:
    got = verdicts(domain[0], "broken.test")
    assert got["mx_records"][0] == "fail" and "gone.broken.test" in got["mx_records"][1]
    assert got["dane_tlsa"][0] == "fail" and "no TLSA record matches" in got["dane_tlsa"][1]
    assert got["spf_record"][0] == "fail" and "2 SPF records" in got["spf_record"][1]
    assert got["dmarc_record"][0] == "warn" and "p=none" in got["dmarc_record"][1]
    assert got["tls_rpt_record"][0] == "fail" and "http://reports" in got["tls_rpt_record"][1]
    assert got["mta_sts_policy"][0] == "fail" and "redirects (HTTP 301" in got["mta_sts_policy"][1]
    assert got["dnssec_signed"][0] == "pass"


def test_unsigned_and_bogus_zones_fail_dnssec(domain: tuple[Target, DnsLab]) -> None:
    unsigned = verdicts(domain[0], "unsigned.test")
    assert unsigned["dnssec_signed"][0] == "fail" and "unsigned.test: insecure" in unsigned["dnssec_signed"][1]
    assert unsigned["mta_sts_policy"][0] == "pass"
    plain = verdicts(domain[0], "plain.test")["dane_tlsa"]
    assert plain[0] == "fail" and "not DNSSEC-validated" in plain[1]  # the right hash, but unsigned: senders ignore it
    bogus = verdicts(domain[0], "bogus.test")
    assert bogus["dnssec_signed"][0] == "fail" and "bogus" in bogus["dnssec_signed"][1]
    assert bogus["mx_records"][0] == "error"  # SERVFAIL for everything: could not check, not a false FAIL


def test_policy_behind_an_untrusted_certificate_or_not_matching_the_mx(domain: tuple[Target, DnsLab]) -> None:
    badcert = verdicts(domain[0], "badcert.test")["mta_sts_policy"]
    assert badcert[0] == "fail" and "certificate is refused" in badcert[1]
    moved = verdicts(domain[0], "moved.test")
    assert moved["mta_sts_policy"][0] == "fail" and "MX mail.test matched by no mx" in moved["mta_sts_policy"][1]
    assert moved["spf_record"][0] == "warn"


def test_a_silent_resolver_is_could_not_check_within_the_timeout(domain: tuple[Target, DnsLab]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        target = replace(domain[0], resolver=("127.0.0.1", silent.getsockname()[1]), timeout=1.5)
        started = time.monotonic()
        got = verdicts(target, "good.test")
        took = time.monotonic() - started
    assert {v for v, _ in got.values()} == {"error"}, got
    assert took < 5, f"{took:.1f} s"


def test_the_plugin_runs_the_domain_checks_only_when_a_domain_is_given(
    pytester: pytest.Pytester, domain: tuple[Target, DnsLab], lab: LabPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = domain[1]
    secure = lab("secure")
    monkeypatch.setenv("SMTPSEC_PASSWORD", secure.password)
    args = ["--smtpsec", *lab_flags(secure), "-p", "no:cacheprovider", f"--smtpsec-ca-file={running.ca_file}"]
    resolver = f"--smtpsec-resolver={running.resolver[0]}:{running.resolver[1]}"
    result = pytester.runpytest(*args, "--smtpsec-domain=good.test", resolver, "-v")
    for name in DOMAIN_CHECKS:
        result.stdout.fnmatch_lines([f"smtpsec::{name} PASSED*"])
    assert result.ret == pytest.ExitCode.OK
    without = pytester.runpytest(*args, resolver, "--collect-only", "-q")
    assert not [line for line in without.stdout.lines if any(name in line for name in DOMAIN_CHECKS)]
