"""The plugin at work: registered by :mod:`.plugin` only in a run that uses pytest-smtpsec.

Everything here is wiring; targets, probes, checks and the engine are plain Python usable from a REPL.
The suite's nodes live in :mod:`.nodes`, the fixtures for users' own tests in :mod:`.fixtures` (with
their aliases and the check-marker parametrisation here), the plugin's own hooks in :mod:`.hooks`, the
reports in :mod:`.report`.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .checks import ServiceCheck, TargetCheck
from .client import SmtpClient
from .engine import NetworkCheck
from .fixtures import Where
from .host import HostCheck, HostFacts
from .inventory import Inventory
from .nodes import (
    BUILTIN_SUITE,
    CheckFailed,
    CheckItem,
    CouldNotCheck,
    NetworkCheckItem,
    Plan,
    SmtpsecCollector,
    Suite,
    run_checks,
    settle,
    store_results,
)
from .plugin import MARKER_PREFIX, SELECT
from .registry import AnyCheck, Registry
from .report import records
from .report.records import ATTRIBUTE
from .report.reporter import Reporter
from .settings import OPTIONS, PASSWORD_ENV, Given, Settings, SettingsError
from .stash import CLIENTS, PLAN, RECORDS, RESULTS
from .target import Target
from .verdict import SmtpsecWarning

SELECTED = pytest.StashKey[list[str]]()
"""Built-in ids given as arguments (``pytest smtpsec::smtps``): taken out of the file arguments, selected here."""


# -- the run's checks, markers and plan ------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    registry = Registry(check for found in config.hook.pytest_smtpsec_checks(config=config) for check in found)
    for check in registry:
        if isinstance(check, ServiceCheck):
            where = f"once on each of {', '.join(s.value for s in check.services)} the target offers"
        else:
            where = "once per host" if isinstance(check, TargetCheck) else "on the mail host itself (--smtpsec-host-config)"
        config.addinivalue_line(
            "markers", f"{MARKER_PREFIX}{check.name}: run the {check.name} check ({check.title}) before the test, {where}."
        )
        config.addinivalue_line("markers", f"{check.name}: alias of {MARKER_PREFIX}{check.name} (in runs that use pytest-smtpsec).")
    plan = config.stash[PLAN] = _plan(config, registry)
    if plan.enabled and not plan.targets and plan.host_facts is None:
        raise pytest.UsageError(
            "pytest-smtpsec: --smtpsec needs something to check: --smtpsec-host, --smtpsec-inventory or --smtpsec-host-config"
        )
    config.stash[SELECTED] = _take_builtin_ids(config, plan)
    _rename_selection_marker(config)
    # The heap is frozen after collection (pytest_collection_finish) and again at the very end: cleanups run in
    # reverse and this hook runs before pytest's unraisableexception, so pytest's own end-of-run gc.collect()
    # still sees everything made since collection, and the interpreter's exit then walks nothing (2 s with
    # 10,000 hosts). What a previous run in this process froze (pytester runs in-process) is given back here.
    gc.unfreeze()
    config.add_cleanup(gc.freeze)
    if plan.targets:
        gc.freeze()  # the targets live until the end: out of the collector's way while the items are built
    if not hasattr(config, "workerinput"):
        reporter = Reporter(config, registry)
        config.pluginmanager.register(reporter, "smtpsec-reporter")
        reporter.add_files(_settings(config))


def _rename_selection_marker(config: pytest.Config) -> None:
    """``-m "smtpsec(...)"``, the selection marker's name before 0.2.0, still selects: it is read as ``mailsec``."""
    expression = config.option.markexpr or ""
    renamed = re.sub(r"\bsmtpsec\b", SELECT, expression)
    if renamed != expression:
        config.option.markexpr = renamed
        config.issue_config_time_warning(
            SmtpsecWarning(f'-m "{expression}": the marker on the built-in tests is now {SELECT} (read as -m "{renamed}")'),
            stacklevel=2,
        )


