"""The domain package's pure parsers and judges: MTA-STS, TLS-RPT, SPF, DMARC, TLSA (no network)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pytest_smtpsec.domain.dmarc import DmarcError, dmarc_records, parse_dmarc
from pytest_smtpsec.domain.mta_sts import MAX_AGE_LIMIT, Mode, PolicyError, mx_matches, parse_policy, parse_txt, sts_records, unmatched
from pytest_smtpsec.domain.spf import SpfError, parse_spf, spf_records
from pytest_smtpsec.domain.tls_rpt import RecordError, parse_tls_rpt, tls_rpt_records
from pytest_smtpsec.domain.tlsa import Tlsa, association, judge_tlsa, matches
from pytest_smtpsec.lab.pki import CA, KeyType

GOOD = b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.example.net\r\nmax_age: 604800\r\n"


def test_a_good_policy_parses() -> None:
    policy = parse_policy(GOOD)
    assert policy.mode is Mode.ENFORCE and policy.max_age == 604800
    assert policy.mx == ("mail.example.org", "*.example.net")


def test_lf_only_lines_are_tolerated() -> None:
    assert parse_policy(GOOD.replace(b"\r\n", b"\n")).mode is Mode.ENFORCE


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"mode: enforce\r\nversion: STSv1\r\nmx: a.example\r\nmax_age: 86400\r\n", "first line"),
        (b"version: STSv1\r\nmode: strict\r\nmx: a.example\r\nmax_age: 86400\r\n", "mode must be"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: a.example\r\n", "exactly one 'max_age:'"),
        (b"version: STSv1\r\nmode: enforce\r\nmode: testing\r\nmx: a.example\r\nmax_age: 1\r\n", "exactly one 'mode:'"),
        (b"version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n", "at least one 'mx:'"),
        (f"version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: {MAX_AGE_LIMIT + 1}\r\n".encode(), "over the limit"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: -5\r\n", "number of seconds"),
        (b"version: STSv1\r\nmode: enforce\r\nmx: a..example\r\nmax_age: 86400\r\n", "not an mx pattern"),
        (b"version: STSv1\r\nmode: enforce\r\njunk\r\nmax_age: 86400\r\n", "not 'key: value'"),
        (b"version: STSv1\r\n" + b"x: " + b"y" * 70000 + b"\r\n", "64 KiB"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_policy_is_refused(body: bytes, says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        parse_policy(body)


def test_mode_none_needs_no_mx() -> None:
    assert parse_policy(b"version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n").mx == ()


@pytest.mark.parametrize(
    ("pattern", "host", "ok"),
    [
        ("mail.example.org", "mail.example.org", True),
        ("mail.example.org", "MAIL.example.org.", True),
        ("mail.example.org", "mx.example.org", False),
        ("*.example.org", "mx1.example.org", True),
        ("*.example.org", "a.b.example.org", False),
        ("*.example.org", "example.org", False),
    ],
)
def test_mx_patterns(pattern: str, host: str, ok: bool) -> None:
    assert mx_matches(pattern, host) is ok


def test_unmatched_lists_the_mx_no_pattern_allows() -> None:
    assert unmatched(parse_policy(GOOD), ["mail.example.org", "mx.example.org", "a.example.net"]) == ["mx.example.org"]


def test_sts_txt() -> None:
    assert parse_txt("v=STSv1; id=20260101T000000;").id == "20260101T000000"
    assert sts_records(["v=spf1 -all", "v=STSv1; id=1"]) == ["v=STSv1; id=1"]
    for bad, says in (("v=STSv1;", "no id"), ("v=STSv1; id=a-b", "letters and digits"), ("v=STSv2; id=1", "v=STSv1")):
        with pytest.raises(PolicyError, match=says):
            parse_txt(bad)


def test_tls_rpt() -> None:
    assert parse_tls_rpt("v=TLSRPTv1; rua=mailto:tls@example.org,https://r.example.org/x").rua == (
        "mailto:tls@example.org",
        "https://r.example.org/x",
    )
    assert tls_rpt_records(["v=TLSRPTv1; rua=mailto:a@b", "other"]) == ["v=TLSRPTv1; rua=mailto:a@b"]
    for bad, says in (("v=TLSRPTv1;", "no rua"), ("v=TLSRPTv1; rua=http://x", "mailto:address or https"), ("v=TLSRPTv2", "v=TLSRPTv1")):
        with pytest.raises(RecordError, match=says):
            parse_tls_rpt(bad)


def test_spf() -> None:
    assert spf_records(["v=spf1 -all", "v=spf10", "hello", "v=spf1"]) == ["v=spf1 -all", "v=spf1"]
    spf = parse_spf("v=spf1 mx a:x.example ip4:192.0.2.0/24 include:_spf.example.org exists:%{i}.x ptr -all")
    assert (spf.all, spf.lookups, spf.redirect) == ("-", 5, False)
    assert parse_spf("v=spf1 +all").all == "+"
    assert parse_spf("v=spf1 all").all == "+"
    assert parse_spf("v=spf1 ~all").all == "~"
    assert parse_spf("v=spf1 redirect=_spf.example.org") == parse_spf("v=spf1 redirect=_spf.example.org")
    assert parse_spf("v=spf1 redirect=_spf.example.org").lookups == 1 and parse_spf("v=spf1 redirect=x").all == ""
    with pytest.raises(SpfError, match="unknown term"):
        parse_spf("v=spf1 foo -all")


def test_dmarc() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; rua=mailto:d@example.org")
    assert (record.policy, record.rua) == ("reject", ("mailto:d@example.org",))
    assert parse_dmarc("v=DMARC1;p=none").rua == ()
    assert dmarc_records(["v=DMARC1; p=none", "x"]) == ["v=DMARC1; p=none"]
    bad_ones = (("v=DMARC1; rua=mailto:a@b; p=none", "right after"), ("v=DMARC1; p=maybe", "none, quarantine"), ("p=none", "v=DMARC1"))
    for bad, says in bad_ones:
        with pytest.raises(DmarcError, match=says):
            parse_dmarc(bad)


@pytest.fixture(scope="module")
def chain() -> tuple[bytes, bytes]:
    ca = CA()
    leaf = ca.issue_cert("mail.example.org", key_type=KeyType.EC)
    return leaf.certificate.public_bytes(Encoding.DER), ca.certificate.public_bytes(Encoding.DER)


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("mtype", [0, 1, 2])
def test_tlsa_usage_3_matches_the_leaf_and_usage_2_the_issuer(chain: tuple[bytes, bytes], selector: int, mtype: int) -> None:
    leaf, issuer = chain
    assert matches(Tlsa(3, selector, mtype, association(leaf, selector, mtype)), chain)
    assert not matches(Tlsa(3, selector, mtype, association(issuer, selector, mtype)), chain)
    assert matches(Tlsa(2, selector, mtype, association(issuer, selector, mtype)), chain)
    assert not matches(Tlsa(2, selector, mtype, association(leaf, selector, mtype)), chain)


def test_tlsa_hashes_are_the_rfc_ones(chain: tuple[bytes, bytes]) -> None:
    from cryptography import x509

    spki = x509.load_der_x509_certificate(chain[0]).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert association(chain[0], 1, 1) == hashlib.sha256(spki).digest()
    assert association(chain[0], 0, 2) == hashlib.sha512(chain[0]).digest()


def test_tlsa_judgement_rollover_stale_and_unusable(chain: tuple[bytes, bytes]) -> None:
    good = Tlsa(3, 1, 1, association(chain[0], 1, 1))
    next_key = Tlsa(3, 1, 1, b"\x01" * 32)
    pkix = Tlsa(1, 1, 1, association(chain[0], 1, 1))
    judged = judge_tlsa([good, next_key, pkix], chain)
    assert judged.matched == (good,) and judged.stale == (next_key,) and judged.unusable == (pkix,)
    assert judge_tlsa([good], ()).matched == ()


def test_spf_lookups_count_through_includes() -> None:
    from pytest_smtpsec.domain.spf import count_lookups, referenced

    assert referenced("v=spf1 include:A.test. ?include:b.test redirect=c.test include:%{d}.x -all") == ["a.test", "b.test", "c.test"]
    records = {"a.test": ["v=spf1 mx a -all"], "b.test": ["v=spf1 include:a.test -all"]}
    count = count_lookups("v=spf1 include:b.test include:gone.test -all", records.get)
    assert (count.lookups, count.complete) == (5, False)
    assert count_lookups("v=spf1 include:loop.test", {"loop.test": ["v=spf1 include:loop.test"]}.get).complete is False
