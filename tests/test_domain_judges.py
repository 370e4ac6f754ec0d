"""Every branch of the domain checks' judges, from DNS answers built by hand (no network)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import replace

import pytest
import test_judges as recorded
from cryptography.hazmat.primitives.serialization import Encoding

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.domain.tlsa import association
from pytest_smtpsec.engine import Engine
from pytest_smtpsec.lab.pki import CA, KeyType
from pytest_smtpsec.probe import Handshake, Memory, ProbeError, Probes, SessionRecord, Step, TlsInfo, TlsRefused
from pytest_smtpsec.probe.dns import Answer, DomainDns
from pytest_smtpsec.probe.https import PolicyFetch
from pytest_smtpsec.probe.session import Kind, Phase
from pytest_smtpsec.registry import Registry, builtin_checks
from pytest_smtpsec.target import Hardening, Ports, Service, Target
from pytest_smtpsec.verdict import ErrorKind, Verdict

D = "example.test"
TARGET = Target("mail.example.test", domain=D, resolver=("127.0.0.1", 5300))
_CA = CA()
CHAIN = (
    _CA.issue_cert("mail.example.test", key_type=KeyType.EC).certificate.public_bytes(Encoding.DER),
    _CA.certificate.public_bytes(Encoding.DER),
)
"""What the MX presents: a certificate for its name from the CA of the target's CA file (see ``ca_file``)."""


