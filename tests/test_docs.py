"""The docs cannot rot: generated parts match the code, every name they use exists, every check and
option is documented, and their complete examples run against the reference sendmail.

Generated parts sit between ``<!-- BEGIN GENERATED name -->`` and ``<!-- END GENERATED name -->``;
``SMTPSEC_WRITE_DOCS=1 pytest tests/test_docs.py`` rewrites them (the failure screens are captured
from the real reference sendmail, so that needs root, like the rest of the lab).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from lab_files import PORTS, paths_of

from pytest_smtpsec.checks import CHECKS, NetworkCheck, ServiceCheck
from pytest_smtpsec.host import HOST_CHECKS, HostCheck, HostFacts, HostPaths, LocalRunner
from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.lab import PROFILES
from pytest_smtpsec.lab.__main__ import main as lab_main
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.pki import CA, self_signed_cert
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.lab.prepare import prepare
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.report import failure
from pytest_smtpsec.settings import OPTIONS, PASSWORD_ENV
from pytest_smtpsec.target import AuthPolicy, Role, Service, ServiceRole, Target
from pytest_smtpsec.verdict import CheckResult, Verdict, failed

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
CHECK_PAGES = DOCS / "checks"
EXAMPLES = ROOT / "examples"
MATRIX = DOCS / "detection-matrix.md"
WRITE = bool(os.environ.get("SMTPSEC_WRITE_DOCS"))
REGENERATE = "SMTPSEC_WRITE_DOCS=1 pytest tests/test_docs.py"
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="the reference sendmail needs root")
ALL_CHECKS: dict[str, NetworkCheck | HostCheck] = {**CHECKS, **HOST_CHECKS}


def texts() -> dict[Path, str]:
    """Everything a reader reads: the docs, the README and the examples."""
    files = [ROOT / "README.md", *DOCS.rglob("*.md"), *(p for p in (ROOT / "examples").rglob("*") if p.is_file())]
    return {p: p.read_text() for p in sorted(files) if "__pycache__" not in p.parts}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- generated regions -----------------------------------------------------------------------------

REGION = re.compile(r"(<!-- BEGIN GENERATED (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED (?P=name) -->)", re.S)


def regions(text: str) -> dict[str, str]:
    return {m["name"]: m["body"] for m in REGION.finditer(text)}


def with_region(text: str, name: str, body: str) -> str:
    def put(m: re.Match[str]) -> str:
        return m[1] + body + m[4] if m["name"] == name else m[0]

    return REGION.sub(put, text)


def check_or_write(path: Path, name: str, body: str) -> None:
    """Assert that ``path``'s region ``name`` reads ``body``; in write mode, make it so first."""
    text = path.read_text()
    assert name in regions(text), f"{rel(path)} has no region {name!r}: add <!-- BEGIN GENERATED {name} --> ... END"
    if WRITE:
        path.write_text(with_region(text, name, body))
        text = path.read_text()
    assert regions(text)[name] == body, f"{rel(path)}: generated region {name!r} is stale; run {REGENERATE}"


def where(check: NetworkCheck) -> str:
    if not isinstance(check, ServiceCheck):
        return "the host as a whole: one test per host"
    ports = ", ".join(f"{s.value} ({s.default_port})" for s in check.services) + ": one test per service"
    if tuple(check.service_roles) != tuple(ServiceRole):
        ports += " used for " + " or ".join(f"`{r.value}`" for r in check.service_roles)
    return ports


# -- the detection matrix, read from its generated page ---------------------------------------------


@dataclass(frozen=True)
class Caught:
    scenario: str
    item: str  # "<service or host>::<check>"
    verdict: str  # "fail" or "warn"

    @property
    def check(self) -> str:
        return self.item.split("::")[1]

    @property
    def service(self) -> str:
        return self.item.split("::")[0]


def _mixed(lab: LabPool, tmp: Path) -> Target:
    secure, wrong = as_target(lab("secure")), as_target(lab("wrong-hostname"))
    both = tmp / "both-cas.pem"
    both.write_bytes(secure.ca_file.read_bytes() + wrong.ca_file.read_bytes())  # type: ignore[union-attr]
    return replace(secure, ports=replace(secure.ports, smtps=wrong.ports.smtps), ca_file=both, credentials=None)


SCENARIOS: dict[str, Callable[[LabPool, Path], Target]] = {
    **{name: lambda lab, tmp, name=name: as_target(lab(name)) for name in PROFILES},  # type: ignore[misc]
    "no-mail host, sendmail listening": lambda lab, tmp: replace(as_target(lab("secure")), role=Role.NO_MAIL),
    "mixed certificates (smtps from wrong-hostname)": _mixed,
}
"""The matrix's scenarios a page can show a capture of (as tests/test_detection_matrix.py builds them)."""
SERVICE_ORDER = ["submission", "smtps", "smtp", "host"]
"""Which service's screen a page shows when several fail alike: the note's port 587 first."""


