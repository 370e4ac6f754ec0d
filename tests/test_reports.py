"""The reports people and machines read: the terminal grid, ``--smtpsec-json`` (validated against
pytest_smtpsec/report/schema.json), ``--smtpsec-html`` and the JUnit properties.

Most tests read one real run against the reference sendmail (a small site: a secure server, one in
migration, one with VRFY on, one that is down, a quiet and a listening no-mail host). That run is a
subprocess, as ``pytester.runpytest_subprocess`` would start it, shared by the module because pytester
is function-scoped; runs that need other options use pytester itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from expected_verdicts import NEED_A_LOGIN, item_count

from pytest_smtpsec.checks import CHECKS
from pytest_smtpsec.checks.base import Area
from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.probe import CONNECTION_BUDGET
from pytest_smtpsec.report import html_report, summary
from pytest_smtpsec.report.json_report import SCHEMA, Run
from pytest_smtpsec.report.records import Record
from pytest_smtpsec.report.site import site_of
from pytest_smtpsec.target import Role, Service, Target
from pytest_smtpsec.verdict import ErrorKind, Fact, Verdict

SCHEMA_FILE = Path(__file__).parent.parent / "pytest_smtpsec" / "report" / "schema.json"
RUN_TIMEOUT = 240
MAIL_CHECKS = sum(bool(check.places(Target("127.0.0.1", tls_name="mail.test"))) for check in CHECKS.values())  # HTML cells per host
DOWN = Target(
    host="127.0.0.1", name="down.test", role=Role.MAIL_SERVER
)  # nothing listens: could not check, except where no user means skip
DOWN_SKIPS = item_count(DOWN, checks=NEED_A_LOGIN)
DOWN_ERRORS = item_count(DOWN) - DOWN_SKIPS
DOWN_CHECKS = sum(1 for check in CHECKS.values() if check.places(DOWN) and check.name not in NEED_A_LOGIN)
AREAS = ["encr", "logi", "rela", "cert", "tls", "expo", "hard"]  # the grid's columns: one per area of the network checks


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass(frozen=True)
class SmallSite:
    inventory: str
    environ: dict[str, str]
    passwords: tuple[str, ...]


@pytest.fixture(scope="module")
def small_site(lab: LabPool) -> SmallSite:
    labs = lab.start(["secure", "cleartext-auth", "vrfy-on"])
    hosts, environ = [], {}
    for index, (name, profile, extra) in enumerate(
        [
            ("mail1.test", "secure", ""),
            ("mail2.test", "cleartext-auth", 'auth_policy = "migrate"\n'),
            ("mail3.test", "vrfy-on", 'hardening = "fail"\n'),
        ]
    ):
        server = labs[profile]
        environ[f"SMTPSEC_REPORT_PW{index}"] = server.password
        ports = ", ".join(f"{k} = {v}" for k, v in server.ports.items())
        hosts.append(
            f'[[host]]\nname = "{name}"\naddress = "{server.host}"\ntls_name = "{server.tls_name}"\nrole = "mail-server"\n'
            f'ca_file = "{server.ca_file}"\nuser = "{server.user}"\npassword_env = "SMTPSEC_REPORT_PW{index}"\n'
            f"ports = {{ {ports} }}\n{extra}"
        )
    down = ", ".join(f"{s} = {closed_port()}" for s in ("smtp", "submission", "smtps"))
    hosts.append(f'[[host]]\nname = "down.test"\naddress = "127.0.0.1"\nrole = "mail-server"\nports = {{ {down} }}\n')
    hosts.append(f'[[host]]\nname = "www.test"\naddress = "127.0.0.1"\nrole = "no-mail"\nports = {{ {down} }}\n')
    listening = ", ".join(f"{k} = {v}" for k, v in labs["secure"].ports.items())
    hosts.append(f'[[host]]\nname = "printer.test"\naddress = "127.0.0.1"\nrole = "no-mail"\nports = {{ {listening} }}\n')
    return SmallSite("[defaults]\ntimeout = 3\n\n" + "\n".join(hosts), environ, tuple(s.password for s in labs.values()))


@dataclass(frozen=True)
class RunResult:
    path: Path
    stdout: str
    ret: int

    @cached_property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "out" / "report.json").read_text())
        return data

    @cached_property
    def html(self) -> str:
        return (self.path / "out" / "report.html").read_text()

    @cached_property
    def summary(self) -> list[str]:
        """The lines of the smtpsec summary section (without its separator lines)."""
        lines = self.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if "smtpsec summary" in line)
        end = next(i for i in range(start + 1, len(lines)) if re.match(r"^[=-]{3,} ", lines[i]))
        return lines[start + 1 : end]


@pytest.fixture(scope="module")
def site_run(small_site: SmallSite, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    path = tmp_path_factory.mktemp("reports")
    (path / "site.toml").write_text(small_site.inventory)
    args = ["--smtpsec", "--smtpsec-inventory=site.toml", "--smtpsec-json=out/report.json", "--smtpsec-html=out/report.html"]
    args += ["--junitxml=out/junit.xml", "-p", "no:cacheprovider", "-q"]
    environ = {**os.environ, **small_site.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=path, env=environ, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    return RunResult(path, proc.stdout, proc.returncode)


# -- the terminal summary --------------------------------------------------------------------------


def grid(lines: list[str], header_start: str) -> dict[str, dict[str, str]]:
    """Read a group of the grid back: {host: {column: cell}}, cut at the header's column positions."""
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start + " "))
    header = lines[start]
    columns = [(m.group(), m.start()) for m in re.finditer(r"\S+", header)][2:]  # role, conn, then the areas
    rows = {}
    for line in lines[start + 1 :]:
        if not re.match(r"^\S+\s+\d+ ", line):
            break
        rows[line.split()[0]] = {name: line[at : at + 4].strip() for name, at in columns}
    return rows