@pytest.fixture(autouse=True, scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    global TARGET
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(_CA.cert_pem.bytes())
    plain, TARGET = TARGET, replace(TARGET, ca_file=path)
    yield
    TARGET = plain


Table = dict[tuple[str, str], Answer]
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
TESTING = POLICY.replace(b"enforce", b"testing")


def answers(**overrides: Answer | None) -> Table:
    """A correct, signed domain; ``overrides`` by 'name TYPE' with dots as '_' replaced (None removes)."""
    found = [
        Answer(D, "MX", ("10 mail.example.test.",), True),
        Answer(D, "TXT", ('"v=spf1 mx -all"', '"other"'), True),
        Answer(D, "DNSKEY", ("257 3 13 AAAA",), True),
        Answer(f"_dmarc.{D}", "TXT", ('"v=DMARC1; p=reject; rua=mailto:d@example.test"',), True),
        Answer(f"_mta-sts.{D}", "TXT", ('"v=STSv1; id=1"',), True),
        Answer(f"_smtp._tls.{D}", "TXT", ('"v=TLSRPTv1; rua=mailto:t@example.test"',), True),
        Answer(f"mta-sts.{D}", "A", ("127.0.0.9",), True),
        Answer(f"mail.{D}", "A", ("127.0.0.25",), True),
        Answer(f"mail.{D}", "AAAA", (), True),
        Answer(f"_25._tcp.mail.{D}", "TLSA", (), True, rcode="NXDOMAIN"),
    ]
    table = {(a.name, a.rdtype): a for a in found}
    for key, value in overrides.items():
        name, rdtype = key.rsplit(" ", 1)
        if value is None:
            table.pop((name, rdtype))
        else:
            table[(name, rdtype)] = value
    return table


class Handshakes(Probes):
    """Recorded probes whose single-purpose TLS questions (old versions, weak suites) are all refused."""

    def handshake(self, service: Service, offer: str, context: ssl.SSLContext) -> Handshake:
        return Handshake(service, offer, False, "alert handshake failure", "")


def mx_probes(name: str = "mail.example.test", address: str = "127.0.0.25", chain: tuple[bytes, ...] = CHAIN, **main: object) -> Probes:
    """The MX as the world reaches it, secure (the recorded sessions of ``test_judges``, on port 25), with the
    main session changed by ``main``; without a ``chain`` no STARTTLS is offered."""
    target = TARGET.mx(name, address)
    tls = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", chain) if chain else None
    session = recorded.main(Service.SMTP, auth=recorded.CLEAR_AUTH, relay=(recorded.relay(Phase.CLEARTEXT, recorded.DENIED),))
    session = replace(session, target=target, tls=tls)
    if not chain:
        session = replace(session, replies={Step.BANNER: session.replies[Step.BANNER], Step.EHLO: recorded.r("250-mail|250 PIPELINING")})
    extra = replace(recorded.extra(Service.SMTP), target=target, tls=tls)
    return Handshakes.recorded(target, [replace(session, **main), extra])  # type: ignore[arg-type]


def judge(
    check: str,
    table: Table,
    *,
    policy: PolicyFetch | None = None,
    chain: tuple[bytes, ...] = CHAIN,
    mx: tuple[Probes, ...] = (),
    memory: Memory | None = None,
) -> tuple[str, str]:
    dns = DomainDns(D, "resolver 127.0.0.1:5300", table)
    probes = Probes.recorded(TARGET, [], domain=dns, peers=mx or (mx_probes(chain=chain),), memory=memory)
    probes._results[("policy", "127.0.0.9")] = policy or PolicyFetch(
        "https://mta-sts.example.test/x", status=200, content_type="text/plain", body=POLICY
    )
    result = run_at(CHECKS[check], probes, None)
    return result.outcome.verdict.value, " ".join([result.outcome.reason, *result.outcome.findings])


def txt(name: str, *texts: str, secure: bool = True) -> Answer:
    return Answer(name, "TXT", tuple(f'"{t}"' for t in texts), secure)


def test_a_correct_domain_passes_everything_but_dane_which_is_not_in_use() -> None:
    for name in ("mx_records", "dnssec_signed", "mta_sts_policy", "tls_rpt_record", "spf_record", "dmarc_record"):
        assert judge(name, answers())[0] == "pass", name
    assert judge("dane_tlsa", answers())[0] == "skip"


def test_domain_checks_place_themselves_only_with_a_domain() -> None:
    domain_checks = [c for c in CHECKS.values() if c.area.value == "domain"]
    assert len(domain_checks) == 7
    assert all(c.places(TARGET) == (None,) for c in domain_checks)
    assert all(c.places(Target("mail.example.test")) == () for c in domain_checks)
    assert not any(c.hardening for c in domain_checks)  # they fail whatever --smtpsec-hardening says (docs/configuration.md)


@pytest.mark.parametrize(
    ("check", "change", "verdict", "says"),
    [
        ("mx_records", {f"{D} MX": Answer(D, "MX", (), True)}, "fail", "no MX records"),
        ("mx_records", {f"{D} MX": Answer(D, "MX", rcode="NXDOMAIN")}, "fail", "does not exist"),
        ("mx_records", {f"{D} MX": Answer(D, "MX", ("0 .",), True)}, "skip", "null MX"),
        ("mx_records", {f"mail.{D} A": Answer(f"mail.{D}", "A", ())}, "fail", "dangling"),
        ("mx_records", {f"mail.{D} A": Answer(f"mail.{D}", "A", ("127.0.0.2",), cname="real.example.test")}, "fail", "CNAME"),
        (
            "mx_records",
            {f"{D} MX": Answer(D, "MX", ("10 192.0.2.1.",)), "192.0.2.1 A": Answer("192.0.2.1", "A", ())},
            "fail",
            "IP literal",
        ),
        ("mx_records", {f"{D} MX": Answer(D, "MX", error="no answer within 3 s")}, "error", "no answer within"),
        ("dnssec_signed", {f"{D} DNSKEY": Answer(D, "DNSKEY", ())}, "fail", "insecure"),
        ("dnssec_signed", {f"{D} DNSKEY": Answer(D, "DNSKEY", error="SERVFAIL", servfail=True)}, "fail", "bogus"),
        ("dnssec_signed", {f"mail.{D} A": Answer(f"mail.{D}", "A", ("127.0.0.25",))}, "fail", "mail.example.test: insecure"),
        ("dnssec_signed", {f"{D} DNSKEY": Answer(D, "DNSKEY", error="no answer within 3 s")}, "error", "no answer"),
        ("dnssec_signed", {f"{D} MX": Answer(D, "MX", error="no answer within 3 s")}, "error", "no answer"),
        ("dnssec_signed", {f"{D} MX": Answer(D, "MX", error="SERVFAIL", servfail=True)}, "fail", "bogus"),
        ("dane_tlsa", {f"{D} MX": Answer(D, "MX", error="no answer within 3 s")}, "error", "no answer"),
        ("mta_sts_policy", {f"{D} MX": Answer(D, "MX", error="no answer within 3 s")}, "error", "no answer"),
        ("spf_record", {f"{D} TXT": txt(D, "hello")}, "fail", "no SPF record"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 -all", "v=spf1 mx -all")}, "fail", "2 SPF records"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 +all")}, "fail", "'+all'"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 mx ?all")}, "fail", "'?all'"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 mx ~all")}, "warn", "softfail"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 mx")}, "warn", "no 'all'"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 " + " ".join(f"include:i{n}.test" for n in range(11)) + " -all")}, "fail", "11 DNS"),
        ("spf_record", {f"{D} TXT": txt(D, "v=spf1 bogus -all")}, "fail", "unknown term"),
        (
            "spf_record",
            {f"{D} TXT": txt(D, "v=spf1 mx include:a.test -all"), "a.test TXT": txt("a.test", "v=spf1 " + "a " * 9 + "~all")},
            "fail",
            "11 DNS-querying terms with its includes",
        ),
        (
            "spf_record",
            {f"{D} TXT": txt(D, "v=spf1 include:a.test -all"), "a.test TXT": txt("a.test", "v=spf1 -all", "v=spf1 a -all")},
            "fail",
            "a.test (included) has 2 SPF records",
        ),
        ("dmarc_record", {f"_dmarc.{D} TXT": txt(f"_dmarc.{D}")}, "fail", "no DMARC"),
        ("dmarc_record", {f"_dmarc.{D} TXT": txt(f"_dmarc.{D}", "v=DMARC1; p=none; rua=mailto:a@b")}, "warn", "p=none"),
        ("dmarc_record", {f"_dmarc.{D} TXT": txt(f"_dmarc.{D}", "v=DMARC1; p=reject")}, "warn", "no rua"),
        ("dmarc_record", {f"_dmarc.{D} TXT": txt(f"_dmarc.{D}", "v=DMARC1; p=x", "v=DMARC1; p=none")}, "fail", "2 DMARC"),
        ("dmarc_record", {f"_dmarc.{D} TXT": txt(f"_dmarc.{D}", "v=DMARC1; p=maybe")}, "fail", "none, quarantine"),
        ("tls_rpt_record", {f"_smtp._tls.{D} TXT": txt(f"_smtp._tls.{D}")}, "warn", "unreported"),
        ("tls_rpt_record", {f"_smtp._tls.{D} TXT": txt(f"_smtp._tls.{D}", "v=TLSRPTv1; rua=http://x")}, "fail", "mailto:address"),
        (
            "tls_rpt_record",
            {f"_smtp._tls.{D} TXT": txt(f"_smtp._tls.{D}", "v=TLSRPTv1; rua=mailto:a@b", "v=TLSRPTv1;")},
            "fail",
            "2 TLS-RPT",
        ),
        ("mta_sts_policy", {f"_mta-sts.{D} TXT": txt(f"_mta-sts.{D}")}, "warn", "no v=STSv1"),
        ("mta_sts_policy", {f"_mta-sts.{D} TXT": txt(f"_mta-sts.{D}", "v=STSv1; id=1", "v=STSv1; id=2")}, "fail", "2 v=STSv1"),
        ("mta_sts_policy", {f"_mta-sts.{D} TXT": txt(f"_mta-sts.{D}", "v=STSv1; id=")}, "fail", "id"),
        ("mta_sts_policy", {f"mta-sts.{D} A": Answer(f"mta-sts.{D}", "A", rcode="NXDOMAIN")}, "fail", "no A record"),
    ],
)
def test_each_way_a_domain_breaks(check: str, change: dict[str, Answer], verdict: str, says: str) -> None:
    got, text = judge(check, answers(**change))
    assert got == verdict and says in text, text


