"""TLS and certificates judged as every client sees them (issue 13).

Three layers: the pure judges (trust path building, names, chain validity, banners) on certificates made
here, each trust verdict checked against the real OpenSSL of this machine; the checks' judges on
recorded probes (no network); and hostile-but-plausible servers (``fakes_tls.py``) on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from fakes import HOST, WELL_BEHAVED
from fakes_tls import DAY, Issued, TlsFake, TlsSetup, ca_file, issue, root

from pytest_smtpsec.certs import name_match
from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.checks.banner_hides_version import leaks
from pytest_smtpsec.checks.certificate_valid import cert_problems
from pytest_smtpsec.probe import ProbeError, Probes, Reply, SessionRecord, Step, TlsInfo, run_session
from pytest_smtpsec.probe.cache import _Failed
from pytest_smtpsec.probe.handshake import Handshake
from pytest_smtpsec.target import Ports, Service, Target
from pytest_smtpsec.trust import not_sent, strict_problems, verify
from pytest_smtpsec.verdict import Verdict

NOW = dt.datetime.now(dt.UTC)

# -- the oracle: what this machine's OpenSSL says of a chain ---------------------------------------


def openssl_accepts(chain: tuple[Issued, ...], anchors: tuple[Issued, ...], tmp: Path) -> bool:
    """A TLS handshake in memory: the server sends ``chain``, the client verifies against ``anchors`` (SECLEVEL 0:
    key sizes and hashes are certificate_valid's)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    key = chain[0].key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp / "server.pem").write_bytes(key + b"".join(c.pem() for c in chain))
    server.load_cert_chain(tmp / "server.pem")
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.set_ciphers("DEFAULT:@SECLEVEL=0")
    client.load_verify_locations(ca_file(tmp, *anchors))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=None)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError:
                return False
            except ssl.SSLError:
                break
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if c.version() and s.version():
            try:
                c.do_handshake()
            except ssl.SSLCertVerificationError:
                return False
            return True
    return False


def certs(*issued: Issued) -> tuple[x509.Certificate, ...]:
    return tuple(i.cert for i in issued)


ROOT = root()
INTERMEDIATE = issue("Fake Intermediate CA", ROOT, ca=True)
CASES: dict[str, tuple[tuple[Issued, ...], tuple[Issued, ...], str | None]] = {}
"""name -> (chain sent, CA file, the problem's text or None when trusted)."""


def case(name: str, chain: tuple[Issued, ...], anchors: tuple[Issued, ...], problem: str | None) -> None:
    CASES[name] = (chain, anchors, problem)


