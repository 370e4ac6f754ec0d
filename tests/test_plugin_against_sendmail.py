"""The plugin as users meet it, against the real reference sendmail: verdicts, failure screens, markers, fixtures."""

from __future__ import annotations

import re

import pytest
from expected_verdicts import item_count

from pytest_smtpsec.lab import LabTarget
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.lab.ports import free_port


def _args(target: LabTarget) -> list[str]:
    """The suite's options for ``target``."""
    return ["--smtpsec", *lab_flags(target), "-p", "no:cacheprovider"]


@pytest.fixture
def secure(lab: LabPool, monkeypatch: pytest.MonkeyPatch) -> LabTarget:
    target = lab("secure")
    monkeypatch.setenv("SMTPSEC_PASSWORD", target.password)
    return target


def test_secure_server_passes_the_whole_suite(pytester: pytest.Pytester, secure: LabTarget) -> None:
    result = pytester.runpytest(*_args(secure), "-v")
    result.stdout.fnmatch_lines(
        [
            "smtpsec::submission::requires_starttls_before_auth PASSED*",
            "smtpsec::smtps::smtps_implicit_tls PASSED*",
            "*smtpsec summary*",
        ]
    )
    assert result.ret == pytest.ExitCode.OK
    target = as_target(secure)
    assert len([line for line in result.stdout.lines if " PASSED " in line]) == item_count(target)


def test_cleartext_auth_fails_with_one_screen_of_evidence(pytester: pytest.Pytester, lab: LabPool, monkeypatch: pytest.MonkeyPatch) -> None:
    target = lab("cleartext-auth")
    monkeypatch.setenv("SMTPSEC_PASSWORD", target.password)
    result = pytester.runpytest(*_args(target), "-k", "requires_starttls_before_auth")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "requires_starttls_before_auth on mail.test submission (127.0.0.1:*): INSECURE",
            "  - AUTH PLAIN LOGIN is offered before TLS (EHLO reply)",
            "  - AUTH PLAIN before TLS was answered 334: the server takes a cleartext password",
            "Expected: cleartext banner; EHLO lists STARTTLS and no password AUTH mechanism*",
            "The note: Ports 25 (smtp) and 587 (submission)*",
            "Fix:",
            "  sendmail:",
            "    define(`confAUTH_OPTIONS', `A p')dnl*",
            "  Postfix:",
            "  Exim:",
            "Evidence (SMTP transcript or certificate; secrets masked):",
            "  C: AUTH PLAIN",
            "  S: 334",
            "  C: AUTH LOGIN",
            "  S: 334 VXNlcm5hbWU6",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*pytest_smtpsec/probe*")
    assert target.password not in result.stdout.str()
    after = result.stdout.str().split("____ smtpsec::submission::requires_starttls_before_auth ____")[1]
    screen = re.split(r"\n(?:____|====)", after)[0]  # up to the next section
    assert len(screen.splitlines()) <= 60, "a failure fits in one screen"


def test_migrate_policy_warns_and_counts_the_ports(pytester: pytest.Pytester, lab: LabPool, monkeypatch: pytest.MonkeyPatch) -> None:
    target = lab("cleartext-auth")
    monkeypatch.setenv("SMTPSEC_PASSWORD", target.password)
    result = pytester.runpytest(*_args(target), "--smtpsec-auth-policy=migrate", "-k", "requires_starttls_before_auth")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(["*SmtpsecWarning: requires_starttls_before_auth on mail.test smtp: tolerated by auth policy 'migrate'*"])


def test_unreachable_port_is_an_error_not_a_failure(pytester: pytest.Pytester, secure: LabTarget) -> None:
    closed = free_port()
    result = pytester.runpytest(*_args(secure), f"--smtpsec-submission-port={closed}", "-k", "submission and requires_starttls")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "requires_starttls_before_auth on mail.test submission (127.0.0.1:*): COULD NOT CHECK",
            f"  127.0.0.1:{closed} [[]connect[]]: connection refused (nothing listens there)",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_unknown_host_is_a_one_line_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--smtpsec", "--smtpsec-host=no-such-host.invalid", "--smtpsec-submission-port=off", "--smtpsec-smtps-port=off",
        "--smtpsec-timeout=3", "-k", "requires_starttls_before_auth",
    )  # fmt: skip
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["  no-such-host.invalid:25 [[]connect[]]: unknown host 'no-such-host.invalid'*"])


def test_markers_and_fixtures_in_a_users_suite(pytester: pytest.Pytester, secure: LabTarget) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_starttls_before_auth
        def test_our_doors(smtpsec_service, smtp_session):
            smtp = smtp_session(smtpsec_service)
            assert "STARTTLS" in smtp.ehlo().keywords()
            assert smtp.starttls().code == 220
            assert "AUTH" in smtp.ehlo().keywords()
            assert smtp.login().code == 235

        @pytest.mark.smtps_implicit_tls
        def test_tls_door(smtp_session, smtpsec_check):
            assert smtpsec_check("certificate_trusted", "smtps").verdict.value == "pass"
            assert smtp_session("smtps").tls.version.startswith("TLSv1.")

        def test_a_failing_test_shows_its_transcript(smtp_session):
            smtp = smtp_session("submission")
            smtp.ehlo()
            assert smtp.command("VRFY postmaster").code == 250
        """
    )
    result = pytester.runpytest(*_args(secure)[1:], "-v")  # no --smtpsec: only the user's tests
    result.stdout.fnmatch_lines(
        [
            "*test_our_doors[[]smtp[]] PASSED*",
            "*test_our_doors[[]submission[]] PASSED*",
            "*test_tls_door[[]smtps[]] PASSED*",
            "*test_a_failing_test_shows_its_transcript FAILED*",
            "*SMTP transcript: submission (secrets masked)*",
            "C: VRFY postmaster",
            "S: 252 2.5.2 Cannot VRFY user*",
        ]
    )
    assert secure.password not in result.stdout.str()


def test_marker_fails_the_test_before_its_body_on_a_bad_server(
    pytester: pytest.Pytester, lab: LabPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = lab("cleartext-auth")
    monkeypatch.setenv("SMTPSEC_PASSWORD", target.password)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_starttls_before_auth
        def test_body_never_runs():
            raise AssertionError("the body ran")
        """
    )
    result = pytester.runpytest(*_args(target)[1:])
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["requires_starttls_before_auth on mail.test smtp (127.0.0.1:*): INSECURE"])
    result.stdout.no_fnmatch_line("*the body ran*")


@pytest.mark.lab  # the fixture starts the reference sendmail
def test_reference_server_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(smtpsec_reference_server):
            from pytest_smtpsec import CHECKS, Probes
            target = smtpsec_reference_server("no-smtps")
            assert target.ports.smtps is None
            result = CHECKS["requires_starttls_before_auth"].run(Probes(target), target.services[1])
            assert result.verdict.value == "pass", result.outcome.reason
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