URL = "https://mta-sts.example.test/.well-known/mta-sts.txt"


@pytest.mark.parametrize(
    ("fetch", "verdict", "says"),
    [
        (PolicyFetch(URL, tls_error="unable to get local issuer certificate"), "fail", "certificate is refused"),
        (PolicyFetch(URL, status=301, location="https://elsewhere/"), "fail", "redirects"),
        (PolicyFetch(URL, status=404), "fail", "HTTP 404"),
        (PolicyFetch(URL, status=200, content_type="text/html", body=POLICY), "fail", "text/html"),
        (PolicyFetch(URL, status=200, content_type="text/plain", body=b"mode: enforce\r\n"), "fail", "version: STSv1"),
        (PolicyFetch(URL, status=200, content_type="text/plain", body=POLICY.replace(b"mail.", b"mx.")), "fail", "matched by no mx"),
        (
            PolicyFetch(URL, status=200, content_type="text/plain; charset=utf-8", body=TESTING),
            "warn",
            "testing",
        ),
        (PolicyFetch(URL, status=200, content_type="text/plain", body=POLICY.replace(b"604800", b"3600")), "warn", "under a day"),
    ],
)
def test_each_way_a_policy_breaks(fetch: PolicyFetch, verdict: str, says: str) -> None:
    got, text = judge("mta_sts_policy", answers(), policy=fetch)
    assert got == verdict and says in text, text


