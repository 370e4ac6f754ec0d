"""pytest glue: options and ini keys, markers, collection of the built-in suite, reports, xdist.

Everything here is wiring; targets, probes and checks are plain Python usable from a REPL. The suite's
nodes live in :mod:`.suite`, the fixtures for users' own tests in :mod:`.fixtures`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .checks import CHECKS
from .host import HOST_CHECKS, HostFacts
from .inventory import load_inventory, password_variables
from .report.records import ATTRIBUTE, RecordCollector
from .report.summary import SummaryReporter
from .settings import OPTIONS, PASSWORD_ENV, Option, SettingsError, parse_file, resolve, target_from
from .suite import (
    CLIENTS,
    RECORDS,
    RESULTS,
    STATE,
    CheckFailed,
    CheckItem,
    CouldNotCheck,
    SmtpsecCollector,
    SmtpsecItem,
    SmtpsecWarning,
    State,
    per_host,
    settle,
    start_warming,
)

pytest_plugins = ["pytest_smtpsec.fixtures"]
__all__ = ["SmtpsecWarning"]  # named in -W filters: -W error::pytest_smtpsec.plugin.SmtpsecWarning

_INVENTORY_KEY = "smtpsec_inventory"


# -- options and markers ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpsec", "mail server security checks (pytest-smtpsec)")
    group.addoption("--smtpsec", action="store_true", default=None, help="run the built-in acceptance suite against the configured hosts")
    parser.addini("smtpsec", type="bool", default=False, help="run the built-in acceptance suite (like --smtpsec)")
    for option in OPTIONS:
        metavar = option.metavar or option.name.split("-")[-1].upper()
        group.addoption(option.flag, dest=option.key, default=None, metavar=metavar, help=option.help)
        parser.addini(option.key, help=option.help, default="")


def pytest_configure(config: pytest.Config) -> None:
    for check in CHECKS.values():
        where = f"once per applicable service ({', '.join(s.value for s in check.services)})" if check.services else "once per host"
        config.addinivalue_line("markers", f"{check.name}: run the {check.name} check ({check.title}) before the test, {where}.")
    for host_check in HOST_CHECKS.values():
        config.addinivalue_line(
            "markers",
            f"{host_check.name}: run the {host_check.name} host check ({host_check.title}) before the test (--smtpsec-host-config).",
        )
    config.addinivalue_line(
        "markers", "smtpsec(host, role, service, check): on every built-in check, to select with -m \"smtpsec(role='no-mail')\"."
    )
    state = config.stash[STATE] = _state(config)
    if state.enabled and not state.targets and state.host_facts is None:
        raise pytest.UsageError(
            "pytest-smtpsec: --smtpsec needs something to check: --smtpsec-host, --smtpsec-inventory or --smtpsec-host-config"
        )
    if not hasattr(config, "workerinput"):
        collector = RecordCollector()
        config.pluginmanager.register(collector, "smtpsec-records")
        config.pluginmanager.register(SummaryReporter(collector), "smtpsec-summary")
        from .report.html_report import HtmlReport
        from .report.json_report import JsonReport

        for writer in (JsonReport, HtmlReport):
            report = writer.configured(config, collector)
            if report is not None:
                config.pluginmanager.register(report, f"smtpsec-{writer.label.lower()}")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist: with ``-n``, keep each host's checks on one worker (``--dist load``/``loadgroup``, the default)."""
    state = config.stash[STATE]
    if not state.enabled or config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from .scheduling import HostScheduling

    return HostScheduling(config, log, suites=[(name, per_host(name)) for name, _ in state.suites] or [("smtpsec", False)])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the password variables the targets name (remote ``--tx ssh=`` workers do not
    inherit our environment; execnet carries them over its ssh channel)."""
    node.workerinput["smtpsec_environ"] = {name: os.environ[name] for name in _password_variables(node.config) if name in os.environ}


def _password_variables(config: pytest.Config) -> list[str]:
    inventory = config.getoption(_INVENTORY_KEY) or config.getini(_INVENTORY_KEY)
    return [PASSWORD_ENV, *(password_variables(Path(inventory)) if inventory else [])]


def _raw_value(config: pytest.Config, option: Option) -> str | None:
    """The flag's text, else the ini key's; a relative file named in an ini file is relative to the rootdir."""
    given = config.getoption(option.key)
    if given:
        return str(given)
    value = str(config.getini(option.key) or "")
    if value and option.parse is parse_file and not Path(value).expanduser().is_absolute():
        return str(config.rootpath / value)
    return value or None


def _state(config: pytest.Config) -> State:
    raw = {o.name: _raw_value(config, o) for o in OPTIONS}
    environ = {**os.environ, **getattr(config, "workerinput", {}).get("smtpsec_environ", {})}
    try:
        values = resolve(raw)
        suites = []
        target = target_from(values, environ)
        if target is not None:
            suites.append(("smtpsec", [target]))
        inventory: Path | None = values["inventory"]
        if inventory is not None:
            suites.append((inventory.name, load_inventory(inventory, environ, timeout=values["timeout"])))
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-smtpsec: {exc}") from None
    host_facts = None
    if values["host-config"]:
        host_facts = HostFacts.from_options(
            values["host-config"], cf=values["sendmail-cf"], mc=values["sendmail-mc"], sendmail=values["sendmail-bin"]
        )
    enabled = bool(config.getoption("smtpsec") or config.getini("smtpsec"))
    return State(enabled=enabled, suites=suites, host_facts=host_facts)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for target in config.stash[STATE].targets:
        ports = ", ".join(f"{s.value} {target.port(s)}" for s in target.services) or "no mail ports expected"
        lines.append(
            f"smtpsec: {target.tls_name} at {target.host} ({ports}); role {target.role.value}; "
            f"auth policy {target.auth_policy.value}; timeout {target.timeout:g} s"
        )
    return lines[:5] + ([f"smtpsec: ... and {len(lines) - 5} more hosts"] if len(lines) > 5 else [])


# -- the built-in suite ----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Hang the built-in suites under the session, beside any test files, so they are collected like them."""
    report = yield
    state = collector.config.stash[STATE]
    if isinstance(collector, pytest.Session) and state.enabled and report.passed:
        suites = state.suites if state.suites or state.host_facts is None else [("smtpsec", [])]
        for index, (name, targets) in enumerate(suites):
            facts = state.host_facts if index == 0 else None
            report.result.append(SmtpsecCollector.from_parent(collector, name=name, nodeid=name, targets=targets, host_facts=facts))
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist, probe every selected host at once in the background, so no host waits on another.

    (An xdist worker does not know which hosts it will get: it warms each host when its first check runs.)
    """
    state = session.config.stash[STATE]
    if session.config.option.collectonly or not state.enabled:
        return
    gc.freeze()  # the collected tree lives until the end: keep the collector from walking it again and again
    if hasattr(session.config, "workerinput"):
        return
    for target in dict.fromkeys(i.target for i in session.items if isinstance(i, SmtpsecItem)):
        start_warming(state, target)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.prefetch is not None:
        state.prefetch.shutdown(wait=False, cancel_futures=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if not isinstance(item, CheckItem) and RESULTS in item.stash:
        settle(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, CheckItem):
        report.location = (report.location[0], report.location[1], item.nodeid)  # the failure headline
        if report.skipped and isinstance(report.longrepr, tuple):  # "SKIPPED <test id>: <reason>", not plugin.py
            report.longrepr = (item.nodeid, None, report.longrepr[2])  # type: ignore[assignment]  # no line: the summary prints "id: reason"
    if call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed | CouldNotCheck):
        report.longrepr = str(call.excinfo.value)
    if call.when == "setup" and RECORDS in item.stash:
        setattr(report, ATTRIBUTE, [r.to_dict() for r in item.stash[RECORDS]])
    if report.failed:
        for client in item.stash.get(CLIENTS, []):
            report.sections.append((f"SMTP transcript: {client.service.value} (secrets masked)", client.transcript))
    return report


