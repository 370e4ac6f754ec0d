"""The plugin's own hooks (registered in ``pytest_addhooks``): a site extends the suite from its conftest.py.

    # conftest.py
    from pytest_smtpsec.checks import Area, Fix, ServiceCheck

    def pytest_smtpsec_checks(config):
        return [ServiceCheck(name="our_banner", title=..., area=Area.HARDENING, ..., judge=our_judge)]

The built-in checks and report writers come in through these same hooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .registry import AnyCheck
    from .report.site import Site


@pytest.hookspec
def pytest_smtpsec_checks(config: pytest.Config) -> Iterable[AnyCheck]:  # type: ignore[empty-body]
    """Checks to run: each implementation returns some; together they are the run's registry.

    Called once, in ``pytest_configure``, only when pytest-smtpsec is in use. Check names must be unique.
    """


@pytest.hookspec
def pytest_smtpsec_report(config: pytest.Config, site: Site, run: Any) -> None:
    """Called once at the end of the run, on the controlling process, with every result grouped by host.

    ``run`` is a :class:`pytest_smtpsec.report.json_report.Run` (start, duration, exit status). The
    built-in JSON and HTML writers are implementations of this hook.
    """
