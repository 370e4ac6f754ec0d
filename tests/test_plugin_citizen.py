"""pytest-smtpsec is a good citizen: invisible in runs that do not use it, cheap to have installed, and
its ids can be passed back to pytest. Plugin behaviour through real pytest runs (pytester)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pytest_smtpsec.plugin import builtin_check_names
from pytest_smtpsec.registry import builtin_checks

UNRELATED_CONFTEST = """
    import pytest

    @pytest.fixture
    def smtp_target():
        return "localhost:2525"

    @pytest.fixture
    def smtp_session(smtp_target):
        return f"session to {smtp_target}"
"""

UNRELATED_TESTS = """
    import pytest

    @pytest.mark.certificate_valid
    def test_our_own_certificate_marker(smtp_target):
        assert smtp_target == "localhost:2525"

    @pytest.mark.tls_ciphers
    def test_our_own_session(smtp_session):
        assert smtp_session == "session to localhost:2525"
"""


def unrelated_project(pytester: pytest.Pytester) -> None:
    """A project that never heard of us, with its own ``certificate_valid`` marker and ``smtp_*`` fixtures."""
    pytester.makeini(
        """
        [pytest]
        addopts = --strict-markers
        markers =
            certificate_valid: our own certificate test
            tls_ciphers: our own cipher test
        """
    )
    pytester.makeconftest(UNRELATED_CONFTEST)
    pytester.makepyfile(test_unrelated=UNRELATED_TESTS)


def test_an_unrelated_project_runs_unchanged(pytester: pytest.Pytester) -> None:
    unrelated_project(pytester)
    result = pytester.runpytest("-v", "--setup-show")
    result.assert_outcomes(passed=2)
    header = ("platform ", "plugins: ", "rootdir: ", "cachedir: ")  # paths may say smtpsec (a checkout's, a venv's)
    assert not [line for line in result.stdout.lines if "smtpsec" in line and not line.startswith(header)]  # no fixture, no header


def test_an_unrelated_project_sees_only_prefixed_names(pytester: pytest.Pytester) -> None:
    unrelated_project(pytester)
    fixtures = pytester.runpytest("--fixtures").stdout.str()
    ours = {line.split()[0] for line in fixtures.splitlines() if line.startswith("smtp")}
    assert ours >= {"smtp_target", "smtp_session"}  # the project's own, from its conftest
    assert all(name.startswith(("smtpsec_", "smtp_target", "smtp_session")) for name in ours), ours
    markers = pytester.runpytest("--markers").stdout.str()
    assert "@pytest.mark.certificate_valid: our own certificate test" in markers
    assert "@pytest.mark.certificate_valid: run" not in markers
    assert "@pytest.mark.smtpsec_certificate_valid: run the certificate_valid check" in markers


def test_a_project_using_us_keeps_its_own_fixtures(pytester: pytest.Pytester) -> None:
    """Our aliases ``smtp_target`` / ``smtp_session`` lose to a conftest's; our checks use ``smtpsec_target``."""
    pytester.makeconftest(UNRELATED_CONFTEST)
    pytester.makepyfile(
        """
        def test_theirs(smtp_target, smtp_session, smtpsec_target):
            assert smtp_target == "localhost:2525"
            assert smtpsec_target.host == "127.0.0.1"
        """
    )
    pytester.runpytest("--smtpsec-host=127.0.0.1").assert_outcomes(passed=1)


def test_our_prefixed_marker_without_a_host_is_an_error_not_a_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smtpsec_certificate_valid
        def test_needs_a_host():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.smtpsec_certificate_valid needs a mail host to check: give --smtpsec-host*"])


def test_prefixed_and_short_markers_both_parametrise_when_in_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smtpsec_smtps_implicit_tls
        def test_prefixed():
            pass

        @pytest.mark.smtps_implicit_tls
        def test_alias():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "--smtpsec-host=127.0.0.1", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["test_prefixed_and_short_markers_both_parametrise_when_in_use.py::test_prefixed[[]smtps[]]", "*::test_alias[[]smtps[]]"]
    )


def test_builtin_check_names_match_the_registry() -> None:
    """plugin.py names the built-in checks without importing them; keep the two lists equal."""
    assert sorted(c.name for c in builtin_checks()) == sorted(builtin_check_names())


