"""Every example runs against the real reference sendmail, so none of them rots.

The examples are copied as they are; only what must point at the lab changes: command-line options
(which win over the examples' ini files) and, for the site, the addresses in a copy of the inventory.
The CI files are checked to parse and to name only scripts, profiles and options that exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from expected_verdicts import item_count

from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.lab import PROFILES, LabTarget
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.settings import OPTIONS, PASSWORD_ENV
from pytest_smtpsec.target import Role, Service, Target

EXAMPLES = Path(__file__).parent.parent / "examples"
MAIL_PORTS = (25, 465, 587)


def quiet_loopback() -> str:
    """A loopback address where nothing listens on 25, 465 or 587: a host that punts its mail."""
    for last in range(2, 32):
        address = f"127.0.0.{last}"
        if not any(_listening(address, port) for port in MAIL_PORTS):
            return address
    pytest.skip("every loopback address answers on a mail port here")


def _listening(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((address, port)) == 0


def copy_example(name: str, pytester: pytest.Pytester) -> Path:
    shutil.copytree(EXAMPLES / name, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return pytester.path


# -- examples/single-server ------------------------------------------------------------------------


def run_single_server(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, target: LabTarget) -> pytest.RunResult:
    copy_example("single-server", pytester)
    monkeypatch.setenv(PASSWORD_ENV, target.password)
    return pytester.runpytest_inprocess(
        *lab_flags(target), "-o", f"webmail_host={quiet_loopback()}", "--strict-config", "-p", "no:cacheprovider", "-p", "no:benchmark"
    )


@pytest.mark.lab
def test_single_server_passes_against_the_secure_reference(
    lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure = lab("secure")
    result = run_single_server(pytester, monkeypatch, secure)
    own = 2 + 1 + 1  # no_password_before_tls on 25 and 587, submission after TLS, webmail
    result.assert_outcomes(passed=item_count(as_target(secure)) + own)


@pytest.mark.lab
def test_single_servers_own_tests_catch_cleartext_auth(lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_single_server(pytester, monkeypatch, lab("cleartext-auth"))
    failed = {line.split()[1] for line in result.stdout.lines if line.startswith("FAILED ")}
    assert failed == {
        "test_submission.py::test_no_password_before_tls[smtp]",
        "test_submission.py::test_no_password_before_tls[submission]",
        "smtpsec::smtp::requires_starttls_before_auth",
        "smtpsec::submission::requires_starttls_before_auth",
    }
    result.stdout.fnmatch_lines(["requires_starttls_before_auth on * submission (*): INSECURE", "*answered 334*"])


# -- examples/site ---------------------------------------------------------------------------------


def toml(data: dict[str, Any]) -> str:
    """Just enough TOML for an inventory: [defaults] and [[host]] tables of strings, numbers, inline tables."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v) if isinstance(v, str) else str(v)

    lines = ["[defaults]", *(f"{k} = {value(v)}" for k, v in data.get("defaults", {}).items())]
    for host in data["host"]:
        lines += ["", "[[host]]", *(f"{k} = {value(v)}" for k, v in host.items())]
    return "\n".join(lines) + "\n"


def site_on_the_lab(mail: Target, quiet: str, *, listening: str | None = None) -> tuple[str, dict[str, str]]:
    """The department's inventory with its mail servers on ``mail`` and every other host on ``quiet``
    (``listening``: one no-mail host on ``mail`` instead); and the environment it needs."""
    original = tomllib.loads((EXAMPLES / "site" / "department.toml").read_text())
    assert mail.credentials is not None and mail.ca_file is not None
    lab_ports = {s.value: mail.ports.of(s) for s in Service}
    defaults = {**original.get("defaults", {}), "ca_file": str(mail.ca_file)}
    hosts, env = [], {}
    for host in original["host"]:
        host = dict(host)
        if host.get("role", defaults.get("role")) == Role.NO_MAIL.value and host["name"] != listening:
            host["address"] = quiet
        else:
            host.update(address=mail.host, tls_name=mail.tls_name, ports=lab_ports)
            if "user" in host:
                host["user"] = mail.credentials.user
                env[host["password_env"]] = mail.credentials.password
        hosts.append(host)
    return toml({"defaults": defaults, "host": hosts}), env