def caught() -> list[Caught]:
    """Every FAIL and warn cell of docs/detection-matrix.md, in column order."""
    first_table = MATRIX.read_text().split("\n## ")[0]  # the sendmail grid; the server axis follows it
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in first_table.splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    cells = [
        Caught(scenario, row[0].strip("`"), {"**FAIL**": "fail", "warn": "warn"}[value])
        for column, scenario in enumerate(header[1:], start=1)
        for row in body
        if (value := row[column]) in ("**FAIL**", "warn")
    ]
    return cells


def caught_by(check: str) -> list[Caught]:
    """The scenarios that trip ``check``, one cell each: its failures, or its warnings if it never fails."""
    cells = [c for c in caught() if c.check == check and c.scenario in SCENARIOS]
    verdict = "fail" if any(c.verdict == "fail" for c in cells) else "warn"
    mine = [c for c in cells if c.verdict == verdict]
    return [
        min((c for c in mine if c.scenario == s), key=lambda c: SERVICE_ORDER.index(c.service))
        for s in dict.fromkeys(c.scenario for c in mine)
    ]


def trips(check: str) -> str:
    return ", ".join(link_scenario(c.scenario) + (" (warns)" if c.verdict == "warn" else "") for c in caught_by(check))


def link_scenario(scenario: str) -> str:
    return f"`{scenario}`" if scenario in PROFILES else scenario


# -- renderers -------------------------------------------------------------------------------------


def services_of(check: NetworkCheck) -> list[str]:
    return [s.value for s in check.services] if isinstance(check, ServiceCheck) else []


def render_summary(check: NetworkCheck) -> str:
    services = services_of(check) or ["host"]
    ids = ", ".join(f"`smtpsec::{s}::{check.name}`" if s != "host" else f"`smtpsec::{check.name}`" for s in services)
    kind = "hardening, beside the note: reported apart from the note's own rules" if check.hardening else "the note's own rule"
    caught_on = (
        trips(check.name) + " ([detection matrix](../detection-matrix.md))"
        if caught_by(check.name)
        else "no profile of the reference sendmail (see [What a failure looks like](#what-a-failure-looks-like))"
    )
    return "\n".join(
        [
            f"# {check.name}",
            "",
            f"**{check.title}**",
            "",
            "| | |",
            "|---|---|",
            f"| Runs on | {where(check)} |",
            f"| Host roles | {', '.join(r.value for r in check.roles)} |",
            f"| Area | {check.area.value} |",
            f"| Kind | {kind} |",
            f"| Test ids | {ids} |",
            f"| Marker | `@pytest.mark.{check.name}` |",
            f"| Caught on the reference sendmail by | {caught_on} |",
            "",
            f"**Expected:** {check.expected}",
            "",
            f"**The note:** {check.note}",
            "",
            "**Fix**, as the failure screen prints it:",
            "",
            "```",
            check.fix.render(),
            "```",
            "",
        ]
    )


def render_host_summary(check: HostCheck) -> str:
    return "\n".join(
        [
            f"# {check.name}",
            "",
            f"**{check.title}**",
            "",
            "| | |",
            "|---|---|",
            "| Runs on | the mail server's own host, read locally or over ssh (`--smtpsec-host-config`): one test per run |",
            "| Kind | host check: the note's steps on the server itself |",
            f"| Test id | `smtpsec::config::{check.name}` |",
            f"| Marker | `@pytest.mark.{check.name}` (needs `--smtpsec-host-config`) |",
            "| Caught on the reference sendmail by | a copy of the `secure` profile's files, broken as shown below |",
            "",
            f"**Expected:** {check.expected}",
            "",
            f"**The note:** {check.note}",
            "",
            "**Fix**, as the failure screen prints it:",
            "",
            "```",
            check.fix.render(),
            "```",
            "",
        ]
    )


def render_host_index() -> str:
    lines = ["| Host check | What it proves |", "|---|---|"]
    lines += [f"| [`{c.name}`]({c.name}.md) | {c.title} |" for c in HOST_CHECKS.values()]
    return "\n".join(lines) + "\n"


def render_check_index() -> str:
    lines = ["| Check | What it proves | Runs on | Caught on the reference sendmail by |", "|---|---|---|---|"]
    for check in CHECKS.values():
        runs = ", ".join(services_of(check)) or "host"
        if check.roles == (Role.NO_MAIL,):
            runs += " (no-mail hosts)"
        by = trips(check.name) or "–"
        title = check.title.replace(" (hardening)", "") + (" *(hardening)*" if check.hardening else "")
        lines.append(f"| [`{check.name}`]({check.name}.md) | {title} | {runs} | {by} |")
    return "\n".join(lines) + "\n"


def render_options() -> str:
    lines = [
        "| Option | ini key | Inventory key (per host) | What it does |",
        "|---|---|---|---|",
        "| `--smtpsec` | `smtpsec` (true/false) | – | run the built-in acceptance suite against the configured hosts (default off) |",
    ]
    for option in OPTIONS:
        per_host = f"`{option.per_host}`" if option.per_host else "–"
        lines.append(f"| `{option.flag}` {option.metavar} | `{option.key}` | {per_host} | {option.help} |")
    return "\n".join(lines) + "\n"


