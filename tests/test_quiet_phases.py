"""Built-in items run their phases past pytest's capture and logging wrappers (``nodes.QuietHooks``): nothing
else about them changes (reports, -x, --lf, -k, JUnit XML, xdist), users' own tests are captured as before, and
what a site's own phase hook prints for a built-in item reaches the terminal rather than being lost."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

SITE = """
[[host]]
name = "mail-a.test"
address = "127.0.0.1"
ports = { smtp = "off", submission = "off", smtps = 1 }
timeout = 1

[[host]]
name = "printer.test"
address = "127.59.0.1"
role = "no-mail"
timeout = 1
"""
"""Two hosts that answer at once: mail-a refuses its one port (ERRORs, and skips), nothing listens on printer (a pass)."""

PASSED = "site.toml::printer.test::no_mail_service"

CONFTEST = """
import logging
import pytest

def pytest_runtest_setup(item):
    print(f"site hook says: setting up {item.nodeid}")
    logging.getLogger("site").warning("site hook logs: %s", item.nodeid)
"""

USER_TEST = """
def test_prints_and_fails():
    print("user test output")
    assert False
"""


@pytest.fixture
def site(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", site=SITE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--smtpsec", "--smtpsec-inventory=site.toml", *args, timeout=120)


def test_outcomes_and_a_sites_phase_hook_output(site: pytest.Pytester) -> None:
    site.makeconftest(CONFTEST)
    site.makepyfile(test_user=USER_TEST)
    result = run(site, "-rA", "-p", "no:cacheprovider")
    assert {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed")} == {"passed": 1, "failed": 1}
    out = result.stdout.str()
    assert f"site hook says: setting up {PASSED}" in out  # not captured for a built-in item: printed, not lost
    # a user's test is captured as before, the site hook's output for it too
    result.stdout.fnmatch_lines(
        [
            "*- Captured stdout setup -*",
            "site hook says: setting up test_user.py::test_prints_and_fails",
            "*- Captured log setup -*",
            "*site hook logs: test_user.py::test_prints_and_fails",
            "*- Captured stdout call -*",
            "user test output",
        ]
    )
    result.stdout.fnmatch_lines(["*_ ERROR at setup of smtps_implicit_tls on site.toml::mail-a.test::smtps _*"])  # the headline


def test_exitfirst_junitxml_and_keyword_selection(site: pytest.Pytester) -> None:
    first = run(site, "-x", "-p", "no:cacheprovider", "site.toml::mail-a.test")
    first.assert_outcomes(errors=1)
    first.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    run(site, "-p", "no:cacheprovider", "-k", "no-mail").assert_outcomes(passed=1)  # the role is a keyword
    run(site, "-p", "no:cacheprovider", f"--junitxml={site.path / 'junit.xml'}")
    cases = {c.get("name"): c for c in ET.parse(site.path / "junit.xml").iter("testcase")}
    errors = {name for name, case in cases.items() if case.find("error") is not None}
    assert {"smtps_implicit_tls", "certificate_valid"} <= errors and "no_mail_service" not in errors
    properties = {p.get("name"): p.get("value") for p in cases["no_mail_service"].iter("property")}
    assert properties["smtpsec_host"] == "printer.test" and properties["smtpsec_verdict"] == "pass"


def test_last_failed_reruns_the_errors_by_id(site: pytest.Pytester) -> None:
    first = run(site, "-v")
    errors = sorted(line.split()[0] for line in first.stdout.lines if line.endswith(("ERROR", "]")) and " ERROR" in line)
    assert errors and first.parseoutcomes()["errors"] == len(errors)
    again = run(site, "--lf", "-v")
    assert sorted(line.split()[0] for line in again.stdout.lines if " ERROR" in line and "::" in line.split()[0]) == errors
    again.assert_outcomes(errors=len(errors))


def test_xdist_runs_them_alike(site: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    site.makepyfile(test_user=USER_TEST)
    result = run(site, "-n", "2", "-p", "no:cacheprovider")
    assert {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed")} == {"passed": 1, "failed": 1}
    result.stdout.fnmatch_lines(["*- Captured stdout call -*", "user test output"])
