"""Shared fixtures: the real reference sendmail, one server per profile for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_smtpsec.lab.pool import LabPool


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPool]:
    """Real sendmail servers by profile name: ``lab("secure")`` -> LabTarget; stopped at session end."""
    with LabPool(tmp_path_factory.mktemp("lab")) as pool:
        yield pool