def render_markers() -> str:
    lines = ["| Marker | Runs the check | Once per |", "|---|---|---|"]
    for check in CHECKS.values():
        per = ", ".join(services_of(check)) or "host"
        lines.append(f"| `@pytest.mark.smtpsec_{check.name}` | [{check.title}](checks/{check.name}.md) | {per} |")
    for host_check in HOST_CHECKS.values():
        lines.append(f"| `@pytest.mark.smtpsec_{host_check.name}` | [{host_check.title}](checks/{host_check.name}.md) | run (host check) |")
    return "\n".join(lines) + "\n"


def render_roles() -> str:
    lines = ["| Role | Must offer | Checks that run |", "|---|---|---|"]
    for role in Role:
        offers = ", ".join(f"{s.value} ({s.default_port})" for s in role.services) or "nothing on 25, 465, 587"
        checks = [c for c in CHECKS.values() if c.places(Target(host="mail.example.org", role=role))]
        listed = ", ".join(f"[`{c.name}`](checks/{c.name}.md)" for c in checks)
        lines.append(f"| `{role.value}` | {offers} | {len(checks)}: {listed} |")
    return "\n".join(lines) + "\n"


def render_file(path: Path) -> str:
    return f"[`{rel(path)}`](../../{rel(path)}):\n\n```yaml\n{path.read_text()}```\n"


def generated() -> dict[tuple[Path, str], Callable[[], str]]:
    """Every generated region (except the captured failure screens) and what renders it."""
    found: dict[tuple[Path, str], Callable[[], str]] = {
        (CHECK_PAGES / "index.md", "checks"): render_check_index,
        (CHECK_PAGES / "index.md", "host-checks"): render_host_index,
        (DOCS / "configuration.md", "options"): render_options,
        (DOCS / "configuration.md", "markers"): render_markers,
        (DOCS / "configuration.md", "roles"): render_roles,
    }
    for name in ("github-actions", "gitlab-ci"):
        found[(DOCS / "guides" / "ci-gating.md", name)] = lambda name=name: render_file(EXAMPLES / "ci" / f"{name}.yml")  # type: ignore[misc]
    for check in CHECKS.values():
        found[(CHECK_PAGES / f"{check.name}.md", "summary")] = lambda check=check: render_summary(check)  # type: ignore[misc]
    for host_check in HOST_CHECKS.values():
        found[(CHECK_PAGES / f"{host_check.name}.md", "summary")] = lambda c=host_check: render_host_summary(c)  # type: ignore[misc]
    return found


@pytest.mark.parametrize(("path", "name"), list(generated()), ids=lambda v: rel(v) if isinstance(v, Path) else v)
def test_generated_parts_are_current(path: Path, name: str) -> None:
    assert path.is_file(), f"{rel(path)} is missing"
    check_or_write(path, name, generated()[(path, name)]())


# -- completeness ----------------------------------------------------------------------------------


def test_every_check_has_a_page_and_no_page_names_a_missing_check() -> None:
    pages = {p.stem for p in CHECK_PAGES.glob("*.md")} - {"index"}
    assert pages == set(ALL_CHECKS), (
        f"missing pages: {sorted(set(ALL_CHECKS) - pages)}; pages of no check: {sorted(pages - set(ALL_CHECKS))}"
    )


def test_every_check_page_has_the_sections_a_postmaster_needs() -> None:
    sections = ["## What it verifies", "## Why", "## How it probes", "## What a failure looks like", "## How to fix it"]
    for name in ALL_CHECKS:
        text = (CHECK_PAGES / f"{name}.md").read_text()
        missing = [s for s in sections if s not in text]
        assert not missing, f"docs/checks/{name}.md lacks {missing}"
        fix = text.split("## How to fix it", 1)[1]
        assert "sendmail" in fix and "Postfix" in fix, f"docs/checks/{name}.md: give the sendmail and the Postfix fix"
        if caught_by(name) or name in HOST_CHECKS:
            assert "failure" in regions(text), f"docs/checks/{name}.md: the reference sendmail trips it, so show the captured screen"
        else:
            assert "no profile of the reference sendmail" in text


@dataclass(frozen=True)
class Help:
    """What the plugin registers, read from pytest's own help output (so options added anywhere count)."""

    options: frozenset[str]
    ini: frozenset[str]
    markers: frozenset[str]
    fixtures: frozenset[str]
    builtin_fixtures: frozenset[str]


_REGISTERED: list[Help] = []


