"""The secret scan: run the whole built-in suite with a known password and every output on, then look for
the password, and its base64 as AUTH PLAIN / AUTH LOGIN carry it, in everything the run printed or wrote.

Against fakes that take the password, echo it back in a reply, in garbage and in a cut-off line, and
against the real reference sendmail (profiles ``secure`` and ``cleartext-auth``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fakes import HOST, PASSWORD, USER, fake, write_ca_file

from pytest_smtpsec.lab.errors import LabError
from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.probe.connection import WITHHELD
from pytest_smtpsec.probe.transcript import secret_forms
from pytest_smtpsec.target import Service

FAKE_RUNS = {
    # name: ((smtp, submission, smtps), what the output must show, so that the scan is not vacuous)
    "logins": (
        ("any_password", "well_behaved", "well_behaved_smtps"),
        [
            "PASSED smtpsec::submission::auth_after_tls",
            "PASSED smtpsec::smtps::auth_after_tls",
            "SMTP transcript: submission (secrets masked)",  # the user's own failing test, with its login
        ],
    ),
    "echo-garbage-partial": (
        ("busy_421", "echo_auth_garbage", "echo_auth_partial_smtps"),
        [
            "garbage reply: not an SMTP reply [text withheld: it answers a command that carried the password]",
            "bytes [text withheld: it answers a command that carried the password])",
        ],
    ),
    "echo-replies": (
        ("starttls_drop", "echo_auth_reply", "echo_auth_login_smtps"),
        [f"535 5.7.8{WITHHELD}"],
    ),
}
USER_TESTS = """
import pytest


def test_own_session_logs_in_then_fails(smtp_session):
    smtp = smtp_session("submission")
    smtp.ehlo()
    smtp.starttls()
    smtp.ehlo()
    reply = smtp.login()
    pytest.fail(f"failing on purpose after the login ({reply.code}), so that the transcript is attached")


@pytest.mark.auth_after_tls
def test_marked_with_a_check(smtpsec_service):
    pass