def test_the_entry_point_imports_nothing_heavy() -> None:
    code = textwrap.dedent(
        """
        import sys, pytest
        before = set(sys.modules)
        import pytest_smtpsec.plugin, pytest_smtpsec.fixtures
        new = sorted(set(sys.modules) - before)
        heavy = [m for m in new if m.startswith(("cryptography", "pytest_smtpsec.checks", "pytest_smtpsec.report",
                 "pytest_smtpsec.host", "pytest_smtpsec.probe", "pytest_smtpsec.nodes", "ssl", "grp", "pwd", "xdist"))]
        assert not heavy, heavy
        print(len([m for m in new if m.startswith("pytest_smtpsec")]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert int(out) <= 6  # the package, plugin, fixtures, settings, target, stash


def test_public_names_load_on_first_use() -> None:
    code = "import pytest_smtpsec as p, sys; assert 'cryptography' not in sys.modules; p.Target; p.SmtpsecWarning; print(p.__all__)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_warning_filter_names_our_warning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it():\n    pass\n")
    pytester.runpytest("-W", "error::pytest_smtpsec.SmtpsecWarning").assert_outcomes(passed=1)


@pytest.mark.parametrize("listing", ["--help", "--markers", "--fixtures", "--collect-only"])
def test_listings_need_no_password(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, listing: str) -> None:
    monkeypatch.delenv("SMTPSEC_PASSWORD", raising=False)
    pytester.makeini("[pytest]\nsmtpsec = true\nsmtpsec_host = 127.0.0.1\nsmtpsec_user = probe@example.org\n")
    result = pytester.runpytest(listing)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()


def test_a_run_with_the_user_but_no_password_says_so(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTPSEC_PASSWORD", raising=False)
    pytester.makeini("[pytest]\nsmtpsec = true\nsmtpsec_host = 127.0.0.1\nsmtpsec_user = probe@example.org\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*$SMTPSEC_PASSWORD is empty*"])


INVENTORY = """
[[host]]
name = "mail-a.test"
address = "127.0.0.1"
ports = {{ smtp = "off", submission = "off", smtps = {port} }}
timeout = 1
"""


def test_verbose_ids_can_be_passed_back(pytester: pytest.Pytester) -> None:
    """``-v`` prints the node ids as they are (dotted host names too), and pytest accepts them back."""
    pytester.makefile(".toml", site=INVENTORY.format(port=1))
    args = ["--smtpsec", "--smtpsec-inventory=site.toml", "-p", "no:cacheprovider"]
    result = pytester.runpytest(*args, "-v")
    result.stdout.fnmatch_lines(["site.toml::mail-a.test::smtps::smtps_implicit_tls ERROR*"])
    assert "site::toml" not in result.stdout.str() and "mail-a::test" not in result.stdout.str()
    again = pytester.runpytest(*args, "-v", "site.toml::mail-a.test::smtps::smtps_implicit_tls")
    again.assert_outcomes(errors=1)
    services = pytester.runpytest(*args, "--collect-only", "-q", "site.toml::mail-a.test::smtps")
    services.stdout.fnmatch_lines(["site.toml::mail-a.test::smtps::smtps_implicit_tls", "*deselected*"])
    assert "same_certificate_everywhere" not in services.stdout.str()  # a host-wide check: not under smtps


@pytest.mark.parametrize("inventory", [False, True], ids=["one host", "inventory"])
def test_keyword_selection_by_service_selects_that_service_only(pytester: pytest.Pytester, inventory: bool) -> None:
    """``-k smtps`` selects port 465's tests: no name or marker on the other tests contains "smtps"."""
    pytester.makefile(".toml", site=INVENTORY.format(port=1))
    where = ["--smtpsec-inventory=site.toml"] if inventory else ["--smtpsec-host=mail-a.test"]
    args = ["--smtpsec", *where, "-p", "no:cacheprovider", "--collect-only", "-q"]
    every = [line for line in pytester.runpytest(*args).stdout.lines if "::" in line]
    chosen = [line for line in pytester.runpytest(*args, "-k", "smtps").stdout.lines if "::" in line]
    assert chosen and chosen == [line for line in every if "::smtps::" in line]
    port_25 = [line for line in pytester.runpytest(*args, "-k", "smtp and not smtps").stdout.lines if "::" in line]
    assert port_25 == [line for line in every if "::smtp::" in line]
    host = pytester.runpytest(*args, "-k", "mail-a.test")
    host.stdout.fnmatch_lines([f"{len(every)} tests collected*"])  # the host's name selects its tests, one host too


def test_the_old_selection_marker_name_still_selects_with_a_warning(pytester: pytest.Pytester) -> None:
    args = ["--smtpsec", "--smtpsec-host=mail-a.test", "-p", "no:cacheprovider", "--collect-only", "-q"]
    old = pytester.runpytest(*args, "-m", "smtpsec(service='smtps') and not smtpsec_x")
    new = pytester.runpytest(*args, "-m", "mailsec(service='smtps') and not smtpsec_x")
    assert [line for line in old.stdout.lines if "::" in line] == [line for line in new.stdout.lines if "::" in line]
    old.stdout.fnmatch_lines(["*SmtpsecWarning: -m * the marker on the built-in tests is now mailsec*"])
    assert "SmtpsecWarning" not in new.stdout.str()


def test_a_builtin_id_without_smtpsec_says_what_to_add(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--smtpsec-host=127.0.0.1", "smtpsec::smtps::smtps_implicit_tls")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is a test of the built-in suite: add --smtpsec to run it"])


def test_posix_only_modules_are_not_needed_to_start() -> None:
    """``grp``, ``pwd`` and friends do not exist on Windows: neither the entry point nor a run that uses us needs them."""
    code = (
        "import sys\n"
        "for name in ('grp', 'pwd', 'fcntl', 'termios', 'resource'):\n"
        "    sys.modules[name] = None  # import raises ImportError, as where they do not exist\n"
        "import pytest_smtpsec.plugin, pytest_smtpsec.fixtures, pytest_smtpsec.active\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