@pytest.fixture
def registered(pytester: pytest.Pytester) -> Help:
    """Read once per worker from ``pytest --help`` and ``--fixtures`` (in-process, so it is quick), in a run
    that uses the plugin (a host given), so the aliases it registers then count too."""
    if not _REGISTERED:
        flags = ("-p", "no:cacheprovider", "-p", "no:benchmark", "--smtpsec-host=mail.example.org")
        text = pytester.runpytest_inprocess("--help", *flags).stdout.str()
        options = frozenset(re.findall(r"^\s+(--smtpsec[\w-]*)", text, re.M))
        ini = frozenset(re.findall(r"^\s+(smtpsec\w*) \(", text, re.M))
        listing = pytester.runpytest_inprocess("--fixtures", *flags).stdout.str()
        sections = re.split(r"-+ fixtures defined from ", listing)
        ours = "".join(section for section in sections if section.startswith("pytest_smtpsec."))
        every = frozenset(re.findall(r"^(\w+)(?: \[\w+ scope\])? -- ", listing, re.M))
        mine = frozenset(re.findall(r"^(\w+)(?: \[\w+ scope\])? -- ", ours, re.M))
        markers = frozenset(str(m).split(":")[0].split("(")[0] for m in pytester.parseconfigure(*flags).getini("markers"))
        _REGISTERED.append(Help(options, ini, markers, mine, every - mine))
    return _REGISTERED[0]


def test_every_option_and_ini_key_is_in_the_configuration_reference(registered: Help) -> None:
    text = (DOCS / "configuration.md").read_text()
    assert registered.options >= {o.flag for o in OPTIONS}
    assert not [o for o in registered.options if f"`{o}`" not in text], "options missing from docs/configuration.md"
    assert not [k for k in registered.ini if f"`{k}`" not in text], "ini keys missing from docs/configuration.md"


def test_every_fixture_and_marker_is_in_the_configuration_reference(registered: Help) -> None:
    text = (DOCS / "configuration.md").read_text()
    assert {"smtp_target", "smtp_session", "smtpsec_check"} <= registered.fixtures
    missing = [f for f in registered.fixtures if not f.startswith("_") and f"### `{f}`" not in text]
    assert not missing, f"fixtures without a section in docs/configuration.md: {missing}"
    plugin_markers = {f"smtpsec_{name}" for name in ALL_CHECKS} | {"smtpsec"}
    assert plugin_markers <= registered.markers
    assert not [m for m in plugin_markers if f"pytest.mark.{m}" not in text and f"`{m}(" not in text]


# -- every name the docs use exists ----------------------------------------------------------------

BUILTIN_MARKERS = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "xdist_group"}
SMTPSEC_KWARGS = {
    "host": None,
    "role": {*(r.value for r in Role), "host-config"},
    "service": {*(s.value for s in Service), "host", "config"},
}
"""The keyword arguments the plugin puts on its items' ``smtpsec`` marker, and their values."""
JUNIT_PROPERTIES = {"smtpsec_host", "smtpsec_role", "smtpsec_service", "smtpsec_check", "smtpsec_verdict"}


def test_docs_name_only_options_and_ini_keys_that_exist(registered: Help) -> None:
    bad = []
    for path, text in texts().items():
        for option in re.findall(r"(?<![\w-])--smtpsec(?:-[a-z0-9]+)*", text):
            if option not in registered.options:
                bad.append(f"{rel(path)}: {option}")
        for key in re.findall(r"(?<![\w.$/-])smtpsec_[a-z_]+\b", text):
            if key not in registered.ini | registered.fixtures | JUNIT_PROPERTIES:
                bad.append(f"{rel(path)}: {key}")
    assert not bad, "names of no option, ini key or fixture: " + ", ".join(sorted(set(bad)))


def _marker_expressions(text: str) -> Iterator[str]:
    """The expressions given to pytest's ``-m`` (not ``python -m module``)."""
    for m in re.finditer(r"""(?<![\w-])-m[ =](?:"([^"]+)"|'([^']+)'|([A-Za-z_]\w*))""", text):
        if not re.search(r"python[\d.]*\"?\s*$", text[max(0, m.start() - 40) : m.start()], re.I):
            yield m[1] or m[2] or m[3]


def test_docs_name_only_markers_that_exist(registered: Help) -> None:
    known = registered.markers | BUILTIN_MARKERS
    bad = []
    for path, text in texts().items():
        for name in re.findall(r"pytest\.mark\.(\w+)", text):
            if name not in known:
                bad.append(f"{rel(path)}: pytest.mark.{name}")
        for expression in _marker_expressions(text):
            for call in re.finditer(r"smtpsec\(([^)]*)\)", expression):
                for key, value in re.findall(r"""(\w+)\s*=\s*['"]([^'"]*)['"]""", call[1]):
                    allowed = SMTPSEC_KWARGS.get(key, set())
                    if key not in SMTPSEC_KWARGS or (allowed is not None and value not in allowed):
                        bad.append(f"{rel(path)}: -m {expression!r}: {key}={value!r}")
            bare = re.sub(r"""(['"]).*?\1|\w+\s*=""", "", expression)
            for name in re.findall(r"[A-Za-z_]\w*", bare):
                if name not in known | {"and", "or", "not"}:
                    bad.append(f"{rel(path)}: -m {expression!r}: {name}")
    assert not bad, "markers that do not exist: " + ", ".join(sorted(set(bad)))