case("wildcard from the root", (issue("*.example.org", ROOT, names=("*.example.org",)),), (ROOT,), None)
case("through a sent intermediate", (issue("mail.example.org", INTERMEDIATE, names=("mail.example.org",)), INTERMEDIATE), (ROOT,), None)
case(
    "intermediate not sent",
    (issue("mail.example.org", INTERMEDIATE, names=("mail.example.org",)),),
    (ROOT,),
    "the certificate is issued by 'CN=Fake Intermediate CA', which is not in the CA file (nor sent by the server)",
)
case(
    "an intermediate alone in the CA file",
    (issue("mail.example.org", INTERMEDIATE, names=("mail.example.org",)), INTERMEDIATE),
    (INTERMEDIATE,),
    "the CA file holds 'CN=Fake Intermediate CA' but not the root that issued it ('CN=Fake Root CA'): "
    "OpenSSL-based MTAs need the chain to end at a self-signed root there",
)
case(
    "self-signed",
    (issue("mail.example.org", names=("mail.example.org",)),),
    (ROOT,),
    "the certificate is self-signed (CN=mail.example.org) and not in the CA file: no CA vouches for it",
)
_pinned = issue("pinned.example.org", names=("pinned.example.org",))
case("self-signed but in the CA file", (_pinned,), (_pinned,), None)
_other_root = root("Other Root")
case(
    "untrusted root sent along",
    (issue("mail.example.org", _other_root, names=("mail.example.org",)), _other_root),
    (ROOT,),
    "the chain ends at the root 'CN=Other Root', which is not in the CA file",
)
_not_ca = issue("Not A CA", ROOT, ca=False, eku=None, key_usage=False)
case(
    "issued by a non-CA (CA:FALSE)",
    (issue("mail.example.org", _not_ca, names=("mail.example.org",)), _not_ca),
    (ROOT,),
    "'CN=Not A CA' signed 'CN=mail.example.org' but is not a CA: its basicConstraints say CA:FALSE",
)
_no_bc = issue("No Constraints CA", ROOT, ca=True, basic_constraints=None, key_usage=False)
case(
    "issued by a CA without basicConstraints or keyUsage",
    (issue("mail.example.org", _no_bc, names=("mail.example.org",)), _no_bc),
    (ROOT,),
    "'CN=No Constraints CA' signed 'CN=mail.example.org' but is not a CA: it has no basicConstraints (CA:TRUE) extension",
)
_ku_only = issue("KeyUsage Only CA", ROOT, ca=True, basic_constraints=None)
case(
    "issued by a CA with keyUsage keyCertSign but no basicConstraints",
    (issue("m.example.org", _ku_only, names=("m.example.org",)), _ku_only),
    (ROOT,),
    "'CN=KeyUsage Only CA' signed 'CN=m.example.org' but is not a CA: it has no basicConstraints (CA:TRUE) extension",
)
_pathlen0 = issue("Pathlen 0 CA", ROOT, ca=True, path_length=0)
_below = issue("Below Pathlen CA", _pathlen0, ca=True)
case(
    "pathLenConstraint exceeded",
    (issue("mail.example.org", _below, names=("mail.example.org",)), _below, _pathlen0),
    (ROOT,),
    "'CN=Pathlen 0 CA' allows 0 intermediate CA(s) below it (pathLenConstraint), the chain has 1",
)
case(
    "client-only extendedKeyUsage",
    (issue("mail.example.org", ROOT, names=("mail.example.org",), eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),),
    (ROOT,),
    "'CN=mail.example.org' is limited by extendedKeyUsage to other uses than serverAuth",
)
_client_ca = issue("Client-Only CA", ROOT, ca=True, ca_eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
case(
    "an intermediate limited to clientAuth",
    (issue("mail.example.org", _client_ca, names=("mail.example.org",)), _client_ca),
    (ROOT,),
    "'CN=Client-Only CA' is limited by extendedKeyUsage to other uses than serverAuth",
)
_server_ca = issue("Server CA", ROOT, ca=True, ca_eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
case("an intermediate limited to serverAuth", (issue("m.example.org", _server_ca, names=("m.example.org",)), _server_ca), (ROOT,), None)
_sign_only = x509.KeyUsage(False, True, False, False, False, False, False, False, False)  # contentCommitment alone
case(
    "a leaf whose keyUsage allows no TLS key exchange",
    (issue("mail.example.org", ROOT, names=("mail.example.org",), usage=_sign_only),),
    (ROOT,),
    "the certificate's keyUsage allows none of digitalSignature, keyEncipherment, keyAgreement",
)
_sloppy_root = root("Sloppy Private Root", key_usage=False, basic_constraints="noncritical", ski=False, aki=False)
SLOPPY_LEAF = issue("mail.example.org", _sloppy_root, names=("mail.example.org",), aki=False)
case("a sloppy private CA (no keyUsage, non-critical basicConstraints, no AKI)", (SLOPPY_LEAF,), (_sloppy_root,), None)
_bare_root = root("Bare v3 Root", key_usage=False, basic_constraints=None)
case(
    "a root without basicConstraints in the CA file",
    (issue("m.example.org", _bare_root, names=("m.example.org",)),),
    (_bare_root,),
    "'CN=Bare v3 Root' signed 'CN=m.example.org' but is not a CA: it has no basicConstraints (CA:TRUE) extension",
)
_signed_elsewhere = issue("Fake Root CA", ca=True)  # the same name as ROOT, another key
case(
    "a forged issuer name",
    (issue("mail.example.org", _signed_elsewhere, names=("mail.example.org",)),),
    (ROOT,),
    "the certificate names 'CN=Fake Root CA' as issuer, but that CA's signature on it does not verify",
)


@pytest.mark.parametrize("name", list(CASES))
def test_trust_is_judged_as_openssl_judges_it(name: str, tmp_path: Path) -> None:
    chain, anchors, problem = CASES[name]
    trust = verify(certs(*chain), certs(*anchors))
    assert trust.problem == problem
    assert openssl_accepts(chain, anchors, tmp_path) is (problem is None), "this machine's OpenSSL disagrees"


def test_what_openssl_accepts_but_strict_verifiers_reject_is_named() -> None:
    chain, anchors, _ = CASES["a sloppy private CA (no keyUsage, non-critical basicConstraints, no AKI)"]
    trust = verify(certs(*chain), certs(*anchors))
    assert strict_problems(trust.path) == [
        "'CN=mail.example.org' has no authorityKeyIdentifier",
        "the CA 'CN=Sloppy Private Root' has a non-critical basicConstraints extension",
        "the CA 'CN=Sloppy Private Root' has no keyUsage extension",
        "the CA 'CN=Sloppy Private Root' has no subjectKeyIdentifier",
    ]
    strict = (
        verification.PolicyBuilder()
        .store(verification.Store(list(certs(*anchors))))
        .build_server_verifier(x509.DNSName("mail.example.org"))
    )
    with pytest.raises(verification.VerificationError):
        strict.verify(chain[0].cert, [])  # the warning's claim: Python's cryptography rejects it
    good, good_anchors, _ = CASES["through a sent intermediate"]
    assert strict_problems(verify(certs(*good), certs(*good_anchors)).path) == []


def test_intermediates_not_sent_by_the_server_are_named() -> None:
    leaf = issue("mail.example.org", INTERMEDIATE, names=("mail.example.org",))
    alone = verify(certs(leaf), certs(ROOT, INTERMEDIATE))
    assert alone.trusted and [c.subject for c in not_sent(alone.path, certs(leaf))] == [certs(INTERMEDIATE)[0].subject]
    sent = verify(certs(leaf, INTERMEDIATE), certs(ROOT, INTERMEDIATE))
    assert sent.trusted and not_sent(sent.path, certs(leaf, INTERMEDIATE)) == []
    direct = issue("mail.example.org", ROOT, names=("mail.example.org",))
    assert not_sent(verify(certs(direct), certs(ROOT)).path, certs(direct)) == []  # a root is never "sent"


def test_an_unsupported_critical_extension_is_refused() -> None:
    leaf = issue("mail.example.org", ROOT, names=("mail.example.org",))
    odd = (
        x509.CertificateBuilder()
        .subject_name(leaf.cert.subject)
        .issuer_name(ROOT.cert.subject)
        .public_key(leaf.key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"), critical=True)
        .sign(ROOT.key, hashes.SHA256())
    )
    assert "unsupported critical extension (1.3.6.1.4.1.55555.1)" in (verify((odd,), (ROOT.cert,)).problem or "")


# -- names (RFC 6125) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sans", "cn", "name", "how"),
    [
        (("*.example.org",), None, "mail.example.org", "subjectAltName"),
        (("*.example.org",), None, "MAIL.Example.ORG.", "subjectAltName"),
        (("*.example.org",), None, "a.mail.example.org", None),
        (("*.example.org",), None, "example.org", None),
        (("*.org",), None, "example.org", None),
        (("m*.example.org",), None, "mail.example.org", None),
        (("mail.*.org",), None, "mail.example.org", None),
        (("mail_01.example.org", "mail.example.org"), None, "mail.example.org", "subjectAltName"),
        (("mail_01.example.org",), None, "mail_01.example.org", "subjectAltName"),
        (("mail.example.org.",), None, "mail.example.org", "subjectAltName"),
        (("192.0.2.25",), None, "192.0.2.25", "subjectAltName"),
        (("mail.example.org",), None, "192.0.2.25", None),
        (("other.example.org",), "mail.example.org", "mail.example.org", None),  # no CN fallback when a DNS SAN exists
        (("192.0.2.25",), "mail.example.org", "mail.example.org", "common name"),  # no DNS SAN: OpenSSL reads the CN
        ((), "mail.example.org", "mail.example.org", "common name"),
        ((), "192.0.2.25", "192.0.2.25", None),  # an address never matches a CN
    ],
)
def test_names_are_matched_per_rfc_6125(sans: tuple[str, ...], cn: str | None, name: str, how: str | None) -> None:
    cert = issue(cn or "leaf", ROOT, names=sans).cert
    assert name_match(cert, name) == how


def test_odd_names_never_raise_out_of_the_trust_check() -> None:
    for sans in (("_dmarc.example.org",), ("mail.example.org.",), ("*.example.org",)):
        leaf = issue("x", ROOT, names=sans)
        assert verify((leaf.cert,), (ROOT.cert,)).problem is None


# -- the whole chain's validity ---------------------------------------------------------------------


def test_every_certificate_of_the_chain_is_judged_for_key_hash_and_dates() -> None:
    weak = issue("Weak Intermediate", ROOT, ca=True, key="rsa1024")
    assert cert_problems(weak.cert, "the CA", NOW) == ["the CA has an RSA key of 1024 bits (at least 2048 needed)"]
    old = issue("Old Intermediate", ROOT, ca=True, not_before=NOW - 9 * DAY, not_after=NOW - DAY)
    assert cert_problems(old.cert, "the CA", NOW)[0].startswith("the CA expired on ")
    early = issue("Early", ROOT, not_before=NOW + DAY, not_after=NOW + 9 * DAY)
    assert cert_problems(early.cert, "it", NOW)[0].startswith("it is not valid before ")


def test_sha1_signatures_are_judged_except_a_roots_own(tmp_path: Path) -> None:
    """cryptography no longer signs with SHA-1, so the openssl command makes these two."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30)

    key = ["-newkey", "rsa:2048", "-nodes", "-sha1", "-days", "2"]
    run("req", "-x509", *key, "-subj", "/CN=SHA1 Root", "-keyout", str(tmp_path / "r.key"), "-out", str(tmp_path / "r.pem"))
    run("req", *key, "-subj", "/CN=SHA1 Leaf", "-keyout", str(tmp_path / "l.key"), "-out", str(tmp_path / "l.csr"))
    run(
        "x509", "-req", "-sha1", "-days", "2", "-in", str(tmp_path / "l.csr"), "-CA", str(tmp_path / "r.pem"),
        "-CAkey", str(tmp_path / "r.key"), "-set_serial", "5", "-out", str(tmp_path / "l.pem"),
    )  # fmt: skip
    sha1_root = x509.load_pem_x509_certificate((tmp_path / "r.pem").read_bytes())
    sha1_leaf = x509.load_pem_x509_certificate((tmp_path / "l.pem").read_bytes())
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert cert_problems(sha1_leaf, "it", later) == ["it is signed with SHA1, which can be forged"]
    assert cert_problems(sha1_root, "the root", later) == []  # a root's signature on itself proves nothing


# -- banners ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (
            "220 mx.example.org Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready",
            "Microsoft ESMTP MAIL Service, Version: 10.0.17763.1",
        ),
        ("220 mx.test ESMTP Sendmail 8.17.1.9/8.17.1.9; Thu, 3 Dec 2026 06:00:00 GMT", "Sendmail 8.17.1.9"),
        ("220 mx ESMTP Exim 4.96 Thu, 03 Dec 2026 06:11:36 +0000", "Exim 4.96"),
        ("220 mx ESMTP Postfix 3.7.11", "Postfix 3.7.11"),
        ("214-2.0.0 This is sendmail version 8.17.1.9", "sendmail version 8.17.1.9"),
        ("220 mx Haraka/2.8.28 ready", "Haraka/2.8.28"),
        ("220-mx.example.org MDaemon 21.0.2 ready", "MDaemon 21.0.2"),
        ("250-mx.example.org running version 4.2.1", "version 4.2.1"),
        ("220 mx ESMTP Postfix (Debian/GNU)", None),
        ("220 mx.example.org ESMTP ready [192.0.2.1]", None),
        ("250-mail.test Hello localhost [127.0.0.1], pleased to meet you", None),
        ("221 2.0.0 closing after 4.96 seconds", None),
    ],
)
def test_versions_are_found_in_any_line(line: str, found: str | None) -> None:
    assert leaks(["220-first line says nothing", line]) == ([found] if found else [])


# -- the checks' judges on recorded probes (no network) ---------------------------------------------

TARGET = Target(HOST, tls_name="mail.example.org", ports=Ports(25, 587, 465))
GOOD = issue("mail.example.org", ROOT, names=("mail.example.org",))
OTHER = issue("localhost", names=("localhost",))
R220, EHLO = Reply(220, ("mx ESMTP",)), Reply(250, ("mx", "STARTTLS", "AUTH PLAIN"))


def recorded(
    *, version: str = "TLSv1.3", chain: tuple[Issued, ...] = (GOOD,), banner: Reply | None = R220, error: ProbeError | None = None
) -> dict[tuple[object, ...], object]:
    """Probe results as a session and its handshakes would have left them, for every service."""
    tls = TlsInfo(version, "TLS_AES_256_GCM_SHA384", tuple(c.cert.public_bytes(serialization.Encoding.DER) for c in chain))
    results: dict[tuple[object, ...], object] = {}
    for service in Service:
        replies = {Step.BANNER: banner} if banner else {}
        if service.implicit_tls:
            replies |= {Step.EHLO: EHLO} if banner else {}
        else:
            replies |= {Step.EHLO: EHLO, Step.STARTTLS: R220, Step.EHLO_TLS: EHLO}
        results[("session", service)] = SessionRecord(TARGET, service, replies, tls, "", error)
    return results


def judged(check: str, service: Service | None, results: dict[tuple[object, ...], object], tmp: Path) -> tuple[Verdict, str]:
    probes = Probes(Target(HOST, tls_name="mail.example.org", ports=Ports(25, 587, 465), ca_file=ca_file(tmp, ROOT)))
    probes._results.update(results)
    outcome = run_at(CHECKS[check], probes, service).outcome
    return outcome.verdict, " | ".join((outcome.reason, *outcome.findings))


def shake(
    service: Service, offer: str, accepted: bool, version: str = "", chain: tuple[Issued, ...] = ()
) -> dict[tuple[object, ...], object]:
    der = tuple(c.cert.public_bytes(serialization.Encoding.DER) for c in chain)
    detail = f"{version} X" if accepted else "TLS handshake failed: TLSV1_ALERT_PROTOCOL_VERSION"
    return {("handshake", service, offer): Handshake(service, offer, accepted, detail, "", version, der)}


RESET = ProbeError(f"{HOST}:25", "tls TLSv1-TLSv1.1", "connection reset by the server while waiting for the TLS handshake")
OLD = "TLSv1-TLSv1.1"
WEAK = "weak ciphers: NULL, anonymous"


@pytest.mark.parametrize(
    ("name", "results", "verdict", "shows"),
    [
        ("refused by alerts", shake(Service.SMTP, OLD, False), Verdict.PASS, "refuses TLSv1, TLSv1.1 (TLS alerts)"),
        (
            "accepted",
            {**shake(Service.SMTP, OLD, True, "TLSv1.1"), **shake(Service.SMTP, "TLSv1", False)},
            Verdict.FAIL,
            "accepts TLSv1.1 on smtp",
        ),
        ("accepted at 1.0: 1.1 is known refused", shake(Service.SMTP, OLD, True, "TLSv1"), Verdict.FAIL, "accepts TLSv1 on smtp"),
        ("a reset is no refusal", {("handshake", Service.SMTP, OLD): _Failed(RESET)}, Verdict.ERROR, "connection reset"),
    ],
)
def test_tls_protocols_judge(name: str, results: dict[tuple[object, ...], object], verdict: Verdict, shows: str, tmp_path: Path) -> None:
    said = judged("tls_protocols", Service.SMTP, {**recorded(), **results}, tmp_path)
    assert said[0] is verdict and shows in said[1], said


def test_tls_protocols_fails_a_server_whose_best_is_old_tls(tmp_path: Path) -> None:
    results = {**recorded(version="TLSv1"), **shake(Service.SMTPS, OLD, True, "TLSv1")}
    assert judged("tls_protocols", Service.SMTPS, results, tmp_path) == (
        Verdict.FAIL,
        "the best protocol negotiated was TLSv1, below the policy minimum TLSv1.2 | "
        "the best protocol negotiated was TLSv1, below the policy minimum TLSv1.2 | accepts TLSv1 on smtps",
    )


@pytest.mark.parametrize(
    ("results", "verdict", "shows"),
    [
        (shake(Service.SUBMISSION, WEAK, False), Verdict.PASS, "on submission: refuses NULL, anonymous suites (TLS alert)"),
        (shake(Service.SUBMISSION, WEAK, True, "TLSv1.2"), Verdict.FAIL, "accepts a weak cipher suite on submission: TLSv1.2 X"),
        ({("handshake", Service.SUBMISSION, WEAK): _Failed(RESET)}, Verdict.ERROR, "connection reset"),
    ],
)
def test_tls_ciphers_judge(results: dict[tuple[object, ...], object], verdict: Verdict, shows: str, tmp_path: Path) -> None:
    said = judged("tls_ciphers", Service.SUBMISSION, {**recorded(), **results}, tmp_path)
    assert said[0] is verdict and shows in said[1], said


def test_a_465_that_never_greets_inside_tls_passes_no_certificate_or_tls_check(tmp_path: Path) -> None:
    silent = ProbeError(f"{HOST}:465", "banner", "timed out after 10 s waiting for a reply (received nothing)")
    results = {**recorded(banner=None, error=silent), **shake(Service.SMTPS, OLD, False), **shake(Service.SMTPS, WEAK, False)}
    for check in (
        "certificate_trusted",
        "certificate_matches_host",
        "certificate_valid",
        "tls_protocols",
        "tls_ciphers",
        "smtps_implicit_tls",
    ):
        assert judged(check, Service.SMTPS, results, tmp_path)[0] is Verdict.ERROR, check


def test_a_554_banner_inside_tls_fails_smtps_implicit_tls(tmp_path: Path) -> None:
    results = {**recorded(banner=Reply(554, ("mx no service",))), **shake(Service.SMTPS, "no SNI", True, "TLSv1.3", (GOOD,))}
    assert judged("smtps_implicit_tls", Service.SMTPS, results, tmp_path) == (
        Verdict.FAIL,
        "the banner inside TLS was '554 mx no service', expected 220 | the banner inside TLS was '554 mx no service', expected 220",
    )


@pytest.mark.parametrize(
    ("without_sni", "verdict", "shows"),
    [
        ((GOOD,), Verdict.PASS, "smtp, smtp without SNI, submission, submission without SNI, smtps, smtps without SNI present the same"),
        ((OTHER,), Verdict.FAIL, "smtp without SNI, submission without SNI, smtps without SNI: 'CN=localhost' (SHA-256"),
        ((), Verdict.FAIL, "smtp without SNI: no TLS for a client without SNI (TLS handshake failed"),
    ],
)
def test_the_certificate_without_sni_is_compared(without_sni: tuple[Issued, ...], verdict: Verdict, shows: str, tmp_path: Path) -> None:
    results = recorded()
    for service in Service:
        results |= shake(service, "no SNI", bool(without_sni), "TLSv1.3", without_sni)
    said = judged("same_certificate_everywhere", None, results, tmp_path)
    assert said[0] is verdict and shows in said[1], said
    if verdict is Verdict.FAIL and without_sni:
        assert "self-signed (CN=localhost) and not in the CA file" in said[1] and "does not cover mail.example.org" in said[1]


def test_certificate_checks_judge_the_whole_chain(tmp_path: Path) -> None:
    weak = issue("Weak Intermediate", ROOT, ca=True, key="rsa1024")
    leaf = issue("mail.example.org", weak, names=("mail.example.org",))
    results = recorded(chain=(leaf, weak))
    assert judged("certificate_trusted", Service.SMTP, results, tmp_path) == (
        Verdict.PASS,
        "issued by 'CN=Weak Intermediate', trusted via 'CN=Fake Root CA' from " + str(tmp_path / "fake-tls-ca.pem"),
    )
    verdict, said = judged("certificate_valid", Service.SMTP, results, tmp_path)
    assert verdict is Verdict.FAIL and "the CA certificate 'CN=Weak Intermediate' has an RSA key of 1024 bits" in said


def test_a_sloppy_private_ca_warns_and_names_who_rejects_it(tmp_path: Path) -> None:
    chain, anchors, _ = CASES["a sloppy private CA (no keyUsage, non-critical basicConstraints, no AKI)"]
    probes = Probes(Target(HOST, tls_name="mail.example.org", ports=Ports(25, 587, 465), ca_file=ca_file(tmp_path, *anchors)))
    probes._results.update(recorded(chain=chain))
    outcome = run_at(CHECKS["certificate_trusted"], probes, Service.SMTP).outcome
    assert outcome.verdict is Verdict.WARN
    assert outcome.findings[0].startswith(
        "OpenSSL-based MTAs and mail clients trust it (via 'CN=Sloppy Private Root'), but strict RFC 5280"
    )
    assert "Python's cryptography" in outcome.findings[0]


def test_a_certificate_named_only_by_its_cn_warns(tmp_path: Path) -> None:
    cn_only = issue("mail.example.org", ROOT)
    assert judged("certificate_matches_host", Service.SMTP, recorded(chain=(cn_only,)), tmp_path)[0] is Verdict.WARN


# -- hostile-but-plausible servers on 127.0.0.1 -------------------------------------------------------

SMTPS = replace(WELL_BEHAVED, implicit_tls=True)
NAME = "mail.example.org"


def run_checks(tmp: Path, anchors: tuple[Issued, ...], timeout: float = 3.0, **ports: int | None) -> dict[str, tuple[Verdict, str]]:
    """Every check on a target made of the fakes given by port: {"service::check": (verdict, reason + findings)}."""
    target = Target(
        HOST,
        tls_name=NAME,
        ports=Ports(**{**{"smtp": None, "submission": None, "smtps": None}, **ports}),
        ca_file=ca_file(tmp, *anchors),
        timeout=timeout,
    )
    probes = Probes(target)
    probes.warm_up()
    table = {}
    for check in CHECKS.values():
        for where in check.places(target):
            outcome = run_at(check, probes, where).outcome
            table[f"{where.value if where else 'host'}::{check.name}"] = (outcome.verdict, " | ".join((outcome.reason, *outcome.findings)))
    table["connections"] = (Verdict.PASS, str(probes.connections))
    return table


@pytest.fixture
def serving() -> Iterator[list[TlsFake]]:
    started: list[TlsFake] = []
    yield started
    for server in started:
        server.close()


def start(serving: list[TlsFake], setup: TlsSetup, *, smtps: bool = False) -> int:
    server = TlsFake(setup, SMTPS if smtps else WELL_BEHAVED)
    server.__enter__()
    serving.append(server)
    return server.port


LEAF = issue(NAME, INTERMEDIATE, names=(NAME,))
RIGHT = (LEAF, INTERMEDIATE)


def test_a_correct_wildcard_and_an_underscore_san_pass(tmp_path: Path, serving: list[TlsFake]) -> None:
    wildcard = issue("*.example.org", INTERMEDIATE, names=("mail_01.example.org", "*.example.org", "example.org."))
    port = start(serving, TlsSetup((wildcard, INTERMEDIATE)))
    table = run_checks(tmp_path, (ROOT,), smtp=port)
    for check in ("certificate_trusted", "certificate_matches_host", "certificate_valid"):
        assert table[f"smtp::{check}"][0] is Verdict.PASS, table[f"smtp::{check}"]


def test_an_rsa_1024_intermediate_fails_certificate_valid(tmp_path: Path, serving: list[TlsFake]) -> None:
    weak = issue("Weak Intermediate", ROOT, ca=True, key="rsa1024")
    port = start(serving, TlsSetup((issue(NAME, weak, names=(NAME,)), weak)))
    table = run_checks(tmp_path, (ROOT,), smtp=port)
    assert table["smtp::certificate_trusted"][0] is Verdict.PASS
    verdict, said = table["smtp::certificate_valid"]
    assert (
        verdict is Verdict.FAIL and "the CA certificate 'CN=Weak Intermediate' has an RSA key of 1024 bits (at least 2048 needed)" in said
    )


def test_a_missing_intermediate_is_named(tmp_path: Path, serving: list[TlsFake]) -> None:
    port = start(serving, TlsSetup((LEAF,)))
    table = run_checks(tmp_path, (ROOT,), smtp=port)
    assert table["smtp::certificate_trusted"][0] is Verdict.FAIL
    assert (
        "issued by 'CN=Fake Intermediate CA', which is not in the CA file (nor sent by the server)" in table["smtp::certificate_trusted"][1]
    )


def test_an_intermediate_only_the_ca_file_has_warns(tmp_path: Path, serving: list[TlsFake]) -> None:
    """Trusted here because the CA file holds the intermediate; a client with only the root cannot build the
    chain (the classic cert.pem instead of fullchain.pem). Sent, it passes with the same CA file."""
    leaf_only, full = start(serving, TlsSetup((LEAF,))), start(serving, TlsSetup(RIGHT))
    verdict, said = run_checks(tmp_path, (ROOT, INTERMEDIATE), smtp=leaf_only)["smtp::certificate_trusted"]
    assert verdict is Verdict.WARN and "does not send the intermediate CA 'CN=Fake Intermediate CA'" in said, said
    assert "most MTAs" in said
    assert run_checks(tmp_path, (ROOT, INTERMEDIATE), smtp=full)["smtp::certificate_trusted"][0] is Verdict.PASS


def test_a_right_certificate_only_with_sni_fails(tmp_path: Path, serving: list[TlsFake]) -> None:
    default = issue("localhost", names=("localhost",))
    port = start(serving, TlsSetup(RIGHT, no_sni_chain=(default,)))
    table = run_checks(tmp_path, (ROOT,), smtp=port)
    assert table["smtp::certificate_trusted"][0] is Verdict.PASS  # what a client sending SNI sees
    verdict, said = table["host::same_certificate_everywhere"]
    assert verdict is Verdict.FAIL and "smtp without SNI: 'CN=localhost'" in said and "self-signed" in said


def test_legacy_tls_on_port_25_alone_fails_port_25_alone(tmp_path: Path, serving: list[TlsFake]) -> None:
    legacy = start(serving, TlsSetup(RIGHT, oldest=ssl.TLSVersion.TLSv1, ciphers="ALL"))
    clean = start(serving, TlsSetup(RIGHT), smtps=True)
    table = run_checks(tmp_path, (ROOT,), smtp=legacy, smtps=clean)
    assert table["smtp::tls_protocols"] == (Verdict.FAIL, "accepts TLSv1 on smtp | accepts TLSv1 on smtp | accepts TLSv1.1 on smtp")
    assert table["smtps::tls_protocols"][0] is Verdict.PASS
    assert table["smtp::tls_ciphers"][0] is Verdict.FAIL and "accepts a weak cipher suite on smtp" in table["smtp::tls_ciphers"][1]
    assert table["smtps::tls_ciphers"][0] is Verdict.PASS
    assert table["smtps::smtps_implicit_tls"][0] is Verdict.PASS


def test_a_tls_1_0_only_server_gets_one_clear_failure(tmp_path: Path, serving: list[TlsFake]) -> None:
    port = start(serving, TlsSetup(RIGHT, oldest=ssl.TLSVersion.TLSv1, newest=ssl.TLSVersion.TLSv1))
    table = run_checks(tmp_path, (ROOT,), smtp=port)
    assert table["smtp::tls_protocols"][0] is Verdict.FAIL
    assert "the best protocol negotiated was TLSv1, below the policy minimum TLSv1.2" in table["smtp::tls_protocols"][1]
    errors = {item: said for item, (verdict, said) in table.items() if verdict is Verdict.ERROR}
    assert not errors


@pytest.mark.parametrize("service", ["smtp", "smtps"])
def test_a_connection_limiter_is_not_a_refusal(service: str, tmp_path: Path, serving: list[TlsFake]) -> None:
    """Old TLS accepted, but every connection after the first is reset: "could not check", never "refuses"."""
    port = start(serving, TlsSetup(RIGHT, oldest=ssl.TLSVersion.TLSv1, ciphers="ALL", served=1), smtps=service == "smtps")
    table = run_checks(tmp_path, (ROOT,), **{service: port})
    for check in ("tls_protocols", "tls_ciphers"):
        verdict, said = table[f"{service}::{check}"]
        assert verdict is Verdict.ERROR and ("connection reset" in said.lower() or "connection closed" in said), (check, said)


def test_a_465_that_greets_a_waiting_client_in_cleartext_fails(tmp_path: Path, serving: list[TlsFake]) -> None:
    port = start(serving, TlsSetup(RIGHT, cleartext_to_waiter=0.1), smtps=True)
    table = run_checks(tmp_path, (ROOT,), smtps=port)
    verdict, said = table["smtps::smtps_implicit_tls"]
    assert verdict is Verdict.FAIL
    assert "the smtps port answered in cleartext to a client that waits: b'220 fake.invalid ESMTP greeting silent clients" in said


def test_a_465_that_never_greets_inside_tls_passes_nothing_tls(tmp_path: Path, serving: list[TlsFake]) -> None:
    port = start(serving, TlsSetup(RIGHT, greets=False), smtps=True)
    table = run_checks(tmp_path, (ROOT,), timeout=1.0, smtps=port)
    passed = {item for item, (verdict, _) in table.items() if verdict in (Verdict.PASS, Verdict.WARN) and item != "connections"}
    assert not passed & {
        f"smtps::{c}"
        for c in (
            "certificate_trusted",
            "certificate_valid",
            "certificate_matches_host",
            "tls_protocols",
            "tls_ciphers",
            "smtps_implicit_tls",
        )
    }


def test_a_clean_tls_host_stays_within_its_connection_budget(tmp_path: Path, serving: list[TlsFake]) -> None:
    ports = {s: start(serving, TlsSetup(RIGHT), smtps=s == "smtps") for s in ("smtp", "submission", "smtps")}
    table = run_checks(tmp_path, (ROOT,), **ports)
    problems = {item: said for item, (verdict, said) in table.items() if verdict not in (Verdict.PASS, Verdict.SKIP)}
    assert not problems
    assert int(table["connections"][1]) <= 12


def test_the_whole_chain_is_read_from_the_handshake(serving: list[TlsFake]) -> None:
    port = start(serving, TlsSetup(RIGHT), smtps=True)
    target = Target(HOST, tls_name=NAME, ports=Ports(None, None, port), timeout=3.0)
    der = tuple(c.cert.public_bytes(serialization.Encoding.DER) for c in RIGHT)
    assert run_session(target, Service.SMTPS).handshake().chain == der


@pytest.mark.parametrize("content", [b"mail\n", b"\x30\x82\x01\x0a binary DER"], ids=["text", "der"])
def test_a_ca_file_that_is_not_pem_is_one_usage_error(pytester: pytest.Pytester, content: bytes) -> None:
    pytester.path.joinpath("ca.crt").write_bytes(content)
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-ca-file=ca.crt", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ca.crt is not a PEM CA bundle: no '-----BEGIN CERTIFICATE-----' block could be read*"])
    assert len(result.stderr.lines) < 5 and "Traceback" not in result.stderr.str()