def _take_builtin_ids(config: pytest.Config, plan: Plan) -> list[str]:
    """Take the built-in suite's ids out of the file arguments (``pytest site.toml::mail-a.test::smtps``),
    so that every id pytest prints can be passed back to it; they select in ``pytest_collection_modifyitems``.

    Runs the same way on xdist workers, which parse the same arguments.
    """
    roots = {suite.name for suite in plan.suites} | {BUILTIN_SUITE}
    ours = [arg for arg in config.args if Path(arg.split("::")[0]).name in roots and not Path(arg.split("::")[0]).is_dir()]
    if not ours:
        return []
    if not plan.enabled:
        raise pytest.UsageError(f"pytest-smtpsec: {ours[0]} is a test of the built-in suite: add --smtpsec to run it")
    config.args[:] = [arg for arg in config.args if arg not in ours]
    return ["::".join([Path(arg.split("::")[0]).name, *arg.split("::")[1:]]) for arg in ours]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = config.stash[SELECTED]
    if not selected:
        return
    keep = [i for i in items if not isinstance(i, CheckItem) or any(i.nodeid == s or i.nodeid.startswith(s + "::") for s in selected)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def _given(config: pytest.Config) -> dict[str, Given | None]:
    """Each option's text as written: the flag (relative to where pytest started), else the ini key (to the rootdir)."""
    given: dict[str, Given | None] = {}
    for option in OPTIONS:
        flag = config.getoption(option.key)
        ini = str(config.getini(option.key) or "")
        given[option.name] = Given(str(flag), config.invocation_params.dir) if flag else Given(ini, config.rootpath) if ini else None
    return given


def _settings(config: pytest.Config) -> Settings:
    try:
        return Settings.parse(_given(config))
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-smtpsec: {exc}") from None


def _quiet(config: pytest.Config) -> bool:
    """Runs that send nothing to any server: help, listings and --collect-only need no password."""
    option = config.option
    return bool(option.help or option.collectonly or getattr(option, "markers", False) or getattr(option, "showfixtures", False))


def _plan(config: pytest.Config, registry: Registry) -> Plan:
    settings = _settings(config)
    environ = {**os.environ, **getattr(config, "workerinput", {}).get("smtpsec_environ", {})}
    need_password = not _quiet(config)
    try:
        suites = []
        target = settings.target(environ, need_password=need_password)
        if target is not None:
            suites.append(Suite(BUILTIN_SUITE, (target,), per_host=False))
        if settings.inventory is not None:
            inventory = Inventory.read(settings.inventory)
            targets = inventory.targets(environ, defaults=settings.host_settings, need_password=need_password)
            suites.append(Suite(settings.inventory.name, tuple(targets), per_host=True))
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-smtpsec: {exc}") from None
    host_facts = None
    if settings.host_config:
        host_facts = HostFacts.from_options(
            settings.host_config, cf=settings.sendmail_cf, mc=settings.sendmail_mc, sendmail=settings.sendmail_bin
        )
    enabled = bool(config.getoption("smtpsec") or config.getini("smtpsec"))
    memory = getattr(config, "cache", None)  # pytest's cache, unless -p no:cacheprovider
    return Plan(enabled=enabled, registry=registry, suites=tuple(suites), host_facts=host_facts, memory=memory)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist: with ``-n``, keep each host's checks on one worker (``--dist load``/``loadgroup``, the default)."""
    plan = config.stash[PLAN]
    if not plan.enabled or config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from .scheduling import HostScheduling

    suites = [(s.name, s.per_host) for s in plan.suites] or [(BUILTIN_SUITE, False)]
    return HostScheduling(config, log, suites=suites)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the password variables the targets name (remote ``--tx ssh=`` workers do not
    inherit our environment; execnet carries them over its ssh channel)."""
    node.workerinput["smtpsec_environ"] = {name: os.environ[name] for name in _password_variables(node.config) if name in os.environ}


def _password_variables(config: pytest.Config) -> list[str]:
    inventory = _settings(config).inventory
    return [PASSWORD_ENV, *(Inventory.read(Path(inventory)).password_variables() if inventory else [])]


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for target in config.stash[PLAN].targets:
        ports = ", ".join(
            f"{s.value} {target.port(s)}" + (f" as {target.service_role(s).value}" if target.service_roles.of(s) else "")
            for s in target.services
        )
        lines.append(
            f"smtpsec: {target.tls_name} at {target.host} ({ports or 'no mail ports expected'}); role {target.role.value}; "
            f"auth policy {target.auth_policy.value}; timeout {target.timeout:g} s"
        )
    return lines[:5] + ([f"smtpsec: ... and {len(lines) - 5} more hosts"] if len(lines) > 5 else [])


# -- the built-in suite ----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Hang the built-in suites under the session, beside any test files, so they are collected like them."""
    report = yield
    plan = collector.config.stash[PLAN]
    if isinstance(collector, pytest.Session) and plan.enabled and report.passed:
        suites = plan.suites or (Suite(BUILTIN_SUITE, (), per_host=False),)
        for index, suite in enumerate(suites):
            facts = plan.host_facts if index == 0 else None
            root = SmtpsecCollector.from_parent(
                collector, name=suite.keyword, nodeid=suite.name, suite=suite, targets=suite.targets, host_facts=facts
            )
            report.result.append(root)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """No automatic garbage collection while the suite's nodes are built: with thousands of hosts, each full
    collection walks the growing tree again (2 s of 10 for 100,000 hosts); the tree is frozen once built."""
    if not session.config.stash[PLAN].enabled or not gc.isenabled():
        return (yield)
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Probe every selected host at once in the background, so no host waits on another.

    (An xdist worker probes the hosts it is dealt at the start; any other it gets warms at its first check.)
    """
    plan = session.config.stash[PLAN]
    if not plan.enabled:
        return
    gc.freeze()  # the collected tree lives until the end: keep the collector from walking it again and again
    if session.config.option.collectonly:
        return
    items = [i for i in session.items if isinstance(i, NetworkCheckItem)]
    if workerinput := getattr(session.config, "workerinput", None):
        from .scheduling import own_items

        suites = {s.name: s.per_host for s in plan.suites} or {BUILTIN_SUITE: False}
        mine = own_items([i.nodeid for i in session.items], suites, workerinput["workerid"], workerinput["workercount"])
        items = [i for i in items if i.nodeid in mine]
    for target in dict.fromkeys(i.target for i in items):
        plan.engine.warm(target)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Where pytest already collects garbage in ``pytest_unconfigure`` (its unraisable-exception check, pytest 9),
    the heap is frozen before that check's second, end-of-cleanup collection, which then walks nothing (0.2 s with
    10,000 hosts); registered last, this cleanup runs first. Elsewhere that collection is the only one and stays."""
    config = session.config
    unraisable = config.pluginmanager.get_plugin("unraisableexception")
    if unraisable is not None and any(impl.plugin is unraisable for impl in config.hook.pytest_unconfigure.get_hookimpls()):
        config.add_cleanup(gc.freeze)


def pytest_unconfigure(config: pytest.Config) -> None:
    plan = config.stash.get(PLAN, None)
    if plan is not None:
        plan.engine.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if not isinstance(item, CheckItem) and RESULTS in item.stash:
        settle(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, CheckItem):
        if not report.passed:  # a failure's headline: the id, or the check, host and service in words
            report.location = (item.location[0], item.location[1], item.headline)
        report.user_properties = item.user_properties  # the item's list, set in setup: not three copies
        if report.skipped and isinstance(report.longrepr, tuple):  # "SKIPPED <test id>: <reason>", not plugin.py
            report.longrepr = (item.nodeid, None, report.longrepr[2])  # type: ignore[assignment]  # no line: the summary prints "id: reason"
    if call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed | CouldNotCheck):
        report.longrepr = str(call.excinfo.value)
    if call.when == "setup" and RECORDS in item.stash:
        setattr(report, ATTRIBUTE, item.stash[RECORDS])  # as they are: only a report that leaves the process converts
    if report.failed:
        for client in item.stash.get(CLIENTS, []):
            report.sections.append((f"SMTP transcript: {client.service.value} (secrets masked)", client.transcript))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: pytest.CollectReport | pytest.TestReport) -> Generator[None, Any, Any]:
    """xdist workers (and report logs) send the records as plain data."""
    data = yield
    return data if data is None else records.to_serializable(data)


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(config: pytest.Config, data: dict[str, Any]) -> Generator[None, Any, Any]:
    """The controller gets typed records back from a worker's report."""
    report = yield
    return report if report is None else records.from_serializable(report)


