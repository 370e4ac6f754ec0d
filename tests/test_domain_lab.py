"""The domain checks against real DNS: Knot signs the zones, Unbound validates them (the AD bit is real),
an HTTPS server serves the MTA-STS policies, and the MX is the reference sendmail. One domain passes
everything; the others break each check in a way a real domain does."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from domain_lab import INSTALL, KNOTD, UNBOUND, DnsLab, Zone, dns_lab, loopback, mx_server
from tiers import lab_fixture

from pytest_smtpsec.checks import CHECKS
from pytest_smtpsec.domain.tlsa import association
from pytest_smtpsec.engine import Engine
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.probe import probe_context
from pytest_smtpsec.probe.handshake import try_handshake
from pytest_smtpsec.registry import Registry, builtin_checks
from pytest_smtpsec.target import Service, Target

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 604800\r\n"
TEXT = {"Content-Type": "text/plain"}
MX_CONNECTIONS = 4
"""What one MX costs (measured): its main and extra sessions, and the old-versions and weak-suites handshakes."""
DOMAIN_CHECKS = [name for name, check in CHECKS.items() if check.area.value == "domain"]


MX_PROFILES = {"secure": "mail.test", "self-signed": "selfsigned.mx.test", "open-relay": "relay.mx.test"}
"""The MX hosts: reference sendmail profiles, each on port 25 of its own address, with its certificate's name."""


@lab_fixture(scope="module")
def domain(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, DnsLab]]:
    """The reference sendmail as the MX ``mail.test`` of several domains served by the DNS lab, and
    misconfigured ones as the MX hosts of others, each reached on port 25 as the world reaches an MX."""
    if not (os.path.exists(KNOTD) and os.path.exists(UNBOUND)):
        pytest.skip(f"Knot or Unbound missing: {INSTALL}")
    target = as_target(lab("secure"))
    root = tmp_path_factory.mktemp("mx")
    with ExitStack() as stack:
        servers = {profile: stack.enter_context(mx_server(root, profile, name)) for profile, name in MX_PROFILES.items()}
        secure = servers["secure"]
        shown = try_handshake(as_target(secure), Service.SMTP, probe_context(), "the chain to publish")
        spki = association(shown.chain[0], 1, 1).hex()
        mx = secure.host

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
            hosts = (
                f"selfsigned IN A {servers['self-signed'].host}\nrelay IN A {servers['open-relay'].host}\n"
                f"other IN A {mx}\nclosed IN A {loopback()}\n"
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
                Zone("mx.test", hosts),
                Zone("selfsigned.test", "@ IN MX 10 selfsigned.mx.test.\n"),
                Zone("two.test", "@ IN MX 10 mail.test.\n@ IN MX 20 relay.mx.test.\n"),
                Zone("closed.test", "@ IN MX 10 closed.mx.test.\n"),
                Zone("misnamed.test", "@ IN MX 10 other.mx.test.\n"),
            ]

        routes = {
            "mta-sts.good.test": (200, TEXT, POLICY),
            "mta-sts.unsigned.test": (200, TEXT, POLICY),
            "mta-sts.badcert.test": (200, TEXT, POLICY),
            "mta-sts.broken.test": (301, {"Location": "https://elsewhere.test/.well-known/mta-sts.txt"}, b""),
            "mta-sts.moved.test": (200, TEXT, POLICY.replace(b"mail.test", b"mx.moved.test").replace(b"enforce", b"testing")),
        }
        cas = [target.ca_file or Path(), *(server.ca_file for server in servers.values())]
        running = stack.enter_context(dns_lab(tmp_path_factory.mktemp("dns"), zones, routes, {"mta-sts.badcert.test"}, cas))
        yield replace(target, resolver=running.resolver, ca_file=running.ca_file), running


def verdicts(target: Target, name: str, engine: Engine | None = None) -> dict[str, tuple[str, str]]:
    """Every domain check on ``name``, as (verdict, reason and findings), judged as a run judges them."""
    engine = engine or Engine(Registry(builtin_checks()))
    domain_target = replace(target, domain=name)
    results = {}
    for check in CHECKS.values():
        if check.area.value == "domain":
            outcome = engine.run(check, domain_target, None).outcome
            results[check.name] = (outcome.verdict.value, " ".join([outcome.reason, *outcome.findings]))
    return results