def test_summary_grid_has_a_row_per_host_and_a_column_per_check(site_run: RunResult) -> None:
    lines = site_run.summary
    assert site_run.ret == pytest.ExitCode.TESTS_FAILED
    assert all(len(line) <= summary.WIDTH for line in lines), max(lines, key=len)
    mail = grid(lines, "mail-server")
    assert list(mail) == ["down.test", "mail1.test", "mail2.test", "mail3.test"]
    assert list(mail["mail1.test"]) == AREAS
    assert mail["mail1.test"] == {area: "pass" for area in AREAS} | {"expo": "-"}  # exposure: the no-mail check
    assert mail["mail2.test"]["encr"] == "warn"  # cleartext AUTH, tolerated by auth policy migrate
    assert mail["mail3.test"]["hard"] == "FAIL"  # VRFY on: a hardening check, and this host's hardening = "fail"
    down = mail["down.test"]  # nothing listens: could not check, except the login checks, which have no user
    assert down == {area: "ERR" for area in AREAS} | {"logi": "skip", "expo": "-"}
    no_mail = grid(lines, "no-mail")
    assert no_mail == {
        "printer.test": {area: "-" for area in AREAS} | {"expo": "FAIL"},
        "www.test": {area: "-" for area in AREAS} | {"expo": "pass"},
    }
    connections = {line.split()[0]: int(line.split()[1]) for line in lines if re.match(r"^mail\d\.test +\d+ ", line)}
    assert set(connections) == {"mail1.test", "mail2.test", "mail3.test"} and max(connections.values()) <= CONNECTION_BUDGET