"""


REPORTS = {"--smtpsec-json": "report.json", "--smtpsec-html": "report.html"}
_help: list[str] = []


def _report_options(pytester: pytest.Pytester) -> list[str]:
    """Every report the plugin can write, as far as this version has them."""
    if not _help:
        _help.append(pytester.runpytest("--help", "-p", "no:hypothesispytest").stdout.str())
    return [f"{flag}={pytester.path / name}" for flag, name in REPORTS.items() if flag in _help[0]]


def run_and_scan(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    target: list[str],
    user: str,
    password: str,
    *,
    user_tests: bool = True,
    suite: bool = True,
) -> str:
    """Run the built-in suite and/or a user's own tests with every output on; fail if any secret form
    shows anywhere. Returns stdout.

    Long tracebacks with locals matter only where an exception can come from a user's test: the plugin
    prints its own results as text whatever --tb says, and long style costs ~0.4 s per result.
    """
    monkeypatch.setenv("SMTPSEC_PASSWORD", password)
    if user_tests:
        pytester.makepyfile(test_own=USER_TESTS)
    tracebacks = ["--tb=long", "--showlocals"] if user_tests else ["--tb=native"]
    args = [*(["--smtpsec"] if suite else []), *target, f"--smtpsec-user={user}", "-vv", "-rA", *tracebacks, "-p", "no:hypothesispytest"]
    reports = _report_options(pytester)
    args += [f"--junitxml={pytester.path / 'junit.xml'}", "-o", "junit_logging=all", *reports]
    args += [f"--basetemp={pytester.path / 'basetemp'}"]  # all the run writes is under pytester.path, scanned below
    result = pytester.runpytest(*args)
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    outputs |= {str(p): p.read_text("utf-8", "replace") for p in Path(pytester.path).rglob("*") if p.is_file()}
    written = [pytester.path / "junit.xml", *(Path(option.split("=", 1)[1]) for option in reports)]
    assert [path.name for path in written if not path.is_file()] == []
    leaks = [f"{form!r} in {where}" for where, text in outputs.items() for form in secret_forms(password, user) if form in text]
    assert not leaks, f"secrets leaked: {leaks}"
    return outputs["stdout"]


@pytest.mark.parametrize(("faults", "proofs"), list(FAKE_RUNS.values()), ids=list(FAKE_RUNS))
def test_no_secret_leaks_from_runs_against_fakes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, faults: tuple[str, str, str], proofs: list[str]
) -> None:
    with fake(faults[0]) as smtp, fake(faults[1]) as submission, fake(faults[2]) as smtps:
        ports = [f"--smtpsec-{s.value}-port={f.port}" for s, f in zip(Service, (smtp, submission, smtps), strict=True)]
        target = [f"--smtpsec-host={HOST}", "--smtpsec-timeout=2", f"--smtpsec-ca-file={write_ca_file(pytester.path)}", *ports]
        # The user's own login needs a submission port that lets it in: only the "logins" run has one.
        stdout = run_and_scan(pytester, monkeypatch, target, USER, PASSWORD, user_tests=faults[1] == "well_behaved")
    # The password was taken (logins), or came back and was masked (echoes).
    assert [proof for proof in proofs if proof not in stdout] == []


@pytest.mark.parametrize("profile", ["secure", "cleartext-auth"])
def test_no_secret_leaks_from_runs_against_the_reference_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, lab: LabPool, profile: str
) -> None:
    try:
        server = lab(profile)
    except LabError as exc:
        pytest.skip(f"no reference sendmail here: {exc}")
    target = [f"--smtpsec-host={server.host}", f"--smtpsec-tls-name={server.tls_name}", f"--smtpsec-ca-file={server.ca_file}"]
    target += [f"--smtpsec-{s.value}-port={server.ports.get(s.value) or 'off'}" for s in Service]
    stdout = run_and_scan(pytester, monkeypatch, [*target, "--smtpsec-timeout=5"], server.user, server.password)
    assert "PASSED smtpsec::submission::auth_after_tls" in stdout
    assert "PASSED test_own.py::test_marked_with_a_check" in stdout


def test_no_secret_leaks_when_a_users_own_login_breaks(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake("echo_auth_garbage") as submission:
        target = [f"--smtpsec-host={HOST}", "--smtpsec-timeout=2", "--smtpsec-smtp-port=off", "--smtpsec-smtps-port=off"]
        run_and_scan(pytester, monkeypatch, [*target, f"--smtpsec-submission-port={submission.port}"], USER, PASSWORD, suite=False)


def test_an_unexpected_error_in_the_auth_path_keeps_no_frame_with_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug or an odd server (a renegotiation request, a password that will not encode) while the password
    is on its way: the session ends with a one-line error that has no traceback, no chain, and no secret."""
    import traceback

    from fakes import SmtpFake, fake

    from pytest_smtpsec.checks import CHECKS, run_at
    from pytest_smtpsec.probe import Connection, Probes
    from pytest_smtpsec.target import Credentials, Ports, Target

    real_send = Connection.send

    def send(self: Connection, *lines: str, shown: str | None = None, stage: str = "send") -> None:
        if shown is not None:  # a line that carries the password
            raise UnicodeEncodeError("utf-8", lines[0], 0, 1, "surrogates not allowed")
        real_send(self, *lines, shown=shown, stage=stage)

    monkeypatch.setattr(Connection, "send", send)
    server: SmtpFake
    with fake("well_behaved_smtps") as server, tempfile.TemporaryDirectory() as tmp:  # type: ignore[assignment]
        target = Target(
            HOST, ports=Ports(None, None, server.port), ca_file=write_ca_file(Path(tmp)), credentials=Credentials(USER, PASSWORD)
        )
        probes = Probes(target)
        session = probes.session(Service.SMTPS)
        error = session.error
        assert error is not None and error.__traceback__ is None and error.__context__ is None and error.__cause__ is None
        result = run_at(CHECKS["auth_after_tls"], probes, Service.SMTPS)  # re-raised there: the judge's frames only
    assert result.verdict.value == "error" and "unexpected UnicodeEncodeError in the probe" in result.outcome.reason
    shown = "".join(traceback.format_exception(error)) + result.outcome.reason + result.outcome.transcript + session.transcript
    assert not [secret for secret in secret_forms(PASSWORD, USER) if secret in shown]
