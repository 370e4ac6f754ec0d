"""The host checks wired into pytest: built-in items, markers, fixtures, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smtpsec.host import HOST_CHECKS
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool


@pytest.fixture
def secure_files(lab: LabPool) -> Path:
    """The state dir of the running secure reference sendmail: its cf, mc, certificates and keys."""
    return Path(lab("secure").ca_file).parent


def _host_args(state: Path) -> list[str]:
    return ["--smtpsec-host-config=local", f"--smtpsec-sendmail-cf={state}/sendmail.cf", f"--smtpsec-sendmail-mc={state}/sendmail.mc"]


def test_host_checks_join_the_built_in_suite(pytester: pytest.Pytester, secure_files: Path) -> None:
    result = pytester.runpytest("--smtpsec", *_host_args(secure_files), "-v", "-k", "not saslauthd")
    result.stdout.fnmatch_lines([f"smtpsec::config::{name} PASSED*" for name in HOST_CHECKS if name != "saslauthd_running"])
    result.stdout.no_fnmatch_line("*smtpsec::smtp::*")  # no --smtpsec-host: no network checks
    assert result.ret == pytest.ExitCode.OK


def test_a_broken_key_mode_fails_with_the_fix(pytester: pytest.Pytester, secure_files: Path, tmp_path: Path) -> None:
    cf = (secure_files / "sendmail.cf").read_text()
    key = tmp_path / "private" / "smtpkey.pem"
    key.parent.mkdir(mode=0o700)
    key.write_bytes((secure_files / "private" / "smtpkey.pem").read_bytes())
    key.chmod(0o644)
    broken = tmp_path / "sendmail.cf"
    broken.write_text(cf.replace(str(secure_files / "private" / "smtpkey.pem"), str(key)))
    result = pytester.runpytest("--smtpsec", "--smtpsec-host-config=local", f"--smtpsec-sendmail-cf={broken}", "-k", "key_files_protected")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["key_files_protected on local*INSECURE*", "*0644*", "Fix:", "*chmod*"])


def test_host_check_marker_and_fixtures(pytester: pytest.Pytester, secure_files: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.key_matches_certificate
        def test_pairs(smtpsec_host_facts):
            assert smtpsec_host_facts.name == "local"

        def test_parsed_config(smtpsec_sendmail_cf):
            assert "p" in smtpsec_sendmail_cf.get("AuthOptions").replace(",", " ").split()
        """
    )
    result = pytester.runpytest(*_host_args(secure_files), "-v")
    result.stdout.fnmatch_lines(["*test_pairs PASSED*", "*test_parsed_config PASSED*"])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--smtpsec-host-config=ftp://mail", "*--smtpsec-host-config / smtpsec_host_config: host config 'ftp://mail': expected*"),
        ("--smtpsec-sendmail-cf=etc/mail/sendmail.cf", "*--smtpsec-sendmail-cf / smtpsec_sendmail_cf: must be an absolute path*"),
    ],
)
def test_bad_host_options_are_usage_errors(pytester: pytest.Pytester, arg: str, message: str) -> None:
    result = pytester.runpytest("--smtpsec", "--smtpsec-host-config=local", arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_host_and_network_markers_on_one_test_both_count(
    pytester: pytest.Pytester, lab: LabPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure = lab("secure")
    state = Path(secure.ca_file).parent
    key = tmp_path / "private" / "smtpkey.pem"
    key.parent.mkdir(mode=0o700)
    key.write_bytes((state / "private" / "smtpkey.pem").read_bytes())
    key.chmod(0o644)
    broken = tmp_path / "sendmail.cf"
    broken.write_text((state / "sendmail.cf").read_text().replace(str(state / "private" / "smtpkey.pem"), str(key)))
    monkeypatch.setenv("SMTPSEC_PASSWORD", secure.password)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.key_files_protected
        @pytest.mark.vrfy_expn_disabled
        def test_both():
            pass
        """
    )
    result = pytester.runpytest(*lab_flags(secure), "--smtpsec-host-config=local", f"--smtpsec-sendmail-cf={broken}", "-k", "smtp]")
    result.assert_outcomes(failed=1)  # the network check passes; the host check's failure must not be lost
    result.stdout.fnmatch_lines(["key_files_protected on local*INSECURE*"])