def test_docs_name_only_checks_that_exist() -> None:
    services = {s.value for s in Service}
    bad = []
    for path, text in texts().items():
        names = re.findall(r"""(?:smtpsec_check|CHECKS\[)\(?\s*["'](\w+)["']""", text)
        names += re.findall(r"\bchecks/(\w+)\.md", text)
        for m in re.finditer(r"::(smtp|submission|smtps|config)::(\w+)", text):
            names.append(m[2])
        for m in re.finditer(r"\bsmtpsec::(\w+)(?!::)\b", text):
            if m[1] not in services:
                names.append(m[1])
        bad += [f"{rel(path)}: {n}" for n in names if n not in ALL_CHECKS and n != "index"]
    assert not bad, "checks that do not exist: " + ", ".join(sorted(set(bad)))


def test_links_between_docs_resolve() -> None:
    bad = []
    for path, text in texts().items():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                bad.append(f"{rel(path)} -> {target}")
    assert not bad, "broken links: " + ", ".join(bad)


def test_commands_the_docs_give_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m pytest_smtpsec.lab SUB --flags`` (or ``smtpsec-lab SUB``) and ``scripts/...`` as written in the docs and examples."""
    helps: dict[str, str] = {}
    bad = []
    for path, text in texts().items():
        joined = re.sub(r"\\\n\s*", " ", text)
        for m in re.finditer(r"(?:-m pytest_smtpsec\.lab|(?:^|(?<=[\s`])|(?<=bin/))smtpsec-lab)\b([^\n|;&)`]*)", joined):
            words = shlex.split(m[1].split(" -- ")[0].replace("$", "").replace("{", "").replace("}", ""))
            if not words or words[0].startswith("-"):
                continue
            sub = words[0]
            if sub not in helps:
                with pytest.raises(SystemExit):
                    lab_main([sub, "--help"])
                helps[sub] = capsys.readouterr().out
            bad += [f"{rel(path)}: lab {sub} {w}" for w in words[1:] if w.startswith("--") and w.split("=")[0] not in helps[sub]]
            if "invalid choice" in helps[sub] or not helps[sub]:
                bad.append(f"{rel(path)}: lab {sub}")
        for script in re.findall(r"(?<![\w/.-])(scripts/[\w-]+)", text):
            if not (ROOT / script).is_file():
                bad.append(f"{rel(path)}: {script}")
    assert not bad, "commands that do not exist: " + ", ".join(sorted(set(bad)))


# -- snippets: complete examples in the docs are run -----------------------------------------------


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    lang: str
    title: str
    body: str


FENCE = re.compile(r'^```(?P<lang>\w+)(?: title="(?P<title>[^"]+)")?\n(?P<body>.*?)^```$', re.M | re.S)


def snippets(path: Path) -> list[Snippet]:
    text = path.read_text()
    return [Snippet(path, text[: m.start()].count("\n") + 1, m["lang"], m["title"] or "", m["body"]) for m in FENCE.finditer(text)]


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_python_snippets_parse_and_use_fixtures_that_exist(registered: Help) -> None:
    known = registered.fixtures | registered.builtin_fixtures | {"request", "pytester"}
    bad = []
    for page in [ROOT / "README.md", *doc_pages()]:
        code = [s for s in snippets(page) if s.lang == "python"]
        defined = set()
        for snippet in code:
            try:
                tree = ast.parse(snippet.body)
            except SyntaxError as exc:
                bad.append(f"{rel(page)}:{snippet.line}: {exc}")
                continue
            defined |= {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and _is_fixture(f)}
        for snippet in code:
            for func in (f for f in ast.walk(ast.parse(snippet.body)) if isinstance(f, ast.FunctionDef)):
                if func.name.startswith("test_") or _is_fixture(func):
                    params = _parametrized(func)
                    bad += [f"{rel(page)}:{snippet.line}: fixture {a.arg}" for a in func.args.args if a.arg not in known | defined | params]
    assert not bad, ", ".join(bad)


def _is_fixture(func: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in func.decorator_list)


def _parametrized(func: ast.FunctionDef) -> set[str]:
    names: set[str] = set()
    for d in func.decorator_list:
        if isinstance(d, ast.Call) and "parametrize" in ast.unparse(d.func) and isinstance(d.args[0], ast.Constant):
            names |= {n.strip() for n in str(d.args[0].value).split(",")}
    return names


def test_inventory_snippets_load(tmp_path: Path) -> None:
    """Every TOML inventory shown in the docs is valid (passwords and CA files made up for the test)."""
    shown = [
        s for page in doc_pages() for s in snippets(page) if s.lang == "toml" and s.title.endswith(".toml") and s.title != "pyproject.toml"
    ]
    assert shown, "the docs show no inventory"
    for snippet in shown:
        data = tomllib.loads(snippet.body)
        env = {h[k]: "secret" for h in [data.get("defaults", {}), *data.get("host", [])] for k in ("password_env",) if k in h}
        for table in [data.get("defaults", {}), *data.get("host", [])]:
            if "ca_file" in table:
                (tmp_path / table["ca_file"]).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / table["ca_file"]).write_text("")
        path = tmp_path / snippet.title
        path.write_text(snippet.body)
        assert load_inventory(path, env), f"{rel(snippet.path)}:{snippet.line}"


def runnable_pages() -> list[Path]:
    return [p for p in doc_pages() if any(s.title and s.lang == "python" for s in snippets(p))]


def lab_flags(target: Target) -> list[str]:
    """Command-line flags that point the plugin at a lab target (they override any ini key)."""
    assert target.credentials is not None
    ports = [f"--smtpsec-{s.value}-port={target.ports.of(s) or 'off'}" for s in Service]
    return [
        f"--smtpsec-host={target.host}",
        f"--smtpsec-tls-name={target.tls_name}",
        f"--smtpsec-ca-file={target.ca_file}",
        f"--smtpsec-user={target.credentials.user}",
        *ports,
    ]


@needs_root
@pytest.mark.parametrize("page", runnable_pages(), ids=rel)
def test_complete_examples_in_the_docs_pass_against_the_reference_sendmail(
    page: Path, lab: LabPool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Titled snippets (```python title="test_x.py"```, ini and pyproject files) are written out and run."""
    for snippet in snippets(page):
        if (
            snippet.title
            and snippet.lang in ("python", "ini", "toml")
            and not (snippet.lang == "toml" and snippet.title != "pyproject.toml")
        ):
            pytester.path.joinpath(snippet.title).write_text(snippet.body)
    target = as_target(lab("secure"))
    assert target.credentials is not None
    monkeypatch.setenv(PASSWORD_ENV, target.credentials.password)
    result = pytester.runpytest_inprocess(
        *lab_flags(target), "--strict-config", "--strict-markers", "-p", "no:cacheprovider", "-p", "no:benchmark"
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) > 0, result.stdout.str()