def run_site(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, lab: LabPool, *args: str, listening: str | None = None
) -> pytest.RunResult:
    copy_example("site", pytester)
    text, env = site_on_the_lab(as_target(lab("secure")), quiet_loopback(), listening=listening)
    (pytester.path / "department.toml").write_text(text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return pytester.runpytest_inprocess("--strict-config", "-p", "no:cacheprovider", "-p", "no:benchmark", *args)


def test_the_site_inventory_is_valid_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPT_PROBE_PASSWORD", "secret")
    hosts = load_inventory(EXAMPLES / "site" / "department.toml")
    roles = [h.role for h in hosts]
    assert roles.count(Role.MAIL_SERVER) + roles.count(Role.RELAY_ONLY) == 2
    assert roles.count(Role.NO_MAIL) >= 8


@pytest.mark.lab
def test_site_passes_with_its_mail_servers_on_the_reference(
    lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_site(pytester, monkeypatch, lab)
    hosts = load_inventory(pytester.path / "department.toml")
    own = len(hosts) + 1  # the role policy once per host; the smtps banner on the one host with 465
    # mx offers TLS on port 25 only: same_certificate_everywhere compares it with and without SNI
    result.assert_outcomes(passed=sum(item_count(h) for h in hosts) + own)


@pytest.mark.lab
def test_site_selects_the_quiet_hosts_by_role(lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_site(pytester, monkeypatch, lab, "-m", "mailsec(role='no-mail')", "-v")
    quiet = [h for h in load_inventory(pytester.path / "department.toml") if h.role is Role.NO_MAIL]
    result.assert_outcomes(passed=len(quiet), deselected=None)
    assert all(h.name in result.stdout.str() or h.name.replace(".", "::") in result.stdout.str() for h in quiet)


@pytest.mark.lab
def test_site_catches_a_workstation_that_listens(lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_site(pytester, monkeypatch, lab, "-m", "mailsec(role='no-mail')", listening="ws-03.dept.example.org")
    failed = [line.split()[1] for line in result.stdout.lines if line.startswith("FAILED ")]
    assert failed == ["department.toml::ws-03.dept.example.org::no_mail_service"]
    result.stdout.fnmatch_lines(["no_mail_service on ws-03.dept.example.org*: INSECURE", "*accepts connections*"])


# -- examples/ci -----------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    """PyYAML when installed; otherwise a structural check that the file is block YAML without tabs."""
    text = path.read_text()
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        assert "\t" not in text and re.search(r"^\w[\w.-]*:", text, re.M), f"{path} does not look like YAML"
        return None
    return yaml.safe_load(text)


def scripts_of(path: Path) -> list[str]:
    """The shell lines a CI file runs (``run:`` blocks and ``script:`` items), folded lines joined."""
    data = load_yaml(path)
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script", "before_script") and isinstance(value, str):
                    found.extend(value.splitlines())
                elif key in ("script", "before_script") and isinstance(value, list):
                    found.extend(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if data is None:
        return [m for m in re.findall(r"^\s*(?:-\s+|run:\s+)(.*)$", path.read_text(), re.M)]
    walk(data)
    return found


CI_FILES = sorted(EXAMPLES.glob("ci/*.yml"))


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.name)
def test_ci_files_parse_and_have_the_jobs_of_the_guide(path: Path) -> None:
    data = load_yaml(path)
    if data is None:
        return
    if "jobs" in data:  # GitHub Actions; PyYAML reads the key `on` as True
        assert {"gate-selftest", "staging", "production"} <= set(data["jobs"])
        assert {True, "on"} & set(data), "the workflow names its triggers"
        for name, job in data["jobs"].items():
            assert "runs-on" in job and job["steps"], name
            assert all("run" in step or "uses" in step for step in job["steps"]), name
    else:  # GitLab CI
        stages = data["stages"]
        jobs = {k: v for k, v in data.items() if isinstance(v, dict) and not k.startswith(".")}
        assert {"gate-selftest", "staging", "production"} <= set(jobs)
        for name, job in jobs.items():
            assert job["stage"] in stages, name
            assert job.get("extends", ".smtpsec") in data, name
            assert job["script"], name


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.name)
def test_ci_files_name_scripts_profiles_and_options_that_exist(path: Path) -> None:
    flags = {"--smtpsec", *(o.flag for o in OPTIONS)}
    gates = 0
    for line in scripts_of(path):
        words = shlex.split(line.replace("$", ""), comments=True) if line.strip() else []
        for i, word in enumerate(words):
            if word.endswith("lab-gate.sh"):
                gates += 1
                assert (EXAMPLES / "ci" / Path(word).name).is_file(), word
                assert words[i + 1] in PROFILES and words[i + 2] in ("pass", "fail"), line
            if word.startswith("--smtpsec"):
                assert word.split("=")[0] in flags, word
    assert gates == 2, "the self-test runs lab-gate.sh on a secure and a broken profile"


@pytest.mark.lab
def test_lab_gate_passes_on_secure_and_catches_a_broken_profile(lab: LabPool, pytester: pytest.Pytester) -> None:
    """The script the CI files call, run as they call it, on the single-server example."""
    project = copy_example("single-server", pytester)
    quiet = quiet_loopback()
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop(PASSWORD_ENV, None)
    for profile, expect in (("secure", "pass"), ("cleartext-auth", "fail")):
        proc = subprocess.run(
            ["bash", str(EXAMPLES / "ci" / "lab-gate.sh"), profile, expect, "-q", "-o", f"webmail_host={quiet}"],
            cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert f"lab-gate: {'passed' if expect == 'pass' else 'failed'}, as it should" in proc.stdout