class Remembered(dict[str, object]):
    """A memory of earlier runs, like pytest's cache."""

    def get(self, key: str, default: object = None) -> object:
        return super().get(key, default)

    def set(self, key: str, value: object) -> None:
        self[key] = value


def test_a_policy_changed_under_the_same_id_fails_until_the_id_changes() -> None:
    memory = Remembered()
    ok = PolicyFetch(URL, status=200, content_type="text/plain", body=POLICY)
    assert judge("mta_sts_policy", answers(), policy=ok, memory=memory)[0] == "pass"  # the first run remembers it
    assert judge("mta_sts_policy", answers(), policy=ok, memory=memory)[0] == "pass"
    changed = replace(ok, body=POLICY.replace(b"604800", b"1209600"))
    for _ in range(2):  # the finding stays: senders keep the old policy until the id changes
        verdict, text = judge("mta_sts_policy", answers(), policy=changed, memory=memory)
        assert verdict == "fail" and "changed since" in text and "id did not (still id=1)" in text, text
    new_id = answers(**{f"_mta-sts.{D} TXT": txt(f"_mta-sts.{D}", "v=STSv1; id=2")})
    assert judge("mta_sts_policy", new_id, policy=changed, memory=memory)[0] == "pass"
    assert judge("mta_sts_policy", new_id, policy=changed, memory=memory)[0] == "pass"
    assert judge("mta_sts_policy", new_id, policy=ok, memory=None)[0] == "pass"  # no memory (-p no:cacheprovider): not judged


def test_mta_sts_needs_each_mx_to_present_a_certificate_valid_for_its_name() -> None:
    other = CA()
    wrong_name = (other.issue_cert("other.example.test", key_type=KeyType.EC).certificate.public_bytes(Encoding.DER),)
    verdict, text = judge("mta_sts_policy", answers(), chain=wrong_name)
    assert verdict == "fail" and "not trusted" in text
    misnamed = (_CA.issue_cert("other.example.test", key_type=KeyType.EC).certificate.public_bytes(Encoding.DER), CHAIN[1])
    verdict, text = judge("mta_sts_policy", answers(), chain=misnamed)
    assert verdict == "fail" and "not valid for the name mail.example.test" in text
    verdict, text = judge("mta_sts_policy", answers(), chain=())
    assert verdict == "fail" and "no TLS after STARTTLS" in text


def tlsa(*records: str, secure: bool = True) -> dict[str, Answer]:
    return {f"_25._tcp.mail.{D} TLSA": Answer(f"_25._tcp.mail.{D}", "TLSA", records, secure)}


def test_spf_includes_are_counted_and_a_deep_one_makes_the_count_a_lower_bound() -> None:
    included = {f"{D} TXT": txt(D, "v=spf1 mx include:a.test -all"), "a.test TXT": txt("a.test", "v=spf1 a include:b.test -all")}
    verdict, text = judge("spf_record", answers(**included))
    assert verdict == "pass" and "at least 4 lookups" in text
    verdict, text = judge("spf_record", answers(**included, **{"b.test TXT": txt("b.test", "v=spf1 ip4:192.0.2.1 -all")}))
    assert verdict == "pass" and "(4 lookups)" in text