def test_summary_legend_findings_and_site_facts(site_run: RunResult) -> None:
    text = "\n".join(site_run.summary)
    # four mail servers on all three ports (one down), two no-mail hosts; mail3 fails VRFY on 2 ports, printer
    # listens; mail2 warns on 2 ports (migrate)
    results = 4 * item_count(DOWN) + 2 * item_count(Target(host="www.test", role=Role.NO_MAIL))
    passed = results - 3 - 2 - DOWN_SKIPS - DOWN_ERRORS
    totals = f"{results} results on 6 hosts: {passed} pass, 3 FAIL, 2 warn, {DOWN_SKIPS} skip, {DOWN_ERRORS} ERR"
    assert re.search(rf"^{totals}$", text, re.MULTILINE), text
    assert "encr=encryption logi=login rela=relay cert=certificate tls=tls expo=exposure hard=hardening" in text
    ordered = [
        r"^FAIL printer\.test no_mail_service: port \d+ accepts connections; said '220 ",
        rf"^ERR  down\.test \({DOWN_CHECKS} checks\): 127\.0\.0\.1:\d+ \[connect\]: connection refused \(nothing listens there\)$",
        r"^warn mail2\.test requires_starttls_before_auth \(smtp, submission\): tolerated by auth policy 'migrate",
        r"^hardening, beside the note:$",
        r"^FAIL mail3\.test vrfy_expn_disabled \(smtp, submission\): ",
        r"^mail ports answer on 4 of 6 hosts: mail1\.test, mail2\.test, mail3\.test, printer\.test$",
        r"^no-mail hosts listening on mail ports \(1\): printer\.test$",
        r"^cleartext AUTH still allowed by auth policy 'migrate' \(1\): mail2\.test \(smtp, submission\)$",
    ]
    at = 0
    for pattern in ordered:
        found = re.compile(pattern, re.MULTILINE).search(text, at)
        assert found, f"{pattern!r} not found after offset {at} in:\n{text}"
        at = found.end()


def mail_records(host: str, role: Role, verdict: str = "pass") -> list[Record]:
    """Synthetic records for every check that applies to a host of ``role``, one per service."""
    records = []
    for check in CHECKS.values():
        for service in check.places(Target(host=host, role=role)):
            address = f"127.0.0.1:{service.default_port}" if service else "127.0.0.1"
            records.append(
                Record(
                    host,
                    role.value,
                    address,
                    service,
                    check.name,
                    check.title,
                    check.area,
                    check.hardening,
                    Verdict(verdict),
                    "ok",
                    connections=5,
                )
            )
    return records


def test_summary_of_a_big_site_fits_100_columns_one_row_per_host() -> None:
    records = [r for i in range(1, 5) for r in mail_records(f"mail{i}.faculty.example.org", Role.MAIL_SERVER)]
    records += [r for i in range(1, 37) for r in mail_records(f"ws{i}.faculty.example.org", Role.NO_MAIL)]
    lines = summary.plain(summary.render(site_of(records))).splitlines()
    assert all(len(line) <= summary.WIDTH for line in lines)
    assert lines[0] == f"{len(records)} results on 40 hosts: {len(records)} pass"
    rows = [line.split(".")[0] for line in lines if re.match(r"^(mail|ws)\d+\.faculty\.example\.org +\d+ ", line)]
    assert rows[:5] == ["mail1", "mail2", "mail3", "mail4", "ws1"] and rows.index("ws2") < rows.index("ws10")  # natural order
    assert len(rows) == 40 and len(lines) < 40 + 12
    assert "no findings: every check passed or was skipped" in lines


def test_a_mail_domain_is_a_row_of_its_own_but_not_counted_as_a_host() -> None:
    domain = Target(host="mail.example.org", domain="example.org")
    checks = [check for check in CHECKS.values() if check.area is Area.DOMAIN]
    records = mail_records("mail.example.org", Role.MAIL_SERVER)
    records += [Record("example.org", "mail-server", "", None, c.name, c.title, c.area, c.hardening, Verdict.PASS, "ok") for c in checks]
    assert all(check.places(domain) for check in checks)
    site = site_of(records)
    assert [h.is_domain for h in site.hosts] == [True, False] or [h.is_domain for h in site.hosts] == [False, True]
    lines = summary.plain(summary.render(site)).splitlines()
    assert lines[0] == f"{len(records)} results on 1 host and 1 mail domain: {len(records)} pass"
    assert any(re.match(r"^mail ports answer on \d of 1 hosts", line) for line in lines), lines


