"""Typed keys into ``config.stash`` / ``item.stash``, importable without the heavy parts of the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .client import SmtpClient
    from .nodes import Plan
    from .registry import AnyCheck
    from .report.records import Record
    from .verdict import CheckResult

PLAN: pytest.StashKey[Plan] = pytest.StashKey()
"""The run's plan; set in :mod:`.active`'s ``pytest_configure``, so absent in a run that does not use us."""
RESULTS: pytest.StashKey[list[tuple[AnyCheck, CheckResult]]] = pytest.StashKey()
CLIENTS: pytest.StashKey[list[SmtpClient]] = pytest.StashKey()
RECORDS: pytest.StashKey[list[Record]] = pytest.StashKey()