# -- users' own tests: check markers, and the fixture aliases ---------------------------------------


def _marked(node: Any) -> list[AnyCheck]:
    """The checks a test asks for, by ``smtpsec_<check>`` marker or by its bare alias ``<check>``."""
    registry = node.config.stash[PLAN].registry
    names = (m.name.removeprefix(MARKER_PREFIX) if m.name.removeprefix(MARKER_PREFIX) in registry else m.name for m in node.iter_markers())
    return list(dict.fromkeys(registry[name] for name in names if name in registry))


def _marked_checks(node: Any) -> list[NetworkCheck]:
    return [c for c in _marked(node) if isinstance(c, ServiceCheck | TargetCheck)]


def _marked_host_checks(node: Any) -> list[HostCheck]:
    return [c for c in _marked(node) if isinstance(c, HostCheck)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Marked tests run once per (host, service) their checks apply to; other tests once per host."""
    targets = metafunc.config.stash[PLAN].targets
    checks = _marked_checks(metafunc.definition)
    if checks:
        where = [(t, w) for t in targets for w in (*t.services, None) if any(w in c.places(t) for c in checks)]
        services = [w.value if w else "host" for _, w in where]
        ids = [f"{t.name}::{s}" for (t, _), s in zip(where, services, strict=True)] if len(targets) > 1 else services
    elif len(targets) > 1 and "smtpsec_target" in metafunc.fixturenames:
        where = [(t, None) for t in targets]
        ids = [t.name for t in targets]
    else:
        return
    metafunc.parametrize("_smtpsec_where", where, ids=ids, indirect=True)


@pytest.fixture(autouse=True)
def _smtpsec_marked_checks(request: pytest.FixtureRequest, _smtpsec_where: Where) -> None:
    """Run a test's marked checks before it (registered only in runs that use pytest-smtpsec)."""
    host_checks = _marked_host_checks(request.node)
    if host_checks:
        facts: HostFacts = request.getfixturevalue("smtpsec_host_facts")
        store_results(request.node, [(c, c.run(facts)) for c in host_checks], role="host-config", connections=0)
    checks = _marked_checks(request.node)
    if not checks:
        return
    target: Target = request.getfixturevalue("smtpsec_target")
    service = _smtpsec_where[1]
    run_checks(request.node, [c for c in checks if service in c.places(target)], target, service)


@pytest.fixture
def smtp_target(smtpsec_target: Target) -> Target:
    """Alias of ``smtpsec_target`` (in runs that use pytest-smtpsec; a project's own ``smtp_target`` wins)."""
    return smtpsec_target


@pytest.fixture
def smtp_session(smtpsec_session: Callable[..., SmtpClient]) -> Iterator[Callable[..., SmtpClient]]:
    """Alias of ``smtpsec_session`` (in runs that use pytest-smtpsec; a project's own ``smtp_session`` wins)."""
    yield smtpsec_session