def test_dane() -> None:
    chain = CHAIN
    good = f"3 1 1 {association(chain[0], 1, 1).hex()}"
    other = "3 1 1 " + "01" * 32
    assert judge("dane_tlsa", answers(**tlsa(good)), chain=chain)[0] == "pass"
    assert judge("dane_tlsa", answers(**tlsa(good, other)), chain=chain)[0] == "pass"  # the next key of a rollover
    assert judge("dane_tlsa", answers(**tlsa(f"2 0 2 {association(chain[1], 0, 2).hex()}")), chain=chain)[0] == "pass"
    verdict, text = judge("dane_tlsa", answers(**tlsa(other)), chain=chain)
    assert verdict == "fail" and "no TLSA record matches" in text
    verdict, text = judge("dane_tlsa", answers(**tlsa(good, secure=False)), chain=chain)
    assert verdict == "fail" and "not DNSSEC-validated" in text
    verdict, text = judge("dane_tlsa", answers(**tlsa(good, f"1 1 1 {association(chain[0], 1, 1).hex()}")), chain=chain)
    assert verdict == "warn" and "unusable" in text
    verdict, text = judge("dane_tlsa", answers(**{f"_25._tcp.mail.{D} TLSA": Answer("x", "TLSA", error="SERVFAIL", servfail=True)}))
    assert verdict == "fail" and "DANE senders defer mail" in text
    assert Verdict.ERROR.value == judge("dane_tlsa", answers(**{f"_25._tcp.mail.{D} TLSA": Answer("x", "TLSA", error="late")}))[0]


# -- mx_records: each MX host judged by the network checks, as the world reaches it --------------------


def mx_answers(*hosts: tuple[str, str]) -> Table:
    """The correct domain with these MX hosts (name, IPv4 address), by preference."""
    mx = Answer(D, "MX", tuple(f"{10 * (i + 1)} {name}." for i, (name, _) in enumerate(hosts)), True)
    table = answers(**{f"{D} MX": mx})
    for name, address in hosts:
        table[(name, "A")] = Answer(name, "A", (address,), True)
        table[(name, "AAAA")] = Answer(name, "AAAA", (), True)
    return table


def unreachable(name: str, address: str) -> Probes:
    """An MX whose port 25 refuses connections: every session ends at connect."""
    target = TARGET.mx(name, address)
    error = ProbeError(f"{address}:25", "connect", "connection refused")
    sessions = [SessionRecord(target, Service.SMTP, {}, None, "", error=error, kind=kind) for kind in (Kind.MAIN, Kind.EXTRA)]
    return Handshakes.recorded(target, sessions)


def test_mx_records_lists_what_each_mx_passed() -> None:
    verdict, text = judge("mx_records", answers())
    assert verdict == "pass" and "mail.example.test (127.0.0.25): requires_starttls_before_auth, starttls_no_injection" in text
    assert "certificate_matches_host" in text and "relay_denied_unauthenticated" in text


def test_mx_records_fails_an_mx_whose_certificate_is_not_for_its_mx_name() -> None:
    misnamed = (_CA.issue_cert("mail.other.test", key_type=KeyType.EC).certificate.public_bytes(Encoding.DER), CHAIN[1])
    verdict, text = judge("mx_records", answers(), mx=(mx_probes(chain=misnamed),))
    assert verdict == "fail" and "MX mail.example.test (127.0.0.25): certificate_matches_host:" in text


def test_mx_records_names_the_broken_one_of_two_mx() -> None:
    relaying = (recorded.relay(Phase.CLEARTEXT, recorded.OK),)
    hosts = (mx_probes(), mx_probes("mx2.example.test", "127.0.0.26", relay=relaying))
    verdict, text = judge("mx_records", mx_answers(("mail.example.test", "127.0.0.25"), ("mx2.example.test", "127.0.0.26")), mx=hosts)
    assert verdict == "fail" and "MX mx2.example.test (127.0.0.26): relay_denied_unauthenticated:" in text
    assert "mail.example.test (127.0.0.25)" not in text


