"""The docs generator: every generated part of the docs, and how to rewrite them all (``scripts/gen-docs``).

Generated parts sit between ``<!-- BEGIN GENERATED name -->`` and ``<!-- END GENERATED name -->``. Some are
rendered from the code alone (check pages' summaries, the option, marker and role tables); the rest are
captured from the reference sendmail (the detection matrix, failure screens, whole runs, probe sessions),
which needs the lab, so root. ``tests/test_docs.py`` and ``tests/test_detection_matrix.py`` only compare.

    scripts/gen-docs            # everything (as root)
    scripts/gen-docs --no-lab   # only what needs no lab
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from expected_verdicts import MTA_DIFFERENCES, PROFILE_VERDICTS, verdict_table
from lab_files import PORTS, paths_of

from pytest_smtpsec.checks import CHECKS, NetworkCheck, ServiceCheck, run_at
from pytest_smtpsec.host import HOST_CHECKS, HostCheck, HostFacts, HostPaths, LocalRunner
from pytest_smtpsec.lab import PROFILES
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.mta import PROFILES as MTA_PROFILES
from pytest_smtpsec.lab.pki import CA, self_signed_cert
from pytest_smtpsec.lab.pool import LabPool, as_target
from pytest_smtpsec.lab.ports import free_port
from pytest_smtpsec.lab.prepare import prepare
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.report import failure
from pytest_smtpsec.settings import OPTIONS
from pytest_smtpsec.target import AuthPolicy, Ports, Role, Service, ServiceRole, Target
from pytest_smtpsec.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHECK_PAGES = DOCS / "checks"
EXAMPLES = ROOT / "examples"
MATRIX = DOCS / "detection-matrix.md"
REGENERATE = "scripts/gen-docs (as root: it starts the reference sendmail)"


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


def write_region(path: Path, name: str, body: str) -> None:
    """Make ``path``'s region ``name`` read ``body``, unless it differs only in what changes from run to run."""
    text = path.read_text()
    if name not in regions(text):
        raise SystemExit(f"{rel(path)} has no region {name!r}: add <!-- BEGIN GENERATED {name} --> ... END")
    if masked(regions(text)[name]) != masked(body):
        path.write_text(with_region(text, name, body))


def masked(text: str) -> str:
    """Digits and hex strings (dates, ports, key fingerprints) masked: a capture changes them on every run."""
    return re.sub(r"\d+", "#", re.sub(r"\b[0-9a-f:]{8,}\b", "#", text))


def where(check: NetworkCheck) -> str:
    if not isinstance(check, ServiceCheck):
        return "the host as a whole: one test per host"
    ports = ", ".join(f"{s.value} ({s.default_port})" for s in check.services) + ": one test per service"
    if tuple(check.service_roles) != tuple(ServiceRole):
        ports += " used for " + " or ".join(f"`{r.value}`" for r in check.service_roles)
    return ports


# -- the detection matrix: scenarios, the expected table, the page --------------------------------

MATRIX_PROFILES = [p for p in PROFILE_VERDICTS if p in PROFILES]
"""Every sendmail profile of the lab (mixed-certs is an MTA profile; sendmail's is the mixed site below)."""

EXPECTED: dict[str, dict[str, str]] = {
    # scenario: {item: verdict} for every item whose verdict is not "pass"
    **{profile: PROFILE_VERDICTS[profile] for profile in MATRIX_PROFILES},
    "cleartext-auth, policy migrate": {f"{s}::requires_starttls_before_auth": "warn" for s in ("smtp", "submission")},
    "mixed certificates (smtps from wrong-hostname)": {
        "smtps::certificate_matches_host": "fail",
        "host::same_certificate_everywhere": "fail",
        # two servers, two user databases: this scenario gives no credentials
        **{f"{s}::{c}": "skip" for s in ("smtp", "submission", "smtps") for c in ("auth_after_tls", "relay_allowed_authenticated")},
    },
    "no-mail host, nothing listening": {},
    "no-mail host, sendmail listening": {"host::no_mail_service": "fail"},
}
"""The matrix's columns and what each must give; every item not listed must pass."""


def _mixed(lab: LabPool, tmp: Path) -> Target:
    secure, wrong = as_target(lab("secure")), as_target(lab("wrong-hostname"))
    both = tmp / "both-cas.pem"
    both.write_bytes(secure.ca_file.read_bytes() + wrong.ca_file.read_bytes())  # type: ignore[union-attr]
    return replace(secure, ports=replace(secure.ports, smtps=wrong.ports.smtps), ca_file=both, credentials=None)