def test_a_host_name_too_long_for_the_grid_gets_a_line_of_its_own() -> None:
    long_name = "a-very-long-host-name-that-would-push-the-grid-past-the-edge.mail.example.org"
    records = mail_records(long_name, Role.MAIL_SERVER, "fail") + mail_records("mx.other.example.net", Role.MAIL_SERVER)
    lines = summary.plain(summary.render(site_of(records))).splitlines()
    assert long_name in lines and all(len(line) <= summary.WIDTH for line in lines)
    row = lines[lines.index(long_name) + 1]
    assert row.split()[:2] == ["5", "FAIL"]
    assert any(re.match(r"^mx\.other\.example\.net +5 pass", line) for line in lines)


def test_summary_is_shown_with_q_and_only_when_checks_ran(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-q", "--smtpsec-json=r.json")
    result.stdout.no_fnmatch_line("*smtpsec summary*")
    empty = json.loads(pytester.path.joinpath("r.json").read_text())
    assert (empty["schema"], empty["hosts"], empty["results"], empty["run"]["exit_name"]) == (SCHEMA, [], [], "OK")
    validate_all(empty)
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--smtpsec-json=PATH*write the results as JSON*", "*--smtpsec-html=PATH*self-contained HTML*"])


# -- the JSON report -------------------------------------------------------------------------------

_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}
_KNOWN = {"type", "const", "enum", "required", "properties", "additionalProperties", "items", "minimum", "anyOf", "$ref"}
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}