# -- failure screens captured from the reference sendmail ------------------------------------------


def normalise(text: str, ports: dict[str, int | None], ca_file: Path | str | None = None) -> str:
    """Lab ports become the standard ones and temporary paths fixed ones, so pages do not churn."""
    for service, port in ports.items():
        if port:
            text = re.sub(rf"(?:(?<=[:\"])|(?<=port )){port}\b", str(Service(service).default_port), text)
    if ca_file is not None:
        text = text.replace(str(ca_file), f"/tmp/lab/{Path(ca_file).name}")
    text = re.sub(r"/tmp/smtpsec-lab-\w+", "/tmp/smtpsec-lab", text)
    return re.sub(r"\S*/pytest_smtpsec/", ".../pytest_smtpsec/", text)


def target_ports(target: Target) -> dict[str, int | None]:
    return {s.value: target.ports.of(s) for s in Service}


def run_check(lab: LabPool, tmp: Path, spec: Caught, policy: AuthPolicy = AuthPolicy.ENFORCE) -> tuple[Target, CheckResult]:
    target = replace(SCENARIOS[spec.scenario](lab, tmp), name="mail.test", auth_policy=policy)
    service = None if spec.service == "host" else Service(spec.service)
    return target, CHECKS[spec.check].run(Probes(target), service)


def render_capture(spec: Caught, target: Target, result: CheckResult) -> str:
    check = CHECKS[spec.check]
    where = f"service {spec.service}" if spec.service != "host" else "the host as a whole"
    item = f"smtpsec::{spec.service}::{check.name}" if spec.service != "host" else f"smtpsec::{check.name}"
    return "\n".join(
        [
            f"Captured from the reference sendmail, scenario {link_scenario(spec.scenario)}, {where} "
            "(lab ports shown as 25/587/465, the lab's CA file as /tmp/lab):",
            "",
            "```text",
            f" {item} ".center(80, "_"),
            normalise(failure.render(check, result), target_ports(target), target.ca_file),
            "```",
            "",
        ]
    )