def _nothing_listening(lab: LabPool, tmp: Path) -> Target:
    return Target(host="127.0.0.1", ports=Ports(free_port(), free_port(), free_port()), role=Role.NO_MAIL, timeout=2.0)


SCENARIOS: dict[str, Callable[[LabPool, Path], Target]] = {
    **{name: lambda lab, tmp, name=name: as_target(lab(name)) for name in PROFILES},  # type: ignore[misc]
    "cleartext-auth, policy migrate": lambda lab, tmp: replace(as_target(lab("cleartext-auth")), auth_policy=AuthPolicy.MIGRATE),
    "mixed certificates (smtps from wrong-hostname)": _mixed,
    "no-mail host, nothing listening": _nothing_listening,
    "no-mail host, sendmail listening": lambda lab, tmp: replace(as_target(lab("secure")), role=Role.NO_MAIL),
}
"""Every scenario as a Target: real sendmail profiles (started on demand), and sites put together from them."""


def observe(lab: LabPool, tmp: Path) -> dict[str, dict[str, str]]:
    """Every item's verdict in every column of the matrix, from the real servers."""
    lab.start(MATRIX_PROFILES)
    targets = [SCENARIOS[name](lab, tmp) for name in EXPECTED]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(EXPECTED, pool.map(verdict_table, targets), strict=True))


SYMBOLS = {"pass": "pass", "fail": "**FAIL**", "warn": "warn", "skip": "–", "error": "ERROR"}


