"""The pytest11 entry point: options, ini keys, hook specs and the ``smtpsec_*`` fixtures — nothing else
until a run uses the plugin.

A run *uses* pytest-smtpsec when it gives ``--smtpsec`` (or ini ``smtpsec = true``), a host, an
inventory, ``--smtpsec-host-config`` or a report file (``--smtpsec-json``, ``--smtpsec-html``). Only
then is :mod:`.active` imported and registered: the checks, cryptography, the reports, the marker
aliases (``@pytest.mark.certificate_valid``) and the fixture aliases (``smtp_target``, ``smtp_session``).
Any other pytest run pays for this module and :mod:`.settings` alone (see docs/performance.md) and
sees only names under our ``smtpsec`` prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .settings import OPTIONS

pytest_plugins = ["pytest_smtpsec.fixtures"]

MARKER_PREFIX = "smtpsec_"
"""Check markers are ``smtpsec_<check>``; the bare ``<check>`` names are aliases in runs that use us."""


def builtin_check_names() -> tuple[str, ...]:
    """The built-in checks' names without importing them: a check is the module of its name (``checks/``,
    ``host/checks/``; see ``checks.base.discover``), so a new check needs no line here either."""
    here = Path(__file__).parent
    modules = [p.stem for folder in (here / "checks", here / "host" / "checks") for p in sorted(folder.glob("*.py"))]
    return tuple(name for name in modules if not name.startswith("_") and name != "base")


SELECT = "mailsec"
"""The marker on every built-in test, to select by keyword argument. Not ``smtpsec``: ``-k`` matches marker
names by substring, and ``-k smtps`` would then select every built-in test."""
SELECT_MARKER = f"{SELECT}(host, role, service, check): on every built-in check, to select with -m \"{SELECT}(service='smtps')\"."
ENABLING = ("host", "inventory", "host-config", "json", "html")
"""The options that name something to check or a report to write: giving one puts the plugin to work."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smtpsec", "mail server security checks (pytest-smtpsec)")
    group.addoption("--smtpsec", action="store_true", default=None, help="run the built-in acceptance suite against the configured hosts")
    parser.addini("smtpsec", type="bool", default=False, help="run the built-in acceptance suite (like --smtpsec)")
    for option in OPTIONS:
        group.addoption(option.flag, dest=option.key, default=None, metavar=option.metavar, help=option.help)
        parser.addini(option.key, help=option.help, default="")


def pytest_smtpsec_checks(config: pytest.Config) -> list[Any]:
    """The built-in checks, registered through the same hook as a site's own (called only in runs that use us)."""
    from .registry import builtin_checks

    return list(builtin_checks())


def in_use(config: pytest.Config) -> bool:
    """Whether this run uses pytest-smtpsec: ``--smtpsec`` / ini ``smtpsec``, something to check, or a report."""
    if config.getoption("smtpsec") or config.getini("smtpsec"):
        return True
    keys = ["smtpsec_" + name.replace("-", "_") for name in ENABLING]
    return any(config.getoption(key) or config.getini(key) for key in keys)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", SELECT_MARKER)
    if in_use(config):
        config.pluginmanager.import_plugin("pytest_smtpsec.active")
        return
    for name in builtin_check_names():
        config.addinivalue_line(
            "markers", f"{MARKER_PREFIX}{name}: run the {name} check before the test (needs a mail host: --smtpsec-host)."
        )
    config.pluginmanager.register(Dormant(), "smtpsec-dormant")


class Dormant:
    """In a run that does not use us: a test that asks for one of our checks errors rather than passing
    without it (a false pass). Nothing else: other tests are left alone."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        ours = {MARKER_PREFIX + name for name in builtin_check_names()}
        marked = next((m.name for m in item.iter_markers() if m.name in ours), None)
        if marked:
            pytest.fail(
                f"@pytest.mark.{marked} needs a mail host to check: give --smtpsec-host (or the smtpsec_host ini key) "
                "or --smtpsec-inventory",
                pytrace=False,
            )