def small_validate(instance: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """The subset of JSON Schema the report schema uses; refuses any other keyword rather than ignore it."""
    unknown = set(schema) - _KNOWN - _ANNOTATIONS
    assert not unknown, f"small_validate does not know {unknown} (at {path})"
    if "$ref" in schema:
        target: dict[str, Any] = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return small_validate(instance, target, root, path)
    if "anyOf" in schema:
        if all(small_validate(instance, option, root, path) for option in schema["anyOf"]):
            return [f"{path}: matches none of anyOf"]
        return []
    kind = schema.get("type")
    if kind and (not isinstance(instance, _TYPES[kind]) or (isinstance(instance, bool) and kind in ("integer", "number"))):
        return [f"{path}: expected {kind}, got {type(instance).__name__}"]
    errors = []
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} not one of {schema['enum']}")
    if "minimum" in schema and isinstance(instance, int | float) and instance < schema["minimum"]:
        errors.append(f"{path}: {instance} < {schema['minimum']}")
    if isinstance(instance, dict):
        errors += [f"{path}: missing {key!r}" for key in schema.get("required", []) if key not in instance]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {key!r}" for key in instance if key not in properties]
        for key, sub in properties.items():
            if key in instance:
                errors += small_validate(instance[key], sub, root, f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            errors += small_validate(item, schema["items"], root, f"{path}[{i}]")
    return errors


def validate_all(report: dict[str, Any]) -> None:
    """Validate with jsonschema when it is installed (the test extra), and always with the small validator."""
    schema = json.loads(SCHEMA_FILE.read_text())
    assert small_validate(report, schema, schema) == []
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(report)


def test_json_report_validates_against_the_documented_schema(site_run: RunResult) -> None:
    report = site_run.report
    assert report["schema"] == SCHEMA == json.loads(SCHEMA_FILE.read_text())["properties"]["schema"]["const"]
    validate_all(report)


def test_the_small_validator_catches_what_it_should(site_run: RunResult) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    broken = json.loads(json.dumps(site_run.report))
    broken["results"][0]["verdict"] = "FAIL"
    broken["hosts"][0]["connections"] = -1
    del broken["run"]["duration"]
    broken["totals"]["extra"] = 1
    broken["results"][1]["service"] = 25
    errors = small_validate(broken, schema, schema)
    assert len(errors) == 5, errors


def test_json_report_content(site_run: RunResult, small_site: SmallSite) -> None:
    report = site_run.report
    assert report["run"]["exit_status"] == 1 and report["run"]["exit_name"] == "TESTS_FAILED"
    assert report["run"]["duration"] > 0 and report["run"]["started"].endswith("+00:00")
    hosts = {h["name"]: h for h in report["hosts"]}
    assert list(hosts) == ["down.test", "mail1.test", "mail2.test", "mail3.test", "printer.test", "www.test"]
    assert 0 < hosts["mail1.test"]["connections"] <= CONNECTION_BUDGET and hosts["mail1.test"]["address"] == "127.0.0.1"
    assert hosts["mail2.test"]["verdicts"]["warn"] == 2
    assert hosts["down.test"]["verdicts"]["error"] == DOWN_ERRORS
    for name, host in hosts.items():  # a host's counts add up to its results
        assert sum(host["verdicts"].values()) == sum(1 for r in report["results"] if r["host"] == name)
    assert (
        report["totals"]["results"] == len(report["results"]) == sum(report["totals"][v] for v in ("pass", "fail", "warn", "skip", "error"))
    )
    assert report["site"] == {
        "offering_mail": ["mail1.test", "mail2.test", "mail3.test", "printer.test"],
        "no_mail_listening": ["printer.test"],
        "cleartext_auth_migrate": [{"host": "mail2.test", "services": ["smtp", "submission"]}],
    }
    (printer,) = [r for r in report["results"] if r["host"] == "printer.test"]
    assert printer["verdict"] == "fail" and len(printer["findings"]) == 3 and printer["service"] is None
    assert printer["nodeid"] == "site.toml::printer.test::no_mail_service" and "ports 25, 465 and 587" in printer["note"]
    (migrating,) = [r for r in report["results"] if r["host"] == "mail2.test" and r["service"] == "smtp" and r["verdict"] == "warn"]
    assert migrating["check"] == "requires_starttls_before_auth" and "AUTH PLAIN" in migrating["transcript"]
    assert "confAUTH_OPTIONS" in migrating["fix"] and migrating["seconds"] >= 0 and not migrating["hardening"]
    vrfy = [r for r in report["results"] if r["check"] == "vrfy_expn_disabled" and r["verdict"] == "fail"]
    assert {r["host"] for r in vrfy} == {"mail3.test"} and all(r["hardening"] for r in vrfy)
    raw = (site_run.path / "out" / "report.json").read_text()
    for password in small_site.passwords:  # transcripts are masked before they reach any report
        assert password not in raw and password not in site_run.html


# -- JUnit XML -------------------------------------------------------------------------------------


def test_junit_xml_carries_host_role_service_check_and_verdict(site_run: RunResult) -> None:
    tree = ET.parse(site_run.path / "out" / "junit.xml")
    cases = {(c.get("classname"), c.get("name")): c for c in tree.iter("testcase")}
    assert len(cases) == len(site_run.report["results"])
    for result in site_run.report["results"]:
        parts = result["nodeid"].split("::")
        case = cases[(".".join(parts[:-1]), parts[-1])]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        role = next(h["role"] for h in site_run.report["hosts"] if h["name"] == result["host"])
        assert properties == {
            "smtpsec_host": result["host"],
            "smtpsec_role": role,
            "smtpsec_service": result["service"] or "host",
            "smtpsec_check": result["check"],
            "smtpsec_verdict": result["verdict"],
        }
        failed = case.find("failure") is not None
        assert failed == (result["verdict"] == "fail"), result["nodeid"]
        assert (case.find("error") is not None) == (result["verdict"] == "error"), result["nodeid"]


# -- the HTML report -------------------------------------------------------------------------------


def test_html_report_is_one_self_contained_page_with_the_grid(site_run: RunResult) -> None:
    page = site_run.html
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?(https?:|//)", page) and "<link" not in page and "@import" not in page
    assert page.count("<script") == 1 and "Content-Security-Policy" in page
    printer = re.search(r'<th class="host" scope="row" title="127\.0\.0\.1">printer\.test</th>.*?</tr>', page)
    assert printer and '<a class="cell v-fail" href="#d-' in printer.group() and ">FAIL</a>" in printer.group()
    assert page.count('<section class="detail"') == 4 * MAIL_CHECKS + 2
    assert "<li><b>6</b> hosts</li>" in page and '<li class="v-fail"><b>3</b> FAIL</li>' in page
    assert "Servers still allowing cleartext AUTH (auth policy 'migrate'): <b>1</b>: mail2.test (smtp, submission)" in page


HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def test_html_escapes_everything_a_server_or_inventory_said() -> None:
    records = [
        Record(
            target=f"evil{HOSTILE}.test",
            role="no-mail",
            address="127.0.0.1",
            service=None,
            check="no_mail_service",
            title=f"title {HOSTILE}",
            area=Area.EXPOSURE,
            hardening=False,
            verdict=Verdict.FAIL,
            reason=f"reason {HOSTILE}",
            findings=(f"port 25 accepts connections; said '220 {HOSTILE}'",),
            transcript=f"S: 220 {HOSTILE}\nC: EHLO x\nS: 500 </pre></section>{HOSTILE}",
            note=f"note {HOSTILE}",
            fix=f"fix {HOSTILE}",
            nodeid=f"site.toml::evil{HOSTILE}::no_mail_service",
        )
    ]
    page = html_report.render(site_of(records), Run(started=dt.datetime.now(dt.UTC), duration=1.0, exit_status=1))
    assert page.count("<script") == 1 and "<img" not in page and "</pre></section><" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page


def test_a_record_travels_as_plain_data_and_comes_back_the_same() -> None:
    """The transport form (a report attribute xdist serialises) is built field by field: it must name them all."""
    record = Record(
        target="mail.example.org",
        role="mail-server",
        address="127.0.0.1:25",
        service=Service.SMTP,
        check="no_mail_service",
        title="t",
        area=Area.EXPOSURE,
        hardening=True,
        verdict=Verdict.ERROR,
        reason="r",
        findings=("a", "b"),
        transcript="S: 220",
        note="n",
        fix="f",
        error=ErrorKind.UNREACHABLE,
        facts=frozenset({Fact.LISTENS_BUT_MUST_NOT}),
        seconds=0.5,
        connections=3,
        nodeid="site.toml::mail.example.org::smtp::no_mail_service",
        rank=(1, 2),
    )
    data = record.to_dict()
    assert set(data) == {f.name for f in fields(Record)}
    assert json.loads(json.dumps(data)) == data and Record.from_dict(data) == record


def test_xdist_workers_report_through_the_controller(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, small_site: SmallSite, site_run: RunResult
) -> None:
    """With -n 2 the records cross from the workers; the ini keys name the files; -q still shows the grid."""
    for name, value in small_site.environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "100")
    pytester.path.joinpath("site.toml").write_text(small_site.inventory)
    pytester.makeini("[pytest]\nsmtpsec = true\nsmtpsec_inventory = site.toml\nsmtpsec_json = out/r.json\nsmtpsec_html = out/r.html\n")
    result = pytester.runpytest_subprocess("-n", "2", "-q", "-p", "no:cacheprovider", timeout=RUN_TIMEOUT)
    result.stdout.fnmatch_lines(["*smtpsec summary*", "mail1.test * pass pass*", "*smtpsec JSON report: *out/r.json*", "*smtpsec HTML*"])
    report = json.loads(pytester.path.joinpath("out", "r.json").read_text())
    validate_all(report)

    def verdicts(data: dict[str, Any]) -> set[tuple[str, str]]:
        return {(r["nodeid"], r["verdict"]) for r in data["results"]}

    assert verdicts(report) == verdicts(site_run.report)
    assert [(h["name"], h["connections"]) for h in report["hosts"]] == [(h["name"], h["connections"]) for h in site_run.report["hosts"]]
    assert pytester.path.joinpath("out", "r.html").read_text().count('<a class="cell v-fail"') == 2