def lab_run(profile: str, args: list[str]) -> str:
    """Run ``python -m pytest_smtpsec.lab run`` as the docs show it, and make its output stable."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_smtpsec.lab", "run", "--profile", profile, "--", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd="/tmp",
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    target = json.loads(out.splitlines()[0].split(": ", 1)[1])
    out = normalise(out.replace(target["password"], "********"), target["ports"])
    out = re.sub(r" in \d+\.\d+s\b", " in 3.21s", out)  # timing varies; keep the line
    return f"```text\n$ python -m pytest_smtpsec.lab run --profile {profile} -- {' '.join(args)}\n{out.rstrip()}\n```\n"


FINGERPRINT = re.compile(r"^\S+ on .*: (?:INSECURE|WARNING|COULD NOT CHECK)$|^  - .*$", re.M)


def masked(lines: list[str] | set[str]) -> set[str]:
    """Digits and hex strings (dates, ports, key fingerprints) masked: they change from run to run."""
    return {re.sub(r"\d+", "#", re.sub(r"\b[0-9a-f:]{8,}\b", "#", line)) for line in lines}


def fingerprint(text: str) -> set[str]:
    """The headlines and findings of failure screens, digits masked (dates and serials change per run)."""
    return masked(FINGERPRINT.findall(text))


def warning_lines(check: NetworkCheck, target: Target, result: CheckResult) -> set[str]:
    """What the warnings summary says for a WARN, without the line's prefix."""
    where = f"{target.name} {result.service.value}" if result.service else target.name
    return masked([f"{check.name} on {where}: {result.outcome.reason}"])


def shown_warnings(text: str) -> set[str]:
    return masked([line.split("SmtpsecWarning: ", 1)[1] for line in text.splitlines() if "SmtpsecWarning: " in line])


@needs_root
@pytest.mark.parametrize("check", [c for c in CHECKS if caught_by(c)])
def test_failure_screens_are_the_reference_sendmails(check: str, lab: LabPool, tmp_path: Path) -> None:
    """Each check page shows what the real sendmail gives: the failure screen, or the run's warnings."""
    spec = caught_by(check)[0]
    target, result = run_check(lab, tmp_path, spec)
    assert result.verdict.value == spec.verdict, result.outcome.reason
    page = CHECK_PAGES / f"{check}.md"
    if spec.verdict == "fail":
        if WRITE:
            check_or_write(page, "failure", render_capture(spec, target, result))
        shown = regions(page.read_text()).get("failure", "")
        assert fingerprint(render_capture(spec, target, result)) == fingerprint(shown), f"{rel(page)} is stale; run {REGENERATE}"
    else:
        if WRITE:
            check_or_write(page, "failure", lab_run(spec.scenario, ["-q", "-k", check]))
        shown = regions(page.read_text()).get("failure", "")
        assert warning_lines(CHECKS[check], target, result) <= shown_warnings(shown), f"{rel(page)} is stale; run {REGENERATE}"


def test_failure_screens_quote_the_current_registry() -> None:
    """Without the lab: a captured screen's Expected / note / fix lines are the registry's words today."""
    for check in ALL_CHECKS.values():
        shown = regions((CHECK_PAGES / f"{check.name}.md").read_text()).get("failure")
        if shown is None or "INSECURE" not in shown:
            continue
        stub = CheckResult(check.name, "mail.test", None, "mail.test", failed(["stub"]))
        fixed = failure.render(check, stub).split("\n", 2)[2]  # type: ignore[arg-type]
        assert fixed in shown, f"docs/checks/{check.name}.md: the captured screen is stale; run {REGENERATE}"


LAB_RUNS: dict[tuple[Path, str], tuple[str, list[str], AuthPolicy]] = {
    (DOCS / "quickstart.md", "failure"): ("cleartext-auth", ["-q"], AuthPolicy.ENFORCE),
    (DOCS / "guides" / "migrate-to-enforced-tls.md", "migrate"): (
        "cleartext-auth",
        ["-q", "--smtpsec-auth-policy=migrate"],
        AuthPolicy.MIGRATE,
    ),
}
"""Whole runs of ``python -m pytest_smtpsec.lab run --profile P -- ARGS`` shown in the docs."""


@needs_root
@pytest.mark.parametrize(("path", "name"), list(LAB_RUNS), ids=lambda v: rel(v) if isinstance(v, Path) else v)
def test_whole_runs_shown_in_the_docs_are_current(path: Path, name: str, lab: LabPool, tmp_path: Path) -> None:
    """The run's findings (or warnings) are those the check gives the same profile now."""
    profile, args, policy = LAB_RUNS[(path, name)]
    if WRITE:
        check_or_write(path, name, lab_run(profile, args))
    shown = regions(path.read_text())[name]
    for service in ("smtp", "submission"):
        spec = Caught(profile, f"{service}::requires_starttls_before_auth", "fail")
        target, result = run_check(lab, tmp_path, spec, policy)
        check = CHECKS[spec.check]
        if result.verdict is Verdict.WARN:
            assert warning_lines(check, target, result) <= shown_warnings(shown), f"{rel(path)} is stale; run {REGENERATE}"
        else:
            fresh = normalise(failure.render(check, result), target_ports(target))
            assert fingerprint(fresh) <= fingerprint(shown), f"{rel(path)} is stale; run {REGENERATE}"


def render_sessions(target: Target) -> str:
    """The three probe sessions against the secure reference sendmail, as the transcripts record them."""
    probes = Probes(replace(target, name="mail.test"))
    parts = []
    for service in Service:
        transcript = normalise(probes.session(service).transcript, target_ports(target))
        parts += [f"**{service.value}** (port {service.default_port}):", "", "```text", transcript.rstrip(), "```", ""]
    return "\n".join(parts)