def test_an_mx_that_cannot_be_reached_is_could_not_check_never_pass_nor_fail() -> None:
    hosts = (mx_probes(), unreachable("mx2.example.test", "127.0.0.26"))
    table = mx_answers(("mail.example.test", "127.0.0.25"), ("mx2.example.test", "127.0.0.26"))
    probes = Probes.recorded(TARGET, [], domain=DomainDns(D, "resolver", table), peers=hosts)
    outcome = run_at(CHECKS["mx_records"], probes, None).outcome
    assert outcome.verdict is Verdict.ERROR and outcome.error is ErrorKind.UNREACHABLE
    assert outcome.reason.startswith("MX mx2.example.test (127.0.0.26): could not check on port 25: ") and "refused" in outcome.reason
    relaying = (recorded.relay(Phase.CLEARTEXT, recorded.OK),)
    verdict, text = judge("mx_records", table, mx=(mx_probes(relay=relaying), hosts[1]))  # a failure still fails, the error listed
    assert verdict == "fail" and text.index("relay_denied_unauthenticated") < text.index("could not check")


def test_mx_hardening_findings_follow_the_hardening_rule() -> None:
    banner = {Step.BANNER: recorded.r("220 mail.test ESMTP Sendmail 8.17.1/8.17.1"), Step.EHLO: recorded.EHLO}
    session = recorded.main(Service.SMTP)
    verdict, text = judge("mx_records", answers(), mx=(mx_probes(replies={**session.replies, **banner}),))
    assert verdict == "warn" and "banner_hides_version" in text


def test_mx_records_probes_the_first_address_of_each_family() -> None:
    table = answers(**{f"mail.{D} AAAA": Answer(f"mail.{D}", "AAAA", ("::1", "::2"), True)})
    table[(f"mail.{D}", "A")] = Answer(f"mail.{D}", "A", ("127.0.0.25", "127.0.0.24"), True)
    verdict, text = judge("mx_records", table, mx=(mx_probes(), mx_probes(address="::1")))
    assert verdict == "pass" and "mail.example.test (127.0.0.25)" in text and "mail.example.test (::1)" in text
    assert "127.0.0.24" not in text and "::2" not in text


def test_the_mx_handshake_is_read_from_the_mx_session() -> None:
    probes = Probes.recorded(TARGET, [], peers=(mx_probes(),))
    shown = probes.mx_handshake("mail.example.test", "127.0.0.25")
    assert shown.accepted and shown.chain == CHAIN and probes.connections == 0
    refused = TlsRefused("127.0.0.25:25", "starttls", "alert handshake failure")
    broken = Probes.recorded(TARGET, [], peers=(mx_probes(chain=(), error=refused),))
    assert not broken.mx_handshake("mail.example.test", "127.0.0.25").accepted
    with pytest.raises(ProbeError, match="connect"):
        Probes.recorded(TARGET, [], peers=(unreachable("mail.example.test", "127.0.0.25"),)).mx_handshake("mail.example.test", "127.0.0.25")


def test_mx_targets_are_the_worlds_view() -> None:
    mx = replace(TARGET, mx_port=2525, hardening=Hardening.FAIL).mx("mx.example.test", "192.0.2.7")
    assert (mx.host, mx.tls_name, mx.services, mx.credentials, mx.domain) == ("192.0.2.7", "mx.example.test", (Service.SMTP,), None, "")
    assert mx.port(Service.SMTP) == 2525 and not mx.takes_logins(Service.SMTP) and mx.hardening is Hardening.FAIL


def test_hosts_that_share_a_domain_share_its_probes_and_report_it_once() -> None:
    a, b = Target("a.example.test", domain=D), Target("b.example.test", domain=D, ports=Ports(25, None, None))
    other = replace(b, name="c.example.test", resolver=("127.0.0.1", 5353))
    engine = Engine(Registry(builtin_checks()), [a, b, other])
    mx = CHECKS["mx_records"]
    assert (engine.places(mx, a), engine.places(mx, b), engine.places(mx, other)) == ((None,), (), (None,))
    assert engine.places(CHECKS["tls_protocols"], b) == (Service.SMTP,)  # a host's own checks stay its own
    assert engine.probes(mx.subject(a)) is engine.probes(mx.subject(b)) is not engine.probes(mx.subject(other))
    engine._probes[mx.subject(a)] = Probes.recorded(mx.subject(a), [], domain=DomainDns(D, "r", answers()), peers=(mx_probes(),))
    assert engine.run(mx, b, None) is engine.run(mx, a, None) and engine.run(mx, a, None).target == D
