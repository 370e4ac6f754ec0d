"""The test tiers: a test is in the `lab` tier when it starts servers or needs root, else in the fast one.

A fixture that starts servers (sendmail, Postfix, Exim, sshd) or needs root is declared with
:func:`lab_fixture`; the root conftest puts the `lab` marker on every test that uses one (directly
or through another fixture), and, when not root, skips them all before any fixture runs. A test that
starts servers itself carries ``@pytest.mark.lab``. So ``pytest -m "not lab"`` runs what needs
neither, and a run as any other user is all pass or skip. See docs/testing.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import pytest

F = TypeVar("F", bound=Callable[..., Any])
Scope = Literal["session", "package", "module", "class", "function"]

LAB_FIXTURES: set[str] = set()
"""The names of the fixtures declared with :func:`lab_fixture`."""
NOT_ROOT = "lab tier: starts servers or needs root; run as root, or deselect it with -m 'not lab'"


def lab_fixture(*, scope: Scope = "function") -> Callable[[F], F]:
    """``@pytest.fixture(scope=...)`` for a fixture that starts servers or needs root: its tests are `lab`."""

    def declare(func: F) -> F:
        LAB_FIXTURES.add(func.__name__)
        return cast(F, pytest.fixture(scope=scope)(func))  # pytest wraps it; callers see the function

    return declare


def is_root() -> bool:
    return os.geteuid() == 0


def mark_tiers(items: list[pytest.Item]) -> None:
    """The `lab` marker on every test using a lab fixture; when not root, every `lab` test skipped."""
    skip = pytest.mark.skip(reason=NOT_ROOT)
    for item in items:
        if LAB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)
        if not is_root() and item.get_closest_marker("lab") is not None:
            item.add_marker(skip)
