"""The docs cannot rot: generated parts match the code, every name they use exists, every check and
option is documented, and their complete examples run against the reference sendmail.

This module only compares; the generator is ``tests/docgen.py`` (``scripts/gen-docs`` rewrites every
generated part; the failure screens are captured from the real reference sendmail, so that needs root).
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docgen import (
    CHECK_PAGES,
    DOCS,
    HOST_SCENARIOS,
    LAB_RUNS,
    REGENERATE,
    ROOT,
    Caught,
    caught_by,
    generated,
    host_capture,
    masked,
    normalise,
    regions,
    rel,
    render_capture,
    render_sessions,
    run_check,
    target_ports,
)

from pytest_smtpsec.checks import CHECKS, NetworkCheck
from pytest_smtpsec.host import HOST_CHECKS, HostCheck
from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.lab.__main__ import main as lab_main
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.report import failure
from pytest_smtpsec.settings import OPTIONS, PASSWORD_ENV
from pytest_smtpsec.target import Role, Service, Target
from pytest_smtpsec.verdict import CheckResult, Verdict, failed

ALL_CHECKS: dict[str, NetworkCheck | HostCheck] = {**CHECKS, **HOST_CHECKS}
NO_LAB = "scripts/gen-docs --no-lab"


def texts() -> dict[Path, str]:
    """Everything a reader reads: the docs, the README and the examples."""
    files = [ROOT / "README.md", *DOCS.rglob("*.md"), *(p for p in (ROOT / "examples").rglob("*") if p.is_file())]
    return {p: p.read_text() for p in sorted(files) if "__pycache__" not in p.parts}


# -- generated regions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "name"), list(generated()), ids=lambda v: rel(v) if isinstance(v, Path) else v)
def test_generated_parts_are_current(path: Path, name: str) -> None:
    assert path.is_file(), f"{rel(path)} is missing"
    shown = regions(path.read_text())
    assert name in shown, f"{rel(path)} has no region {name!r}: add <!-- BEGIN GENERATED {name} --> ... END"
    assert shown[name] == generated()[(path, name)](), f"{rel(path)}: generated region {name!r} is stale; run {NO_LAB}"


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
    plugin_markers = {f"smtpsec_{name}" for name in ALL_CHECKS} | {"mailsec"}
    assert plugin_markers <= registered.markers
    assert not [m for m in plugin_markers if f"pytest.mark.{m}" not in text and f"`{m}(" not in text]


# -- every name the docs use exists ----------------------------------------------------------------

BUILTIN_MARKERS = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "xdist_group"}
PYTEST_INI = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
PROJECT_MARKERS = {m.split(":")[0] for m in PYTEST_INI["markers"]}
"""Markers of this project's own suite (the `lab` tier), which docs/testing.md names."""
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
    known = registered.markers | BUILTIN_MARKERS | PROJECT_MARKERS
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


@pytest.mark.lab
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
    secure = lab("secure")
    monkeypatch.setenv(PASSWORD_ENV, secure.password)
    result = pytester.runpytest_inprocess(
        *lab_flags(secure), "--strict-config", "--strict-markers", "-p", "no:cacheprovider", "-p", "no:benchmark"
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) > 0, result.stdout.str()


# -- failure screens captured from the reference sendmail ------------------------------------------


FINGERPRINT = re.compile(r"^\S+ on .*: (?:INSECURE|WARNING|COULD NOT CHECK)$|^  - .*$", re.M)


def masked_set(lines: list[str]) -> set[str]:
    return {masked(line) for line in lines}


def fingerprint(text: str) -> set[str]:
    """The headlines and findings of failure screens, digits masked (dates and serials change per run)."""
    return masked_set(FINGERPRINT.findall(text))


def warning_lines(check: NetworkCheck, target: Target, result: CheckResult) -> set[str]:
    """What the warnings summary says for a WARN, without the line's prefix."""
    where = f"{target.name} {result.service.value}" if result.service else target.name
    return masked_set([f"{check.name} on {where}: {result.outcome.reason}"])


def shown_warnings(text: str) -> set[str]:
    return masked_set([line.split("SmtpsecWarning: ", 1)[1] for line in text.splitlines() if "SmtpsecWarning: " in line])


@pytest.mark.lab
@pytest.mark.parametrize("check", [c for c in CHECKS if caught_by(c)])
def test_failure_screens_are_the_reference_sendmails(check: str, lab: LabPool, tmp_path: Path) -> None:
    """Each check page shows what the real sendmail gives: the failure screen, or the run's warnings."""
    spec = caught_by(check)[0]
    target, result = run_check(lab, tmp_path, spec)
    assert result.verdict.value == spec.verdict, result.outcome.reason
    page = CHECK_PAGES / f"{check}.md"
    shown = regions(page.read_text()).get("failure", "")
    if spec.verdict == "fail":
        assert fingerprint(render_capture(spec, target, result)) == fingerprint(shown), f"{rel(page)} is stale; run {REGENERATE}"
    else:
        assert warning_lines(CHECKS[check], target, result) <= shown_warnings(shown), f"{rel(page)} is stale; run {REGENERATE}"


def test_failure_screens_quote_the_current_registry() -> None:
    """Without the lab: a captured screen's Expected / note / fix lines are the registry's words today."""
    for check in ALL_CHECKS.values():
        shown = regions((CHECK_PAGES / f"{check.name}.md").read_text()).get("failure")
        if shown is None or "INSECURE" not in shown:
            continue
        stub = CheckResult(check.name, "mail.test", None, "mail.test", failed(["stub"]))
        fixed = failure.render(check, stub).split("\n", 2)[2]
        assert fixed in shown, f"docs/checks/{check.name}.md: the captured screen is stale; run {REGENERATE}"


@pytest.mark.lab
@pytest.mark.parametrize(("path", "name"), list(LAB_RUNS), ids=lambda v: rel(v) if isinstance(v, Path) else v)
def test_whole_runs_shown_in_the_docs_are_current(path: Path, name: str, lab: LabPool, tmp_path: Path) -> None:
    """The run's findings (or warnings) are those the check gives the same profile now."""
    profile, _, policy = LAB_RUNS[(path, name)]
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


@pytest.mark.lab
def test_the_probe_sessions_shown_are_current(lab: LabPool) -> None:
    """docs/probing.md shows the real dialogue with the secure reference sendmail, line by line."""
    shown = regions((DOCS / "probing.md").read_text())["sessions"]
    assert shown == render_sessions(as_target(lab("secure"))), f"docs/probing.md is stale; run {REGENERATE}"


# -- host checks: failure screens from the reference sendmail's files, broken one way each ----------


def test_every_host_check_has_a_failure_scenario() -> None:
    assert set(HOST_SCENARIOS) == set(HOST_CHECKS)


@pytest.mark.lab
@pytest.mark.parametrize("name", list(HOST_CHECKS))
def test_host_check_failure_screens_are_current(name: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    result, fresh = host_capture(name, state)
    assert result.verdict is Verdict.FAIL, result.outcome.reason
    page = CHECK_PAGES / f"{name}.md"
    assert fingerprint(fresh) == fingerprint(regions(page.read_text()).get("failure", "")), f"{rel(page)} is stale; run {REGENERATE}"