@needs_root
def test_the_probe_sessions_shown_are_current(lab: LabPool) -> None:
    """docs/probing.md shows the real dialogue with the secure reference sendmail, line by line."""
    check_or_write(DOCS / "probing.md", "sessions", render_sessions(as_target(lab("secure"))))


# -- host checks: failure screens from the reference sendmail's files, broken one way each ----------


def _without_p(state: Path) -> HostPaths:
    layout = Layout(state)
    layout.mc.write_text(layout.mc.read_text().replace("define(`confAUTH_OPTIONS', `A p')dnl", "define(`confAUTH_OPTIONS', `A')dnl"))
    layout.cf.write_text(subprocess.run(["m4", str(layout.mc)], capture_output=True, text=True, check=True, timeout=60).stdout)
    return paths_of(state)


def _mc_edited_later(state: Path) -> HostPaths:
    layout = Layout(state)
    later = layout.cf.stat().st_mtime + 120
    os.utime(layout.mc, (later, later))
    return paths_of(state)


def _world_readable_key(state: Path) -> HostPaths:
    Layout(state).server_key.chmod(0o644)
    return paths_of(state)


def _key_of_another_pair(state: Path) -> HostPaths:
    key = Layout(state).client_key
    key.chmod(0o600)
    key.write_bytes(self_signed_cert("other.test").private_key_pem.bytes())
    key.chmod(0o400)
    return paths_of(state)


def _ca_file_of_another_ca(state: Path) -> HostPaths:
    cacert = Layout(state).cacert
    cacert.chmod(0o644)
    cacert.write_bytes(CA("Another Vendor CA").cert_pem.bytes())
    cacert.chmod(0o444)
    return paths_of(state)


def _saslauthd_down(state: Path) -> HostPaths:
    conf = state / "Sendmail.conf"
    conf.write_text(f"pwcheck_method: saslauthd\nsaslauthd_path: {state}/saslauthd/mux\nmech_list: PLAIN LOGIN\n")
    return paths_of(state, sasl_conf=str(conf))


def _sendmail_without_starttls(state: Path) -> HostPaths:
    binary = state / "sendmail"
    binary.write_text('#!/bin/sh\necho "Version 8.13.8"\necho " Compiled with: DNSMAP LDAPMAP LOG MILTER NEWDB PIPELINING SASLv2"\necho\n')
    binary.chmod(0o755)
    return paths_of(state, sendmail=str(binary))


HOST_SCENARIOS: dict[str, tuple[str, Callable[[Path], HostPaths]]] = {
    "sendmail_has_starttls_and_sasl": ("a sendmail binary built without STARTTLS", _sendmail_without_starttls),
    "sendmail_cf_options": ("`confAUTH_OPTIONS` `A` (no `p`) in sendmail.mc, and sendmail.cf rebuilt from it", _without_p),
    "sendmail_cf_rebuilt": ("sendmail.mc edited after sendmail.cf was built", _mc_edited_later),
    "key_files_protected": ("the server key made mode 0644", _world_readable_key),
    "key_matches_certificate": ("the client key replaced by the key of another pair", _key_of_another_pair),
    "ca_file_has_issuer": ("cacert.pem replaced by the certificate of another CA", _ca_file_of_another_ca),
    "saslauthd_running": ("a Sendmail.conf with `pwcheck_method: saslauthd` and no saslauthd running", _saslauthd_down),
}
"""How each host check's page shows it failing: the secure profile's files, broken in one way."""


def render_host_capture(name: str, state: Path, result: CheckResult) -> str:
    text = failure.render(HOST_CHECKS[name], result).replace(str(state), "/tmp/lab")  # type: ignore[arg-type]
    return "\n".join(
        [
            f"Captured from the reference sendmail's files (profile `secure`) with {HOST_SCENARIOS[name][0]} "
            "(the lab's directory shown as /tmp/lab):",
            "",
            "```text",
            f" smtpsec::config::{name} ".center(80, "_"),
            text,
            "```",
            "",
        ]
    )


def test_every_host_check_has_a_failure_scenario() -> None:
    assert set(HOST_SCENARIOS) == set(HOST_CHECKS)


@needs_root
@pytest.mark.parametrize("name", list(HOST_CHECKS))
def test_host_check_failure_screens_are_current(name: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    prepare(PROFILES["secure"], Layout(state), "127.0.0.1", PORTS)
    result = HOST_CHECKS[name].run(HostFacts(LocalRunner(), HOST_SCENARIOS[name][1](state)))
    assert result.verdict is Verdict.FAIL, result.outcome.reason
    page = CHECK_PAGES / f"{name}.md"
    fresh = render_host_capture(name, state, result)
    if WRITE:
        check_or_write(page, "failure", fresh)
    assert fingerprint(fresh) == fingerprint(regions(page.read_text()).get("failure", "")), f"{rel(page)} is stale; run {REGENERATE}"
