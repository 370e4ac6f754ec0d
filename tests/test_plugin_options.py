"""Plugin behaviour that needs no server: options, ini keys, usage errors, markers, ids."""

from __future__ import annotations

import pytest


def test_suite_ids_read_service_then_check(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "smtpsec::smtp::requires_starttls_before_auth",
            "smtpsec::submission::requires_starttls_before_auth",
            "smtpsec::smtps::smtps_implicit_tls",
        ]
    )
    assert result.ret == 0


def test_port_off_drops_that_service(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-smtps-port=off", "--collect-only", "-q")
    result.stdout.no_fnmatch_line("*smtps_implicit_tls*")
    result.stdout.fnmatch_lines(["smtpsec::submission::requires_starttls_before_auth"])


def test_ini_keys_configure_the_target(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        smtpsec = true
        smtpsec_host = 127.0.0.1
        smtpsec_tls_name = mail.test
        smtpsec_smtp_port = off
        smtpsec_smtps_port = off
        smtpsec_submission_port = 2587
        smtpsec_timeout = 2.5
        """
    )
    result = pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(["smtpsec: mail.test at 127.0.0.1 (submission 2587); role mail-server; auth policy enforce; timeout 2.5 s"])
    result.stdout.fnmatch_lines(["*<SmtpsecCollector submission>", "*<NetworkCheckItem requires_starttls_before_auth>"])
    result.stdout.no_fnmatch_line("*<SmtpsecCollector smtp>")
    result.stdout.no_fnmatch_line("*<SmtpsecCollector smtps>")


def test_command_line_beats_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsmtpsec_host = 192.0.2.1\n")
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--collect-only")
    result.stdout.fnmatch_lines(["smtpsec: 127.0.0.1 at 127.0.0.1 *"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smtpsec-smtp-port=seventy"], "*--smtpsec-smtp-port / smtpsec_smtp_port: not a port number or 'off': 'seventy'*"),
        (["--smtpsec-submission-port=70000"], "*port out of range 1-65535: 70000*"),
        (["--smtpsec-timeout=-1"], "*timeout must be between 0 and 600 seconds*"),
        (["--smtpsec-ca-file=/nonexistent/ca.pem"], "*--smtpsec-ca-file / smtpsec_ca_file: no such file: /nonexistent/ca.pem*"),
        (["--smtpsec-auth-policy=maybe"], "*--smtpsec-auth-policy*auth policy must be one of 'migrate', 'enforce', not 'maybe'*"),
        (["--smtpsec-smtp-port=off", "--smtpsec-submission-port=off", "--smtpsec-smtps-port=off"], "*every port is 'off'*"),
        (["--smtpsec-user=alice"], "*a user is set but $SMTPSEC_PASSWORD is empty*"),
    ],
)
def test_bad_values_are_usage_errors(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.delenv("SMTPSEC_PASSWORD", raising=False)
    result = pytester.runpytest("--smtpsec-host=127.0.0.1", *args)
    result.stderr.fnmatch_lines([message])
    result.stderr.no_fnmatch_line("*Traceback*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_suite_without_host_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec")
    result.stderr.fnmatch_lines(["*--smtpsec needs something to check: --smtpsec-host, --smtpsec-inventory or --smtpsec-host-config*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_markers_are_registered_with_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers", "--smtpsec-host=127.0.0.1")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.smtpsec_requires_starttls_before_auth: run the requires_starttls_before_auth check (*) before the test, "
            "once on each of smtp, submission the target offers.",
            "@pytest.mark.requires_starttls_before_auth: alias of smtpsec_requires_starttls_before_auth *",
            "@pytest.mark.smtpsec_smtps_implicit_tls: run the smtps_implicit_tls check (*) before the test, once on each of smtps the *",
        ]
    )


def test_marked_test_is_parametrised_over_applicable_services(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_starttls_before_auth
        def test_doors():
            pass

        @pytest.mark.smtps_implicit_tls
        def test_tls_door():
            pass
        """
    )
    result = pytester.runpytest("--smtpsec-host=127.0.0.1", "--smtpsec-smtp-port=off", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_doors[[]submission[]]", "*test_tls_door[[]smtps[]]", "2 tests collected*"])


def test_password_is_never_taken_from_the_command_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec-password=hunter2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --smtpsec-password=hunter2*"])


def test_smtp_target_without_host_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(smtpsec_target):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*no mail host configured: give --smtpsec-host*"])
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize("password", ["caf\udce9-not-utf-8", "two\r\nlines"])
def test_a_password_the_probe_cannot_send_is_a_usage_error_that_never_shows_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    """An undecodable byte (os.environ keeps it as a surrogate) or CR/LF: refused at start-up, exit 4."""
    monkeypatch.setenv("SMTPSEC_PASSWORD", password)
    result = pytester.runpytest_subprocess("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-user=alice", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*$SMTPSEC_PASSWORD is not valid UTF-8 text without control characters*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = result.stdout.str() + result.stderr.str()
    assert "not-utf-8" not in shown and "lines" not in shown


def test_a_port_25_that_is_an_mx_is_not_asked_for_logins(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """--smtpsec-smtp-role=mx (ini smtpsec_smtp_role): the login checks leave port 25, everything else stays."""
    monkeypatch.setenv("SMTPSEC_PASSWORD", "pw")
    pytester.makeini("[pytest]\nsmtpsec_smtp_role = mx\n")
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-user=alice", "--collect-only", "-q")
    ids = set(result.stdout.lines)
    assert "smtpsec::smtp::relay_denied_unauthenticated" in ids and "smtpsec::smtp::requires_starttls_before_auth" in ids
    assert "smtpsec::smtp::auth_after_tls" not in ids and "smtpsec::submission::auth_after_tls" in ids
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-smtp-role=submission", "--collect-only", "-q")
    assert "smtpsec::smtp::auth_after_tls" in set(result.stdout.lines)  # the command line beats the ini file
    result = pytester.runpytest("--smtpsec", "--smtpsec-host=127.0.0.1", "--smtpsec-smtp-role=relay")
    result.stderr.fnmatch_lines(["*--smtpsec-smtp-role*'relay'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