def render_matrix(observed: dict[str, dict[str, str]]) -> str:
    """The expected table as Markdown; ``observed`` only says where each check runs at all."""
    scenarios = list(EXPECTED)
    items = sorted({item for table in observed.values() for item in table}, key=_item_order)
    lines = [
        "# Detection matrix",
        "",
        "Generated by `scripts/gen-docs` from the expected table (`tests/expected_verdicts.py`);",
        "`tests/test_detection_matrix.py` fails when this page, that table and the real servers disagree.",
        "Every column is a real sendmail 8.17 (Debian) started by the lab with that profile, or a site put",
        "together from them. `–` means not applicable (the check says why); an empty cell: the check does not",
        "run there (port off, or the host's role).",
        "",
        "| check | " + " | ".join(scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    for item in items:
        cells = [SYMBOLS[EXPECTED[s].get(item, "pass")] if item in observed[s] else "" for s in scenarios]
        lines.append(f"| `{item}` | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *_render_servers()]) + "\n"


def _render_servers() -> list[str]:
    """The server axis: each profile on sendmail, Postfix and Exim (tests/lab_mta/test_mta_matrix.py proves it)."""
    lines = [
        "## The same profiles on Postfix and Exim",
        "",
        "`tests/lab_mta/test_mta_matrix.py` builds each profile with the MTA's own idioms on real Postfix 3.7 and",
        "Exim 4.96 (Debian bookworm root filesystems) and compares every check with the same table: a check that",
        "judged the same mistake differently on another MTA would be a bug in the check. A cell lists the items",
        "that do not pass; `(lab)` marks a profile this MTA's lab does not build.",
        "",
        "| profile | sendmail | Postfix | Exim |",
        "|---|---|---|---|",
    ]
    for profile, table in PROFILE_VERDICTS.items():
        cells = []
        for mta, built in (("sendmail", PROFILES), ("postfix", MTA_PROFILES), ("exim", MTA_PROFILES)):
            differences = {i: v for (m, p, i), (v, _) in MTA_DIFFERENCES.items() if (m, p) == (mta, profile)}
            merged = {i: v for i, v in {**table, **differences}.items() if v != "pass"}
            listed = ", ".join(f"`{i}` {SYMBOLS[v]}" for i, v in sorted(merged.items(), key=lambda iv: _item_order(iv[0])))
            cells.append((listed or "all pass") if profile in built else "(lab)")
        lines.append(f"| {profile} | " + " | ".join(cells) + " |")
    lines += ["", "Where an MTA really behaves differently with the same setting:", ""]
    lines += [f"- {mta}, {profile}, `{item}` {SYMBOLS[v]}: {why}" for (mta, profile, item), (v, why) in MTA_DIFFERENCES.items()]
    return lines


def _item_order(item: str) -> tuple[int, int]:
    service, check = item.split("::")
    return list(CHECKS).index(check), ["smtp", "submission", "smtps", "host"].index(service)


# -- the detection matrix, read from its page: which scenario trips which check ----------------------


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


def run_check(lab: LabPool, tmp: Path, spec: Caught, policy: AuthPolicy | None = None) -> tuple[Target, CheckResult]:
    """The result of the check of ``spec`` on its scenario (under another auth ``policy`` if given)."""
    target = replace(SCENARIOS[spec.scenario](lab, tmp), name="mail.test")
    target = replace(target, auth_policy=policy) if policy is not None else target
    service = None if spec.service == "host" else Service(spec.service)
    return target, run_at(CHECKS[spec.check], Probes(target), service)


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


LAB_RUNS: dict[tuple[Path, str], tuple[str, list[str], AuthPolicy]] = {
    (DOCS / "quickstart.md", "failure"): ("cleartext-auth", ["-q"], AuthPolicy.ENFORCE),
    (DOCS / "guides" / "migrate-to-enforced-tls.md", "migrate"): (
        "cleartext-auth",
        ["-q", "--smtpsec-auth-policy=migrate"],
        AuthPolicy.MIGRATE,
    ),
}
"""Whole runs of ``python -m pytest_smtpsec.lab run --profile P -- ARGS`` shown in the docs."""


def render_sessions(target: Target) -> str:
    """Every probe session against the secure reference sendmail, as the transcripts record them."""
    probes = Probes(replace(target, name="mail.test"))
    parts = []
    for service in Service:
        for number, session in enumerate(probes.sessions(service), 1):
            what = {"main": "the main session", "extra": "the extra session", "logins": "wrong logins"}[session.kind.value]
            transcript = normalise(session.transcript, target_ports(target))
            heading = f"**{service.value}** (port {service.default_port}), connection {number}: {what}"
            parts += [heading, "", "```text", transcript.rstrip(), "```", ""]
    return "\n".join(parts)


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


def _replace_read_only(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` over a file the lab made read-only, then give it ``mode`` again."""
    path.chmod(0o600)
    path.write_bytes(content)
    path.chmod(mode)


def _key_of_another_pair(state: Path) -> HostPaths:
    _replace_read_only(Layout(state).client_key, self_signed_cert("other.test").private_key_pem.bytes(), 0o400)
    return paths_of(state)


def _ca_file_of_another_ca(state: Path) -> HostPaths:
    _replace_read_only(Layout(state).cacert, CA("Another Vendor CA").cert_pem.bytes(), 0o444)
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
    text = failure.render(HOST_CHECKS[name], result).replace(str(state), "/tmp/lab")
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


def host_capture(name: str, state: Path) -> tuple[CheckResult, str]:
    """Host check ``name`` on the secure profile's files written to ``state`` and broken its way; its screen."""
    prepare(PROFILES["secure"], Layout(state), "127.0.0.1", PORTS)
    result = HOST_CHECKS[name].run(HostFacts(LocalRunner(), HOST_SCENARIOS[name][1](state)))
    return result, render_host_capture(name, state, result)


# -- writing ---------------------------------------------------------------------------------------


def write_captured(lab: LabPool, tmp: Path) -> None:
    """Everything captured from the reference sendmail: the matrix first (the check pages read it)."""
    MATRIX.write_text(render_matrix(observe(lab, tmp)))
    for check in CHECKS:
        if not caught_by(check):
            continue
        spec = caught_by(check)[0]
        if spec.verdict == "fail":
            target, result = run_check(lab, tmp, spec)
            body = render_capture(spec, target, result)
        else:  # a warning is shown as the run's warnings summary
            body = lab_run(spec.scenario, ["-q", "-k", check])
        write_region(CHECK_PAGES / f"{check}.md", "failure", body)
    for (path, name), (profile, args, _) in LAB_RUNS.items():
        write_region(path, name, lab_run(profile, args))
    write_region(DOCS / "probing.md", "sessions", render_sessions(as_target(lab("secure"))))
    for name in HOST_CHECKS:
        state = tmp / f"host-{name}"
        state.mkdir(mode=0o700)
        result, body = host_capture(name, state)
        if result.verdict is not Verdict.FAIL:
            raise SystemExit(f"{name} does not fail on its scenario ({HOST_SCENARIOS[name][0]}): {result.outcome.reason}")
        write_region(CHECK_PAGES / f"{name}.md", "failure", body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gen-docs", description="Rewrite every generated part of the docs.")
    parser.add_argument("--no-lab", action="store_true", help="only the parts rendered from the code (no root, no servers)")
    args = parser.parse_args(argv)
    if not args.no_lab:
        if os.geteuid() != 0:
            parser.error("the captured parts need the reference sendmail, so root; --no-lab writes the rest")
        with tempfile.TemporaryDirectory(prefix="smtpsec-docs-") as tmp, LabPool(Path(tmp) / "lab") as lab:
            write_captured(lab, Path(tmp))
    for (path, name), render in generated().items():
        write_region(path, name, render())
    print(f"gen-docs: {len(generated())} generated parts written" + ("" if args.no_lab else ", and every captured one"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