def test_a_correct_signed_domain_passes_every_check(domain: tuple[Target, DnsLab]) -> None:
    started = time.monotonic()
    got = verdicts(domain[0], "good.test")
    took = time.monotonic() - started
    assert took < 1.0, f"the seven domain checks took {took:.2f} s (about 0.1 s measured)"
    assert {name: v for name, (v, _) in got.items()} == dict.fromkeys(got, "pass"), got
    assert "validated (AD)" in got["dnssec_signed"][1] and "mail.test" in got["dane_tlsa"][1]
    assert "mail.test (127." in got["mx_records"][1]
    for name in ("requires_starttls_before_auth", "relay_denied_unauthenticated", "certificate_matches_host", "tls_protocols"):
        assert name in got["mx_records"][1]  # the MX checks it passed, listed


def test_a_domain_is_probed_once_with_few_connections(domain: tuple[Target, DnsLab]) -> None:
    """The policy fetch and the MX's own probe sessions: DANE and MTA-STS read its certificate from them."""
    engine = Engine(Registry(builtin_checks()))
    target = replace(domain[0], domain="good.test")
    verdicts(target, "good.test", engine)
    view = CHECKS["mx_records"].subject(target)
    (mx,) = engine.probes(view).domain().mx_set()
    total, probed = engine.connections(view), engine.connections(view.mx(mx.name, mx.ipv4[0]))
    assert (total, probed) == (1 + MX_CONNECTIONS, MX_CONNECTIONS), (total, probed)  # the policy fetch, and the MX's
    assert verdicts(replace(target, name="another host of good.test"), "good.test", engine)
    assert engine.connections(view) == 1 + MX_CONNECTIONS
    assert engine.connections(view.mx(mx.name, mx.ipv4[0])) == MX_CONNECTIONS  # asked again: nothing new


def test_an_mx_failing_a_network_check_fails_mx_records_naming_it(domain: tuple[Target, DnsLab]) -> None:
    verdict, text = verdicts(domain[0], "selfsigned.test")["mx_records"]
    assert verdict == "fail" and "MX selfsigned.mx.test (127." in text and "): certificate_trusted: " in text
    verdict, text = verdicts(domain[0], "misnamed.test")["mx_records"]  # valid for mail.test, the host's name, not for the MX's
    assert verdict == "fail" and "MX other.mx.test (127." in text and "): certificate_matches_host: " in text


def test_of_two_mx_the_broken_one_is_named(domain: tuple[Target, DnsLab]) -> None:
    verdict, text = verdicts(domain[0], "two.test")["mx_records"]
    assert verdict == "fail" and "MX relay.mx.test (127." in text and "): relay_denied_unauthenticated: " in text
    assert "MX mail.test" not in text


def test_an_mx_refusing_port_25_is_could_not_check(domain: tuple[Target, DnsLab]) -> None:
    got = verdicts(domain[0], "closed.test")
    verdict, text = got["mx_records"]
    assert verdict == "error" and text.startswith("MX closed.mx.test (127.") and "could not check on port 25" in text


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


def test_hosts_sharing_a_domain_check_it_once_even_on_several_workers(
    pytester: pytest.Pytester, domain: tuple[Target, DnsLab], lab: LabPool
) -> None:
    """An inventory's two hosts name one domain: its checks are placed on the first host only, so with -n 2
    (each host on its own worker) the domain is still looked up, probed and reported once."""
    running, secure = domain[1], lab("secure")
    ports = ", ".join(f"{service} = {port}" for service, port in secure.ports.items())
    pytester.makefile(
        ".toml",
        site=f'[defaults]\ndomain = "good.test"\nresolver = "{running.resolver[0]}:{running.resolver[1]}"\n'
        f'ca_file = "{running.ca_file}"\nports = {{ {ports} }}\n'
        f'[[host]]\nname = "a.site.test"\naddress = "{secure.host}"\ntls_name = "mail.test"\n'
        f'[[host]]\nname = "b.site.test"\naddress = "{secure.host}"\ntls_name = "mail.test"\n',
    )
    result = pytester.runpytest_subprocess(
        "--smtpsec", "--smtpsec-inventory=site.toml", "-p", "no:cacheprovider", "-n", "2", "-v", timeout=120
    )
    ran = [line for line in result.stdout.lines if "PASSED" in line and any(f"::{name} " in line for name in DOMAIN_CHECKS)]
    assert len(ran) == len(DOMAIN_CHECKS) and all("site.toml::a.site.test::" in line for line in ran), result.stdout.str()
    result.stdout.fnmatch_lines(["*PASSED site.toml::b.site.test::smtp::tls_protocols*"])  # the second host, its own checks only
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
