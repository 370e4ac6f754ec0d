"""Every check, profile and MTA on real Postfix and real Exim, against one expected table.

The table is MTA-neutral: a profile is one misconfiguration, and a check must give the same verdict
for it whatever server makes the mistake. Where a check does not, the deviation is a bug in the
check; it is listed in KNOWN_CHECK_BUGS with the reason, and the test fails once the check is fixed
so the entry cannot outlive the bug. Where an MTA really behaves otherwise with the same setting,
MTA_DIFFERENCES says so and smtplib proves it. Before the checks are compared, plain smtplib confirms
that the server has the profile's fault (`GROUND_TRUTH`), so verdicts are judged against what the
server does, not against our assumptions. The item names are tests/test_detection_matrix.py's.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from expected_verdicts import MTA_DIFFERENCES, PROFILE_VERDICTS, verdict_table
from plain_smtp import code, handshake_error, session, starttls, tls_context

from pytest_smtpsec.checks import CHECKS, Area
from pytest_smtpsec.lab import LabTarget
from pytest_smtpsec.lab.mta import PROFILES, MtaServer
from pytest_smtpsec.lab.pool import as_target
from pytest_smtpsec.target import Target

from .conftest import MTAS, TIMING, MtaHome

EXPECTED = {profile: PROFILE_VERDICTS[profile] for profile in PROFILES}
"""The MTA-neutral table (tests/expected_verdicts.py), for the profiles the MTA lab has."""

KNOWN_CHECK_BUGS: dict[tuple[str, str, str], tuple[str, str]] = {
    # (mta, profile, item): (the verdict the check gives today, why that is wrong)
}


# -- ground truth: each profile's fault, seen with plain smtplib -----------------------------------


def _secure(t: LabTarget) -> None:
    for service in ("smtp", "submission"):
        with session(t, service) as c:
            assert c.has_extn("starttls") and not c.has_extn("auth")
            assert code(c, "AUTH PLAIN") // 100 == 5
            if service == "submission":
                assert code(c, "MAIL FROM:<>") // 100 == 5
            starttls(c, tls_context(t))
            assert c.has_extn("auth")
            if service == "submission":
                c.login(t.user, t.password)
                assert code(c, "MAIL FROM:<>") == 250 and code(c, "RCPT TO:<someone@example.com>") == 250
    with session(t, "smtp") as c:
        assert code(c, "MAIL FROM:<>") == 250 and code(c, "RCPT TO:<someone@example.com>") // 100 == 5
    with session(t, "smtps") as c:
        c.login(t.user, t.password)
    assert not users_told_apart(t, "smtp") and not users_told_apart(t, "submission")


def _cleartext_auth(t: LabTarget) -> None:
    for service in ("smtp", "submission"):
        with session(t, service) as c:
            assert c.has_extn("auth") and c.has_extn("starttls")
            assert code(c, "AUTH PLAIN") == 334
            assert code(c, "*") // 100 == 5  # cancelled, no password sent


def _no_smtps(t: LabTarget) -> None:
    assert t.ports["smtps"] is None
    with session(t, "submission") as c:
        starttls(c, tls_context(t))
        c.login(t.user, t.password)


def _no_starttls(t: LabTarget) -> None:
    for service in ("smtp", "submission"):
        with session(t, service) as c:
            assert not c.has_extn("starttls") and not c.has_extn("auth")
            assert code(c, "STARTTLS") // 100 == 5
    with session(t, "smtps") as c:
        c.login(t.user, t.password)


def _verify_fails(reason: str) -> Callable[[LabTarget], None]:
    def check(t: LabTarget) -> None:
        error = handshake_error(t, tls_context(t))
        assert isinstance(error, ssl.SSLCertVerificationError) and reason in str(error), error
        assert handshake_error(t, tls_context(t, verify=False)) is None
        with session(t, "smtp") as c, pytest.raises(ssl.SSLCertVerificationError, match=reason):
            c.starttls(context=tls_context(t))

    return check


def _weak_key(t: LabTarget) -> None:
    assert isinstance(handshake_error(t, tls_context(t)), ssl.SSLError)  # "ee key too small" at SECLEVEL 2
    lenient = tls_context(t)
    lenient.set_ciphers("DEFAULT:@SECLEVEL=1")
    with session(t, "smtps", ctx=lenient) as c:
        der = c.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    from cryptography import x509

    assert x509.load_der_x509_certificate(der).public_key().key_size == 1024  # type: ignore[union-attr]


def _legacy(ciphers: str, *, tls1_0: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLS 1.0 on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.maximum_version = ssl.TLSVersion.TLSv1 if tls1_0 else ssl.TLSVersion.TLSv1_2
        if tls1_0:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    return ctx


def _open_relay(t: LabTarget) -> None:
    with session(t, "smtp") as c:
        assert code(c, "MAIL FROM:<>") == 250 and code(c, "RCPT TO:<someone@example.com>") == 250
        c.rset()


def users_told_apart(t: LabTarget, service: str) -> bool:
    """A stranger (STARTTLS if asked for, no AUTH) gets different VRFY answers for a real and a missing user."""
    with session(t, service) as c:
        if code(c, f"VRFY <postmaster@{t.tls_name}>") == 530:
            starttls(c, tls_context(t))
        return code(c, f"VRFY <postmaster@{t.tls_name}>") // 100 != code(c, f"VRFY <nosuchuser@{t.tls_name}>") // 100


def _vrfy_on(t: LabTarget) -> None:
    assert users_told_apart(t, "smtp")  # submission: see MTA_DIFFERENCES


def _submission_open(t: LabTarget) -> None:
    with session(t, "submission") as c:
        assert code(c, "MAIL FROM:<>") == 250
        assert code(c, "RCPT TO:<someone@example.com>") // 100 == 5  # still no relay
        c.rset()


def _no_auth_relay(t: LabTarget) -> None:
    with session(t, "submission") as c:
        starttls(c, tls_context(t))
        c.login(t.user, t.password)
        assert code(c, "MAIL FROM:<>") == 250
        assert code(c, f"RCPT TO:<postmaster@{t.tls_name}>") == 250  # logged in, local mail is fine
        assert code(c, "RCPT TO:<someone@example.com>") // 100 == 5  # but nothing goes out
        c.rset()


def _smtps_cleartext(t: LabTarget) -> None:
    assert t.ports["smtps"] is not None
    with socket.create_connection((t.host, t.ports["smtps"]), timeout=5) as raw:
        assert raw.recv(4).startswith(b"220")  # a cleartext banner where a TLS handshake belongs


def _mixed_certs(t: LabTarget) -> None:
    with session(t, "smtps") as c:
        on_smtps = c.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    with session(t, "submission") as c:
        starttls(c, tls_context(t))
        on_submission = c.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    assert on_smtps != on_submission  # both verified against the lab CA for the same name, yet different


def _banner_shows_version(t: LabTarget) -> bool:
    with socket.create_connection((t.host, t.ports["smtp"] or 25), timeout=5) as raw:
        return re.search(rb"^220 .*ESMTP (Postfix|Exim) \d+\.\d+", raw.recv(200)) is not None


def _old_tls_accepted(t: LabTarget) -> bool:
    return t.ports["smtps"] is not None and handshake_error(t, _legacy("DEFAULT:@SECLEVEL=0", tls1_0=True)) is None


def _weak_suite_accepted(t: LabTarget) -> bool:
    return t.ports["smtps"] is not None and handshake_error(t, _legacy("aNULL:eNULL:@SECLEVEL=0")) is None


FAULTS: dict[str, Callable[[LabTarget], bool]] = {
    # faults seen by one probe each: present on their profile (GROUND_TRUTH), absent on secure
    "old-tls": _old_tls_accepted,
    "weak-ciphers": _weak_suite_accepted,
    "default-banner": _banner_shows_version,
}


def _assert(fact: bool) -> None:
    assert fact


GROUND_TRUTH: dict[str, Callable[[LabTarget], None]] = {
    "secure": _secure,
    "cleartext-auth": _cleartext_auth,
    "no-smtps": _no_smtps,
    "no-starttls": _no_starttls,
    "self-signed": _verify_fails("self-signed certificate"),
    "wrong-hostname": _verify_fails("Hostname mismatch, certificate is not valid for 'mail.test'"),
    "expired": _verify_fails("certificate has expired"),
    "weak-key": _weak_key,
    "old-tls": lambda t: _assert(_old_tls_accepted(t)),
    "open-relay": _open_relay,
    "vrfy-on": _vrfy_on,
    "weak-ciphers": lambda t: _assert(_weak_suite_accepted(t)),
    "submission-open": _submission_open,
    "no-auth-relay": _no_auth_relay,
    "smtps-cleartext": _smtps_cleartext,
    "mixed-certs": _mixed_certs,
    "default-banner": lambda t: _assert(_banner_shows_version(t)),
}


# -- one server per (mta, profile), shared by the tests below ------------------------------------


@dataclass
class Running:
    home: MtaHome
    server: MtaServer
    lab: LabTarget
    start_seconds: float

    @property
    def target(self) -> Target:
        return as_target(self.lab)


@pytest.fixture(scope="module", params=[(m, p) for m in MTAS for p in PROFILES], ids=lambda mp: f"{mp[0]}-{mp[1]}")
def running(request: pytest.FixtureRequest, mta_homes: dict[str, MtaHome]) -> Iterator[Running]:
    mta, profile = request.param
    server = mta_homes[mta].server(profile)
    began = time.perf_counter()
    lab = server.start()
    try:
        yield Running(mta_homes[mta], server, lab, time.perf_counter() - began)
    finally:
        server.stop()


def test_the_server_has_the_profiles_fault(running: Running) -> None:
    lab, mta = running.lab, running.home.mta
    GROUND_TRUTH[lab.profile](lab)
    if lab.profile == "vrfy-on":
        differs = (mta, lab.profile, "submission::vrfy_expn_disabled") in MTA_DIFFERENCES
        assert users_told_apart(lab, "submission") is not differs


def test_no_other_fault_than_the_profiles(running: Running) -> None:
    """Profiles differ from secure in one respect: the single-probe faults are absent elsewhere."""
    lab = running.lab
    assert {name: has(lab) for name, has in FAULTS.items() if name != lab.profile} == dict.fromkeys(set(FAULTS) - {lab.profile}, False)


def test_verdicts_match_the_expected_table(running: Running, request: pytest.FixtureRequest) -> None:

    observed = verdict_table(running.target)
    mta = running.home.mta
    running.home.report_once(request.node)
    request.node.user_properties.append((TIMING, (f"{mta} start", running.start_seconds)))
    request.node.user_properties.append((TIMING, (f"{mta} memory PSS MB", _pss_mb(running.server))))
    profile = running.lab.profile
    differences = {item: right for (m, p, item), (right, _) in MTA_DIFFERENCES.items() if (m, p) == (mta, profile)}
    expected = {**{item: "pass" for item in observed}, **EXPECTED[profile], **differences}
    bugs = {item: wrong for (m, p, item), (wrong, _) in KNOWN_CHECK_BUGS.items() if (m, p) == (mta, profile)}
    fixed = {item for item, wrong in bugs.items() if observed.get(item) != wrong}
    assert not fixed, f"known check bug(s) {sorted(fixed)} no longer show: remove them from KNOWN_CHECK_BUGS"
    assert observed == {**expected, **bugs}


def test_the_table_covers_every_check_and_profile() -> None:
    assert set(EXPECTED) == set(PROFILES) == set(GROUND_TRUTH)
    items = {item.split("::")[1] for table in EXPECTED.values() for item in table}
    assert items <= set(CHECKS)
    caught = {item.split("::")[1] for table in EXPECTED.values() for item, v in table.items() if v == "fail"}
    # every check is shown to fail on a real misconfigured Postfix and Exim, except these:
    caught |= {item.split("::")[1] for table in EXPECTED.values() for item, v in table.items() if v == "warn"}
    domain = {name for name, check in CHECKS.items() if check.area is Area.DOMAIN}  # the mail domain: tests/test_domain_lab.py
    assert set(CHECKS) - caught - domain == {
        "starttls_no_injection",  # both discard commands pipelined after STARTTLS (CVE-2011-0411 fixed long ago)
        "auth_after_tls",  # Postfix's sasldb cannot be told to take a wrong password
        "no_mail_service",  # a property of hosts that are not mail servers
        "secure_on_every_address",  # a property of names with several addresses: tests/test_every_address.py
    }


def _pss_mb(server: MtaServer) -> float:
    """Proportional memory of every process in the MTA's namespace, shared pages split fairly."""
    total = 0
    for pid in server.pids():
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except FileNotFoundError:
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:"))
    return total / 1024
